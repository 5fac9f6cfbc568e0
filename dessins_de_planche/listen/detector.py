"""Foot taps in a board mic that also hears fiddle, piano/guitar and the room.

Two stages. Stage A (every block) fires a provisional tap within a few ms of the onset,
tuned sensitive. Stage B (`listen.confirm`, a small learned model), once 16 ms of the hit
are heard, confirms it with its final kind and velocity (a refine record, same `tap_id`) or
withdraws it (a withdraw record): a piano or guitar attack, a new fiddle note, an echo.
Records in `out_refine`: RECORD_FIRST, then RECORD_REFINE or RECORD_WITHDRAW.

Runs in the audio callback thread (via `inputs.audio.BlockHandler`): every work buffer is
allocated in `__init__`, numpy writes with `out=`, and the per-tap logic runs on Python
floats. No I/O, no lock.

Stage A's front end (`listen.front_end`) turns each block into band levels on a grid of
short spectra fixed on the stream's frame count (any block size gives the same taps), each
band whitened by its own recent past over a noise floor, and scores every hop; this module
is the tap logic on top of it. A tap starts where a channel's score passes its bar, with
sound in the window's newest samples, at least `min_gap_s` after that channel's last.

The tap is emitted at once with a provisional kind (where its new energy lies) and velocity
(the peak heard so far); stage B's refine carries the final ones: heel or toe read beside the
channel's recent feet (`listen.foot_kind`), then split where its own recent taps put it
(`listen.kinds`). Velocity: the hit's peak
over `velocity_window_s`, on a log scale, `velocity_floor_dbfs` (-60 dBFS) -> 0, 0 dBFS -> 1.
Without stage B's weights (or on a channel whose heel/toe split `calibrate` measured) the
final kind is the share of the hit's energy below `low_cut_hz` over `kind_window_s`, the same
length before the onset subtracted: a heel's body is a low thump, a toe's click has almost
nothing there.
Crosstalk: with several channels, a tap is held `crosstalk_s` before its first emission; a
strike heard by several sensors comes out once, on the channel whose hit is loudest (scaled
by each channel's calibrated gain).
Stage B's bar: lower on the grid of the player's recent gaps (`listen.grid`), higher while no
tap has been confirmed for `idle_s` (the feet at rest, when the music's onsets are most of what
stage A fires on).
Calibration (`listen.calibration`): per channel, a gain, a level floor and the heel share
split, measured on the player's own board, and stage B's bar off the grid raised by a soundcheck
of the band's music.
A channel's block that is a gap (non-finite or absurd samples) closes its pending tap by the
rules and fires nothing until the bands have learnt their levels again.
The settings and the shared weights: `listen.detector_settings`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW
from dessins_de_planche.listen import confirm, detector_settings
from dessins_de_planche.listen.detector_settings import DetectorSettings
from dessins_de_planche.listen.foot_kind import FootKind
from dessins_de_planche.listen.front_end import FrontEnd
from dessins_de_planche.listen.grid import TapGrid
from dessins_de_planche.listen.kinds import KindSplit

# The detector's matrix products are small (a block's bands, a candidate's spectra): a BLAS
# thread pool only adds wake-ups, and on a busy machine a product waiting for its threads
# held the audio callback 40-50 ms (bench/detector.py: worst block 47 ms with OpenBLAS's
# threads, 0.57 ms with one). Whoever listens (the input process, analyze, calibrate) does so
# with single-threaded BLAS.
threadpool_limits(1, user_api="blas")

# a pending tap: a list indexed by these
_ID, _ONSET, _HOP, _PEAK, _EMITTED, _KIND = range(6)


def stage_b_bar(on_grid: bool, grid_bar: float, own_bar: float, rest_bar: float | None,
                since_last: int | None, idle_n: int) -> float:
    """Stage B's bar for a candidate: `grid_bar` on the grid of the player's recent gaps; off it the
    channel's `own_bar`, or the higher `rest_bar` where no tap was confirmed for more than `idle_n`
    frames (`since_last`: frames since the last one, None before any). The live detector's rule, and
    the benches' that replay its word (bench/stage_b_replay.py)."""
    if on_grid:
        return grid_bar
    if rest_bar is not None and (since_last is None or since_last > idle_n):
        return max(own_bar, rest_bar)  # the feet at rest: most onsets are the music's
    return own_bar


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

        tuned = list(calibration or [])
        tuned += [None] * (c - len(tuned))
        self._gain = [1.0 if t is None else float(t.gain) for t in tuned]
        floors = [s.floor_dbfs if t is None or t.floor_dbfs is None else t.floor_dbfs for t in tuned]
        self._heel_share = [s.heel_low_share if t is None or t.heel_low_share is None else float(t.heel_low_share)
                            for t in tuned]
        # a player's calibration decides the kind on that channel: stage B fine-tuned to their
        # shoes (its heel logit shifted: a heel from this probability), else their measured split
        self._heel_from = [0.5 if t is None or t.heel_bias is None else 1.0 / (1.0 + math.exp(float(t.heel_bias)))
                           for t in tuned]
        self._kind_calibrated = [t is not None and t.heel_low_share is not None and t.heel_bias is None
                                 for t in tuned]
        self._shoes_tuned = [t is not None and t.heel_bias is not None for t in tuned]
        # heel or toe read on stage B's word beside the channel's recent feet, except where the
        # rules' split decides or a tune was made on stage B's own word (a calibration from before)
        reads_word = [not kind_calibrated and (t is None or t.heel_bias is None or bool(t.heel_bias_beside_feet))
                      for t, kind_calibrated in zip(tuned, self._kind_calibrated)]
        shared, shared_onset = detector_settings.shared_weights()
        weights = None if weights is False else (weights if weights is not None else shared)
        onset_weights = shared_onset if s.learned_onset else None
        # stage A: the band levels and the onset score (learned where its weights are, else the rule)
        self.front = front = FrontEnd(sr, self.columns, s, floors, onset_weights)
        self.hop = hop = front.hop
        self.window = win = front.window
        self.bands = front.bands
        self.onset = front.onset
        # without weights (a build without them, or training's first pass) stage B still
        # measures its features but the rules have the final word
        self.stage_b = confirm.StageB(sr, weights) if s.stage_b else None
        self.version = detector_settings.version(onset_weights, weights)
        below = (s.withdraw_below if s.withdraw_below is not None else
                 (self.stage_b.threshold if weights is not None and s.stage_b else 0.0))
        self._withdraw_on_grid = below if s.withdraw_on_grid is None else s.withdraw_on_grid
        # off the grid, per channel: raised where a soundcheck heard what stage B says of the band
        self._withdraw_below = [below if t is None or t.foot_bar is None else max(below, float(t.foot_bar))
                                for t in tuned]
        self.grid = TapGrid(sr, memory_s=s.grid_memory_s, tolerance_s=s.grid_tolerance_s,
                            tolerance_share=s.grid_tolerance_share)
        # the feet at rest (no tap confirmed for `idle_s`): off the grid the higher bar, per channel
        # never over what stage B said of a calibrated player's own softest taps (as a soundcheck's)
        rest = s.withdraw_when_idle
        self._withdraw_at_rest = [None if rest is None else (rest if t is None or t.own_feet is None
                                                             else min(rest, float(t.own_feet))) for t in tuned]
        self._idle_n = int(round(s.idle_s * sr))
        self.kinds = [KindSplit() for _ in range(c)]  # heel or toe by the player's own feet, per channel
        # what each channel's candidates sounded like lately: stage B reads each hit beside them
        self.memories = [self.stage_b.memory() if self.stage_b is not None else None for _ in range(c)]
        # heel or toe also beside each channel's recent feet, where the weights carry that word
        self.foot_kind = FootKind.of(weights) if self.stage_b is not None else None
        self.feet = [self.foot_kind.memory() if self.foot_kind is not None and reads else None for reads in reads_word]
        self.collect = None  # a list: each stage B decision's (channel, onset, features, ...) (training)
        self.collect_hops = None  # a list: channel 0's band state at every hop (training stage A)
        self.withdrawn = 0  # taps stage B took back since reset

        self._xt_n = (max(1, int(round(s.crosstalk_s * sr / hop))) if c > 1 and s.crosstalk_s > 0 else 0)
        # a channel whose candidate another channel won heard no tap of its own: deaf only until the
        # strike's rise is behind it (its tail then measures over it), not through stage B's window
        self._xt_deaf = max(1, int(round((s.rise_span_s + s.crosstalk_s) * sr / hop)))
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

        self._gap = max(1, int(round(s.min_gap_s * sr / hop)))
        self._vel_floor = s.velocity_floor_dbfs
        self.onset_back = int(round(win / 2 + s.onset_offset_s * sr))  # a hop's window end -> its onset (samples)
        # stage B's decision: the first hop whose end is SPAN past the onset
        # (the features use samples up to onset + span only, so any block size decides alike)
        heard = max(self._vel_n, n)
        reach = 0
        if self.stage_b is not None:
            heard = max(heard, self.stage_b.span)
            reach = self.stage_b.reach + self.stage_b.span
        self._final_hops = max(1, int(math.ceil((heard - self.onset_back) / hop)))
        # how far back of a block the history must reach (samples): stage B, the velocity, the kind
        self.reach = max(2 * n + win + self._vel_n + 4 * hop, reach + 4 * hop)

        self.max_events = max_events
        self.out_onset = np.zeros(max_events, np.float64)
        self.out_channel = np.zeros(max_events, np.intp)
        self.out_velocity = np.zeros(max_events, np.float32)
        self.out_kind = np.zeros(max_events, np.uint8)
        self.out_tap_id = np.zeros(max_events, np.uint32)
        self.out_refine = np.zeros(max_events, np.uint8)
        # the sound check of the last block, per channel (the front end's arrays)
        self.level, self.peak, self.brightness = front.level, front.peak, front.brightness
        self.dropped_events = 0  # records that did not fit in out_* (must stay 0)

        front.allocate(max(int(block_size), 1), self.reach)
        self.reset()

    def reset(self) -> None:
        c = self.channels
        self.front.reset()
        self._deaf_until = [-1] * c
        self._pending = [None] * c  # the tap waiting for its final word, per channel
        self._won = [-(1 << 40)] * c  # crosstalk: start hop of the last tap emitted
        self._lost_to = [None] * c  # crosstalk: (the channel, its start hop) that last won a strike heard here
        self._next_id = 1
        self._count = 0
        self.withdrawn = 0
        self.grid.reset()
        self._last_confirmed = None  # the stream frame of the last confirmed tap's onset, any channel
        for split in self.kinds:
            split.reset()
        for memory in self.memories + self.feet:
            if memory is not None:
                memory.reset()

    def _bar(self, channel: int, onset: int) -> float:
        """The foot probability stage B must give a candidate at stream frame `onset`: lower on the
        grid of the player's recent gaps, higher off it while the feet are at rest (no tap confirmed
        on any channel for `idle_s`; with the default settings the grid holds gaps of 1.2 s at most,
        so a candidate on it never comes at rest), else the channel's own."""
        last = self._last_confirmed
        return stage_b_bar(self.grid.on_grid(onset), self._withdraw_on_grid, self._withdraw_below[channel],
                           self._withdraw_at_rest[channel], None if last is None else onset - last, self._idle_n)

    # -- output ------------------------------------------------------------
    def _velocity(self, peak: float) -> float:
        if peak <= 0.0:
            return 0.0
        v = (20.0 * math.log10(peak) - self._vel_floor) / -self._vel_floor
        return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)

    def _peak_since(self, ch: int, start: int, stop: int) -> float:
        """Largest |sample| of the channel's history in [start, stop) (per tap, preallocated)."""
        n = min(max(stop - start, 1), len(self._vel_arange))
        mask = self.front.history_mask
        idx = self._vel_idx[:n]
        np.add(self._vel_arange[:n], start & mask, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        buf = self._vel_buf[:n]
        np.take(self.front.history[ch], idx, out=buf, mode="clip")
        return max(float(buf.max()), -float(buf.min()))

    def low_share(self, ch: int, start_sample: int) -> float:
        """Share of the energy below low_cut_hz in the kind window from `start_sample`, the
        same length just before it subtracted (per-tap, not per-block: preallocated, out=)."""
        n = self._kind_n
        column = self.front.history[ch]
        totals = []
        mask = self.front.history_mask  # a power of two: the history is indexed modulo its length
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
        x = stage_b.features(self.front.history[channel], self.front.history_mask, onset)
        if stage_b.weights is None:
            if self.collect is not None:  # training: offline only, never in a live callback
                self.collect.append((channel, onset, x.copy(), 1.0, 0.5, self._velocity(p[_PEAK])))
            self._emit(channel, p, RECORD_REFINE, self._rules_kind(channel, p))
            return
        memory = self.memories[channel]
        if memory is None:
            foot, heel = stage_b.predict(x)
        else:
            foot, heel = stage_b.predict(x, memory.mean())
            memory.add(x)
        if self.collect is not None:
            self.collect.append((channel, onset, x.copy(), foot, heel, self._velocity(p[_PEAK])))
        # stage B never sees the level (a quiet board and a loud one are the same feet), so it can
        # confirm a rise in the room's noise: a hit whose peak stays under the velocity floor is
        # too faint to be a foot on a board's mic, whatever its shape
        if foot < self._bar(channel, onset) or self._velocity(p[_PEAK]) <= 0.0:
            self.withdrawn += 1
            self._emit(channel, p, RECORD_WITHDRAW, p[_KIND])
            return
        self.grid.add(onset)
        if self._last_confirmed is None or onset > self._last_confirmed:
            self._last_confirmed = onset
        feet = self.feet[channel]
        if feet is not None:  # stage B's word beside this channel's recent feet
            heel = self.foot_kind.heel(heel, x, feet.mean())
            feet.add(x)
        if self._kind_calibrated[channel]:
            kind = self._rules_kind(channel, p)
        elif self._shoes_tuned[channel]:  # the word calibrate tuned to the player's shoes: its split
            kind = KIND_HEEL if heel >= self._heel_from[channel] else KIND_TOE
        else:
            kind = KIND_HEEL if self.kinds[channel].is_heel(heel) else KIND_TOE
        self._emit(channel, p, RECORD_REFINE, kind)

    # -- the block ----------------------------------------------------------
    def process(self, block: np.ndarray, start_frame: int) -> int:
        """Listen to one block (frames, device channels) starting at stream frame `start_frame`;
        return how many records were written to out_*."""
        self._count = 0
        n = block.shape[0]
        if n == 0:
            return 0
        front = self.front
        bad = front.begin(block, start_frame)
        # the hops that end in this block: spectra of all of them, all channels, at once
        first_hop, levels = front.spectra(start_frame, n)
        if levels is not None:
            for j in range(levels.shape[0]):
                self._hop(first_hop + j, levels[j], bad)
        end = start_frame + n
        for ch in range(self.channels):
            p = self._pending[ch]
            if bad is not None and bad[ch]:
                if p is not None:  # a gap: close the tap with what was heard, by the rules
                    if not p[_EMITTED]:
                        self._first(ch, p, end)
                    self._final(ch, p, False)
                    self._pending[ch] = None
                continue
            if p is not None and not p[_EMITTED] and not self._xt_n:
                self._first(ch, p, end)
        front.finish(n, bad)
        return self._count

    def _hop(self, k: int, level: np.ndarray, bad) -> None:
        """One hop `k` (its window ends at stream frame k * hop): decide, fire, then learn."""
        front = self.front
        rises, bar = front.rises(k, level, bad, self._deaf_until)
        if self.collect_hops is not None:  # training: offline only, never in a live callback
            self.collect_hops.append((k, level[0].copy(), front.ref[0].copy(), front.bg[0].copy(),
                                      front.warm[0] > 0 or (bad is not None and bad[0]), front.sounding(0, k),
                                      float(front.low_at(k)[0])))
        warm = front.warm
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
            if warm[ch] > 0:  # still learning its levels
                continue
            # ... with sound in the window's newest samples
            if rises[ch] > bar and k >= self._deaf_until[ch] and front.sounding(ch, k):
                self._start_tap(ch, k, level)
        front.learn(k, level, bad)

    def _start_tap(self, ch: int, k: int, level: np.ndarray) -> None:
        p = self._pending[ch]
        if p is not None and self._xt_n and not p[_EMITTED]:
            p = self._crosstalk_decide(ch, p, k)
        if p is not None:  # a new tap before the last one was decided: close it by the rules
            if not p[_EMITTED]:
                self._first(ch, p, k * self.hop)
            self._final(ch, p, False)
        # the provisional kind: where the new energy lies
        centre = self.front.new_energy_centre(ch, level)
        kind = KIND_TOE if centre > self.settings.heel_toe_split_hz else KIND_HEEL
        onset = k * self.hop - self.onset_back
        tap_id = self._next_id
        self._next_id = (tap_id + 1) & 0xFFFFFFFF or 1
        self._pending[ch] = [tap_id, float(onset), k, 0.0, False, kind]
        self._deaf_until[ch] = k + self._gap

    def _crosstalk_decide(self, ch: int, p, k: int):
        """Winner-take-all across channels: emit this tap unless another channel heard the same
        strike louder (a tap pending there within `crosstalk_s`) or already emitted it."""
        window = self._xt_n
        start = p[_HOP]
        onset = int(p[_ONSET])
        now = k * self.hop
        strength = self._peak_since(ch, onset, now) * self._gain[ch]
        lost_to = self._lost_to[ch]
        if lost_to is not None and start - lost_to[1] < self._gap:
            # listening again inside the strike this channel lost: a tap of its own only if it is louder
            # here than on the winner's channel over the same samples (else the strike's own body again)
            other = lost_to[0]
            if self._peak_since(other, onset, now) * self._gain[other] >= strength:
                return self._lost(ch, start, other, lost_to[1])
        for other in range(self.channels):
            if other == ch:
                continue
            if abs(self._won[other] - start) <= window:
                return self._lost(ch, start, other, self._won[other])
            rival = self._pending[other]
            if rival is not None and not rival[_EMITTED] and abs(rival[_HOP] - start) <= window:
                rival_strength = self._peak_since(other, int(rival[_ONSET]), now) * self._gain[other]
                if rival_strength > strength or (rival_strength == strength and other < ch):
                    return self._lost(ch, start, other, int(rival[_HOP]))
        self._first(ch, p, now)
        self._won[ch] = start
        return p

    def _lost(self, ch: int, start: int, winner: int, winner_start: int) -> None:
        """Another channel heard this strike louder: no tap here, and the channel listens again once the
        strike's rise is past (a music onset won by the band's channel must not hide a tap 6 ms later on
        the board's own channel, whatever stage B then says of the winner); until the winner's deaf span
        ends, what it hears counts only where it is louder than on the winner's channel."""
        self._pending[ch] = None
        self._deaf_until[ch] = min(self._deaf_until[ch], start + self._xt_deaf)
        if self._lost_to[ch] is None or self._lost_to[ch][1] != winner_start:
            self._lost_to[ch] = (winner, winner_start)
        return None
