"""Deterministic podorhythm over a fiddle-and-piano bed: the demo, the generator, tests and benches.

Every sound is drawn from a random generator seeded by (seed, what, index), so the
same tap or note sounds the same however the stream is cut into chunks, and a
test knows exactly where each tap starts: its true onset is the first sample
where the hit reaches 5 % of its own peak (the definition the delay is measured by).

Heel: a low thump (a 60-150 Hz body that drops in pitch, plus low-passed noise).
Toe: a short bright click (a few ms of 2-8 kHz). The bed: a fiddle line of bowed,
harmonic-rich notes with vibrato, a new bow stroke every eighth note, and a
piano/guitar "boom-chick" (bass on the beat, chord on the off-beat).
Tap-to-music ratio is the RMS of the taps over the RMS of the music, over the clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, KIND_UNKNOWN

TRUTH_DTYPE = np.dtype([("time", "<f8"), ("kind", "u1"), ("velocity", "<f4"), ("channel", "<u2")])

_KIND_WORDS = {"heel": KIND_HEEL, "h": KIND_HEEL, "toe": KIND_TOE, "t": KIND_TOE,
               "tap": KIND_UNKNOWN, "x": KIND_UNKNOWN}
_REST_WORDS = {"rest", "-", ".", "r"}
_TAP_TAIL_S = 0.26  # longest tap sound
_MUSIC_TAIL_S = 0.9  # longest music note, release included
_D_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def _rng(seed: int, what: int, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, what, int(index) & 0xFFFFFFFF])


def _band_noise(rng, n: int, sample_rate: float, low: float, high: float) -> np.ndarray:
    """White noise limited to [low, high] Hz by masking its spectrum (no scipy needed)."""
    size = max(16, n)
    spectrum = np.fft.rfft(rng.standard_normal(size))
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    spectrum[(freqs < low) | (freqs > high)] = 0.0
    noise = np.fft.irfft(spectrum, size)[:n]
    return noise / (np.abs(noise).max() + 1e-12)


def _fade_out(n: int, length: int) -> np.ndarray:
    """Ones, then a raised-cosine fade to zero over the last `length` samples (no click at the end)."""
    out = np.ones(n)
    out[n - length :] = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, length))
    return out


def heel_sound(rng, sample_rate: float) -> np.ndarray:
    """A heel: a thump whose pitch drops, with a short low-passed noise knock, peak 1."""
    n = int(0.25 * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = rng.uniform(65.0, 140.0)
    freq = f0 * (1.0 + 0.6 * np.exp(-t / 0.01))
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    attack = 1.0 - np.exp(-t / rng.uniform(0.0006, 0.0015))
    body = np.sin(phase) * attack * np.exp(-t / rng.uniform(0.025, 0.045))
    knock = _band_noise(rng, n, sample_rate, 30.0, rng.uniform(600.0, 1200.0))
    knock *= attack * np.exp(-t / rng.uniform(0.006, 0.012)) * rng.uniform(0.5, 0.8)
    hit = (body + knock) * _fade_out(n, int(0.05 * sample_rate))
    return (hit / np.abs(hit).max()).astype(np.float32)


def toe_sound(rng, sample_rate: float) -> np.ndarray:
    """A toe: a few ms of bright click (2-8 kHz noise and a ringing partial), peak 1."""
    n = int(0.03 * sample_rate)
    t = np.arange(n) / sample_rate
    click = _band_noise(rng, n, sample_rate, 2000.0, min(8000.0, 0.45 * sample_rate))
    click *= np.exp(-t / rng.uniform(0.0015, 0.003))
    ring = np.sin(2 * np.pi * rng.uniform(2500.0, 5000.0) * t) * np.exp(-t / rng.uniform(0.002, 0.004))
    hit = (click + 0.6 * ring) * _fade_out(n, int(0.01 * sample_rate))
    hit[: max(1, int(0.0002 * sample_rate))] *= np.linspace(0.3, 1.0, max(1, int(0.0002 * sample_rate)))
    return (hit / np.abs(hit).max()).astype(np.float32)


def true_onset(hit: np.ndarray) -> int:
    """The first sample where the hit reaches 5 % of its peak."""
    level = np.abs(hit)
    return int(np.argmax(level >= 0.05 * level.max()))


def _tone(freq: float, n: int, sample_rate: float, harmonics: int, rolloff: float,
          vibrato_hz: float = 0.0, vibrato_depth: float = 0.0, rng=None) -> np.ndarray:
    t = np.arange(n) / sample_rate
    inst = freq * (1.0 + vibrato_depth * np.sin(2 * np.pi * vibrato_hz * t + (rng.uniform(0, 6.28) if rng else 0)))
    phase = 2 * np.pi * np.cumsum(inst) / sample_rate
    out = np.zeros(n)
    for k in range(1, harmonics + 1):
        if k * freq * 1.01 >= 0.45 * sample_rate:
            break
        out += np.sin(k * phase) / k**rolloff
    return out


def parse_pattern(pattern) -> list[tuple[int, bool, bool]]:
    """Pattern words -> (kind, accent, rest). 'heel'/'h', 'toe'/'t', 'rest'/'-';
    a capitalised word ('Heel', 'T') is accented."""
    steps = []
    for word in pattern:
        text = str(word).strip()
        low = text.lower()
        if low in _REST_WORDS:
            steps.append((KIND_UNKNOWN, False, True))
        elif low in _KIND_WORDS:
            steps.append((_KIND_WORDS[low], text[:1].isupper(), False))
        else:
            raise ValueError(f"pattern step {word!r}: use heel/h, toe/t, tap/x or rest/-")
    if not steps:
        raise ValueError("pattern is empty: give at least one of heel, toe, tap")
    return steps


@dataclass
class _Score:
    """The piece as events on a beat grid; renders any time window, chunk after chunk."""

    sample_rate: float
    bpm: float = 112.0
    taps_per_beat: int = 2
    pattern: tuple = ("heel", "toe")
    jitter_ms: float = 6.0
    seed: int = 7
    music: bool = True
    channels: int = 1
    taps_from: float = 1.0  # dancers come in after the band: a bar or so of music first

    def __post_init__(self):
        self.steps = parse_pattern(self.pattern)
        self.beat = 60.0 / float(self.bpm)
        self.step = self.beat / int(self.taps_per_beat)
        # an accent on the first tap of each beat unless the pattern marks its own
        self.pattern_accents = any(accent for _, accent, _ in self.steps)

    # -- events -----------------------------------------------------------
    def taps_in(self, t0: float, t1: float):
        """(onset-grid time, kind, velocity, channel, index) of the taps placed in [t0, t1)."""
        first = max(0, int(np.floor(t0 / self.step)) - 1)
        last = int(np.ceil(t1 / self.step)) + 1
        out = []
        for i in range(first, last):
            kind, accent, rest = self.steps[i % len(self.steps)]
            if rest:
                continue
            rng = _rng(self.seed, 1, i)
            when = i * self.step + rng.normal(0.0, self.jitter_ms / 1000.0)
            if not (t0 <= when < t1) or when < self.taps_from:
                continue
            if kind == KIND_UNKNOWN:
                kind = KIND_HEEL if rng.random() < 0.5 else KIND_TOE
            on_beat = i % int(self.taps_per_beat) == 0
            strong = accent if self.pattern_accents else on_beat
            velocity = rng.uniform(0.85, 1.0) if strong else rng.uniform(0.5, 0.75)
            out.append((when, kind, velocity, i % self.channels, i))
        return out

    # -- rendering ---------------------------------------------------------
    def render_taps(self, t0: float, seconds: float):
        """Taps placed in [t0, t0+seconds) into a buffer with a tail; and their truth."""
        sr = self.sample_rate
        n = int(round(seconds * sr))
        start = int(round(t0 * sr))
        buf = np.zeros((n + int(_TAP_TAIL_S * sr) + 2, self.channels), np.float32)
        truth = []
        for when, kind, velocity, channel, index in self.taps_in(t0, t0 + seconds):
            rng = _rng(self.seed, 2, index)
            hit = heel_sound(rng, sr) if kind == KIND_HEEL else toe_sound(rng, sr)
            at = int(round(when * sr)) - start
            buf[at : at + len(hit), channel] += hit * velocity
            truth.append(((start + at + true_onset(hit)) / sr, kind, velocity, channel))
        return buf, truth

    def render_music(self, t0: float, seconds: float) -> np.ndarray:
        sr = self.sample_rate
        n = int(round(seconds * sr))
        start = int(round(t0 * sr))
        buf = np.zeros(n + int(_MUSIC_TAIL_S * sr) + 2)
        t1 = t0 + seconds
        # fiddle: a new bow stroke every eighth note (a quarter of a reel's half-note beat)
        eighth = self.beat / 4.0
        for j in range(int(np.floor(t0 / eighth)), int(np.ceil(t1 / eighth))):
            when = j * eighth
            if not (t0 <= when < t1):
                continue
            rng = _rng(self.seed, 3, j)
            degree = int(rng.integers(0, 14))
            midi = 62 + 12 * (degree // 7) + _D_MAJOR[degree % 7]
            freq = 440.0 * 2 ** ((midi - 69) / 12)
            length = int((eighth + 0.03) * sr)
            tt = np.arange(length) / sr
            env = np.minimum(1.0, tt / rng.uniform(0.008, 0.02)) * np.minimum(1.0, (length - np.arange(length)) / (0.03 * sr))
            env *= 1.0 + 0.3 * np.exp(-tt / 0.02)  # bow bite
            note = _tone(freq, length, sr, 12, 1.0, 5.5, 0.004, rng) * env * rng.uniform(0.5, 0.8)
            at = int(round(when * sr)) - start
            buf[at : at + length] += note
        # boom-chick: bass on the beat, chord on the off-beat
        half = self.beat / 2.0
        for j in range(int(np.floor(t0 / half)), int(np.ceil(t1 / half))):
            when = j * half
            if not (t0 <= when < t1):
                continue
            rng = _rng(self.seed, 4, j)
            length = int(0.8 * sr)
            tt = np.arange(length) / sr
            if j % 2 == 0:  # boom
                freq = 440.0 * 2 ** ((38 + int(rng.choice([0, 5, 7])) - 69) / 12)
                env = np.minimum(1.0, tt / 0.004) * np.exp(-tt / 0.35)
                note = _tone(freq, length, sr, 8, 1.3) * env * 0.9
            else:  # chick
                root = 50 + int(rng.choice([0, 5, 7]))
                env = np.minimum(1.0, tt / 0.003) * np.exp(-tt / 0.18)
                note = sum(_tone(440.0 * 2 ** ((root + k - 69) / 12), length, sr, 6, 1.5) for k in (12, 16, 19))
                note = note * env * 0.35
            note[-int(0.05 * sr):] *= np.linspace(1.0, 0.0, int(0.05 * sr))
            at = int(round(when * sr)) - start
            buf[at : at + length] += note
        return buf.astype(np.float32)

    def render_noise(self, t0: float, seconds: float, chunk_index: int) -> np.ndarray:
        n = int(round(seconds * self.sample_rate))
        return _rng(self.seed, 5, chunk_index).standard_normal((n, self.channels)).astype(np.float32)


def _db(value: float) -> float:
    return 10.0 ** (value / 20.0)


def podorhythm(seconds: float = 10.0, sample_rate: int = 48_000, bpm: float = 112.0,
               taps_per_beat: int = 2, pattern=("heel", "toe"), jitter_ms: float = 6.0,
               seed: int = 7, music: bool = True, tap_to_music_db: float = 6.0,
               level_db: float = -12.0, noise_db: float | None = -70.0, channels: int = 1,
               taps_from: float = 1.0):
    """A clip of podorhythm: (audio float32 (frames, channels), truth TRUTH_DTYPE array).

    `level_db`: peak of a full-velocity tap (dBFS). `tap_to_music_db`: RMS of the taps over
    RMS of the music, over the clip. `noise_db`: RMS of white room noise (dBFS), None for
    none. With several channels each tap lands on one channel (cycling), the music on all.
    The music starts at once, the taps at `taps_from` seconds (on the beat grid).
    """
    score = _Score(sample_rate, bpm, taps_per_beat, tuple(pattern), jitter_ms, seed, music, channels,
                   taps_from)
    n = int(round(seconds * sample_rate))
    taps, truth = score.render_taps(0.0, seconds)
    taps = taps[:n] * _db(level_db)
    audio = taps.copy()
    if music:
        bed = score.render_music(0.0, seconds)[:n]
        tap_rms = float(np.sqrt(np.mean(taps.astype(np.float64) ** 2)))
        bed_rms = float(np.sqrt(np.mean(bed.astype(np.float64) ** 2))) + 1e-12
        audio += (bed * (tap_rms / bed_rms / _db(tap_to_music_db)))[:, None]
    if noise_db is not None:
        audio += score.render_noise(0.0, seconds, 0)[:n] * _db(noise_db)
    truth = np.array([t for t in truth if t[0] < seconds], dtype=TRUTH_DTYPE)
    return audio.astype(np.float32), truth


class PatternStream:
    """Endless deterministic podorhythm for the live demo and the generator input.

    Synthesizes a few seconds ahead at a time from a normal thread (allocation is fine
    there); each chunk's tails overlap into the next, so there are no seams.
    """

    CHUNK_S = 4.0

    def __init__(self, spec, sample_rate: int, tap_to_music_db: float = 6.0,
                 level_db: float = -12.0, noise_db: float | None = -70.0):
        self.sample_rate = int(sample_rate)
        self.score = _Score(self.sample_rate, spec.bpm, spec.taps_per_beat, tuple(spec.pattern),
                            spec.jitter_ms, spec.seed, spec.music, 1)
        self.chunk = int(round(self.CHUNK_S * self.sample_rate))
        self._tap_gain = _db(level_db)
        self._music_gain = 0.0
        if spec.music:  # one gain for the whole stream, from the first chunk's RMS
            taps, _ = self.score.render_taps(0.0, self.CHUNK_S * 2)
            bed = self.score.render_music(0.0, self.CHUNK_S * 2)
            tap_rms = float(np.sqrt(np.mean(taps.astype(np.float64) ** 2))) * self._tap_gain
            bed_rms = float(np.sqrt(np.mean(bed.astype(np.float64) ** 2))) + 1e-12
            self._music_gain = tap_rms / bed_rms / _db(tap_to_music_db)
        self._noise_gain = 0.0 if noise_db is None else _db(noise_db)
        self._pending = np.zeros((0, 1), np.float32)  # rendered, not yet read
        self._tail = np.zeros((0, 1), np.float32)  # overlap from the last chunk
        self._chunk_index = 0
        self._truth: list = []
        self.frames_read = 0

    def _render_next(self) -> None:
        t0 = self._chunk_index * self.CHUNK_S
        taps, truth = self.score.render_taps(t0, self.CHUNK_S)
        mixed = taps * self._tap_gain
        if self._music_gain:
            bed = self.score.render_music(t0, self.CHUNK_S) * self._music_gain
            size = max(len(mixed), len(bed))
            grown = np.zeros((size, 1), np.float32)
            grown[: len(mixed)] += mixed
            grown[: len(bed), 0] += bed
            mixed = grown
        if self._noise_gain:
            mixed[: self.chunk] += self.score.render_noise(t0, self.CHUNK_S, self._chunk_index) * self._noise_gain
        mixed[: len(self._tail)] += self._tail
        self._tail = mixed[self.chunk :]
        self._pending = np.concatenate((self._pending, mixed[: self.chunk]))
        self._truth.extend(truth)
        self._chunk_index += 1

    def read(self, frames: int) -> np.ndarray:
        """The next `frames` frames, float32 (frames, 1)."""
        while len(self._pending) < frames:
            self._render_next()
        out, self._pending = self._pending[:frames], self._pending[frames:]
        self.frames_read += frames
        return out

    def truth_until(self, seconds: float) -> np.ndarray:
        """True taps with onsets before `seconds` among what has been synthesized so far."""
        rows = [t for t in self._truth if t[0] < seconds]
        return np.array(rows, dtype=TRUTH_DTYPE)


def match_onsets(found: np.ndarray, truth: np.ndarray, tolerance: float = 0.025):
    """Pair detected onset times with true ones (each used once, nearest first, within
    `tolerance` seconds): (pairs as (found index, truth index) array, precision, recall)."""
    found = np.asarray(found, np.float64)
    truth = np.asarray(truth, np.float64)
    if len(found) == 0 or len(truth) == 0:
        return np.zeros((0, 2), np.intp), float(len(found) == 0), float(len(truth) == 0)
    gaps = np.abs(found[:, None] - truth[None, :])
    candidates = np.argwhere(gaps <= tolerance)
    order = np.argsort(gaps[candidates[:, 0], candidates[:, 1]], kind="stable")
    used_f, used_t, pairs = set(), set(), []
    for fi, ti in candidates[order]:
        if fi not in used_f and ti not in used_t:
            used_f.add(fi)
            used_t.add(ti)
            pairs.append((fi, ti))
    pairs = np.array(sorted(pairs), np.intp).reshape(-1, 2)
    return pairs, len(pairs) / len(found), len(pairs) / len(truth)
