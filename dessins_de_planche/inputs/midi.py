"""MIDI in: a trigger board's notes become taps, its controls become control records.

Runs in the input process. RtMidi picks ALSA by default and raises instead of
falling back where there is no ALSA sequencer, so the API is chosen here: JACK
first when `/dev/snd/seq` is missing, then the platform default, then the rest.

Crosstalk: on a board of several sensors one strike reaches them all, a few
milliseconds apart. Without a calibration of the board, a note-on within
`midi_crosstalk_s` of the last tap is that same strike heard again: no new tap;
if it is louder, a refine record moves the tap to its zone and velocity (the
loudest sensor names the tap). With one (`calibrate --midi-port`, see
inputs/board.py), a note is bleed only if it looks like the bleed learned on that
board, so two feet landing together are two taps, and notes under a sensor's
weight-shift floor are dropped and counted. The first note goes out at once
either way, so this adds no delay.
"""

from __future__ import annotations

import logging
import os
import threading
import time

try:
    import rtmidi
except ImportError:  # Python 3.13+ without a build of it (no wheel there): the app runs on audio
    rtmidi = None

from dessins_de_planche.clock import master_time
from dessins_de_planche.errors import UserError
from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import (CONTROL_CC, CONTROL_NOTE_OFF, CONTROL_PROGRAM, KIND_NAMES,
                                       KIND_UNKNOWN, SOURCE_MIDI, tap_id_space)
from dessins_de_planche.inputs.board import BLEED, EARLIER_WAS_BLEED, TAP, WEIGHT_SHIFT, BoardFilter
from dessins_de_planche.inputs.quiet import quiet_stderr

log = logging.getLogger(__name__)

VIRTUAL = "virtual"
VIRTUAL_PORT_NAME = "dessins-de-planche"
RETRY_SECONDS = 1.0
SERVER_PROBE_SECONDS = 5.0
# How often the port's queue is read: a tap waits half of it on average before it is a record
# (with no MIDI coming, reading every 1 ms cost the input process 2.7 % of a core, every 2 ms 1.9 %).
POLL_SECONDS = 0.002
# RtMidi's own queue between its thread and ours: a sysex flood in one JACK cycle must not fill it.
QUEUE_SIZE = 8192


MISSING = ("MIDI is unavailable: python-rtmidi is not installed for this Python "
           "(scripts/setup.sh builds it, or: pip install 'dessins-de-planche[midi]')")
MIDI_ERRORS = (rtmidi.RtMidiError, SystemError) if rtmidi is not None else (SystemError,)


class MidiUnavailable(UserError):
    pass


def api_order() -> list[int]:
    """The MIDI APIs to try, best first (none without python-rtmidi)."""
    if rtmidi is None:
        return []
    compiled = rtmidi.get_compiled_api()
    order = []
    if not os.path.exists("/dev/snd/seq") and rtmidi.API_UNIX_JACK in compiled:
        order.append(rtmidi.API_UNIX_JACK)
    order.append(rtmidi.API_UNSPECIFIED)
    order += [api for api in compiled if api not in order]
    return order


def open_midi_in(client_name: str) -> rtmidi.MidiIn:
    """A MidiIn on the first API that works; MidiUnavailable naming why each failed."""
    if rtmidi is None:
        raise MidiUnavailable(MISSING)
    failures = []
    for api in api_order():
        try:
            with quiet_stderr():
                return rtmidi.MidiIn(api, name=client_name, queue_size_limit=QUEUE_SIZE)
        except MIDI_ERRORS as error:
            failures.append(f"{rtmidi.get_api_display_name(api) or 'default'}: {error}")
    raise MidiUnavailable("no MIDI system answered (" + "; ".join(failures) + ")")


def jack_server_alive() -> bool:
    """Whether a JACK client can be opened now (RtMidi's JACK client never hears the server leave)."""
    if rtmidi is None:
        return False
    try:
        with quiet_stderr():
            probe = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="dessins-de-planche-probe")
    except MIDI_ERRORS:
        return False
    probe.delete()
    return True


def list_midi_inputs() -> list[tuple[str, list[str]]]:
    """(API name, port names) for every MIDI API that works on this machine, preferred first."""
    found = []
    for api in api_order():
        try:
            with quiet_stderr():
                midi_in = rtmidi.MidiIn(api, name="dessins-de-planche-devices")
        except MIDI_ERRORS:
            continue
        name = rtmidi.get_api_display_name(midi_in.get_current_api())
        if all(name != known for known, _ in found):
            found.append((name, midi_in.get_ports()))
        midi_in.delete()
    return found


class MidiListener:
    """Keeps a MIDI input port open and turns its messages into records.

    RtMidi queues the messages on its own thread (JACK's process thread, or its ALSA reader),
    in C; our thread reads the queue. A Python callback there would need this process's GIL
    inside JACK's cycle: a thread holding it for longer than a period made our JACK client late,
    and a late client misses that cycle's events (10 of 500 notes lost with the GIL held 8 ms
    every 100 ms: tests/test_midi_jack.py) and flags a late cycle to every client, the audio
    input's too.

    `state` is 'waiting' until the port is open, then 'listening'. `lost` is set
    when the JACK server went away under an open port: RtMidi then crashes on
    close, so the input process ends and the render process starts a fresh one.
    """

    def __init__(self, spec: InputSpec, zone_table: tuple[str, ...], tap_ring, control_ring, generation: int = 0):
        self.spec = spec
        self.taps = tap_ring
        self.controls = control_ring
        midi_zone = zone_table.index("midi")
        # note -> (zone index, kind code): looked up per message, so built once here
        self.note_map = [(midi_zone, KIND_UNKNOWN)] * 128
        for note, target in spec.midi_notes.items():
            kind = KIND_NAMES.index(target.kind) if target.kind in KIND_NAMES else KIND_UNKNOWN
            self.note_map[int(note) & 127] = (zone_table.index(target.zone), kind)
        self.state = "waiting"
        self.port_name = ""
        self.api_name = ""
        self.error = ""
        self.lost = False
        self.messages = 0
        self._midi_in = None
        self._tap_id = 0  # the last tap's number; its id is in MIDI's own range (events.TAP_ID_SPACES)
        self._id_first, self._id_span, self._id_offset = tap_id_space("midi", generation)
        self._crosstalk_s = spec.midi_crosstalk_s
        self._strike_at = float("-inf")  # the last tap's time, and its loudest velocity so far
        self._strike_velocity = 0.0
        self.crosstalk = 0  # note-ons taken as the same strike heard by another sensor
        self.board = BoardFilter(spec.midi_board) if spec.midi_board is not None else None
        # per zone (an index of the zone table): taps, notes taken as another sensor's strike (bleed),
        # notes dropped as weight shifts; the sound check shows them (read by the status publisher)
        self.zone_taps = [0] * len(zone_table)
        self.zone_bleed = [0] * len(zone_table)
        self.zone_shifts = [0] * len(zone_table)
        self.weight_shifts = 0
        self._strike_zone = 0
        self._running = 0  # running status: the last channel status byte, carried across messages
        self._empty_at = master_time()  # when a read last found the port's queue empty
        # The time given to the last message read; none yet (inf), so the first read puts its
        # newest message at its own time: from there on each message is at most as late as its
        # promptest read, never early.
        self._last_at = float("inf")
        self._last_probe = 0.0
        self._reading = False  # the listener's thread runs (and owns the port)
        self._read_error = ""

    # -- the messages ---------------------------------------------------------
    def drain(self) -> bool:
        """Parse what the port queued since the last read, each message at its own time.

        RtMidi gives the time since the message before (on the sound server's clock), so each
        message is the one before plus that gap, kept between the last read that found the
        queue empty and now: a read held back (the GIL busy elsewhere) neither moves the messages
        late nor squeezes them together (two strikes 10 ms apart must not become one strike),
        and no message is placed before it arrived."""
        midi_in = self._midi_in
        event = midi_in.get_message() if midi_in is not None else None
        if event is None:
            self._empty_at = master_time()
            return False
        events = [event]
        while (event := midi_in.get_message()) is not None:
            events.append(event)
        now = master_time()
        if self._last_at == float("inf"):  # nothing to go by yet: the newest message is now
            self._last_at = now - sum(gap for _message, gap in events)
        for message, gap in events:
            self._last_at = min(max(self._last_at + gap, self._empty_at), now)
            self.on_message(message, self._last_at)
        self._empty_at = now
        return True

    def on_message(self, message, now: float) -> None:
        """One message's records: one push each, no I/O, no lock, never waits.

        Parsed byte by byte, like a serial MIDI stream, because one event may hold several
        messages (running status), and a sysex whose end byte was lost arrives with the
        next message glued to its tail (any status byte ends a sysex)."""
        self.messages += 1
        status = self._running
        first = -1
        for byte in message:
            if byte >= 0xF8:  # real-time (clock, active sensing): may sit anywhere, ignored
                continue
            if byte >= 0x80:  # a status byte; system messages and sysex cancel running status
                status = byte if byte < 0xF0 else 0
                first = -1
                continue
            if status == 0:  # data of a sysex, or bytes with no status: nothing to do
                continue
            kind = status & 0xF0
            if kind == 0xC0:
                self.controls.push(now, CONTROL_PROGRAM, (status & 0x0F) + 1, byte, 0)
            elif kind == 0xD0:
                pass
            elif first < 0:
                first = byte
            else:
                self._dispatch(now, kind, (status & 0x0F) + 1, first, byte)
                first = -1
        self._running = status

    def _current_id(self) -> int:
        return self._id_first + (self._id_offset + self._tap_id) % self._id_span

    def _dispatch(self, now: float, kind: int, channel: int, number: int, value: int) -> None:
        if kind == 0x90 and value > 0:
            zone, tap_kind = self.note_map[number]
            velocity = value / 127.0
            if self.board is not None:
                self._board_note(now, channel, number, velocity, zone, tap_kind)
                return
            if now - self._strike_at < self._crosstalk_s:  # the same strike, heard by another sensor
                self.crosstalk += 1
                self.zone_bleed[zone] += 1
                if velocity > self._strike_velocity:
                    self._strike_velocity = velocity
                    self.zone_taps[self._strike_zone] -= 1
                    self.zone_taps[zone] += 1
                    self._strike_zone = zone
                    self.taps.push(self._strike_at, now, velocity, self._current_id(), channel, SOURCE_MIDI, zone,
                                   tap_kind, 1)
                return
            self._tap_id += 1
            self._strike_at, self._strike_velocity, self._strike_zone = now, velocity, zone
            self.zone_taps[zone] += 1
            self.taps.push(now, now, velocity, self._current_id(), channel, SOURCE_MIDI, zone, tap_kind, 0)
        elif kind == 0x90 or kind == 0x80:
            self.controls.push(now, CONTROL_NOTE_OFF, channel, number, value)
        elif kind == 0xB0:
            self.controls.push(now, CONTROL_CC, channel, number, value)

    def _board_note(self, now: float, channel: int, note: int, velocity: float, zone: int, tap_kind: int) -> None:
        """A note-on on a calibrated board: a tap, another sensor's bleed, or a weight shift."""
        board = self.board
        verdict = board.classify(now, note, velocity)
        if verdict == TAP:
            self._tap_id += 1
            tap_id = self._current_id()
            board.remember(now, note, velocity, tap_id, zone)
            self.zone_taps[zone] += 1
            self.taps.push(now, now, velocity, tap_id, channel, SOURCE_MIDI, zone, tap_kind, 0)
            i = board.earlier_drop(now, note, velocity)
            if i >= 0:  # a note dropped a moment ago as a weight shift was this strike's bleed: count it so
                self.weight_shifts -= 1
                self.zone_shifts[board.dropped_zone[i]] -= 1
                self.crosstalk += 1
                self.zone_bleed[board.dropped_zone[i]] += 1
        elif verdict == BLEED:
            self.crosstalk += 1
            self.zone_bleed[zone] += 1
        elif verdict == EARLIER_WAS_BLEED:  # the tap sent a moment ago was this strike's bleed: move it here
            i = board.match
            self.crosstalk += 1
            self.zone_bleed[board.zone[i]] += 1
            self.zone_taps[board.zone[i]] -= 1
            self.zone_taps[zone] += 1
            board.moved(i, note, velocity, zone)
            self.taps.push(board.at[i], now, velocity, board.tap_id[i], channel, SOURCE_MIDI, zone, tap_kind, 1)
        elif verdict == WEIGHT_SHIFT:
            board.dropped(now, note, velocity, zone)
            self.weight_shifts += 1
            self.zone_shifts[zone] += 1

    # -- the listener thread --------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Read the port's queue every POLL_SECONDS; every second, open the port, watch that it
        stays, reopen it when it comes back. One thread: the port is never read while replaced."""
        self._reading = True
        try:
            self._listen(stop)
        finally:
            if self._midi_in is not None and not self.lost:
                self._release()
            self._reading = False

    def _listen(self, stop: threading.Event) -> None:
        check_at = 0.0
        while not stop.is_set():
            if time.monotonic() >= check_at:
                check_at = time.monotonic() + RETRY_SECONDS
                try:
                    if self._midi_in is None or not self._midi_in.is_port_open():
                        self._open()
                    else:
                        self._check()
                except (MidiUnavailable, *MIDI_ERRORS) as error:
                    self._fail(str(error))
                if self.lost:
                    return
            try:
                read = self.drain()
            except Exception as error:  # one bad read must not silence the board: say so, read on
                if repr(error) != self._read_error:
                    log.error("reading the MIDI port failed: %r", error)
                self._read_error, read = repr(error), False
            if not read:
                time.sleep(POLL_SECONDS)

    def _open(self) -> None:
        if self._midi_in is None:
            self._midi_in = open_midi_in(self.spec.client_name)
            self._last_at = float("inf")  # a new client's first message has no gap to go by
            # sysex comes through so that a note glued to a sysex missing its end byte is still parsed;
            # clock and active sensing too (`on_message` skips them): RtMidi's JACK input measures
            # each message's gap from the last event it saw, dropped or not
            self._midi_in.ignore_types(sysex=False, timing=False, active_sense=False)
            self.api_name = rtmidi.get_api_display_name(self._midi_in.get_current_api())
        wanted = self.spec.midi_port
        if wanted.strip().lower() == VIRTUAL:
            self._midi_in.open_virtual_port(VIRTUAL_PORT_NAME)
            self.port_name = f"{self.spec.client_name}:{VIRTUAL_PORT_NAME} (virtual)"
        else:
            port = self._find(wanted)
            if port is None:
                if self.state != "waiting" or not self.error:
                    self._fail(f"no MIDI input port matches {wanted!r}; ports: "
                               f"{', '.join(repr(p) for p in self._midi_in.get_ports()) or 'none'}")
                self._probe_server()
                return
            self._midi_in.open_port(port, "in")
            self.port_name = self._midi_in.get_ports()[port]
        self.state = "listening"
        self.error = ""
        log.info("MIDI listening on %s (%s)", self.port_name, self.api_name)

    def _find(self, wanted: str) -> int | None:
        for index, name in enumerate(self._midi_in.get_ports()):
            if wanted.lower() in name.lower():
                return index
        return None

    def _check(self) -> None:
        virtual = self.spec.midi_port.strip().lower() == VIRTUAL
        if not virtual and self._find(self.spec.midi_port) is None:
            self._probe_server(force=True)
            if self.lost:
                return
            self._release()  # a fresh client on return: RtMidi's JACK side does not reopen a port cleanly
            self._fail(f"MIDI port {self.port_name!r} went away; waiting for it")
        elif virtual and self._midi_in.get_port_count() == 0:
            self._probe_server()

    def _probe_server(self, force: bool = False) -> None:
        """On JACK, tell a vanished server from an empty one (checked at most every few seconds)."""
        if self._midi_in is None or self._midi_in.get_current_api() != rtmidi.API_UNIX_JACK:
            return
        now = master_time()
        if not force and now - self._last_probe < SERVER_PROBE_SECONDS:
            return
        self._last_probe = now
        if not jack_server_alive():  # our client is dead too, and RtMidi cannot close it safely
            self.lost = True
            self._fail("the JACK server went away under the MIDI input")

    def _fail(self, message: str) -> None:
        if message != self.error:
            log.warning("%s", message)
        self.state = "waiting"
        self.error = message

    def _release(self) -> None:
        self._midi_in.close_port()
        self._midi_in.delete()
        self._midi_in = None

    def close(self) -> None:
        """Close the port (only while its server is alive: RtMidi crashes closing a dead JACK client),
        unless the listener's thread still runs: it owns the port and closes it when it stops."""
        if self._reading:
            return
        if self._midi_in is not None and not self.lost:
            self._release()
        self._midi_in = None
