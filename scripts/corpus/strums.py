"""Recorded guitar strums as a tune's backing: the hardest music a foot detector hears.

`hydrogen-drumkits-effects` ships belofilms_GuitarStrums (CC-BY-3.0, Gabriel Verdugo Soto): four
takes each of 25 chords strummed down, up and plain, recorded at 96 kHz. A boom-chick backing
becomes a down (or plain) strum on each boom and an up strum on each chick, each cut 20 ms after
the next begins, as a player's hand stops the strings; the melody stays the additive synth's
(`sounds.SyntheticMusic`), so this music family reads no other soundfont.
"""

from __future__ import annotations

import functools
import os
import re

import numpy as np

from corpus import reserved

KIT = os.path.join(reserved.HYDROGEN_KITS, "belofilms_GuitarStrums")
PACKAGE = "hydrogen-drumkits-effects"
LICENCE = "CC-BY-3.0 (Gabriel Verdugo Soto, belofilms)"
_ROOTS = {"C": 0, "Csharp": 1, "D": 2, "Dsharp": 3, "E": 4, "F": 5, "Fsharp": 6, "G": 7, "Gsharp": 8,
          "A": 9, "Asharp": 10, "Bflat": 10, "B": 11}
_NAME = re.compile(r"^([A-G](?:sharp|flat)?) ?(major|minor|minro)(7b5)?(?:_(down|up))?_\d+(?:wav)?\.flac$", re.I)


@functools.lru_cache(maxsize=1)
def takes() -> dict:
    """{(root pitch class, "major"/"minor"/"minor7b5", "down"/"up"/"plain"): [paths]}."""
    out: dict = {}
    for name in sorted(os.listdir(reserved.check(KIT))):
        found = _NAME.match(name)
        if not found:
            continue
        root, quality, seventh, stroke = found.groups()
        quality = ("major" if quality.lower() == "major" else "minor") + (seventh or "")
        out.setdefault((_ROOTS[root], quality, (stroke or "plain").lower()), []).append(os.path.join(KIT, name))
    return out


@functools.lru_cache(maxsize=512)
def _take(path: str, sample_rate: int) -> np.ndarray:
    import soundfile

    from corpus.taps import resample

    audio, rate = soundfile.read(reserved.check(path), dtype="float64", always_2d=True)
    return resample(audio.mean(axis=1), rate, sample_rate).astype(np.float32)


def _chord(keys) -> tuple[int, str]:
    low = min(keys)
    third = sorted((k - low) % 12 for k in keys)
    return low % 12, "major" if 4 in third else "minor"


def backing(rng, events, seconds: float, sample_rate: int) -> np.ndarray:
    """The backing channel's (1) booms and chicks as recorded strums, mono float32."""
    onsets: dict = {}
    for time, status, *data in events:
        if status & 0xF0 == 0x90 and status & 0x0F == 1 and data[1] > 0:
            onsets.setdefault(round(time, 4), []).append((data[0], data[1]))
    times = sorted(onsets)
    n = int(round(seconds * sample_rate))
    out = np.zeros(n + sample_rate, np.float64)
    library = takes()
    last_chord = None
    for k, at in enumerate(times):
        notes = onsets[at]
        boom = len(notes) == 1
        if not boom:
            chord = _chord([key for key, _ in notes])
        elif k + 1 < len(times):  # a boom's bass note names no chord: the chick after it does
            chord = _chord([key for key, _ in onsets[times[k + 1]]])
        else:
            chord = last_chord or _chord([key for key, _ in notes])
        last_chord = chord
        strokes = ("down", "plain") if boom else ("up", "up", "down")
        stroke = strokes[int(rng.integers(len(strokes)))]
        paths = library.get((*chord, stroke)) or library.get((*chord, "plain")) or \
            [p for v in library.values() for p in v]
        take = _take(paths[int(rng.integers(len(paths)))], sample_rate)
        start = int(round(at * sample_rate))
        stop = int(round((times[k + 1] + 0.02) * sample_rate)) if k + 1 < len(times) else start + len(take)
        piece = take[: max(0, min(len(take), stop - start))].astype(np.float64)
        fade = min(len(piece), int(0.01 * sample_rate))
        if fade:
            piece[len(piece) - fade :] *= np.linspace(1.0, 0.0, fade)
        velocity = np.mean([v for _, v in notes]) / 127.0 * 10 ** (rng.uniform(-3, 3) / 20)
        end = min(len(out), start + len(piece))
        out[start:end] += piece[: end - start] * velocity
    return out[:n].astype(np.float32)
