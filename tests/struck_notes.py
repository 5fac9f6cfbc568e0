"""Pitched notes with hard attacks that no training clip holds: a struck string (piano-like) and a
plucked one (Karplus-Strong). The band's onsets a foot detector is most easily fooled by."""

from __future__ import annotations

import numpy as np


def struck_note(kind: str, rng, f0: float, sample_rate: int) -> np.ndarray:
    """0.6 s of one note, peak 1: "piano" (harmonics, slightly sharp, 1 ms attack) or "guitar"."""
    n = int(0.6 * sample_rate)
    if kind == "piano":
        t = np.arange(n) / sample_rate
        note = sum(np.sin(2 * np.pi * f0 * k * np.sqrt(1 + 4e-4 * k * k) * t + rng.uniform(0, 6.28)) / k
                   * np.exp(-t * (2 + 0.8 * k)) for k in range(1, 13) if f0 * k < 0.45 * sample_rate)
        note = note * (1 - np.exp(-t / 0.001))
    else:
        period = int(sample_rate / f0)
        loop = rng.uniform(-1, 1, period)
        note = np.zeros(n)
        for i in range(n):
            note[i] = loop[i % period]
            loop[i % period] = 0.996 * 0.5 * (loop[i % period] + loop[(i + 1) % period])
    return note / np.abs(note).max()
