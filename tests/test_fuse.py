"""A board's mic and its sensors heard as one (`run --fuse`): each strike one tap, on the sensor's zone,
at the mic's onset, with the mic's heel/toe and velocity.

Records as the input process's rings hand them over, frame by frame; test_board_jack.py plays a
board's sound and notes through JACK.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import (KIND_HEEL, KIND_TOE, KIND_UNKNOWN, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW,
                                       SOURCE_AUDIO, SOURCE_MIDI, TAP_DTYPE, TapSettler, final_taps)
from dessins_de_planche.inputs.fuse import SOUND_WAIT_S, Fuser

ZONES = ("board", "left", "right", "midi")  # the mic's channel, then the sensors' zones
BOARD, LEFT, RIGHT = 0, 1, 2


def sound(tap_id, onset, kind=KIND_HEEL, velocity=0.6, follow=RECORD_FIRST, heard_after=0.008):
    return (onset, onset + heard_after, velocity, tap_id, 1, SOURCE_AUDIO, BOARD, kind, follow, 0)


def note(tap_id, at, zone, velocity=0.5, follow=RECORD_FIRST):
    return (at, at, velocity, (1 << 30) + tap_id, 1, SOURCE_MIDI, zone, KIND_UNKNOWN, follow, 0)


def records(*rows):
    return np.array(list(rows), TAP_DTYPE)


class Show:
    """Frames of the render loop: each frame's records through the fuser, as the scene gets them."""

    def __init__(self):
        self.fuser = Fuser()
        self.out = []

    def frame(self, now, audio=(), midi=()):
        self.out.append(self.fuser.fuse(records(*audio), records(*midi), now))
        return self.out[-1]

    def taps(self):
        return final_taps(np.concatenate(self.out))[0]


def test_a_strike_heard_by_both_is_one_tap_on_the_sensors_zone_at_the_mics_onset():
    show = Show()
    show.frame(1.004, midi=[note(1, 1.003, LEFT)])  # the sensor's note comes first: nothing drawn yet
    first = show.frame(1.010, audio=[sound(7, 1.000, KIND_TOE, 0.8)])
    assert list(first["refine"]) == [RECORD_FIRST, RECORD_REFINE], "out, and confirmed: the sensor agrees"
    show.frame(1.030, audio=[sound(7, 1.000, KIND_HEEL, 0.9, follow=RECORD_REFINE)])  # the detector's word
    (tap,) = show.taps()
    assert ZONES[tap["zone"]] == "left" and tap["time"] == 1.000 and tap["source"] == SOURCE_AUDIO
    assert tap["kind"] == KIND_HEEL and tap["velocity"] == np.float32(0.9)
    assert show.fuser.fused == 1


def test_a_sound_first_then_its_note_moves_the_tap_to_the_sensors_zone():
    show = Show()
    show.frame(2.010, audio=[sound(8, 2.000)])
    show.frame(2.012, midi=[note(2, 2.006, RIGHT)])
    (tap,) = show.taps()
    assert ZONES[tap["zone"]] == "right" and tap["time"] == 2.000


def test_a_sensor_note_with_no_sound_is_a_weight_shift():
    show = Show()
    show.frame(3.001, midi=[note(3, 3.000, LEFT, velocity=0.2)])
    show.frame(3.001 + SOUND_WAIT_S + 0.02)
    assert len(show.taps()) == 0 and show.fuser.weight_shifts == 1


def test_a_sound_with_no_note_goes_to_the_zone_the_last_strikes_favour():
    show = Show()
    for k, zone in enumerate((LEFT, RIGHT, RIGHT)):
        at = 4.0 + 0.2 * k
        show.frame(at + 0.004, midi=[note(10 + k, at + 0.003, zone)])
        show.frame(at + 0.010, audio=[sound(20 + k, at)])
    show.frame(5.010, audio=[sound(30, 5.000)])  # heard by the mic alone
    show.frame(5.2)
    taps = show.taps()
    assert [ZONES[z] for z in taps["zone"]] == ["left", "right", "right", "right"]
    assert show.fuser.sound_only == 1


def test_the_detectors_withdraw_of_a_sound_a_sensor_heard_is_not_followed_and_others_are():
    show = Show()
    show.frame(6.004, midi=[note(4, 6.003, LEFT)])
    show.frame(6.010, audio=[sound(40, 6.000)])
    show.frame(6.030, audio=[sound(40, 6.000, follow=RECORD_WITHDRAW)])
    show.frame(7.010, audio=[sound(41, 7.000)])  # no sensor note: the detector's word stands
    show.frame(7.030, audio=[sound(41, 7.000, follow=RECORD_WITHDRAW)])
    taps, withdrawn = final_taps(np.concatenate(show.out))
    assert len(taps) == 1 and withdrawn == 1 and show.fuser.withdraws_ignored == 1


def test_strikes_far_apart_are_not_joined():
    show = Show()
    show.frame(8.004, midi=[note(5, 8.003, LEFT)])
    show.frame(8.060, audio=[sound(50, 8.050)])  # 47 ms later: another strike, the mic alone
    show.frame(8.2)
    taps = show.taps()
    assert len(taps) == 1 and show.fuser.weight_shifts == 1 and show.fuser.fused == 0


def test_a_fused_tap_stands_in_the_settler_as_soon_as_both_are_in():
    show, settler = Show(), TapSettler()
    show.frame(9.004, midi=[note(6, 9.003, RIGHT)])
    ready = settler.settle(show.frame(9.010, audio=[sound(60, 9.000)]), now=9.010)
    assert len(ready) == 1 and ZONES[ready["zone"][0]] == "right"


def blocks(until):
    """The mic's block records up to `until`: how far it has listened."""
    from dessins_de_planche.events import FEATURE_DTYPE

    features = np.zeros(1, FEATURE_DTYPE)
    features["time"] = until
    return features


def test_a_sound_late_because_the_mic_lags_still_finds_its_note():
    """On a busy machine the mic's stream may be heard 100 ms late: the note waits for the mic, not the clock."""
    fuser = Fuser()
    out = [fuser.fuse(records(), records(note(7, 10.003, RIGHT)), 10.004, blocks(9.95))]
    out.append(fuser.fuse(records(), records(), 10.150, blocks(10.02)))  # the mic is behind: the note waits
    out.append(fuser.fuse(records(sound(70, 10.000, heard_after=0.14)), records(), 10.160, blocks(10.06)))
    (tap,) = final_taps(np.concatenate(out))[0]
    assert ZONES[tap["zone"]] == "right" and fuser.weight_shifts == 0
    fuser.fuse(records(), records(note(8, 11.0, LEFT)), 11.001, blocks(10.99))
    fuser.fuse(records(), records(), 11.2, blocks(11.0 + SOUND_WAIT_S + 0.001))  # listened past it: no sound
    assert fuser.weight_shifts == 1
