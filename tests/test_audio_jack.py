"""Taps played into the app's real input stream (a JACK dummy server) come out of the rings at their times."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import KIND_HEEL, SOURCE_AUDIO, TAP_DTYPE, final_taps
from dessins_de_planche.inputs.handle import InputProcess
from dessins_de_planche.listen.synth import heel_sound, true_onset
from fixtures_jack import PERIOD, SAMPLE_RATE, wait_for

pytestmark = pytest.mark.jack

BLOCK = PERIOD / SAMPLE_RATE
TAP_SECONDS = (0.20, 0.45, 0.70, 0.95, 1.20)


def taps_on_channel_two() -> tuple[np.ndarray, list[int]]:
    """Two channels: heel taps on channel 2, silence on channel 1; and each tap's true onset frame."""
    signal = np.zeros((int(1.5 * SAMPLE_RATE), 2), np.float32)
    onsets = []
    for i, at in enumerate(TAP_SECONDS):
        hit = 0.5 * heel_sound(np.random.default_rng(i), SAMPLE_RATE)
        hit[-480:] *= np.linspace(1.0, 0.0, 480)  # no click where the sound is cut off (into digital silence)
        start = int(at * SAMPLE_RATE)
        signal[start : start + len(hit), 1] = hit
        onsets.append(start + true_onset(hit))
    return signal, onsets


def collect(inputs: InputProcess, until) -> np.ndarray:
    found = []

    def done():
        batch = inputs.poll()
        if len(batch.taps):
            found.append(batch.taps)
        return until()

    wait_for(done, what="the played taps to come through the rings")
    for _ in range(5):  # what the last blocks produced
        found.append(inputs.poll().taps)
    records = np.concatenate(found) if found else np.zeros(0, TAP_DTYPE)
    # what a user sees: the taps stage B confirmed, at their first emission's time
    # (a candidate it withdraws is never drawn)
    return final_taps(records)[0]


def test_taps_played_into_the_input_stream_arrive_at_their_times_on_their_channel(jack_server, jack_player):
    spec = InputSpec(audio_device="system", channels=(1, 2), zones=("left", "right"))
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.audio_state == "listening", what="the input stream to open")
        player = jack_player(channels=2)
        player.connect()
        signal, onsets = taps_on_channel_two()
        player.play(signal)
        taps = collect(inputs, player.finished)
        status = inputs.status
    assert inputs.exitcode == 0, "the input process did not close its stream and PortAudio cleanly"

    expected = np.array([player.frame_to_master(player.start_frame + onset) for onset in onsets])
    assert status.sample_rate == SAMPLE_RATE and status.block_size == PERIOD
    assert "system" in status.device_name
    assert set(taps["source"]) <= {SOURCE_AUDIO}
    assert set(taps["channel"]) == {2}, f"taps on channels {sorted(set(taps['channel']))}, all were on 2"
    assert {inputs.zone_names[z] for z in taps["zone"]} == {"right"}
    errors = [np.min(np.abs(taps["time"] - t)) for t in expected]
    # one block, plus the onset's own precision: stage A places onsets on a 1.33 ms grid with a
    # 2.7 ms window (bench/detector.py: onset error p95 2.1 ms)
    matched = sum(e <= BLOCK + 0.0025 for e in errors)
    lost_blocks = status.overflows
    assert matched == len(expected) or (lost_blocks and matched >= len(expected) - 2), (
        f"tap time errors {np.round(np.array(errors) * 1e3, 2)} ms (one block is {BLOCK * 1e3:.2f} ms); "
        f"{lost_blocks} overflows reported")
    assert len(taps) <= len(expected) + lost_blocks, f"{len(taps)} taps for {len(expected)} played"
    assert (taps["kind"] == KIND_HEEL).sum() >= len(expected) - 1
    assert (taps["detected_at"] >= taps["time"]).all()
    assert status.dropped["taps"] == 0
    median, p99, worst = status.lateness_ms
    assert 0 <= median <= p99 <= worst


def test_overflows_and_lateness_are_reported_while_listening(jack_server):
    spec = InputSpec(audio_device="system", channels=(1,))
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.blocks > SAMPLE_RATE / PERIOD, what="a second of blocks")
        status = inputs.status
    assert status.audio_state == "listening"
    median, p99, worst = status.lateness_ms
    assert 0 <= median <= p99 <= worst and worst > 0
    # the count is read from the stream's status flags: a machine this quiet loses a few blocks at
    # most (a count near the number of blocks would be a flag misread on every callback)
    assert status.overflows <= status.blocks // 20, (status.overflows, status.blocks)


def test_devices_lists_the_jack_inputs_and_names_them_when_a_device_is_missing(jack_server, midi_sender):
    midi_sender("ddp-board")
    script = (
        "from dessins_de_planche.inputs.devices import DeviceNotFound, find_audio_device, format_devices\n"
        "print(format_devices())\n"
        "print('index', find_audio_device('system'))\n"
        "try:\n"
        "    find_audio_device('No Such Card')\n"
        "except DeviceNotFound as error:\n"
        "    print('error', error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("system" in line and "JACK" in line and "2 in" in line for line in lines), result.stdout
    assert any("ddp-board:out" in line for line in lines), result.stdout
    index = int(next(line for line in lines if line.startswith("index ")).split()[1])
    error = next(line for line in lines if line.startswith("error "))
    assert "'No Such Card'" in error and f"{index} 'system'" in error
