"""A board of several sensors: one strike heard by all of them is one tap, on the zone that heard it loudest.

The listener's own logic, fed messages as its thread reads them from RtMidi, into real rings;
the JACK MIDI test in test_midi_jack.py plays the same through a real server.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec, MidiNote
from dessins_de_planche.events import CONTROL_DTYPE, KIND_HEEL, KIND_TOE, TAP_DTYPE, merge_refinements
from dessins_de_planche.inputs.midi import MidiListener
from dessins_de_planche.ring import Ring

ZONES = ("midi", "left", "right", "back")
MAPPING = {36: MidiNote("left", "heel"), 38: MidiNote("right", "toe"), 40: MidiNote("back", "heel")}


@pytest.fixture
def board():
    taps, controls = Ring.create(TAP_DTYPE, 64), Ring.create(CONTROL_DTYPE, 64)

    def make(crosstalk_s=0.005):
        spec = InputSpec(midi_port="board", midi_notes=MAPPING, midi_crosstalk_s=crosstalk_s)
        return MidiListener(spec, ZONES, taps, controls)

    yield make, taps
    taps.close()
    controls.close()


def note(listener, number, velocity):
    listener.on_message([0x90, number, velocity], master_time())


def test_a_strike_on_three_sensors_is_one_tap_on_the_loudest(board):
    make, ring = board
    listener = make()
    note(listener, 36, 50)  # the first sensor to answer goes out at once
    note(listener, 38, 120)  # the same strike, louder on the right
    note(listener, 40, 30)  # and faintly at the back
    records = ring.pop()
    assert list(records["refine"]) == [0, 1], "the first note at once, then one correction"
    assert ZONES[records["zone"][0]] == "left"
    (tap,) = merge_refinements(records)
    assert ZONES[tap["zone"]] == "right" and tap["kind"] == KIND_TOE
    assert tap["velocity"] == pytest.approx(120 / 127)
    assert tap["time"] == records["time"][0], "the tap keeps the time of the strike"
    assert listener.crosstalk == 2


def test_a_softer_echo_changes_nothing(board):
    make, ring = board
    listener = make()
    note(listener, 36, 100)
    note(listener, 38, 40)
    records = ring.pop()
    assert len(records) == 1 and ZONES[records["zone"][0]] == "left" and records["kind"][0] == KIND_HEEL


def test_taps_a_flam_apart_are_two_taps(board):
    make, ring = board
    listener = make()
    note(listener, 36, 100)
    time.sleep(0.030)  # a flam: 30 ms, the closest two feet play
    note(listener, 38, 100)
    records = ring.pop()
    assert list(records["refine"]) == [0, 0]
    assert [ZONES[z] for z in records["zone"]] == ["left", "right"]


def test_a_zero_window_makes_every_note_a_tap(board):
    make, ring = board
    listener = make(crosstalk_s=0.0)
    note(listener, 36, 50)
    note(listener, 38, 120)
    records = ring.pop()
    assert list(records["refine"]) == [0, 0] and len(np.unique(records["tap_id"])) == 2
