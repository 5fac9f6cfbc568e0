"""A tap's place in its tune (`render/tune.py`): its `pattern` is its slot on the tracker's tap grid."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import KIND_HEEL, TAP_DTYPE
from dessins_de_planche.listen.synth import podorhythm
from dessins_de_planche.listen.tempo import TempoTracker
from dessins_de_planche.render.tune import TuneCounter


def records(truth) -> np.ndarray:
    taps = np.zeros(len(truth), TAP_DTYPE)
    for name in ("time", "kind", "velocity"):
        taps[name] = truth[name]
    taps["tap_id"] = np.arange(len(truth))
    return taps


def test_a_jig_s_taps_count_their_slot_in_the_beat():
    """En trois at 120 BPM: the tracker finds three grid slots a beat, and each tap's pattern is its
    slot, 0 on the heel that carries the beat, 1 and 2 on the toes after it."""
    _, truth = podorhythm(12.0, 8000, 120, 3, ("Heel", "toe", "toe"), 8.0, 1, music=False, noise_db=None)
    tracker = TempoTracker()
    assert tracker.slots_per_beat is None  # no grid before the first estimate
    for tap in truth:
        tracker.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
    assert tracker.slots_per_beat == 3
    taps = records(truth)
    late = TuneCounter().attributes(taps, tracker, 0.5, 0.5)[-12:]
    heels = taps["kind"][-12:] == KIND_HEEL
    assert (late["pattern"][heels] == 0).all()
    assert sorted(set(late["pattern"][~heels].tolist())) == [1.0, 2.0]


class Metronome:
    """A rhythm with a tempo and no tap grid (a stand-in, a replayed take's fixed tempo)."""

    bpm, bar_beats = 120.0, 2

    def beat_phase(self, t):
        return (t * self.bpm / 60.0) % 1.0

    def bar_phase(self, t):
        return (t * self.bpm / 60.0 / self.bar_beats) % 1.0


def test_without_a_tap_grid_the_pattern_counts_the_taps_of_the_bar():
    taps = np.zeros(6, TAP_DTYPE)
    taps["time"] = 0.05 + np.arange(6) * 0.25  # four taps a one-second bar
    taps["tap_id"] = np.arange(6)
    attrs = TuneCounter().attributes(taps, Metronome(), 0.5, 0.5)
    assert attrs["pattern"].tolist() == attrs["in_bar"].tolist() == [0, 1, 2, 3, 0, 1]


class RoundedClock:
    """A tempo whose clock lands a rounding short of the line on some beats (what a float sum does),
    with a beat position so the scene's beat and bar counts run."""

    bpm, bar_beats, beat_period = 120.0, 2, 0.5

    def __init__(self, short: float):
        self.short = short

    def beat_position(self, t):
        return t / self.beat_period - self.short

    def beat_phase(self, t):
        return self.beat_position(t) % 1.0

    def bar_phase(self, t):
        return (self.beat_position(t) / self.bar_beats) % 1.0


def test_a_tap_on_the_beat_is_on_it_whichever_way_the_clock_rounds():
    """Taps played on the beats and bar lines read the same from a clock exact there and from one a
    rounding short of them: on the beat (phase 0, not 0.999…), in the bar that line starts."""
    taps = np.zeros(8, TAP_DTYPE)
    taps["time"] = 1.0 + np.arange(8) * 0.5  # every beat, four bars of two
    taps["tap_id"] = np.arange(8)
    exact = TuneCounter().attributes(taps, RoundedClock(0.0), 0.5, 0.5)
    rounded = TuneCounter().attributes(taps, RoundedClock(1e-12), 0.5, 0.5)
    assert exact["beat_phase"].tolist() == rounded["beat_phase"].tolist() == [0.0] * 8
    assert exact["bar_phase"].tolist() == rounded["bar_phase"].tolist()
    for name in ("beat", "bar", "in_bar", "pattern"):
        assert exact[name].tolist() == rounded[name].tolist(), name
    assert rounded["bar"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
