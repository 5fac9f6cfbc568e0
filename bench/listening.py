"""Listening bench: the `analyze` path scored on the corpus, with aubio and librosa beside it.

    .venv/bin/python scripts/make_corpus.py          # once: out/corpus (installs the soundfonts)
    .venv/bin/python bench/listening.py [--split scoring|tuning] [--corpus out/corpus] [--no-references]

Scores the **scoring** split by default (nothing is tuned on it; tune with --split tuning).
Figures, each beside its target: precision/recall/F1 at +-25 and +-50 ms over every tap clip;
false alarms per minute on the music-only clips; detection delay median/p95 in stream
samples (first emission's block end minus the true onset, the first sample at 5 % of the
hit's peak) at 48 kHz / 128 frames; CPU per audio second (process time of the whole analyze
path, and the detector alone on 1 and 4 channels); heel/toe accuracy over matched taps; tempo
within 4 % after the first 4 s of taps; pattern named; downbeat found where the pattern marks
it. aubio (streaming, hfc, 256/128) and librosa (offline onset_detect, hop 128) run on the same
clips in the same run (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dessins_de_planche.events import KIND_HEEL, KIND_TOE  # noqa: E402
from dessins_de_planche.listen.analyze import TEMPO_SETTLE_S, analyze_file  # noqa: E402
from dessins_de_planche.listen.detector import TapDetector  # noqa: E402
from dessins_de_planche.listen.synth import match_onsets  # noqa: E402

BLOCK = 128
KINDS = {"heel": KIND_HEEL, "toe": KIND_TOE}


class Tally:
    """Counts for one detector over the corpus."""

    def __init__(self):
        self.found = defaultdict(int)
        self.matched = defaultdict(int)
        self.truth = 0
        self.false_alarms = 0
        self.music_seconds = 0.0
        self.delays = []  # samples
        self.kinds_right = self.kinds_total = 0
        self.cpu = 0.0
        self.audio_seconds = 0.0
        self.by = defaultdict(lambda: [0, 0, 0])  # condition -> found, truth, matched (+-25 ms)

    def score(self, clip, times, detected_at=None, kinds=None):
        truth = np.array([t["time"] for t in clip["taps"]])
        if clip["music_only"]:
            self.false_alarms += len(times)
            self.music_seconds += clip["seconds"]
            return
        self.truth += len(truth)
        for tolerance in (0.025, 0.050):
            pairs, _, _ = match_onsets(times, truth, tolerance)
            self.found[tolerance] += len(times)
            self.matched[tolerance] += len(pairs)
            if tolerance == 0.025:
                for key in (f"ratio {clip['ratio_db']:+.0f} dB", f"level {clip['level_db']:+.0f} dBFS",
                            clip["pattern"]):
                    row = self.by[key]
                    row[0] += len(times)
                    row[1] += len(truth)
                    row[2] += len(pairs)
                if detected_at is not None and len(pairs):
                    sr = clip["sample_rate"]
                    self.delays.extend(np.rint((detected_at[pairs[:, 0]] - truth[pairs[:, 1]]) * sr))
                if kinds is not None and len(pairs):
                    true_kinds = np.array([KINDS[t["kind"]] for t in clip["taps"]])
                    self.kinds_right += int((kinds[pairs[:, 0]] == true_kinds[pairs[:, 1]]).sum())
                    self.kinds_total += len(pairs)

    def prf(self, tolerance):
        p = self.matched[tolerance] / max(self.found[tolerance], 1)
        r = self.matched[tolerance] / max(self.truth, 1)
        return p, r, 2 * p * r / max(p + r, 1e-9)

    @property
    def alarms_per_minute(self):
        return self.false_alarms / max(self.music_seconds, 1e-9) * 60.0


def run_ours(path, clip, tally, extra):
    start = time.process_time()
    result = analyze_file(path, block_size=BLOCK, calibration={})  # the defaults
    tally.cpu += time.process_time() - start
    tally.audio_seconds += result.duration
    taps = result.final_taps
    tally.score(clip, taps["time"], taps["detected_at"], taps["kind"])
    if clip["music_only"]:
        return
    extra["tempo"].append(result.tempo_bpm is not None and abs(result.tempo_bpm / clip["bpm"] - 1) <= 0.04)
    extra["tempo_detail"].append((clip["clip"], clip["bpm"], result.tempo_bpm))
    pattern = getattr(result, "pattern", None)
    extra["pattern"].append(pattern == clip["pattern_name"])
    extra["pattern_detail"].append((clip["clip"], clip["pattern_name"], pattern))
    if clip.get("downbeat_marked"):
        extra["downbeat"].append(downbeat_right(result, clip))


def downbeat_right(result, clip) -> bool:
    """The bar found starts on the marked beats (the strong right heel) in the clip's second half."""
    if result.downbeat is None or not result.bar_period:
        return False
    marked = np.array([t["time"] for t in clip["taps"] if t["downbeat"] and t["time"] > clip["seconds"] / 2])
    if not len(marked):
        return False
    phase = ((marked - result.downbeat) / result.bar_period) % 1.0
    return float(np.median(np.minimum(phase, 1.0 - phase))) < 0.1


def run_aubio(audio, sr, clip, tally):
    import aubio

    detector = aubio.onset("hfc", 256, BLOCK, sr)
    times, detected = [], []
    mono = np.ascontiguousarray(audio.mean(axis=1), dtype=np.float32)
    start = time.process_time()
    for i in range(0, len(mono) - BLOCK + 1, BLOCK):
        if detector(mono[i : i + BLOCK]):
            times.append(detector.get_last_s())
            detected.append((i + BLOCK) / sr)
    tally.cpu += time.process_time() - start
    tally.audio_seconds += len(mono) / sr
    tally.score(clip, np.array(times), np.array(detected))


def run_librosa(audio, sr, clip, tally):
    import librosa

    mono = audio.mean(axis=1)
    start = time.process_time()
    times = librosa.onset.onset_detect(y=mono, sr=sr, hop_length=BLOCK, units="time")
    tally.cpu += time.process_time() - start
    tally.audio_seconds += len(mono) / sr
    tally.score(clip, np.asarray(times))


def detector_cpu(audio: np.ndarray, sr: int, channels: int) -> float:
    """Process time per audio second of the detector alone, `channels` copies of the clip."""
    wide = np.ascontiguousarray(np.repeat(audio[:, :1], channels, axis=1), dtype=np.float32)
    blocks = [wide[i : i + BLOCK] for i in range(0, len(wide) - BLOCK + 1, BLOCK)]
    best = float("inf")
    for _ in range(3):
        detector = TapDetector(sr, range(channels), BLOCK)
        start = time.process_time()
        for i, block in enumerate(blocks):
            detector.process(block, i * BLOCK)
        best = min(best, time.process_time() - start)
    return best / (len(blocks) * BLOCK / sr)


def row(name, ours, target, better, refs=(), fmt="{:.3f}"):
    ok = ours is not None and (ours <= target if better == "lower" else ours >= target)
    ref_text = "  ".join(f"{label} {fmt.format(value) if value is not None else '—':>8}" for label, value in refs)
    shown = fmt.format(ours) if ours is not None else "—"
    print(f"  {name:<34} {shown:>9}  target {'<=' if better == 'lower' else '>='} {fmt.format(target):<7} "
          f"{'ok    ' if ok else 'MISSED'}  {ref_text}")


def main() -> int:
    import soundfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "out" / "corpus")
    parser.add_argument("--split", default="scoring", choices=["scoring", "tuning"])
    parser.add_argument("--no-references", action="store_true", help="skip aubio and librosa")
    parser.add_argument("--details", action="store_true", help="per-condition F1 and missed tempo/pattern")
    args = parser.parse_args()
    index_path = args.corpus / "index.json"
    if not index_path.exists():
        print(f"{index_path}: no corpus; make it with: .venv/bin/python scripts/make_corpus.py", file=sys.stderr)
        return 2
    clips = [c for c in json.loads(index_path.read_text())["clips"] if c["split"] == args.split]
    references = {}
    if not args.no_references:
        for name, runner in (("aubio", run_aubio), ("librosa", run_librosa)):
            try:
                __import__(name)
                references[name] = (runner, Tally())
            except ImportError:
                print(f"{name}: not installed (pip install -e '.[bench]'); its column is left out")
    ours = Tally()
    extra = defaultdict(list)
    cpu_audio = None
    for clip in clips:
        path = args.corpus / args.split / clip["clip"]
        full = json.loads(path.with_suffix(".json").read_text())
        run_ours(str(path), full, ours, extra)
        audio, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        if cpu_audio is None and not full["music_only"]:
            cpu_audio = (audio, sr)
        for runner, tally in references.values():
            runner(audio, sr, full, tally)

    taps_clips = sum(not c["music_only"] for c in clips)
    print(f"Corpus {args.corpus} split '{args.split}': {taps_clips} tap clips ({ours.truth} taps), "
          f"{len(clips) - taps_clips} music-only clips ({ours.music_seconds:.0f} s); {BLOCK}-frame blocks")
    print(f"  {'figure':<34} {'ours':>9}  {'target':<17} {'':6}  " + "  ".join(f"{n:>14}" for n in references))
    refs = lambda f: [(n, f(t)) for n, (_, t) in references.items()]  # noqa: E731
    for tolerance in (0.025, 0.050):
        ms = int(tolerance * 1000)
        p, r, f = ours.prf(tolerance)
        row(f"precision +-{ms} ms", p, 0.93, "higher", refs(lambda t: t.prf(tolerance)[0]))
        row(f"recall +-{ms} ms", r, 0.93, "higher", refs(lambda t: t.prf(tolerance)[1]))
        row(f"F1 +-{ms} ms", f, 0.93, "higher", refs(lambda t: t.prf(tolerance)[2]))
    row("false alarms / min (music only)", ours.alarms_per_minute, 5.0, "lower",
        refs(lambda t: t.alarms_per_minute), "{:.1f}")
    to_ms = lambda samples, q: float(np.percentile(samples, q)) / 48.0 if len(samples) else None  # noqa: E731
    stream_refs = lambda q: [(n, to_ms(t.delays, q)) for n, (_, t) in references.items() if n == "aubio"]  # noqa: E731
    row("delay median (ms @48k, samples/48)", to_ms(ours.delays, 50), 6.0, "lower", stream_refs(50), "{:.2f}")
    row("delay p95 (ms @48k)", to_ms(ours.delays, 95), 10.0, "lower", stream_refs(95), "{:.2f}")
    row("CPU analyze path (s per audio s)", ours.cpu / max(ours.audio_seconds, 1e-9), 0.025, "lower",
        refs(lambda t: t.cpu / max(t.audio_seconds, 1e-9)), "{:.4f}")
    if cpu_audio is not None:
        row("CPU detector, 1 channel", detector_cpu(*cpu_audio, 1), 0.025, "lower", (), "{:.4f}")
        row("CPU detector, 4 channels", detector_cpu(*cpu_audio, 4), 0.05, "lower", (), "{:.4f}")
    row("heel/toe right (matched taps)", ours.kinds_right / max(ours.kinds_total, 1), 0.92, "higher")
    row("tempo within 4% after 4 s (clips)", float(np.mean(extra["tempo"])), 0.90, "higher")
    row("pattern named (clips)", float(np.mean(extra["pattern"])), 0.85, "higher")
    if extra["downbeat"]:
        row("downbeat found (ti-galop clips)", float(np.mean(extra["downbeat"])), 1.0, "higher")
    if args.details:
        print("\nF1 +-25 ms by condition (ours):")
        for key in sorted(ours.by):
            found, truth, matched = ours.by[key]
            p, r = matched / max(found, 1), matched / max(truth, 1)
            print(f"  {key:<20} P {p:.3f} R {r:.3f} F1 {2 * p * r / max(p + r, 1e-9):.3f}")
        for name, truth, got in extra["tempo_detail"]:
            if got is None or abs(got / truth - 1) > 0.04:
                print(f"  tempo missed: {name} truth {truth:.1f} got {got}")
        for name, truth, got in extra["pattern_detail"]:
            if truth != got:
                print(f"  pattern missed: {name} truth {truth} got {got}")
    print(f"\n(TEMPO_SETTLE_S = {TEMPO_SETTLE_S} s; delay in stream samples, so machine speed does not move it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
