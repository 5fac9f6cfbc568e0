"""Where a tap stands in its tune: its place in the beat and the bar, its count, the time since the
tune began, from the taps that came before it.

A tune starts at the first tap after TUNE_GAP seconds of silence; its counters (taps, the first
beat and bar, the taps in the current bar) run from there. The scene asks for the attributes of
each frame's new taps (`attributes`) and says when the newest tap was withdrawn (`withdrawn`), so
the next one counts on from the one before it.
"""

from __future__ import annotations

import math

import numpy as np

from dessins_de_planche.preset.expr import stable_hash
from dessins_de_planche.preset.mapping import TAP_ATTRS_DTYPE
from dessins_de_planche.render.layers import beat_clock

TUNE_GAP = 10.0  # s of silence after which the next tap starts a new tune (tune_time from 0)
ON_THE_LINE = 1e-6  # beats: a tap this little before a beat or a bar line is on it (the clock's rounding)
TUNE_SECONDS = 180.0  # live, tune_fraction runs 0 -> 1 over this much tune_time (a recorded take: its own length)


def on_the_line(phase: float, beats: int) -> float:
    """A phase (0..1 over `beats` beats) a rounding short of the next line is that line's 0, as `beat`
    is counted: a tap played on the beat must not read as the end of the beat before it (and its bar
    as the one before), whichever way the tracker's last bit fell."""
    return 0.0 if phase > 1.0 - ON_THE_LINE / beats else phase


class TuneCounter:
    """The tune's running counts, kept between frames."""

    def __init__(self):
        self.start: float | None = None  # time of the tune's first tap
        self.last_tap: float | None = None
        self.counts = {}  # the tune's counters: taps, first beat and bar, the current bar and its taps

    def reset(self) -> None:
        """A cleared canvas: the next tap starts a new tune."""
        self.start = self.last_tap = None

    def attributes(self, taps: np.ndarray, rhythm, level: float, brightness: float,
                   take: tuple[float, float] | None = None) -> np.ndarray:
        """The attributes (TAP_ATTRS_DTYPE) of these first records, in time order; `take`: the first and
        last tap time of a recorded take, over which tune_fraction runs (live: TUNE_SECONDS)."""
        attrs = np.zeros(len(taps), TAP_ATTRS_DTYPE)
        for name in ("time", "detected_at", "tap_id", "velocity", "kind", "zone"):
            attrs[name] = taps[name]
        bpm = float(getattr(rhythm, "bpm", 0.0) or 0.0) if rhythm is not None else 0.0
        attrs["tempo"] = bpm
        attrs["level"], attrs["brightness"] = level, brightness
        attrs["random"] = stable_hash(attrs["tap_id"].astype(np.float64))
        clock = beat_clock(rhythm)
        bar_beats = max(1, int(getattr(rhythm, "bar_beats", 2) or 2))
        # the tracker's tap grid (slots per beat), once it has found one (a rhythm without a grid: none)
        slots = int(getattr(rhythm, "slots_per_beat", None) or 0)
        counts = self.counts
        for i, time in enumerate(taps["time"].tolist()):  # a frame brings a handful of taps
            last = self.last_tap
            new_tune = last is None or time - last > TUNE_GAP
            if new_tune:
                self.start, interval = time, 0.0
                counts.clear()
                counts.update(index=0, beat0=None, bar0=None, bar=None, in_bar=0)
            else:
                interval = max(time - last, 0.0)
            self.last_tap = time if last is None else max(time, last)
            attrs["interval"][i] = interval
            attrs["tune_time"][i] = time - self.start
            attrs["index"][i] = counts["index"]
            counts["index"] += 1
            bar_phase = 0.0
            if rhythm is not None:
                bar_phase = on_the_line(rhythm.bar_phase(time), bar_beats)
                attrs["bar_phase"][i] = bar_phase
                attrs["beat_phase"][i] = on_the_line(rhythm.beat_phase(time), 1)
            if clock is not None:
                position = clock[0](time)
                beat = math.floor(position + 1e-6)
                bar = math.floor(position / bar_beats - bar_phase + 0.5)
            else:
                beat = bar = 0
            if counts["beat0"] is None or (clock is not None and counts["beat0"] == 0 and beat > 0
                                          and counts["index"] <= 8):
                counts["beat0"], counts["bar0"] = beat, bar  # the tempo was not known yet: start here
            attrs["beat"][i] = max(beat - counts["beat0"], 0)
            attrs["beats"][i] = max(position - counts["beat0"], 0.0) if clock is not None else 0.0
            attrs["bar"][i] = max(bar - counts["bar0"], 0)
            if bar != counts["bar"]:
                counts["bar"], counts["in_bar"] = bar, 0
            else:
                counts["in_bar"] += 1
            attrs["in_bar"][i] = counts["in_bar"]
            if slots:  # the tap's grid slot in its beat: 0 on the beat, 1, 2 (en trois), 3 (en quatre)
                attrs["pattern"][i] = round(float(attrs["beat_phase"][i]) * slots) % slots
            else:
                attrs["pattern"][i] = counts["in_bar"]
        if take is not None:  # a recorded take: how far through it, by the tap's own time
            first, last = take
            attrs["tune_fraction"] = np.clip((attrs["time"] - first) / max(last - first, 1e-9), 0.0, 1.0)
        else:
            attrs["tune_fraction"] = np.clip(attrs["tune_time"] / TUNE_SECONDS, 0.0, 1.0)
        return attrs


    def withdrawn(self, times_left: np.ndarray, count: int) -> None:
        """The newest taps (`count` of them) were withdrawn: the next one counts on from the last of
        those left (`times_left`, their times), or starts a new tune when none is."""
        self.last_tap = float(times_left.max()) if len(times_left) else None
        if len(times_left) == 0:
            self.start = None
        if self.counts:
            self.counts["index"] = max(self.counts["index"] - count, 0)
            self.counts["in_bar"] = max(self.counts["in_bar"] - count, 0)
