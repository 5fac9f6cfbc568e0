"""A simulated sensor board: four sensors under a plank, a microcontroller sending a note-on per sensor.

What is known here and only here (the app learns it through `calibrate`): how much of a strike on
each sensor reaches the others and how late (a bleed matrix of velocity ratios and delays, each with
its spread), how hard the player strikes, and the weight-shift noise of each sensor. Every note it
plays is labelled with the truth: a strike, another sensor's bleed, or a weight shift.

Like a real board's firmware, a sensor sends one note per strike: the loudest thing it felt
(its own hit, or the strongest bleed), when it felt it; nothing under its trigger level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dessins_de_planche.config import MidiNote

NOTES = (36, 38, 40, 42)
MAPPING = {36: MidiNote("left", "heel"), 38: MidiNote("left", "toe"),
           40: MidiNote("right", "heel"), 42: MidiNote("right", "toe")}
# BLEED_RATIO[i][j]: median share of a strike on sensor i that sensor j feels (same foot's other
# sensor most, the far corner least)
BLEED_RATIO = np.array([[0.0, 0.28, 0.16, 0.07],
                        [0.26, 0.0, 0.06, 0.14],
                        [0.15, 0.05, 0.0, 0.30],
                        [0.06, 0.12, 0.27, 0.0]])
RATIO_SPREAD = 0.10  # log-normal sigma of each bleed's ratio
# BLEED_DELAY[i][j]: median seconds from sensor i's note to sensor j's bleed note. A soft plank
# carries it late across the board (past the 5 ms window); sensor 42's scan comes before 40's, so
# a strike on 40 reaches 42's note first (negative).
BLEED_DELAY = np.array([[0.0, 0.002, 0.007, 0.009],
                        [0.002, 0.0, 0.008, 0.006],
                        [0.006, 0.009, 0.0, -0.002],
                        [0.008, 0.006, 0.002, 0.0]])
DELAY_SPREAD = 0.0008  # normal sigma of each bleed's delay (s)
STRIKE = (0.35, 1.0)  # strike velocities, uniform
TRIGGER = 3 / 127  # a sensor sends nothing under this
SHIFT_MAX = np.array([0.09, 0.06, 0.11, 0.07])  # the loudest weight-shift note of each sensor
SHIFT_RATE = 2.5  # weight-shift notes a second, per sensor


@dataclass(frozen=True)
class Note:
    time: float
    note: int
    velocity: int  # 1..127
    truth: str  # "strike", "bleed" or "shift"
    strike: int = -1  # the strike it belongs to (its own note or its bleed), -1 for a shift


class SimulatedBoard:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.strikes = 0

    def strike(self, at: float, hits: dict[int, float]) -> list[Note]:
        """One strike: {sensor index: velocity 0..1} hit together at `at` (one sensor, or two feet)."""
        self.strikes += 1
        felt = {}  # sensor -> (velocity, time, truth)
        for i, velocity in hits.items():
            felt[i] = (velocity, at, "strike")
        for i, velocity in hits.items():
            for j in range(len(NOTES)):
                if j == i:
                    continue
                ratio = BLEED_RATIO[i, j] * float(np.exp(self.rng.normal(0.0, RATIO_SPREAD)))
                delay = BLEED_DELAY[i, j] + float(self.rng.normal(0.0, DELAY_SPREAD))
                if j not in felt or velocity * ratio > felt[j][0]:
                    felt[j] = (velocity * ratio, at + delay, "bleed")
        notes = [Note(t, NOTES[j], max(1, min(127, round(v * 127))), truth, self.strikes)
                 for j, (v, t, truth) in felt.items() if v >= TRIGGER]
        return sorted(notes, key=lambda n: n.time)

    def velocity(self) -> float:
        return float(self.rng.uniform(*STRIKE))

    def strikes_alone(self, sensor: int, count: int, start: float, gap: float) -> list[Note]:
        """The calibration's step: one zone struck alone, `count` times."""
        notes = []
        for k in range(count):
            notes += self.strike(start + k * gap, {sensor: self.velocity()})
        return notes

    def weight_shifts(self, start: float, seconds: float) -> list[Note]:
        """Standing and shifting weight: soft notes on every sensor, none over its SHIFT_MAX."""
        notes = []
        for j, note in enumerate(NOTES):
            count = self.rng.poisson(SHIFT_RATE * seconds)
            for t in self.rng.uniform(start, start + seconds, count):
                v = SHIFT_MAX[j] * float(self.rng.uniform(0.0, 1.0)) ** 2  # mostly faint, now and then its most
                if v >= TRIGGER:
                    notes.append(Note(float(t), note, max(1, round(v * 127)), "shift"))
        return sorted(notes, key=lambda n: n.time)

    def performance(self, strikes: int, start: float, gap: float, together: float = 0.4) -> list[Note]:
        """A dance: strikes `gap` apart, a share `together` of them two sensors at once (both feet, or
        a flat-foot stamp on heel and toe), the rest one sensor."""
        notes = []
        for k in range(strikes):
            at = start + k * gap
            if self.rng.uniform() < together:
                i, j = self.rng.choice(len(NOTES), 2, replace=False)
                hits = {int(i): self.velocity(), int(j): self.velocity()}
            else:
                hits = {int(self.rng.integers(len(NOTES))): self.velocity()}
            notes += self.strike(at, hits)
        return sorted(notes, key=lambda n: n.time)


def score(played: list[Note], taps, note_of_tap, tolerance: float) -> dict:
    """How the app heard a performance. `taps`: final tap records (refinements folded in);
    `note_of_tap(tap)`: the sensor note a tap names; a tap matches a played strike note on the same
    sensor within `tolerance` s. Returns the counts a board builder checks."""
    strikes = [n for n in played if n.truth == "strike"]
    per_strike = {}
    for n in strikes:
        per_strike[n.strike] = per_strike.get(n.strike, 0) + 1
    together = {s for s, count in per_strike.items() if count > 1}
    by_note: dict[int, list] = {}  # unmatched strike notes per sensor, in time order
    for n in sorted(strikes, key=lambda n: n.time):
        by_note.setdefault(n.note, []).append(n)
    kept, false_taps = [], 0
    for tap in taps:
        t, candidates = float(tap["time"]), by_note.get(note_of_tap(tap), [])
        near = [i for i, n in enumerate(candidates) if abs(n.time - t) <= tolerance]  # a few at most
        if not near:
            false_taps += 1
            continue
        best = min(near, key=lambda i: abs(candidates[i].time - t))
        kept.append(candidates.pop(best))
    return {
        "strikes": len(strikes), "kept": len(kept),
        "together": sum(1 for n in strikes if n.strike in together),
        "together_kept": sum(1 for n in kept if n.strike in together),
        "bleed": sum(1 for n in played if n.truth == "bleed"), "false_taps": false_taps,
    }
