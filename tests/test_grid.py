"""Stage B's word on the grid the feet have set (`listen/grid.py`)."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import RECORD_REFINE, RECORD_WITHDRAW
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.detector_settings import DetectorSettings
from dessins_de_planche.listen.grid import TapGrid
from dessins_de_planche.listen.synth import heel_sound, toe_sound

SR = 48_000


def grid_of(*seconds, **options) -> TapGrid:
    grid = TapGrid(SR, **options)
    for t in seconds:
        grid.add(int(t * SR))
    return grid


def test_a_gap_the_pattern_has_played_is_on_the_grid():
    # a heel-toe-toe pattern: gaps of 0.25 and 0.125 s
    grid = grid_of(0.0, 0.25, 0.375, 0.5, 0.75, 0.875)
    assert grid.on_grid(int((0.875 + 0.125) * SR))
    assert grid.on_grid(int((0.875 + 0.125 + 0.014) * SR)), "within 15 ms"
    assert not grid.on_grid(int((0.875 + 0.125 + 0.017) * SR)), "past 15 ms"
    assert grid.on_grid(int((0.875 + 0.25 + 0.022) * SR)), "a longer gap: within a tenth of it"
    assert not grid.on_grid(int((0.875 + 0.25 + 0.028) * SR)), "past a tenth of it"
    assert not grid.on_grid(int((0.875 + 0.19) * SR)), "between the gaps"


def test_no_grid_before_three_taps_nor_after_a_long_silence():
    assert not grid_of(0.0, 0.25).on_grid(int(0.5 * SR)), "two taps set no rhythm"
    grid = grid_of(0.0, 0.25, 0.5)
    assert grid.on_grid(int(0.75 * SR))
    assert not grid.on_grid(int(3.25 * SR)), "the rhythm of three seconds ago is forgotten"
    grid.reset()
    assert not grid.on_grid(int(0.75 * SR))


def test_only_the_last_taps_count_and_hours_change_nothing():
    hours = 5 * 3600
    grid = grid_of(*(hours + 0.2 * k for k in range(20)))  # the last nine: gaps of 0.2 s
    last = hours + 0.2 * 19
    assert grid.on_grid(int((last + 0.2) * SR))
    old = grid_of(*([hours + 0.3 * k for k in range(5)] + [hours + 1.5 + 0.2 * k for k in range(9)]))
    assert not old.on_grid(int((hours + 1.5 + 0.2 * 8 + 0.3) * SR)), "a gap nine taps back is gone"
    assert not grid_of(0.0, 0.01, 0.02).on_grid(int(0.03 * SR)), "gaps under 60 ms are no rhythm"
    assert not grid_of(0.0, 1.5, 3.0).on_grid(int(4.5 * SR)), "gaps over 1.2 s are no rhythm"


def _taps(times, gain=0.3):
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal(int((max(times) + 0.5) * SR)) * 1e-4).astype(np.float32)
    for k, t in enumerate(times):
        hit = (heel_sound if k % 2 == 0 else toe_sound)(rng, SR) * gain
        at = int(t * SR)
        audio[at : at + len(hit)] += hit
    return audio[:, None]


def _words(detector, audio):
    """Each candidate's final word, in order: (onset in s, refine or withdraw)."""
    words = []
    for start in range(0, len(audio), 128):
        count = detector.process(audio[start : start + 128], start)
        for k in range(count):
            if int(detector.out_refine[k]) in (RECORD_REFINE, RECORD_WITHDRAW):
                words.append((detector.out_onset[k] / SR, int(detector.out_refine[k])))
    return words


def test_stage_b_needs_less_on_the_grid_than_off_it():
    """A stage B unsure of every tap after the fourth (foot probability 0.3): the ones on the
    pattern's gaps are confirmed, the one off them withdrawn; without the grid all are withdrawn."""
    times = [0.3, 0.55, 0.675, 0.8, 1.05, 1.175, 1.3, 1.55, 1.64, 1.8]  # 1.64: off the gaps (0.09 s after 1.55)
    audio = _taps(times)
    outcomes = {}
    for name, settings in (("grid", DetectorSettings()), ("no grid", DetectorSettings(withdraw_on_grid=None))):
        detector = TapDetector(SR, [0], block_size=128, settings=settings)
        predict, calls = detector.stage_b.predict, []

        def unsure_after_four(x, recent=None, predict=predict, calls=calls):
            foot, heel = predict(x, recent)
            calls.append(foot)
            return (max(foot, 0.9) if len(calls) <= 4 else 0.3), heel

        detector.stage_b.predict = unsure_after_four
        outcomes[name] = _words(detector, audio)
    for name, words in outcomes.items():
        assert len(words) == len(times), (name, words)
        assert all(abs(w[0] - t) < 0.01 for w, t in zip(words, times)), (name, words)
    grid = [w[1] for w in outcomes["grid"]]
    assert grid[:4] == [RECORD_REFINE] * 4
    for (t, word), k in zip(outcomes["grid"][4:], range(4, len(times))):
        off = abs(times[k] - 1.64) < 1e-9
        assert word == (RECORD_WITHDRAW if off else RECORD_REFINE), (t, word)
    assert [w[1] for w in outcomes["no grid"]][4:] == [RECORD_WITHDRAW] * (len(times) - 4)
