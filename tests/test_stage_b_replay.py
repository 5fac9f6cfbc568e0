"""bench/stage_b_replay.py's folds: with `--train-cache` stage B learns one cache's candidates and
is scored on another's, of the same clips; with `--train-lower 0,1` it learns two stage As'
candidates side by side (as `train_detector.py --train-lower` trains it)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import stage_b_replay  # noqa: E402
from dessins_de_planche.listen import confirm  # noqa: E402
from dessins_de_planche.listen import memory as memory_module  # noqa: E402

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


def test_stage_b_learns_two_lowerings_side_by_side_each_beside_its_own_memory(monkeypatch):
    """`--train-lower 0,1`: the live candidates and a more sensitive stage A's are learnt together;
    each set's memory runs over its own candidates (a clip's two sets are not one stream), from
    one prior, and stage B is scored on the live set alone."""
    monkeypatch.setattr(stage_b_replay.train_detector, "HIDDEN", (8,))
    rng = np.random.default_rng(4)
    data = _cache(rng, True)
    lower = _cache(rng, True)
    data.update({f"{k}.plank-lower1": lower[f"{k}.plank"] for k in ("x", "label", "time", "clip")})
    data["x.plank-lower1"] = data["x.plank-lower1"].copy()
    data["x.plank-lower1"][:, confirm.REMEMBERED] = 1.0  # the lowered set's own colour
    keep = np.ones(4, bool)
    both = stage_b_replay.train_detector.taught(data, "plank", [0.0, 1.0], keep)
    assert len(both["label"]) == 2 * len(data["label.plank"])
    memory = both["x"][:, confirm.FEATURES:]
    live_rows, lower_rows = slice(0, len(data["label.plank"])), slice(len(data["label.plank"]), None)
    # one prior, the mean of both sets (0.5): each clip's first candidate reads its colour beside it
    firsts = np.flatnonzero(np.diff(np.r_[-1, both["clip"][live_rows]]) != 0)
    assert np.allclose(memory[live_rows][firsts], -0.5) and np.allclose(memory[lower_rows][firsts], 0.5)
    # later, each set's memory is its own colour and the prior's share: nothing of the other set
    share = 0.5 * memory_module.PRIOR_WEIGHT / (memory_module.PRIOR_WEIGHT + memory_module.SIZE)
    assert np.allclose(memory[live_rows][firsts + 200], -share, atol=1e-4)
    assert np.allclose(memory[lower_rows][firsts + 200], share, atol=1e-4)
    fold, foot, _, kind_from = stage_b_replay.fold_word(data, "plank", seed=1, epochs=100, lowers=(0.0, 1.0))
    assert np.array_equal(fold["label"], data["label.plank"]) and len(foot) == len(data["label.plank"])
    assert np.allclose(fold["x"][firsts, confirm.FEATURES:], -0.5)  # scored from both sets' prior
    assert np.array_equal(kind_from["x"], data["x.plank"])  # the heel/toe word learns the live set


def test_the_app_own_false_candidates_weigh_more_only_when_asked():
    """`--generated-negatives W`: the false candidates of the app's own clips (family `generated`)
    weigh W times the class weight, its feet and every other family's candidates as they were."""
    td = stage_b_replay.train_detector
    data = {"families": np.array(["generated", "plank"]), "family": np.array([0, 1], np.int32),
            "clip": np.array([0, 0, 0, 1, 1, 1], np.int32)}
    y = np.array([0, 1, 2, 0, 1, 2], np.intp)
    rows = np.ones(6, bool)
    plain = td.example_weights(data, rows, y)
    assert np.array_equal(plain, td.class_weights(y))
    heavier = td.example_weights(data, rows, y, 3.0)
    assert heavier[0] == 3 * plain[0] and np.array_equal(heavier[1:], plain[1:])


def _with_music(data: dict, rng) -> dict:
    """`_cache`'s four tap clips and two music-only clips of one band: the first music alone (12 s),
    the second under an audience clapping along (24 s); every music candidate a false one."""
    music = rng.standard_normal((600, confirm.FEATURES)).astype(np.float32)
    out = {"families": np.array(("footsteps", "music-band", "plank")),
           "family": np.array([0, 0, 2, 2, 1, 1], np.int32),
           "music_family": np.array(["", "", "", "", "music-band", "music-band"]),
           "music_only": np.array([False] * 4 + [True] * 2), "negative": np.array([""] * 5 + ["clapping"]),
           "speed": np.ones(6), "seconds": np.array([12.0] * 5 + [24.0]), "truth": np.array([30] * 4 + [0, 0])}
    for name in ("footsteps", "music-band", "plank"):
        source = "plank" if name == "music-band" else name
        out.update({f"x.{name}": np.concatenate([data[f"x.{source}"], music]),
                    f"label.{name}": np.concatenate([data[f"label.{source}"], np.zeros(600, np.int8)]),
                    f"time.{name}": np.concatenate([data[f"time.{source}"], np.tile(np.arange(300) * 0.04, 2)]),
                    f"clip.{name}": np.concatenate([data[f"clip.{source}"], np.repeat([4, 5], 300)]).astype(np.int32)})
    return out


def test_music_alone_leaves_the_clapping_clips_out_and_gives_their_rate_beside_it(monkeypatch, capsys):
    """As the issue counts it (and `bench/listening.py`): false alarms a minute on music alone, with
    no audience clapping; the clapping clips' rate beside it, with no target. Every candidate kept."""
    from types import SimpleNamespace

    monkeypatch.setattr(stage_b_replay.train_detector, "HIDDEN", (8,))
    data = _with_music(_cache(np.random.default_rng(5), True), np.random.default_rng(6))
    args = SimpleNamespace(seed=1, epochs=5, l2=1e-3, lowers=(0.0,), generated_negatives=1.0, family_balanced=False,
                           below=0.0, on_grid=0.0, when_idle=None, idle_s=2.0, foot_kind=False, details=False)
    figures = stage_b_replay.score(data, args)
    assert figures["music FA/min"] == pytest.approx(300 / 12 * 60)  # the clip without clapping alone
    assert figures["clapping FA/min"] == pytest.approx(300 / 24 * 60)
    assert figures["withdrawn/min"] == 0.0
    older = {k: v for k, v in data.items() if k != "negative"}  # a cache from before negatives were kept
    figures = stage_b_replay.score(older, args)
    assert figures["music FA/min"] == pytest.approx(600 / 36 * 60) and figures["clapping FA/min"] == 0.0
    assert "counts the audience-clapping clips in" in capsys.readouterr().out


def test_a_cache_written_before_negatives_were_kept_gets_them_without_detecting_again(tmp_path, monkeypatch):
    td = stage_b_replay.train_detector
    clips = [{"name": "a", "family": "plank", "music_family": "", "music_only": False},
             {"name": "b", "family": "music-band", "music_family": "music-band", "music_only": True,
              "negative": "clapping"}]
    found = {"seconds": 12.0, "truth": 0,
             "": {"x": np.zeros((1, confirm.FEATURES), np.float32), "label": np.zeros(1, np.int8), "time": np.zeros(1)}}
    monkeypatch.setattr(td, "map_clips", lambda function, work, jobs: [found for _ in work])
    models = {"": {"stamp": "shipped", "threshold": 0.5}}
    cache = tmp_path / "candidates.npz"
    assert list(td.collect(clips, cache, "v1", 1, models)["negative"]) == ["", "clapping"]
    with np.load(cache) as written:
        older = {k: written[k] for k in written.files if k != "negative"}
    np.savez_compressed(cache, **older)
    monkeypatch.setattr(td, "map_clips", lambda *_: pytest.fail("the clips were detected again"))
    assert list(td.collect(clips, cache, "v1", 1, models)["negative"]) == ["", "clapping"]
    with np.load(cache) as again:
        assert list(again["negative"]) == ["", "clapping"]


def test_the_soundcheck_bench_counts_music_alone_as_the_replay_does(monkeypatch):
    import soundcheck

    monkeypatch.setattr(stage_b_replay.train_detector, "HIDDEN", (8,))
    monkeypatch.setattr(soundcheck, "replay", lambda times, *_args, **_kw: np.ones(len(times), bool))  # keep all
    data = _with_music(_cache(np.random.default_rng(5), True), np.random.default_rng(6))
    for way, figures in soundcheck.score(data, seed=1).items():
        assert figures["music FA/min"] == pytest.approx(300 / 12 * 60), way
        assert figures["clapping FA/min"] == pytest.approx(300 / 24 * 60), way
