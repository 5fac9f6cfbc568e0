"""The books a tap's frame keeps, checked against the plain numpy they stand in for: `among` is
np.isin for the few taps of a frame, the last taps' attributes are the last RECENT_TAPS of all, and a
mark finds its tap's detection time however many taps the frame brings."""

from __future__ import annotations

import numpy as np
import pytest

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, RECORD_REFINE, TAP_DTYPE, ZONE_UNCHANGED
from dessins_de_planche.preset.mapping import TAP_ATTRS_DTYPE
from dessins_de_planche.render.live import among
from dessins_de_planche.render.marks import NO_TAP
from dessins_de_planche.render.recent import RECENT_TAPS, RecentTaps

VALUES = np.array([3, 7, 7, 9, 12, 40, 41, 42, 43, 44, NO_TAP], np.uint32)


@pytest.mark.parametrize("ids", [[], [7], [7, 7, 7], [5], [NO_TAP], [3, 12, 44, 5], [3, 7, 9, 12, 40, 41, 99],
                                 np.array([42, 42, 43], np.uint32), {41: 0.1, 9: 0.2}])
def test_among_says_what_isin_says(ids):
    wanted = np.fromiter(ids, np.int64, len(ids)) if len(ids) else np.zeros(0, np.int64)
    assert np.array_equal(among(VALUES, ids), np.isin(VALUES, wanted))


def taps(ids, start=0.0):
    attrs = np.zeros(len(ids), TAP_ATTRS_DTYPE)
    attrs["tap_id"] = ids
    attrs["time"] = start + 0.1 * np.arange(len(ids))
    attrs["detected_at"] = attrs["time"] + 0.008
    return attrs


def test_the_last_taps_are_kept_whatever_a_frame_brings():
    recent, everything = RecentTaps(), taps([])
    for size in (1, 3, 0, 70, 1, 63, 2):
        batch = taps(np.arange(len(everything), len(everything) + size))
        recent.remember(batch)
        everything = np.concatenate([everything, batch])
        assert np.array_equal(recent.attrs, everything[-RECENT_TAPS:])


def test_a_mark_finds_when_its_tap_was_detected():
    recent = RecentTaps()
    recent.remember(taps(np.arange(10, 20), start=5.0))
    one = np.full(14, 13, np.uint32)  # a burst: one tap
    assert np.allclose(recent.seen(one, 5.0, 0.0), 0.308)
    several = np.array([11, 19, 11, 12, 15, 18], np.uint32)  # more than a few taps: the sorted way
    assert np.allclose(recent.seen(several, 5.0, 0.0), 0.1 * (several - 10) + 0.008)
    assert np.allclose(recent.seen(several[:2], 5.0, 0.0), [0.108, 0.908])
    unknown = np.array([13, 99], np.uint32)  # not kept: the sorted way answers as it always did
    assert np.allclose(recent.seen(unknown, 5.0, 0.0), [0.308, 0.908])
    assert np.array_equal(RecentTaps().seen(one, 5.0, 2.5), np.full(14, 2.5))


def test_a_word_says_what_it_changed():
    recent = RecentTaps()
    attrs = taps([4, 5, 6])
    attrs["kind"], attrs["velocity"], attrs["zone"] = KIND_HEEL, 0.5, 1
    recent.remember(attrs)
    words = np.zeros(4, TAP_DTYPE)
    words["tap_id"] = [4, 5, 6, 77]
    words["kind"] = [KIND_HEEL, KIND_TOE, KIND_HEEL, KIND_TOE]
    words["velocity"] = [0.5, 0.5, 0.75, 0.5]
    words["zone"] = [ZONE_UNCHANGED, ZONE_UNCHANGED, 3, 2]
    words["refine"] = RECORD_REFINE
    assert recent.hear(words) == {1: {"kind"}, 2: {"velocity", "zone"}}
    assert recent.attrs["kind"].tolist() == [KIND_HEEL, KIND_TOE, KIND_HEEL]
    assert recent.attrs["zone"].tolist() == [1, 1, 3]
    assert recent.hear(words[:3]) == {}  # the same word again changes nothing
