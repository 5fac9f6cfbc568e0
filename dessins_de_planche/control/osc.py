"""OSC in and out (see docs/osc.md for the address space).

In: a server thread receives messages and hands them over through a queue that
the render loop drains once per frame, so the network never stalls a frame.
Out: the render loop queues messages; a sender thread puts them on the wire.
"""

from __future__ import annotations

import logging
import queue
import threading

log = logging.getLogger(__name__)

PREFIX = "/ddp"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7400
MAX_PENDING = 4096  # messages held for the render loop or the wire; beyond, newest dropped and counted


def parse_address(text: str, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """`7400`, `:7400`, `host:7400` -> (host, port)."""
    host, _, port = str(text).rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"an OSC address is [HOST:]PORT such as 127.0.0.1:7400, got {text!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"OSC port {number} is out of range (1..65535)")
    return host or default_host, number


class OscIn:
    """A UDP OSC server on its own thread; `drain()` returns what arrived since the last call."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import BlockingOSCUDPServer

        self._queue: queue.Queue = queue.Queue(MAX_PENDING)
        self.dropped = 0
        self.received = 0
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self._arrived)
        self._server = BlockingOSCUDPServer((host, port), dispatcher)
        self.address = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="osc-in", daemon=True)
        self._thread.start()
        log.info("OSC: listening on %s:%d", *self.address)

    def _arrived(self, address: str, *args) -> None:
        try:
            self._queue.put_nowait((address, args))
            self.received += 1
        except queue.Full:
            self.dropped += 1

    def drain(self) -> list[tuple[str, tuple]]:
        messages = []
        while True:
            try:
                messages.append(self._queue.get_nowait())
            except queue.Empty:
                return messages

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(2.0)


class OscOut:
    """Sends to every target on a thread of its own; `send` never blocks the caller."""

    def __init__(self, targets: list[tuple[str, int]]):
        from pythonosc.udp_client import SimpleUDPClient

        self.targets = list(targets)
        self._clients = [SimpleUDPClient(host, port) for host, port in self.targets]
        self._queue: queue.Queue = queue.Queue(MAX_PENDING)
        self.dropped = 0
        self.sent = 0
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="osc-out", daemon=True)
        self._thread.start()
        log.info("OSC: sending to %s", ", ".join(f"{h}:{p}" for h, p in self.targets))

    def send(self, address: str, *args) -> None:
        try:
            self._queue.put_nowait((address, list(args)))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            address, args = item
            for client in self._clients:
                try:
                    client.send_message(address, args)
                    self.sent += 1
                except OSError as error:  # nobody listening, network down: count it, keep going
                    self.errors += 1
                    if self.errors in (1, 100, 10_000):
                        log.warning("OSC: could not send %s (%s)", address, error)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(2.0)
