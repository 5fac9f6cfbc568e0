"""What recording the projected picture (`run --record-video`) costs the show's frames.

The same show (the demo, `sparks` or another look) runs with and without recording,
passes interleaved so the machine's noise falls on both alike; each pass's frame
intervals come from the app's own telemetry. Baseline: the passes without recording.

    .venv/bin/python bench/record_video.py [--size 640x360] [--seconds 10] [--passes 2] [--offscreen]

Target: no frame slower than two intervals (33 ms at 60 Hz) because of recording, and the
video holding the frames shown (dropped ≤ 1 %).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stage import App, Screen  # noqa: E402

LONG_S = 2 / 60


def one_pass(screen: Screen, size: str, seconds: float, preset: str, video: str | None) -> dict:
    extra = ["--record-video", video] if video else []
    app = App(screen, "--size", size, "--seconds", str(seconds), "--preset", preset, "--generate", "--bpm", "140",
              *extra)
    try:
        code = app.wait(timeout=seconds + 120)
        if code != 0:
            raise RuntimeError(f"the app exited with {code}:\n{app.log_text()[-2000:]}")
        with open(app.telemetry_path) as f:
            swaps = np.array([json.loads(line)["swap"] for line in f if line.startswith('{"frame"')])
        said = re.findall(r"recorded (\d+) frames .*\((\d+) dropped: .*; (\d+) faster", app.log_text())
    finally:
        app.stop()
        app.cleanup()
    intervals = np.diff(swaps[60:])  # past the start's vsync check
    result = {"frames": len(swaps), "p50": float(np.median(intervals)), "p99": float(np.percentile(intervals, 99)),
              "max": float(intervals.max()), "long": int((intervals > LONG_S).sum())}
    if said:
        result["recorded"], result["dropped"], result["skipped"] = (int(n) for n in said[0])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--preset", default="rosette")
    parser.add_argument("--offscreen", action="store_true", help="SDL's offscreen driver (EGL), for a GPU machine")
    args = parser.parse_args()
    screen = Screen(offscreen=args.offscreen)
    out = tempfile.mkdtemp(prefix="ddp-record-")
    rows = {"without": [], "with": []}
    try:
        for n in range(args.passes):
            rows["without"].append(one_pass(screen, args.size, args.seconds, args.preset, None))
            rows["with"].append(one_pass(screen, args.size, args.seconds, args.preset,
                                         os.path.join(out, f"pass{n}.mp4")))
    finally:
        screen.close()
    print(f"{args.preset} at {args.size}, {args.passes} × {args.seconds:g} s each way, passes interleaved")
    base = rows["without"]
    for name, runs in rows.items():
        p50 = np.mean([r["p50"] for r in runs]) * 1000
        p99 = np.mean([r["p99"] for r in runs]) * 1000
        worst = max(r["max"] for r in runs) * 1000
        long = sum(r["long"] for r in runs)
        frames = sum(r["frames"] for r in runs)
        line = (f"  {name:<8} recording: frame interval p50 {p50:5.1f} ms, p99 {p99:5.1f} ms, max {worst:6.1f} ms; "
                f"{long} of {frames} frames over two intervals")
        if name == "with":
            line += (f"; p99 / baseline {p99 / (np.mean([r['p99'] for r in base]) * 1000):.2f}; "
                     f"recorded {sum(r['recorded'] for r in runs)}, dropped {sum(r['dropped'] for r in runs)}, "
                     f"skipped (faster than the video) {sum(r['skipped'] for r in runs)}")
        print(line)
    extra_long = sum(r["long"] for r in rows["with"]) - sum(r["long"] for r in base)
    dropped = sum(r["dropped"] for r in rows["with"]) / max(1, sum(r["frames"] for r in rows["with"]))
    print(f"  long frames added by recording: {extra_long} (target 0 beyond the baseline's); "
          f"dropped {dropped:.1%} (target ≤ 1 %)")


if __name__ == "__main__":
    main()
