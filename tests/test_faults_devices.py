"""Devices that come and go during a show: the audio server killed and restarted 20 times, a MIDI board
unplugged and plugged back. Each time the input comes back by itself and taps flow again.

The target (recovery within 2 s of the server's return) is measured here, printed, and held
by the median of the 20 recoveries; each single wait allows 10x that, as every timing in the
suite does.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from dessins_de_planche.config import InputSpec
from dessins_de_planche.inputs.handle import InputProcess
from dessins_de_planche.listen.synth import heel_sound
from fixtures_jack import SAMPLE_RATE, wait_for

pytestmark = [pytest.mark.jack, pytest.mark.slow]

CYCLES = 20
RECOVERY_TARGET = 2.0


def midi_state(inputs) -> str:
    inputs.poll()  # the status block is read with the batch
    return inputs.status.midi_state


def listening(inputs) -> bool:
    inputs.poll()
    return inputs.status.audio_state == "listening" and inputs.running


def taps_flow(inputs, jack_player, count: int = 2) -> np.ndarray:
    player = jack_player(channels=1, name=f"ddp-player-{time.monotonic_ns()}")
    player.connect()
    signal = np.zeros((SAMPLE_RATE, 1), np.float32)
    for i, at in enumerate((0.1, 0.4, 0.7)):
        hit = 0.5 * heel_sound(np.random.default_rng(i), SAMPLE_RATE)
        hit[-480:] *= np.linspace(1.0, 0.0, 480)
        signal[int(at * SAMPLE_RATE): int(at * SAMPLE_RATE) + len(hit), 0] = hit
    player.play(signal)
    found = []

    def enough():
        taps = inputs.poll().taps
        found.extend(taps[taps["refine"] == 0])
        return len(found) >= count

    wait_for(enough, deadline=20.0, what="taps after the audio server came back")
    player.close()
    return np.array(found)


def test_the_audio_server_killed_and_restarted_20_times_is_recovered_each_time(jack_server, jack_player):
    spec = InputSpec(audio_device="system", channels=(1,))
    recoveries = []
    with InputProcess(spec) as inputs:
        wait_for(lambda: listening(inputs), what="the input stream to open")
        for cycle in range(CYCLES):
            jack_server.process.kill()  # killed, not asked to stop: no goodbye to the clients
            jack_server.process.wait(5)
            jack_server.stop()  # its leftovers
            wait_for(lambda: not listening(inputs), deadline=20.0, what=f"cycle {cycle}: the loss to be noticed")
            jack_server.start()
            back = time.monotonic()
            wait_for(lambda: listening(inputs), deadline=10 * RECOVERY_TARGET * 2,
                     what=f"cycle {cycle}: the input to come back with the server")
            recoveries.append(time.monotonic() - back)
        taps = taps_flow(inputs, jack_player)
        status = inputs.status
        assert inputs.running
    recoveries = np.array(recoveries)
    print(f"\nrecovery after the server returned, {CYCLES} cycles: median {np.median(recoveries):.2f} s, "
          f"max {recoveries.max():.2f} s (target {RECOVERY_TARGET:.0f} s); over target: "
          f"{int((recoveries > RECOVERY_TARGET).sum())}")
    assert (taps["channel"] == 1).all()
    assert status.restarts >= CYCLES
    assert np.median(recoveries) <= RECOVERY_TARGET, f"median recovery {np.median(recoveries):.2f} s"


def test_a_midi_board_unplugged_and_plugged_back_three_times_is_found_again(jack_server, midi_sender):
    spec = InputSpec(midi_port="ddp-board")
    with InputProcess(spec) as inputs:
        for round_ in range(3):
            sender = midi_sender("ddp-board")
            wait_for(lambda: midi_state(inputs) == "listening",
                     deadline=30.0, what=f"round {round_}: the board to be found")
            found = []

            def arrived():
                sender.send(0x90, 36, 100)  # until the port is really connected
                taps = inputs.poll().taps
                found.extend(taps[taps["refine"] == 0])
                return found

            wait_for(arrived, deadline=30.0, interval=0.2, what=f"round {round_}: taps from the board")
            sender.close()
            wait_for(lambda: midi_state(inputs) == "waiting",
                     deadline=30.0, what=f"round {round_}: the unplugging to be noticed")
        assert inputs.running and inputs.restarts == 0, inputs.status.last_error
