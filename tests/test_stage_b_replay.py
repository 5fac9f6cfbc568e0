"""bench/stage_b_replay.py's folds: with `--train-cache` stage B learns one cache's candidates and
is scored on another's, of the same clips (as `train_detector.py --train-lower` trains it)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import stage_b_replay  # noqa: E402
from dessins_de_planche.listen import confirm  # noqa: E402

FAMILIES = ("footsteps", "plank")


def _cache(rng, foot_where_positive: bool) -> dict:
    """Two clips of each family; each candidate a foot (label 1) or not (0) by the sign of its
    first feature, one way or the other."""
    clips = np.repeat(np.arange(4), 300)
    x = rng.standard_normal((len(clips), confirm.FEATURES)).astype(np.float32)
    x[:, 1:] = 0.0  # the first feature tells
    x[:, confirm.REMEMBERED] = 0.0 if foot_where_positive else 1.0  # a colour the memory takes out
    label = ((x[:, 0] > 0) == foot_where_positive).astype(np.int8)
    times = np.tile(np.arange(300) * 0.04, 4)
    data = {"families": np.array(FAMILIES), "family": np.array([0, 0, 1, 1], np.int32),
            "music_family": np.array(["", "", "", ""]), "speed": np.ones(4), "seconds": np.full(4, 12.0),
            "truth": np.full(4, 30)}
    for family in FAMILIES:
        data.update({f"x.{family}": x, f"label.{family}": label, f"time.{family}": times,
                     f"clip.{family}": clips.astype(np.int32)})
    return data


def test_stage_b_learns_the_training_cache_and_is_scored_on_the_other(monkeypatch):
    monkeypatch.setattr(stage_b_replay.train_detector, "HIDDEN", (8,))
    rng = np.random.default_rng(3)
    scored, learnt = _cache(rng, True), _cache(rng, False)
    positive = scored["x.plank"][:, 0] > 0
    fold, foot, _, taught = stage_b_replay.fold_word(scored, "plank", seed=1, epochs=300)
    assert np.mean(foot[positive] > 0.5) > 0.9 and np.mean(foot[~positive] > 0.5) < 0.1  # its own labels
    fold, foot, _, taught = stage_b_replay.fold_word(scored, "plank", seed=1, epochs=300, learn=learnt)
    assert np.mean(foot[positive] > 0.5) < 0.1 and np.mean(foot[~positive] > 0.5) > 0.9  # the other cache's
    assert np.array_equal(fold["label"], scored["label.plank"]) and np.array_equal(taught["label"], learnt["label.plank"])
    # the memory starts from the mean of the candidates learnt (as the shipped weights' prior): the
    # scored clips' first candidate reads its colour (0) beside the learnt one (1)
    first = np.flatnonzero(fold["clip"] == 2)[0]
    assert np.allclose(fold["x"][first, confirm.FEATURES:], -1.0)
    with pytest.raises(SystemExit):  # not the same clips
        stage_b_replay.score(scored, None, {**learnt, "family": np.array([1, 1, 0, 0], np.int32)})
