#!/usr/bin/env python3
"""Train the tap detector's stage B (confirm or withdraw, heel or toe) on stage A's own candidates.

    .venv/bin/python scripts/train_detector.py                       # out/corpus -> the shipped weights
    .venv/bin/python scripts/train_detector.py --leave-out FAMILY    # one fold: out/detector/folds/FAMILY.npz
    .venv/bin/python scripts/train_detector.py --folds               # every fold, then the shipped weights
    .venv/bin/python scripts/train_detector.py --folds --kind-only   # only the heel/toe word, into them all

Stage A (the rules of `listen.detector`) runs over every clip of the corpus exactly as it does
live (`--train-lower N[,M...]`: N logits more sensitive, so that stage B learns from more of the
quiet taps and of the music's onsets near stage A's line than live gives it, the candidates of
each lowering listed side by side; shipped: 0,1; docs/corpus.md, attempts 79-81); each candidate it fires is
matched to the true taps (within +-25 ms, one to one): a match is a foot with its true kind,
anything else is a false alarm. Stage B's features are the
ones the live detector computes at its decision (`listen.confirm`), recorded by the detector
itself, so training and the show see the same numbers. Each candidate's spectral features are
read twice over: as they are, and less their mean over its clip's last 32 candidates
(`listen.memory`: what this board, room and mic sound like, as the live detector remembers
them). The model: a perceptron (180 inputs -> 56 -> 32 -> none/heel/toe, ReLU), trained in
numpy with Adam on a class-balanced cross entropy, seeded: the same corpus and seed give the
same weights, bit for bit, on any CPU.
The withdraw threshold is the one that gives the best F1 on the training families, out of
fold (each half of the clips scored by a model trained on the other half). Beside it, a
logistic regression reads each true foot beside the feet before it in its clip (`fit_kind`,
`listen.foot_kind`): its heel-or-toe log-odds are added to the perceptron's. With
`--generated-negatives W`, each false candidate of the app's own clips (its synthesizer's music,
hum, buzz) weighs W times another (shipped: 3; docs/corpus.md, attempts 80-81); then, with
`--family-balanced` (shipped), each family of the corpus weighs as much as another, the app's own
clips keeping their share (attempt 94).

Every clip of the corpus is also heard played at 0.8 and 1.25 times its speed (`--speeds`,
`played_at`): each tap and note a third lower or higher, longer or shorter — sounds the corpus
does not have, for training only; a family's fold leaves out its clips at every speed, and only
the clips as recorded are scored.

Dependencies: numpy, soundfile and scipy (the `train` extra names them); nothing here is needed
to run the app. Candidates are cached per corpus and lowerings in
out/detector/<corpus>[+lower0,1]-candidates.npz (`candidates_cache`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus import splits  # noqa: E402
from dessins_de_planche.listen import confirm, memory  # noqa: E402
from dessins_de_planche.listen.detector import TapDetector  # noqa: E402
from dessins_de_planche.listen.synth import match_onsets  # noqa: E402

TRAIN_VERSION = "t6"  # t2: candidates of the learned stage A, per fold; t3: the corpus played at other speeds
# too; t4: the app's taps alone, in digital silence or nearly (`alone_clips`); t5: each candidate also
# beside the channel's recent ones (`listen.memory`); t6: heel or toe also beside the channel's recent feet
# (`listen.foot_kind`)
SPEEDS = "0.8,1.25"  # the corpus is also played at these speeds (`played_at`)
# stage B learns the candidates of its own stage A and of one a logit more sensitive side by side
# (`--train-lower`), the app's own false candidates weighing three times another
# (`--generated-negatives`): F1 +0.004 and 2.6 fewer false alarms a minute on families left out,
# live, and half the taps drawn on a channel that hears only the app's band (docs/corpus.md,
# attempts 79-81)
TRAIN_LOWER = "0,1"
GENERATED_NEGATIVES = 3.0
# each family of the corpus weighs as much as another in stage B's training, the app's own clips
# keeping their share (`--family-balanced`): 22.9 -> 16.6 false alarms a minute on music left out,
# live, at the same F1 (docs/corpus.md, attempt 94)
FAMILY_BALANCED = True
HIDDEN = (56, 32)
BLOCK = 128
TOLERANCE = 0.025
KINDS = {"heel": 1, "toe": 2}


# -- the corpus ----------------------------------------------------------------
def corpus_clips(corpus: Path) -> tuple[list[dict], str]:
    """Every clip of the corpus as {name, path, family, music_only, taps...}; and the corpus's
    version (its own, or a hash of its index)."""
    index_path = corpus / "index.json"
    raw = index_path.read_bytes()
    index = json.loads(raw)
    version = str(index.get("version") or hashlib.sha1(raw).hexdigest()[:10])
    clips = []
    for entry in index["clips"]:
        name = entry.get("name") or Path(entry["clip"]).stem
        candidates = [corpus / f"{name}.flac"]
        if "split" in entry and "clip" in entry:
            candidates.append(corpus / entry["split"] / entry["clip"])
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise FileNotFoundError(f"{index_path}: clip {name!r} has no audio at {candidates[0]}")
        truth = json.loads(path.with_suffix(".json").read_text())
        family = entry.get("family") or truth.get("family") or entry.get("source") or "unknown"
        music_family = entry.get("music_family", truth.get("music_family"))
        clips.append({**truth, "name": name, "path": str(path), "family": str(family),
                      "music_family": "" if music_family is None else str(music_family),
                      "music_only": bool(entry.get("music_only", truth.get("music_only")))})
    return clips, version


def corpora_clips(corpora=None) -> tuple[list[dict], str]:
    """`corpus_clips` of several corpora (default: out/corpus alone), one after another; their
    versions joined with '+' (how the weights' stamp names them)."""
    clips, versions = [], []
    for corpus in corpora or [ROOT / "out" / "corpus"]:
        more, version = corpus_clips(corpus)
        clips += more
        versions.append(version)
    return clips, "+".join(versions)


GENERATED_SEED = 10_000  # the app's own generator (`listen.synth`), seeds no test uses


def generated_clips(count: int) -> list[dict]:
    """Clips of the app's own synthesizer as one more family, `generated`: podorhythm over its
    fiddle and boom-chick at random levels, ratios and white noise floors (and music alone)."""
    clips = []
    for i in range(count):
        rng = np.random.default_rng([GENERATED_SEED, i])
        clips.append({"name": f"generated-{i:03d}", "family": "generated", "music_family": "generated",
                      "music_only": i % 6 == 5,
                      "generated": {**_rhythm(rng), "seed": GENERATED_SEED + i,
                                    "level_db": float(rng.uniform(-45, -1)),
                                    "ratio_db": float(rng.uniform(-8, 14)),
                                    "noise_db": float(rng.uniform(-90, -55))}})
    return clips


def _rhythm(rng) -> dict:
    """Eight seconds of the app's podorhythm at a random tempo, two, three or four taps a beat
    (a synthesized clip's first draws from its own seed)."""
    per_beat = int(rng.choice([2, 3, 4]))
    pattern = [("heel", "toe"), ("Heel", "toe", "toe"), ("Heel", "toe", "heel", "toe")][per_beat - 2]
    return {"seconds": 8.0, "bpm": float(rng.uniform(90, 160)), "per_beat": per_beat, "pattern": pattern}


ALONE_SEED = 40_000


def alone_clips(count: int) -> list[dict]:
    """Clips of the app's own taps with nothing else (part of the family `generated`): half of
    them in digital silence (a file, a noise gate, a silent JACK port), half over a floor far
    under the corpus's. Every training clip had music or a floor at -90 dBFS or more, so over
    zeros everything before a hit was new to stage B, and it withdrew toes there."""
    clips = []
    for i in range(count):
        rng = np.random.default_rng([ALONE_SEED, i])
        clips.append({"name": f"alone-{i:03d}", "family": "generated", "music_family": "generated",
                      "music_only": False,
                      "generated": {**_rhythm(rng), "seed": ALONE_SEED + i, "music": False,
                                    "level_db": float(rng.uniform(-45, -1)), "ratio_db": 0.0,
                                    "noise_db": None if i % 2 == 0 else float(rng.uniform(-120, -90))}})
    return clips


DOUBLED_SEED = 50_000


def doubled_clips(count: int) -> list[dict]:
    """Clips of the app's own heels and toes in flams and doubles, 25-60 ms apart, between single
    taps (part of the family `generated`), over digital silence or a low floor. Stage B reads a
    hit beside the channel's recent ones (`listen.memory`); where every other hit was a clean
    single tap, the second of a double sounded new, and it was withdrawn."""
    return [{"name": f"doubled-{i:03d}", "family": "generated", "music_family": "generated", "music_only": False,
             "doubled": {"seconds": 8.0, "seed": DOUBLED_SEED + i}} for i in range(count)]


def doubled_audio(seconds: float, seed: int, sr: int = 48_000):
    from dessins_de_planche.listen.synth import heel_sound, toe_sound, true_onset

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    audio = np.zeros(n + sr, np.float32)
    if rng.random() < 0.5:
        audio += (10 ** (rng.uniform(-120, -60) / 20) * rng.standard_normal(len(audio))).astype(np.float32)
    level = 10 ** (rng.uniform(-40, -3) / 20)
    gap = 60.0 / rng.uniform(90, 160) / int(rng.choice([2, 3, 4]))  # the grid's slot
    truth, at = [], float(rng.uniform(0.2, 0.6))
    while at < seconds - 0.3:
        hits = [(at, rng.random() < 0.5, 1.0)]
        if rng.random() < 0.4:  # a flam or a double: a second hit, maybe softer, of either kind
            hits.append((at + rng.uniform(0.025, 0.060), rng.random() < 0.5, rng.uniform(0.5, 1.0)))
        for when, heel, gain in hits:
            hit = (heel_sound if heel else toe_sound)(rng, sr) * level * gain * rng.uniform(0.6, 1.0)
            start = int(when * sr)
            audio[start : start + len(hit)] += hit
            truth.append({"time": (start + true_onset(hit)) / sr, "kind": "heel" if heel else "toe"})
        at += gap * int(rng.integers(1, 3))
    return np.clip(audio[:n], -1, 1)[:, None], truth


STEADY_SEED = 20_000


def steady_clips(count: int) -> list[dict]:
    """Clips with no tap at all, of the steady sounds a room and a rig add (part of the family
    `generated`): mains hum at 48-62 Hz with random harmonics (a buzz's too), loud or faint,
    drifting slowly, over DC and a noise floor, sometimes beside a held tone. A detector that
    fires on them is deaf for its trouble (and its word is withdrawn many times a minute)."""
    return [{"name": f"steady-{i:03d}", "family": "generated", "music_family": "generated", "music_only": True,
             "steady": {"seconds": 8.0, "seed": STEADY_SEED + i, "version": 2}} for i in range(count)]


def steady_audio(seconds: float, seed: int, sr: int = 48_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = float(rng.uniform(48, 62))
    hum = np.zeros_like(t)
    for harmonic in range(1, int(rng.integers(1, 12)) + 1):  # a pure hum too
        hum += rng.uniform(0, 1) / harmonic ** rng.uniform(0, 2) * np.sin(2 * np.pi * f0 * harmonic * t
                                                                             + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.3:  # a buzz: a rectified hum, every even harmonic
        hum = np.abs(hum) - np.abs(hum).mean()
    drift = 1 + rng.uniform(0, 0.4) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t)
    peak = 10 ** (rng.uniform(-50, -6) / 20)
    audio = hum * drift * peak / max(float(np.abs(hum).max()), 1e-9)
    if rng.random() < 0.3:
        audio += 10 ** (rng.uniform(-40, -10) / 20) * np.sin(2 * np.pi * float(rng.uniform(100, 8000)) * t)
    audio += rng.uniform(-0.3, 0.3) * (rng.random() < 0.5)  # DC
    audio += 10 ** (rng.uniform(-90, -50) / 20) * rng.standard_normal(len(t))
    return np.clip(audio, -1, 1).astype(np.float32)[:, None]


RANDOMIZED_SEED = 30_000


def randomized_clips(count: int) -> list[dict]:
    """Clips of taps of widely random timbre (part of the family `generated`, never scored): so
    that both stages learn "a broadband transient" rather than the corpus families' sounds.
    Every sixth is music alone, with pitched attacks among its notes (negatives)."""
    return [{"name": f"randomized-{i:03d}", "family": "generated", "music_family": "generated",
             "music_only": i % 6 == 5, "randomized": {"seconds": 8.0, "seed": RANDOMIZED_SEED + i, "version": 1}}
            for i in range(count)]


def _shaped_noise(rng, n: int, sr: int, centre: float, octaves: float, tilt: float) -> np.ndarray:
    """White noise whose spectrum is a bell `octaves` wide (log frequency) around `centre`,
    tilted by `tilt` dB an octave, peak 1."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / sr), 1.0)
    lf = np.log2(f / centre)
    spectrum *= np.exp(-0.5 * (lf / (octaves / 2.355)) ** 2) * 10 ** (tilt * lf / 20)
    spectrum[f < 20] = 0.0
    out = np.fft.irfft(spectrum, n)
    return out / (np.abs(out).max() + 1e-12)


def randomized_hit(rng, sr: int, centre: float, decay: float) -> np.ndarray:
    """A transient of random timbre, peak 1: a noise burst shaped around `centre` Hz and/or a
    few damped modes near it, a 0-3 ms attack, an exponential decay of `decay` s."""
    attack = rng.uniform(0.0, 0.003)
    n = int((attack + min(6 * decay, 0.6) + 0.002) * sr)
    t = np.arange(n) / sr
    env = np.minimum(1.0, t / attack) if attack > 1e-4 else np.ones(n)
    env = env * np.exp(-np.maximum(t - attack, 0) / decay)
    mix = rng.uniform(0, 1) if rng.random() < 0.6 else float(rng.random() < 0.5)
    hit = np.zeros(n)
    if mix < 1:
        hit += (1 - mix) * _shaped_noise(rng, n, sr, centre, rng.uniform(0.5, 4.0), rng.uniform(-6, 3))
    if mix > 0:
        modes = np.zeros(n)
        for _ in range(int(rng.integers(1, 7))):
            f = min(centre * 2 ** rng.normal(0, 0.8), 0.45 * sr)
            modes += rng.uniform(0.2, 1) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) \
                * np.exp(-t / (decay * rng.uniform(0.3, 1.5)))
        hit += mix * modes / (np.abs(modes).max() + 1e-12)
    hit *= env
    tail = min(n, int(0.004 * sr))
    hit[n - tail :] *= np.linspace(1, 0, tail)
    return hit / (np.abs(hit).max() + 1e-12)


def _harmonic(rng, freq: float, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    out = np.zeros(n)
    rolloff = rng.uniform(0.7, 2.0)
    for k in range(1, int(rng.integers(3, 16)) + 1):
        if k * freq >= 0.45 * sr:
            break
        out += np.sin(2 * np.pi * k * freq * t * (1 + 0.0005 * rng.standard_normal())) / k ** rolloff
    return out


def randomized_music(rng, n: int, sr: int, pitched: bool) -> np.ndarray:
    """Fiddle-like bowed notes (soft attacks, vibrato-free), a boom-chick, and (`pitched`) notes
    of hard pitched attacks (piano, guitar, a plucked string): harmonic, 1-5 ms attacks."""
    out = np.zeros(n)
    bpm = rng.uniform(90, 160)
    beat = 60 / bpm
    if rng.random() < 0.8:  # bowed
        step = beat / rng.choice([2, 4])
        for j in range(int(n / sr / step) + 1):
            at = int(j * step * sr)
            m = min(int((step + 0.03) * sr), n - at)
            if m <= 0 or rng.random() < 0.1:
                continue
            tt = np.arange(m) / sr
            env = np.minimum(1, tt / rng.uniform(0.005, 0.03)) * np.minimum(1, (m - np.arange(m)) / (0.02 * sr))
            out[at : at + m] += _harmonic(rng, 440 * 2 ** ((rng.integers(55, 88) - 69) / 12), m, sr) * env
    if rng.random() < 0.7:  # boom-chick
        for j in range(int(n / sr / (beat / 2)) + 1):
            at = int(j * beat / 2 * sr)
            m = min(int(0.6 * sr), n - at)
            if m <= 0:
                continue
            tt = np.arange(m) / sr
            midi = rng.integers(33, 48) if j % 2 == 0 else rng.integers(50, 70)
            env = np.minimum(1, tt / rng.uniform(0.002, 0.006)) * np.exp(-tt / rng.uniform(0.1, 0.4))
            out[at : at + m] += _harmonic(rng, 440 * 2 ** ((midi - 69) / 12), m, sr) * env * rng.uniform(0.3, 0.9)
    if pitched or rng.random() < 0.3:  # hard pitched attacks at random times
        for _ in range(int(rng.uniform(1, 6) * n / sr)):
            at = int(rng.uniform(0, n / sr) * sr)
            m = min(int(rng.uniform(0.2, 1.2) * sr), n - at)
            tt = np.arange(m) / sr
            env = np.minimum(1, tt / rng.uniform(0.0005, 0.005)) * np.exp(-tt / rng.uniform(0.08, 0.8))
            note = sum(_harmonic(rng, 440 * 2 ** ((rng.integers(40, 96) - 69) / 12), m, sr)
                       for _ in range(int(rng.integers(1, 4))))
            out[at : at + m] += note * env * rng.uniform(0.3, 1.0)
    return out


def randomized_audio(spec: dict, sr: int = 48_000, music_only: bool = False):
    """(audio (frames, 1) float32, true taps [{time, kind}]) of one randomized clip.

    Heel and toe as the corpus defines them (docs/corpus.md): a heel is the low, longer thump
    of the pair, a toe the bright, short one. Each clip draws its own two timbres (centres
    150 Hz-1.2 kHz and 0.8-8 kHz, the toe at least an octave above the heel) and each tap
    varies around them; accents -14..0 dB, flams 25-60 ms, music at -10..+20 dB under the
    taps, a room (exponential noise tail, RT60 0.1-1.2 s), a gain, a noise floor, hum, DC."""
    from dessins_de_planche.listen.synth import true_onset

    rng = np.random.default_rng(spec["seed"])
    n = int(spec["seconds"] * sr)
    taps = np.zeros(n + sr)
    truth = []
    if not music_only:
        heel_c = float(np.exp(rng.uniform(np.log(150), np.log(1200))))
        toe_c = float(np.exp(rng.uniform(np.log(max(800, 2 * heel_c)), np.log(8000))))
        heel_d, toe_d = rng.uniform(0.02, 0.15), rng.uniform(0.005, 0.06)
        spread = rng.uniform(0.0, 0.5)  # octaves a tap strays from its kind's timbre
        p_toe = rng.uniform(0.2, 0.8)
        step = 1 / rng.uniform(4, 10)
        quiet = rng.uniform(-14, -2)  # unaccented taps under the accented ones
        when = rng.uniform(0.3, 1.5)
        i = 0
        while when < spec["seconds"] - 0.05:
            if rng.random() > 0.12:  # a rest now and then
                kind = "toe" if rng.random() < p_toe else "heel"
                centre = (toe_c if kind == "toe" else heel_c) * 2 ** rng.normal(0, spread)
                decay = (toe_d if kind == "toe" else heel_d) * rng.uniform(0.7, 1.4)
                gain_db = rng.uniform(-2, 0) if i % int(rng.integers(2, 5)) == 0 else quiet + rng.uniform(-2, 2)
                hits = [(when, kind, centre, decay, gain_db)]
                if rng.random() < 0.1:  # a flam or a double
                    k2 = kind if rng.random() < 0.5 else ("heel" if kind == "toe" else "toe")
                    hits.append((when + rng.uniform(0.025, 0.06), k2, (toe_c if k2 == "toe" else heel_c),
                                 decay, gain_db + rng.uniform(-8, 2)))
                for t0, k, c, d, g in hits:
                    hit = randomized_hit(rng, sr, float(np.clip(c, 100, 12000)), float(np.clip(d, 0.004, 0.2)))
                    at = int(t0 * sr)
                    m = min(len(hit), len(taps) - at)
                    taps[at : at + m] += hit[:m] * 10 ** (min(g, 0) / 20)
                    if t0 < spec["seconds"]:
                        truth.append({"time": (at + true_onset(hit)) / sr, "kind": k})
            when += step * (1 + rng.normal(0, 0.04))
            i += 1
    taps = taps[:n]
    music = randomized_music(rng, n, sr, pitched=music_only or rng.random() < 0.5)
    if music_only:
        audio = music
    else:
        audio = taps
        if rng.random() < 0.85:  # taps over music at -10..+20 dB (RMS over the clip)
            scale = np.sqrt(np.mean(taps ** 2) / (np.mean(music ** 2) + 1e-24)) / 10 ** (rng.uniform(-10, 20) / 20)
            audio = taps + music * scale
    if rng.random() < 0.5:  # a room: the direct sound, then an exponential tail of noise
        rt60 = rng.uniform(0.1, 1.2)
        m = int(min(rt60, 1.0) * sr)
        t = np.arange(m) / sr
        ir = rng.standard_normal(m) * np.exp(-6.9 * t / rt60) * np.minimum(1, t / 0.005)
        ir *= 10 ** (rng.uniform(-12, 6) / 20) / np.sqrt(np.sum(ir ** 2))
        ir[0] = 1.0
        size = 1 << int(np.ceil(np.log2(n + m)))
        audio = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(ir, size), size)[:n]
    audio = audio / (np.abs(audio).max() + 1e-12) * 10 ** (rng.uniform(-40, -1) / 20)
    t = np.arange(n) / sr
    audio += 10 ** (rng.uniform(-90, -45) / 20) * rng.standard_normal(n)
    if rng.random() < 0.4:
        f0 = rng.choice([50.0, 60.0])
        audio += sum(10 ** (rng.uniform(-70, -35) / 20) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3))
                     for h in range(1, int(rng.integers(1, 6)) + 1))
    if rng.random() < 0.3:
        audio += rng.uniform(-0.1, 0.1)
    return np.clip(audio, -1, 1).astype(np.float32)[:, None], sorted(truth, key=lambda x: x["time"])


def clip_audio(clip: dict):
    """(audio (frames, 1) float32, sample rate, true taps [{time, kind}])."""
    if "randomized" in clip:
        audio, truth = randomized_audio(clip["randomized"], music_only=clip["music_only"])
        return audio, 48_000, truth
    if "steady" in clip:
        return steady_audio(clip["steady"]["seconds"], clip["steady"]["seed"]), 48_000, []
    if "doubled" in clip:
        audio, truth = doubled_audio(clip["doubled"]["seconds"], clip["doubled"]["seed"])
        return audio, 48_000, truth
    if "generated" in clip:
        from dessins_de_planche.listen.synth import podorhythm

        g = clip["generated"]
        audio, truth = podorhythm(g["seconds"], 48_000, g["bpm"], g["per_beat"], g["pattern"], seed=g["seed"],
                                  music=g.get("music", True), level_db=g["level_db"],
                                  tap_to_music_db=g["ratio_db"], noise_db=g["noise_db"],
                                  taps_from=(g["seconds"] + 1) if clip["music_only"] else 1.0)
        names = {1: "heel", 2: "toe"}
        return audio, 48_000, [{"time": float(t["time"]), "kind": names[int(t["kind"])]} for t in truth]
    import soundfile

    audio, sr = soundfile.read(clip["path"], dtype="float32", always_2d=True)
    audio, taps = np.ascontiguousarray(audio[:, :1]), clip.get("taps", [])
    if clip.get("speed", 1.0) != 1.0:
        from scipy.signal import resample_poly

        up, down = speed_ratio(clip["speed"])
        audio = np.ascontiguousarray(resample_poly(audio[:, 0], up, down)[:, None], np.float32)
        taps = [{**t, "time": float(t["time"]) * up / down} for t in taps]
    return audio, sr, taps


def speed_ratio(speed: float) -> tuple[int, int]:
    """A clip played at `speed` is resampled by up / down (its length times 1 / speed)."""
    ratio = Fraction(1.0 / speed).limit_denominator(40)
    return ratio.numerator, ratio.denominator


def speeds_of(text: str) -> list[float]:
    """`--speeds` ("0.8,1.25") as numbers; "" for the corpus alone."""
    return [float(v) for v in text.split(",") if v.strip()]


def speeds_tag(speeds) -> str:
    """The speeds in a weights stamp: '+speed0.8+speed1.25' ('' for the corpus alone)."""
    return "".join(f"+speed{v:g}" for v in speeds if v != 1.0)


def played_at(clips: list[dict], speeds) -> list[dict]:
    """Every clip of the corpus played faster or slower as well: every tap and every note
    higher and shorter, or lower and longer — drums and instruments the corpus does not have,
    for training only (a family's clips at every speed stay out of its fold, and only the
    clips as recorded are scored). Speed 1.0 is the corpus itself."""
    out = list(clips)
    for speed in speeds:
        if float(speed) != 1.0:
            out += [{**c, "name": f"{c['name']}@{float(speed):g}", "speed": float(speed)} for c in clips]
    return out


def stage_a_models(folds_dir: Path, families: list[str], shipped=None) -> dict:
    """Stage A's weights for each fold (trained without that family) and the shipped ones
    ("" key; `shipped`: another file): stage B's candidates in a fold are the ones its own
    stage A fires."""
    from dessins_de_planche.listen import onset

    models = {"": onset.load_weights(shipped)}
    for family in families:
        weights = onset.load_weights(folds_dir / f"{family}.stage_a.npz")
        if weights is not None:
            models[family] = weights
    return models


def lowerings_of(text: str) -> list[float]:
    """`--train-lower`'s logits (an argparse type): '0' (the live candidates alone), '1', '0,1' ..."""
    try:
        lowers = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        lowers = []
    if not lowers or len(set(lowers)) != len(lowers):
        raise argparse.ArgumentTypeError(f"{text!r}: one or more different logits, as 0 or 0,1")
    return lowers


def lowering_tag(lowers) -> str:
    """The lowerings' mark in the corpus version and the cache's name ('' for the live candidates alone)."""
    return "" if list(lowers) == [0] else "+lower" + ",".join(f"{v:g}" for v in lowers)


def not_excluded(data: dict, exclude) -> np.ndarray:
    """Which clips of the candidates' cache (`collect`) `--exclude` leaves to train on: none of an
    excluded family's own, and, for an excluded music family, none of the taps over its music
    either (a run as if its soundfont had never been built, on the same cache)."""
    families = np.array([str(f) for f in data["families"]])
    return ~np.isin(families[data["family"]], list(exclude)) & ~np.isin(data["music_family"], list(exclude))


def candidates_cache(corpus_names=("corpus",), lowers=None) -> Path:
    """Where the candidates of these corpora at these lowerings are cached (`collect`); by default,
    the shipped recipe's: every bench that replays stage B reads its live candidates there."""
    lowers = lowerings_of(TRAIN_LOWER) if lowers is None else lowers
    return ROOT / "out" / "detector" / f"{'+'.join(corpus_names)}{lowering_tag(lowers)}-candidates.npz"


def lowered_name(name: str, logits: float) -> str:
    """A stage A model's name in the cache when it fires `logits` under its threshold."""
    return name if logits == 0 else f"{name}-lower{logits:g}"


def lowered(models: dict, lowers) -> dict:
    """Stage A's models firing each of `lowers` logits under their own thresholds (`--train-lower`):
    stage B's lessons from a more sensitive stage A than the one it hears live. The models are not
    changed."""
    return {lowered_name(name, logits): {**weights, "threshold": np.float64(weights["threshold"]) - logits}
            for logits in lowers for name, weights in models.items()}


def candidates_of(job) -> dict:
    """Each stage A model's candidates in one clip, with stage B's features and labels.

    Stage A's band state and the sample history it keeps do not depend on where taps fired,
    so one pass of the detector records both, and each model's firing is replayed on them
    (`train_stage_a.fire`, the live rule); stage B's features are then read from that history
    exactly as the live detector reads them at its decision (checked by
    tests/test_detector.py::test_training_replays_the_live_candidates)."""
    clip, models = job
    from dessins_de_planche.listen import onset
    from dessins_de_planche.listen.detector_settings import DetectorSettings
    from train_stage_a import fired_hops, hop_state

    audio, sr, truth = clip_audio(clip)
    detector = TapDetector(sr, [0], block_size=BLOCK, weights=False,
                           settings=DetectorSettings(stage_b=False, learned_onset=False, onset_db=1e9))
    detector.collect_hops = rows = []
    size = 1 << int(np.ceil(np.log2(len(audio) + detector.reach + 4 * BLOCK)))
    history = np.zeros(size, np.float32)  # as the detector's own: DC removed, zeros before the start
    for start in range(0, len(audio), BLOCK):
        block = audio[start : start + BLOCK]
        detector.process(block, start)
        history[start : start + len(block)] = detector.front.clean[: len(block), 0]
    state = hop_state(rows, detector, truth)
    stage_b = confirm.StageB(sr, None)
    times = np.array([t["time"] for t in truth])
    out = {"seconds": len(audio) / sr, "truth": len(truth)}
    for name, weights in models.items():
        hops = fired_hops(state, onset.scores(weights, state["x"]), float(weights["threshold"]))
        onsets = np.round(state["est"][hops] * sr).astype(np.int64)
        x = np.zeros((len(onsets), confirm.FEATURES), np.float32)
        for i, at in enumerate(onsets):
            x[i] = stage_b.features(history, size - 1, int(at))
        label = np.zeros(len(onsets), np.int8)
        if len(times) and len(onsets):
            pairs, _, _ = match_onsets(onsets / sr, times, TOLERANCE)
            for got, true in pairs:
                label[got] = KINDS.get(truth[true]["kind"], 1)
        out[name] = {"x": x, "label": label, "time": onsets / sr}
    return out


def map_clips(function, work: list, jobs: int) -> list:
    """`function` of each item of `work`, in `jobs` processes (a clip's detection is the slow part)."""
    if jobs <= 1:
        return [function(item) for item in work]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(function, work, chunksize=2))


def collect(clips: list[dict], cache: Path, version: str, jobs: int, models: dict) -> dict:
    """Every clip's candidates per stage A model, cached: {model: {x, label, clip}, ...}."""
    from dataclasses import asdict

    from dessins_de_planche.listen import detector, front_end
    from dessins_de_planche.listen.detector_settings import DetectorSettings

    rules = hashlib.sha1(repr(sorted(asdict(DetectorSettings()).items())).encode()).hexdigest()[:8]
    code = hashlib.sha1(b"".join(Path(m.__file__).read_bytes() for m in (confirm, detector, front_end)))
    stamps = hashlib.sha1(repr(sorted((k, w["stamp"], float(w["threshold"])) for k, w in models.items())).encode())
    key = (f"{version}-{confirm.FEATURES}-{TRAIN_VERSION}-{rules}-{code.hexdigest()[:8]}-"
           f"{stamps.hexdigest()[:8]}")
    found = None
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                found = {k: data[k] for k in data.files}
    if found is not None:
        if "negative" not in found:  # written before `negative` was kept: the same clips, in this order
            found["negative"] = clip_negatives(clips)
            np.savez_compressed(cache, **found)
            print(f"{cache}: each clip's negative added (audience clapping, counted apart)", file=sys.stderr)
        return found
    started = time.monotonic()
    results = map_clips(candidates_of, [(c, models) for c in clips], jobs)
    families = sorted({c["family"] for c in clips})
    out = {
        "key": np.array(key),
        "family": np.array([families.index(c["family"]) for c in clips], np.int32),
        "families": np.array(families),
        "music_family": np.array([c.get("music_family") or "" for c in clips]),
        "music_only": np.array([c["music_only"] for c in clips]),
        "negative": clip_negatives(clips),
        "speed": np.array([c.get("speed", 1.0) for c in clips]),  # not 1: trained on, never scored
        "seconds": np.array([r["seconds"] for r in results]),
        "truth": np.array([r["truth"] for r in results]),
    }
    for name in models:
        tag = name or "all"
        out[f"x.{tag}"] = np.concatenate([r[name]["x"] for r in results])
        out[f"label.{tag}"] = np.concatenate([r[name]["label"] for r in results])
        out[f"time.{tag}"] = np.concatenate([r[name]["time"] for r in results])  # each candidate's onset (s)
        out[f"clip.{tag}"] = np.concatenate([np.full(len(r[name]["label"]), i, np.int32)
                                             for i, r in enumerate(results)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **out)
    print(f"stage A candidates of {len(models)} models in {len(clips)} clips "
          f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return out


def clip_negatives(clips: list[dict]) -> np.ndarray:
    """Each clip's hard negative over its music ("clapping": an audience clapping along; "" for none)."""
    return np.array([c.get("negative") or "" for c in clips])


def clapping_clips(data: dict) -> np.ndarray:
    """Which clips of a candidates' cache (`collect`) hold audience clapping: the issue's "music
    alone" leaves them out, and the reports give their rate beside it. A cache written before
    `collect` kept each clip's `negative` marks none, and says so (`collect` adds it)."""
    if "negative" not in data:
        print("  (a cache without each clip's negative: music FA/min counts the audience-clapping clips in; "
              "scripts/train_detector.py --folds adds it)", flush=True)
        return np.zeros(len(data["seconds"]), bool)
    return data["negative"] == "clapping"


def for_model(data: dict, name: str) -> dict:
    """The candidates of one stage A model, as fit() and report() read them."""
    tag = name or "all"
    if f"x.{tag}" not in data:
        held = ", ".join(sorted(k[2:] for k in data if k.startswith("x.")))
        raise SystemExit(f"no candidates of stage A model {tag!r} in this cache (it holds {held}): "
                         "collect them with scripts/train_detector.py --train-lower")
    return {**data, "x": data[f"x.{tag}"], "label": data[f"label.{tag}"], "clip": data[f"clip.{tag}"],
            "time": data[f"time.{tag}"]}


def with_memory(fold: dict, remembered, prior, size: int = memory.SIZE,
                prior_weight: float = memory.PRIOR_WEIGHT) -> np.ndarray:
    """The fold's candidates' features beside their `remembered` ones' difference from their
    clip's recent candidates, as the live detector gives them to stage B (`listen.memory`)."""
    x = fold["x"]
    picked = x[:, remembered]
    return np.hstack([x, picked - memory.recent_means(picked, fold["clip"], fold["time"], prior, size,
                                                      prior_weight)])


def memory_prior(fold: dict, keep_clip) -> np.ndarray:
    """The memory's prior: the training candidates' mean of the remembered features, which the
    weights' `mean` holds and the live detector's memory starts from."""
    return fold["x"][keep_clip[fold["clip"]]][:, confirm.REMEMBERED].mean(axis=0, dtype=np.float64)


def remembering(fold: dict, keep_clip, prior=None) -> dict:
    """The fold as training reads it (`with_memory`, `confirm.REMEMBERED`), beside a memory that
    starts from `prior` (default: `memory_prior` of the clips where keep_clip is True)."""
    if prior is None:
        prior = memory_prior(fold, keep_clip)
    return {**fold, "x": with_memory(fold, confirm.REMEMBERED, prior)}


def taught(data: dict, name: str, lowers, keep_clip, prior=None) -> dict:
    """What stage B learns for stage A model `name`: its candidates at each of `lowers` as
    `remembering` reads them (each lowering's memory over its own candidates, all from one prior:
    by default `memory_prior` of them all), side by side. One lowering: `remembering` itself."""
    folds = [for_model(data, lowered_name(name, logits)) for logits in lowers]
    if prior is None:
        prior = memory_prior(stacked(folds), keep_clip)
    return stacked([remembering(fold, keep_clip, prior) for fold in folds])


def first_taught(data: dict, name: str, lowers, keep_clip, fold: dict) -> dict:
    """The first lowering's candidates beside the memory `fold` (`taught`'s) was learnt with:
    what the heel/toe word learns and the report reads."""
    if len(lowers) == 1:
        return fold
    return remembering(for_model(data, lowered_name(name, lowers[0])), keep_clip, memory_prior(fold, keep_clip))


def stacked(folds: list[dict]) -> dict:
    """Several sets of candidates of the same clips as one (the per-clip arrays are shared)."""
    if len(folds) == 1:
        return folds[0]
    return {**folds[0], **{k: np.concatenate([f[k] for f in folds]) for k in ("x", "label", "clip", "time")}}


# -- heel or toe beside the channel's recent feet (`listen.foot_kind`) -------------
KIND_L2 = 1.0  # the word's penalty: |w|^2 / 2 beside the summed log loss of ~100,000 feet


def fit_kind(fold: dict, keep_clip) -> dict:
    """The heel-over-toe word on the true feet of the clips where keep_clip is True, each beside
    the true feet before it in its clip (teacher forced): the `kind_*` arrays of the weights file."""
    rows = keep_clip[fold["clip"]] & (fold["label"] > 0)
    feet = {"x": fold["x"][rows][:, : confirm.FEATURES].astype(np.float64), "clip": fold["clip"][rows],
            "time": fold["time"][rows]}
    prior = feet["x"][:, confirm.REMEMBERED].mean(axis=0)
    # the features, then the remembered ones less the mean of the feet before each in its clip, as
    # the live detector's memory of its confirmed taps gives them
    inputs = with_memory(feet, confirm.REMEMBERED, prior)
    mean = inputs.mean(axis=0)
    scale = 1.0 / np.maximum(inputs.std(axis=0), 1e-3)
    w, b = logistic((inputs - mean) * scale, fold["label"][rows] == 1, KIND_L2)
    return {"kind_w": w.astype(np.float32), "kind_b": np.array(b, np.float32),
            "kind_mean": mean.astype(np.float32), "kind_scale": scale.astype(np.float32),
            "kind_prior": prior.astype(np.float32), "kind_features": confirm.REMEMBERED.astype(np.int16),
            "kind_memory_size": np.array(memory.SIZE), "kind_prior_weight": np.array(memory.PRIOR_WEIGHT, np.float32)}


def logistic(inputs: np.ndarray, heel: np.ndarray, l2: float = 1.0, rounds: int = 30):
    """A logistic regression of `heel` (bool per row) on `inputs` (rows already normalised) by
    Newton's method, the weights (not the bias) under an L2 penalty of `l2`/2 |w|^2 beside the
    summed log loss: (weights, bias). Deterministic; a few seconds at 100,000 rows."""
    x = np.hstack([inputs.astype(np.float64), np.ones((len(inputs), 1))])
    y = heel.astype(np.float64)
    penalty = np.full(x.shape[1], float(l2))
    penalty[-1] = 0.0
    theta = np.zeros(x.shape[1])
    for _ in range(rounds):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ theta, -60.0, 60.0)))
        gradient = x.T @ (p - y) + penalty * theta
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def inputs_for(weights: dict, fold: dict) -> np.ndarray:
    """Stage B's normalised inputs for the fold's candidates as `weights` read them live: beside
    the memory they were trained with (its prior theirs), or alone for weights without one."""
    x = fold["x"]
    if "memory_features" in weights:
        remembered = weights["memory_features"]
        x = with_memory(fold, remembered, weights["mean"][remembered], int(weights["memory_size"]),
                        float(weights["memory_prior_weight"]))
    return (x - weights["mean"]) * weights["scale"]


def params_of(weights: dict) -> list:
    """The layers of a weights file as `train` and `predict` hold them."""
    return [weights[f"{p}{i}"].astype(np.float64) for i in range(int(weights["layers"])) for p in "wb"]


# -- the model -------------------------------------------------------------------
def init(rng, sizes):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params.append(rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in))
        params.append(np.zeros(fan_out))
    return params


def forward(params, x):
    acts = [x]
    h = x
    layers = len(params) // 2
    for i in range(layers):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < layers - 1:
            h = np.maximum(h, 0.0)
        acts.append(h)
    return acts


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train(x, y, weight, seed: int, epochs: int, batch: int = 256, lr: float = 2e-3, l2: float = 1e-3):
    rng = np.random.default_rng(seed)
    params = init(rng, [x.shape[1], *HIDDEN, 3])
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    onehot = np.eye(3)[y]
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        rate = lr * (0.5 * (1 + np.cos(np.pi * epoch / epochs)))  # cosine decay
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            acts = forward(params, x[idx])
            p = softmax(acts[-1])
            w = weight[idx][:, None]
            grad = (p - onehot[idx]) * w / w.sum()
            grads = [None] * len(params)
            layers = len(params) // 2
            for i in reversed(range(layers)):
                grads[2 * i] = acts[i].T @ grad + l2 * params[2 * i]
                grads[2 * i + 1] = grad.sum(axis=0)
                if i:
                    grad = (grad @ params[2 * i].T) * (acts[i] > 0)
            step += 1
            for j, g in enumerate(grads):
                m[j] = b1 * m[j] + (1 - b1) * g
                v[j] = b2 * v[j] + (1 - b2) * g * g
                mh = m[j] / (1 - b1 ** step)
                vh = v[j] / (1 - b2 ** step)
                params[j] -= rate * mh / (np.sqrt(vh) + eps)
    return params


def predict(params, x):
    p = softmax(forward(params, x)[-1])
    return p[:, 1] + p[:, 2], p[:, 1] / np.maximum(p[:, 1] + p[:, 2], 1e-12)


def class_weights(y):
    counts = np.bincount(y, minlength=3).astype(float)
    per = np.where(counts > 0, len(y) / (3 * np.maximum(counts, 1)), 0.0)
    # a false alarm costs as much as a missed tap: the negative class weighs as all feet together
    foot = counts[1] + counts[2]
    per[0] = foot / max(counts[0], 1) if counts[0] else 0.0
    per[1] = per[2] = 1.0
    return per[y]


def example_weights(data: dict, rows: np.ndarray, y: np.ndarray, generated_negatives: float = 1.0,
                    family_balanced: bool = False) -> np.ndarray:
    """`class_weights` of the candidates in `rows`, the false ones of the app's own clips (family
    `generated`: its music's onsets, hum, buzz) weighing `generated_negatives` times as much; with
    `family_balanced`, then each family of the corpus weighing as much as another (a music family's
    150 s as a tap family's 460 s), the app's own clips keeping their share (docs/corpus.md,
    attempt 94)."""
    weight = class_weights(y)
    families = [str(f) for f in data["families"]]
    family = data["family"][data["clip"][rows]]
    own = family == (families.index("generated") if "generated" in families else -1)
    if generated_negatives != 1.0:
        weight[own & (y == 0)] *= generated_negatives
    if family_balanced and (~own).any():
        _, group = np.unique(family[~own], return_inverse=True)
        per_family = np.bincount(group, weights=weight[~own])
        weight[~own] = weight[~own] / per_family[group] * weight[~own].sum() / len(per_family)
    return weight


def fit(data, keep_clip, seed, epochs, fixed_threshold=None, generated_negatives: float = 1.0,
        family_balanced: bool = False):
    """Train on the clips where keep_clip is True; the threshold out of fold (two halves)."""
    rows = keep_clip[data["clip"]]
    x = data["x"][rows].astype(np.float64)
    y = data["label"][rows].astype(np.intp)
    mean = x.mean(axis=0)
    scale = 1.0 / np.maximum(x.std(axis=0), 1e-3)
    xn = (x - mean) * scale
    weight = example_weights(data, rows, y, generated_negatives, family_balanced)
    threshold = fixed_threshold
    if threshold is None:  # (a fixed one spares the two half models; the weights are the same)
        threshold = out_of_fold_threshold(data, keep_clip, rows, xn, y, weight, seed, epochs)
    params = train(xn, y, weight, seed, epochs)
    return params, mean, scale, threshold


def out_of_fold_threshold(data, keep_clip, rows, xn, y, weight, seed, epochs) -> float:
    """The withdraw threshold of the best F1 out of fold: a model trained on one half of the
    clips scores the other half, and the other way round (taps stage A missed count as missed)."""
    clips = np.flatnonzero(keep_clip)
    half = np.isin(data["clip"][rows], clips[::2])
    foot_oof = np.zeros(len(y))
    for part in (half, ~half):
        params = train(xn[~part], y[~part], weight[~part], seed + 1, max(4, epochs // 2))
        foot_oof[part] = predict(params, xn[part])[0]
    truth = int(data["truth"][keep_clip].sum())
    best, threshold = -1.0, 0.5
    for t in np.linspace(0.05, 0.95, 91):
        kept = foot_oof >= t
        tp = int((kept & (y > 0)).sum())
        fp = int((kept & (y == 0)).sum())
        f1 = 2 * tp / max(tp + fp + truth, 1)
        if f1 > best + 1e-9:
            best, threshold = f1, float(t)
    return threshold


def training_tag(generated_negatives: float, family_balanced: bool, seed: int) -> str:
    """The weights' stamp after the corpus: how they were trained (the shipped ones carry the
    defaults', so the README's command is seen to give them)."""
    return (f".train-{TRAIN_VERSION}" + (f"+gn{generated_negatives:g}" if generated_negatives != 1.0 else "")
            + ("+fb" if family_balanced else "") + f".seed-{seed}")


def save(path: Path, params, mean, scale, threshold, stamp: str, kind: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"w{i}": params[2 * i].astype(np.float32) for i in range(len(params) // 2)}
    arrays.update({f"b{i}": params[2 * i + 1].astype(np.float32) for i in range(len(params) // 2)})
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, layers=np.array(len(params) // 2), mean=mean.astype(np.float32),
                        scale=scale.astype(np.float32), threshold=np.array(threshold, np.float32),
                        stamp=np.array(stamp), memory_size=np.array(memory.SIZE),
                        memory_features=confirm.REMEMBERED.astype(np.int16),
                        memory_prior_weight=np.array(memory.PRIOR_WEIGHT, np.float32), **arrays, **(kind or {}))
    os.replace(tmp, path)


def add_kind(path: Path, kind: dict) -> None:
    """The heel/toe word `kind` written into the stage B weights at `path`, the rest of them kept;
    their stamp says the word was added by this training version."""
    weights = confirm.load_weights(path)
    if weights is None:
        raise SystemExit(f"{path}: no stage B weights to add the heel/toe word to; train them first")
    stamp = weights.pop("stamp").split(".kind-")[0] + f".kind-{TRAIN_VERSION}"
    arrays = {k: v for k, v in weights.items() if not k.startswith("kind_")}
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, stamp=np.array(stamp), **arrays, **kind)
    os.replace(tmp, path)
    print(f"{path}: heel/toe word added, stamp {stamp}", file=sys.stderr)


def report(data, keep_clip, params, mean, scale, threshold, label):
    rows = keep_clip[data["clip"]]
    x = (data["x"][rows] - mean) * scale
    y = data["label"][rows]
    foot, heel = predict(params, x)
    kept = foot >= threshold
    pos = y > 0
    clip_of = data["clip"][rows]
    alone_clip = data["music_only"] & ~clapping_clips(data)  # music alone, as the issue counts it
    music, alone = data["music_only"][clip_of], alone_clip[clip_of]
    truth = int(data["truth"][keep_clip].sum())
    tp_a = int(pos.sum())
    tp_b = int((kept & pos).sum())
    fp_a = int((~pos & ~music).sum())
    fp_b = int((kept & ~pos & ~music).sum())
    minutes = float(data["seconds"][keep_clip & alone_clip].sum()) / 60
    fa_a = int((~pos & alone).sum()) / max(minutes, 1e-9)
    fa_b = int((kept & ~pos & alone).sum()) / max(minutes, 1e-9)

    def f1(tp, fp):
        p, r = tp / max(tp + fp, 1), tp / max(truth, 1)
        return 2 * p * r / max(p + r, 1e-9)

    right = ((heel >= 0.5) == (y == 1))[kept & pos].mean() if (kept & pos).any() else float("nan")
    print(f"{label}: candidates {len(y)}, truth {truth}; stage A recall {tp_a / max(truth, 1):.3f} "
          f"F1 {f1(tp_a, fp_a):.3f}, music FA/min {fa_a:.1f}; with B: recall {tp_b / max(truth, 1):.3f} "
          f"F1 {f1(tp_b, fp_b):.3f}, music FA/min {fa_b:.1f}, heel/toe {right:.3f}, threshold {threshold:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append",
                        help="a corpus folder (index.json); repeatable; default out/corpus")
    parser.add_argument("--out", type=Path, default=confirm.WEIGHTS_PATH, help="the shipped weights")
    parser.add_argument("--folds-dir", type=Path, default=ROOT / "out" / "detector" / "folds")
    parser.add_argument("--cache", type=Path, default=None, help="default: out/detector/<corpus>[+lower<LOGITS>]-candidates.npz (`candidates_cache`)")
    parser.add_argument("--leave-out", metavar="FAMILY", help="train without this family (one fold)")
    parser.add_argument("--folds", action="store_true", help="every leave-one-family-out fold, then all")
    parser.add_argument("--exclude", action="append", default=[], metavar="FAMILY",
                        help="never train on this family, nor on the taps over it where it is music "
                             "(repeatable)")
    # 300: with the corpus played at two more speeds, 120 of the app's own clips were too few for
    # stage B to keep its heels in digital silence (docs/corpus.md, attempt 34); 600 since FreePats'
    # music: fewer of the generator's music onsets on the beat confirmed (attempt 60)
    parser.add_argument("--generated", type=int, default=600,
                        help="clips of the app's own synthesizer added as the family 'generated'")
    parser.add_argument("--alone", type=int, default=60,
                        help="clips of the app's own taps alone, half in digital silence (family 'generated')")
    parser.add_argument("--doubled", type=int, default=60,
                        help="clips of the app's own taps in flams and doubles 25-60 ms apart (family 'generated')")
    # 60 since stop 25: a loud mains hum's beats were confirmed as heels (attempts 19, 59 and 60)
    parser.add_argument("--steady", type=int, default=60,
                        help="clips of steady hum, buzz, tones and DC with no tap (negatives, family 'generated')")
    parser.add_argument("--randomized", type=int, default=0,
                        help="clips of taps of widely random timbre over music (family 'generated')")
    parser.add_argument("--stage-a", type=Path, default=None,
                        help="stage A's weights whose candidates the shipped stage B learns (default: the shipped ones)")
    parser.add_argument("--speeds", default=SPEEDS, help="the corpus also played at these speeds (training only)")
    parser.add_argument("--train-lower", type=lowerings_of, default=TRAIN_LOWER, metavar="LOGITS",
                        help="learn the candidates of each stage A this many logits under its threshold "
                             "(live, stage A fires at its own; 0: the same candidates as live; 0,1: both "
                             "side by side; the heel/toe word and the report read the first listed)")
    parser.add_argument("--generated-negatives", type=float, default=GENERATED_NEGATIVES, metavar="TIMES",
                        help="each false candidate of the app's own clips (its music's onsets, hum) weighs this "
                             "many times another in training")
    parser.add_argument("--family-balanced", action=argparse.BooleanOptionalAction, default=FAMILY_BALANCED,
                        help="each family of the corpus weighs as much as another, the app's own clips keeping "
                             "their share (attempt 94; shipped); --no-family-balanced: each candidate by its class")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--kind-only", action="store_true",
                        help="train only the heel/toe word beside the feet (`listen.foot_kind`) into the "
                             "stage B weights already there, the folds' and the shipped ones, kept as they are")
    parser.add_argument("--threshold", type=float, default=None,
                        help="withdraw under this foot probability (default: the best out-of-fold F1)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    corpora = args.corpus or [ROOT / "out" / "corpus"]
    clips, corpus_version = corpora_clips(corpora)
    speeds = speeds_of(args.speeds)
    lowers = args.train_lower
    clips = played_at(clips, speeds)
    clips += (generated_clips(args.generated) + alone_clips(args.alone) + doubled_clips(args.doubled)
              + steady_clips(args.steady) + randomized_clips(args.randomized))
    version = corpus_version + speeds_tag(speeds) + f"+g{args.generated}" \
        + (f"+q{args.alone}" if args.alone else "") + (f"+d{args.doubled}" if args.doubled else "") \
        + (f"+s{args.steady}" if args.steady else "") \
        + (f"+r{args.randomized}" if args.randomized else "") \
        + lowering_tag(lowers)
    cache = args.cache or candidates_cache([c.name for c in corpora], lowers)
    corpus_families = sorted({c["family"] for c in clips if c["family"] != "generated"})
    models = stage_a_models(args.folds_dir, corpus_families, args.stage_a)
    if models[""] is None:
        parser.error("no stage A weights: run scripts/train_stage_a.py first")
    if args.leave_out and args.leave_out not in corpus_families:
        parser.error(f"--leave-out {args.leave_out}: no such family; the corpus has {', '.join(corpus_families)}")
    todo = [args.leave_out] if args.leave_out else []
    if args.folds and not args.leave_out:
        todo = [f for f in corpus_families if f not in args.exclude]
    unfolded = [f for f in todo if f not in models]
    if unfolded:  # (told before the candidates are collected: that takes half an hour)
        corpus_args = " ".join(f"--corpus {c}" for c in corpora)
        parser.error(f"no stage A fold for {', '.join(unfolded)} in {args.folds_dir}: run "
                     f"scripts/train_stage_a.py --folds {corpus_args} --folds-dir {args.folds_dir} first")
    data = collect(clips, cache, version, args.jobs, lowered(models, lowers))
    families = [str(f) for f in data["families"]]
    family_of = data["family"]
    allowed = not_excluded(data, args.exclude)
    stamp_base = f"corpus-{version}" + training_tag(args.generated_negatives, args.family_balanced, args.seed)
    for family in todo:
        # as scripts/corpus/splits.py's leave_one_out: the family's clips are the test set, and
        # nothing carrying its taps or its music is trained on
        held = (family_of == families.index(family)) | np.isin(data["music_family"], splits.held_music(family))
        keep = allowed & ~held
        fold = taught(data, family, lowers, keep)  # the fold's own stage A's candidates, at each lowering
        first = first_taught(data, family, lowers, keep, fold)
        if args.kind_only:
            add_kind(args.folds_dir / f"{family}.npz", fit_kind(first, keep))
            continue
        params, mean, scale, threshold = fit(fold, keep, args.seed, args.epochs, args.threshold,
                                             args.generated_negatives, args.family_balanced)
        save(args.folds_dir / f"{family}.npz", params, mean, scale, threshold, f"{stamp_base}.without-{family}",
             fit_kind(first, keep))
        report(first, keep, params, mean, scale, threshold, f"fold {family} (train)")
        test = (family_of == families.index(family)) & (data["speed"] == 1.0)  # scored as recorded
        report(first, test, params, mean, scale, threshold, f"fold {family} (held out)")
    if not args.leave_out:
        shipped = taught(data, "", lowers, allowed)
        first = first_taught(data, "", lowers, allowed, shipped)
        if args.kind_only:
            add_kind(args.out, fit_kind(first, allowed))
            print(f"trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
            return 0
        params, mean, scale, threshold = fit(shipped, allowed, args.seed, args.epochs, args.threshold,
                                             args.generated_negatives, args.family_balanced)
        save(args.out, params, mean, scale, threshold, stamp_base, fit_kind(first, allowed))
        report(first, allowed, params, mean, scale, threshold, "all families (train)")
        size = args.out.stat().st_size
        print(f"{args.out}: {size} bytes, stamp {stamp_base}, "
              f"{sum(p.size for p in params)} parameters", file=sys.stderr)
    print(f"trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
