"""The input process as the render process lives with it: taps flow, and it survives what a stage throws at it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import SOURCE_AUDIO
from dessins_de_planche.inputs.handle import InputProcess
from dessins_de_planche.inputs.shm import SEGMENT_PREFIX, remove_stale_segments
from dessins_de_planche.listen.synth import heel_sound
from fixtures_jack import SAMPLE_RATE, wait_for


def taps_arrive(inputs: InputProcess, count: int = 2, what: str = "taps from the input process") -> np.ndarray:
    found = []

    def enough():
        taps = inputs.poll().taps
        found.extend(taps[taps["refine"] == 0])
        return len(found) >= count

    wait_for(enough, deadline=20.0, what=what)
    return np.array(found)


def test_the_demo_feeds_taps_through_the_rings_without_loading_audio_libraries_in_the_render_process():
    script = textwrap.dedent("""
        import sys
        from dessins_de_planche.config import InputSpec
        from dessins_de_planche.inputs.handle import InputProcess
        from fixtures_jack import wait_for

        if __name__ == "__main__":
            with InputProcess(InputSpec()) as inputs:
                taps, features = [], 0
                def enough():
                    global features
                    batch = inputs.poll()
                    taps.extend(batch.taps)
                    features += len(batch.features)
                    return len(taps) >= 4 and features > 100
                wait_for(enough, deadline=20.0, what="demo taps")
                status = inputs.status
                print(status.audio_state, len(taps), status.device_name, inputs.zone_names[taps[0]["zone"]])
            print("sounddevice" in sys.modules, "rtmidi" in sys.modules)
    """)
    tests_dir = os.path.dirname(__file__)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": tests_dir}, cwd=tests_dir)
    assert result.returncode == 0, result.stderr
    state_line, modules_line = result.stdout.strip().splitlines()[-2:]
    state, count, device, zone = state_line.split()
    assert state == "demo" and int(count) >= 4 and device == "demo" and zone == "board"
    assert modules_line == "False False", "the render process loaded sounddevice or rtmidi"


def test_a_recording_is_replayed_in_real_time_through_the_detector(tmp_path):
    import soundfile

    path = tmp_path / "take.wav"
    take = np.zeros((int(1.0 * SAMPLE_RATE), 2), np.float32)
    starts = (0.1, 0.35, 0.6)
    for i, at in enumerate(starts):
        hit = 0.5 * heel_sound(np.random.default_rng(i), SAMPLE_RATE)
        hit[-480:] *= np.linspace(1.0, 0.0, 480)
        take[int(at * SAMPLE_RATE): int(at * SAMPLE_RATE) + len(hit), 1] = hit
    soundfile.write(path, take, SAMPLE_RATE)
    with InputProcess(InputSpec(input_file=str(path), loop=False)) as inputs:
        assert inputs.zone_names[:2] == ("left", "right")
        taps = taps_arrive(inputs, count=3, what="the taps of the replayed recording")
        status = inputs.status
        wait_for(lambda: inputs.status.audio_state == "off", what="the replay to end (no loop)")
    assert status.audio_state == "replay" and status.device_name == str(path)
    assert (taps["channel"] == 2).all()
    gaps = np.diff(taps["time"][:3])
    np.testing.assert_allclose(gaps, np.diff(starts), atol=0.003)  # paced by the file's own clock
    assert inputs.exitcode == 0


def killed_and_restarted(inputs: InputProcess, sig: signal.Signals) -> None:
    """Taps flow; the input process dies of `sig`; a new one runs and the status names the signal."""
    taps_arrive(inputs, what="demo taps before the signal")
    first = inputs.pid
    os.kill(first, sig)
    wait_for(lambda: inputs.poll() is not None and inputs.restarts == 1 and inputs.running,
             what="the input process to be restarted")
    assert inputs.pid != first
    assert sig.name in inputs.status.last_error


def test_a_killed_input_process_is_restarted_and_taps_flow_again():
    with InputProcess(InputSpec()) as inputs:
        killed_and_restarted(inputs, signal.SIGKILL)
        taps = taps_arrive(inputs, what="demo taps after the restart")
        assert (taps["source"] == SOURCE_AUDIO).all()
        assert inputs.status.restarts == 1


def test_a_crash_in_native_code_leaves_every_threads_python_stack_in_the_log(capfd):
    """A segfault in PortAudio, libjack or RtMidi kills the input process; the handle restarts it,
    and the log names the call each thread was in, so a rare crash in a kiosk can be traced."""
    with InputProcess(InputSpec()) as inputs:
        killed_and_restarted(inputs, signal.SIGSEGV)
        taps_arrive(inputs, what="demo taps after the restart")
    log = capfd.readouterr().err
    assert "Fatal Python error: Segmentation fault" in log
    assert "dessins_de_planche/inputs/" in log  # a thread's stack, down to the input code it was in
    assert log.count("Thread 0x") >= 2  # every thread's, not only the one the signal landed on


def test_a_missing_device_is_waited_for_without_a_crash():
    with InputProcess(InputSpec(audio_device="No Such Card")) as inputs:
        wait_for(lambda: inputs.poll() is not None and inputs.status.audio_state == "waiting for device"
                 and "No Such Card" in inputs.status.last_error, what="the input process to wait for the device")
        assert inputs.running and inputs.restarts == 0
        assert len(inputs.poll().taps) == 0


def test_stale_segments_of_dead_owners_are_removed_and_live_ones_kept(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f"{SEGMENT_PREFIX}{gone}-0123abcd-taps"
    live = tmp_path / f"{SEGMENT_PREFIX}{os.getppid()}-0123abcd-taps"
    other = tmp_path / "someone-elses-segment"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    removed = remove_stale_segments(str(tmp_path))
    assert removed == [stale.name]
    assert live.exists() and other.exists() and not stale.exists()


@pytest.mark.jack
def test_the_input_process_recovers_when_the_audio_server_stops_and_returns(jack_server, jack_player):
    """The device-loss story: the server vanishes under an open stream, then comes back."""
    spec = InputSpec(audio_device="system", channels=(1,))
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.poll() is not None and inputs.status.audio_state == "listening",
                 what="the input stream to open")
        jack_server.stop()
        wait_for(lambda: inputs.poll() is not None and inputs.status.audio_state == "waiting for device"
                 and inputs.restarts >= 1, what="the input process to notice the server is gone")
        jack_server.start()
        wait_for(lambda: inputs.poll() is not None and inputs.status.audio_state == "listening",
                 deadline=20.0, what="the input stream to come back with the server")
        player = jack_player(channels=1)
        player.connect()
        signal_ = np.zeros((SAMPLE_RATE, 1), np.float32)
        for i, at in enumerate((0.1, 0.4, 0.7)):
            hit = 0.5 * heel_sound(np.random.default_rng(i), SAMPLE_RATE)
            hit[-480:] *= np.linspace(1.0, 0.0, 480)
            signal_[int(at * SAMPLE_RATE): int(at * SAMPLE_RATE) + len(hit), 0] = hit
        player.play(signal_)
        taps = taps_arrive(inputs, count=2, what="taps after the server came back")
        assert inputs.running
    assert (taps["channel"] == 1).all()


def test_the_lateness_summary_matches_numpys_percentile_without_importing_numpy_ma():
    """The status thread sums up the callback's lateness four times a second; `np.percentile`'s
    first call imports `numpy.ma` with the GIL held (7 ms here, more than a 128-frame period),
    which made the audio callback miss a JACK cycle each time a stream started."""
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from dessins_de_planche.inputs.sources import LatenessMeter

        meter = LatenessMeter(size=64)
        assert meter.summary() == (0.0, 0.0, 0.0)
        values = np.random.default_rng(7).gamma(2.0, 0.0004, 100)  # wraps round the 64 slots
        for value in values:
            meter.record(value)
        summary = meter.summary()
        assert "numpy.ma" not in sys.modules, "the summary imported numpy.ma"
        kept = values[-64:]
        expected = (*np.percentile(kept, (50, 99)) * 1e3, kept.max() * 1e3)
        np.testing.assert_allclose(summary, expected, rtol=1e-12)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_line_logged_while_another_thread_silences_libjack_still_reaches_the_log():
    """libjack's complaints are muted by pointing stderr at /dev/null for a moment; the audio
    stream's "listening to", logged by another thread meanwhile, used to vanish with them."""
    script = textwrap.dedent("""
        import logging, threading
        from dessins_de_planche.inputs.quiet import quiet_stderr
        from dessins_de_planche.inputs.process import log_to_stderr

        log_to_stderr(logging.INFO)
        with quiet_stderr():
            thread = threading.Thread(target=logging.getLogger("audio").info, args=("listening to system",))
            thread.start()
            thread.join()
            import os
            os.write(2, b"libjack noise\\n")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "input INFO listening to system" in result.stderr
    assert "libjack noise" not in result.stderr
