"""The foreground recording (`calibrate`'s): PortAudio in a process of its own, through a real JACK
server, so that a stalled or crashed audio system never hangs or kills the command."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from fixtures_jack import SAMPLE_RATE, wait_for
from dessins_de_planche.errors import DeviceNotFound
from dessins_de_planche.inputs.capture import AudioCapture
from dessins_de_planche.inputs.probe import AudioSystemFailed

pytestmark = pytest.mark.jack


def capture(seconds: float = 10.0) -> AudioCapture:
    return AudioCapture("system", 1, SAMPLE_RATE, 128, seconds)


def test_the_recording_holds_what_was_played_sample_for_sample(jack_server, jack_player):
    signal_ = (np.random.default_rng(3).standard_normal((SAMPLE_RATE // 2, 1)) * 0.2).astype(np.float32)
    with capture() as recording:
        assert "JACK" in recording.device_name
        player = jack_player(channels=1, name="ddp-capture-player")
        player.connect()
        start = recording.frames
        player.play(signal_)
        wait_for(lambda: player.finished() and recording.frames > start + 2 * len(signal_), 20, "the signal played")
        heard = recording.since(start)[:, 0].copy()
    at = int(np.argmax(np.abs(heard) > 0))
    blocks = len(signal_) // 128
    same = [np.array_equal(heard[at + 128 * k : at + 128 * (k + 1)], signal_[128 * k : 128 * (k + 1), 0])
            for k in range(blocks)]
    assert sum(same) >= 0.95 * blocks  # every block as played, but for a cycle a loaded machine made late


def test_a_recording_process_stalled_past_the_servers_patience_is_closed_all_the_same(jack_server):
    """Half a second without an answer and JACK drops the client; PortAudio's close then waits ten
    minutes. The caller keeps what was recorded and gets its command back."""
    recording = capture()
    try:
        wait_for(lambda: recording.frames > SAMPLE_RATE // 2, 10, "half a second recorded")
        os.kill(recording._child.pid, signal.SIGSTOP)
        time.sleep(1.5)
        os.kill(recording._child.pid, signal.SIGCONT)
        kept = recording.frames
    finally:
        began = time.monotonic()
        recording.close()
        took = time.monotonic() - began
    assert took < 10.0, f"close took {took:.1f} s"
    assert not recording._child.is_alive()
    assert recording.frames >= kept and len(recording.since(0)) == recording.frames
    assert not os.path.exists(f"/dev/shm/{recording._shm.name}")


def test_a_crash_of_the_recording_process_becomes_a_sentence(jack_server):
    with capture() as recording:
        wait_for(lambda: recording.frames > 0, 10, "the recording to start")
        os.kill(recording._child.pid, signal.SIGSEGV)
        recording._child.join(10)
        with pytest.raises(AudioSystemFailed, match=r"crashed while making a recording of the audio input "
                                                    r"\(killed by SIGSEGV\)"):
            recording.frames  # noqa: B018 (the property is what a polling command reads)
        with pytest.raises(AudioSystemFailed, match="killed by SIGSEGV"):
            recording.since(0)


def test_the_server_going_away_mid_recording_is_said_so(jack_server):
    recording = capture()
    try:
        wait_for(lambda: recording.frames > 0, 10, "the recording to start")
        jack_server.stop()

        def stopped():
            try:
                recording.frames  # noqa: B018
            except AudioSystemFailed as error:
                return str(error)
            return None

        said = wait_for(stopped, 20, "the recording to notice the server is gone")
    finally:
        recording.close()
        jack_server.start()
    assert said.startswith("the audio stream on system (JACK Audio Connection Kit) stopped while recording")


def test_a_device_that_is_not_there_is_named_with_those_that_are(jack_server):
    with pytest.raises(DeviceNotFound, match="no audio input device") as raised:
        AudioCapture("no-such-board", 1, SAMPLE_RATE, 128, 1.0)
    assert "system" in str(raised.value)
    with pytest.raises(DeviceNotFound, match="has 2 input channels; channel 3 was asked for"):
        AudioCapture("system", 3, SAMPLE_RATE, 128, 1.0)
