"""The frame-time governor on stage: each gallery look in the real app, the demo playing, governed
(`--render-scale auto`) and at full resolution (`--render-scale 1`), interleaved, from the app's
own telemetry.

For each look and each mode: the frame interval (swap to swap) median and p99 over the run's
last `--seconds` (the first 3 s — start-up and the governor's first decisions — are left out),
the median render scale, how many times it moved, and the longest frame. Target (issue 19,
60 Hz): median interval <= 17 ms, p99 <= 25 ms, with a median scale >= 0.75. The full-resolution
run is the baseline from the same minute: the machine is shared, so compare the two.

    .venv/bin/python bench/render_scale.py                   # ~4 min: every look, 1280x720, under Xvfb
    .venv/bin/python bench/render_scale.py --size 640x360 sparks ink --seconds 10
    .venv/bin/python bench/render_scale.py --offscreen       # a machine with a GPU and no display
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stage import App, Screen  # noqa: E402

WARM_SECONDS = 3.0
TARGET_MEDIAN_MS, TARGET_P99_MS, TARGET_SCALE = 17.0, 25.0, 0.75


def one_run(screen, preset: str, size: str, seconds: float, scale: str) -> dict:
    app = App(screen, "--preset", preset, "--size", size, "--seconds", str(seconds + WARM_SECONDS),
              "--render-scale", scale, "--no-autosave")
    try:
        code = app.wait(seconds + WARM_SECONDS + 60)
        frames, _ = app.records()
        if code != 0 or len(frames) < 10:
            raise RuntimeError(f"the app exited with {code}:\n{app.log_text()[-2000:]}")
    finally:
        app.stop()
        app.cleanup()
    swaps = np.array([f["swap"] for f in frames])
    scales = np.array([f.get("scale", 1.0) for f in frames])
    keep = swaps >= swaps[0] + WARM_SECONDS
    intervals = np.diff(swaps)[keep[1:]] * 1e3
    kept = scales[keep]
    return {"median": float(np.median(intervals)), "p99": float(np.percentile(intervals, 99)),
            "max": float(intervals.max()), "scale": float(np.median(kept)),
            "moves": int(np.count_nonzero(np.diff(scales))), "low": float(kept.min()), "high": float(kept.max()),
            "fps": len(intervals) / max((swaps[-1] - swaps[keep][0]), 1e-9)}


def main() -> None:
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("presets", nargs="*", help="looks (default: the gallery)")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run (after 3 s)")
    parser.add_argument("--offscreen", action="store_true", help="SDL's offscreen driver (EGL) instead of Xvfb")
    parser.add_argument("--modes", default="auto,1", help="render scales to run, interleaved")
    args = parser.parse_args()
    names = args.presets or sorted(load_gallery(presets_dir()))
    print(f"{args.size}, {args.seconds:.0f} s per run after {WARM_SECONDS:.0f} s, the demo playing; "
          f"load average {os.getloadavg()[0]:.1f}")
    screen = Screen(args.offscreen)
    try:
        for name in names:
            for mode in args.modes.split(","):
                r = one_run(screen, name, args.size, args.seconds, mode)
                ok = r["median"] <= TARGET_MEDIAN_MS and r["p99"] <= TARGET_P99_MS and r["scale"] >= TARGET_SCALE
                print(f"  {name:>13} --render-scale {mode:>4}: interval median {r['median']:5.1f} ms, "
                      f"p99 {r['p99']:5.1f}, max {r['max']:6.1f} ({r['fps']:4.1f} fps); scale median "
                      f"{r['scale']:.4g} ({r['low']:.4g}..{r['high']:.4g}, moved {r['moves']}x)   "
                      f"[target {TARGET_MEDIAN_MS:.0f} / {TARGET_P99_MS:.0f} ms at >= {TARGET_SCALE}: "
                      f"{'ok' if ok else 'missed'}]", flush=True)
    finally:
        screen.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
