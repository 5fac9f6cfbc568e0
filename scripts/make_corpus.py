#!/usr/bin/env python3
"""Make the listening corpus: podorhythm of recorded hits over rendered fiddle tunes, with truth.

    .venv/bin/python scripts/make_corpus.py                 # out/corpus, soundfonts (installs them)
    .venv/bin/python scripts/make_corpus.py --source synthetic --taps 3 --music 1 --out /tmp/c

Deterministic: the same arguments write the same clips. Two splits that share no sound and
no seed: `tuning` (TimGM6mb's samples) to choose parameters on, `scoring` (FluidR3's samples)
that the bench scores and nothing is tuned on. Each clip is a FLAC (48 kHz, 24 bit, mono)
and a JSON of its truth; `index.json` lists them. Sources and licences: docs/corpus.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from corpus import mix, patterns, sounds  # noqa: E402
from dessins_de_planche.listen.synth import true_onset  # noqa: E402

SPLITS = {"tuning": ("timgm6mb", 1000), "scoring": ("fluidr3", 2000)}  # sound source, seed base
TAP_PATTERNS = ["en deux", "en trois", "ti-galop", "en quatre", "en quatre toes", "jig 6/8"]
LEVELS_DB = [-40.0, -30.0, -20.0, -12.0, -6.0, 0.0, 6.0]  # full-velocity tap peak; 6 clips
RATIOS_DB = [12.0, 6.0, 3.0, 0.0, -3.0, -6.0]
MUSIC_ONLY = [  # (what, fiddle program, backing program)
    ("fiddle", sounds.FIDDLE, None),
    ("fiddle and piano", sounds.FIDDLE, sounds.PIANO),
    ("piano boom-chick", None, sounds.PIANO),
    ("guitar boom-chick", None, sounds.STEEL_GUITAR),
    ("violin and guitar", sounds.VIOLIN, sounds.NYLON_GUITAR),
]


def _tap_track(rng, plan, hits, sample_rate, n):
    """Place hits at the planned times so each hit's true onset lands on its time."""
    track = np.zeros(n + sample_rate, np.float64)
    truth = []
    for when, kind, velocity, downbeat in plan:
        name, hit = hits[kind][int(rng.integers(len(hits[kind])))]
        onset = true_onset(hit)
        at = int(round(when * sample_rate)) - onset
        if at < 0:
            continue
        track[at : at + len(hit)] += hit * velocity
        truth.append({"time": round((at + onset) / sample_rate, 6), "kind": kind,
                      "velocity": round(float(velocity), 3), "sound": name, "downbeat": bool(downbeat)})
    return track[:n], truth


def tap_clip(source, hits, split_seed, index, seconds, sample_rate):
    rng = np.random.default_rng([split_seed, index])
    pattern = TAP_PATTERNS[index % len(TAP_PATTERNS)]
    metre = patterns.PATTERNS[pattern][0]
    bpm = float(rng.uniform(100.0, 140.0))
    swing = float(rng.choice([0.0, 0.0, 0.1, 0.2])) if metre == "reel" else 0.0
    jitter = float(rng.uniform(0.002, 0.008))
    plan = patterns.tap_plan(rng, pattern, bpm, 1.0 + float(rng.uniform(0, 0.2)), seconds - 0.3, swing,
                             jitter, flam_rate=0.04, rest_rate=0.03)
    n = int(seconds * sample_rate)
    taps, truth = _tap_track(rng, plan, hits, sample_rate, n)
    # every pattern meets every level and ratio across the split (6 patterns, 7 levels, 6 ratios)
    level_db = LEVELS_DB[(3 * index) % len(LEVELS_DB)]
    ratio_db = RATIOS_DB[(index + index // len(TAP_PATTERNS)) % len(RATIOS_DB)]
    fiddle = [sounds.FIDDLE, sounds.VIOLIN][index % 2]
    backing = [sounds.PIANO, sounds.STEEL_GUITAR, sounds.NYLON_GUITAR, None][(index // 2) % 4]
    music = source.music(patterns.tune_events(rng, metre, bpm, seconds, fiddle, backing), seconds)
    rt60 = float(rng.uniform(0.2, 0.8))
    taps = mix.reverb(rng, taps, sample_rate, rt60, float(rng.uniform(-24, -12)))
    music = mix.reverb(rng, music, sample_rate, rt60, float(rng.uniform(-12, -4)))
    gain = 10 ** (level_db / 20)
    taps *= gain
    music *= mix.rms(taps) / (mix.rms(music) + 1e-12) / 10 ** (ratio_db / 20)
    noise_db = level_db - float(rng.uniform(35, 50))
    hum_hz = float(rng.choice([50.0, 60.0]))
    hum_db = level_db - float(rng.uniform(25, 40))
    dc = float(rng.choice([0.0, 0.01, 0.03]))
    audio = (taps + music + mix.pink_noise(rng, n, noise_db)
             + mix.hum(n, sample_rate, hum_hz, hum_db, rng) + dc)
    info = {"pattern": pattern, "pattern_name": patterns.PATTERN_NAME.get(pattern, pattern),
            "metre": metre, "bpm": round(bpm, 3), "taps_per_beat_grid": patterns.PATTERNS[pattern][1],
            "swing": swing, "jitter_s": round(jitter, 4), "level_db": level_db, "ratio_db": ratio_db,
            "clipped": bool(np.abs(audio).max() >= 1.0), "rt60": round(rt60, 3),
            "noise_dbfs": round(noise_db, 1), "hum_hz": hum_hz, "hum_dbfs": round(hum_db, 1), "dc": dc,
            "fiddle_program": fiddle, "backing_program": backing, "downbeat_marked": pattern == "ti-galop"}
    return audio, truth, info


def music_clip(source, split_seed, index, seconds, sample_rate):
    rng = np.random.default_rng([split_seed, 500 + index])
    what, fiddle, backing = MUSIC_ONLY[index % len(MUSIC_ONLY)]
    metre = "jig" if index % 3 == 2 else "reel"
    bpm = float(rng.uniform(100.0, 140.0))
    n = int(seconds * sample_rate)
    music = source.music(patterns.tune_events(rng, metre, bpm, seconds, fiddle, backing), seconds)
    music = mix.reverb(rng, music, sample_rate, float(rng.uniform(0.2, 0.8)), float(rng.uniform(-12, -4)))
    level_db = float(rng.uniform(-36, -12))
    music *= 10 ** (level_db / 20) / (mix.rms(music) + 1e-12)
    audio = music + mix.pink_noise(rng, n, level_db - 40) + mix.hum(n, sample_rate, 50.0, level_db - 30, rng)
    info = {"pattern": None, "pattern_name": None, "metre": metre, "bpm": round(bpm, 3), "music": what,
            "music_rms_dbfs": round(level_db, 1), "clipped": False, "downbeat_marked": False}
    return audio, [], info


def write_clip(folder: Path, name: str, audio, truth, info, sample_rate, split, source_name):
    import soundfile

    clipped = np.clip(audio, -1.0, 1.0 - 2 ** -23).astype(np.float32)
    soundfile.write(folder / f"{name}.flac", clipped, sample_rate, subtype="PCM_24")
    record = {"clip": f"{name}.flac", "split": split, "source": source_name, "sample_rate": sample_rate,
              "seconds": round(len(audio) / sample_rate, 3), "music_only": not truth, **info, "taps": truth}
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1))
    return {key: value for key, value in record.items() if key != "taps"}


def make(out: Path, source_name: str | None, taps: int, music: int, seconds: float,
         sample_rate: int, splits) -> list[dict]:
    names = sorted({source_name or SPLITS[s][0] for s in splits})
    if any(name != "synthetic" for name in names):
        sounds.ensure_installed(names)
    index = []
    for split in splits:
        font, seed = SPLITS[split]
        source = sounds.source(source_name or font, sample_rate)
        hits = {kind: source.hits(kind) for kind in ("heel", "toe")}
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(taps):
            audio, truth, info = tap_clip(source, hits, seed, i, seconds, sample_rate)
            name = f"{split}-taps-{i:02d}-{info['pattern'].replace(' ', '-').replace('/', '')}"
            index.append(write_clip(folder, name, audio, truth, info, sample_rate, split, source.name))
        for i in range(music):
            audio, truth, info = music_clip(source, seed, i, seconds + 3.0, sample_rate)
            name = f"{split}-music-{i:02d}-{info['music'].replace(' ', '-')}"
            index.append(write_clip(folder, name, audio, truth, info, sample_rate, split, source.name))
    (out / "index.json").write_text(json.dumps({"clips": index}, indent=1))
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "corpus")
    parser.add_argument("--source", choices=["synthetic", *sounds.SOUNDFONTS],
                        help="one sound source for every split (default: each split's soundfont)")
    parser.add_argument("--taps", type=int, default=36, help="tap clips per split")
    parser.add_argument("--music", type=int, default=10, help="music-only clips per split")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--sample-rate", type=int, default=48_000)
    parser.add_argument("--split", choices=[*SPLITS, "both"], default="both")
    args = parser.parse_args(argv)
    splits = list(SPLITS) if args.split == "both" else [args.split]
    index = make(args.out, args.source, args.taps, args.music, args.seconds, args.sample_rate, splits)
    print(f"{len(index)} clips in {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
