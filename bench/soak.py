"""Soak: a simulated show of an hour or more, time-compressed, with a preset switch every minute.

The scene takes injected time, so the show's own code runs on a fast clock: taps
(heel and toe, ~6 a second, with a pause between tunes every few minutes) go
through a shared-memory `Ring`, are drained each frame into the `TempoTracker` and
the `Scene` exactly as the live loop does, and the scene renders offscreen (EGL).
Sampled every simulated minute after warm-up:

- the process's resident memory (target: growth <= 2 MB),
- the GL objects alive (every object the context created, minus those released;
  target: constant),
- the size of every array, list and dict the scene, its canvas, marks and the
  tempo tracker hold, and the ring's backlog (target: no growth; the tempo track is
  a history capped by its owner, reported beside its cap).

Warm-up: the first tenth of the show, and at least one round of the gallery (each
preset's programs are built the first time it is shown).

    .venv/bin/python bench/soak.py [--minutes 60] [--step 0.1] [--size 320x180]

`tests/test_soak.py` runs a few simulated minutes of the same.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import dataclass, field

import numpy as np

RSS_TARGET_MB = 2.0
CAPPED_HISTORY = {"rhythm.track": 20_000}  # (time, bpm) pairs for `analyze`; its owner trims it at this size


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class GLObjects:
    """Counts what a moderngl context creates and what is still alive (not released)."""

    FACTORIES = ("buffer", "texture", "texture_array", "texture_cube", "texture3d", "depth_texture", "framebuffer",
                 "simple_framebuffer", "renderbuffer", "depth_renderbuffer", "vertex_array", "simple_vertex_array",
                 "program", "sampler", "query", "scope")

    def __init__(self, ctx):
        self.ctx = ctx
        self.created = []
        self._wrapped = []
        for name in self.FACTORIES:
            factory = getattr(ctx, name, None)
            if factory is not None:
                setattr(ctx, name, self._wrap(factory))
                self._wrapped.append(name)

    def restore(self) -> None:
        """Give the context its own methods back (it may be shared, as in the tests)."""
        for name in self._wrapped:
            delattr(self.ctx, name)
        self.created = []

    def _wrap(self, factory):
        def make(*args, **kwargs):
            obj = factory(*args, **kwargs)
            self.created.append(obj)
            return obj

        return make

    def alive(self) -> int:
        self.created = [o for o in self.created if "Invalid" not in type(getattr(o, "mglo", None)).__name__]
        return len(self.created)


def census(**owners) -> dict[str, int]:
    """Size of every array, list, dict and deque the owners hold (elements), by 'owner.attribute'."""
    sizes = {}
    for owner_name, owner in owners.items():
        for name, value in vars(owner).items():
            if isinstance(value, np.ndarray):
                sizes[f"{owner_name}.{name}"] = value.size
            elif isinstance(value, (list, dict, set, tuple)) or type(value).__name__ == "deque":
                sizes[f"{owner_name}.{name}"] = len(value)
    return sizes


@dataclass
class SoakReport:
    minutes: float
    frames: int
    taps: int
    switches: int
    wall_s: float
    rss: list = field(default_factory=list)  # (minute, MB)
    gl: list = field(default_factory=list)  # (minute, objects alive)
    buffers: list = field(default_factory=list)  # (minute, census)
    backlog: int = 0
    dropped: int = 0
    warmup: int = 1  # samples: every preset shown once (its programs built), and a tenth of the show

    def after_warmup(self, series):
        return series[max(self.warmup, len(series) // 10):]

    @property
    def rss_growth_mb(self) -> float:
        values = [mb for _, mb in self.after_warmup(self.rss)]
        return max(values) - values[0] if values else 0.0

    @property
    def gl_change(self) -> int:
        values = [n for _, n in self.after_warmup(self.gl)]
        return max(values) - min(values) if values else 0

    @property
    def grown_buffers(self) -> dict[str, tuple[int, int]]:
        """Buffers larger after warm-up than they ever were during it: (largest then, largest after)."""
        start = max(self.warmup, len(self.buffers) // 10)
        before, after = self.buffers[:start], self.buffers[start:]
        if not before or not after:
            return {}
        largest = {}
        for _, sizes in before:
            for key, size in sizes.items():
                largest[key] = max(size, largest.get(key, 0))
        grown = {}
        for _, sizes in after:
            for key, size in sizes.items():
                if size > largest.get(key, 0):
                    grown[key] = (largest.get(key, 0), max(size, grown.get(key, (0, 0))[1]))
        return grown


def simulate(minutes: float, step: float = 0.1, size=(320, 180), taps_per_second: float = 6.0,
             seed: int = 1, ctx=None) -> SoakReport:
    import moderngl

    from dessins_de_planche.events import TAP_DTYPE
    from dessins_de_planche.listen.tempo import TempoTracker
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.canvas import release_framebuffer
    from dessins_de_planche.render.scene import Scene
    from dessins_de_planche.ring import Ring

    own_ctx = ctx is None
    ctx = ctx or moderngl.create_standalone_context(backend="egl", require=330)
    counter = GLObjects(ctx)
    rng = np.random.default_rng(seed)
    presets = [preset for _, preset in sorted(load_gallery(presets_dir()).items())]
    ring = Ring.create(TAP_DTYPE, 1024)
    target = ctx.simple_framebuffer(size)
    rhythm = TempoTracker(bar_beats=presets[0].bar_beats)
    scene = Scene(ctx, presets[0], size)
    report = SoakReport(minutes=minutes, frames=0, taps=0, switches=0, wall_s=0.0, warmup=len(presets) + 1)
    total = int(minutes * 60 / step)
    next_tap = 0.5
    tap_id = 0
    start = time.perf_counter()
    try:
        for frame in range(total):
            now = 1000.0 + frame * step
            in_tune = (now - 1000.0) % 300.0 < 280.0  # a 20 s pause between tunes every five minutes
            while next_tap <= frame * step:  # the input process's side: push what was played
                if in_tune:
                    tap_id += 1
                    at = 1000.0 + next_tap
                    ring.push(at, at + 0.004, float(rng.uniform(0.2, 1.0)), tap_id, 1, 0, 0,
                              1 + tap_id % 2, 0)
                next_tap += rng.exponential(1.0 / taps_per_second) * 0.5 + 0.5 / taps_per_second
            taps = ring.pop()  # the render loop's side, as Show.take does
            if len(taps):
                for tap in taps:
                    rhythm.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
                scene.add_taps(taps, rhythm)
                report.taps += len(taps)
            scene.set_levels(float(rng.uniform(0, 0.3)), float(rng.uniform(0, 1)))
            scene.render(now, target)
            if frame and frame % int(60 / step) == 0:  # a simulated minute: switch, then sample
                ctx.finish()
                report.switches += 1
                preset = presets[report.switches % len(presets)]
                scene.set_preset(preset)
                rhythm.bar_beats = preset.bar_beats
                gc.collect()
                minute = frame * step / 60
                report.rss.append((minute, rss_mb()))
                report.gl.append((minute, counter.alive()))
                report.buffers.append((minute, census(scene=scene, store=scene.store, painter=scene.painter,
                                                      canvas=scene.canvas, rhythm=rhythm)))
            report.frames += 1
        report.backlog = ring.available
        report.dropped = ring.dropped
    finally:
        report.wall_s = time.perf_counter() - start
        scene.release()
        release_framebuffer(ctx, target)
        ring.close()
        counter.restore()
        if own_ctx:
            ctx.release()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated show length")
    parser.add_argument("--step", type=float, default=0.1, help="simulated seconds per frame")
    parser.add_argument("--size", default="320x180")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    report = simulate(args.minutes, args.step, size)
    print(f"soak: {report.minutes:g} simulated minutes in {report.wall_s:.0f} s "
          f"(x{report.minutes * 60 / report.wall_s:.0f} real time), {report.frames} frames of {args.step:g} s, "
          f"{report.taps} taps, {report.switches} preset switches, {size[0]}x{size[1]}")
    growth = report.rss_growth_mb
    print(f"  RSS after warm-up: {report.rss[max(1, len(report.rss) // 10)][1]:.1f} MB -> {report.rss[-1][1]:.1f} MB, "
          f"growth {growth:.2f} MB (target <= {RSS_TARGET_MB:.0f})  {'ok' if growth <= RSS_TARGET_MB else 'MISSED'}")
    gl = [n for _, n in report.gl]
    print(f"  GL objects alive: {min(gl)}..{max(gl)} after warm-up change {report.gl_change} (target 0)  "
          f"{'ok' if report.gl_change == 0 else 'MISSED'}")
    grown = report.grown_buffers
    history = {k: v for k, v in grown.items() if k in CAPPED_HISTORY}
    grown = {k: v for k, v in grown.items() if k not in CAPPED_HISTORY}
    print(f"  buffers that grew after warm-up: {grown or 'none'} (target none)  {'ok' if not grown else 'MISSED'}")
    for key, (first, last) in history.items():
        print(f"  capped history {key}: {first} -> {last} entries (cap {CAPPED_HISTORY[key]})  "
              f"{'ok' if last <= CAPPED_HISTORY[key] else 'MISSED'}")
    print(f"  ring backlog at the end {report.backlog}, dropped {report.dropped} (target 0)  "
          f"{'ok' if report.backlog == 0 and report.dropped == 0 else 'MISSED'}")


if __name__ == "__main__":
    main()
