"""The corpus generator: deterministic clips with truth that the detector can be scored on.

Runs on the synthetic sources (no soundfont download); the soundfont path is the same code
with another `sounds.source`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402


def build(folder):
    return make_corpus.make(folder, "synthetic", taps=3, music=1, seconds=6.0, sample_rate=48_000,
                            splits=["tuning"])


def test_clips_come_with_truth_and_the_same_arguments_give_the_same_clips(tmp_path):
    index = build(tmp_path / "a")
    build(tmp_path / "b")
    assert len(index) == 4
    assert sum(c["music_only"] for c in index) == 1
    for clip in index:
        a, rate = soundfile.read(tmp_path / "a" / "tuning" / clip["clip"], dtype="float32")
        b, _ = soundfile.read(tmp_path / "b" / "tuning" / clip["clip"], dtype="float32")
        assert rate == 48_000 and np.array_equal(a, b)
        truth = json.loads((tmp_path / "a" / "tuning" / clip["clip"]).with_suffix(".json").read_text())
        if clip["music_only"]:
            assert truth["taps"] == []
            continue
        times = np.array([t["time"] for t in truth["taps"]])
        assert len(times) > 10 and np.all(np.diff(times) > 0.02) and times[-1] < truth["seconds"]
        assert {t["kind"] for t in truth["taps"]} == {"heel", "toe"}
        assert 100 <= truth["bpm"] <= 140 and truth["pattern_name"]


def test_the_true_onset_is_where_the_hit_starts(tmp_path):
    """Each tap's truth is the first sample at 5 % of its hit's peak: the 5 ms after it are
    much louder than the 5 ms before it (music and room aside)."""
    index = build(tmp_path)
    for clip in (c for c in index if not c["music_only"] and c["ratio_db"] >= 6):
        audio, rate = soundfile.read(tmp_path / "tuning" / clip["clip"], dtype="float64")
        truth = json.loads((tmp_path / "tuning" / clip["clip"]).with_suffix(".json").read_text())
        rises = []
        for tap in truth["taps"]:
            at = int(round(tap["time"] * rate))
            span = int(0.005 * rate)
            before = audio[at - span : at]
            after = audio[at : at + span] - before.mean()
            rises.append(10 * np.log10(np.sum(after ** 2) / np.sum((before - before.mean()) ** 2)))
        assert np.median(rises) > 9 and np.min(rises) > 3
