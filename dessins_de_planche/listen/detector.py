"""Foot taps in a board mic that also hears fiddle, piano/guitar and the room.

Two stages. Stage A (every block) fires a provisional tap within a few ms of the onset,
tuned sensitive. Stage B (`listen.confirm`, a small learned model), once 16 ms of the hit
are heard, confirms it with its final kind and velocity (a refine record, same `tap_id`) or
withdraws it (a withdraw record): a piano or guitar attack, a new fiddle note, an echo.
Records in `out_refine`: RECORD_FIRST, then RECORD_REFINE or RECORD_WITHDRAW.

Runs in the audio callback thread (via `inputs.audio.BlockHandler`): every work buffer is
allocated in `__init__`, numpy writes with `out=`, and the per-tap logic runs on Python
floats. No I/O, no lock.

Stage A listens on a grid of short spectra fixed on the stream's frame count (a 2.7 ms
Hann window every 1.33 ms; any block size gives the same taps), in 12 bands from the bass
to the air, all channels at once:

- each band's level (dB) is **whitened by its own recent past**: a decaying peak of the
  frames `rise_span_s` and more ago (falling `ref_decay_db_per_ms`), so a steady tone, hum, a
  held note or a hit's own ringing tail stays at or under it;
- the **retrigger cancellation**: what a hit leaves is only that decaying peak — the
  expected tail — which each new frame is measured over, never a raised threshold or a
  deaf spell longer than stage B's window, so a quiet tap 25 ms after a loud one still
  rises over the loud one's tail in the bands it fills;
- a **noise-floor tracker** per band (a running low quantile of the level) under which
  nothing counts;
- a tap starts where stage A's **learned onset score** (`listen.onset`, a small perceptron on
  those rises at this hop and the two before it) passes its threshold: a foot fills many
  bands at once, a new note a few, a hum's beat none for long. Without its weights (or
  `learned_onset=False`) the rule of old decides: the bands' summed rise (dB over the larger
  of tail and floor, summed over bands) over `onset_db`.

The tap is emitted at once with a provisional kind (where its new energy lies) and velocity
(the peak heard so far); stage B's refine carries the final ones. Velocity: the hit's peak
over `velocity_window_s`, on a log scale, `velocity_floor_dbfs` (-50 dBFS) -> 0, 0 dBFS -> 1.
Without stage B's weights (or on a channel whose heel/toe split `calibrate` measured) the
final kind is the share of the hit's energy below `low_cut_hz` over `kind_window_s`, the same
length before the onset subtracted: a heel's body is a low thump, a toe's click has almost
nothing there.
Crosstalk: with several channels, a tap is held `crosstalk_s` before its first emission; a
strike heard by several sensors comes out once, on the channel whose hit is loudest (scaled
by each channel's calibrated gain).
Calibration (`listen.calibration`): per channel, a gain, a level floor and the heel share
split, measured on the player's own board.
Non-finite or absurd samples (|x| > 8) make a channel's block a gap: no taps, and the bands
learn their levels again for a few frames after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW
from dessins_de_planche.listen import confirm, onset

# The detector's matrix products are small (a block's bands, a candidate's spectra): a BLAS
# thread pool only adds wake-ups, and on a busy machine a product waiting for its threads
# held the audio callback 40-50 ms (bench/detector.py: worst block 47 ms with OpenBLAS's
# threads, 0.57 ms with one). Whoever listens (the input process, analyze, calibrate) does so
# with single-threaded BLAS.
threadpool_limits(1, user_api="blas")

# The learned stages' weights, read once: every detector shares them (read-only arrays).
_WEIGHTS = confirm.load_weights()
_ONSET_WEIGHTS = onset.load_weights()
# What `analyze --json` reports as the detector that heard a file: stage A's rules (or its
# learned score's stamp) and stage B's weights stamp (corpus version, training version, seed).
RULES_VERSION = "rules-3"


def _version(onset_weights, weights) -> str:
    first = RULES_VERSION if onset_weights is None else f"onset-{onset_weights['stamp']}"
    return first if weights is None else f"{first}+{weights['stamp']}"


DETECTOR_VERSION = _version(_ONSET_WEIGHTS, _WEIGHTS)


def use_weights(path, onset_path=None) -> str:
    """Make every detector built from now on use the stage B weights at `path` and the stage A
    weights at `onset_path` (a bench's leave-one-family-out folds; None: the shipped ones);
    returns the detector's version."""
    global _WEIGHTS, _ONSET_WEIGHTS, DETECTOR_VERSION
    weights = confirm.load_weights(path)
    if weights is None:
        raise FileNotFoundError(f"{path}: no stage B weights there")
    onset_weights = onset.load_weights(onset_path)
    if onset_path is not None and onset_weights is None:
        raise FileNotFoundError(f"{onset_path}: no stage A weights there")
    _WEIGHTS, _ONSET_WEIGHTS = weights, onset_weights
    DETECTOR_VERSION = _version(onset_weights, weights)
    return DETECTOR_VERSION


_BAD_LEVEL = 8.0  # |sample| above this (or NaN/Inf) marks a broken block
_BIN_HZ = 375.0  # the analysis spectrum's bin spacing (a 128-point DFT at 48 kHz)
_BAND_EDGES_HZ = (0, 400, 750, 1100, 1500, 2200, 3000, 4000, 5200, 7000, 9400, 12800, 24000)


@dataclass(frozen=True)
class DetectorSettings:
    """Every parameter in seconds or dB, so any sample rate behaves the same."""

    hop_s: float = 1 / 750  # the analysis grid (64 samples at 48 kHz); the window is two hops
    frame_s: float = 1 / 1500  # the calibration's noise measure (32 samples at 48 kHz)
    onset_db: float = 6.5  # summed rise over the bands (dB) that starts a tap
    rise_db: float = 3.0  # a band counts what rises over its decaying recent peak plus this
    band_cap_db: float = 8.0  # ... up to this much: one band alone (a hum's phase, a low note) never fires
    threshold_db: float = 3.0  # ... and over its noise floor plus this
    rise_span_s: float = 0.003  # a rise is measured against frames at least this far back
    hold_s: float = 0.011  # ... against the loudest of the last hold_s of them (a low tone's beat)
    ref_decay_db_per_ms: float = 0.8  # how fast the expected tail of what was heard falls
    floor_dbfs: float = -65.0  # frames quieter than this (RMS) never start a tap
    min_gap_s: float = 0.020  # a channel's next tap at least this long after the last (>= stage B's 16 ms)
    background_quantile: float = 0.2  # the noise floor is this quantile of recent band levels
    background_smooth_s: float = 0.01
    background_up_db_per_s: float = 60.0  # it rises at most this fast
    velocity_window_s: float = 0.010
    velocity_floor_dbfs: float = -50.0
    heel_toe_split_hz: float = 1900.0  # the provisional kind: the new energy's centroid
    heel_low_share: float = 0.3  # the rules' final kind: a heel puts this share of its energy below low_cut_hz
    low_cut_hz: float = 300.0
    kind_window_s: float = 0.010
    crosstalk_s: float = 0.002  # several channels: one strike heard by all is one tap, on the loudest
    warmup_s: float = 0.02  # after reset or a gap: learn the levels, do not fire
    learn_s: float = 0.6  # after reset: the noise floor moves 4x faster
    dc_s: float = 0.5
    onset_offset_s: float = 0.0  # the onset lies this long before the middle of the firing window
    # stage B: the learned confirm/withdraw, heard `confirm.SPAN_S` (16 ms) after the onset
    learned_onset: bool = True  # stage A's learned score fires taps (False, or no weights: onset_db's rule)
    stage_b: bool = True  # False: every candidate is confirmed by the rules alone
    withdraw_below: float | None = None  # a foot's probability under this withdraws (None: the weights' own)


def _frequency(hi: float, lo: float, sample_rate: float) -> float:
    """RMS frequency from the energy ratio of the two-sample difference to the signal
    (for a sine, 4 sin^2(2 pi f / sr)); meaningful up to sr / 4."""
    if lo <= 0.0:
        return 0.0 if hi <= 0.0 else 0.25 * sample_rate
    half = 0.5 * math.sqrt(hi / lo)
    return sample_rate / (2 * math.pi) * math.asin(half if half < 1.0 else 1.0)


# a pending tap: a list indexed by these
_ID, _ONSET, _HOP, _PEAK, _EMITTED, _KIND, _STRENGTH = range(7)


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
        self.hop = hop = max(8, int(round(s.hop_s * sr)))
        self.window = win = 2 * hop
        hop_ms = 1000.0 * hop / sr
        # the spectrum sampled every _BIN_HZ at any rate (the DFT is a matrix product, so its
        # frequencies are ours to choose): every rate gets the same bands, the learned score's
        freqs = np.arange(0.0, 0.5 * sr + 1e-9, _BIN_HZ)
        bands = []
        for lo, hi in zip(_BAND_EDGES_HZ[:-1], _BAND_EDGES_HZ[1:]):
            column = ((freqs >= lo) & (freqs < hi)).astype(np.float32)
            if column.any():
                bands.append(column)
        # (bin 0 counts: the first difference below leaves no DC, and a heel's thump lies near it)
        self.bands = b = len(bands)
        self._band_matrix = np.ascontiguousarray(np.stack(bands))  # (bands, bins)
        centres = np.array([float((col * freqs).sum() / col.sum()) for col in bands])
        self._centres = centres.tolist()
        self._win = np.hanning(win + 2)[1:-1].astype(np.float32)
        self._win_power = float((self._win ** 2).sum())
        # the windowed DFT of the first difference (x[n+1] - x[n], over win + 1 samples) up to
        # the last band's bins, as matrices, window and difference folded in. Each band is
        # measured against its own past, so the difference's tilt changes nothing there; what it
        # removes is a low tone's leakage into the upper bands (a hum's level beats with its phase)
        bins = int(np.flatnonzero(self._band_matrix.any(axis=0)).max()) + 1
        phase = 2 * np.pi * np.outer(np.arange(win), freqs[:bins]) / sr
        cos = np.cos(phase) * self._win[:, None]
        sin = np.sin(phase) * self._win[:, None]
        pad = np.zeros((1, bins))
        self._dft_cos = np.ascontiguousarray(np.vstack([pad, cos]) - np.vstack([cos, pad]), np.float32)
        self._dft_sin = np.ascontiguousarray(np.vstack([pad, sin]) - np.vstack([sin, pad]), np.float32)
        self._band_matrix_t = np.ascontiguousarray(self._band_matrix[:, :bins].T)
        # each band's level for white noise of unit power: the level floors are set from it
        self._band_gain_db = (10 * np.log10(((self._dft_cos ** 2 + self._dft_sin ** 2).sum(axis=0))
                                            @ self._band_matrix_t)).tolist()

        tuned = list(calibration or [])
        tuned += [None] * (c - len(tuned))
        self._gain = [1.0 if t is None else float(t.gain) for t in tuned]
        # the level floor, per channel and band: white noise at that RMS level never starts a tap
        floors = [s.floor_dbfs if t is None or t.floor_dbfs is None else t.floor_dbfs for t in tuned]
        self._band_floor = np.array([[f + g for g in self._band_gain_db] for f in floors], np.float32)
        self._heel_share = [s.heel_low_share if t is None or t.heel_low_share is None else float(t.heel_low_share)
                            for t in tuned]
        # a player's calibration decides the kind on that channel: stage B fine-tuned to their
        # shoes (its heel logit shifted: a heel from this probability), else their measured split
        self._heel_from = [0.5 if t is None or t.heel_bias is None else 1.0 / (1.0 + math.exp(float(t.heel_bias)))
                           for t in tuned]
        self._kind_calibrated = [t is not None and t.heel_low_share is not None and t.heel_bias is None
                                 for t in tuned]
        weights = None if weights is False else (weights if weights is not None else _WEIGHTS)
        onset_weights = _ONSET_WEIGHTS if s.learned_onset else None
        # stage A: the learned onset score where its weights are, else the summed-rise rule
        self.onset = None if onset_weights is None else onset.OnsetScore(onset_weights, c, b)
        # without weights (a build without them, or training's first pass) stage B still
        # measures its features but the rules have the final word
        self.stage_b = confirm.StageB(sr, weights) if s.stage_b else None
        self.version = _version(onset_weights, weights)
        self._withdraw_below = (s.withdraw_below if s.withdraw_below is not None else
                                (self.stage_b.threshold if weights is not None and s.stage_b else 0.0))
        self.collect = None  # a list: each stage B decision's (channel, onset, features, ...) (training)
        self.collect_hops = None  # a list: channel 0's band state at every hop (training stage A)
        self._no_rise = [-1.0] * c
        self.withdrawn = 0  # taps stage B took back since reset

        self._xt_n = (max(1, int(round(s.crosstalk_s * sr / hop))) if c > 1 and s.crosstalk_s > 0 else 0)
        # the rules' final kind: energy below low_cut_hz over kind_window_s, by projection on slow sinusoids
        n = self._kind_n = max(16, int(round(s.kind_window_s * sr)))
        t = np.arange(n) / sr
        freqs_k = np.arange(0.0, s.low_cut_hz + 1e-9, 1.0 / s.kind_window_s)
        columns_ = [np.cos(2 * np.pi * f * t) for f in freqs_k] + [np.sin(2 * np.pi * f * t) for f in freqs_k if f > 0]
        self._low_basis = np.ascontiguousarray(np.linalg.qr(np.stack(columns_, axis=1))[0].T, np.float32)
        self._low_out = np.zeros(len(self._low_basis), np.float32)
        self._kind_win = np.zeros(n, np.float32)
        self._hist_idx = np.zeros(n, np.intp)
        self._hist_arange = np.arange(n, dtype=np.intp)
        self._vel_n = max(1, int(round(s.velocity_window_s * sr)))
        self._vel_buf = np.zeros(self._vel_n + win, np.float32)
        self._vel_idx = np.zeros(self._vel_n + win, np.intp)
        self._vel_arange = np.arange(self._vel_n + win, dtype=np.intp)
        self._q_arange = np.arange(win // 4, dtype=np.intp)
        self._q_idx = np.zeros(win // 4, np.intp)
        self._q_buf = np.zeros(win // 4, np.float32)

        self._span = max(1, int(round(s.rise_span_s * sr / hop)))
        self._ref_decay = s.ref_decay_db_per_ms * hop_ms
        frame_rate = sr / hop
        up = s.background_up_db_per_s / frame_rate
        self._up = up
        self._down = up * (1.0 - s.background_quantile) / s.background_quantile
        self._smooth_a = 1.0 - math.exp(-1.0 / (s.background_smooth_s * frame_rate))
        self._learn_n = int(round(s.learn_s * frame_rate))
        self._warmup_n = max(self._span + 2, int(round(s.warmup_s * frame_rate)))
        self._gap = max(1, int(round(s.min_gap_s * frame_rate)))
        self._vel_floor = s.velocity_floor_dbfs
        self._dc_alpha = 1.0 / (s.dc_s * sr)
        self._onset_back = int(round(win / 2 + s.onset_offset_s * sr))  # window end -> onset
        # stage B's decision: the first hop whose end is SPAN past the onset
        # (the features use samples up to onset + span only, so any block size decides alike)
        heard = max(self._vel_n, n)
        reach = 0
        if self.stage_b is not None:
            heard = max(heard, self.stage_b.span)
            reach = self.stage_b.reach + self.stage_b.span
        self._final_hops = max(1, int(math.ceil((heard - self._onset_back) / hop)))
        self._reach = max(2 * n + win + self._vel_n + 4 * hop, reach + 4 * hop)

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

        # per-hop state, (bands, channels), in dB
        self._ref = np.zeros((c, b), np.float32)
        self._bg = np.zeros((c, b), np.float32)
        self._smooth = np.zeros((c, b), np.float32)
        self._ring = np.zeros((self._span + 1, c, b), np.float32)  # the last hops' levels
        self._hold_n = max(1, int(round(s.hold_s * sr / hop)))
        self._held = np.zeros((self._hold_n, c, b), np.float32)  # levels span .. span + hold hops ago
        self._held_max = np.zeros((c, b), np.float32)
        self._nov = np.zeros((c, b), np.float32)
        self._gate = np.zeros((c, b), np.float32)
        self._tmp = np.zeros((c, b), np.float32)
        self._mask = np.zeros((c, b), bool)
        self._dsum = np.zeros(c, np.float32)
        self._esum = np.zeros(c, np.float32)
        self._hist_n = 0
        self._alloc(max(int(block_size), 1))
        self.reset()

    # -- buffers -----------------------------------------------------------
    def _alloc(self, frames: int) -> None:
        c, b = self.channels, self.bands
        self._capacity = frames
        self._raw = np.zeros((frames + 2, c), np.float32)  # rows 0, 1: the previous block's last samples
        self._clean = np.zeros((frames, c), np.float32)  # DC removed
        self._diff = np.zeros((frames, c), np.float32)
        self._abs = np.zeros((frames, c), np.float32)
        self._peak_c = np.zeros(c, np.float32)
        self._lo_c = np.zeros(c, np.float32)
        self._hi_c = np.zeros(c, np.float32)
        self._sum = np.zeros(c, np.float32)
        self._dc = np.zeros(c, np.float32)
        self._dc_new = np.zeros(c, np.float32)
        self._dc_ramp_index = np.arange(1, frames + 1, dtype=np.float32)
        self._dc_ramp = np.zeros(frames, np.float32)
        self._dc_offset = np.zeros((frames, c), np.float32)
        hops = frames // self.hop + 2
        self._hops_cap = hops
        self._widx = np.zeros((hops, self.window + 1), np.intp)
        self._warange = np.arange(self.window + 1, dtype=np.intp)
        bins = self._dft_cos.shape[1]
        self._wx = np.zeros((c * hops, self.window + 1), np.float32)  # rows: channel-major, then hop
        self._re = np.zeros((c * hops, bins), np.float32)
        self._im = np.zeros((c * hops, bins), np.float32)
        self._pow = np.zeros((c * hops, bins), np.float32)
        self._level = np.zeros((c * hops, b), np.float32)
        self._hop_ends = np.zeros(hops, np.intp)
        hist_n = 1 << int(math.ceil(math.log2(self._reach + frames + self.window)))
        if hist_n > self._hist_n:  # (a larger block than announced starts it afresh)
            # DC-removed samples by channel, then by stream frame (a channel's row is contiguous,
            # so gathering from it copies nothing)
            self._history = np.zeros((c, hist_n), np.float32)
            self._hist_n = hist_n

    def reset(self) -> None:
        c = self.channels
        self._raw[:2] = 0.0
        self._dc[:] = 0.0
        self._dc_list = [0.0] * c
        self._started = [False] * c
        self._warm = [self._warmup_n] * c  # hops still to learn before firing
        self._hops_seen = [0] * c
        if self.onset is not None:
            self.onset.reset()
        self._ref[:] = -200.0
        self._bg[:] = -200.0
        self._smooth[:] = -200.0
        self._ring[:] = -200.0
        self._held[:] = -200.0
        self._deaf_until = [-1] * c
        self._pending = [None] * c  # the tap waiting for its final word, per channel
        self._won = [-(1 << 40)] * c  # crosstalk: start hop of the last tap emitted
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

    def _peak_since(self, ch: int, start: int, stop: int) -> float:
        """Largest |sample| of the channel's history in [start, stop) (per tap, preallocated)."""
        n = min(max(stop - start, 1), len(self._vel_arange))
        mask = self._hist_n - 1
        idx = self._vel_idx[:n]
        np.add(self._vel_arange[:n], start & mask, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        buf = self._vel_buf[:n]
        np.take(self._history[ch], idx, out=buf, mode="clip")
        return max(float(buf.max()), -float(buf.min()))

    def low_share(self, ch: int, start_sample: int) -> float:
        """Share of the energy below low_cut_hz in the kind window from `start_sample`, the
        same length just before it subtracted (per-tap, not per-block: preallocated, out=)."""
        n = self._kind_n
        column = self._history[ch]
        totals = []
        mask = self._hist_n - 1  # a power of two: the history is indexed modulo its length
        for begin in (start_sample, start_sample - n):
            # reduce the stream position first: take(mode="wrap") costs time in proportion to
            # the index, so an absolute sample count made a tap's block slower every hour
            np.add(self._hist_arange, begin & mask, out=self._hist_idx)
            np.bitwise_and(self._hist_idx, mask, out=self._hist_idx)
            np.take(column, self._hist_idx, out=self._kind_win, mode="clip")
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

    def _rules_kind(self, ch: int, p) -> int:
        share = self.low_share(ch, int(p[_ONSET] - 0.5 * self.hop))
        return KIND_HEEL if share > self._heel_share[ch] else KIND_TOE

    def _emit(self, channel: int, p, record: int, kind: int) -> None:
        i = self._count
        if i >= self.max_events:
            self.dropped_events += 1
            return
        self.out_onset[i] = p[_ONSET]
        self.out_channel[i] = channel
        self.out_velocity[i] = self._velocity(p[_PEAK])
        self.out_kind[i] = kind
        self.out_tap_id[i] = p[_ID]
        self.out_refine[i] = record
        self._count = i + 1

    def _first(self, channel: int, p, now: int) -> None:
        """The provisional record: the peak heard so far."""
        onset = int(p[_ONSET])
        p[_PEAK] = self._peak_since(channel, onset, now)
        self._emit(channel, p, RECORD_FIRST, p[_KIND])
        p[_EMITTED] = True

    def _final(self, channel: int, p, learned: bool) -> None:
        """The final word on a tap: stage B confirms it (with its kind) or withdraws it; without
        stage B (or when its window cannot be heard whole) the rules confirm it."""
        onset = int(p[_ONSET])
        p[_PEAK] = self._peak_since(channel, onset, onset + self._vel_n)
        stage_b = self.stage_b
        if not learned or stage_b is None:
            self._emit(channel, p, RECORD_REFINE, self._rules_kind(channel, p))
            return
        x = stage_b.features(self._history[channel], self._hist_n - 1, onset)
        if stage_b.weights is None:
            if self.collect is not None:  # training: offline only, never in a live callback
                self.collect.append((channel, onset, x.copy(), 1.0, 0.5, self._velocity(p[_PEAK])))
            self._emit(channel, p, RECORD_REFINE, self._rules_kind(channel, p))
            return
        foot, heel = stage_b.predict(x)
        if self.collect is not None:
            self.collect.append((channel, onset, x.copy(), foot, heel, self._velocity(p[_PEAK])))
        # stage B never sees the level (a quiet board and a loud one are the same feet), so it can
        # confirm a rise in the room's noise: a hit whose peak stays under the velocity floor is
        # too faint to be a foot on a board's mic, whatever its shape
        if foot < self._withdraw_below or self._velocity(p[_PEAK]) <= 0.0:
            self.withdrawn += 1
            self._emit(channel, p, RECORD_WITHDRAW, p[_KIND])
            return
        if self._kind_calibrated[channel]:
            kind = self._rules_kind(channel, p)
        else:
            kind = KIND_HEEL if heel >= self._heel_from[channel] else KIND_TOE
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
        raw = self._raw[: n + 2]
        signal = raw[2:]
        clean = self._clean[:n]
        with np.errstate(all="ignore"):  # NaN/Inf input is handled below, silently (no I/O here)
            np.take(block, self.columns, axis=1, out=signal, mode="clip")
            np.abs(signal, out=self._abs[:n])
            np.maximum.reduce(self._abs[:n], axis=0, out=self._peak_c)
            np.add.reduce(signal, axis=0, out=self._sum)
        peaks = self._peak_c.tolist()
        sums = self._sum.tolist()
        bad = None
        for ch in range(c):
            if not (peaks[ch] <= _BAD_LEVEL) or not (abs(sums[ch]) < _BAD_LEVEL * n):
                if bad is None:
                    bad = [False] * c
                bad[ch] = True
                signal[:, ch] = 0.0  # a gap: silence in the history, and relearn after it
        with np.errstate(all="ignore"):
            for ch in range(c):  # the first good block sets the DC estimate
                if not self._started[ch] and (bad is None or not bad[ch]):
                    self._dc_list[ch] = sums[ch] / n
                    self._dc[ch] = self._dc_list[ch]
                    self._started[ch] = True
            # the DC estimate moves through the block as a ramp from the last block's to this
            # one's: a step at each block's edge would be a click, as loud as the block is long
            for ch in range(c):
                if bad is None or not bad[ch]:
                    self._dc_list[ch] += self._dc_alpha * (sums[ch] - n * self._dc_list[ch])
            self._dc_new[:] = self._dc_list
            np.subtract(self._dc_new, self._dc, out=self._dc_new)
            np.multiply(self._dc_ramp_index[:n], 1.0 / n, out=self._dc_ramp[:n])
            offset = self._dc_offset[:n]
            np.multiply(self._dc_ramp[:n, None], self._dc_new, out=offset)
            np.add(offset, self._dc, out=offset)
            np.subtract(signal, offset, out=clean)
            if bad is not None:
                for ch in range(c):
                    if bad[ch]:
                        clean[:, ch] = 0.0
            np.subtract(signal, raw[:-2], out=self._diff[:n])
            # the history (DC removed), indexed by stream frame modulo its length
            size = self._hist_n
            at = start_frame & (size - 1)
            part = min(n, size - at)
            self._history[:, at : at + part] = clean[:part].T
            if part < n:
                self._history[:, : n - part] = clean[part:n].T
            # level, peak and brightness for the sound check
            np.multiply(clean, clean, out=self._abs[:n])
            np.add.reduce(self._abs[:n], axis=0, out=self._lo_c)
            np.multiply(self._diff[:n], self._diff[:n], out=self._abs[:n])
            np.add.reduce(self._abs[:n], axis=0, out=self._hi_c)
        lo_c = self._lo_c.tolist()
        hi_c = self._hi_c.tolist()

        # the hops that end in this block: spectra of all of them, all channels, at once
        hop = self.hop
        end = start_frame + n
        first_hop = start_frame // hop + 1  # hop k ends at stream frame k * hop
        last_hop = end // hop
        count = last_hop - first_hop + 1
        if count > 0:
            self._spectra(first_hop, count)
            levels = self._level[: c * count].reshape(c, count, self.bands)
            for j in range(count):
                self._hop(first_hop + j, levels[:, j], bad)

        for ch in range(c):
            if bad is not None and bad[ch]:
                p = self._pending[ch]
                if p is not None:  # a gap: close the tap with what was heard, by the rules
                    if not p[_EMITTED]:
                        self._first(ch, p, end)
                    self._final(ch, p, False)
                    self._pending[ch] = None
                self._warm[ch] = self._warmup_n
                self._hops_seen[ch] = 0  # after the gap its floor is learnt afresh too
                self.level[ch] = self.peak[ch] = self.brightness[ch] = 0.0
                continue
            p = self._pending[ch]
            if p is not None and not p[_EMITTED] and not self._xt_n:
                self._first(ch, p, end)
            self.level[ch] = math.sqrt(lo_c[ch] / n)
            self.peak[ch] = peaks[ch]
            f = _frequency(hi_c[ch], lo_c[ch], self.sample_rate)
            self.brightness[ch] = 0.0 if f <= 100.0 else min(1.0, math.log(f / 100.0) / math.log(80.0))
        raw[:2] = raw[n : n + 2]
        self._dc[:] = self._dc_list
        return self._count

    def _spectra(self, first_hop: int, count: int) -> None:
        """Band levels (dB) of the windows ending at hops first_hop .. first_hop + count - 1,
        every channel: a windowed DFT as two matrix products (numpy's FFT keeps scratch
        buffers of its own; a product into `out=` allocates nothing)."""
        hop, win, c = self.hop, self.window, self.channels
        mask = self._hist_n - 1
        idx = self._widx[:count]
        ends = self._hop_ends[:count]
        ends[:] = range(first_hop * hop - win - 1, (first_hop + count) * hop - win - 1, hop)
        np.add(ends[:, None], self._warange, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        rows = c * count
        wx = self._wx[:rows]
        for ch in range(c):
            np.take(self._history[ch], idx, out=wx[ch * count : (ch + 1) * count], mode="clip")
        re, im, power = self._re[:rows], self._im[:rows], self._pow[:rows]
        np.dot(wx, self._dft_cos, out=re)
        np.dot(wx, self._dft_sin, out=im)
        np.multiply(re, re, out=power)
        np.multiply(im, im, out=im)
        np.add(power, im, out=power)
        levels = self._level[:rows]
        np.dot(power, self._band_matrix_t, out=levels)
        np.add(levels, 1e-20, out=levels)
        np.log10(levels, out=levels)
        np.multiply(levels, 10.0, out=levels)

    def _hop(self, k: int, level: np.ndarray, bad) -> None:
        """One hop `k` (its window ends at stream frame k * hop): detect, then learn."""
        s = self.settings
        ref, bg, nov, gate = self._ref, self._bg, self._nov, self._gate
        ring = self._ring
        slot = k % len(ring)
        # the expected tail: the decaying peak of the hops `span` and more ago, and at least
        # the loudest of the `hold` hops before those (a low tone's level beats with its phase)
        lagged = ring[(k - self._span) % len(ring)]
        np.subtract(ref, self._ref_decay, out=ref)
        np.maximum(ref, lagged, out=ref)
        self._held[k % self._hold_n] = lagged
        np.maximum.reduce(self._held, axis=0, out=self._held_max)
        np.maximum(ref, self._held_max, out=ref)
        score = self.onset
        if score is None:
            # the rules: the rise of each band over the larger of that tail and the noise floor,
            # summed, over onset_db
            self._rules_gate()
            np.subtract(level, gate, out=nov)
            np.clip(nov, 0.0, s.band_cap_db, out=nov)
            np.add.reduce(nov, axis=1, out=self._dsum)
            rises = self._dsum.tolist()
            onset_db = s.onset_db
        else:
            # the learned score, on the same band state: scored only where the bands rose at all
            # over their tails and one is over the level floor (most hops of silence or a held
            # note are not), and only when a channel may fire; it fires over its threshold
            score.update(level, ref, bg, self._band_floor)
            worth = [r > onset.GATE_DB and loud > 0.0
                     for r, loud in zip(score.rises.tolist(), score.loudest.tolist())]
            ready = False
            for ch in range(self.channels):
                if worth[ch] and self._warm[ch] == 0 and k >= self._deaf_until[ch] and (bad is None or not bad[ch]):
                    ready = True
            rises = self._no_rise
            if ready:
                threshold = score.threshold
                rises = [sc - threshold if w else -1.0 for sc, w in zip(score.evaluate().tolist(), worth)]
            onset_db = 0.0
        if self.collect_hops is not None:  # training: offline only, never in a live callback
            self.collect_hops.append((k, level[0].copy(), ref[0].copy(), bg[0].copy(),
                                      self._warm[0] > 0 or (bad is not None and bad[0]),
                                      self._sounding(0, k)))
        for ch in range(self.channels):
            if bad is not None and bad[ch]:
                continue
            p = self._pending[ch]
            if p is not None:
                if self._xt_n and not p[_EMITTED] and k - p[_HOP] >= self._xt_n:
                    p = self._crosstalk_decide(ch, p, k)
                if p is not None and k - p[_HOP] >= self._final_hops:
                    if not p[_EMITTED]:
                        self._first(ch, p, k * self.hop)
                    self._final(ch, p, self.stage_b is not None)
                    self._pending[ch] = None
            if self._warm[ch] > 0:
                self._warm[ch] -= 1
                continue
            # ... with sound in the window's newest samples: a sound cut off into digital
            # silence (a gate, an edit) is a click of *falling* energy
            if rises[ch] > onset_db and k >= self._deaf_until[ch] and self._sounding(ch, k):
                self._start_tap(ch, k, level)
        # learn: the noise floor (a running low quantile of the smoothed level, per band)
        np.subtract(level, self._smooth, out=self._tmp)
        np.multiply(self._tmp, self._smooth_a, out=self._tmp)
        np.add(self._smooth, self._tmp, out=self._smooth)
        np.greater(self._smooth, bg, out=self._mask)
        np.multiply(self._mask, self._up + self._down, out=self._tmp)
        np.subtract(self._tmp, self._down, out=self._tmp)
        np.add(bg, self._tmp, out=bg)
        np.minimum(bg, self._smooth, out=self._tmp)  # ... never above the level itself for long
        np.maximum(bg, self._tmp, out=bg)
        ring[slot] = level
        # a channel learning (reset, gap): its floor and tail follow the level at once
        for ch in range(self.channels):
            if self._warm[ch] > 0 or (bad is not None and bad[ch]):
                self._ref[ch] = level[ch]
                if self._hops_seen[ch] < self._learn_n:
                    self._smooth[ch] = level[ch]
                    self._bg[ch] = level[ch]
            self._hops_seen[ch] += 1

    def _rules_gate(self) -> None:
        """Each band's bar for a rise: the larger of its tail and its noise floor (each plus a
        margin) and the level floor (the rules' onset, and the provisional kind of any tap)."""
        s = self.settings
        gate = self._gate
        np.add(self._ref, s.rise_db, out=gate)
        np.add(self._bg, s.threshold_db, out=self._tmp)
        np.maximum(gate, self._tmp, out=gate)
        np.maximum(gate, self._band_floor, out=gate)

    def _sounding(self, ch: int, k: int) -> bool:
        """The newest quarter of hop k's window holds at least a tenth of the energy of its
        oldest quarter (per candidate, preallocated)."""
        quarter = self.window // 4
        end = k * self.hop
        mask = self._hist_n - 1
        idx, buf = self._q_idx, self._q_buf
        np.add(self._q_arange, end - quarter, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        np.take(self._history[ch], idx, out=buf, mode="clip")
        newest = float(np.dot(buf, buf))
        np.add(self._q_arange, end - self.window, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        np.take(self._history[ch], idx, out=buf, mode="clip")
        return newest > 0.1 * float(np.dot(buf, buf))

    def _start_tap(self, ch: int, k: int, level: np.ndarray) -> None:
        p = self._pending[ch]
        if p is not None and self._xt_n and not p[_EMITTED]:
            p = self._crosstalk_decide(ch, p, k)
        if p is not None:  # a new tap before the last one was decided: close it by the rules
            if not p[_EMITTED]:
                self._first(ch, p, k * self.hop)
            self._final(ch, p, False)
        if self.onset is not None:  # (the rules measured it already)
            self._rules_gate()
        band_level = level[ch].tolist()
        gate = self._gate[ch].tolist()
        # where the new energy lies: its power-weighted centre, for the provisional kind
        total = weighted = 0.0
        energy = 0.0
        for lv, g, centre in zip(band_level, gate, self._centres):
            e = 10.0 ** (0.1 * lv)
            energy += e
            if lv > g:
                added = e - 10.0 ** (0.1 * g)
                total += added
                weighted += added * centre
        kind = KIND_TOE if total > 0 and weighted / total > self.settings.heel_toe_split_hz else KIND_HEEL
        onset = k * self.hop - self._onset_back
        tap_id = self._next_id
        self._next_id = (tap_id + 1) & 0xFFFFFFFF or 1
        self._pending[ch] = [tap_id, float(onset), k, 0.0, False, kind, 0.0]
        self._deaf_until[ch] = k + self._gap

    def _crosstalk_decide(self, ch: int, p, k: int):
        """Winner-take-all across channels: emit this tap unless another channel heard the same
        strike louder (a tap pending there within `crosstalk_s`) or already emitted it."""
        window = self._xt_n
        start = p[_HOP]
        onset = int(p[_ONSET])
        now = k * self.hop
        strength = self._peak_since(ch, onset, now) * self._gain[ch]
        for other in range(self.channels):
            if other == ch:
                continue
            if abs(self._won[other] - start) <= window:
                self._pending[ch] = None
                return None
            rival = self._pending[other]
            if rival is not None and not rival[_EMITTED] and abs(rival[_HOP] - start) <= window:
                rival_strength = self._peak_since(other, int(rival[_ONSET]), now) * self._gain[other]
                if rival_strength > strength or (rival_strength == strength and other < ch):
                    self._pending[ch] = None
                    return None
        self._first(ch, p, now)
        self._won[ch] = start
        return p
