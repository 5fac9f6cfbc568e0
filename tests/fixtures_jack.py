"""JACK fixtures: a dummy-driver JACK server per test session, and a client that plays audio and MIDI into the app.

The server starts before anything imports sounddevice (PortAudio scans host APIs
at import), under a per-session name in JACK_DEFAULT_SERVER so parallel
sessions never meet and spawned input processes find it. Helper clients are
closed before the server stops; jackd's shared memory is removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time

import numpy as np
import pytest

SAMPLE_RATE = 48_000
PERIOD = 128
DEADLINE = 10.0  # seconds to wait for anything JACK does (it takes well under one)


def wait_for(predicate, deadline: float = DEADLINE, what: str = "condition", interval: float = 0.02):
    """Poll `predicate` until it returns something truthy; fail naming `what` after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}")
        time.sleep(interval)


def _jackd_running() -> bool:
    for status in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(status) as f:
                if f.read().strip() == "jackd":
                    return True
        except OSError:
            pass
    return False


class JackServer:
    """A `jackd -d dummy` server that a test can stop and start again (device loss)."""

    def __init__(self, name: str):
        self.name = name
        self.process = None

    def start(self) -> "JackServer":
        self.process = subprocess.Popen(
            ["jackd", "-n", self.name, "-d", "dummy", "-r", str(SAMPLE_RATE), "-p", str(PERIOD)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.is_up, what=f"jackd {self.name} to accept clients")
        return self

    def is_up(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"jackd {self.name} exited with code {self.process.returncode}")
        import jack

        from dessins_de_planche.inputs.quiet import quiet_stderr

        try:
            with quiet_stderr():  # libjack complains on every refused connection
                client = jack.Client("ddp-test-probe", no_start_server=True, servername=self.name)
        except jack.JackOpenError:
            return False
        client.close()
        return True

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

    def client(self, name: str):
        import jack

        return jack.Client(name, no_start_server=True, servername=self.name)


@pytest.fixture(scope="session")
def jack_server():
    """A running JACK server (dummy driver, 48 kHz, 128-frame periods) for the whole session."""
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (Debian: apt-get install jackd2)")
    name = f"ddp-test-{os.getpid()}"
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name  # spawned input processes inherit it
    os.environ["JACK_NO_START_SERVER"] = "1"
    server = JackServer(name).start()
    try:
        yield server
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = previous
        if not _jackd_running():  # the registry is shared by every server: only when none is left
            for leftover in glob.glob("/dev/shm/jack-*"):
                shutil.rmtree(leftover, ignore_errors=True) if os.path.isdir(leftover) else os.unlink(leftover)


def app_input_ports(client, owner: str = "PortAudio") -> list[str]:
    """The app's audio input ports (PortAudio's client, or `owner`), in channel order."""
    ports = [p.name for p in client.get_ports(f"^{owner}[^:]*:", is_audio=True, is_input=True)]
    return sorted(ports, key=lambda name: (len(name), name))


class JackPlayer:
    """A JACK client with output ports that plays a numpy array into the app, from a chosen JACK frame."""

    def __init__(self, server: JackServer, channels: int, name: str = "ddp-player"):
        self.client = server.client(name)
        self.outputs = [self.client.outports.register(f"out_{i + 1}") for i in range(channels)]
        self.signal = np.zeros((0, channels), np.float32)
        self.start_frame = None
        self._origin = float("inf")  # master time of JACK frame 0: the lower envelope of cycle starts
        self.client.set_process_callback(self._process)
        self.client.activate()

    def connect(self, owner: str = "PortAudio") -> list[str]:
        """Connect output i to the app's input i, waiting until the app's ports exist."""
        targets = wait_for(lambda: app_input_ports(self.client, owner), what=f"the input ports of {owner}")
        for output, target in zip(self.outputs, targets):
            self.client.connect(output, target)
        return targets

    def play(self, signal: np.ndarray, lead_seconds: float = 0.3) -> float:
        """Play `signal` (frames, channels) from a frame a little ahead; return its master-clock time."""
        start = self.client.frame_time + int(lead_seconds * SAMPLE_RATE)
        self.signal = np.ascontiguousarray(signal, np.float32)
        self.start_frame = start
        return self.frame_to_master(start)

    def frame_to_master(self, frame: int) -> float:
        """Master time at which a JACK frame's cycle began (process callbacks are late, never early)."""
        return self._origin + frame / SAMPLE_RATE

    def finished(self) -> bool:
        return self.start_frame is not None and self.client.frame_time > self.start_frame + len(self.signal)

    def _process(self, frames: int) -> None:
        first = self.client.last_frame_time
        self._origin = min(self._origin, time.monotonic() - first / SAMPLE_RATE)
        start = self.start_frame
        for channel, port in enumerate(self.outputs):
            buffer = port.get_array()
            buffer.fill(0.0)
            if start is None:
                continue
            lo, hi = max(first, start), min(first + frames, start + len(self.signal))
            if lo < hi:
                buffer[lo - first : hi - first] = self.signal[lo - start : hi - start, channel]

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


class MidiSender:
    """A JACK MIDI output (RtMidi) that the app can find by name or that connects to the app's port."""

    def __init__(self, server: JackServer, name: str = "ddp-sender"):
        import rtmidi

        self.name = name
        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=name)
        self.out.open_virtual_port("out")
        self._server = server

    def connect_to(self, port_pattern: str) -> None:
        """Connect to the app's MIDI input (a port name regex), waiting until it exists."""
        client = self._server.client(f"{self.name}-patch")
        try:
            target = wait_for(lambda: client.get_ports(port_pattern, is_midi=True, is_input=True),
                              what=f"a MIDI input port matching {port_pattern!r}")[0]
            client.connect(f"{self.name}:out", target)
        finally:
            client.close()

    def send(self, *message: int) -> None:
        self.out.send_message(list(message))

    def close(self) -> None:
        """Unplug the board (safe to call twice)."""
        if self.out is not None:
            self.out.close_port()
            self.out.delete()
            self.out = None


@pytest.fixture
def jack_player(jack_server):
    players = []

    def make(channels: int = 2, name: str = "ddp-player") -> JackPlayer:
        players.append(JackPlayer(jack_server, channels, name))
        return players[-1]

    yield make
    for player in players:
        player.close()


@pytest.fixture
def midi_sender(jack_server):
    senders = []

    def make(name: str = "ddp-sender") -> MidiSender:
        senders.append(MidiSender(jack_server, name))
        return senders[-1]

    yield make
    for sender in senders:
        sender.close()
