"""MIDI from another JACK client steers the running app: program change -> preset, CC -> live parameter."""

import os
import queue
import subprocess
import sys
import threading

import pytest

from fixtures_jack import wait_for

pytestmark = [pytest.mark.jack, pytest.mark.window]


class AppUnderTest:
    """The real app in a real window, its log read line by line as it runs."""

    def __init__(self, display, *args):
        command = [sys.executable, "-m", "dessins_de_planche", "run", "--size", "320x180", *args]
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                        env={**os.environ, "DISPLAY": display})
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            self._queue.put(line)

    def count(self, text: str) -> int:
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return sum(text in line for line in self.lines)

    def saw(self, text: str) -> bool:
        return self.count(text) > 0

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def test_program_change_switches_preset_and_cc_sets_a_live_parameter(jack_server, midi_sender, x_display):
    app = AppUnderTest(x_display, "--midi-port", "virtual", "--seconds", "120")
    try:
        wait_for(lambda: app.saw("preset: rosette"), deadline=60, what="the app to show its first preset")
        sender = midi_sender()
        sender.connect_to("dessins-de-planche")  # waits until the app's virtual port exists
        sender.send(0xC0, 1)  # program change 1 (0-based): the second gallery preset
        wait_for(lambda: app.saw("preset: thread"), deadline=30, what="the preset to switch")
        sender.send(0xB0, 1, 127)  # CC 1 all the way up: the thread preset maps it to its fade
        wait_for(lambda: app.saw("control: canvas.decay = 0.5 (CC 1)"), deadline=30, what="the CC to set the fade")
        sender.send(0xC0, 0)
        wait_for(lambda: app.count("preset: rosette") >= 2, deadline=30, what="the preset to switch back")
    finally:
        code = app.stop()
    assert code == 0, "".join(app.lines[-30:])
    assert not any("Traceback" in line for line in app.lines)
