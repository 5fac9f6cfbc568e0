"""Stage B of the tap detector: a small learned model that confirms or withdraws a candidate.

Stage A (`listen.detector`) fires a provisional tap within a few ms of the onset. When
`span_s` (16 ms) of the hit has been heard, this module looks at it from the detector's
sample history and says whether it is a foot (and heel or toe) or something else that
rose fast: a piano or guitar attack, a new fiddle note, a tap's own echo.

What it looks at (all in seconds and Hz, so any sample rate gives the same features):
- short frames (5.3 ms, every 2.7 ms, from 5 ms before the onset to 16 ms after): the
  log energy in 16 bands, relative to the loudest band-frame after the onset — the shape of
  the attack and its sustain, whatever the level;
- one long window over the hit (18.7 ms) against the same length just before it: what the
  hit added in each band (dB), how flat the added spectrum is (a foot is broadband noise, a
  struck string a few harmonic peaks), its peakiness, the high-frequency share, and how
  periodic it is (the autocorrelation of the added spectrum at bass and treble pitches);
- the level of the hit over what came before, and its crest factor; never its absolute
  level (a quiet board and a loud one are the same feet).

Inference runs in the audio callback thread, once per candidate (not per block): the
spectra as matrix products into buffers allocated here (`out=`), then a perceptron (about
12,000 weights). No allocation beyond numpy's and CPython's small per-call objects, no I/O.

The weights live in `weights/stage_b.npz` (trained by `scripts/train_detector.py`), with the
normalisation, the withdraw threshold and a version stamp (corpus, training, seed).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dessins_de_planche.listen import weights_file
from dessins_de_planche.listen.dft import RealDft
from dessins_de_planche.listen.memory import CandidateMemory

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "stage_b.npz"

SHORT_S = 0.016 / 3  # 5.33 ms: 256 samples at 48 kHz
HOP_S = SHORT_S / 2
FRAMES_BEFORE = 2  # frames centred before the onset
FRAMES = 8  # centres from -5.3 ms to +13.3 ms; the last ends 16 ms after the onset
SPAN_S = (FRAMES - FRAMES_BEFORE - 1) * HOP_S + SHORT_S / 2  # heard after the onset: 16 ms
LONG_LEAD_S = HOP_S  # the long window starts this long before the onset
LONG_S = SPAN_S + LONG_LEAD_S
BAND_EDGES_HZ = (0, 150, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 6500, 8000, 10000,
                 12500, 16000, 24000)
BANDS = len(BAND_EDGES_HZ) - 1
FLAT_RANGES_HZ = ((100, 1000), (1000, 4000), (4000, 12000))
FLOOR_DB = -60.0  # relative log energies are clipped here
PITCH_RANGES_HZ = ((70, 300), (300, 1200))  # periodicity looked for in these pitch ranges
FEATURES = FRAMES * BANDS + BANDS + len(FLAT_RANGES_HZ) + 5 + len(PITCH_RANGES_HZ)
# the features a channel's memory holds (`listen.memory`): the hit's spectrum as a whole (what it
# added per band, flatness, peakiness, high-frequency share, crest, sustain, periodicity), the
# board's, room's and mic's colour; not the frames' course in time, which moves with the onset
REMEMBERED = np.arange(FRAMES * BANDS, FEATURES)
CLASSES = ("none", "heel", "toe")
TINY = 1e-12


def _band_matrix(freqs: np.ndarray) -> np.ndarray:
    m = np.zeros((len(freqs), BANDS), np.float32)
    for b in range(BANDS):
        lo, hi = BAND_EDGES_HZ[b], BAND_EDGES_HZ[b + 1]
        m[(freqs >= lo) & (freqs < hi), b] = 1.0
    empty = m.sum(axis=0) == 0  # a band narrower than a bin (low rates): its nearest bin
    for b in np.flatnonzero(empty):
        centre = 0.5 * (BAND_EDGES_HZ[b] + BAND_EDGES_HZ[b + 1])
        if centre < freqs[-1]:
            m[int(np.argmin(np.abs(freqs - centre))), b] = 1.0
    return m


def load_weights(path=None) -> dict | None:
    """The weights (`weights_file.load`) of `path`, or the shipped ones; None when missing."""
    return weights_file.load(path if path is not None else WEIGHTS_PATH)


def stamp_of(path=None) -> str | None:
    weights = load_weights(path)
    return None if weights is None else weights["stamp"]


class StageB:
    """Features of one candidate from a sample history, and the model's word on it."""

    def __init__(self, sample_rate: float, weights: dict | None):
        sr = float(sample_rate)
        self.sample_rate = sr
        self.short = short = max(16, int(round(SHORT_S * sr)))
        self.hop = max(8, int(round(HOP_S * sr)))
        self.nfft = nfft = 1 << int(math.ceil(math.log2(short)))
        self.long = long = max(32, int(round(LONG_S * sr)))
        self.lead = int(round(LONG_LEAD_S * sr))
        self.nfft_long = nfft_long = 1 << int(math.ceil(math.log2(long)))
        self.span = int(round(SPAN_S * sr))  # samples after the onset the features need
        self.reach = self.lead + self.long + short  # samples before the onset they need
        # gather offsets, relative to the onset sample
        centres = (np.arange(FRAMES) - FRAMES_BEFORE) * self.hop
        self._short_off = (centres[:, None] - short // 2 + np.arange(short)[None, :]).astype(np.intp)
        self._long_off = np.stack([np.arange(long) - self.lead, np.arange(long) - self.lead - long]).astype(np.intp)
        self._short_idx = np.zeros_like(self._short_off)
        self._long_idx = np.zeros_like(self._long_off)
        self._short_win = np.hanning(short + 2)[1:-1].astype(np.float32)
        self._long_win = np.hanning(long + 2)[1:-1].astype(np.float32)
        self._short_x = np.zeros((FRAMES, short), np.float32)
        # the longer window's DFT in two small stages (`listen.dft`); its samples gathered, then
        # windowed into the DFT's input, whose padding stays zero
        self._long_raw = np.zeros((2, long), np.float32)
        self._long_dft = RealDft(nfft_long, 2)
        self._long_x = self._long_dft.input[:, :long]
        # the short frames' DFTs as matrix products (window folded in): numpy's FFT keeps scratch
        # buffers of its own, a product into `out=` allocates nothing
        def dft(length, size):
            window = np.hanning(length + 2)[1:-1]
            phase = 2 * np.pi * np.outer(np.arange(length), np.arange(size // 2 + 1)) / size
            return (np.ascontiguousarray(np.cos(phase) * window[:, None], np.float32),
                    np.ascontiguousarray(np.sin(phase) * window[:, None], np.float32))

        self._short_cos, self._short_sin = dft(short, nfft)
        self._short_im = np.zeros((FRAMES, nfft // 2 + 1), np.float32)
        self._short_pow = np.zeros((FRAMES, nfft // 2 + 1), np.float32)
        self._long_pow = np.zeros((2, nfft_long // 2 + 1), np.float32)
        f_short = np.fft.rfftfreq(nfft, 1.0 / sr)
        f_long = np.fft.rfftfreq(nfft_long, 1.0 / sr)
        self._short_bands = _band_matrix(f_short)
        self._long_bands = _band_matrix(f_long)
        self._sb = np.zeros((FRAMES, BANDS), np.float32)
        self._lb = np.zeros((2, BANDS), np.float32)
        self._diff = np.zeros(len(f_long), np.float32)
        self._logdiff = np.zeros(len(f_long), np.float32)
        self._flat = [(int(np.searchsorted(f_long, lo)), max(int(np.searchsorted(f_long, lo)) + 2,
                                                              int(np.searchsorted(f_long, hi))))
                      for lo, hi in FLAT_RANGES_HZ]
        self._hf_bin = int(np.searchsorted(f_long, 2000.0))
        # periodicity: the autocorrelation of what the hit added (post power minus pre, floored),
        # its largest value at lags of each pitch range, over the value at lag 0
        self._lags = [(max(1, int(sr / hi)), min(nfft_long // 2, int(sr / lo) + 1)) for lo, hi in PITCH_RANGES_HZ]
        # the autocorrelation at lags 0 .. the longest looked at: the real part of the DFT of the
        # power spectrum made whole (bins nfft_long - k = bins k), times nfft_long (only its
        # ratios are read)
        most = max(hi for _, hi in self._lags)
        self._acf_dft = RealDft(nfft_long, 1)
        k = np.arange(nfft_long)
        self._whole = np.minimum(k, nfft_long - k)
        self._acf_2d = np.zeros((1, most), np.float32)
        self._acf = self._acf_2d[0]
        self.x = np.zeros(FEATURES, np.float32)
        self.weights = weights
        self.stamp = None if weights is None else weights["stamp"]
        self.remembers = False
        if weights is not None:
            self._mean = weights["mean"].astype(np.float32)
            self._scale = weights["scale"].astype(np.float32)
            self._layers = [(weights[f"w{i}"].astype(np.float32), weights[f"b{i}"].astype(np.float32))
                            for i in range(int(weights["layers"]))]
            self._acts = [np.zeros(w.shape[1], np.float32) for w, _ in self._layers]
            self.threshold = float(weights["threshold"])
            # weights that read each hit beside the channel's recent ones (`listen.memory`) take
            # the features, then the remembered ones' difference from that memory's mean
            remembered = weights.get("memory_features")
            self.remembers = remembered is not None
            self._remembered = None if remembered is None else remembered.astype(np.intp)
            inputs = FEATURES + (0 if remembered is None else len(remembered))
            if self._mean.shape[0] != inputs:
                raise ValueError(f"stage B weights expect {self._mean.shape[0]} inputs, the code makes {inputs}")
            self._xn = np.zeros(inputs, np.float32)
            self._picked = np.zeros(inputs - FEATURES, np.float32)

    def memory(self) -> CandidateMemory | None:
        """A fresh memory of recent candidates for one channel, as these weights were trained
        with (its prior the training candidates' mean); None for weights without one."""
        if not self.remembers:
            return None
        w = self.weights  # training writes the memory's size and prior weight beside its features
        return CandidateMemory(w["mean"][self._remembered], int(w["memory_size"]),
                               float(w["memory_prior_weight"]), self._remembered)

    # -- features ----------------------------------------------------------
    def features(self, column: np.ndarray, mask: int, onset: int) -> np.ndarray:
        """Fill and return `self.x` for a hit whose onset is stream sample `onset`, from
        `column` (a history indexed by stream sample & mask)."""
        with np.errstate(all="ignore"):
            np.add(self._short_off, onset, out=self._short_idx)
            np.bitwise_and(self._short_idx, mask, out=self._short_idx)
            np.take(column, self._short_idx, out=self._short_x, mode="clip")
            np.dot(self._short_x, self._short_cos, out=self._short_pow)
            np.dot(self._short_x, self._short_sin, out=self._short_im)
            np.multiply(self._short_pow, self._short_pow, out=self._short_pow)
            np.multiply(self._short_im, self._short_im, out=self._short_im)
            np.add(self._short_pow, self._short_im, out=self._short_pow)
            np.dot(self._short_pow, self._short_bands, out=self._sb)

            np.add(self._long_off, onset, out=self._long_idx)
            np.bitwise_and(self._long_idx, mask, out=self._long_idx)
            np.take(column, self._long_idx, out=self._long_raw, mode="clip")
            np.multiply(self._long_raw, self._long_win, out=self._long_x)  # (the crest factor reads it too)
            self._long_dft.power(self._long_pow)
            np.dot(self._long_pow, self._long_bands, out=self._lb)

            x = self.x
            k = FRAMES * BANDS
            sb = x[:k].reshape(FRAMES, BANDS)
            np.add(self._sb, TINY, out=sb)
            np.log10(sb, out=sb)
            np.multiply(sb, 10.0, out=sb)
            top = float(sb[FRAMES_BEFORE:].max())
            np.subtract(sb, top, out=sb)
            np.maximum(sb, FLOOR_DB, out=sb)
            # what the hit added, per band (dB over the window before it)
            lb = self._lb
            np.add(lb, TINY, out=lb)
            np.log10(lb, out=lb)
            np.multiply(lb, 10.0, out=lb)
            added = x[k : k + BANDS]
            np.subtract(lb[0], lb[1], out=added)
            np.clip(added, -30.0, 60.0, out=added)
            k += BANDS
            # flatness of the added power spectrum (post minus pre, floored)
            post, pre = self._long_pow[0], self._long_pow[1]
            np.subtract(post, pre, out=self._diff)
            total_post = float(post.sum()) + TINY
            np.maximum(self._diff, 1e-6 * total_post + TINY, out=self._diff)
            np.log(self._diff, out=self._logdiff)
            for lo, hi in self._flat:
                arith = float(self._diff[lo:hi].mean())
                geo = float(self._logdiff[lo:hi].mean())
                x[k] = geo - math.log(arith)  # log flatness, <= 0; a harmonic spectrum is far below 0
                k += 1
            lo, hi = self._flat[0][0], self._flat[1][1]
            x[k] = math.log(float(self._diff[lo:hi].max()) / float(self._diff[lo:hi].mean()))  # peakiness
            total_pre = float(pre.sum()) + TINY
            # the hit over what came before, up to 60 dB: over digital silence it is 100 dB and more,
            # a value no training hit has (their most is 55), where the model's word is anyone's guess
            x[k + 1] = min(60.0, max(-30.0, 10.0 * math.log10(total_post / total_pre)))
            x[k + 2] = float(post[self._hf_bin:].sum()) / total_post  # high-frequency share
            # crest factor of the hit's window (dB): a click or a knock is peaky, a bowed note is not
            post_x = self._long_x[0]
            peak = max(float(post_x.max()), -float(post_x.min()))
            energy = float(np.dot(post_x, post_x)) / self.long + TINY
            x[k + 3] = 10.0 * math.log10(peak * peak / energy + TINY)
            x[k + 4] = float(self._sb[FRAMES - 1].sum() + TINY) / float(self._sb[FRAMES_BEFORE:].sum(axis=None) + TINY)
            k += 5
            self._diff.take(self._whole, out=self._acf_dft.input[0], mode="clip")
            self._acf_dft.real(self._acf_2d)
            zero = float(self._acf[0]) + TINY
            for lo, hi in self._lags:
                x[k] = float(self._acf[lo:hi].max()) / zero  # 1: periodic (a string), ~0: a knock
                k += 1
        if not np.isfinite(x).all():
            np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return x

    # -- the model ---------------------------------------------------------
    def predict(self, x: np.ndarray, recent: np.ndarray | None = None) -> tuple[float, float]:
        """(probability that it is a foot, probability that a foot is a heel); `recent` is the
        channel's memory mean (`CandidateMemory.mean`) for weights that remember."""
        h = self._xn
        if self.remembers:
            h[:FEATURES] = x
            np.take(x, self._remembered, out=self._picked)
            np.subtract(self._picked, recent, out=h[FEATURES:])
            np.subtract(h, self._mean, out=h)
        else:
            np.subtract(x, self._mean, out=h)
        np.multiply(h, self._scale, out=h)
        last = len(self._layers) - 1
        for i, (w, b) in enumerate(self._layers):
            out = self._acts[i]
            np.dot(h, w, out=out)
            np.add(out, b, out=out)
            if i < last:
                np.maximum(out, 0.0, out=out)
            h = out
        none, heel, toe = (float(v) for v in h)
        top = max(none, heel, toe)
        e0, e1, e2 = math.exp(none - top), math.exp(heel - top), math.exp(toe - top)
        foot = (e1 + e2) / (e0 + e1 + e2)
        return foot, e1 / (e1 + e2)
