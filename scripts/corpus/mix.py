"""The room and the wiring: reverb, noise, mains hum, DC offset, level and clipping."""

from __future__ import annotations

import numpy as np


def room_impulse(rng, sample_rate: int, rt60: float) -> np.ndarray:
    """A direct path and exponentially decaying noise (a small hall or a kitchen)."""
    n = int(rt60 * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * sample_rate)] = 0.0  # first reflection after 3 ms
    tail /= np.sqrt((tail ** 2).sum()) + 1e-12
    ir = np.zeros(n)
    ir[0] = 1.0
    return ir, tail


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    size = 1 << int(np.ceil(np.log2(len(x) + len(ir))))
    out = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)
    return out[: len(x)]


def reverb(rng, x: np.ndarray, sample_rate: int, rt60: float, wet_db: float) -> np.ndarray:
    direct, tail = room_impulse(rng, sample_rate, rt60)
    return x + convolve(x, tail) * 10 ** (wet_db / 20)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def hum(seconds_n: int, sample_rate: int, mains_hz: float, level_db: float, rng) -> np.ndarray:
    t = np.arange(seconds_n) / sample_rate
    wave = sum(np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 6.28)) / k for k in (1, 2, 3, 5))
    return wave / (rms(wave) + 1e-12) * 10 ** (level_db / 20)


def pink_noise(rng, n: int, level_db: float) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    noise = np.fft.irfft(spectrum, n)
    return noise / (rms(noise) + 1e-12) * 10 ** (level_db / 20)


def hum_harmonics(rng, n: int, sample_rate: int, mains_hz: float, level_dbfs: float) -> np.ndarray:
    """Mains hum: the fundamental and up to the 9th harmonic, odd ones stronger (a buzz), at
    `level_dbfs` RMS."""
    t = np.arange(n) / sample_rate
    wave = np.zeros(n)
    for k in range(1, 10):
        weight = rng.uniform(0.3, 1.0) / k ** (0.7 if k % 2 else 1.3)
        wave += weight * np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 2 * np.pi))
    return wave / (rms(wave) + 1e-12) * 10 ** (level_dbfs / 20)


def noise_floor(rng, n: int, level_dbfs: float) -> np.ndarray:
    """Pink and white noise (preamp hiss, the room's air) at `level_dbfs` RMS."""
    white = rng.standard_normal(n)
    mixed = pink_noise(rng, n, 0.0) + rng.uniform(0.1, 0.7) * white / (rms(white) + 1e-12)
    return mixed / (rms(mixed) + 1e-12) * 10 ** (level_dbfs / 20)


def eq_tilt(x: np.ndarray, sample_rate: int, tilt_db: float) -> np.ndarray:
    """A microphone's tilt: `tilt_db` dB per decade about 1 kHz (zero phase), flat below 40 Hz
    and above 16 kHz."""
    if tilt_db == 0:
        return x
    spectrum = np.fft.rfft(x)
    freqs = np.clip(np.fft.rfftfreq(len(x), 1.0 / sample_rate), 40.0, 16000.0)
    return np.fft.irfft(spectrum * 10 ** (tilt_db * np.log10(freqs / 1000.0) / 20), len(x))
