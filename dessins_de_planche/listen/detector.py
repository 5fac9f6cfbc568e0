"""Foot taps in a board mic that also hears fiddle, piano/guitar and the room.

Two stages. Stage A (the rules below, every block) fires a provisional tap within a few ms
of the onset, tuned sensitive. Stage B (`listen.confirm`, a small learned model), once 16 ms
of the hit are heard, confirms it with its final kind and velocity (a refine record, same
`tap_id`) or withdraws it (a withdraw record): a piano or guitar attack, a new fiddle note,
an echo. Records: `out_refine` = RECORD_FIRST, then RECORD_REFINE or RECORD_WITHDRAW.

Runs in the audio callback thread (via `inputs.audio.BlockHandler`): every work
buffer is allocated in `__init__`, numpy writes with `out=`, and the per-tap
logic runs on Python floats over a few short frames per block. No I/O, no lock.

How it listens, per channel, on a grid of short frames (~0.67 ms, fixed on the
stream's frame count so any block size gives the same taps):

- two energies per frame: the full band (DC removed) hears the heel's low
  thump; the two-sample difference x[n] - x[n-2] (rising 6 dB/octave to a peak
  at sr/4) hears the toe's click over room hiss and is deaf to DC and hum;
- a tap starts where a band's energy jumps above its running background (a mean
  that rises slowly and with clipped steps, so taps barely lift it) **and** above
  its own recent past (a decaying peak of the frames 3 ms and more ago), so a
  steady tone, hum, a held fiddle note or a tap's own tail do not fire, while a
  second tap 30-40 ms after the first still does;
- after a tap, the channel is deaf for `min_gap_s`; the onset is placed where the
  hit rose (looking back up to a few frames);
- the tap is emitted at once with a provisional kind and velocity; when stage B
  has heard it (16 ms; without weights, `velocity_window_s`) a refine record (same
  `tap_id`, refine = 1) carries the final kind and velocity, or a withdraw record
  (refine = 2) takes it back.

Velocity: the hit's peak over `velocity_window_s`, on a log scale,
`velocity_floor_dbfs` (-50 dBFS) -> 0 and 0 dBFS -> 1.
Kind: provisionally, the RMS frequency of the hit's first frames (from the ratio of
the two band energies); finally, stage B's heel or toe — or, on a channel whose heel/toe
split `calibrate` measured (and without stage B), the share of the hit's energy
below `low_cut_hz` over `kind_window_s` from the onset, the same length of sound
just before the onset subtracted (the music and hum under it): a heel's body is a
low thump, a toe's click has almost nothing there, whatever the shoe or board. The
low-band energy is a projection on a few slow sinusoids (an orthonormal basis made
once), computed once per tap from a short history of the channel's samples.
Crosstalk: with several channels, a tap is held `crosstalk_s` before its first
emission; a strike heard by several sensors comes out once, on the channel whose
hit is loudest (scaled by each channel's calibrated gain).
Calibration (`listen.calibration`): per channel, a gain, a level floor and the heel
share split, measured on the player's own board.
Non-finite or absurd samples (|x| > 8) make a channel's block a gap: no taps, no
state change, so the next good block carries on as if nothing happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW
from dessins_de_planche.listen import confirm

# The learned stage's weights, read once: every detector shares them (read-only arrays).
_WEIGHTS = confirm.load_weights()
# What `analyze --json` reports as the detector that heard a file: stage A's rules and stage B's
# weights stamp (corpus version, training version, seed).
DETECTOR_VERSION = "rules-2" if _WEIGHTS is None else f"rules-2+{_WEIGHTS['stamp']}"


def use_weights(path) -> str:
    """Make every detector built from now on use the stage B weights at `path` (a bench's
    leave-one-family-out folds; None: the shipped weights); returns their stamp."""
    global _WEIGHTS, DETECTOR_VERSION
    weights = confirm.load_weights(path)
    if weights is None:
        raise FileNotFoundError(f"{path}: no stage B weights there")
    _WEIGHTS = weights
    DETECTOR_VERSION = f"rules-2+{weights['stamp']}"
    return weights["stamp"]

_BAD_LEVEL = 8.0  # |sample| above this (or NaN/Inf) marks a broken block


@dataclass(frozen=True)
class DetectorSettings:
    """Every parameter in seconds or dB, so any sample rate behaves the same."""

    frame_s: float = 1 / 1500  # the analysis grid (32 samples at 48 kHz)
    # stage A is tuned sensitive (stage B withdraws what is not a foot)
    threshold_db: float = 10.0  # frame energy over the running background
    rise_db: float = 6.0  # frame energy over the recent past
    floor_dbfs: float = -65.0  # frames quieter than this (RMS) never start a tap
    min_gap_s: float = 0.022  # taps 30 ms apart still come out as two
    background_quantile: float = 0.3  # the background is this quantile of recent frame energies
    background_smooth_s: float = 0.01
    background_up_s: float = 0.05  # it rises by a factor e in this time, at most
    rise_span_s: float = 0.003  # a rise is measured against frames at least this far back
    recent_decay_s: float = 0.006
    lookback_s: float = 0.003
    classify_s: float = 0.005
    velocity_window_s: float = 0.010
    velocity_floor_dbfs: float = -50.0
    heel_toe_split_hz: float = 1900.0  # the provisional kind (first emission): RMS frequency split
    heel_low_share: float = 0.3  # the final kind: a heel puts this share of its energy below low_cut_hz
    low_cut_hz: float = 300.0
    kind_window_s: float = 0.010  # heard from the onset for the final kind (refined within 20 ms)
    crosstalk_s: float = 0.002  # several channels: one strike heard by all is one tap, on the loudest
    warmup_s: float = 0.02  # after reset: learn the background, do not fire
    learn_s: float = 0.6  # after reset: the background moves 4x faster
    dc_s: float = 0.5
    # stage B: the learned confirm/withdraw, heard `confirm.SPAN_S` (16 ms) after the onset
    stage_b: bool = True  # False: every candidate is confirmed by the rules alone (as before)
    withdraw_below: float | None = None  # a foot's probability under this withdraws (None: the weights' own)


def _frequency(hi: float, lo: float, sample_rate: float) -> float:
    """RMS frequency from the energy ratio of the two-sample difference to the signal
    (for a sine, 4 sin^2(2 pi f / sr)); meaningful up to sr / 4."""
    if lo <= 0.0:
        return 0.0 if hi <= 0.0 else 0.25 * sample_rate
    half = 0.5 * math.sqrt(hi / lo)
    return sample_rate / (2 * math.pi) * math.asin(half if half < 1.0 else 1.0)


class TapDetector:
    def __init__(self, sample_rate: int, columns: Sequence[int], block_size: int = 128,
                 settings: DetectorSettings | None = None, max_events: int = 64, calibration=None,
                 weights=None):
        """`calibration`: one `listen.calibration.ChannelCalibration` (or None) per channel.
        `weights`: stage B's weights (a dict from `confirm.load_weights`); None: the shared ones;
        False: none (stage B measures, the rules decide)."""
        self.sample_rate = sr = float(sample_rate)
        self.columns = np.asarray(list(columns), dtype=np.intp)
        self.channels = c = len(self.columns)
        if c == 0:
            raise ValueError("the tap detector needs at least one channel")
        self.settings = s = settings or DetectorSettings()
        self.hop = hop = max(4, int(round(s.frame_s * sr)))
        frame_rate = sr / hop
        self._threshold = 10 ** (s.threshold_db / 10)
        self._rise = 10 ** (s.rise_db / 10)
        floor = hop * 10 ** (s.floor_dbfs / 10)
        # the difference signal of a 3 kHz sound carries 4 sin^2(2 pi 3000/sr) of its energy
        self._floor = (floor, floor * 4 * math.sin(2 * math.pi * min(3000.0, 0.125 * sr) / sr) ** 2)
        tuned = list(calibration or [])
        tuned += [None] * (c - len(tuned))
        self._gain = [1.0 if t is None else float(t.gain) for t in tuned]
        self._floors = [self._floor if t is None or t.floor_dbfs is None else
                        (hop * 10 ** (t.floor_dbfs / 10), self._floor[1] * 10 ** ((t.floor_dbfs - s.floor_dbfs) / 10))
                        for t in tuned]
        self._heel_share = [s.heel_low_share if t is None or t.heel_low_share is None else float(t.heel_low_share)
                            for t in tuned]
        # a player's measured heel/toe split decides the kind on that channel, over stage B's word
        self._kind_calibrated = [t is not None and t.heel_low_share is not None for t in tuned]
        weights = None if weights is False else (weights if weights is not None else _WEIGHTS)
        # without weights (a build without them, or training's first pass) stage B still
        # measures its features but the rules have the final word
        self.stage_b = confirm.StageB(sr, weights) if s.stage_b else None
        self.version = "rules-2" if weights is None else f"rules-2+{weights['stamp']}"
        self._withdraw_below = (s.withdraw_below if s.withdraw_below is not None else
                                (self.stage_b.threshold if weights is not None and s.stage_b else 0.0))
        self.collect = None  # a list: each stage B decision's (channel, onset, features, foot, heel) (training)
        self.withdrawn = 0  # taps stage B took back since reset
        self._xt_n = (max(1, int(round(s.crosstalk_s * frame_rate)))
                      if c > 1 and s.crosstalk_s > 0 else 0)
        # final kind: energy below low_cut_hz over kind_window_s, by projection on slow sinusoids
        n = self._kind_n = max(16, int(round(s.kind_window_s * sr)))
        t = np.arange(n) / sr
        freqs = np.arange(0.0, s.low_cut_hz + 1e-9, 1.0 / s.kind_window_s)
        columns_ = [np.cos(2 * np.pi * f * t) for f in freqs] + [np.sin(2 * np.pi * f * t) for f in freqs if f > 0]
        self._low_basis = np.ascontiguousarray(np.linalg.qr(np.stack(columns_, axis=1))[0].T, np.float32)
        self._low_out = np.zeros(len(self._low_basis), np.float32)
        self._kind_win = np.zeros(n, np.float32)
        span = confirm.StageB(sr, None) if s.stage_b else None  # the reach of stage B's windows
        reach = 0 if span is None else span.reach + span.span + 2 * hop
        # the confirm decision: the first grid frame whose end is SPAN_S past the onset (mid-frame)
        self._confirm_n = 0 if span is None else int(math.ceil((span.span + 0.5 * hop) / hop))
        self._reach = max(2 * n + (self._lookback_guess(s, frame_rate) + 4) * hop + 8, reach)
        self._hist_n = 1 << int(math.ceil(math.log2(self._reach + max(int(block_size), 1))))
        self._hist_idx = np.zeros(n, np.intp)
        self._hist_arange = np.arange(n, dtype=np.intp)
        self._tiny = floor * 1e-4
        up = 1.0 / (s.background_up_s * frame_rate)  # nepers per frame
        self._up = math.exp(up)
        self._down = math.exp(-up * (1.0 - s.background_quantile) / s.background_quantile)
        self._smooth_a = 1.0 - math.exp(-1.0 / (s.background_smooth_s * frame_rate))
        self._learn_up, self._learn_down = self._up ** 4, self._down ** 4
        self._learn_n = int(round(s.learn_s * frame_rate))
        self._decay = math.exp(-1.0 / (s.recent_decay_s * frame_rate))
        self._gap = max(1, int(round(s.min_gap_s * frame_rate)))
        self._rise_span = max(4, int(round(s.rise_span_s * frame_rate)))
        self._lookback = min(self._rise_span, max(0, int(round(s.lookback_s * frame_rate))))
        self._classify_n = max(1, int(round(s.classify_s * frame_rate)))
        self._velocity_n = max(self._classify_n, int(round(s.velocity_window_s * frame_rate)))
        # the final word: when stage B has heard enough, else (rules alone) at the velocity window
        self._final_n = self._velocity_n if self.stage_b is None else max(self._velocity_n, self._confirm_n)
        self._warmup_n = int(round(s.warmup_s * frame_rate))
        self._dc_alpha = 1.0 / (s.dc_s * sr)
        self._vel_floor = s.velocity_floor_dbfs

        self.max_events = max_events
        self.out_onset = np.zeros(max_events, np.float64)
        self.out_channel = np.zeros(max_events, np.intp)
        self.out_velocity = np.zeros(max_events, np.float32)
        self.out_kind = np.zeros(max_events, np.uint8)
        self.out_tap_id = np.zeros(max_events, np.uint32)
        self.out_refine = np.zeros(max_events, np.uint8)
        self.level = np.zeros(c, np.float32)
        self.peak = np.zeros(c, np.float32)
        self.brightness = np.zeros(c, np.float32)
        self.dropped_events = 0  # records that did not fit in out_* (must stay 0)

        self._alloc(max(int(block_size), 1))
        self._index_cache: dict = {}
        self.reset()

    @staticmethod
    def _lookback_guess(s, frame_rate) -> int:
        return max(4, int(round(s.rise_span_s * frame_rate))) + int(round(s.velocity_window_s * frame_rate))

    # -- buffers -----------------------------------------------------------
    def _alloc(self, frames: int) -> None:
        c = self.channels
        self._capacity = frames
        self._raw = np.zeros((frames + 2, c), np.float32)  # rows 0, 1: the previous block's last samples
        self._bands = np.zeros((frames, 2 * c), np.float32)  # signal | difference
        self._abs = np.zeros((frames, c), np.float32)
        segments = frames // self.hop + 2
        self._energy = np.zeros((segments, 2 * c), np.float32)
        self._peaks = np.zeros((segments, c), np.float32)
        self._sum = np.zeros(c, np.float32)
        self._dc = np.zeros(c, np.float32)
        self._hist_n = max(self._hist_n, 1 << int(math.ceil(math.log2(self._reach + frames))))
        if not hasattr(self, "_history") or self._history.shape[0] < self._hist_n:
            self._history = np.zeros((self._hist_n, c), np.float32)  # DC-removed samples, by stream frame

    def _segments(self, first: int, frames: int) -> np.ndarray:
        """Start index of each grid segment in a block whose first boundary is at `first`."""
        key = (first, frames)
        starts = self._index_cache.get(key)
        if starts is None:
            grid = list(range(first, frames, self.hop))
            starts = np.array(([0] if first else []) + grid if (first or grid) else [0], np.intp)
            if len(self._index_cache) < 4096:
                self._index_cache[key] = starts
        return starts

    def reset(self) -> None:
        c = self.channels
        self._raw[:2] = 0.0
        self._dc[:] = 0.0
        self._dc_list = [0.0] * c
        self._started = [False] * c
        self._warm = [self._warmup_n] * c
        self._smooth = [[0.0] * c, [0.0] * c]
        self._learn_until = [None] * c  # grid frame where learning ends, set by the first frame
        self._bg = [[self._tiny] * c, [self._tiny] * c]  # per band
        self._ref = [[0.0] * c, [0.0] * c]  # decaying peak of frames >= 3 back
        span = self._rise_span  # last frames, newest first; older ones feed the recent-past peak
        self._hist = [[[0.0] * span for _ in range(c)] for _ in range(2)]
        self._peak_hist = [[0.0] * span for _ in range(c)]
        self._carry = [[0.0, 0.0, 0.0] for _ in range(c)]  # lo, hi, peak of a part-filled frame
        self._deaf_until = [-1] * c
        # the tap waiting for its refine record, per channel: None or a list
        self._pending = [None] * c
        self._won = [(-(1 << 40), 0.0)] * c  # crosstalk: (start frame, strength) of the last tap emitted
        self._history[:] = 0.0
        self._next_id = 1
        self._count = 0
        self.withdrawn = 0

    # -- output ------------------------------------------------------------
    def _velocity(self, peak: float) -> float:
        if peak <= 0.0:
            return 0.0
        v = (20.0 * math.log10(peak) - self._vel_floor) / -self._vel_floor
        return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)

    def low_share(self, ch: int, start_sample: int) -> float:
        """Share of the energy below low_cut_hz in the kind window from `start_sample`, the
        same length just before it subtracted (per-tap, not per-block: preallocated, out=)."""
        n = self._kind_n
        column = self._history[:, ch]
        totals = []
        mask = self._hist_n - 1  # a power of two: the history is indexed modulo its length
        for begin in (start_sample, start_sample - n):
            # reduce the stream position first: take(mode="wrap") costs time in proportion to
            # the index, so an absolute sample count made a tap's block slower every hour
            np.add(self._hist_arange, begin & mask, out=self._hist_idx)
            np.bitwise_and(self._hist_idx, mask, out=self._hist_idx)
            np.take(column, self._hist_idx, out=self._kind_win)
            np.dot(self._low_basis, self._kind_win, out=self._low_out)
            low = float(np.dot(self._low_out, self._low_out))
            total = float(np.dot(self._kind_win, self._kind_win))
            totals.append((low, total))
        (low, total), (low_before, total_before) = totals
        low -= low_before
        total -= total_before
        if total <= 0.0:
            return 0.0
        return 0.0 if low <= 0.0 else min(1.0, low / total)

    def _final_kind(self, ch: int, p) -> int:
        share = self.low_share(ch, int(p[1] - 0.5 * self.hop))
        return KIND_HEEL if share > self._heel_share[ch] else KIND_TOE

    def _kind(self, p) -> int:
        # p: [tap_id, onset, frames_seen, lo, hi, peak, bg_lo, bg_hi, emitted, lo_k, hi_k, n_k]
        lo = p[9] - p[11] * p[6]
        hi = p[10] - p[11] * p[7]
        if lo <= 0.0:
            lo = p[9]
        if hi <= 0.0:
            hi = 0.0
        return KIND_TOE if _frequency(hi, lo, self.sample_rate) > self.settings.heel_toe_split_hz else KIND_HEEL

    def _emit(self, channel: int, p, record: int, kind: int = 0) -> None:
        i = self._count
        if i >= self.max_events:
            self.dropped_events += 1
            return
        self.out_onset[i] = p[1]
        self.out_channel[i] = channel
        self.out_velocity[i] = self._velocity(p[5])
        self.out_kind[i] = kind or (self._kind(p) if record == RECORD_FIRST else self._final_kind(channel, p))
        self.out_tap_id[i] = p[0]
        self.out_refine[i] = record
        self._count = i + 1

    def _final(self, channel: int, p, learned: bool) -> None:
        """The final word on a tap: stage B confirms it (with its kind) or withdraws it; without
        stage B (or when its window cannot be heard whole) the rules confirm it."""
        if not learned:
            self._emit(channel, p, RECORD_REFINE)
            return
        stage_b = self.stage_b
        onset = int(p[1])
        x = stage_b.features(self._history[:, channel], self._hist_n - 1, onset)
        if stage_b.weights is None:
            if self.collect is not None:  # training: offline only, never in a live callback
                self.collect.append((channel, onset, x.copy(), 1.0, 0.5, self._velocity(p[5])))
            self._emit(channel, p, RECORD_REFINE)
            return
        foot, heel = stage_b.predict(x)
        if self.collect is not None:
            self.collect.append((channel, onset, x.copy(), foot, heel, self._velocity(p[5])))
        if foot < self._withdraw_below:
            self.withdrawn += 1
            self._emit(channel, p, RECORD_WITHDRAW, self._kind(p))
            return
        if self._kind_calibrated[channel]:
            kind = self._final_kind(channel, p)
        else:
            kind = KIND_HEEL if heel >= 0.5 else KIND_TOE
        self._emit(channel, p, RECORD_REFINE, kind)

    # -- the block ----------------------------------------------------------
    def process(self, block: np.ndarray, start_frame: int) -> int:
        """Listen to one block (frames, device channels) starting at stream frame `start_frame`;
        return how many records were written to out_*."""
        self._count = 0
        n = block.shape[0]
        if n == 0:
            return 0
        if n > self._capacity:  # a larger block than announced: grow once (not in steady state)
            prev, dc = self._raw[:2].copy(), self._dc.copy()
            self._alloc(n)
            self._raw[:2], self._dc[:] = prev, dc
        if block.dtype != np.float32:
            block = block.astype(np.float32)
        if block.ndim == 1:
            block = block.reshape(-1, 1)
        c = self.channels
        hop = self.hop
        raw = self._raw[: n + 2]
        signal = raw[2:]
        bands = self._bands[:n]
        first = (hop - start_frame % hop) % hop
        starts = self._segments(first, n)
        segs = len(starts)
        with np.errstate(all="ignore"):  # NaN/Inf input is handled below, silently (no I/O here)
            np.take(block, self.columns, axis=1, out=signal)
            np.subtract(signal, raw[:-2], out=bands[:, c:])
            np.subtract(signal, self._dc, out=bands[:, :c])
            # keep the last few tens of ms (DC removed) for the per-tap kind
            size = self._hist_n
            at = start_frame % size
            if n >= size:
                self._history[:] = bands[n - size : n, :c]  # (rolled; only for absurd block sizes)
            else:
                part = min(n, size - at)
                self._history[at : at + part] = bands[:part, :c]
                if part < n:
                    self._history[: n - part] = bands[part:n, :c]
            np.abs(bands[:, :c], out=self._abs[:n])
            np.maximum.reduceat(self._abs[:n], starts, axis=0, out=self._peaks[:segs])
            np.multiply(bands, bands, out=bands)
            np.add.reduceat(bands, starts, axis=0, out=self._energy[:segs])
            np.add.reduce(signal, axis=0, out=self._sum)
        energy = self._energy[:segs].tolist()
        peaks = self._peaks[:segs].tolist()
        sums = self._sum.tolist()
        prev_raw = raw[:2].tolist()

        # which channels are broken this block (NaN, Inf, absurd levels)
        bad = None
        for ch in range(c):
            top = max(row[ch] for row in peaks)
            if not (top <= _BAD_LEVEL) or not (abs(sums[ch]) < _BAD_LEVEL * n):
                if bad is None:
                    bad = [False] * c
                bad[ch] = True

        # ends of segments, and which are complete grid frames
        ends_at_boundary = (start_frame + n) % hop == 0
        block_lo = [0.0] * c
        block_hi = [0.0] * c
        block_peak = [0.0] * c
        frame_of_first_end = (start_frame + (first if first else hop)) // hop - 1
        for i in range(segs):
            complete = i < segs - 1 or ends_at_boundary
            row = energy[i]
            prow = peaks[i]
            q = frame_of_first_end + i  # grid frame this segment ends (completes)
            for ch in range(c):
                if bad is not None and bad[ch]:
                    continue
                lo = row[ch]
                hi = row[c + ch]
                pk = prow[ch]
                block_lo[ch] += lo
                block_hi[ch] += hi
                if pk > block_peak[ch]:
                    block_peak[ch] = pk
                carry = self._carry[ch]
                if i == 0 and first:
                    lo += carry[0]
                    hi += carry[1]
                    if carry[2] > pk:
                        pk = carry[2]
                    carry[0] = carry[1] = carry[2] = 0.0
                if not complete:
                    carry[0], carry[1], carry[2] = lo, hi, pk
                    continue
                self._frame(ch, q, lo, hi, pk)

        for ch in range(c):
            if bad is not None and bad[ch]:
                self._carry[ch][:] = (0.0, 0.0, 0.0)
                p = self._pending[ch]
                if p is not None:  # a gap: close the tap with what was heard, by the rules
                    if not p[8]:
                        self._emit(ch, p, RECORD_FIRST)
                    self._final(ch, p, False)
                    self._pending[ch] = None

                self.level[ch] = self.peak[ch] = self.brightness[ch] = 0.0
                continue
            p = self._pending[ch]
            if p is not None and not p[8] and not self._xt_n:
                self._emit(ch, p, RECORD_FIRST)
                p[8] = True
            if not self._started[ch]:
                self._dc_list[ch] = sums[ch] / n
                self._started[ch] = True
            else:
                self._dc_list[ch] += self._dc_alpha * (sums[ch] - n * self._dc_list[ch])
            self.level[ch] = math.sqrt(block_lo[ch] / n)
            self.peak[ch] = block_peak[ch]
            f = _frequency(block_hi[ch], block_lo[ch], self.sample_rate)
            self.brightness[ch] = 0.0 if f <= 100.0 else min(1.0, math.log(f / 100.0) / math.log(80.0))
        raw[:2] = raw[n : n + 2]
        self._dc[:] = self._dc_list
        if bad is not None:  # the next block differences against the last good samples
            for ch in range(c):
                if bad[ch]:
                    raw[0, ch], raw[1, ch] = prev_raw[0][ch], prev_raw[1][ch]
        return self._count

    def _frame(self, ch: int, q: int, lo: float, hi: float, pk: float) -> None:
        """One complete grid frame `q` of channel `ch`: detect, then learn."""
        bg_lo = self._bg[0][ch]
        bg_hi = self._bg[1][ch]
        hist_lo = self._hist[0][ch]
        hist_hi = self._hist[1][ch]
        peak_hist = self._peak_hist[ch]
        p = self._pending[ch]
        if p is not None:  # the tap still being heard: accumulate, refine when heard enough
            p[2] += 1
            if p[2] <= self._classify_n:
                p[9] += lo
                p[10] += hi
                p[11] += 1
            if pk > p[5] and p[2] <= self._velocity_n:
                p[5] = pk
            if self._xt_n and not p[8] and q - p[12] >= self._xt_n:
                p = self._crosstalk_decide(ch, p)
            if p is not None and p[2] >= self._final_n:
                if not p[8]:
                    self._emit(ch, p, RECORD_FIRST)
                    p[8] = True
                self._final(ch, p, self.stage_b is not None)
                self._pending[ch] = None
        if self._warm[ch] > 0:
            if self._learn_until[ch] is None:
                self._learn_until[ch] = q + self._learn_n
            self._warm[ch] -= 1
            if lo > bg_lo:
                self._bg[0][ch] = bg_lo = lo
            if hi > bg_hi:
                self._bg[1][ch] = bg_hi = hi
            self._smooth[0][ch] = bg_lo
            self._smooth[1][ch] = bg_hi
        elif q >= self._deaf_until[ch]:
            threshold, rise, floor = self._threshold, self._rise, self._floors[ch]
            # a bright rise counts only if the whole band gained energy too: a sound cut
            # off into digital silence (a gate, an edit) is a click of *falling* energy
            if ((lo > threshold * bg_lo + floor[0] and lo > rise * self._ref[0][ch])
                    or (hi > threshold * bg_hi + floor[1] and hi > rise * self._ref[1][ch]
                        and lo > hist_lo[0])):
                self._start_tap(ch, q, lo, hi, pk, bg_lo, bg_hi, hist_lo, hist_hi, peak_hist)
        # learn the background: a running quantile (`background_quantile`) of the frame energy
        # smoothed over `background_smooth_s`, moved by fixed ratios, so taps (a minority of
        # frames, however loud) barely lift it and a low tone's waveform does not drag it down
        if q < self._learn_until[ch]:  # a fresh detector learns the room faster
            up, down = self._learn_up, self._learn_down
        else:
            up, down = self._up, self._down
        smooth = self._smooth[0]
        mean = smooth[ch] = smooth[ch] + self._smooth_a * (lo - smooth[ch])
        bg_lo = bg_lo * up if mean > bg_lo else bg_lo * down
        self._bg[0][ch] = bg_lo if bg_lo > self._tiny else self._tiny
        smooth = self._smooth[1]
        mean = smooth[ch] = smooth[ch] + self._smooth_a * (hi - smooth[ch])
        bg_hi = bg_hi * up if mean > bg_hi else bg_hi * down
        self._bg[1][ch] = bg_hi if bg_hi > self._tiny else self._tiny
        decay = self._decay
        oldest = hist_lo.pop()
        ref = self._ref[0][ch] * decay
        self._ref[0][ch] = ref if ref > oldest else oldest
        oldest = hist_hi.pop()
        ref = self._ref[1][ch] * decay
        self._ref[1][ch] = ref if ref > oldest else oldest
        hist_lo.insert(0, lo)
        hist_hi.insert(0, hi)
        peak_hist.pop()
        peak_hist.insert(0, pk)

    def _start_tap(self, ch, q, lo, hi, pk, bg_lo, bg_hi, hist_lo, hist_hi, peak_hist) -> None:
        p = self._pending[ch]
        if p is not None and self._xt_n and not p[8]:
            p = self._crosstalk_decide(ch, p)
        if p is not None:  # a new tap before the last one was refined: close it by the rules
            if not p[8]:
                self._emit(ch, p, RECORD_FIRST)
            self._final(ch, p, False)
        # look back for where the hit rose: earlier frames already well above the background
        start = q
        level = lo + hi
        acc_lo, acc_hi, acc_pk, n = lo, hi, pk, 1
        for back in range(self._lookback):
            e = hist_lo[back] + hist_hi[back]
            if e > 0.05 * level and e > 2.0 * (bg_lo + bg_hi):
                start -= 1
                acc_lo += hist_lo[back]
                acc_hi += hist_hi[back]
                n += 1
                if peak_hist[back] > acc_pk:
                    acc_pk = peak_hist[back]
            else:
                break
        onset = (start + 0.5) * self.hop
        tap_id = self._next_id
        self._next_id = (tap_id + 1) & 0xFFFFFFFF or 1
        self._pending[ch] = [tap_id, onset, n, acc_lo, acc_hi, acc_pk, bg_lo, bg_hi, False,
                             acc_lo, acc_hi, n, q]
        self._deaf_until[ch] = q + self._gap

    def _crosstalk_decide(self, ch: int, p):
        """Winner-take-all across channels: emit this tap unless another channel heard the same
        strike louder (a tap pending there within `crosstalk_s`) or already emitted it."""
        window = self._xt_n
        start = p[12]
        strength = p[5] * self._gain[ch]
        for other in range(self.channels):
            if other == ch:
                continue
            won_at, _ = self._won[other]
            if abs(won_at - start) <= window:
                self._pending[ch] = None
                return None
            rival = self._pending[other]
            if rival is not None and not rival[8] and abs(rival[12] - start) <= window:
                rival_strength = rival[5] * self._gain[other]
                if rival_strength > strength or (rival_strength == strength and other < ch):
                    self._pending[ch] = None
                    return None
        self._emit(ch, p, RECORD_FIRST)
        p[8] = True
        self._won[ch] = (start, strength)
        return p
