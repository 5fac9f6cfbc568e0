"""OSC in and out (see docs/osc.md for the address space).

In: a server thread receives packets and hands their messages over through a queue
that the render loop drains once per frame, so the network never stalls a frame.
Every packet is untrusted: it is parsed here, not by python-osc's dispatcher, so a
malformed or deeply nested one is counted and logged quietly (never a traceback on
stderr), and a bundle's time tag is never waited on (the dispatcher sleeps until
it, which let a tag a year ahead block the thread and shutdown): a message is
handed over at once, and a tag more than `FUTURE_TAG_S` ahead is counted. The
thread polls a stop flag, so closing never waits on it for long.
Out: the render loop queues messages; a sender thread puts them on the wire.
"""

from __future__ import annotations

import logging
import queue
import socketserver
import threading
import time

log = logging.getLogger(__name__)

PREFIX = "/ddp"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7400
MAX_PENDING = 4096  # messages held for the render loop or the wire; beyond, newest dropped and counted
FUTURE_TAG_S = 1.0  # a bundle time-tagged further ahead than this is applied now, and counted
LOG_EVERY_S = 10.0  # a repeated complaint about packets is logged at most this often


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


class _Packets(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.receive(self.request[0])


class _Server(socketserver.UDPServer):
    def __init__(self, address, receive):
        self.receive = receive
        super().__init__(address, _Packets)
        self.timeout = 0.2  # handle_request returns this often, so the thread sees its stop flag

    def handle_error(self, request, client_address) -> None:  # never socketserver's traceback on stderr
        log.debug("OSC: a packet from %s could not be handled", client_address, exc_info=True)


class OscIn:
    """A UDP OSC server on its own thread; `drain()` returns what arrived since the last call."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
        self._queue: queue.Queue = queue.Queue(MAX_PENDING)
        self.dropped = 0  # messages beyond MAX_PENDING
        self.received = 0
        self.malformed = 0  # packets that are not OSC (or nest too deep to read)
        self.future_tags = 0  # messages in bundles time-tagged more than FUTURE_TAG_S ahead (applied now)
        self._complained: dict[str, float] = {}
        self._stop = threading.Event()
        self._server = _Server((host, port), self._packet)
        self.address = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._serve, name="osc-in", daemon=True)
        self._thread.start()
        log.info("OSC: listening on %s:%d", *self.address)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self._server.handle_request()
            except OSError:  # the socket closed under us: we are stopping
                return

    def _packet(self, data: bytes) -> None:
        from pythonosc import osc_packet

        try:
            messages = osc_packet.OscPacket(data).messages
        except Exception as error:  # ParseError, and whatever a hostile packet finds (RecursionError...)
            self.malformed += 1
            self._complain("malformed", "OSC: %d packets could not be read as OSC (last: %s)", self.malformed,
                           str(error)[:120] or type(error).__name__)
            return
        now = time.time()
        for timed in messages:
            tag = timed.time
            if tag is not None and tag > now + FUTURE_TAG_S:
                self.future_tags += 1
                self._complain("future", "OSC: %d messages came in bundles time-tagged ahead of now (last: "
                               "%.0f s); applied at once (is the sender's clock right?)", self.future_tags, tag - now)
            self._arrived(timed.message.address, *timed.message.params)

    def _complain(self, key: str, *message) -> None:
        """Log a repeated complaint at most once every LOG_EVERY_S (the first at once)."""
        now = time.monotonic()
        if now - self._complained.get(key, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._complained[key] = now
            log.warning(*message)

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
        """Stop the thread and free the port; never waits more than a moment (the thread is a daemon)."""
        self._stop.set()
        self._thread.join(0.5)
        self._server.server_close()


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
                except Exception as error:  # nobody listening, network down, a value OSC cannot carry
                    self.errors += 1
                    if self.errors in (1, 100, 10_000):
                        log.warning("OSC: could not send %s (%s)", address, error)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(2.0)


# -- an OSC argument, checked: every handler takes its values through these ------------------------
MAX_TEXT = 128  # characters of a name (preset, zone, parameter path) from OSC


def number(value, low: float, high: float, what: str) -> float:
    """A finite number within [low, high] (an int, a float or a bool-free numeric), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    try:
        result = float(value)
    except OverflowError:
        raise ValueError(f"{what} must be within {low:g}..{high:g}, got a huge integer") from None
    if not low <= result <= high:  # NaN fails this too
        raise ValueError(f"{what} must be within {low:g}..{high:g}, got {result:g}")
    return result


def integer(value, low: int, high: int, what: str) -> int:
    """A whole number within [low, high] (a float that is whole counts), else ValueError."""
    result = number(value, low, high, what)
    if result != int(result):
        raise ValueError(f"{what} must be a whole number, got {result:g}")
    return int(result)


def text(value, what: str, limit: int = MAX_TEXT) -> str:
    """A string of at most `limit` characters, else ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters long (at most {limit})")
    return value
