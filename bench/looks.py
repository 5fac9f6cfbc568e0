"""What each gallery look costs a frame, at stage sizes, beside a bare pass measured in the same run.

Offscreen (EGL), each look with 400 taps in one second and 4 more every 4 frames (what
`bench/stage.py`'s `heaviest_preset` draws), median wall time per frame with `ctx.finish()`
so the rasterizer's work counts. The baseline is one full-screen textured pass at the same
size (a half-float texture sampled onto the target, nothing else): on a CPU rasterizer every look costs
some number of such passes, and that number is what a change moves. The baseline is measured
just before each look's frames, round after round, so a machine busy with other work moves
both alike; the ratio is the figure to compare between runs, the milliseconds say where
16.7 ms falls. The CPU time of the whole process per frame (llvmpipe's rasterizer threads
included) is printed too: on a machine shared with other work it moves less than the wall time.

    .venv/bin/python bench/looks.py                         # ~2 min: 640x360 and 1280x720, every look
    .venv/bin/python bench/looks.py --sizes 640x360 sparks ink --stages
    .venv/bin/python bench/looks.py --scale 0.75            # the canvas at 0.75 of the output, sampled up

`--stages` splits a frame: the canvas pass (fade, drift, effects), the stamping of due marks,
showing the canvas, the live marks and their glow, the layers' overlays and custom shaders.
"""

from __future__ import annotations

import argparse
import time

import moderngl
import numpy as np

from dessins_de_planche.events import TAP_DTYPE
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.render.scene import Scene

FRAME_TARGET_MS = 1000 / 60
MARKS = 400


class Steady:
    bpm, bar_beats = 112.0, 2

    def beat_phase(self, t):
        return (t * self.bpm / 60) % 1.0

    def bar_phase(self, t):
        return (t * self.bpm / 60 / self.bar_beats) % 1.0


def burst(count: int, start: float, first_id: int) -> np.ndarray:
    taps = np.zeros(count, TAP_DTYPE)
    taps["time"] = start + np.arange(count) * (1.0 / max(count, 1))
    taps["detected_at"] = taps["time"] + 0.01
    taps["velocity"] = 0.8
    taps["tap_id"] = first_id + np.arange(count)
    taps["kind"] = 1 + np.arange(count) % 2
    return taps


class Timed:
    """Wraps a callable: finish() before and after, the process's CPU time between added to a stage."""

    def __init__(self, ctx, totals: dict, name: str, function):
        self.ctx, self.totals, self.name, self.function = ctx, totals, name, function

    def __call__(self, *args, **kwargs):
        self.ctx.finish()
        start = time.process_time()
        result = self.function(*args, **kwargs)
        self.ctx.finish()
        self.totals[self.name] = self.totals.get(self.name, 0.0) + time.process_time() - start
        return result


def instrument(ctx, scene, totals: dict) -> None:
    canvas, painter = scene.canvas, scene.painter
    canvas.advance = Timed(ctx, totals, "canvas pass", canvas.advance)
    canvas.show = Timed(ctx, totals, "show canvas", canvas.show)
    painter.stamp = Timed(ctx, totals, "stamp/overlay marks", painter.stamp)
    painter.draw_live = Timed(ctx, totals, "live marks + glow", painter.draw_live)
    for layer in scene.layers:
        if layer.model.shader_files:  # the passes of the designer's own shaders (the others draw none)
            for name in ("draw_over", "rewrite_canvas"):
                setattr(layer, name, Timed(ctx, totals, f"{layer.model.kind} {name}", getattr(layer, name)))


class Look:
    """One look on stage: a scene with 400 live marks, fresh taps every 4 frames."""

    def __init__(self, ctx, preset, size, target, scale: float = 1.0):
        self.ctx, self.target = ctx, target
        inner = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
        self.scene = Scene(ctx, preset, inner)
        self.inner = None if inner == tuple(size) else ctx.simple_framebuffer(inner)
        self.scene.add_taps(burst(MARKS, 10.0, 0), Steady())
        self.frame = 0
        self.stages: dict[str, float] = {}

    def run(self, frames: int, stages: bool = False) -> list[float]:
        if stages and not self.stages:
            instrument(self.ctx, self.scene, self.stages)
        walls, cpus = [], []
        for _ in range(frames):
            i = self.frame
            self.frame += 1
            if i % 4 == 0:
                self.scene.add_taps(burst(4, 11.0 + i / 60, MARKS + 4 * i), Steady())
                # keep 400 marks alive: the burst's time slides with the clock
            now = 11.0 + i / 60
            start, cpu = time.perf_counter(), time.process_time()
            if self.inner is None:
                self.scene.render(now, self.target)
            else:
                self.scene.render(now, self.inner)
                self.inner.color_attachments[0].filter = (moderngl.LINEAR, moderngl.LINEAR)
                self.ctx.copy_framebuffer(self.target, self.inner)  # stands in for the output pass
            self.ctx.finish()
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        return walls, cpus

    def release(self):
        self.scene.release()
        if self.inner is not None:
            self.inner.release()


class BarePass:
    """The baseline: a half-float texture of the target's size sampled onto it, one full-screen pass.
    The bench's own program, so it stays the same whatever the code under test does."""

    VERTEX = """#version 330 core
void main() {
    vec2 corner = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}"""
    FRAGMENT = """#version 330 core
uniform sampler2D u_source;
uniform vec2 u_size;
out vec4 frag;
void main() { frag = vec4(texture(u_source, gl_FragCoord.xy / u_size).rgb, 1.0); }"""

    def __init__(self, ctx, size):
        self.ctx = ctx
        self.texture = ctx.texture(size, 4, dtype="f2")
        self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.program = ctx.program(vertex_shader=self.VERTEX, fragment_shader=self.FRAGMENT)
        self.program["u_size"].value = size
        self.vao = ctx.vertex_array(self.program, [])

    def run(self, target, frames: int) -> list[float]:
        walls, cpus = [], []
        for _ in range(frames):
            start, cpu = time.perf_counter(), time.process_time()
            target.use()
            self.texture.use(0)
            self.vao.render(moderngl.TRIANGLES, vertices=3)
            self.ctx.finish()
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        return walls, cpus

    def release(self):
        for thing in (self.vao, self.program, self.texture):
            thing.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", help="looks to measure (default: the gallery)")
    parser.add_argument("--sizes", default="640x360,1280x720")
    parser.add_argument("--frames", type=int, default=30, help="frames per look per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="the canvas at this share of the output")
    parser.add_argument("--stages", action="store_true", help="split each look's frame into its stages")
    args = parser.parse_args()

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    gallery = {name: p for name, p in sorted(load_gallery(presets_dir()).items())
               if not args.presets or name in args.presets}
    print(f"{ctx.info['GL_RENDERER']}; {MARKS} live marks, +4 taps every 4 frames; scale {args.scale}; "
          f"{args.rounds} rounds x {args.frames} frames, interleaved; median wall ms per frame with finish()")
    for size_text in args.sizes.split(","):
        size = tuple(int(v) for v in size_text.split("x"))
        target = ctx.simple_framebuffer(size)
        bare = BarePass(ctx, size)
        looks = {name: Look(ctx, preset, size, target, args.scale) for name, preset in gallery.items()}
        for look in looks.values():
            look.run(6)  # warm: every program has drawn once
        walls = {name: [] for name in looks}
        bases = {name: [] for name in looks}  # the bare pass measured just before each look's frames
        cpus = {name: [] for name in looks}  # CPU time of the whole process (the rasterizer's threads too)
        base_cpus = {name: [] for name in looks}
        for _ in range(args.rounds):
            for name, look in looks.items():
                wall, cpu = bare.run(target, max(6, args.frames // 2))
                bases[name] += wall
                base_cpus[name] += cpu
                wall, cpu = look.run(args.frames, stages=args.stages)
                walls[name] += wall
                cpus[name] += cpu
        base_ms = float(np.median(sum(bases.values(), []))) * 1e3
        print(f"\n{size[0]}x{size[1]}: bare full-screen pass {base_ms:.2f} ms (median of the run)")
        for name in sorted(looks, key=lambda n: -np.median(walls[n])):
            ms = float(np.median(walls[name])) * 1e3
            p90 = float(np.percentile(walls[name], 90)) * 1e3
            own_base = float(np.median(bases[name])) * 1e3
            cpu = float(np.median(cpus[name])) * 1e3
            base_cpu = float(np.median(base_cpus[name])) * 1e3
            mark = "ok" if ms <= FRAME_TARGET_MS else "OVER"
            print(f"  {name:>13}: {ms:6.2f} ms (p90 {p90:6.2f}) = x{ms / own_base:5.1f} the bare pass beside it "
                  f"({own_base:.2f} ms); CPU {cpu:6.2f} ms = x{cpu / max(base_cpu, 1e-6):5.1f} the bare pass's "
                  f"({base_cpu:.2f})   [60 fps: {FRAME_TARGET_MS:.1f} ms {mark}]")
            look = looks[name]
            if args.stages and look.stages:
                count = args.frames * args.rounds
                parts = ", ".join(f"{stage} {total / count * 1e3:.2f}"
                                  for stage, total in sorted(look.stages.items(), key=lambda kv: -kv[1]))
                print(f"  {'':>13}  CPU ms per frame: {parts}")
        for look in looks.values():
            look.release()
        bare.release()
        target.release()
    ctx.release()


if __name__ == "__main__":
    main()
