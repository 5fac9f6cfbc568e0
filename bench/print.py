"""A print of a 3-minute take per gallery look: its time at 1080p and 4K, beside today's full-rate render.

For each look, the print (`render --print`: the layout pass, then the page stepped as the look
needs) of a synthetic 3-minute take (`render/steady.py` `steady_taps`: en trois, then en quatre, two zones,
every tap refined 12 ms later, as the detector sends them) at each size, against the issue's target
(<= 60 s at 3840x2160 on this machine: llvmpipe, 2 cores). The baseline, measured in the same run, is
today's render of the live look (`render --live`: the scene stepped at `offline.default_step`, a
full-screen pass whenever the canvas fades), on the take's first `--today` seconds and scaled to the
whole take (its cost is linear in the take's length: one step per 1/60 s up to full HD).
"cpu s" is the print's CPU time in this process, every thread counted (llvmpipe's too): on a shared
machine, half of it is about what the print takes on the 2 cores alone.

    .venv/bin/python bench/print.py [--seconds 180] [--today 10] [--sizes 1920x1080,3840x2160] [PRESET ...]

`--compare SECONDS` also prints how far the print's pixels are from a full-rate print (the scene stepped
every 1/60 s) of a take that long, at 1920x1080, the print stepped as coarsely as a 4K print of a
3-minute take is: the largest channel difference's mean, its 99.9th
percentile, and the share of pixels more than 16 apart (of 255). A full-rate print of a look whose
canvas bleeds costs some 0.1 s a frame at 1080p here, so keep SECONDS short (20: about 3 minutes).
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import moderngl
import numpy as np

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.render import printing
from dessins_de_planche.render.steady import steady_taps
from dessins_de_planche.render.offline import replay

TARGET_SECONDS = 60.0  # a 3-minute take at 3840x2160 (issue 20)
TARGET_SIZE = (3840, 2160)


def size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def timed(work):
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def print_seconds(ctx, take, preset, page) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of this process (every thread: llvmpipe's too) for one print."""
    def work():
        job = printing.plan(ctx, take, preset, page)
        printing.draw_print(ctx, job)
        ctx.finish()

    cpu = time.process_time()
    wall, _ = timed(work)
    return wall, time.process_time() - cpu


def today_seconds(ctx, take, preset, page, seconds: float) -> float:
    """Today's live render of the take's first `seconds`, scaled to the whole take."""
    taps = take.taps[take.taps["detected_at"] <= seconds]

    def work():
        scene = replay(ctx, taps, seconds, preset, page)
        scene.read_canvas()
        scene.release()

    elapsed, _ = timed(work)
    return elapsed * take.duration / seconds


def compare(ctx, preset, seconds: float) -> str:
    take = SimpleNamespace(taps=steady_taps(seconds), duration=seconds)
    job = printing.plan(ctx, take, preset, (1920, 1080))
    # stepped as coarsely as a 4K print of a 3-minute take is (the coarsest a print gets)
    step = printing.effect_step(TARGET_SIZE, 180.0) if printing.needs_frames(job.preset) else None
    fast = printing.draw_print(ctx, job, step).astype(int)
    full = printing.draw_print(ctx, job, step=1.0 / 60.0).astype(int)
    difference = np.abs(fast - full).max(axis=2)
    return (f"vs full rate ({seconds:g} s take, 1920x1080, steps of {step or printing.MARKS_STEP:.2f} s): "
            f"mean {difference.mean():.3f}, "
            f"99.9th pct {np.percentile(difference, 99.9):.0f}, >16: {100 * (difference > 16).mean():.3f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", help="gallery presets (default: all)")
    parser.add_argument("--seconds", type=float, default=180.0, help="the take's length (default 180)")
    parser.add_argument("--today", type=float, default=10.0,
                        help="seconds of the take rendered the live way, scaled to the whole take (default 10)")
    parser.add_argument("--sizes", default="1920x1080,3840x2160")
    parser.add_argument("--compare", type=float, default=0.0, metavar="SECONDS",
                        help="also compare the print with a full-rate print of a take this long at 1080p")
    args = parser.parse_args()
    gallery = load_gallery(presets_dir())
    names = args.presets or sorted(gallery, key=lambda n: (gallery[n].order, n))
    sizes = [size(text) for text in args.sizes.split(",")]
    take = SimpleNamespace(taps=steady_taps(args.seconds), duration=args.seconds)
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    print(f"a {args.seconds:g} s take, {int((take.taps['refine'] == 0).sum())} taps; target: a "
          f"{TARGET_SIZE[0]}x{TARGET_SIZE[1]} print <= {TARGET_SECONDS:g} s (for a 180 s take)")
    print(f"{'preset':<14} {'size':>10} {'print s':>8} {'cpu s':>7} {'today s':>8} {'print/today':>12}  target")
    try:
        for name in names:
            preset = gallery[name]
            for page in sizes:
                printed, cpu = print_seconds(ctx, take, preset, page)
                today = today_seconds(ctx, take, preset, page, min(args.today, args.seconds))
                mark = ""
                if page == TARGET_SIZE:
                    mark = "met" if printed <= TARGET_SECONDS * args.seconds / 180.0 else "MISSED"
                print(f"{name:<14} {page[0]:>5}x{page[1]:<4} {printed:8.1f} {cpu:7.1f} {today:8.1f} "
                      f"{printed / today:12.3f}  {mark}", flush=True)
            if args.compare > 0:
                print(f"{'':<14} {compare(ctx, preset, args.compare)}", flush=True)
    finally:
        ctx.release()


if __name__ == "__main__":
    main()
