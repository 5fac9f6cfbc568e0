"""The input process's heartbeat: a child that stops answering (SIGSTOP here, a hung driver on
stage) is killed and started again by the render side, and says so; a healthy one, or a long
frame on the render side, is never taken for a stall."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from dessins_de_planche.config import InputSpec
from dessins_de_planche.inputs.handle import InputProcess
from dessins_de_planche.inputs.status import HEARTBEAT_TIMEOUT
from fixtures_jack import wait_for

TARGET_S = 3.0  # a stalled input process is restarted within 3 s of the stall (bench: this test's figure)


def taps_arrive(inputs: InputProcess, count: int = 2) -> None:
    found = []

    def enough():
        taps = inputs.poll().taps
        found.extend(taps[taps["refine"] == 0])
        return len(found) >= count

    wait_for(enough, deadline=30.0, what="taps from the input process", interval=0.016)


def test_a_stopped_input_process_is_restarted_and_the_taps_come_back():
    with InputProcess(InputSpec()) as inputs:  # the demo: taps without a sound card
        taps_arrive(inputs)
        stalled = inputs.pid
        os.kill(stalled, signal.SIGSTOP)
        began = time.monotonic()

        def restarted():
            inputs.poll()  # as the window does each frame
            return inputs.pid not in (None, stalled) and inputs.running

        wait_for(restarted, deadline=10 * TARGET_S, what="the stalled input process to be restarted",
                 interval=0.016)
        after = time.monotonic() - began
        print(f"stalled input process restarted {after:.2f} s after SIGSTOP (target {TARGET_S:.0f} s)")
        status = inputs.status
        assert status.stalls == 1 and status.running
        assert "stopped answering" in status.last_error
        try:
            os.kill(stalled, 0)
            gone = False
        except ProcessLookupError:
            gone = True
        assert gone, "the stopped child was left behind"
        taps_arrive(inputs)  # the new child hears the demo again


def test_a_healthy_input_process_and_a_long_render_frame_are_not_stalls():
    with InputProcess(InputSpec()) as inputs:
        taps_arrive(inputs)
        first = inputs.pid
        end = time.monotonic() + 3 * HEARTBEAT_TIMEOUT
        while time.monotonic() < end:  # frames at 60 fps
            inputs.poll()
            time.sleep(1 / 60)
        time.sleep(HEARTBEAT_TIMEOUT + 1.0)  # one very long frame here (a shader compiling, a hitch)
        batch = inputs.poll()
        assert inputs.pid == first and inputs.status.stalls == 0
        assert isinstance(batch.taps, np.ndarray)


def input_children(pid: int) -> list[int]:
    """The app's input process (multiprocessing's spawned child, not its resource tracker)."""
    import subprocess

    found = []
    for line in subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True,
                               text=True).stdout.splitlines():
        child, _, args = line.strip().partition(" ")
        if "spawn_main" in args:
            found.append(int(child))
    return found


@pytest.mark.window
def test_the_show_restarts_a_stopped_input_and_its_health_file_says_so(tmp_path, x_display):
    from app_process import App

    app = App(x_display, tmp_path, "--size", "160x90", "--generate")
    stalled = None
    try:
        app.wait_state(lambda s: s.get("taps", 0) >= 2, 60, "taps from the generator")
        stalled = wait_for(lambda: input_children(app.process.pid), 20, f"the input process of {app.process.pid}")[0]
        os.kill(stalled, signal.SIGSTOP)
        state = app.wait_state(lambda s: s["input"].get("stalls") == 1, 10 * TARGET_S, "the stall to be seen")
        assert "stopped answering" in state["input"]["last_error"]
        assert any("stopped answering" in line for line in state["notices"])
        taps = state["taps"]
        app.wait_state(lambda s: s["taps"] > taps, 60, "taps from the restarted input process")
    finally:
        if stalled is not None:
            try:
                os.kill(stalled, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert app.stop() == 0
