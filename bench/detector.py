"""Tap detector figures: CPU per audio second, detection delay, precision/recall.

    python bench/detector.py [--quick]

Each figure is printed beside its target; CPU also as a ratio to a baseline measured
in the same run (a plain 256-point rfft per block per channel, the work a
spectral-flux detector would start from). Delay is `detected_at` (end of the block
that first emitted the tap) minus the true onset (first sample at 5 % of the hit's
peak), counted in stream samples, so it does not depend on this machine's speed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dessins_de_planche.events import RECORD_REFINE, RECORD_WITHDRAW  # noqa: E402
from dessins_de_planche.listen.detector import TapDetector  # noqa: E402
from dessins_de_planche.listen.synth import heel_sound, match_onsets, podorhythm, toe_sound, true_onset  # noqa: E402

SR, BLOCK = 48_000, 128
PATTERNS = [(112, 2, ("heel", "toe")), (120, 3, ("Heel", "toe", "toe")),
            (150, 4, ("Heel", "toe", "heel", "toe")), (92, 4, ("H", "t", "-", "t"))]


def cpu_per_second(audio: np.ndarray, work) -> float:
    """Best of 3: seconds of CPU spent per second of audio, 128-frame blocks."""
    blocks = [audio[i : i + BLOCK] for i in range(0, len(audio) - BLOCK + 1, BLOCK)]
    best = float("inf")
    for _ in range(3):
        step = work()
        start = time.process_time()
        for i, block in enumerate(blocks):
            step(block, i * BLOCK)
        best = min(best, time.process_time() - start)
    return best / (len(blocks) * BLOCK / SR)


def block_costs_by_stream_age(audio: np.ndarray, ages_h=(0, 1, 8), rounds: int = 3) -> dict:
    """Per-block wall time (s) of the detector fed the same audio at several stream ages,
    the ages interleaved round by round so the machine's noise falls on all of them alike."""
    blocks = [audio[i : i + BLOCK] for i in range(0, len(audio) - BLOCK + 1, BLOCK)]
    costs = {age: [] for age in ages_h}
    clock = time.perf_counter
    for _ in range(rounds):
        for age in ages_h:
            offset = int(age * 3600 * SR)
            detector = TapDetector(SR, range(audio.shape[1]), BLOCK)
            process = detector.process
            times = np.empty(len(blocks))
            for i, block in enumerate(blocks):
                start = clock()
                process(block, offset + i * BLOCK)
                times[i] = clock() - start
            costs[age].append(times)
    return {age: np.minimum.reduce(runs) for age, runs in costs.items()}  # best of the rounds, per block


def detector_work(channels: int):
    def make():
        detector = TapDetector(SR, range(channels), BLOCK)
        return detector.process
    return make


def rfft_work(channels: int):
    def make():
        window = np.zeros((256, channels), np.float32)
        rfft = np.fft.rfft

        def step(block, start):
            window[:-BLOCK] = window[BLOCK:]
            window[-BLOCK:] = block
            rfft(window, axis=0)
        return step
    return make


def aubio_work(channels: int):
    import aubio  # bench-only extra: pip install aubio==0.4.9

    def make():
        onsets = [aubio.onset("default", 256, BLOCK, SR) for _ in range(channels)]

        def step(block, start):
            for c, onset in enumerate(onsets):
                onset(np.ascontiguousarray(block[:, c]))
        return step
    return make


def run_detector(audio, sample_rate):
    detector = TapDetector(sample_rate, range(audio.shape[1]), BLOCK)
    first, final = {}, {}
    for start in range(0, len(audio), BLOCK):
        block = audio[start : start + BLOCK]
        count = detector.process(block, start)
        end = (start + len(block)) / sample_rate
        for k in range(count):
            tap_id = int(detector.out_tap_id[k])
            record = int(detector.out_refine[k])
            if record == RECORD_WITHDRAW:  # stage B took it back: not a tap
                final.pop(tap_id, None)
            elif record == RECORD_REFINE:
                final[tap_id] = (first[tap_id][0], first[tap_id][1], int(detector.out_kind[k]))
            else:
                first[tap_id] = final[tap_id] = (detector.out_onset[k] / sample_rate, end, int(detector.out_kind[k]))
    rows = [final[k] for k in sorted(final)]
    return np.array(rows, dtype=[("time", "f8"), ("detected_at", "f8"), ("kind", "u1")]).reshape(-1)


def accuracy(quick: bool):
    seeds = (0, 1) if quick else (0, 1, 2, 3)
    levels = (-40.0, -20.0, -3.0) if quick else (-40.0, -30.0, -20.0, -10.0, -1.0)
    found = truth_count = matched = kinds_right = 0
    delays, errors = [], []
    for seed in seeds:
        for level in levels:
            for bpm, per_beat, pattern in PATTERNS:
                for sample_rate in (48_000, 44_100):
                    audio, truth = podorhythm(6.0, sample_rate, bpm, per_beat, pattern, seed=100 * seed + per_beat,
                                              level_db=level, tap_to_music_db=6.0, noise_db=-70.0)
                    taps = run_detector(audio, sample_rate)
                    pairs, _, _ = match_onsets(taps["time"], truth["time"], 0.025)
                    found += len(taps)
                    truth_count += len(truth)
                    matched += len(pairs)
                    if sample_rate == SR:
                        delays.extend(taps["detected_at"][pairs[:, 0]] - truth["time"][pairs[:, 1]])
                    errors.extend(taps["time"][pairs[:, 0]] - truth["time"][pairs[:, 1]])
                    kinds_right += int((taps["kind"][pairs[:, 0]] == truth["kind"][pairs[:, 1]]).sum())
    precision, recall = matched / max(found, 1), matched / max(truth_count, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return precision, recall, f1, np.array(delays) * 1000, np.array(errors) * 1000, kinds_right / max(matched, 1), truth_count


def doublets(gap_s: float) -> tuple[int, int]:
    rng = np.random.default_rng(9)
    audio = (rng.standard_normal(SR * 8) * 1e-4).astype(np.float32)
    onsets = []
    for n, start in enumerate(np.arange(0.5, 7.5, 0.35)):
        for offset, make in ((0.0, (heel_sound, toe_sound)[n % 2]), (gap_s, (toe_sound, heel_sound)[n // 2 % 2])):
            hit = make(rng, SR) * 0.3
            at = int((start + offset) * SR)
            audio[at : at + len(hit)] += hit
            onsets.append((at + true_onset(hit)) / SR)
    taps = run_detector(audio[:, None], SR)
    pairs, _, _ = match_onsets(taps["time"], onsets, gap_s / 2)
    return len(pairs), len(onsets)


def line(name, value, target, unit="", better="lower"):
    ok = value <= target if better == "lower" else value >= target
    print(f"  {name:<38} {value:10.4f} {unit:<4} target {'<=' if better == 'lower' else '>='} {target:<8} "
          f"{'ok' if ok else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller generated set")
    args = parser.parse_args()

    print(f"CPU per audio second, {SR} Hz, {BLOCK}-frame blocks (process time, best of 3)")
    for channels, target in ((1, 0.025), (4, 0.06)):
        audio, _ = podorhythm(20.0, SR, 120, 2, ("heel", "toe"), seed=1, level_db=-12.0, channels=channels)
        ours = cpu_per_second(audio, detector_work(channels))
        base = cpu_per_second(audio, rfft_work(channels))
        line(f"detector, {channels} channel{'s' if channels > 1 else ''}", ours, target, "s/s")
        print(f"  {'  baseline: 256-point rfft per block':<38} {base:10.4f} s/s  detector/baseline = {ours / base:.2f}")
        try:
            theirs = cpu_per_second(audio, aubio_work(channels))
            print(f"  {'  aubio onset (default, 256/128)':<38} {theirs:10.4f} s/s  detector/aubio = {ours / theirs:.2f}")
        except ImportError:
            print("    aubio: not installed (pip install aubio==0.4.9 to compare)")

    print("\nPer-block cost by stream age (1 channel, same audio, best of 3 interleaved rounds per block)")
    audio, _ = podorhythm(10.0 if args.quick else 30.0, SR, 120, 2, ("heel", "toe"), seed=1, level_db=-12.0)
    costs = block_costs_by_stream_age(audio)
    base = costs[0]
    for age, c in costs.items():
        print(f"  {age:>2} h: median {np.median(c) * 1e6:7.1f} us  max {c.max() * 1e6:8.1f} us  "
              f"p99 {np.percentile(c, 99) * 1e6:7.1f} us  median/0 h = {np.median(c) / np.median(base):.3f}  "
              f"max/0 h = {c.max() / base.max():.2f}  (target within 10 %; budget {BLOCK / SR * 1e6:.0f} us)")

    precision, recall, f1, delays, errors, kinds, count = accuracy(args.quick)
    print(f"\nGenerated set: {count} taps, -40..-1 dBFS, fiddle + boom-chick at tap-to-music 6 dB (RMS), "
          f"noise -70 dBFS, 2/3/4 taps per beat, 48 and 44.1 kHz")
    line("precision at +-25 ms", precision, 0.95, better="higher")
    line("recall at +-25 ms", recall, 0.95, better="higher")
    print(f"  {'F1':<38} {f1:10.4f}")
    line("detection delay median (48 kHz/128)", float(np.median(delays)), 6.0, "ms")
    line("detection delay p95", float(np.percentile(delays, 95)), 10.0, "ms")
    print(f"  {'detection delay max':<38} {delays.max():10.4f} ms")
    print(f"  {'onset error |median| / p95 |err|':<38} {abs(np.median(errors)):10.4f} / {np.percentile(np.abs(errors), 95):.4f} ms")
    print(f"  {'heel/toe right (matched taps)':<38} {kinds:10.4f}")
    for gap, target in ((0.040, 1.0), (0.030, 1.0)):
        got, total = doublets(gap)
        print(f"  {'doublets %d ms apart found' % (gap * 1000):<38} {got:6d}/{total:<4} "
              f"target all{'' if gap >= 0.04 else ' (stretch)'} {'ok' if got == total else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
