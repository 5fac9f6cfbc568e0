"""What the tests and the benches share: waiting for a condition, a dummy JACK server, and a JACK
client's output ports that play a signal into the app's audio inputs from a chosen frame.

Imported by name: pytest puts tests/ on the path, and bench/stage.py puts it there for the
benches. Nothing here needs pytest, so a bench runs without it; the app package holds no test
code.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time

import numpy as np

SAMPLE_RATE = 48_000  # the dummy JACK servers' rate and period
PERIOD = 128


def wait_for(predicate, deadline: float = 10.0, what: str = "condition", interval: float = 0.02):
    """Poll `predicate` until it returns something truthy, and return that; fail naming `what`
    after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}")
        time.sleep(interval)


class DummyJack:
    """A `jackd -d dummy` server under its own name, that can be stopped and started again (a lost
    device). Its clients find it by that name; jackd's files of it are removed when it stops."""

    def __init__(self, name: str):
        self.name = name
        self.process = None

    def launch(self, period: int = PERIOD, capture: int | None = None, stderr=subprocess.DEVNULL) -> None:
        """Start jackd (`capture` ports on its 'system' device: the dummy's default two when None)
        and wait until it accepts clients."""
        command = ["jackd", "-n", self.name, "-d", "dummy", "-r", str(SAMPLE_RATE), "-p", str(period)]
        if capture is not None:
            command += ["-C", str(capture)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        wait_for(self.is_up, 10.0, f"jackd {self.name} to accept clients")

    def is_up(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"jackd {self.name} exited with code {self.process.returncode}")
        import jack

        from dessins_de_planche.inputs.quiet import quiet_stderr

        try:
            with quiet_stderr():  # libjack complains on every refused connection
                client = jack.Client("ddp-probe", no_start_server=True, servername=self.name)
        except jack.JackOpenError:
            return False
        client.close()
        return True

    def client(self, name: str):
        import jack

        return jack.Client(name, no_start_server=True, servername=self.name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        for leftover in glob.glob(f"/dev/shm/jack_sem.*_{self.name}_*"):
            os.unlink(leftover)


def jackd_running() -> bool:
    for status in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(status) as f:
                if f.read().strip() == "jackd":
                    return True
        except OSError:
            pass
    return False


def remove_jack_registry() -> None:
    """jackd's registry in /dev/shm is shared by every server: removed only when no jackd is left."""
    if jackd_running():
        return
    for leftover in glob.glob("/dev/shm/jack-*"):
        shutil.rmtree(leftover, ignore_errors=True) if os.path.isdir(leftover) else os.unlink(leftover)


def app_input_ports(client, owner: str = "PortAudio") -> list[str]:
    """The app's audio input ports (PortAudio's client, or `owner`), in channel order."""
    ports = [p.name for p in client.get_ports(f"^{owner}[^:]*:", is_audio=True, is_input=True)]
    return sorted(ports, key=lambda name: (len(name), name))


class SignalPlayer:
    """A JACK client's output ports that play `signal` (frames, channels; float32) from JACK frame
    `start_frame` on, and silence before and after. Set both, the signal first, to play.

    `origin` is the master (monotonic) time of JACK frame 0: the lower envelope of the process
    callback's entries, since the dummy driver hands a cycle's frames to every client when that
    cycle begins and a callback is late, never early.
    """

    def __init__(self, client, channels: int):
        self.client = client
        self.outputs = [client.outports.register(f"out_{i + 1}") for i in range(channels)]
        self.signal = np.zeros((0, channels), np.float32)
        self.start_frame = None
        self.origin = float("inf")
        client.set_process_callback(self.process)

    def connect(self, owner: str = "PortAudio", deadline: float = 10.0) -> list[str]:
        """Connect output i to the app's input i, waiting until the app's ports exist."""
        targets = wait_for(lambda: app_input_ports(self.client, owner), deadline, f"the input ports of {owner}")
        for output, target in zip(self.outputs, targets):
            self.client.connect(output, target)
        return targets

    def process(self, frames: int) -> None:
        """JACK's process thread, once a cycle: only copies into the ports' buffers (no allocation,
        I/O or locks; a late cycle is an xrun that every client is told of)."""
        first = self.client.last_frame_time
        self.origin = min(self.origin, time.monotonic() - first / SAMPLE_RATE)
        start = self.start_frame
        for channel, port in enumerate(self.outputs):
            buffer = port.get_array()
            buffer.fill(0.0)
            if start is None:
                continue
            lo, hi = max(first, start), min(first + frames, start + len(self.signal))
            if lo < hi:
                buffer[lo - first : hi - first] = self.signal[lo - start : hi - start, channel]
