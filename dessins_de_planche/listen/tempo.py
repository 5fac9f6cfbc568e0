"""Tempo and beat phase from tap times: the pulse a dancer counts.

Taps fall on a grid of 2, 3 or 4 per beat (a reel's half note, a jig's dotted
quarter), so the tap rate is not the tempo. The tracker:

1. finds the tap grid: the common short interval between taps, then a least-squares
   fit of every recent tap to its grid slot (rests are whole slots), the off sixteenths of
   a swung reel allowed to come late (the fit's swing), and a slot 1.25 times the first
   guess tried where the taps sit off it (a swung reel's short gaps are 0.8 of the slot);
2. chooses how many grid slots make a beat (1, 2, 3, 4, 6 or 8): a prior for a
   dancer's beat (~118 BPM, wide) times how strongly the taps' accents (velocity,
   heels) repeat with that period; changes need a clear margin, so it does not flicker;
3. keeps a continuous beat count across re-estimates, and a bar of `bar_beats`
   beats whose downbeat is the most accented beat of the bar, once there is one.

Cheap per tap (plain arithmetic over the last `max_taps` taps, some 0.15 ms), so the render
loop can call `add` for every tap; nothing in it grows with the length of a show.
"""

from __future__ import annotations

import bisect
import math

from dessins_de_planche.events import KIND_HEEL, KIND_TOE

_MULTIPLES = (1, 2, 3, 4, 6, 8)
SWING_TAPS = 3  # a swing is fitted where this many taps hold slots of each parity
SWUNG_MARGIN = 0.8  # a grid 1.25 times the first guess is taken when its taps sit this much nearer their slots
PATTERN_SHARE = 0.2  # a slot class holds taps when its share is this much of the busiest class's


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
        # Plain floats and lists: at 40 taps, numpy's cost per call (percentile, polyfit, a dozen
        # means) was the whole of the tracker's time, ~0.3-0.6 ms a tap, before the tap's frame.
        if len(self._times) < 4:
            return
        times, accents = self._times, self._accents
        unit = _grid_unit([b - a for a, b in zip(times, times[1:])])
        if unit is None:
            return
        # flams and doubles (a second tap well inside one grid slot) are ornaments, not slots
        kept_times, kept_accents = [times[0]], [accents[0]]
        last = times[0]
        for time, accent in zip(times[1:], accents[1:]):
            if time - last >= 0.6 * unit:
                last = time
                kept_times.append(time)
                kept_accents.append(accent)
        times, accents = kept_times, kept_accents
        if len(times) < 4:
            return
        fit = _fit_grid(times, unit)
        if fit is None:
            return
        off_grid = _off_grid(times, *fit)
        # the first guess at the slot is the common short gap: a swung reel's short ones are 0.8
        # of the slot; where the taps sit off the guessed grid, try the slot 1.25 times as long
        longer = _fit_grid(times, 1.25 * unit) if _mean(off_grid) > 0.1 else None
        if longer is not None:
            off_longer = _off_grid(times, *longer)
            if _mean(off_longer) < SWUNG_MARGIN * _mean(off_grid):
                fit, off_grid = longer, off_longer
        if sum(off > 0.3 for off in off_grid) / len(off_grid) >= 0.2:  # taps between the slots: missed taps hid a finer grid?
            finer = _fit_grid(times, fit[1] / 2)  # kept only where it halves the slot (not a swung reel's 0.4)
            if finer is not None and abs(finer[1] / fit[1] - 0.5) < 0.05 and _mean(_off_grid(times, *finer)) < _mean(off_grid):
                fit = finer
        slots, slope, intercept, swing = fit
        span = slots[-1] + 1

        best, best_score, best_residue = None, -1.0, 0
        scores = {}
        for m in _MULTIPLES:
            bpm = 60.0 / (m * slope)
            if not (self.min_bpm <= bpm <= self.max_bpm):
                continue
            prior = math.exp(-0.5 * (math.log2(bpm / self.preferred_bpm) / 0.5) ** 2)
            residue, contrast = _strongest_class([slot % m for slot in slots], accents, m)
            occupancy = _occupancy(slots, m, span)
            score = prior * (1.0 + 6.0 * contrast + 2.0 * (max(occupancy) - min(occupancy)))
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
        beat_slot = best_residue + best * math.floor((slots[-1] - best_residue) / best)
        # beats of an odd number of slots fall on odd and even slots in turn: half the swing each
        anchor = intercept + slope * beat_slot + (swing * (beat_slot & 1) if best % 2 == 0 else swing / 2)
        if self.beat_period is not None:  # keep counting beats across re-estimates
            self._anchor_number = round(self.beat_position(anchor))
        self._anchor, self.beat_period = anchor, period
        self.bpm = 60.0 / period
        if len(times) >= 8 and self._steady >= 3:
            residual = sum((t - (intercept + slope * slot + swing * (slot & 1))) ** 2 for t, slot in zip(times, slots))
            self.confident = math.sqrt(residual / len(times)) < 0.15 * slope
        else:
            self.confident = False
        if self.confident:
            occupancy = _occupancy(slots, best, span)
            self.pattern = _pattern_name(best, occupancy[best_residue:] + occupancy[:best_residue])
        if self.bar_beats > 1 and self.confident:
            classes, loud = [], []
            for time, accent in zip(times, accents):
                position = (time - anchor) / period
                if abs((position + 0.5) % 1.0 - 0.5) < 0.2:  # on the beat
                    classes.append(math.floor(self._anchor_number + position + 0.25) % self.bar_beats)
                    loud.append(accent)
            if len(classes) >= 3 * self.bar_beats:
                residue, strength = _strongest_beat(classes, loud, self.bar_beats)
                if strength > 3.0:  # the bar's accent stands clear of the taps' spread
                    self._downbeat = residue
                    self.downbeat_found = True
        self._note(times[-1])

    def _note(self, time: float) -> None:
        if self.track:
            last_time, last_bpm = self.track[-1]
            if abs(self.bpm - last_bpm) < 0.25 and time - last_time < 1.0:
                return
        self.track.append((time, round(self.bpm, 3)))
        if len(self.track) > 20_000:  # weeks of running: keep the recent history
            del self.track[:10_000]


def _mean(values) -> float:
    return sum(values) / len(values)


def _strongest_class(classes: list[int], accents: list[float], count: int):
    """The class with the highest mean accent, and how far above the overall mean it is."""
    if count == 1:
        return 0, 0.0
    sums, sizes = [0.0] * count, [0] * count
    for c, accent in zip(classes, accents):
        sums[c] += accent
        sizes[c] += 1
    means = [total / size if size else -math.inf for total, size in zip(sums, sizes)]
    best = means.index(max(means))
    return best, means[best] - _mean(accents)


def _grid_unit(gaps: list[float]) -> float | None:
    """The common short interval between taps: the grid slot. Flams (< 75 ms) are left out;
    swing's long-short pairs average out around the slot."""
    gaps = sorted(gap for gap in gaps if gap > 0.075)
    if len(gaps) < 3:
        return None
    low = _quartile(gaps)
    near = [gap for gap in gaps if 0.7 * low < gap < 1.6 * low]
    return _median(near) if near else low


def _quartile(ordered: list[float]) -> float:
    """The lower quartile of sorted values, interpolated as numpy's percentile(values, 25) does."""
    at = 0.25 * (len(ordered) - 1)
    below = math.floor(at)
    a, b = ordered[below], ordered[min(below + 1, len(ordered) - 1)]
    gamma = at - below
    return b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma


def _median(ordered: list[float]) -> float:
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def _fit_grid(times: list[float], unit: float):
    """The grid slot of each tap (rests are whole slots) and the least-squares grid through them:
    slots, slot length, the time of slot 0 and the swing (how much later than the straight grid
    the odd slots fall, s: a reel's off sixteenths come late by up to a fifth of a slot, which
    a straight grid fits at 0.8 of the slot; negative where the window's first tap is a late
    one, its parity counted even); None when the taps span under 3 slots."""
    slope, swing, best, previous = unit, 0.0, None, None
    for _ in range(3):  # slots from the gaps, then from the gaps on the fitted (swung) grid
        slots, slot = [0], 0
        for a, b in zip(times, times[1:]):
            gap = b - a
            step = max(round(gap / slope), 1)  # round half to even, as numpy's rint
            if swing:  # an odd step moves between an on and an off slot, an even one does not
                step = min((k for k in (step - 1, step, step + 1) if k >= 1),
                           key=lambda k: abs(gap - slope * k - swing * (((slot + k) & 1) - (slot & 1))))
            slot += step
            slots.append(slot)
        if slot < 3:
            return None
        if slots == previous:
            break
        fit = _least_squares(times, slots)
        if fit is None:
            return None
        slope, intercept, swing = fit
        miss = _mean(_off_grid(times, slots, *fit))
        if best is None or miss < best[0]:
            best = (miss, slots, *fit)
        previous = slots
    return best[1:]


def _least_squares(times: list[float], slots: list[int]):
    """time = intercept + slope * slot + swing * (slot is odd), about the means (times may be
    hours of clock); no swing where fewer than SWING_TAPS taps hold slots of either parity."""
    n = len(times)
    odd = [k & 1 for k in slots]
    mean_slot, mean_time, mean_odd = _mean(slots), _mean(times), _mean(odd)
    ds = [k - mean_slot for k in slots]
    dt = [t - mean_time for t in times]
    sxx = sum(d * d for d in ds)
    sxy = sum(d * e for d, e in zip(ds, dt))
    swing = 0.0
    if min(sum(odd), n - sum(odd)) >= SWING_TAPS:
        do = [o - mean_odd for o in odd]
        soo = sum(d * d for d in do)
        sxo = sum(d * e for d, e in zip(ds, do))
        soy = sum(d * e for d, e in zip(do, dt))
        det = sxx * soo - sxo * sxo
        if det > 1e-9 * sxx * soo:
            slope = (sxy * soo - soy * sxo) / det
            swing = (soy * sxx - sxy * sxo) / det
            if not (slope > 0.0 and abs(swing) < 0.35 * slope):
                swing = 0.0
    if swing == 0.0:
        slope = sxy / sxx if sxx > 0 else 0.0
        mean_odd = 0.0
    if not (slope > 0.0 and math.isfinite(slope)):
        return None
    intercept = mean_time - slope * mean_slot - swing * mean_odd
    return slope, intercept, swing


def _off_grid(times: list[float], slots: list[int], slope: float, intercept: float, swing: float) -> list[float]:
    """How far each tap sits from its slot, in slots (0 on the slot, 0.5 halfway to the next)."""
    return [abs((t - intercept - swing * (s & 1)) / slope - s) for t, s in zip(times, slots)]


def _occupancy(slots: list[int], count: int, span: int) -> list[float]:
    """For each slot class modulo `count`, the share of its grid slots that hold a tap."""
    taps = [0] * count
    for slot in slots:
        taps[slot % count] += 1
    whole, extra = divmod(span, count)  # the grid slots 0 .. span-1 of each class
    return [min(1.0, n / max(whole + (c < extra), 1)) for c, n in enumerate(taps)]


def _pattern_name(per_beat: int, occupancy: list[float]) -> str:
    """Name the footwork from the grid slots of a beat that carry taps (slot 0 on the beat).
    Four slots: all -> en quatre, the last one silent -> en trois ("ta-ka-ta" and a breath),
    the second silent -> ti-galop ("ta . ti-ga"), two -> en deux. Three even slots: a jig."""
    most = max(occupancy)
    # relative: a detector that misses taps empties no slot. A fifth of the busiest class's share,
    # not half: unaccented taps, 4-14 dB under the accent, go missing far more often than it, and
    # a rest holds only the odd false alarm (docs/corpus.md, attempt 69)
    count = sum(share >= PATTERN_SHARE * most for share in occupancy)
    if per_beat == 4:
        if count == 4:
            return "en quatre"
        if count == 3:
            return {3: "en trois", 1: "ti-galop"}.get(occupancy.index(min(occupancy)), "en trois")
        return "en deux" if count == 2 else "en un"
    if per_beat == 3:
        return "jig 6/8" if count >= 2 else "en un"
    if per_beat == 2:
        return "en deux" if count == 2 else "en un"
    if per_beat == 1:
        return "en un"
    return f"{count} par temps" if per_beat < 6 else "jig 6/8" if per_beat == 6 else "en quatre"


def _strongest_beat(classes: list[int], accents: list[float], count: int):
    """The beat of the bar whose taps are loudest, and by how many standard errors it beats
    the other beats (a t statistic), so a handful of loud taps is not a downbeat."""
    best, best_mean = 0, -math.inf
    for c in range(count):
        chosen = [a for k, a in zip(classes, accents) if k == c]
        if chosen and _mean(chosen) > best_mean:
            best, best_mean = c, _mean(chosen)
    inside = [a for k, a in zip(classes, accents) if k == best]
    outside = [a for k, a in zip(classes, accents) if k != best]
    if len(inside) < 2 or len(outside) < 2:
        return best, 0.0
    spread = math.sqrt(_variance(inside) / len(inside) + _variance(outside) / len(outside)) + 1e-6
    return best, (best_mean - _mean(outside)) / spread


def _variance(values: list[float]) -> float:
    """The sample variance (n - 1)."""
    mean = _mean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)
