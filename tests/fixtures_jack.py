"""JACK fixtures: a dummy-driver JACK server per test session, and a client that plays audio and MIDI into the app.

The server starts before anything imports sounddevice (PortAudio scans host APIs
at import), under a per-session name in JACK_DEFAULT_SERVER so parallel
sessions never meet and spawned input processes find it. Helper clients are
closed before the server stops; jackd's shared memory is removed afterwards.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from rig import PERIOD, SAMPLE_RATE, DummyJack, SignalPlayer, remove_jack_registry, wait_for  # noqa: F401 (PERIOD: for the tests)


class JackServer(DummyJack):
    """A `jackd -d dummy` server (48 kHz, 128-frame periods) that a test can stop and start again (device loss)."""

    def start(self) -> "JackServer":
        self.launch()
        return self


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
        remove_jack_registry()


class JackPlayer(SignalPlayer):
    """A JACK client with output ports that plays a numpy array into the app, from a chosen JACK frame."""

    def __init__(self, server: JackServer, channels: int, name: str = "ddp-player"):
        super().__init__(server.client(name), channels)
        self.client.activate()

    def play(self, signal: np.ndarray, lead_seconds: float = 0.3) -> float:
        """Play `signal` (frames, channels) from a frame a little ahead; return its master-clock time."""
        start = self.client.frame_time + int(lead_seconds * SAMPLE_RATE)
        self.signal = np.ascontiguousarray(signal, np.float32)
        self.start_frame = start
        return self.frame_to_master(start)

    def frame_to_master(self, frame: int) -> float:
        """Master time at which a JACK frame's cycle began (process callbacks are late, never early)."""
        return self.origin + frame / SAMPLE_RATE

    def finished(self) -> bool:
        return self.start_frame is not None and self.client.frame_time > self.start_frame + len(self.signal)

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


class XrunWatch:
    """Counts the JACK server's xruns from now on. In a cycle a client misses, the MIDI events
    sent to it are gone: on this shared machine the dummy server sees bursts of hundreds of xruns
    in a run, and then a JACK MIDI client (ours or any other) loses a few notes of hundreds."""

    def __init__(self, server: JackServer):
        self.count = 0
        self.client = server.client("ddp-xrun-watch")
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, _delay_us: float) -> None:
        self.count += 1

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


@pytest.fixture
def jack_xruns(jack_server):
    watch = XrunWatch(jack_server)
    yield watch
    watch.close()


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
