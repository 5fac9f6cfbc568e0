"""Tempo and beat phase from tap times: the pulse a dancer counts.

Taps fall on a grid of 2, 3 or 4 per beat (a reel's half note, a jig's dotted
quarter), so the tap rate is not the tempo. The tracker:

1. finds the tap grid: the common short interval between taps, then a least-squares
   fit of every recent tap to its grid slot (rests are whole slots);
2. chooses how many grid slots make a beat (1, 2, 3, 4, 6 or 8): a prior for a
   dancer's beat (~118 BPM, wide) times how strongly the taps' accents (velocity,
   heels) repeat with that period; changes need a clear margin, so it does not flicker;
3. keeps a continuous beat count across re-estimates, and a bar of `bar_beats`
   beats whose downbeat is the most accented beat of the bar, once there is one.

Cheap per tap (a few small numpy operations over the last `max_taps` taps), so the
render loop can call `add` for every tap.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from dessins_de_planche.events import KIND_HEEL, KIND_TOE

_MULTIPLES = (1, 2, 3, 4, 6, 8)


class TempoTracker:
    def __init__(self, bar_beats: int = 2, window_s: float = 8.0, max_taps: int = 40,
                 min_bpm: float = 55.0, max_bpm: float = 220.0, preferred_bpm: float = 118.0):
        self.bar_beats = max(1, int(bar_beats))
        self.window_s = window_s
        self.max_taps = max_taps
        self.min_bpm, self.max_bpm, self.preferred_bpm = min_bpm, max_bpm, preferred_bpm
        self.track: list[tuple[float, float]] = []
        self.reset()

    def reset(self) -> None:
        self._times: list[float] = []
        self._accents: list[float] = []
        self.bpm: float | None = None
        self.beat_period: float | None = None
        self.confident = False
        self._multiple = None
        self._steady = 0
        self._anchor = 0.0  # time of a beat
        self._anchor_number = 0  # that beat's count
        self._downbeat = 0  # beat count modulo bar_beats that starts a bar
        self.pattern: str | None = None  # "en deux", "en trois", "ti-galop", "en quatre", "jig 6/8"...
        self.downbeat_found = False  # the taps mark which beat starts the bar

    def set_tempo(self, bpm: float, at: float) -> None:
        """The tempo from outside (tap tempo, OSC), with a beat at `at`; the beats go on being counted."""
        number = self.beat_number(at) + 1 if self.beat_period else 0
        self.bpm, self.beat_period = float(bpm), 60.0 / float(bpm)
        self._anchor, self._anchor_number = float(at), number

    # -- input ---------------------------------------------------------------
    def add(self, time: float, kind: int = 0, velocity: float = 1.0) -> None:
        time = float(time)
        if not math.isfinite(time):
            return
        if self._times and time - self._times[-1] > self.window_s:
            self._times.clear()  # a long silence: a new tune, maybe a new tempo
            self._accents.clear()
            self._multiple = None
            self._steady = 0
            self.confident = False
            self.pattern = None
            self.downbeat_found = False
        accent = float(velocity) + (0.25 if kind == KIND_HEEL else (-0.1 if kind == KIND_TOE else 0.0))
        at = bisect.bisect(self._times, time)  # taps from several channels may cross slightly
        self._times.insert(at, time)
        self._accents.insert(at, accent)
        newest = self._times[-1]
        while len(self._times) > self.max_taps or self._times[0] < newest - self.window_s:
            del self._times[0]
            del self._accents[0]
        self._estimate()

    # -- queries ---------------------------------------------------------------
    @property
    def slots_per_beat(self) -> int | None:
        """How many slots of the tap grid make a beat (1, 2, 3, 4, 6 or 8), None before the first estimate."""
        return self._multiple

    def beat_position(self, t: float) -> float:
        """Beats counted since the first estimate, fractional (0.0 when there is no tempo)."""
        if self.beat_period is None:
            return 0.0
        return self._anchor_number + (t - self._anchor) / self.beat_period

    def beat_phase(self, t: float) -> float:
        return self.beat_position(t) % 1.0

    def beat_number(self, t: float) -> int:
        return math.floor(self.beat_position(t))

    def bar_phase(self, t: float) -> float:
        return ((self.beat_position(t) - self._downbeat) / self.bar_beats) % 1.0

    # -- estimation ----------------------------------------------------------
    def _estimate(self) -> None:
        if len(self._times) < 4:
            return
        times = np.asarray(self._times)
        accents = np.asarray(self._accents)
        unit = _grid_unit(np.diff(times))
        if unit is None:
            return
        # flams and doubles (a second tap well inside one grid slot) are ornaments, not slots
        keep = np.ones(len(times), bool)
        last = times[0]
        for i in range(1, len(times)):
            if times[i] - last < 0.6 * unit:
                keep[i] = False
            else:
                last = times[i]
        times, accents = times[keep], accents[keep]
        if len(times) < 4:
            return
        fit = _fit_grid(times, unit)
        if fit is None:
            return
        off_grid = _off_grid(times, *fit)
        if np.mean(off_grid > 0.3) >= 0.2:  # many taps between the slots: missed taps hid the finer grid?
            finer = _fit_grid(times, fit[1] / 2)
            if finer is not None and _off_grid(times, *finer).mean() < off_grid.mean():
                fit = finer
        slots, slope, intercept = fit
        residual = times - (intercept + slope * slots)
        slot_index = slots.astype(np.int64)
        span = int(slot_index[-1]) + 1

        best, best_score, best_residue = None, -1.0, 0
        scores = {}
        for m in _MULTIPLES:
            bpm = 60.0 / (m * slope)
            if not (self.min_bpm <= bpm <= self.max_bpm):
                continue
            prior = math.exp(-0.5 * (math.log2(bpm / self.preferred_bpm) / 0.5) ** 2)
            residue, contrast = _strongest_class(slot_index % m, accents, m)
            occupancy = _occupancy(slot_index, m, span)
            score = prior * (1.0 + 6.0 * contrast + 2.0 * (occupancy.max() - occupancy.min()))
            scores[m] = (score, residue)
            if score > best_score:
                best, best_score, best_residue = m, score, residue
        if best is None:
            return
        if self._multiple in scores and best != self._multiple:
            held_score, held_residue = scores[self._multiple]
            if best_score < 1.25 * held_score:  # keep the counted beat unless clearly beaten
                best, best_residue = self._multiple, held_residue
        self._steady = self._steady + 1 if best == self._multiple else 0
        self._multiple = best

        period = best * slope
        anchor = intercept + slope * (best_residue + best * math.floor((slots[-1] - best_residue) / best))
        if self.beat_period is not None:  # keep counting beats across re-estimates
            self._anchor_number = round(self.beat_position(anchor))
        self._anchor, self.beat_period = anchor, period
        self.bpm = 60.0 / period
        self.confident = (len(times) >= 8 and self._steady >= 3
                          and float(np.sqrt(np.mean(residual ** 2))) < 0.15 * slope)
        if self.confident:
            self.pattern = _pattern_name(best, np.roll(_occupancy(slot_index, best, span), -best_residue))
        if self.bar_beats > 1 and self.confident:
            beats = np.floor((self._anchor_number + (times - anchor) / period) + 0.25).astype(np.int64)
            on_beat = np.abs(((times - anchor) / period + 0.5) % 1.0 - 0.5) < 0.2
            if on_beat.sum() >= 3 * self.bar_beats:
                residue, strength = _strongest_beat(beats[on_beat] % self.bar_beats, accents[on_beat],
                                                    self.bar_beats)
                if strength > 3.0:  # the bar's accent stands clear of the taps' spread
                    self._downbeat = residue
                    self.downbeat_found = True
        self._note(float(times[-1]))

    def _note(self, time: float) -> None:
        if self.track:
            last_time, last_bpm = self.track[-1]
            if abs(self.bpm - last_bpm) < 0.25 and time - last_time < 1.0:
                return
        self.track.append((time, round(self.bpm, 3)))
        if len(self.track) > 20_000:  # weeks of running: keep the recent history
            del self.track[:10_000]


def _strongest_class(classes: np.ndarray, accents: np.ndarray, count: int):
    """The class with the highest mean accent, and how far above the overall mean it is."""
    if count == 1:
        return 0, 0.0
    sums = np.bincount(classes, weights=accents, minlength=count)
    sizes = np.bincount(classes, minlength=count)
    means = np.where(sizes > 0, sums / np.maximum(sizes, 1), -np.inf)
    best = int(np.argmax(means))
    return best, float(means[best] - accents.mean())


def _grid_unit(gaps: np.ndarray) -> float | None:
    """The common short interval between taps: the grid slot. Flams (< 75 ms) are left out;
    swing's long-short pairs average out around the slot."""
    gaps = gaps[gaps > 0.075]
    if len(gaps) < 3:
        return None
    low = float(np.percentile(gaps, 25))
    near = gaps[(gaps > 0.7 * low) & (gaps < 1.6 * low)]
    return float(np.median(near)) if len(near) else low


def _fit_grid(times: np.ndarray, unit: float):
    """The grid slot of each tap (rests are whole slots) and the least-squares grid: slots,
    slot length and the time of slot 0; None when the taps span under 3 slots."""
    for _ in range(2):  # slots from the gaps, then refit the unit
        steps = np.maximum(np.rint(np.diff(times) / unit), 1)
        slots = np.concatenate(([0.0], np.cumsum(steps)))
        if slots[-1] < 3:
            return None
        slope, intercept = np.polyfit(slots, times, 1)
        if not (slope > 0.0 and math.isfinite(slope)):
            return None
        unit = slope
    return slots, slope, intercept


def _off_grid(times: np.ndarray, slots: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """How far each tap sits from its slot, in slots (0 on the slot, 0.5 halfway to the next)."""
    return np.abs((times - intercept) / slope - slots)


def _occupancy(slot_index: np.ndarray, count: int, span: int) -> np.ndarray:
    """For each slot class modulo `count`, the share of its grid slots that hold a tap."""
    taps = np.bincount(slot_index % count, minlength=count).astype(np.float64)
    slots = np.bincount(np.arange(span) % count, minlength=count).astype(np.float64)
    return np.minimum(1.0, taps / np.maximum(slots, 1.0))


def _pattern_name(per_beat: int, occupancy: np.ndarray) -> str:
    """Name the footwork from the grid slots of a beat that carry taps (slot 0 on the beat).
    Four slots: all -> en quatre, the last one silent -> en trois ("ta-ka-ta" and a breath),
    the second silent -> ti-galop ("ta . ti-ga"), two -> en deux. Three even slots: a jig."""
    filled = occupancy >= 0.5 * occupancy.max()  # relative: a detector that misses taps empties no slot
    count = int(filled.sum())
    if per_beat == 4:
        if count == 4:
            return "en quatre"
        if count == 3:
            return {3: "en trois", 1: "ti-galop"}.get(int(np.argmin(occupancy)), "en trois")
        return "en deux" if count == 2 else "en un"
    if per_beat == 3:
        return "jig 6/8" if count >= 2 else "en un"
    if per_beat == 2:
        return "en deux" if count == 2 else "en un"
    if per_beat == 1:
        return "en un"
    return f"{count} par temps" if per_beat < 6 else "jig 6/8" if per_beat == 6 else "en quatre"


def _strongest_beat(classes: np.ndarray, accents: np.ndarray, count: int):
    """The beat of the bar whose taps are loudest, and by how many standard errors it beats
    the other beats (a t statistic), so a handful of loud taps is not a downbeat."""
    best, best_mean = 0, -np.inf
    for c in range(count):
        chosen = accents[classes == c]
        if len(chosen) and chosen.mean() > best_mean:
            best, best_mean = c, float(chosen.mean())
    inside = accents[classes == best]
    outside = accents[classes != best]
    if len(inside) < 2 or len(outside) < 2:
        return best, 0.0
    spread = math.sqrt(inside.var(ddof=1) / len(inside) + outside.var(ddof=1) / len(outside)) + 1e-6
    return best, (best_mean - float(outside.mean())) / spread
