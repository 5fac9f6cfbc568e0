"""The live loop's own cost per frame: the real app (`run`, the demo playing) on SDL's offscreen driver,
from its telemetry and its process's CPU time, governed (`--render-scale auto`, the default: the loop
finishes the GL work of each frame the governor measures before the swap) against
`--render-scale 1` (the baseline: no finish), interleaved in the same run; `--against DIR` adds the
code of another checkout (a git worktree of an older commit) as a third configuration, run with its
own defaults, and prints this code's frames that bring taps against that code's (both governed).

Per configuration, over the frames after the first 3 s:

    render     drain -> swap, median / p99 ms (the render part of `tap_to_photon.py`), split into
    drawing    drain -> drawing submitted: the console's take and draw, the CPU's part; also for
               the frames that bring a tap or its confirmation alone (the frames tap-to-photon
               measures: the scene places the tap's marks, the tempo hears it), and their render
    finish     -> the loop's finish returned: the wait for the GPU (governed only; the frames the
               governor measures: every frame, or one in a dozen and never a tap's while the frames
               have clear headroom, see `app/governor.py`)
    swap       -> the swap returned (from the finish, or from the drawing in a frame not finished)
    gpu        the GPU's own time for a frame's drawing (a timer query; the frames finished)
    finished   how many frames, and how many of those that bring a tap, were finished before the swap
    cpu/frame  the app process's CPU time per frame (its threads, llvmpipe's rasterizers included;
               not the input process), from /proc

At a tiny size (64x36, the default) the GL work is next to nothing, so `drawing` is the loop's own
CPU per frame and `finish` what waiting for the GPU costs when there is nothing to wait for. At the
show's size on a GPU, `finish` is the GPU's time for the frame as the app drives it (60 frames a
second, the GPU idle most of each), against `gpu`, and `cpu/frame` shows NVIDIA's driver spinning
while it waits.

    .venv/bin/python bench/loop.py                                  # ~1 min: 64x36, 2 passes of 8 s each
    git worktree add --detach /tmp/ddp-old 16ec0bd                  # the code of 2026-11-26 (H100 runs)
    .venv/bin/python bench/loop.py --against /tmp/ddp-old
    python3 bench/loop.py --size 1920x1080 --preset sparks          # on a GPU machine
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stage import App, Screen, percentile  # noqa: E402

WARM_SECONDS = 3.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process (all its threads), s."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: the 14th and 15th fields


def frame_count(path: str) -> int:
    try:
        with open(path) as f:
            return sum(1 for line in f if line.startswith('{"frame"'))
    except OSError:
        return 0


def one_run(screen, code: str, scale: str | None, size: str, preset: str, seconds: float) -> dict:
    scaling = ("--render-scale", scale) if scale else ()  # code older than the governor has no such option
    app = App(screen, "--size", size, "--preset", preset, *scaling, "--no-autosave",
              "--seconds", str(WARM_SECONDS + seconds + 1.0), code=code)
    try:
        deadline = time.monotonic() + 60.0
        while frame_count(app.telemetry_path) < 2:  # the first frame: start-up is over
            if app.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not draw:\n{app.log_text()[-2000:]}")
            time.sleep(0.05)
        time.sleep(WARM_SECONDS)
        cpu0, frames0 = cpu_seconds(app.process.pid), frame_count(app.telemetry_path)
        time.sleep(seconds)
        cpu1, frames1 = cpu_seconds(app.process.pid), frame_count(app.telemetry_path)
        code_exit = app.wait(60.0)
        frames, _ = app.records()
        if code_exit != 0:
            raise RuntimeError(f"the app exited with {code_exit}:\n{app.log_text()[-2000:]}")
    finally:
        app.stop()
        app.cleanup()
    kept = frames[frames0:frames1]

    def ms(later: str, earlier: str) -> np.ndarray:
        return np.array([(f[later] - f[earlier]) * 1e3 for f in kept if later in f and earlier in f])

    taps = [f for f in kept if "taps" in f or "confirmed" in f]  # frames that bring a tap or its confirmation
    return {"render": ms("swap", "drained"), "drawing": ms("drawn", "drained"), "finish": ms("finished", "drawn"),
            "tap drawing": np.array([(f["drawn"] - f["drained"]) * 1e3 for f in taps]),
            "tap render": np.array([(f["swap"] - f["drained"]) * 1e3 for f in taps]),
            "swap": np.array([(f["swap"] - f.get("finished", f["drawn"])) * 1e3 for f in kept]),
            "gpu": np.array([f["gpu"][1] for f in kept if "gpu" in f]),
            "finished": np.array([sum("finished" in f for f in kept), len(kept)]),
            "tap finished": np.array([sum("finished" in f for f in taps), len(taps)]),
            "interval": np.diff([f["swap"] for f in kept]) * 1e3,
            "cpu": (cpu1 - cpu0) / max(frames1 - frames0, 1) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="64x36")
    parser.add_argument("--preset", default="sparks")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run (after 3 s)")
    parser.add_argument("--passes", type=int, default=2, help="runs of each configuration, interleaved")
    parser.add_argument("--against", metavar="DIR", help="another checkout's code, run governed beside this one")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    configurations = [("governed", here, "auto"), ("baseline: --render-scale 1", here, "1")]
    if args.against:
        configurations.append((f"{os.path.basename(os.path.normpath(args.against))}, its default",
                               os.path.abspath(args.against), None))
    print(f"{args.size}, {args.preset}, the demo playing, SDL's offscreen driver at 60 fps; {args.passes} x "
          f"{args.seconds:.0f} s per configuration after {WARM_SECONDS:.0f} s; load average {os.getloadavg()[0]:.1f}")
    screen = Screen(offscreen=True)
    results: dict[str, list[dict]] = {label: [] for label, _, _ in configurations}
    try:
        for _ in range(args.passes):  # interleaved: a busy moment of the machine hits every configuration
            for label, code, scale in configurations:
                results[label].append(one_run(screen, code, scale, args.size, args.preset, args.seconds))
    finally:
        screen.close()
    merged = {}
    for label, runs in results.items():
        merged[label] = {key: np.concatenate([r[key] for r in runs]) for key in runs[0]
                         if key not in ("cpu", "finished", "tap finished")}
        for key in ("finished", "tap finished"):  # counts: [finished, frames]
            merged[label][key] = np.sum([r[key] for r in runs], axis=0)
        merged[label]["cpu"] = float(np.median([r["cpu"] for r in runs]))
        m = merged[label]
        parts = ", ".join(f"{name} {percentile(m[name], 50):.2f}" for name in ("drawing", "finish", "swap")
                          if len(m[name]))
        gpu = f", gpu {percentile(m['gpu'], 50):.2f}" if len(m["gpu"]) else ""
        print(f"  {label:>34}: render median {percentile(m['render'], 50):5.2f} ms, p99 "
              f"{percentile(m['render'], 99):5.2f} ({parts}{gpu}); cpu/frame {m['cpu']:5.2f} ms; "
              f"interval median {percentile(m['interval'], 50):.1f} ms")
        print(f"  {'':>34}  a frame that brings a tap or its confirmation: drawing median "
              f"{percentile(m['tap drawing'], 50):.2f} ms, p99 {percentile(m['tap drawing'], 99):.2f}; render "
              f"{percentile(m['tap render'], 50):.2f} / {percentile(m['tap render'], 99):.2f} "
              f"({len(m['tap drawing'])} frames)")
        print(f"  {'':>34}  finished before the swap: {m['finished'][0]} of {m['finished'][1]} frames, "
              f"{m['tap finished'][0]} of {m['tap finished'][1]} tap frames")
    base = merged["baseline: --render-scale 1"]
    for label, m in merged.items():
        if label.startswith("baseline"):
            continue
        render, base_render = percentile(m["render"], 50), percentile(base["render"], 50)
        tap, base_tap = percentile(m["tap render"], 50), percentile(base["tap render"], 50)
        print(f"  {label} against the baseline: render {render - base_render:+.2f} ms (x{render / base_render:.2f}), "
              f"a tap frame's render {tap - base_tap:+.2f} ms, "
              f"drawing {percentile(m['drawing'], 50) - percentile(base['drawing'], 50):+.2f} ms, cpu/frame "
              f"{m['cpu'] - base['cpu']:+.2f} ms")
    if args.against:  # the two codes side by side: what a change did to the frames that bring taps
        label = configurations[-1][0]
        mine, theirs = merged["governed"], merged[label]
        for name, key in (("a tap frame's drawing", "tap drawing"), ("a tap frame's render", "tap render"),
                          ("every frame's drawing", "drawing")):
            a, b = percentile(mine[key], 50), percentile(theirs[key], 50)
            a99, b99 = percentile(mine[key], 99), percentile(theirs[key], 99)
            print(f"  this code against {label}: {name} median {a:.2f} / {b:.2f} ms (x{a / b:.2f}), "
                  f"p99 {a99:.2f} / {b99:.2f} (x{a99 / b99:.2f})")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
