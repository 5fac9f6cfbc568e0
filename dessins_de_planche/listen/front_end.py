"""Stage A's front end: each block into band levels on a hop grid, every band whitened by its
own recent past over a noise floor, and each hop's onset score per channel.

Its own module because it never sees a tap: it keeps the sample history, the band state and
the sound check; the tap logic (`listen.detector.TapDetector`) decides what a rise starts and
reads the history back for a tap's peak, kind and stage B. It runs in the audio callback,
called by the tap detector: buffers allocated in `allocate`, the arithmetic of each block and
hop in C on them (`listen.hop_kernels`), the per-channel logic on Python floats; no I/O, no lock.

The grid of short spectra is fixed on the stream's frame count (a 2.7 ms Hann window every
1.33 ms: any block size gives the same hops), 12 bands from the bass to the air, all channels
at once. Each band's level (dB) is measured over its **expected tail**, a decaying peak of the
hops `rise_span_s` and more ago (falling `ref_decay_db_per_ms`): a steady tone, a held note or
a hit's own ringing stays under it, and a quiet tap 25 ms after a loud one still rises over
the loud one's tail in the bands it fills (never a raised threshold or a deaf spell). A
**noise floor** per band (a running low quantile of the level), under which nothing counts.
The onset score is stage A's learned score (`listen.onset`, a small perceptron on those rises
at this hop and the two before it: a foot fills many bands at once, a new note a few; and on
the energy under 300 Hz at each hop, `low_at`, for a longer view of a heel's thump); without
its weights (or `learned_onset=False`) the rule of old: the bands' summed rise over the larger
of tail and floor, over `onset_db`. Non-finite or absurd samples (|x| > 8) make a channel's
block a gap: silence in the history, and its bands learn their levels again after it.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from dessins_de_planche.listen import onset
from dessins_de_planche.listen.hop_kernels import ffi, floats, integers, lib
from dessins_de_planche.listen.detector_settings import DetectorSettings

_BAD_LEVEL = 8.0  # |sample| above this (or NaN/Inf) marks a broken block
_BIN_HZ = 375.0  # the analysis spectrum's bin spacing (a 128-point DFT at 48 kHz)
_BAND_EDGES_HZ = (0, 400, 750, 1100, 1500, 2200, 3000, 4000, 5200, 7000, 9400, 12800, 24000)
# the lowest band's longer view (stage A's heels): a 4th-order Butterworth low-pass at 300 Hz,
# its impulse response cut at 10.7 ms (where it has fallen 60 dB), read 4 times a hop
_LOW_HZ, _LOW_S, _LOW_READS = 300.0, 0.0107, 4
_EPS = np.float32(1e-20)  # a band's power before its level is taken (silence: -200 dB, then clamped)


def low_pass_response(sample_rate: float, length: int) -> np.ndarray:
    """The first `length` samples of a 4th-order Butterworth low-pass's impulse response (two
    biquads by the bilinear transform, prewarped: scipy's `butter(4, _LOW_HZ)`, without scipy)."""
    k = math.tan(math.pi * _LOW_HZ / sample_rate)
    x = np.zeros(length)
    x[0] = 1.0
    for q in (1 / (2 * math.cos(math.pi / 8)), 1 / (2 * math.cos(3 * math.pi / 8))):
        norm = 1.0 / (1.0 + k / q + k * k)
        b0 = k * k * norm
        a1, a2 = 2.0 * (k * k - 1.0) * norm, (1.0 - k / q + k * k) * norm
        y = np.zeros(length)
        x1 = x2 = y1 = y2 = 0.0
        for n, v in enumerate(x.tolist()):
            out = b0 * (v + 2.0 * x1 + x2) - a1 * y1 - a2 * y2
            x2, x1, y2, y1 = x1, v, y1, out
            y[n] = out
        x = y
    return x


def _frequency(hi: float, lo: float, sample_rate: float) -> float:
    """RMS frequency from the energy ratio of the two-sample difference to the signal
    (for a sine, 4 sin^2(2 pi f / sr)); meaningful up to sr / 4."""
    if lo <= 0.0:
        return 0.0 if hi <= 0.0 else 0.25 * sample_rate
    half = 0.5 * math.sqrt(hi / lo)
    return sample_rate / (2 * math.pi) * math.asin(half if half < 1.0 else 1.0)


class FrontEnd:
    def __init__(self, sample_rate: float, columns: np.ndarray, settings: DetectorSettings,
                 floors: Sequence[float], onset_weights):
        """`columns`: the device channels listened to; `floors`: each one's level floor (dBFS);
        `onset_weights`: stage A's learned score (None: the summed-rise rule). `allocate`
        before the first block."""
        self.sample_rate = sr = float(sample_rate)
        self.columns = columns
        self.channels = c = len(columns)
        self.settings = s = settings
        self.hop = hop = max(8, int(round(s.hop_s * sr)))
        self.window = win = 2 * hop
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
        band_matrix = np.stack(bands)  # (bands, bins)
        centres = np.array([float((col * freqs).sum() / col.sum()) for col in bands])
        self._centres = centres.tolist()
        self._win = np.hanning(win + 2)[1:-1].astype(np.float32)
        # the windowed DFT of the first difference (x[n+1] - x[n], over win + 1 samples) up to
        # the last band's bins, as matrices, window and difference folded in. Each band is
        # measured against its own past, so the difference's tilt changes nothing there; what it
        # removes is a low tone's leakage into the upper bands (a hum's level beats with its phase)
        bins = int(np.flatnonzero(band_matrix.any(axis=0)).max()) + 1
        phase = 2 * np.pi * np.outer(np.arange(win), freqs[:bins]) / sr
        cos = np.cos(phase) * self._win[:, None]
        sin = np.sin(phase) * self._win[:, None]
        pad = np.zeros((1, bins))
        dft_cos = np.vstack([pad, cos]) - np.vstack([cos, pad])
        dft_sin = np.vstack([pad, sin]) - np.vstack([sin, pad])
        band_matrix_t = np.ascontiguousarray(band_matrix[:, :bins].T)
        # the hop's spectrum as one product: cosine and sine parts side by side, squared in
        # place, and each band summing its bins' two parts
        self._dft = np.ascontiguousarray(np.hstack([dft_cos, dft_sin]), np.float32)
        self._bin_band = np.array([int(np.argmax(col)) if col.any() else -1 for col in band_matrix_t], np.intp)
        self._spectrum = np.zeros(self._dft.shape[1], np.float32)
        # each band's level for white noise of unit power: the level floors are set from it
        white = self._dft[:, :bins] ** 2 + self._dft[:, bins:] ** 2
        self._band_gain_db = (10 * np.log10(white.sum(axis=0) @ band_matrix_t)).tolist()
        # the level floor, per channel and band: white noise at that RMS level never starts a tap
        self.band_floor = np.array([[f + g for g in self._band_gain_db] for f in floors], np.float32)
        # and 20 dB under it, where every band level stops: under it nothing counts, and what is
        # there (digital silence, a 16-bit file's last bit, a DC estimate's steps) would read as
        # rises of 100 dB over silence, the context of the next tap's hops
        self._band_clamp = self.band_floor + np.float32(onset.LEVEL_RANGE[0])
        # the learned onset score where its weights are, else the summed-rise rule
        self.onset = None if onset_weights is None else onset.OnsetScore(onset_weights, c, b)
        self._no_rise = [-1.0] * c
        # the lowest band's energy at every hop (`spectra`), for the learned score that reads it
        # (and for training, which records it from the rules' detector)
        self.measure_low = self.onset is None or self.onset.low_band
        step = max(1, hop // _LOW_READS)
        length = max(8, int(round(_LOW_S * sr)))
        self._low_span = span = length + (_LOW_READS - 1) * step
        # the filter's outputs at the hop's last sample and `step`, 2 `step`... before it, as a
        # matrix on the hop's last `span` samples
        response = low_pass_response(sr, length)
        taps = np.zeros((span, _LOW_READS))
        for j in range(_LOW_READS):
            end = span - 1 - j * step
            taps[end - length + 1 : end + 1, j] = response[::-1]
        self._low_taps = np.ascontiguousarray(taps * math.sqrt(1.0 / _LOW_READS), np.float32)
        if not self.measure_low:
            self._low_taps = np.zeros((0, 0), np.float32)
        self._samples = np.zeros(max(win + 1, span), np.float32)  # one hop's samples (scratch)

        # a quarter window's samples (`sounding`)
        self._q_arange, self._q_idx = np.arange(win // 4, dtype=np.intp), np.zeros(win // 4, np.intp)
        self._q_buf = np.zeros(win // 4, np.float32)
        self._span = max(1, int(round(s.rise_span_s * sr / hop)))
        # (float32, as numpy took them against float32 arrays: the compiled hop sums in float32 too)
        self._ref_decay = np.float32(s.ref_decay_db_per_ms * 1000.0 * hop / sr)
        frame_rate = sr / hop
        up = s.background_up_db_per_s / frame_rate
        down = up * (1.0 - s.background_quantile) / s.background_quantile
        self._down, self._up_and_down = np.float32(down), np.float32(up + down)
        self._smooth_a = np.float32(1.0 - math.exp(-1.0 / (s.background_smooth_s * frame_rate)))
        self._learn_n = int(round(s.learn_s * frame_rate))
        self._warmup_n = max(self._span + 2, int(round(s.warmup_s * frame_rate)))
        # the DC estimate moves on the stream's own grid of chunks (16 hops), never on block
        # edges: it ramps through each chunk from the estimate before it to the one after, so any
        # block size gives the same samples, bit for bit (a ramp that turned at block edges put
        # steps of about -90 dB in the difference where the blocks happened to end)
        self._dc_alpha = 1.0 / (s.dc_s * sr)
        self._dc_chunk = chunk = 16 * hop
        self._dc_ramp = (np.arange(1, chunk + 1, dtype=np.float32) / np.float32(chunk))[:, None]
        self._chunk_raw = np.zeros((chunk, c), np.float32)  # the chunk's samples so far
        self._chunk_sum = np.zeros(c, np.float32)
        self._dc_from, self._dc_step = np.zeros(c, np.float32), np.zeros(c, np.float32)

        # the sound check, per channel, of the last block
        self.level, self.peak, self.brightness = (np.zeros(c, np.float32) for _ in range(3))

        # per-hop state, (bands, channels), in dB
        self.ref = np.zeros((c, b), np.float32)  # the expected tail
        self.bg = np.zeros((c, b), np.float32)  # the noise floor
        self._smooth = np.zeros((c, b), np.float32)
        self._ring = np.zeros((self._span + 1, c, b), np.float32)  # the last hops' levels
        self._hold_n = max(1, int(round(s.hold_s * sr / hop)))
        self._held = np.zeros((self._hold_n, c, b), np.float32)  # levels span .. span + hold hops ago
        self._nov, self._gate, self._tmp = (np.zeros((c, b), np.float32) for _ in range(3))
        self._dsum = np.zeros(c, np.float32)
        self._hist_n = 0
        self._reach = 0
        # the memory of the buffers kept for the life of the front end, as the C kernels take it
        # (`hop_kernels`; those of the block buffers: `allocate`)
        self._p_ref, self._p_bg, self._p_smooth = floats(self.ref), floats(self.bg), floats(self._smooth)
        self._p_ring, self._p_held = floats(self._ring), floats(self._held)
        self._p_chunk_raw, self._p_dc_ramp = floats(self._chunk_raw), floats(self._dc_ramp)
        self._p_dc_step, self._p_dc_from = floats(self._dc_step), floats(self._dc_from)
        self._p_dft, self._p_bin_band = floats(self._dft), integers(self._bin_band)
        self._p_band_clamp, self._p_low_taps = floats(self._band_clamp), floats(self._low_taps)
        self._p_band_floor = floats(self.band_floor)
        self._p_samples, self._p_spectrum = floats(self._samples), floats(self._spectrum)

    # -- buffers -----------------------------------------------------------
    def allocate(self, frames: int, reach: int | None = None, at: int | None = None) -> None:
        """Buffers for blocks of up to `frames`; the history keeps `reach` samples (the tap
        logic's look back: stage B, velocity, kind) beyond a block and a window. `at`: the
        stream frame of the block that grows them, before which a larger history keeps the
        samples it had."""
        if reach is not None:
            self._reach = reach
        c, b = self.channels, self.bands
        self._capacity = frames
        self._raw = np.zeros((frames + 2, c), np.float32)  # rows 0, 1: the previous block's last samples
        self.clean = np.zeros((frames, c), np.float32)  # DC removed
        # per channel: the block's peak, energy, two-sample difference's energy, and gap
        self._peak_c, self._lo_c, self._hi_c = (np.zeros(c, np.float32) for _ in range(3))
        self._bad = np.zeros(c, bool)
        hops = frames // self.hop + 2
        self._level = np.zeros(c * hops * b, np.float32)  # the block's hops' band levels
        self._low_energy = np.zeros(c * hops, np.float32)  # and energies under 300 Hz
        hist_n = 1 << int(math.ceil(math.log2(self._reach + frames + max(self.window, self._low_span))))
        if hist_n > self._hist_n:
            # DC-removed samples by channel, then by stream frame (a channel's row is contiguous,
            # so gathering from it copies nothing), indexed by stream frame & history_mask
            history = np.zeros((c, hist_n), np.float32)
            if at is not None and self._hist_n:  # a larger block than announced: the past moves over
                frames_before = np.arange(max(0, at - self._hist_n), at)
                history[:, frames_before & (hist_n - 1)] = self.history[:, frames_before & self.history_mask]
            self.history = history
            self._hist_n = hist_n
            self.history_mask = hist_n - 1
        self._p_raw, self._p_clean = floats(self._raw), floats(self.clean)
        self._p_peak, self._p_bad = floats(self._peak_c), ffi.from_buffer("uint8_t[]", self._bad)
        self._p_energy, self._p_diff_energy = floats(self._lo_c), floats(self._hi_c)
        self._p_level, self._p_low_energy = floats(self._level), floats(self._low_energy)
        self._p_history = floats(self.history)

    def reset(self) -> None:
        c = self.channels
        self._raw[:2] = 0.0
        self._chunk_raw[:] = 0.0
        self._dc_from[:] = 0.0
        self._dc_step[:] = 0.0
        self._dc_list = [0.0] * c  # the running estimate, at the last chunk's end: where this chunk's ramp ends
        self._dc_first = [-1] * c  # a channel's first chunk: where in it its first good sample was
        self._chunk_gap = [False] * c
        self._started = [False] * c
        self.warm = [self._warmup_n] * c  # hops each channel still learns before it may fire
        self._hops_seen = [0] * c
        if self.onset is not None:
            self.onset.reset()
        self.ref[:] = -200.0
        self.bg[:] = -200.0
        self._smooth[:] = -200.0
        self._ring[:] = -200.0
        self._held[:] = -200.0
        self.history[:] = 0.0

    # -- the block ----------------------------------------------------------
    def begin(self, block: np.ndarray, start_frame: int) -> list[bool] | None:
        """Take one block (frames > 0, device channels) starting at stream frame `start_frame`
        into the history, DC removed; returns which channels' blocks are gaps (None: none)."""
        n = block.shape[0]
        if n > self._capacity:  # a larger block than announced: grow once (not in steady state)
            prev = self._raw[:2].copy()
            self.allocate(n, at=start_frame)
            self._raw[:2] = prev
        if block.dtype != np.float32:
            block = block.astype(np.float32)
        if block.ndim == 1:
            block = block.reshape(-1, 1)
        raw = self._raw[: n + 2]
        signal = raw[2:]
        clean = self.clean[:n]
        block.take(self.columns, axis=1, out=signal, mode="clip")
        c = self.channels
        # NaN/Inf input: its channel is a gap, zeroed before any arithmetic that could warn
        bad = None
        if lib.check_block(self._p_raw + 2 * c, n, c, _BAD_LEVEL, self._p_peak, self._p_bad):
            bad = self._bad.tolist()  # a gap: silence in the history, and relearn after it
        self._remove_dc(signal, clean, start_frame, bad)
        if bad is not None:
            for ch in range(self.channels):
                if bad[ch]:
                    clean[:, ch] = 0.0
        # the history (DC removed), indexed by stream frame modulo its length; the energies of
        # the level and brightness of the sound check
        lib.keep_block(self._p_raw, self._p_clean, n, c, self._p_history, self.history_mask, start_frame,
                       self._p_energy, self._p_diff_energy)
        return bad

    def _remove_dc(self, signal: np.ndarray, clean: np.ndarray, start_frame: int, bad) -> None:
        """`clean` = `signal` less the DC estimate, ramped through the stream's chunks; a
        channel's estimate starts at its first good sample, takes its first chunk's mean, then
        moves `dc_s` slowly. A chunk with a gap leaves its channel's estimate where it was."""
        c = self.channels
        for ch in range(c):
            if bad is not None and bad[ch]:
                self._chunk_gap[ch] = True
            elif not self._started[ch]:
                first = float(signal[0, ch])
                self._dc_list[ch] = first
                self._dc_from[ch], self._dc_step[ch] = first, 0.0
                self._dc_first[ch] = start_frame % self._dc_chunk
                self._started[ch] = True
        chunk, n, c = self._dc_chunk, signal.shape[0], self.channels
        at, done = start_frame % chunk, 0
        while done < n:
            take = min(n - done, chunk - at)
            lib.less_dc(self._p_raw + (2 + done) * c, self._p_clean + done * c, take, c, self._p_chunk_raw, at,
                        self._p_dc_ramp, self._p_dc_step, self._p_dc_from)
            at, done = at + take, done + take
            if at == chunk:
                self._end_chunk()
                at = 0

    def _end_chunk(self) -> None:
        """A chunk is complete: each channel's estimate moves on from its samples (the sum of
        the whole chunk at once, so block edges never change its rounding) and the next
        chunk's ramp runs from this chunk's end to it."""
        chunk = self._dc_chunk
        np.add.reduce(self._chunk_raw, axis=0, out=self._chunk_sum)
        sums = self._chunk_sum.tolist()
        for ch in range(self.channels):
            start = self._dc_list[ch]
            if self._started[ch] and not self._chunk_gap[ch]:
                first = self._dc_first[ch]
                if first >= 0:  # the channel's first chunk: its mean, from its first sample on
                    self._dc_list[ch] = sums[ch] / (chunk - first)
                    self._dc_first[ch] = -1
                else:
                    self._dc_list[ch] += self._dc_alpha * (sums[ch] - chunk * self._dc_list[ch])
            elif self._dc_first[ch] > 0:  # a gap in its first chunk: the next one's mean, whole
                self._dc_first[ch] = 0
            self._dc_from[ch], self._dc_step[ch] = start, self._dc_list[ch] - start
            self._chunk_gap[ch] = False

    def spectra(self, start_frame: int, n: int) -> tuple[int, np.ndarray | None]:
        """The hops that end in the block `begin` took (hop k's window ends at stream frame
        k * hop): the first one's number and their band levels (hops, channels, bands) in dB;
        None where no hop ends in it. A windowed DFT of every hop and channel, compiled
        (`hop_kernels.band_levels`), with the low view's energies where it is measured
        (`low_at`)."""
        hop, c = self.hop, self.channels
        first_hop = start_frame // hop + 1
        count = (start_frame + n) // hop - first_hop + 1
        if count <= 0:
            return first_hop, None
        levels = self._level[: c * count * self.bands].reshape(count, c, self.bands)
        taps, columns = self._dft.shape
        span, reads = self._low_taps.shape
        lib.band_levels(self._p_history, self.history_mask, c, first_hop * hop, hop, count, self._p_dft, taps,
                        columns, self._p_bin_band, self.bands, _EPS, self._p_band_clamp, self._p_level,
                        self._p_samples, self._p_spectrum, self._p_low_taps, span, reads, self._p_low_energy)
        self._first_hop, self._hop_count = first_hop, count
        return first_hop, levels

    def finish(self, n: int, bad) -> None:
        """After the block's hops: the sound check, the relearning after a gap, and the samples
        the next block's difference starts from."""
        lo_c = self._lo_c.tolist()
        hi_c = self._hi_c.tolist()
        peaks = self._peak_c.tolist()
        for ch in range(self.channels):
            if bad is not None and bad[ch]:
                self.warm[ch] = self._warmup_n
                self._hops_seen[ch] = 0  # after the gap its floor is learnt afresh too
                self.level[ch] = self.peak[ch] = self.brightness[ch] = 0.0
                continue
            self.level[ch] = math.sqrt(lo_c[ch] / n)
            self.peak[ch] = peaks[ch]
            f = _frequency(hi_c[ch], lo_c[ch], self.sample_rate)
            self.brightness[ch] = 0.0 if f <= 100.0 else min(1.0, math.log(f / 100.0) / math.log(80.0))
        self._raw[:2] = self._raw[n : n + 2]

    # -- one hop -----------------------------------------------------------
    def rises(self, k: int, level: np.ndarray, bad, deaf_until: list[int]) -> tuple[list[float], float]:
        """Hop `k` (its band levels `level`, (channels, bands)): the expected tails moved on, then
        each channel's onset score and the bar it must pass to start a tap. The learned score
        is evaluated only when some channel may fire (past `deaf_until` and learning)."""
        s = self.settings
        ref, bg, nov, gate = self.ref, self.bg, self._nov, self._gate
        ring = self._ring
        # the expected tail: the decaying peak of the hops `span` and more ago, and at least
        # the loudest of the `hold` hops before those (a low tone's level beats with its phase)
        # (the held hops hold `lagged` too: one maximum serves both)
        cells = ref.size
        lib.move_tails(self._p_ref, self._p_held, self._hold_n, cells, k % self._hold_n,
                       self._p_ring + ((k - self._span) % len(ring)) * cells, self._ref_decay)
        score = self.onset
        if score is None:
            # the rules: the rise of each band over the larger of that tail and the noise floor,
            # summed, over onset_db
            self._rules_gate()
            np.subtract(level, gate, out=nov)
            np.clip(nov, 0.0, s.band_cap_db, out=nov)
            np.add.reduce(nov, axis=1, out=self._dsum)
            return self._dsum.tolist(), s.onset_db
        # the learned score, on the same band state: scored only where the bands rose at all
        # over their tails and one is over the level floor (most hops of silence or a held
        # note are not), and only when a channel may fire; it fires over its threshold
        at = (k - self._first_hop) * cells
        score.update_from(level, self._p_level + at, self._p_ref, self._p_bg, self._p_band_floor,
                          self._p_low_energy + (k - self._first_hop), self._hop_count)
        worth = [r > onset.GATE_DB and loud > 0.0
                 for r, loud in zip(score.rises.tolist(), score.loudest.tolist())]
        ready = False
        for ch in range(self.channels):
            if worth[ch] and self.warm[ch] == 0 and k >= deaf_until[ch] and (bad is None or not bad[ch]):
                ready = True
        if not ready:
            return self._no_rise, 0.0
        threshold = score.threshold
        return [sc - threshold if w else -1.0 for sc, w in zip(score.evaluate().tolist(), worth)], 0.0

    def low_at(self, k: int) -> np.ndarray:
        """Hop `k`'s energy under 300 Hz per channel (a view; k: a hop of the last `spectra`)."""
        count = self._hop_count
        return self._low_energy[k - self._first_hop : count * self.channels : count]

    def learn(self, k: int, level: np.ndarray, bad) -> None:
        """After hop `k`'s taps: a hop less to learn for each channel still learning, the noise
        floor moved on, the level kept for the tails to come."""
        for ch in range(self.channels):
            if self.warm[ch] > 0 and (bad is None or not bad[ch]):
                self.warm[ch] -= 1
        # the noise floor (a running low quantile of the smoothed level, per band)
        cells = level.size
        lib.follow_floor(self._p_level + (k - self._first_hop) * cells, self._p_smooth, self._p_bg, cells,
                         self._smooth_a, self._down, self._up_and_down, self._p_ring + (k % len(self._ring)) * cells)
        # a channel learning (reset, gap): its floor and tail follow the level at once
        for ch in range(self.channels):
            if self.warm[ch] > 0 or (bad is not None and bad[ch]):
                self.ref[ch] = level[ch]
                if self._hops_seen[ch] < self._learn_n:
                    self._smooth[ch] = level[ch]
                    self.bg[ch] = level[ch]
            self._hops_seen[ch] += 1

    def _rules_gate(self) -> None:
        """Each band's bar for a rise: the larger of its tail and its noise floor (each plus a
        margin) and the level floor (the rules' onset, and the provisional kind of any tap)."""
        s = self.settings
        gate = self._gate
        np.add(self.ref, s.rise_db, out=gate)
        np.add(self.bg, s.threshold_db, out=self._tmp)
        np.maximum(gate, self._tmp, out=gate)
        np.maximum(gate, self.band_floor, out=gate)

    def sounding(self, ch: int, k: int) -> bool:
        """The newest quarter of hop k's window holds at least a tenth of the energy of its
        oldest quarter (per candidate, preallocated): a sound cut off into digital silence (a
        gate, an edit) is a click of *falling* energy."""
        quarter = self.window // 4
        end = k * self.hop
        mask = self.history_mask
        idx, buf = self._q_idx, self._q_buf
        np.add(self._q_arange, end - quarter, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        np.take(self.history[ch], idx, out=buf, mode="clip")
        newest = float(np.dot(buf, buf))
        np.add(self._q_arange, end - self.window, out=idx)
        np.bitwise_and(idx, mask, out=idx)
        np.take(self.history[ch], idx, out=buf, mode="clip")
        return newest > 0.1 * float(np.dot(buf, buf))

    def new_energy_centre(self, ch: int, level: np.ndarray) -> float:
        """Where the energy channel `ch` gained at this hop lies: the power-weighted centre (Hz)
        of what each band rose over its bar; 0.0 where none rose (per tap)."""
        if self.onset is not None:  # (the rules measured it already)
            self._rules_gate()
        total = weighted = 0.0
        for lv, g, centre in zip(level[ch].tolist(), self._gate[ch].tolist(), self._centres):
            if lv > g:
                added = 10.0 ** (0.1 * lv) - 10.0 ** (0.1 * g)
                total += added
                weighted += added * centre
        return weighted / total if total > 0 else 0.0
