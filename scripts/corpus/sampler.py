"""Music from FreePats' sampled instruments: a small Gravis Ultrasound patch sampler.

FreePats (`freepats`, GPL-2+ with a composition exception) records real instruments — a grand
piano, nylon and steel guitars, a violin, an accordion, voices — as GUS patches, which
fluidsynth cannot read and a system MIDI player would load beside its default (reserved) bank.
This plays the corpus's arrangements on them directly: for each note the sample whose key range
holds it, resampled to its pitch (linear interpolation), its sustain loop repeated while the
note is held, then a release (short for bowed and blown notes, longer for plucked and struck
ones). No reverb or chorus: the room comes later (`rooms.py`).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from corpus import midi_file, reserved

FREEPATS_TONES = "/usr/share/midi/freepats/Tone_000"
PACKAGE = "freepats"
LICENCE = "GPL-2+ with composition exception"

# General MIDI program -> FreePats patch (FreePats has no fiddle or choir: the violin and voices;
# nor a banjo, koto or shamisen: its dulcimer, harp and sitar)
PATCHES = {0: "000_Acoustic_Grand_Piano", 21: "021_Accordion", 24: "024_Nylon_Guitar",
           25: "025_Steel_Guitar", 40: "040_Violin", 52: "053_Voice_Oohs", 53: "053_Voice_Oohs",
           110: "040_Violin",
           6: "006_Harpsichord", 15: "015_Dulcimer", 26: "026_Jazz_Guitar", 27: "027_Clean_Electric_Guitar",
           28: "028_Muted_Electric_Guitar", 32: "032_Acoustic_Bass", 45: "045_Pizzicato_Strings",
           46: "046_Harp", 104: "104_Sitar", 105: "015_Dulcimer", 106: "104_Sitar", 107: "046_Harp"}
SUSTAINED = {21, 40, 52, 53, 110}  # bowed and blown: a short release
RELEASE_S = {True: 0.08, False: 0.3}


@dataclass(frozen=True)
class Wave:
    audio: np.ndarray  # float64, unit scale
    rate: int
    low_hz: float
    high_hz: float
    root_hz: float
    loop: tuple[int, int] | None  # [start, end) in samples


def _waves(data: bytes, path: str) -> list[Wave]:
    """Every wave of a GUS patch's first instrument and layer."""
    if not data.startswith(b"GF1PATCH"):
        raise ValueError(f"{path}: not a GUS patch")
    at = 129 + 63  # the file and instrument headers
    count = data[at + 6]
    at += 47  # the layer header
    waves = []
    for _ in range(count):
        size, loop_start, loop_end = struct.unpack_from("<III", data, at + 8)
        rate, = struct.unpack_from("<H", data, at + 20)
        low, high, root = struct.unpack_from("<III", data, at + 22)
        modes = data[at + 55]
        raw = data[at + 96 : at + 96 + size]
        width = 2 if modes & 1 else 1
        kind = ("<u2" if modes & 2 else "<i2") if width == 2 else ("u1" if modes & 2 else "i1")
        audio = np.frombuffer(raw[: len(raw) // width * width], kind).astype(np.float64)
        if modes & 2:
            audio -= 2.0 ** (8 * width - 1)
        audio /= 2.0 ** (8 * width - 1)
        loop = (loop_start // width, loop_end // width) if modes & 4 and loop_end > loop_start else None
        waves.append(Wave(audio, rate, low / 1000.0, high / 1000.0, root / 1000.0, loop))
        at += 96 + size
    return waves


@lru_cache(maxsize=None)
def patch(program: int) -> tuple[Wave, ...]:
    path = os.path.join(FREEPATS_TONES, PATCHES[program] + ".pat")
    reserved.check(path)
    with open(path, "rb") as f:
        return tuple(_waves(f.read(), path))


def _positions(wave: Wave, step: float, total: int) -> np.ndarray:
    """Read positions (fractional samples) for `total` output samples, the sustain loop repeated
    for as long as they last (the release too plays on in the loop)."""
    pos = np.arange(total) * step
    if wave.loop is not None:
        start, end = wave.loop
        span = end - start
        over = pos >= end
        pos[over] = start + np.mod(pos[over] - start, span)
    return pos


def render(events, seconds: float, sample_rate: int, waves_of=patch) -> np.ndarray:
    """(time, status, data...) MIDI events -> mono float32 of `seconds`; `waves_of(program)`: the
    instrument's waves (FreePats' patches by default)."""
    n = int(round(seconds * sample_rate))
    out = np.zeros(n + sample_rate, np.float64)
    for begin, end_s, program, key, velocity in midi_file.notes(events):
        freq = 440.0 * 2 ** ((key - 69) / 12)
        waves = waves_of(program)
        wave = next((w for w in waves if w.low_hz <= freq <= w.high_hz), waves[-1])
        step = freq / wave.root_hz * wave.rate / sample_rate
        held = max(1, int(round((end_s - begin) * sample_rate)))
        release = int(RELEASE_S[program in SUSTAINED] * sample_rate)
        total = held + release
        if wave.loop is None:
            total = min(total, int((len(wave.audio) - 1) / step))
        pos = _positions(wave, step, total)
        base = pos.astype(np.int64)
        frac = pos - base
        nxt = np.minimum(base + 1, len(wave.audio) - 1)
        note = wave.audio[base] * (1 - frac) + wave.audio[nxt] * frac
        env = np.ones(total)
        tail = total - held
        if tail > 0:
            env[held:] = np.linspace(1.0, 0.0, tail)
        at = int(round(begin * sample_rate))
        end = min(len(out), at + total)
        if at < len(out):
            out[at:end] += (note * env)[: end - at] * (velocity / 127.0) ** 2 * 0.3
    return out[:n].astype(np.float32)
