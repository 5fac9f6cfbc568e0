"""Heel or toe beside the channel's own recent feet: a linear word added to stage B's.

Stage B learned heel and toe on the boards and shoes of its corpus, and reads each hit beside the
channel's recent candidates (`listen.memory`), music and noise included. A player's heel is a
heel because it is duller than *their* toes: so each confirmed tap is also read beside the mean
of the channel's last confirmed taps (the training feet's mean weighing as a few), by a logistic
regression over stage B's features and the remembered ones' difference from that mean. Its
log-odds are added to stage B's heel-over-toe logit, and the sum goes to the split that follows
the player's feet (`listen.kinds`). Left out family by family, heel/toe right went from 0.904 to
0.913 (`bench/listening.py`), the worst family's from 0.773 to 0.797 (footsteps; docs/corpus.md,
attempt 73).

Training (`scripts/train_detector.py`) reads each true foot beside the feet before it in its clip;
live, the memory holds what the detector confirmed. Once per confirmed tap: one product of 180
numbers and a memory update, into buffers allocated here.
"""

from __future__ import annotations

import math

import numpy as np

from dessins_de_planche.listen.confirm import FEATURES
from dessins_de_planche.listen.memory import CandidateMemory


class FootKind:
    """The heel-over-toe word of a hit beside the channel's recent feet (weights' `kind_*`)."""

    def __init__(self, weights: dict):
        self._features = weights["kind_features"].astype(np.intp)  # stage B's features remembered
        self._mean = weights["kind_mean"].astype(np.float32)
        self._scale = weights["kind_scale"].astype(np.float32)
        self._w = weights["kind_w"].astype(np.float32)
        self._b = float(weights["kind_b"])
        self._prior = weights["kind_prior"].astype(np.float32)
        self._size = int(weights["kind_memory_size"])
        self._prior_weight = float(weights["kind_prior_weight"])
        inputs = FEATURES + len(self._features)  # stage B's features, then the remembered ones' differences
        shapes = {"kind_mean": len(self._mean), "kind_scale": len(self._scale), "kind_w": len(self._w)}
        if set(shapes.values()) != {inputs} or len(self._prior) != len(self._features) \
                or not (0 <= self._features.min() and self._features.max() < FEATURES):
            raise ValueError(f"the heel/toe word does not fit stage B's {FEATURES} features and its "
                             f"{len(self._features)} remembered ones ({inputs} inputs): {shapes}, "
                             f"kind_prior {len(self._prior)}")
        self._inputs = np.zeros(inputs, np.float32)
        self._hit = FEATURES
        self._picked = self._inputs[self._hit:]

    @classmethod
    def of(cls, weights: dict | None) -> FootKind | None:
        """The word of stage B weights that carry one; None for older weights (stage B's alone)."""
        return cls(weights) if weights is not None and "kind_w" in weights else None

    def memory(self) -> CandidateMemory:
        """A fresh memory of one channel's confirmed taps, its prior the training feet's mean."""
        return CandidateMemory(self._prior, self._size, self._prior_weight, self._features)

    def means_without_each(self, feet: np.ndarray) -> np.ndarray:
        """For each of a player's taps (rows of stage B's features), the mean a memory full of their
        other taps gives (at most its size of them, in the same proportions, with the prior): what
        the live detector reads a tap beside, once a tune has gone on a while (calibrate)."""
        picked = feet[:, self._features].astype(np.float64)
        others = len(picked) - 1
        if others < 1:
            return np.repeat(self._prior[None, :], len(picked), axis=0)
        held = min(others, self._size)
        rest = (picked.sum(axis=0) - picked) * (held / others)
        return ((self._prior_weight * self._prior + rest) / (self._prior_weight + held)).astype(np.float32)

    def logit(self, x: np.ndarray, feet_mean: np.ndarray) -> float:
        """The head's heel-over-toe log-odds of a hit (stage B's features `x`) beside the mean of
        the channel's recent feet (`CandidateMemory.mean`)."""
        inputs = self._inputs
        inputs[: self._hit] = x
        np.take(x, self._features, out=self._picked)
        np.subtract(self._picked, feet_mean, out=self._picked)
        np.subtract(inputs, self._mean, out=inputs)
        np.multiply(inputs, self._scale, out=inputs)
        return float(np.dot(inputs, self._w)) + self._b

    def heel(self, heel_probability: float, x: np.ndarray, feet_mean: np.ndarray) -> float:
        """Stage B's heel probability (over toe) with this word's log-odds added."""
        p = min(max(heel_probability, 1e-9), 1.0 - 1e-9)
        z = math.log(p / (1.0 - p)) + self.logit(x, feet_mean)
        return 1.0 / (1.0 + math.exp(-min(max(z, -60.0), 60.0)))
