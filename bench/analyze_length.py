"""`analyze` time against the file's length: 1 h of taps should cost ≤ 12× a 5-minute file.

    .venv/bin/python bench/analyze_length.py            # ~3 min; --long-minutes 60 --short-minutes 5

Both files are the same minute of podorhythm over music (one take, tiled), written to a
temporary folder in chunks, so the only thing that differs is the length: the detector,
the tempo tracker and analyze's own loop must all cost the same per minute at minute 59
as at minute 1. The figure is the ratio of the two CPU times (this process's, so other work
on a shared machine moves it less than the wall time), measured in the same run (each the
best of --repeats), against the ratio of the lengths (12 for 60 / 5 minutes); the wall
times are printed beside them. Also printed: each file's taps per minute, as a check that
both heard the same thing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dessins_de_planche.inputs.analyze import analyze_file  # noqa: E402
from dessins_de_planche.listen.synth import podorhythm  # noqa: E402

SR = 48_000


def write_tiled(path: Path, minute: np.ndarray, minutes: int) -> None:
    with soundfile.SoundFile(path, "w", SR, 1, subtype="PCM_16") as out:
        for _ in range(minutes):
            out.write(minute)


def timed(path: Path, repeats: int) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, taps) of the best of `repeats` runs."""
    best_cpu, best_wall, taps = float("inf"), float("inf"), 0
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = analyze_file(path, calibration={})
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        taps = len(result.final_taps)
    return best_cpu, best_wall, taps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short-minutes", type=int, default=5)
    parser.add_argument("--long-minutes", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs of each file")
    args = parser.parse_args()

    audio, _ = podorhythm(60.0, SR, 118, 2, ("heel", "toe"), seed=5, level_db=-10.0)
    minute = np.clip(audio[:, 0], -1.0, 1.0)
    with tempfile.TemporaryDirectory() as folder:
        short, long = Path(folder) / "short.wav", Path(folder) / "long.wav"
        write_tiled(short, minute, args.short_minutes)
        write_tiled(long, minute, args.long_minutes)
        short_s, short_wall, short_taps = timed(short, args.repeats)
        long_s, long_wall, long_taps = timed(long, args.repeats)
    length_ratio = args.long_minutes / args.short_minutes
    ratio = long_s / short_s
    for minutes, cpu, wall, taps in ((args.short_minutes, short_s, short_wall, short_taps),
                                     (args.long_minutes, long_s, long_wall, long_taps)):
        print(f"analyze, {minutes} min: {cpu:.1f} s CPU ({cpu / (minutes * 60) * 1000:.1f} ms per audio second), "
              f"{wall:.1f} s wall, {taps / minutes:.0f} taps/min")
    verdict = "met" if ratio <= length_ratio else "NOT met"
    print(f"CPU ratio {ratio:.2f} for {length_ratio:.0f}× the length (target ≤ {length_ratio:.0f}: {verdict}); "
          f"wall ratio {long_wall / short_wall:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
