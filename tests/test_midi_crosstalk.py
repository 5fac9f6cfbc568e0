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


class QueuedPort:
    """Stands in for RtMidi's MidiIn: what its thread queued, each message with the seconds since
    the one before (RtMidi's measure), read by the listener as `MidiIn.get_message` hands it."""

    def __init__(self):
        self.queue = []

    def get_message(self):
        return self.queue.pop(0) if self.queue else None


def read_late(listener, port, messages, held_back: float):
    """An empty read, then `messages` arrive while the reader is held back (the GIL busy elsewhere)."""
    listener.drain()
    emptied_at = master_time()
    port.queue += messages
    time.sleep(held_back)
    listener.drain()
    return emptied_at, master_time()


@pytest.mark.parametrize("first_read", [True, False], ids=["first messages", "later messages"])
def test_strikes_read_late_in_one_batch_keep_their_spacing(board, first_read):
    make, ring = board
    listener = make()
    port = listener._midi_in = QueuedPort()
    if not first_read:  # a message read earlier anchors the times that follow
        port.queue.append(([0x90, 40, 90], 0.0))
        listener.drain()
        time.sleep(0.02)
    emptied_at, read_by = read_late(listener, port, [([0x90, 36, 100], 0.02), ([0x90, 38, 100], 0.010)],
                                    held_back=0.03)
    taps = ring.pop()
    taps = taps[taps["refine"] == 0][-2:]
    assert len(taps) == 2, "two strikes 10 ms apart are two taps, not one heard by two sensors"
    assert taps["time"][1] - taps["time"][0] == pytest.approx(0.010, abs=1e-6)
    assert emptied_at - 0.001 <= taps["time"][0] and taps["time"][1] <= read_by
    assert listener.crosstalk == 0


def test_a_message_is_never_placed_before_the_last_read_that_found_the_queue_empty(board):
    make, ring = board
    listener = make()
    port = listener._midi_in = QueuedPort()
    port.queue.append(([0x90, 36, 100], 0.0))
    listener.drain()
    time.sleep(0.01)
    # a gap far shorter than the time since: the sound server's clock and ours disagree a little
    emptied_at, read_by = read_late(listener, port, [([0x90, 38, 100], 0.001)], held_back=0.005)
    late = ring.pop()[-1]
    assert emptied_at - 0.001 <= late["time"] <= read_by
