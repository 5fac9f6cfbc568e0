"""The memory of a channel's recent candidates that stage B reads each hit beside (`listen.memory`)."""

import numpy as np

from dessins_de_planche.listen.memory import CandidateMemory, recent_means


def test_training_gives_the_means_the_live_memory_gives():
    """Training computes the memory for whole clips at once; the live detector one candidate at a
    time. They must agree, or stage B is trained on numbers the show never gives it."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 7)).astype(np.float32)
    stream = np.repeat([0, 1, 2], 20)
    times = rng.permutation(60).astype(float)  # out of order: each stream is read in time order
    prior = rng.standard_normal(7)
    means = recent_means(x, stream, times, prior, size=5, prior_weight=3.0)
    for s in range(3):
        live = CandidateMemory(prior, size=5, prior_weight=3.0)
        for i in sorted(np.flatnonzero(stream == s), key=lambda i: times[i]):
            assert np.allclose(live.mean(), means[i], atol=1e-5)
            live.add(x[i])


def test_a_fresh_memory_is_the_prior_and_reset_forgets():
    prior = np.array([1.0, -2.0], np.float32)
    memory = CandidateMemory(prior, size=4, prior_weight=2.0)
    assert np.allclose(memory.mean(), prior)
    memory.add(np.array([5.0, 4.0], np.float32))
    assert np.allclose(memory.mean(), [(2 * 1 + 5) / 3, (2 * -2 + 4) / 3])
    memory.reset()
    assert np.allclose(memory.mean(), prior)


def test_weeks_of_candidates_cost_and_weigh_as_the_last_few():
    """A kiosk hears millions of candidates: the memory keeps a fixed number, and its mean is
    theirs (with the prior) to float precision, with no drift from a running sum."""
    rng = np.random.default_rng(8)
    memory = CandidateMemory(np.zeros(3, np.float32), size=32, prior_weight=4.0)
    rows = memory._rows
    for _ in range(200):
        block = (rng.standard_normal((1000, 3)) * 1e3 + 5e3).astype(np.float32)
        for row in block:
            memory.add(row)
    assert memory._rows is rows and rows.shape == (32, 3)
    assert np.allclose(memory.mean(), block[-32:].sum(axis=0, dtype=np.float64) / 36, rtol=1e-5)


def test_a_memory_holds_only_the_features_it_remembers():
    """Stage B remembers the hit's spectrum as a whole (`confirm.REMEMBERED`), not the frames'
    course in time: the memory takes whole feature vectors and keeps those columns."""
    memory = CandidateMemory(np.zeros(2, np.float32), size=4, prior_weight=0.0, features=np.array([3, 1]))
    memory.add(np.array([0.0, 10.0, 0.0, 30.0, 0.0], np.float32))
    memory.add(np.array([0.0, 20.0, 0.0, 50.0, 0.0], np.float32))
    assert np.allclose(memory.mean(), [40.0, 15.0])
