"""Start-up: from launching `dessins-de-planche run` on the bundled demo to its first buffer swap.

The first swap's time comes from the app's telemetry (master clock, shared by every
process on the machine), the launch time from this script just before it starts the
process. Baseline in the same run: `python -c 'import pygame, moderngl'`, the least
any pygame + moderngl app pays. Runs in a real window (Xvfb).

    .venv/bin/python bench/startup.py [--runs 5] [--size 1280x720]

Target: first frame <= 1 s after launch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stage import App, Screen  # noqa: E402

TARGET_S = 1.0


def first_frame(screen: Screen, size: str) -> tuple[float, float]:
    """(seconds to the first swap, seconds to the first frame that draws a tap)."""
    app = App(screen, "--size", size, "--frames", "240")
    try:
        code = app.wait(timeout=120)
        if code != 0:
            raise RuntimeError(f"the app exited with {code}:\n{app.log_text()[-2000:]}")
        with open(app.telemetry_path) as f:
            frames = [json.loads(line) for line in f if line.startswith('{"frame"')]
    finally:
        app.stop()
        app.cleanup()
    first_tap = next((f["swap"] for f in frames if f.get("taps")), float("nan"))
    return frames[0]["swap"] - app.launched, first_tap - app.launched


def bare_import() -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import pygame, moderngl"], check=True, capture_output=True,
                   env={**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"})
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--offscreen", action="store_true",
                        help="draw with SDL's offscreen driver (EGL) instead of a window under Xvfb: "
                             "for a machine with a GPU and no display")
    args = parser.parse_args()
    screen = Screen(args.offscreen)
    try:
        bare_import()  # warm the file cache for both
        first_frame(screen, args.size)
        firsts, taps, bases = [], [], []
        for _ in range(args.runs):
            bases.append(bare_import())
            first, tap = first_frame(screen, args.size)
            firsts.append(first)
            taps.append(tap)
    finally:
        screen.close()
    first, base = float(np.median(firsts)), float(np.median(bases))
    print(f"start-up on the bundled demo, {args.size}, median of {args.runs} (after one warm-up run):")
    print(f"  launch -> first frame: {first:.2f} s (target <= {TARGET_S:.0f} s, x{first / base:.1f} of the bare "
          f"import)  {'ok' if first <= TARGET_S else 'MISSED'}   runs: {', '.join(f'{v:.2f}' for v in firsts)}")
    print(f"  launch -> first demo tap drawn: {float(np.nanmedian(taps)):.2f} s")
    print(f"  baseline `python -c 'import pygame, moderngl'`: {base:.2f} s")


if __name__ == "__main__":
    main()
