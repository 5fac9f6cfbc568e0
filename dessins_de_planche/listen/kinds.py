"""Heel or toe by the player's own feet: stage B's split, moved toward the one their taps show.

Stage B learned where heels end and toes begin on the boards and shoes of its corpus. On a board
it has never heard, its heel-over-toe logits still fall in two clusters, the player's heels and
their toes, but the boundary between them is not always where it learned it. The split here lies
halfway between stage B's own (a logit of 0) and the midpoint of the two clusters (two-means) of
the channel's last 24 confirmed taps, once there are 6 and the clusters stand more than 2 logits
apart. Left out family by family on the listening corpus, heel/toe right went from 0.882 to 0.900
with stop 20's stage B (`bench/heel_toe.py`, every family up; the analyze path 0.860 -> 0.874;
docs/corpus.md, attempt 44), and from 0.904 to 0.913 with stop 21's, which already hears each hit
beside the channel's recent ones. A channel that `calibrate` tuned keeps its calibration's split.
The probability split is stage B's with the word beside the channel's recent feet added
(`listen.foot_kind`), where the weights carry one.

Once per confirmed tap, never per block: a sort of at most 24 Python floats and their running sums.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from itertools import accumulate


class KindSplit:
    """The heel/toe split of one channel, from its recent confirmed taps."""

    def __init__(self, taps: int = 24, least: int = 6, apart: float = 2.0, trust: float = 0.5, rounds: int = 5):
        self._logits: deque[float] = deque(maxlen=taps)  # the oldest falls out
        self._least = least
        self._apart = apart  # logits between the clusters' means, at least
        self._trust = trust  # how far toward the clusters' midpoint the split moves (0: stage B's own)
        self._rounds = rounds

    def reset(self) -> None:
        self._logits.clear()

    def is_heel(self, heel_probability: float) -> bool:
        """Heel or toe for a confirmed tap whose stage B heel probability (over toe) is given;
        the tap joins the channel's recent ones first."""
        p = min(max(heel_probability, 1e-9), 1.0 - 1e-9)
        logit = math.log(p / (1.0 - p))
        self._logits.append(logit)
        return logit > self.split()

    def split(self) -> float:
        """The logit above which a tap is a heel: 0 (stage B's own) until the taps show two clusters."""
        values = sorted(self._logits)
        n = len(values)
        if n < self._least:
            return 0.0
        sums = list(accumulate(values, initial=0.0))  # sums[k]: the k lowest together
        low, high = values[n // 4], values[(3 * n) // 4]
        for _ in range(self._rounds):
            k = bisect_right(values, 0.5 * (low + high))  # the values at or under the middle
            if k in (0, n):
                return 0.0
            low, high = sums[k] / k, (sums[n] - sums[k]) / (n - k)
        if high - low <= self._apart:
            return 0.0
        return self._trust * 0.5 * (low + high)
