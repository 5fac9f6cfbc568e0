"""Crosstalk: one strike heard by every sensor of a board is one tap, on the zone hit hardest."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.synth import heel_sound, match_onsets, toe_sound, true_onset

SR = 48_000


def strikes_on_two_sensors(seed=4):
    """Alternating strikes: near sensor 1, then near sensor 2; the far sensor hears the same
    hit, quieter (-10 to -4 dB) and a fraction of a millisecond later."""
    rng = np.random.default_rng(seed)
    audio = (rng.standard_normal((SR * 5, 2)) * 1e-4).astype(np.float32)
    truth = []
    for i, start in enumerate(np.arange(0.4, 4.6, 0.27)):
        hit = (heel_sound if i % 3 else toe_sound)(rng, SR) * 0.4
        near = i % 2
        far = 1 - near
        at = int(start * SR)
        lag = int(rng.integers(2, 30))
        audio[at : at + len(hit), near] += hit
        audio[at + lag : at + lag + len(hit), far] += hit * 10 ** (rng.uniform(-10, -4) / 20)
        truth.append(((at + true_onset(hit)) / SR, near))
    return audio, truth


def detect(audio, block=128):
    detector = TapDetector(SR, range(audio.shape[1]), block_size=block)
    taps = []
    for start in range(0, len(audio), block):
        count = detector.process(audio[start : start + block], start)
        taps += [(detector.out_onset[k] / SR, int(detector.out_channel[k]), (start + block) / SR)
                 for k in range(count) if not detector.out_refine[k]]
    return taps


def test_a_strike_heard_on_two_channels_is_one_tap_on_the_louder():
    audio, truth = strikes_on_two_sensors()
    taps = detect(audio)
    assert len(taps) == len(truth)
    pairs, precision, recall = match_onsets([t for t, _, _ in taps], [t for t, _ in truth], 0.01)
    assert precision == 1.0 and recall == 1.0
    for found, true in pairs:
        assert taps[found][1] == truth[true][1], "the tap goes to the sensor nearest the strike"


def test_each_channel_alone_still_hears_its_taps():
    audio, truth = strikes_on_two_sensors()
    for channel in (0, 1):
        taps = detect(np.ascontiguousarray(audio[:, channel : channel + 1]))
        assert len(taps) == len(truth)  # one channel: no winner-take-all, every strike is heard


def test_separate_strikes_on_two_zones_at_once_keep_both_when_apart():
    """Two feet on two zones 40 ms apart are two taps, one per zone."""
    rng = np.random.default_rng(8)
    audio = (rng.standard_normal((SR * 3, 2)) * 1e-4).astype(np.float32)
    truth = []
    for start in (0.5, 1.3, 2.1):
        for offset, channel in ((0.0, 0), (0.040, 1)):
            hit = toe_sound(rng, SR) * 0.4
            at = int((start + offset) * SR)
            audio[at : at + len(hit), channel] += hit
            audio[at + 10 : at + 10 + len(hit), 1 - channel] += hit * 0.3
            truth.append(((at + true_onset(hit)) / SR, channel))
    taps = detect(audio)
    assert sorted(c for _, c, _ in taps) == sorted(c for _, c in truth)
    assert len(taps) == len(truth)


def test_a_channel_that_lost_a_strike_hears_its_own_tap_right_after():
    """A sound both channels hear (the band's onset, a little louder in the band's mic) is won by the
    band's channel; the board's channel heard no tap of its own and must hear the tap on it 6 ms later,
    not stay deaf through stage B's window (20 ms)."""
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal((SR, 2)) * 1e-4).astype(np.float32)
    heard, missed = 0, []
    for i, start in enumerate(np.arange(0.1, 0.9, 0.2)):
        shared = heel_sound(rng, SR) * 0.3
        at = int(start * SR)
        audio[at : at + len(shared), 0] += shared
        audio[at : at + len(shared), 1] += shared * 0.8
        tap = toe_sound(rng, SR) * 0.5
        own = at + int(0.006 * SR)
        audio[own : own + len(tap), 1] += tap  # then a tap on the second channel alone
        truth = (own + true_onset(tap)) / SR
        taps = [t for t, channel, _ in detect(audio[: at + int(0.05 * SR)]) if channel == 1]
        if any(abs(t - truth) < 0.003 for t in taps):
            heard += 1
        else:
            missed.append((round(truth, 4), [round(t, 4) for t in taps]))
    assert heard == 4, missed
