"""Attract mode: when nobody has tapped for a while, the wall draws by itself.

A bundled-free pattern of heel and toe taps on a beat grid with a little human
timing and accent, made here in the render process (no audio needed, so it runs
even while the input device is missing). The first real tap takes over at once.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, SOURCE_AUDIO, TAP_DTYPE, tap_id_space




class AttractPattern:
    """Taps of a reel step (heel, toe, toe, heel ...) at `bpm`, two taps a beat, phrases with rests."""

    def __init__(self, bpm: float = 116.0, zone: int = 0, seed: int = 11):
        self.period = 60.0 / bpm / 2.0
        self.zone = zone
        self.rng = np.random.default_rng(seed)
        self.steps = (KIND_HEEL, KIND_TOE, KIND_TOE, KIND_HEEL, KIND_TOE, KIND_HEEL, KIND_TOE, KIND_TOE)
        self.next_time: float | None = None
        self.count = 0

    def start(self, now: float) -> None:
        self.next_time = now + 0.25
        self.count = 0

    def due(self, now: float) -> np.ndarray:
        """The taps whose time has come (none before `start`)."""
        if self.next_time is None or now < self.next_time:
            return np.zeros(0, TAP_DTYPE)
        records = []
        while self.next_time <= now:
            slot = self.count % 64
            if slot < 56:  # a phrase of 28 beats, then a breath
                kind = self.steps[self.count % len(self.steps)]
                accent = 0.9 if self.count % 4 == 0 else 0.6
                velocity = float(np.clip(accent + self.rng.normal(0, 0.08), 0.15, 1.0))
                jitter = float(self.rng.normal(0, 0.006))
                records.append((self.next_time + jitter, kind, velocity))
            self.count += 1
            self.next_time += self.period
        taps = np.zeros(len(records), TAP_DTYPE)
        first, span, _ = tap_id_space("attract")  # its own range: no detector's follow-up meets these
        for i, (time, kind, velocity) in enumerate(records):
            taps[i]["time"] = time
            taps[i]["detected_at"] = max(time, now)
            taps[i]["velocity"] = velocity
            taps[i]["kind"] = kind
            taps[i]["zone"] = self.zone
            taps[i]["channel"] = 1
            taps[i]["source"] = SOURCE_AUDIO
            taps[i]["tap_id"] = first + (self.count - len(records) + i) % span
        return taps


class Attract:
    """Decides when the wall needs to draw by itself, and when a visitor takes over."""

    def __init__(self, after_seconds: float | None, bpm: float = 116.0):
        self.after = after_seconds
        self.pattern = AttractPattern(bpm)
        self.active = False
        self.last_real_tap: float | None = None
        self.started_at: float | None = None

    def update(self, now: float, real_taps: int, waiting_for_device: bool) -> tuple[np.ndarray, bool]:
        """The attract taps due now, and whether a real tap just took over (the caller clears)."""
        if self.started_at is None:
            self.started_at = now
        took_over = False
        if real_taps:
            self.last_real_tap = now
            if self.active:
                self.active, took_over = False, True
        elif not self.active and self.after is not None:
            idle_since = self.last_real_tap if self.last_real_tap is not None else self.started_at
            if now - idle_since >= self.after or (waiting_for_device and self.last_real_tap is None):
                self.active = True
                self.pattern.start(now)
        if not self.active:
            return np.zeros(0, TAP_DTYPE), took_over
        return self.pattern.due(now), took_over
