"""Frame cost of the scene at 1280x720 offscreen: an empty frame vs one with 10,000 live marks.

For each gallery preset prints the CPU time of render() on the main thread (on
llvmpipe that includes the driver's vertex work), the part of it that is
Python's own (the same frames with GL draws stubbed out; the issue-4 target is
<= 2 ms), and the wall time per frame (with `ctx.finish()`, so the rasterizer's
work counts), each beside its target and as a ratio to the empty frame measured
in the same run.

    .venv/bin/python bench/frame.py [--frames 120] [--marks 10000] [--size 1280x720] [PRESET ...]

"frame" is the GPU's share too: wall time per frame with `ctx.finish()`; the GPU's own time
from a timer query is printed too where the driver's answer is plausible. The
baseline is the empty frame of the same preset in the same run (canvas passes,
background, custom shaders: the look's own cost), and a bare full-screen pass.
"""

from __future__ import annotations

import argparse
import time

import moderngl
import numpy as np

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, TAP_DTYPE
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.render.scene import Scene

CPU_TARGET_MS = 2.0  # Python CPU per frame with many live marks (issue 4)
FRAME_TARGET_MS = 1000 / 60


class Steady:
    bpm, bar_beats = 112.0, 2

    def beat_phase(self, t):
        return (t * self.bpm / 60) % 1.0

    def bar_phase(self, t):
        return (t * self.bpm / 60 / self.bar_beats) % 1.0


def long_lived(preset):
    """The preset with every layer's glow lasting 30 s, so all the marks stay live while we measure."""
    layers = [layer.model_copy(update={"life": 30.0, "map": layer.map.model_copy(update={"life": None})})
              if "life" in type(layer).model_fields else layer for layer in preset.layers]
    return preset.model_copy(update={"layers": layers})


class _NoDraw:
    """Stands in for a vertex array: the scene does all its own work but nothing is rasterized."""

    def render(self, *args, **kwargs):
        pass


def python_only(scene):
    """The scene with every GL draw stubbed out, to separate Python's work from the driver's.

    On llvmpipe the driver shades vertices on the calling thread, so the whole
    render() CPU time mixes both; a real GPU takes that part off the CPU.
    """
    scene.painter._draw = lambda *args, **kwargs: None  # buffer uploads still happen
    scene.canvas.view_vao = _NoDraw()
    scene.canvas._vao = lambda program: _NoDraw()  # the feedback passes
    for layer in scene.layers:  # custom shader layers
        if hasattr(layer, "vao"):
            layer.vao = _NoDraw()
    return scene


def measure(ctx, scene, target, start, frames, step=1 / 60):
    """Median render() CPU, wall per frame with `finish()`, and the GPU's own time (a timer
    query; None where the driver's figure is not plausible beside the wall time)."""
    cpu, wall, gpu = [], [], []
    query = ctx.query(time=True)
    for i in range(frames):
        now = start + i * step
        c0, w0 = time.thread_time(), time.perf_counter()
        with query:
            scene.render(now, target)
        c1 = time.thread_time()
        ctx.finish()
        w1 = time.perf_counter()
        cpu.append(c1 - c0)
        wall.append(w1 - w0)
        gpu.append(query.elapsed / 1e9)
    gpu_ms = np.median(gpu) * 1000
    plausible = 0 < gpu_ms < np.median(wall) * 1000 * 1.5
    return np.median(cpu) * 1000, np.median(wall) * 1000, (gpu_ms if plausible else None)


def stress_taps(count):
    """`count` taps within one second, heel and toe alternating."""
    times = 200.0 + np.linspace(0.0, 1.0, count, endpoint=False)
    taps = np.zeros(count, TAP_DTYPE)
    taps["time"], taps["detected_at"] = times, times + 0.012
    taps["velocity"] = np.linspace(0.3, 1.0, count)
    taps["tap_id"] = np.arange(count)
    taps["kind"] = np.where(np.arange(count) % 2, KIND_HEEL, KIND_TOE)
    return taps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--marks", type=int, default=10000)
    parser.add_argument("presets", nargs="*", help="presets to measure (default: the gallery)")
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    print(f"{ctx.info['GL_RENDERER']}, {size[0]}x{size[1]}, {args.frames} frames, median per frame")
    target = ctx.simple_framebuffer(size)
    rhythm = Steady()
    gallery = load_gallery(presets_dir())
    for name, preset in sorted(gallery.items()):
        if args.presets and name not in args.presets:
            continue
        preset = long_lived(preset)
        results = {}
        for label, stub in (("gl", False), ("python", True)):
            scene = Scene(ctx, preset, size)
            if stub:
                python_only(scene)
            empty = measure(ctx, scene, target, 100.0, args.frames)
            scene.add_taps(stress_taps(args.marks), rhythm)
            scene.render(201.1, target)  # stamp them all: the measured frames are the steady state
            live = scene.store.count
            busy = measure(ctx, scene, target, 201.2, args.frames)
            results[label] = empty, busy
            if not stub:
                scene.release()
        (e_cpu, e_wall, e_gpu), (b_cpu, b_wall, b_gpu) = results["gl"]
        (p_empty, _, _), (p_busy, _, _) = results["python"]
        print(f"{name:>8}: empty frame: render() cpu {e_cpu:6.2f} ms, of it Python {p_empty:5.2f} ms; "
              f"frame {e_wall:6.2f} ms")
        print(f"{name:>8}: {live:5d} live marks: render() cpu {b_cpu:6.2f} ms (x{b_cpu / e_cpu:.1f} of empty), "
              f"of it Python {p_busy:5.2f} ms (target <= {CPU_TARGET_MS:.1f}, x{p_busy / max(p_empty, 1e-6):.1f} "
              f"of empty); frame {b_wall:6.2f} ms (60 fps = {FRAME_TARGET_MS:.1f}, x{b_wall / e_wall:.1f} of empty)")
        if e_gpu is not None and b_gpu is not None:
            print(f"{name:>8}: GPU time (timer query): empty {e_gpu:6.3f} ms, {live:5d} live marks {b_gpu:6.3f} ms "
                  f"(x{b_gpu / e_gpu:.1f} of empty)")
    ctx.release()


if __name__ == "__main__":
    main()
