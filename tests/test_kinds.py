"""The heel/toe split that follows the player's own feet (listen/kinds.py)."""

import math

from dessins_de_planche.listen.kinds import KindSplit


def probability(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def test_until_six_taps_the_split_is_stage_bs_own():
    split = KindSplit()
    for logit in (6.0, 1.0, 6.5, 1.5, 7.0):
        split.is_heel(probability(logit))
        assert split.split() == 0.0


def test_a_board_whose_toes_stage_b_hears_as_heels_gets_its_toes_back():
    """Stage B calls every tap of an unfamiliar board a heel (logits 5-7 and 1-2): once the two
    clusters show, the split moves between them and the toes come out toes."""
    split = KindSplit()
    heels = [6.0, 6.5, 7.0, 5.5, 6.2, 6.8]
    toes = [1.0, 1.6, 1.2, 2.0, 1.4, 1.8]
    for heel, toe in zip(heels, toes):
        split.is_heel(probability(heel))
        split.is_heel(probability(toe))
    assert 1.6 < split.split() < 4.0
    assert split.is_heel(probability(6.1)) and not split.is_heel(probability(1.5))


def test_a_run_of_heels_alone_stays_heels():
    """One cluster (a pattern of heels only): no split found, every tap keeps stage B's word."""
    split = KindSplit()
    kinds = [split.is_heel(probability(4.0 + 0.3 * math.sin(i))) for i in range(30)]
    assert all(kinds) and split.split() == 0.0


def test_the_oldest_taps_fall_out_and_reset_forgets():
    split = KindSplit(taps=24)
    for i in range(40):
        split.is_heel(probability(6.0 if i % 2 else 1.0))
    assert split.split() > 0.0
    for _ in range(24):  # a new board: stage B's own split fits it
        split.is_heel(probability(0.3))
    assert split.split() == 0.0
    split.reset()
    assert split.split() == 0.0
