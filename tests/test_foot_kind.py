"""Heel or toe beside the channel's recent feet (`listen.foot_kind`): trained as the detector
reads it live, added to stage B's word, and left out where the weights do not carry it."""

import sys
from pathlib import Path

import numpy as np
import pytest

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, RECORD_REFINE
from dessins_de_planche.listen import confirm
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.foot_kind import FootKind
from dessins_de_planche.listen.kinds import KindSplit
from dessins_de_planche.listen.synth import podorhythm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import train_detector  # noqa: E402

SR = 48_000


def confirmed(audio, weights=None, block=128):
    """The detector's decisions on `audio` (one channel): each stage B candidate's (onset, features,
    stage B's heel probability), and the final kind of each confirmed one by onset sample."""
    detector = TapDetector(SR, [0], weights=weights) if weights is not None else TapDetector(SR, [0])
    detector.collect = []
    kinds = {}
    for start in range(0, len(audio) - block + 1, block):
        n = detector.process(np.ascontiguousarray(audio[start : start + block]), start)
        for i in range(n):
            if detector.out_refine[i] == RECORD_REFINE:
                kinds[int(round(detector.out_onset[i]))] = int(detector.out_kind[i])
    return detector, detector.collect, kinds


@pytest.fixture(scope="module")
def board():
    audio, truth = podorhythm(12.0, SR, 118, 4, ("Heel", "toe", "heel", "toe"), seed=5, level_db=-14.0)
    return audio[:, :1], truth


def test_newtons_logistic_regression_finds_the_model_that_made_the_labels():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(20_000, 4))
    truth, bias = np.array([1.5, -2.0, 0.0, 0.7]), -0.4
    heel = rng.random(len(x)) < 1.0 / (1.0 + np.exp(-(x @ truth + bias)))
    w, b = train_detector.logistic(x, heel, l2=1.0)
    assert np.allclose(w, truth, atol=0.1) and abs(b - bias) < 0.1
    again = train_detector.logistic(x, heel, l2=1.0)
    assert np.array_equal(again[0], w) and again[1] == b  # seeded by nothing: the same every run


def test_the_shipped_word_reads_each_foot_as_training_taught_it(board):
    """Training reads each true foot beside the feet before it in its clip, all at once
    (`train_detector.with_memory`, as `fit_kind` does); the live word keeps its memory tap by tap."""
    weights = confirm.load_weights()
    assert "kind_w" in weights, "the shipped stage B carries no heel/toe word beside the feet"
    audio, _ = board
    _, rows, kinds = confirmed(audio)
    feet = [row for row in rows if int(round(row[1])) in kinds]
    assert len(feet) >= 30
    x = np.array([row[2] for row in feet], np.float32)
    inputs = train_detector.with_memory({"x": x.astype(np.float64), "clip": np.zeros(len(x), np.intp),
                                         "time": np.array([row[1] for row in feet], float)},
                                        weights["kind_features"], weights["kind_prior"])
    trained = ((inputs - weights["kind_mean"]) * weights["kind_scale"]) @ weights["kind_w"] + weights["kind_b"]
    head = FootKind(weights)
    memory = head.memory()
    live = []
    for row in x:
        live.append(head.logit(row, memory.mean()))
        memory.add(row)
    assert np.allclose(live, trained, atol=1e-3)


def test_the_detector_splits_heel_and_toe_on_stage_bs_word_beside_the_feet(board):
    audio, truth = board
    detector, rows, kinds = confirmed(audio)
    assert detector.feet[0] is not None  # a channel with no calibration reads heel or toe on the word
    head, memory, split = detector.foot_kind, detector.foot_kind.memory(), KindSplit()
    replayed = {}
    for channel, onset, x, foot, heel, _ in rows:
        at = int(round(onset))
        if at not in kinds:
            continue  # withdrawn
        replayed[at] = KIND_HEEL if split.is_heel(head.heel(heel, x, memory.mean())) else KIND_TOE
        memory.add(x)
    assert replayed == kinds
    # and the feet are right: the synthesizer's heels and toes, matched by time
    onsets = np.array(sorted(kinds)) / SR
    right = [kinds[int(round(onsets[np.argmin(np.abs(onsets - t))] * SR))] == k
             for t, k in zip(truth["time"], truth["kind"]) if np.min(np.abs(onsets - t)) < 0.025]
    assert len(right) >= 0.95 * len(truth) and np.mean(right) >= 0.95


def test_a_hit_reads_more_like_a_heel_beside_toes_than_beside_heels(board):
    """What the word adds: a player's heel is a heel because it is duller than their toes."""
    audio, truth = board
    weights = confirm.load_weights()
    head = FootKind(weights)
    _, rows, kinds = confirmed(audio)
    heel_times = truth["time"][truth["kind"] == KIND_HEEL]
    feet = [(row[2], np.min(np.abs(heel_times - row[1] / SR)) < 0.025) for row in rows if int(round(row[1])) in kinds]
    heels = np.array([x for x, is_heel in feet if is_heel])
    toes = np.array([x for x, is_heel in feet if not is_heel])
    assert len(heels) >= 10 and len(toes) >= 10
    feature_of = weights["kind_features"].astype(np.intp)
    beside_heels, beside_toes = heels[:, feature_of].mean(axis=0), toes[:, feature_of].mean(axis=0)
    for hit in list(heels) + list(toes):
        assert head.logit(hit, beside_toes) > head.logit(hit, beside_heels)


def test_weights_without_the_word_keep_stage_bs_own_split(board):
    """Stage B weights trained before the word (or a build's own without it) are read as before."""
    weights = {k: v for k, v in confirm.load_weights().items() if not k.startswith("kind_")}
    assert FootKind.of(weights) is None
    audio, _ = board
    detector, rows, kinds = confirmed(audio, weights)
    assert detector.foot_kind is None and detector.feet == [None]
    split = KindSplit()
    replayed = {int(round(onset)): KIND_HEEL if split.is_heel(heel) else KIND_TOE
                for _, onset, _, _, heel, _ in rows if int(round(onset)) in kinds}
    assert replayed == kinds and len(kinds) >= 30


def test_reset_forgets_the_feet():
    weights = confirm.load_weights()
    audio, _ = podorhythm(3.0, SR, 118, 2, ("heel", "toe"), seed=1, level_db=-12.0)
    detector, _, kinds = confirmed(audio[:, :1])
    assert kinds and not np.allclose(detector.feet[0].mean(), weights["kind_prior"])
    detector.reset()
    assert np.allclose(detector.feet[0].mean(), weights["kind_prior"])


def test_the_word_is_added_to_stage_b_weights_that_are_kept_bit_for_bit(tmp_path):
    """`train_detector.py --kind-only`: the heel/toe word trained into weights already there."""
    shipped = confirm.load_weights()
    bare = {k: v for k, v in shipped.items() if not k.startswith("kind_")}
    bare["stamp"] = np.array(shipped["stamp"].split(".kind-")[0])
    path = tmp_path / "stage_b.npz"
    np.savez(path, **bare)
    kind = {k: v for k, v in shipped.items() if k.startswith("kind_")}
    for _ in range(2):  # trained again, the stamp says so once
        train_detector.add_kind(path, kind)
    again = confirm.load_weights(path)
    assert again["stamp"] == f"{bare['stamp']}.kind-{train_detector.TRAIN_VERSION}"
    assert set(again) == set(bare) | set(kind)
    for key in set(bare) - {"stamp"}:
        assert np.array_equal(again[key], bare[key]) and again[key].dtype == bare[key].dtype
    row = np.random.default_rng(8).normal(size=confirm.FEATURES).astype(np.float32)
    prior = shipped["kind_prior"]
    assert FootKind.of(again).logit(row, prior) == FootKind(shipped).logit(row, prior)  # the word read back


def test_calibration_reads_each_tap_beside_the_players_other_taps():
    """`calibrate` tunes the word on each calibration tap beside the others, as the live memory
    holds a tune's taps before the next one is read."""
    head = FootKind(confirm.load_weights())
    rows = np.random.default_rng(6).normal(size=(9, confirm.FEATURES)).astype(np.float32)
    means = head.means_without_each(rows)
    for k in range(len(rows)):
        memory = head.memory()
        for other in np.delete(rows, k, axis=0):
            memory.add(other)
        assert np.allclose(means[k], memory.mean(), atol=1e-5)
    assert np.allclose(head.means_without_each(rows[:1])[0], head.memory().mean())  # no other: the prior


def test_weights_whose_word_does_not_fit_the_features_are_refused():
    for key, cut in (("kind_w", np.s_[:-1]), ("kind_scale", np.s_[1:]), ("kind_prior", np.s_[:-1])):
        weights = dict(confirm.load_weights())
        weights[key] = weights[key][cut]
        with pytest.raises(ValueError, match="heel/toe word does not fit"):
            FootKind(weights)
    weights = dict(confirm.load_weights())
    weights["kind_features"] = weights["kind_features"] + confirm.FEATURES
    with pytest.raises(ValueError, match="heel/toe word does not fit"):
        FootKind(weights)


def test_only_the_channels_that_read_the_word_keep_a_memory_of_feet():
    """The rules' split (`heel_low_share`) or a tune on stage B's own word (a calibration from before
    the word) decide heel or toe without it: nothing is read or remembered for them per tap."""
    from dessins_de_planche.listen.calibration import ChannelCalibration

    tuned = [None, ChannelCalibration(heel_low_share=0.4), ChannelCalibration(heel_bias=0.5),
             ChannelCalibration(heel_bias=0.5, heel_bias_beside_feet=True)]
    detector = TapDetector(SR, [0, 1, 2, 3], calibration=tuned)
    assert [feet is not None for feet in detector.feet] == [True, False, False, True]
