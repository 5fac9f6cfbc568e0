"""bench/listening.py's scoring: the taps of a tune under way (from SETTLED_S on) are counted as the
whole clip's are, found taps by where their true tap lies."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import listening  # noqa: E402
from dessins_de_planche.events import KIND_HEEL, KIND_TOE  # noqa: E402


def test_taps_after_the_settling_seconds_are_scored_by_their_true_tap():
    s = listening.SETTLED_S
    taps = [{"time": t, "kind": k} for t, k in ((1.0, "heel"), (s - 0.01, "toe"), (s + 1.0, "heel"), (s + 2.0, "toe"))]
    clip = {"seconds": s + 3.0, "music_only": False, "taps": taps, "family": "plank", "sample_rate": 48_000}
    # found: the first tap; the second 20 ms late (past SETTLED_S, matched to a tap before it); the
    # third called a toe; a false alarm before and one after; the fourth missed
    times = np.array([1.0, s + 0.01, s + 1.0, 2.0, s + 1.5])
    kinds = np.array([KIND_HEEL, KIND_TOE, KIND_TOE, KIND_HEEL, KIND_HEEL])
    tally = listening.Tally()
    tally.score(clip, times, kinds=kinds)
    assert tally.family["plank"] == [5, 4, 3]
    assert tally.settled == [2, 2, 1]  # the third tap and the false alarm after; two true taps, one found
    assert tally.settled_kinds == [0, 1]  # the one found after SETTLED_S called wrong
    assert tally.kinds_right == 2 and tally.kinds_total == 3
