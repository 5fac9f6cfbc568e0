"""What a channel's candidates have sounded like lately: stage B reads each hit beside them.

A board, its shoes, the room and the mic colour every hit on a channel alike, and stage B,
learned on other boards, reads that colour as much as the hit. So each candidate's spectral
features are also given to stage B as their difference from the mean of the channel's last
`size` candidates (taps and whatever else rose, as stage A fired them) — what per-speaker
normalisation does for speech. The mean starts at what training heard on average (`prior`,
weighted as `prior_weight` candidates), so a stream's first candidates are read as in training.

`CandidateMemory` is the live form (one per channel, preallocated, a few µs a candidate, never
growing); `recent_means` gives the same means for a whole recording at once (training, benches).
"""

from __future__ import annotations

import numpy as np

SIZE = 32  # candidates remembered
PRIOR_WEIGHT = 4.0  # the training mean counts as this many candidates


class CandidateMemory:
    """The last `size` candidates' remembered features (`features`, indices into stage B's; all
    when None) on one channel, and their mean with the prior."""

    def __init__(self, prior: np.ndarray, size: int = SIZE, prior_weight: float = PRIOR_WEIGHT,
                 features: np.ndarray | None = None):
        self.prior = np.asarray(prior, np.float32)
        self.prior_weight = float(prior_weight)
        self.features = None if features is None else np.asarray(features, np.intp)
        self._rows = np.zeros((max(1, int(size)), len(self.prior)), np.float32)
        self._sum = np.zeros(len(self.prior), np.float32)
        self._mean = np.zeros(len(self.prior), np.float32)
        self.reset()

    def reset(self) -> None:
        self._count = 0
        self._next = 0

    def mean(self) -> np.ndarray:
        """The mean of the remembered candidates and the prior (a buffer, overwritten by the next call)."""
        # summed afresh each time (32 rows): nothing drifts however long the stream runs
        np.sum(self._rows[: self._count], axis=0, out=self._sum)
        np.multiply(self.prior, self.prior_weight, out=self._mean)
        np.add(self._mean, self._sum, out=self._mean)
        np.divide(self._mean, max(self.prior_weight + self._count, 1e-9), out=self._mean)
        return self._mean

    def add(self, x: np.ndarray) -> None:
        """Remember a candidate: all of stage B's features (the remembered ones are picked here)."""
        if self.features is None:
            self._rows[self._next] = x
        else:
            np.take(x, self.features, out=self._rows[self._next])
        self._next = (self._next + 1) % len(self._rows)
        self._count = min(self._count + 1, len(self._rows))


def recent_means(x: np.ndarray, stream: np.ndarray, times: np.ndarray, prior: np.ndarray,
                 size: int = SIZE, prior_weight: float = PRIOR_WEIGHT) -> np.ndarray:
    """For each row of `x`, the mean `CandidateMemory` gives before it is added: its stream's
    earlier rows (in `times` order), the last `size` of them, with the prior."""
    out = np.empty(x.shape, np.float32)
    prior = np.asarray(prior, np.float64)
    for s in np.unique(stream):
        idx = np.flatnonzero(stream == s)
        idx = idx[np.argsort(times[idx], kind="stable")]
        sums = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x[idx], axis=0, dtype=np.float64)])
        n = np.arange(len(idx))
        first = np.maximum(n - size, 0)
        count = (n - first)[:, None]
        out[idx] = (prior_weight * prior + sums[n] - sums[first]) / (prior_weight + count)
    return out
