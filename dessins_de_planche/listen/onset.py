"""Stage A's learned onset score: is a foot's onset in the newest part of this hop's window?

The detector (`listen.detector`) measures, at every hop (1.33 ms), each of its 12 bands'
level, the expected tail of what was heard (the decaying recent peak) and the band's noise
floor. A foot fills many bands at once, fast; a new fiddle note, a piano's hammer or a hum's
beat rise in a few, or slowly, or only over a floor they keep. One summed-rise rule cannot
tell those apart in every room (it lost a third of the taps); this small perceptron looks at
the rises over the tail at this hop and the two before it, the rise over the noise floor and
over the level floor, the rise over the band's mean of the 43 ms before (the tail follows
a held note's peaks; a tap under it rises over its mean) and, where the weights read it, a
longer view of the lowest band (the energy under 300 Hz of the last 5 and 11 ms over the 21 ms
before: a heel's thump outlasts the 2.7 ms window; docs/corpus.md, attempts 67-68), and
scores the hop. Trained by `scripts/train_stage_a.py` on the corpus's band states, recorded
by the detector itself, so training and the show see the same numbers.

Runs in the audio callback, once per hop and channel where anything rose at all: every
buffer is allocated here, the arithmetic is C (`listen.hop_kernels`), the normalisation folded
into the first layer. The weights (`weights/stage_a.npz`, about 2,800 of them) carry their threshold and a
stamp (corpus, training version, seed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dessins_de_planche.listen import weights_file
from dessins_de_planche.listen.hop_kernels import ffi, floats, integers, lib

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "stage_a.npz"

CONTEXT = 3  # hops whose rises over the tail are looked at: this one and the two before
TAIL_RANGE = (-12.0, 24.0)  # dB over the expected tail
FLOOR_RANGE = (-12.0, 40.0)  # dB over the band's noise floor
LEVEL_RANGE = (-20.0, 40.0)  # dB over the channel's level floor
MEAN_RANGE = (-12.0, 24.0)  # dB over the band's recent mean
MEAN_HOPS = 32  # the recent mean: of 32 hops (43 ms) ...
MEAN_LAG = 3  # ... up to 3 hops back (the window of this hop and the two before overlap it)
GATE_DB = 1.0  # a hop whose bands rose less than this over their tails (summed) is not scored
# the lowest band's longer view (a heel's thump outlasts the 2.7 ms window): the energy under
# 300 Hz (`FrontEnd.low_at`) of the last 4 and 8 hops (5.3, 10.7 ms), each over the 16 hops
# (21 ms) before it, and the last 8 hops' over those 2 hops back
LOW_WINDOWS = ((0, 4), (4, 20), (0, 8), (8, 24), (2, 10))  # hops back: [from, to)
LOW_HISTORY = 24
LOW_RANGE = (-12.0, 24.0)  # dB
LOW_FEATURES = 3
_LOW_EPS = np.float32(1e-12)  # (energy of a full-scale signal: 0.5)
_LOW_PAIRS = ((0, 1), (2, 3), (2, 4))  # the features: window a's mean over window b's (dB)
_LOW_ROWS = tuple(a for a, _ in _LOW_PAIRS) + tuple(b for _, b in _LOW_PAIRS)  # every a, then every b
_NEAR_DB, _CAP_DB = np.float32(LEVEL_RANGE[0]), np.float32(TAIL_RANGE[1])  # the gate's rises: bands near the level floor, clipped


def group_count(mean_hops: int) -> int:
    """Feature groups of `bands` columns each: the rise over the tail two hops back, one hop
    back, at this hop; the rise over the noise floor; the level over the level floor; and,
    where `mean_hops`, the rise over the recent mean (weights from before it have none)."""
    return CONTEXT + 2 + (1 if mean_hops else 0)


_LOW = np.array([TAIL_RANGE[0]] * CONTEXT + [FLOOR_RANGE[0], LEVEL_RANGE[0], MEAN_RANGE[0]], np.float32)
_HIGH = np.array([TAIL_RANGE[1]] * CONTEXT + [FLOOR_RANGE[1], LEVEL_RANGE[1], MEAN_RANGE[1]], np.float32)


def _window_means() -> np.ndarray:
    """(2 * LOW_FEATURES, LOW_HISTORY): the means over the last LOW_HISTORY hops' energies, oldest
    first (the newest hop is the last column), of each feature's window a, then of each one's
    window b (`_LOW_ROWS`), so that one subtraction gives every feature."""
    means = np.zeros((len(_LOW_ROWS), LOW_HISTORY), np.float32)
    for i, window in enumerate(_LOW_ROWS):
        start, end = LOW_WINDOWS[window]
        means[i, LOW_HISTORY - end : LOW_HISTORY - start] = 1.0 / (end - start)
    return means


def low_features(low: np.ndarray) -> np.ndarray:
    """The lowest band's longer view of every hop at once (training): the energies under 300 Hz
    (hops,) -> (hops, LOW_FEATURES), from silence before the first hop; the window means as the
    live score takes them (`_window_means`)."""
    padded = np.concatenate([np.zeros(LOW_HISTORY - 1, np.float32), np.asarray(low, np.float32)])
    history = np.lib.stride_tricks.sliding_window_view(padded, LOW_HISTORY)  # (hops, LOW_HISTORY)
    db = np.log10(history @ _window_means().T + _LOW_EPS) * np.float32(10.0)
    return np.clip(db[:, :LOW_FEATURES] - db[:, LOW_FEATURES:], *LOW_RANGE).astype(np.float32)


def features(level: np.ndarray, ref: np.ndarray, bg: np.ndarray, floor: np.ndarray,
             mean_hops: int = MEAN_HOPS, low: np.ndarray | None = None) -> np.ndarray:
    """Every hop's features of one channel at once (training): arrays (hops, bands) in dB ->
    (hops, features); with `low` (hops,), the lowest band's longer view after them. Hops before
    the first are taken as silent tails (no rise) and, for the recent mean, as loud as the first.
    The mean is summed in the live order (oldest first, in float32), so training and the show
    compute the same numbers."""
    tail = np.clip(level - ref, *TAIL_RANGE)
    rows = []
    for back in range(CONTEXT - 1, 0, -1):
        earlier = np.empty_like(tail)
        earlier[:back] = TAIL_RANGE[0]
        earlier[back:] = tail[:-back]
        rows.append(earlier)
    rows.append(tail)
    rows.append(np.clip(level - bg, *FLOOR_RANGE))
    rows.append(np.clip(level - floor[None, :], *LEVEL_RANGE))
    if mean_hops:
        level = np.asarray(level, np.float32)
        # padded row p is hop p - (mean_hops + MEAN_LAG); hop k's mean is of padded rows k+1 ..
        padded = np.concatenate([np.repeat(level[:1], mean_hops + MEAN_LAG, axis=0), level])
        total = np.zeros_like(level)
        for i in range(mean_hops):
            total += padded[1 + i : 1 + i + len(level)]
        total *= np.float32(1.0 / mean_hops)
        rows.append(np.clip(level - total, *MEAN_RANGE))
    if low is not None:
        rows.append(low_features(low))
    return np.concatenate(rows, axis=1).astype(np.float32)


def gate(level: np.ndarray, ref: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """The hops worth scoring (training; live: `OnsetScore.worth`): the bands rose over their
    tails (summed) and some band is over the channel's level floor (a calibrated floor is a
    hard rule)."""
    near = level - floor[None, :] > LEVEL_RANGE[0]
    rise = (np.clip(level - ref, 0.0, TAIL_RANGE[1]) * near).sum(axis=1)
    return (rise > GATE_DB) & (level > floor[None, :]).any(axis=1)


def load_weights(path=None) -> dict | None:
    """The weights (`weights_file.load`) of `path`, or the shipped ones; None when missing."""
    return weights_file.load(path if path is not None else WEIGHTS_PATH)


class OnsetScore:
    """The live score of every channel at once (preallocated)."""

    def __init__(self, weights: dict, channels: int, bands: int):
        """`bands`: the detector's; at a low sample rate the top bands are missing, and their
        features stay at the values of a band that never sounds."""
        trained = int(weights["bands"])
        if bands > trained:
            raise ValueError(f"stage A weights for {trained} bands, the detector has {bands}")
        self.threshold = float(weights["threshold"])
        self.stamp = weights["stamp"]
        layers = int(weights["layers"])
        mean, scale = weights["mean"].astype(np.float64), weights["scale"].astype(np.float64)
        w0 = weights["w0"].astype(np.float64)
        # the normalisation folded into the first layer: (x - mean) * scale @ w0 + b0; and each
        # layer's bias folded into its product, as the row of an input that is always 1, which
        # each hidden layer passes on as its last output (one call a layer, not two)
        w = [w0 * scale[:, None]] + [weights[f"w{i}"] for i in range(1, layers)]
        b = [weights["b0"].astype(np.float64) - (mean * scale) @ w0] + [weights[f"b{i}"] for i in range(1, layers)]
        self._w = []
        for i, (wi, bi) in enumerate(zip(w, b)):
            hidden = i < layers - 1
            full = np.zeros((wi.shape[0] + 1, wi.shape[1] + hidden), np.float32)
            full[:-1, : wi.shape[1]] = wi
            full[-1, : wi.shape[1]] = bi
            if hidden:
                full[-1, -1] = 1.0
            self._w.append(full)
        self.channels, self.bands, self._stride = channels, bands, trained
        self.mean_hops = hops = int(weights.get("mean_hops", 0))
        self.low_band = bool(int(weights.get("low_band", 0)))
        groups = group_count(hops)
        low_n = LOW_FEATURES if self.low_band else 0
        width = groups * trained + low_n
        self._x1 = np.zeros((channels, width + 1), np.float32)  # the features, then a constant 1
        self.x = self._x1[:, :width]
        self._low = np.repeat(_LOW[:groups], trained)[None, :]
        self._high = np.repeat(_HIGH[:groups], trained)[None, :]
        s = trained
        # every feature's range, as one row: the features are clipped to it when scored (a
        # clipped value clips to itself, so the groups moved back unclipped come out the same)
        low_range = np.full((1, low_n), LOW_RANGE[0], np.float32), np.full((1, low_n), LOW_RANGE[1], np.float32)
        self._lowest = np.concatenate([self._low, low_range[0]], axis=1)
        self._highest = np.concatenate([self._high, low_range[1]], axis=1)
        self._h = [np.zeros((channels, w.shape[1]), np.float32) for w in self._w]
        self.score = self._h[-1][:, 0]  # (a view: the last layer's one output)
        self.rises = np.zeros(channels, np.float32)
        self.loudest = np.zeros(channels, np.float32)  # the band most over the level floor (dB)
        # the levels of the last `hops + MEAN_LAG` hops, a ring; the mean is summed at the hops
        # scored only, oldest first (`_order[slot]`: the ring rows of the window, in time order);
        # weights without the recent mean: empty
        span = hops + MEAN_LAG if hops else 0
        self._past = np.zeros((span, channels, bands), np.float32)
        self._order = np.array([[(slot + 1 + i) % span for i in range(hops)] for slot in range(max(1, span))],
                               np.intp)
        self._inverse = np.float32(1.0 / hops) if hops else np.float32(0.0)
        self._mean_at = (groups - 1) * s
        if hops:
            self._mean_group = self.x[:, self._mean_at : self._mean_at + s]
        # the last LOW_HISTORY hops' energies under 300 Hz, a ring (a row a hop); each window's
        # mean as a row of `_low_means[slot]`, turned with the ring (row `slot` is the newest
        # hop); weights without the low view: empty
        self._low_past = np.zeros((LOW_HISTORY, channels), np.float32)
        means = _window_means() if self.low_band else np.zeros((0, LOW_HISTORY), np.float32)
        self._low_means = np.stack([np.roll(means, slot + 1, axis=1) for slot in range(LOW_HISTORY)])
        self._low_at = groups * trained
        self._low_x = self.x[:, self._low_at : width]
        # the memory of every buffer, as the C kernels take it (`hop_kernels`)
        self._p_x1, self._p_rises, self._p_loudest = floats(self._x1), floats(self.rises), floats(self.loudest)
        self._p_lowest, self._p_highest = floats(self._lowest), floats(self._highest)
        self._p_past, self._p_order = floats(self._past), integers(self._order)
        self._p_low_means, self._p_low_past = floats(self._low_means), floats(self._low_past)
        self._layer_memory = [floats(a) for a in self._w + self._h]  # (kept: the pointers below point into it)
        self._p_weights = ffi.new("float *[]", self._layer_memory[: len(self._w)])
        self._p_hidden = ffi.new("float *[]", self._layer_memory[len(self._w) :])
        self._shapes = np.array([w.shape for w in self._w], np.int64).T.copy()  # inputs, then outputs
        self._p_inputs, self._p_outputs = integers(self._shapes[0]), integers(self._shapes[1])
        self.reset()

    def reset(self) -> None:
        self._x1[:, -1] = 1.0
        self.x[:, : self._low.shape[1]] = self._low
        if self.mean_hops:
            self._mean_group[:] = 0.0  # a band that never sounds is at its mean
            self._slot = -1  # the ring row of the newest hop; none yet
        self._low_slot = 0
        if self.low_band:
            self._low_past[:] = 0.0
            self._low_x[:] = 0.0  # silence over silence

    def update(self, level: np.ndarray, ref: np.ndarray, bg: np.ndarray, floor: np.ndarray,
               low: np.ndarray | None = None) -> None:
        """This hop's features for every channel (the older tails move back a group); `rises`
        and `loudest` say which channels are worth scoring. `low`: each channel's energy under
        300 Hz at this hop (where the weights read it). Arrays (channels, bands), C-contiguous
        float32; `floor` may be one row for every channel."""
        if floor.ndim == 1:
            floor = np.ascontiguousarray(np.broadcast_to(floor, level.shape))
        low_memory = floats(np.ascontiguousarray(low, np.float32)) if self.low_band else ffi.NULL
        self.update_from(level, floats(level), floats(ref), floats(bg), floats(floor), low_memory, 1)

    def update_from(self, level: np.ndarray, level_memory, ref_memory, bg_memory, floor_memory, low_memory,
                    low_stride: int) -> None:
        """`update` from the memory of the arrays (`hop_kernels.floats`, or a pointer into it: the
        front end's own buffers, no conversion at each hop); `level` itself too, and the energies
        under 300 Hz a channel every `low_stride` floats."""
        if self.mean_hops:
            if self._slot < 0:  # the first hop: those before it count as loud as it
                self._past[:] = level
            self._slot = (self._slot + 1) % len(self._past)
        if self.low_band:
            self._low_slot = (self._low_slot + 1) % LOW_HISTORY
        # (the rises that count toward the gate, as clipped: of bands within reach of the level
        # floor; far under it, a loud hum's leakage beats with the hop grid by a dB or two in
        # every band)
        cells = self.channels * self.bands
        lib.onset_features(self._p_x1, self._x1.shape[1], self._stride, CONTEXT - 1, self.channels, self.bands,
                           level_memory, ref_memory, bg_memory, floor_memory, _NEAR_DB, _CAP_DB,
                           self._p_rises, self._p_loudest,
                           self._p_past + self._slot * cells if self.mean_hops else ffi.NULL,
                           low_memory if self.low_band else ffi.NULL, low_stride,
                           self._p_low_past + self._low_slot * self.channels)

    def evaluate(self) -> np.ndarray:
        """The score (a logit) of every channel's current features (in C: `hop_kernels`)."""
        slot = self._slot if self.mean_hops else 0
        window = self._order.shape[1]
        rows, history = self._low_means.shape[1:]
        lib.onset_scores(self._p_x1, self.channels, self._x1.shape[1], self.x.shape[1], self._p_lowest,
                         self._p_highest, self._p_past, self.bands, self._p_order + slot * window, window, slot,
                         self._inverse, self._mean_at, self._p_low_means + self._low_slot * rows * history, rows,
                         history, self._p_low_past, _LOW_EPS, self._low_at, len(self._w), self._p_weights,
                         self._p_inputs, self._p_outputs, self._p_hidden)
        return self.score


def scores(weights: dict, x: np.ndarray) -> np.ndarray:
    """The score of many feature rows at once (training, analysis)."""
    mean, scale = weights["mean"], weights["scale"]
    h = (x[:, : len(mean)] - mean) * scale  # weights from before the recent mean read the groups before it
    layers = int(weights["layers"])
    for i in range(layers):
        h = h @ weights[f"w{i}"] + weights[f"b{i}"]
        if i < layers - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]
