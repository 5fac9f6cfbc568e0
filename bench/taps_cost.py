"""What a tap costs the live loop before its frame is drawn: the tempo tracker hearing it
(`TempoTracker.add`) and the scene placing its marks (`Scene.add_taps`), in the first minute of a
show and in its last, against the frame that brings no tap (measured in the same run).

A realistic stream: the demo's podorhythm (112 BPM, heel-toe en quatre, 6 ms jitter), each tap as
the audio detector sends it (a first record 8 ms after the tap, its refine 12 ms later), played on
simulated time at 60 frames a second into a 64x36 scene on EGL (the tests' way: `Scene(ctx, ...)`,
`render(now, target)`); between the timed minutes the show goes on at 20 frames a second, so the
scene and tracker carry everything an hour of taps leaves them. Per tap, median / p99 in µs:

    tempo.add     the tracker hears a tap (the app calls it for every tap that stands)
    first         add_taps of a frame that brings new taps: attributes, the layers' marks
    refine        add_taps of a frame that brings the detector's word: the marks it changed redone, all confirmed
    no tap        render of a frame without taps (the baseline)

`--against DIR` runs the same show in another checkout (a git worktree of an older commit) right
after, each in its own process, so the two are measured on the same machine in the same state;
`--rounds N` runs the two in turn N times (this, against, against, this, ...) and prints, per call,
the median over the rounds of each round's median and the ratio this / against; `--clock cpu` times
the calling thread's CPU instead of the wall clock (on a machine shared with other work, the wait
for a core is most of the noise; GL's own threads are not counted, so `no tap` is then only the
scene's Python and the driver's calls):

    .venv/bin/python bench/taps_cost.py                         # ~1-2 min: an hour's show, sparks
    git worktree add --detach /tmp/ddp-old HEAD~3
    .venv/bin/python bench/taps_cost.py --against /tmp/ddp-old --minutes 10 --preset ink
    .venv/bin/python bench/taps_cost.py --against /tmp/ddp-old --minutes 5 --rounds 4 --clock cpu
    .venv/bin/python bench/taps_cost.py --first-kind final      # the first record already right: the word only confirms
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from statistics import median

HERE = os.path.dirname(os.path.abspath(__file__))
FPS, QUIET_FPS = 60.0, 20.0


def stream(minutes: int, first_kind: str = "unknown"):
    """The demo's taps for `minutes` minutes, as the audio detector's first and refine records; the first
    record's kind is unknown (the word names it) or already the word's ("final": the word changes nothing)."""
    import numpy as np

    from dessins_de_planche.events import KIND_UNKNOWN, RECORD_FIRST, RECORD_REFINE, SOURCE_AUDIO, TAP_DTYPE
    from dessins_de_planche.listen.synth import podorhythm

    _, truth = podorhythm(60.0, 8000, 112, 2, ("Heel", "toe", "heel", "toe"), 6.0, 7, music=False, noise_db=None)
    rows, tap_id = [], 0
    for minute in range(minutes):
        for tap in truth:
            when = float(tap["time"]) + 60.0 * minute
            velocity = float(tap["velocity"])
            kind = int(tap["kind"]) if first_kind == "final" else KIND_UNKNOWN
            rows.append((when, when + 0.008, velocity, tap_id, 1, SOURCE_AUDIO, 0, kind, RECORD_FIRST, 0))
            rows.append((when, when + 0.020, velocity, tap_id, 1, SOURCE_AUDIO, 0, int(tap["kind"]), RECORD_REFINE, 0))
            tap_id += 1
    records = np.array(rows, TAP_DTYPE)
    return records[np.argsort(records["detected_at"], kind="stable")]


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}  # cpu: this thread's CPU time (not the time
# it waited for a core, which on a machine shared with other work is most of the noise; nor GL's own threads)


def measure(preset_name: str, minutes: int, clock_name: str = "wall", first_kind: str = "unknown") -> dict:
    """One show of `minutes` minutes in this process's code; the timings of its first and last minute."""
    import moderngl
    import numpy as np

    from dessins_de_planche.events import RECORD_FIRST, RECORD_REFINE
    from dessins_de_planche.listen.tempo import TempoTracker
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.scene import Scene

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    preset = load_gallery(presets_dir())[preset_name]
    scene = Scene(ctx, preset, (64, 36))
    target = ctx.simple_framebuffer((64, 36))
    tracker = TempoTracker(bar_beats=preset.bar_beats)
    records = stream(minutes, first_kind)
    end = float(records["detected_at"][-1]) + 0.5
    timed = ((0.0, 60.0), (max(60.0, 60.0 * (minutes - 1)), end))
    out = {span: {"tempo.add": [], "first": [], "refine": [], "no tap": []} for span in ("minute 1", "last")}
    now, fed, clock = 0.0, 0, CLOCKS[clock_name]
    while now < end:
        span = "minute 1" if now < timed[0][1] else "last" if now >= timed[1][0] else None
        now += 1.0 / (FPS if span else QUIET_FPS)
        upto = int(np.searchsorted(records["detected_at"], now, side="right"))
        batch, fed = records[fed:upto], upto
        for tap in batch[batch["refine"] == RECORD_REFINE]:  # the word on a tap: it stands (`app/show.py`)
            start = clock()
            tracker.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
            if span:
                out[span]["tempo.add"].append(clock() - start)
        if len(batch):
            start = clock()
            scene.add_taps(batch, tracker)
            took = clock() - start
            if span:
                out[span]["first" if (batch["refine"] == RECORD_FIRST).any() else "refine"].append(took)
        start = clock()
        scene.render(now, target)
        ctx.finish()
        if span and not len(batch):
            out[span]["no tap"].append(clock() - start)
    state = {"live marks": scene.store.count, "tempo track": len(tracker.track)}
    scene.release()
    target.release()
    return {"spans": {span: {what: [1e6 * float(np.median(v)), 1e6 * float(np.percentile(v, 99)), len(v)]
                             for what, v in values.items() if v} for span, values in out.items()},
            "state": state}


def run_in(code: str, preset: str, minutes: int, clock: str, first_kind: str) -> dict:
    # the checkout's package first; the rest of PYTHONPATH kept (where the packages are installed elsewhere,
    # as on the GPU machine: bench/gpu_run.sh)
    kept = [part for part in os.environ.get("PYTHONPATH", "").split(os.pathsep) if part]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.abspath(code), *kept]))
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", "--preset", preset,
                           "--minutes", str(minutes), "--clock", clock, "--first-kind", first_kind],
                          cwd=os.path.abspath(code), env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{code}: the measurement failed (exit status {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="sparks")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--against", help="another checkout (a git worktree) to measure in the same run")
    parser.add_argument("--rounds", type=int, default=1, help="with --against: run the two in turn this many times")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="wall",
                        help="wall time per call, or the calling thread's CPU time (a machine busy with other work)")
    parser.add_argument("--first-kind", choices=("unknown", "final"), default="unknown",
                        help="the first record's kind: unknown (the word names it) or the word's already")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.preset, args.minutes, args.clock, args.first_kind)))
        return
    codes = {"this": os.path.dirname(HERE)}
    if args.against:
        codes["against"] = args.against
    print(f"{args.preset}, 64x36, the demo's taps ({args.minutes} min of show), µs per call ({args.clock} time): "
          "median / p99 (n)")
    medians: dict[str, dict[tuple[str, str], list[float]]] = {label: {} for label in codes}
    for round_ in range(max(args.rounds, 1)):
        order = list(codes.items()) if round_ % 2 == 0 else list(codes.items())[::-1]
        for label, code in order:
            result = run_in(code, args.preset, args.minutes, args.clock, args.first_kind)
            print(f"  {label} ({code}); at the end: {result['state']}")
            for span, values in result["spans"].items():
                cells = "   ".join(f"{what} {m:7.0f} /{p:6.0f} ({n})" for what, (m, p, n) in values.items())
                print(f"    {span:9s} {cells}")
                for what, (m, _, _) in values.items():
                    medians[label].setdefault((span, what), []).append(m)
    if args.against:
        print(f"median of the {max(args.rounds, 1)} rounds' medians, µs: this / against (ratio)")
        for key, values in medians["this"].items():
            this, against = median(values), median(medians["against"].get(key, [float("nan")]))
            print(f"    {key[0]:9s} {key[1]:10s} {this:7.0f} / {against:7.0f}  ({this / against:.2f})")


if __name__ == "__main__":
    main()
