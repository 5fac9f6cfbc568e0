"""bench/listening.py's scoring: the taps of a tune under way (from each clip's SETTLED_TAPS-th true
tap on) are counted as the whole clip's are, a found tap by where its true tap lies."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import listening  # noqa: E402
from dessins_de_planche.events import KIND_HEEL, KIND_TOE  # noqa: E402


def _clip(times):
    taps = [{"time": float(t), "kind": "heel" if i % 2 == 0 else "toe"} for i, t in enumerate(times)]
    return {"seconds": float(times[-1]) + 1.0, "music_only": False, "taps": taps, "family": "plank",
            "sample_rate": 48_000}


def test_taps_from_the_settling_tap_on_are_scored_by_their_true_tap():
    n = listening.SETTLED_TAPS
    truth = 0.5 + 0.2 * np.arange(n + 2)  # the settling tap, then two more
    settle = truth[n - 1]
    clip = _clip(truth)
    true_kinds = np.array([KIND_HEEL if i % 2 == 0 else KIND_TOE for i in range(n + 2)])
    # every tap found on time, but: the settling tap found 10 ms early (before its own time, so
    # counted by where its true tap lies) and called wrong; the last one missed; a false alarm
    # before the settling tap and one after it
    found = truth[:-1].copy()
    found[n - 1] -= 0.010
    kinds = true_kinds[:-1].copy()
    kinds[n - 1] = KIND_TOE if kinds[n - 1] == KIND_HEEL else KIND_HEEL
    order = np.argsort(np.r_[found, settle - 0.1, settle + 0.1], kind="stable")
    times = np.r_[found, settle - 0.1, settle + 0.1][order]
    kinds = np.r_[kinds, KIND_HEEL, KIND_HEEL][order]
    tally = listening.Tally()
    tally.score(clip, times, kinds=kinds)
    assert tally.family["plank"] == [n + 3, n + 2, n + 1]
    # found: the settling tap, the one after it, the false alarm after; true: the settling tap and
    # two more; matched: two; heel or toe right on one of the two
    assert tally.settled == [3, 3, 2]
    assert tally.settled_kinds == [1, 2]


def test_a_clip_shorter_than_the_settling_tap_counts_only_over_the_whole_clip():
    truth = 0.5 + 0.2 * np.arange(listening.SETTLED_TAPS - 1)
    tally = listening.Tally()
    tally.score(_clip(truth), np.r_[truth, truth[-1] + 0.5], kinds=np.full(len(truth) + 1, KIND_HEEL))
    assert tally.family["plank"] == [len(truth) + 1, len(truth), len(truth)]
    assert tally.settled == [0, 0, 0] and tally.settled_kinds == [0, 0]


def test_a_clip_is_also_scored_by_its_taps_per_beat_and_taps_a_second():
    clip = {"family": "plank", "room": {"kind": "dry"}, "pattern": "en quatre toes", "pattern_name": "en quatre",
            "bpm": 120.0}
    keys = listening.conditions(clip)
    assert "taps per beat 4" in keys and "tap rate >= 7 a second" in keys  # 4 a beat at 2 beats a second
    keys = listening.conditions({**clip, "pattern": "ti-galop", "pattern_name": "ti-galop", "bpm": 110.0})
    assert "taps per beat 3" in keys and "tap rate 5-6 a second" in keys  # 5.5 a second
    music = listening.conditions({"family": "music-csound", "room": {"kind": "dry"}, "pattern": None, "bpm": None})
    assert not any(k.startswith(("taps per beat", "tap rate")) for k in music)


def test_the_taps_stage_a_fired_on_count_withdrawn_ones_and_each_tap_once():
    """Stage A's recall: a tap counts as heard where any first emission (kept or withdrawn later)
    lies within 25 ms of it, one emission to one tap; music-only clips count nothing."""
    truth = 0.5 + 0.2 * np.arange(5)
    clip = _clip(truth)
    clip["taps"][3]["flam"] = True
    tally = listening.Tally()
    # taps 0 and 1 heard (1 twice, 8 ms apart), tap 2 heard 30 ms late (missed), 3 and 4 not at all
    tally.stage_a(clip, np.array([truth[0], truth[1] - 0.004, truth[1] + 0.004, truth[2] + 0.030]))
    assert tally.heard["plank"] == [5, 2]
    assert tally.tap_heard["flam hits"] == [1, 0]
    assert tally.tap_heard["kind heel"] == [3, 1] and tally.tap_heard["kind toe"] == [2, 1]
    tally.stage_a({**clip, "music_only": True}, truth)
    assert tally.heard["plank"] == [5, 2]


def test_a_reference_is_read_at_the_false_alarms_ours_raises_between_its_swept_thresholds():
    """A reference swept over its threshold: its recall where it raises as many false alarms a
    minute on music alone as ours does, between the two settings around that rate; none outside."""
    truth = 0.5 + 0.2 * np.arange(10)
    taps, music = _clip(truth), {"seconds": 60.0, "music_only": True, "family": "music-csound"}
    tally = listening.Tally()
    # a low threshold: every tap, 40 false alarms a minute; a high one: 4 of the 10 taps (and 4 more
    # found 30 ms late, which match none), 10 a minute
    tally.swept(taps, 0.1, truth)
    tally.swept(music, 0.1, np.linspace(1, 59, 40))
    tally.swept(taps, 0.5, np.sort(np.r_[truth[:4], truth[4:8] + 0.030]))
    tally.swept(music, 0.5, np.linspace(1, 59, 10))
    assert tally.sweep[0.5] == [4, 10, 10, 60.0]
    assert abs(tally.recall_at_alarms(25.0) - (0.4 + 1.0) / 2) < 1e-9  # halfway from 10 to 40 a minute
    assert tally.recall_at_alarms(40.0) == 1.0
    assert tally.recall_at_alarms(5.0) is None and tally.recall_at_alarms(80.0) is None


def test_audience_clapping_is_reported_beside_music_alone_not_counted_in_it():
    """The issue's target is music alone; clapping along is a hard negative reported on its own."""
    tally = listening.Tally()
    music = {"seconds": 30.0, "music_only": True, "family": "music-x", "negative": None,
             "music": "x: piano boom-chick"}
    clapping = {**music, "negative": "clapping", "music": "x: clapping, fiddle and piano"}
    tally.score(music, np.array([1.0, 2.0]))  # 2 in 30 s of music alone
    tally.score(clapping, np.arange(12) + 0.5)  # 12 in 30 s of clapping
    assert tally.alarms_per_minute() == 4.0 and tally.alarms_per_minute("music-x") == 4.0
    assert tally.clapping_per_minute() == 24.0
    assert tally.music_only_per_minute() == 14.0  # both, as given until stop 50
    # and by what the clip plays, whichever soundfont renders it
    assert tally.by_arrangement == {"piano boom-chick": [2, 30.0], "clapping, fiddle and piano": [12, 30.0]}
    tally.swept(clapping, 0.5, np.arange(30.0))  # a reference's sweep reads music alone too
    tally.swept(music, 0.5, np.array([1.0]))
    assert tally.sweep[0.5][2:] == [1, 30.0]
