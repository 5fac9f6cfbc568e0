"""What the operator screen (`run --operator`) costs the show per frame.

In one process with a headless GL context (EGL): a gallery look drawn at the projector's
size each frame (the baseline: the frame's own drawing), and the operator link's publish
after it — the snapshot as JSON into shared memory, the picture copied and scaled on the
GPU and read back into a pixel-buffer object collected a publish later. The operator's
own window runs in its process, here on SDL's dummy driver.

    .venv/bin/python bench/operator_screen.py [--size 1280x720] [--frames 240] [--preset rosette]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--preset", default="rosette")
    args = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # the operator process's window, unseen
    import moderngl

    from dessins_de_planche.app import operator
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.steady import steady_taps
    from dessins_de_planche.render.scene import Scene

    size = tuple(int(v) for v in args.size.split("x"))
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    screen = ctx.simple_framebuffer(size, components=4)
    scene = Scene(ctx, load_gallery(presets_dir())[args.preset], size)
    taps = steady_taps(seconds=args.frames / 60 + 1)
    link = operator.OperatorLink(ctx)
    state = {"hud": ["rosette  (1/8)", "Tempo: 118 BPM   Pattern: en deux", "Taps/s: 4.0   taps: 120",
                     "FPS: 60   dropped: 0   overflows: 0", "Callback lateness: 0.1 / 0.4 / 1.2 ms",
                     "Audio: listening (USB Audio)   MIDI: off", "mirror: none   turn: 0°   dimmer: 100%"],
             "notices": [], "presets": ["rosette", "thread", "constellation", "weave", "ink", "lanes", "figure",
                                        "sparks"], "current": 0, "meters": [["1", 0.1, 0.2]], "errors": []}
    drawing, publishing = [], []
    try:
        for frame in range(args.frames):
            now = frame / 60.0
            fresh = taps[(taps["detected_at"] <= now) & (taps["detected_at"] > now - 1 / 60)]
            start = time.perf_counter()
            scene.add_taps(fresh)
            scene.render(now, screen)
            ctx.finish()
            middle = time.perf_counter()
            link.publish(now + frame, state, screen, size)  # every frame is due (more than 30 Hz here)
            ctx.finish()
            end = time.perf_counter()
            drawing.append(middle - start)
            publishing.append(end - middle)
    finally:
        link.close()
        scene.release()
        ctx.release()
    drawing, publishing = np.array(drawing[30:]) * 1000, np.array(publishing[30:]) * 1000
    print(f"{args.preset} at {args.size}, {len(drawing)} frames (llvmpipe unless a GPU is at hand)")
    print(f"  the frame's drawing (baseline): median {np.median(drawing):6.2f} ms, p99 {np.percentile(drawing, 99):6.2f} ms")
    print(f"  operator publish:               median {np.median(publishing):6.2f} ms, "
          f"p99 {np.percentile(publishing, 99):6.2f} ms  "
          f"(publish / drawing = {np.median(publishing) / np.median(drawing):.2f}; published at most 30 times a "
          f"second, so half the frames at 60 fps pay nothing)")


if __name__ == "__main__":
    main()
