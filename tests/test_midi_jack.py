"""A MIDI trigger board (another JACK client) played into the app: notes become taps, controls become records."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec, MidiNote
from dessins_de_planche.events import (CONTROL_CC, CONTROL_NOTE_OFF, CONTROL_PROGRAM, KIND_HEEL, KIND_TOE,
                                       KIND_UNKNOWN, SOURCE_MIDI, merge_refinements)
from dessins_de_planche.inputs.handle import InputProcess
from fixtures_jack import wait_for

pytestmark = pytest.mark.jack

MAPPING = {36: MidiNote("left", "heel"), 38: MidiNote("right", "toe")}


def gather(inputs: InputProcess, taps: int, controls: int):
    got_taps, got_controls = [], []

    def enough():
        batch = inputs.poll()
        got_taps.extend(batch.taps)
        got_controls.extend(batch.controls)
        return len(got_taps) >= taps and len(got_controls) >= controls

    wait_for(enough, what=f"{taps} taps and {controls} control records")
    return np.array(got_taps), np.array(got_controls)


def test_notes_from_a_board_become_mapped_taps_and_controls_become_records(jack_server, midi_sender):
    sender = midi_sender("ddp-board")
    spec = InputSpec(midi_port="ddp-board", midi_notes=MAPPING, midi_crosstalk_s=0.0)  # every note-on a tap
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.midi_state == "listening", what="the MIDI port to open")
        assert "ddp-board" in inputs.status.midi_port
        assert inputs.status.midi_api.lower() == "jack"
        sent_at = master_time()
        sender.send(0x90, 36, 127)  # channel 1, heel on the left
        sender.send(0x93, 38, 64)  # channel 4, toe on the right
        sender.send(0x90, 40, 100)  # not in the mapping
        sender.send(0x90, 36, 0)  # note-on with velocity 0 is a note-off
        sender.send(0x80, 38, 10)
        sender.send(0xC2, 5)  # program change 5 on channel 3
        sender.send(0xB0, 7, 99)  # CC 7 = 99 on channel 1
        sender.send(0xF0, 0x7D, 0x01, 0xF7)  # sysex: ignored
        taps, controls = gather(inputs, taps=3, controls=4)
        received_by = master_time()

    assert (taps["source"] == SOURCE_MIDI).all()
    zones = [inputs.zone_names[z] for z in taps["zone"]]
    assert zones == ["left", "right", "midi"]
    assert list(taps["kind"]) == [KIND_HEEL, KIND_TOE, KIND_UNKNOWN]
    assert list(taps["channel"]) == [1, 4, 1]
    np.testing.assert_allclose(taps["velocity"], [1.0, 64 / 127, 100 / 127], rtol=1e-6)
    assert (taps["time"] >= sent_at).all() and (taps["time"] <= received_by).all()
    assert (taps["detected_at"] == taps["time"]).all()
    assert list(controls["type"]) == [CONTROL_NOTE_OFF, CONTROL_NOTE_OFF, CONTROL_PROGRAM, CONTROL_CC]
    assert list(controls["channel"]) == [1, 1, 3, 1]
    assert list(controls["number"]) == [36, 38, 5, 7]
    assert controls["value"][3] == 99


def test_one_strike_heard_by_two_sensors_is_one_tap_on_the_louder(jack_server, midi_sender):
    sender = midi_sender("ddp-fsr-board")
    # a generous window: the sender's two messages may land a JACK period or two apart on a busy machine
    spec = InputSpec(midi_port="ddp-fsr-board", midi_notes=MAPPING, midi_crosstalk_s=0.05)
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.midi_state == "listening", what="the MIDI port to open")
        sender.send(0x90, 36, 40)  # the strike reaches the left sensor first, softly
        sender.send(0x90, 38, 120)  # and the right one, hard
        records, _ = gather(inputs, taps=2, controls=0)
        time.sleep(0.2)  # a later strike, well apart
        sender.send(0x90, 36, 90)
        later, _ = gather(inputs, taps=1, controls=0)
    taps = merge_refinements(np.concatenate([records, later]))
    assert [inputs.zone_names[z] for z in taps["zone"]] == ["right", "left"]
    assert list(taps["kind"]) == [KIND_TOE, KIND_HEEL]
    np.testing.assert_allclose(taps["velocity"], [120 / 127, 90 / 127], rtol=1e-6)


def test_a_virtual_port_receives_from_a_board_that_connects_to_it(jack_server, midi_sender):
    spec = InputSpec(midi_port="virtual")
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.midi_state == "listening", what="the virtual MIDI port to open")
        sender = midi_sender("ddp-pad")
        sender.connect_to("dessins-de-planche:dessins-de-planche")
        sender.send(0x99, 42, 90)  # channel 10, the drum channel of most pads
        taps, _ = gather(inputs, taps=1, controls=0)
        assert inputs.status.audio_state == "off"  # a MIDI board alone: no demo, no audio
    assert inputs.zone_names[taps["zone"][0]] == "midi"
    assert taps["channel"][0] == 10 and taps["kind"][0] == KIND_UNKNOWN


def test_a_board_that_is_not_plugged_in_is_waited_for(jack_server, midi_sender):
    spec = InputSpec(midi_port="ddp-late-board")
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.midi_state == "waiting" and inputs.status.last_error,
                 what="the MIDI side to say it is waiting")
        assert "ddp-late-board" in inputs.status.last_error
        sender = midi_sender("ddp-late-board")
        wait_for(lambda: inputs.status.midi_state == "listening", what="the board to be found when it appears")
        sender.send(0x90, 50, 80)
        taps, _ = gather(inputs, taps=1, controls=0)
        assert inputs.running
    assert taps["velocity"][0] == pytest.approx(80 / 127)


def test_a_board_unplugged_mid_show_is_waited_for_and_found_again(jack_server, midi_sender):
    spec = InputSpec(midi_port="ddp-flaky-board")
    sender = midi_sender("ddp-flaky-board")
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.midi_state == "listening", what="the MIDI port to open")
        sender.close()  # unplugged
        wait_for(lambda: inputs.status.midi_state == "waiting", what="the MIDI side to notice the board left")
        assert "went away" in inputs.status.last_error
        sender = midi_sender("ddp-flaky-board")  # plugged in again
        wait_for(lambda: inputs.status.midi_state == "listening", what="the board to be found again")
        sender.send(0xB0, 1, 42)
        _, controls = gather(inputs, taps=0, controls=1)
        assert inputs.restarts == 0
    assert controls["type"][0] == CONTROL_CC and controls["value"][0] == 42



def test_no_note_is_lost_while_another_thread_holds_the_gil(jack_server, midi_sender, monkeypatch):
    """A JACK client late for its cycle misses that cycle's MIDI: the listener must never wait for
    the input process's GIL inside JACK's cycle."""
    from dessins_de_planche.inputs import process
    from gil_holder import input_process_holding_the_gil

    monkeypatch.setattr(process, "input_process_main", input_process_holding_the_gil)
    # every note-on a tap: after a stall the dummy server may run late cycles back to back and
    # hand over two notes at once (their spacing is checked in test_midi_crosstalk.py)
    with InputProcess(InputSpec(midi_port="virtual", midi_crosstalk_s=0.0)) as inputs:
        wait_for(lambda: inputs.status.midi_state == "listening", what="the virtual MIDI port to open")
        sender = midi_sender("ddp-gil-board")
        sender.connect_to("dessins-de-planche:dessins-de-planche")
        for _ in range(500):  # 100 strikes a second for 5 s; the GIL held 8 ms every 0.1 s meanwhile
            sender.send(0x99, 36, 100)
            time.sleep(0.01)
        got = []

        def all_in():
            got.extend(inputs.poll().taps)
            return len(got) >= 500

        try:
            wait_for(all_in, deadline=5.0, what="500 taps")
        except AssertionError:
            pass
        time.sleep(0.3)
        got.extend(inputs.poll().taps)
        assert inputs.status.dropped["midi_taps"] == 0
    assert len(got) == 500, f"{500 - len(got)} of 500 notes lost"
