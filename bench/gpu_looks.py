"""Each gallery look's frame at stage sizes on a GPU, and what each pass of it costs (GL timer queries).

Offscreen (EGL, a framebuffer of the stage size, no window and no display): each look with the
load of `bench/looks.py` (400 taps in one second, 4 more every 4 frames), then, with `--stress`,
the load of `bench/frame.py` (10,000 taps in one second, every glow kept alive 30 s: `sparks`
is 140,000 streaks). Per look and size:

    wall   median / p99 ms per frame, render() to `finish()` (the CPU's part and the GPU's)
    gpu    median / p99 ms of the GPU's own time for the frame (one timer query around render())
    xbare  the GPU median over a bare full-screen pass at the same size (a half-float texture
           sampled onto the target), measured in the same run: the figure to compare between GPUs
    passes the GPU's median ms for each pass, from other frames of the same look, each pass in
           a timer query of its own: the canvas pass (fade, drift, effects), marks stamped into
           the canvas, the canvas shown (with the background layer's light), the live bodies, the
           glow, the layers' overlay marks (the figure), custom shaders drawn over (`over ...`)
           or rewriting the canvas, the crossfade

Pass times are a GPU's: Mesa's llvmpipe runs deferred work when a query ends, so there they
land on whichever pass comes next (its whole-frame times stand).

60 fps needs the frame, CPU and GPU, under 16.7 ms: the issue-19 target on a GPU is every look at
3840x2160 at scale 1.0 (frame interval median <= 17 ms, p99 <= 25 ms; the app's own intervals
come from `bench/render_scale.py --offscreen`).

    python3 bench/gpu_looks.py                                  # 1280x720, 1920x1080, 3840x2160
    python3 bench/gpu_looks.py --sizes 640x360 sparks --frames 20 --stress   # --stress-only: that load alone
    python3 bench/gpu_looks.py --json out.json                  # every figure, for the notes
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import moderngl
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from frame import long_lived, stress_taps  # noqa: E402
from looks import MARKS, BarePass, Steady, burst  # noqa: E402

from dessins_de_planche.paths import presets_dir  # noqa: E402
from dessins_de_planche.preset import load_gallery  # noqa: E402
from dessins_de_planche.render.scene import Scene  # noqa: E402

FRAME_TARGET_MS = 1000 / 60
STRESS_TAPS = 10_000


class Passes:
    """Times each pass of a scene's frame with a GL timer query of its own (queries cannot nest, and
    none of these passes runs inside another)."""

    def __init__(self, ctx, scene):
        self.ctx, self.scene = ctx, scene
        self.on = False
        self.pool: list = []
        self.used: list = []  # (label, query) of this frame
        self.phase = "advance"
        canvas, painter = scene.canvas, scene.painter
        self._wrap(canvas, "advance", lambda *a, **k: "canvas pass")
        self._wrap(canvas, "show", lambda *a, **k: "show canvas")
        self._wrap(canvas, "rewrite", lambda *a, **k: "shader into canvas")
        self._wrap(painter, "_draw", self._mark_label)
        self._wrap(scene.crossfade, "draw", lambda *a, **k: "crossfade")
        for layer in scene.layers:
            if getattr(layer, "draw_over", None) is not None and getattr(layer.model, "target", "") == "over":
                name = f"over {os.path.basename(str(getattr(layer, 'path', 'shader')))}"
                self._wrap(layer, "draw_over", lambda *a, _n=name, **k: _n)
        advance = scene.advance

        def timed_advance(now):
            self.phase = "advance"
            try:
                return advance(now)
            finally:
                self.phase = "picture"

        scene.advance = timed_advance

    def _mark_label(self, vao, count, mode, live):
        from dessins_de_planche.render.marks import MODE_GLOW

        if mode == MODE_GLOW:
            return "glow"
        if live:
            return "live bodies"
        return "stamp into canvas" if self.phase == "advance" else "overlay marks"

    def _wrap(self, owner, name, label_of):
        function = getattr(owner, name)

        def timed(*args, **kwargs):
            if not self.on:
                return function(*args, **kwargs)
            query = self.pool.pop() if self.pool else self.ctx.query(time=True)
            self.used.append((label_of(*args, **kwargs), query))
            with query:
                return function(*args, **kwargs)

        setattr(owner, name, timed)

    def collect(self) -> dict[str, float]:
        """ms per label of the frame just finished (summed where a pass ran twice)."""
        totals: dict[str, float] = {}
        for label, query in self.used:
            totals[label] = totals.get(label, 0.0) + query.elapsed / 1e6
            self.pool.append(query)
        self.used = []
        return totals


class Feeder:
    """The load of bench/looks.py: 400 marks alive from the start, 4 fresh taps every 4 frames."""

    def __init__(self, scene):
        self.scene, self.frame = scene, 0
        scene.add_taps(burst(MARKS, 10.0, 0), Steady())

    def next(self) -> float:
        i = self.frame
        self.frame += 1
        if i % 4 == 0:
            self.scene.add_taps(burst(4, 11.0 + i / 60, MARKS + 4 * i), Steady())
        return 11.0 + i / 60


class Stress:
    """The load of bench/frame.py: 10,000 taps in one second, every glow alive for 30 s."""

    def __init__(self, scene, target):
        self.scene, self.frame = scene, 0
        scene.add_taps(stress_taps(STRESS_TAPS), Steady())
        scene.render(201.1, target)  # stamp them all: the measured frames are the steady state

    def next(self) -> float:
        self.frame += 1
        return 201.2 + self.frame / 60


def measure(ctx, scene, feeder, target, frames: int, pass_frames: int) -> dict:
    passes = Passes(ctx, scene)
    query = ctx.query(time=True)
    for _ in range(6):  # warm: every program has drawn once
        scene.render(feeder.next(), target)
    ctx.finish()
    walls, gpus, cpus = [], [], []
    for _ in range(frames):
        now = feeder.next()
        ctx.finish()
        start, cpu = time.perf_counter(), time.process_time()
        with query:
            scene.render(now, target)
        ctx.finish()
        walls.append((time.perf_counter() - start) * 1e3)
        cpus.append((time.process_time() - cpu) * 1e3)
        gpus.append(query.elapsed / 1e6)
    split: dict[str, list[float]] = {}
    passes.on = True
    for _ in range(pass_frames):
        scene.render(feeder.next(), target)
        ctx.finish()
        for label, ms in passes.collect().items():
            split.setdefault(label, []).append(ms)
    passes.on = False
    return {"wall": _stats(walls), "gpu": _stats(gpus), "cpu": _stats(cpus), "live": int(scene.store.count),
            "passes": {label: float(np.median(v + [0.0] * (pass_frames - len(v)))) for label, v in split.items()}}


def _stats(values) -> dict:
    values = np.asarray(values, np.float64)
    return {"median": float(np.median(values)), "p99": float(np.percentile(values, 99)), "max": float(values.max())}


def bare_gpu(ctx, size, target, frames: int) -> float:
    bare = BarePass(ctx, size)
    query = ctx.query(time=True)
    times = []
    bare.run(target, 3)
    for _ in range(frames):
        with query:
            bare.run(target, 1)
        times.append(query.elapsed / 1e6)
    bare.release()
    return float(np.median(times))


def run_look(ctx, preset, size, target, args, stress: bool) -> dict:
    if stress:
        preset = long_lived(preset)
    scene = Scene(ctx, preset, size)
    try:
        feeder = Stress(scene, target) if stress else Feeder(scene)
        frames = max(4, args.frames // 3) if stress else args.frames
        return measure(ctx, scene, feeder, target, frames, max(3, args.pass_frames // (2 if stress else 1)))
    finally:
        scene.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", help="looks to measure (default: the gallery)")
    parser.add_argument("--sizes", default="1280x720,1920x1080,3840x2160")
    parser.add_argument("--frames", type=int, default=90, help="timed frames per look (a third under --stress)")
    parser.add_argument("--pass-frames", type=int, default=20, help="frames with each pass timed")
    parser.add_argument("--stress", action="store_true", help="also bench/frame.py's 10,000-tap load")
    parser.add_argument("--stress-only", action="store_true", help="bench/frame.py's 10,000-tap load alone")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    gallery = {name: p for name, p in sorted(load_gallery(presets_dir()).items())
               if not args.presets or name in args.presets}
    print(f"{ctx.info['GL_RENDERER']} ({ctx.info['GL_VERSION']}), offscreen framebuffer (EGL, no window); "
          f"{args.frames} timed frames a look, {args.pass_frames} with each pass timed; ms per frame")
    results = {"renderer": ctx.info["GL_RENDERER"], "sizes": {}}
    loads = ([] if args.stress_only else [("show", False)]) + ([("stress", True)] if args.stress or args.stress_only else [])
    for size_text in args.sizes.split(","):
        size = tuple(int(v) for v in size_text.split("x"))
        target = ctx.simple_framebuffer(size)
        base = bare_gpu(ctx, size, target, 30)
        results["sizes"][size_text] = {"bare_gpu_ms": base, "looks": {}}
        print(f"\n{size[0]}x{size[1]}: bare full-screen pass {base:.3f} ms GPU")
        for load, stress in loads:
            rows = {name: run_look(ctx, preset, size, target, args, stress) for name, preset in gallery.items()}
            results["sizes"][size_text]["looks"][load] = rows
            what = f"{MARKS} live taps, +4 every 4 frames" if not stress else f"{STRESS_TAPS} taps, every glow alive"
            print(f"  [{load}] {what}")
            for name in sorted(rows, key=lambda n: -rows[n]["gpu"]["median"]):
                r = rows[name]
                over = max(r["wall"]["median"], r["gpu"]["median"])
                verdict = "60 fps ok" if over <= FRAME_TARGET_MS and r["wall"]["p99"] <= 25.0 else "OVER 60 fps"
                passes = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["passes"].items(), key=lambda kv: -kv[1])
                                   if v >= 0.005)
                print(f"    {name:>13}: wall {r['wall']['median']:6.2f} / p99 {r['wall']['p99']:6.2f}  "
                      f"gpu {r['gpu']['median']:6.2f} / p99 {r['gpu']['p99']:6.2f}  x{r['gpu']['median'] / base:5.1f} "
                      f"bare  cpu {r['cpu']['median']:5.2f}  ({r['live']} marks)  [{verdict}]")
                print(f"    {'':>13}  passes: {passes}")
        target.release()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    ctx.release()


if __name__ == "__main__":
    main()
