"""The input process, and the render process's handle on it.

Why a process: moderngl holds the GIL through long C calls, which made an
in-process audio callback lose most of its blocks (see README, "Architecture").
The input process owns the audio callback, the MIDI listener and the detector;
records come back through rings in shared memory, and a small status block
says what it is doing. The render process never imports sounddevice or
rtmidi: PortAudio can abort the process that holds a stream when the audio
server vanishes. Such a death, or a lost device, only ends the input process,
and `poll` starts a new one.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import uuid
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from typing import NamedTuple

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import CONTROL_DTYPE, FEATURE_DTYPE, TAP_DTYPE
from dessins_de_planche.ring import Ring, attach_untracked

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "ddp-in-"
EXIT_DEVICE_LOST = 75  # the input process ended because its device or audio server went away
RESTART_MIN, RESTART_MAX = 0.5, 5.0  # seconds between restarts, doubling while it keeps dying
HEALTHY_SECONDS = 10.0  # a child that lived this long resets the back-off
STATUS_SECONDS = 0.25  # how often the child publishes its status (and beats its heart)
HEARTBEAT_TIMEOUT = 2.0  # seconds without a heartbeat before a running child counts as stalled
FIRST_BEAT_TIMEOUT = 30.0  # seconds a new child may take to beat once (imports, a device opening)
GIL_SWITCH_SECONDS = 0.0005  # in the child: see input_process_main

RINGS = {  # name -> (record type, capacity); one producer each
    "taps": (TAP_DTYPE, 1024),  # audio taps (the audio thread)
    "midi_taps": (TAP_DTYPE, 1024),  # MIDI taps (the MIDI listener's thread)
    "features": (FEATURE_DTYPE, 8192),  # one per block and channel: ~10 s of mono at 48 kHz
    "controls": (CONTROL_DTYPE, 1024),
}

AUDIO_STATES = ("off", "listening", "waiting for device", "demo", "replay")
STATUS_ZONES = 32  # zones whose MIDI counts the status block carries
MIDI_STATES = ("off", "listening", "waiting")

STATUS_DTYPE = np.dtype([
    ("version", "<u8"),  # odd while the child writes (a sequence lock)
    ("stop", "u1"),  # the only field the render process writes
    ("audio_state", "u1"),
    ("midi_state", "u1"),
    ("pid", "<u4"),
    ("sample_rate", "<u4"),
    ("block_size", "<u4"),
    ("overflows", "<u8"),
    ("blocks", "<u8"),
    ("late_median_ms", "<f4"),
    ("late_p99_ms", "<f4"),
    ("late_max_ms", "<f4"),
    ("updated", "<f8"),
    ("heartbeat", "<u8"),  # +1 at every publish: the render process restarts a child whose count stalls
    # a MIDI board's notes per zone (the zone table's first STATUS_ZONES): taps, bleed suppressed
    # (another sensor's strike), weight shifts ignored; and whether its calibration is in use
    ("midi_calibrated", "u1"),
    ("midi_zone_taps", "<u4", (STATUS_ZONES,)),
    ("midi_zone_bleed", "<u4", (STATUS_ZONES,)),
    ("midi_zone_shifts", "<u4", (STATUS_ZONES,)),
    # a multi-channel audio board's taps per zone, the same three counts, when its calibration is in use
    ("audio_calibrated", "u1"),
    ("audio_zone_taps", "<u4", (STATUS_ZONES,)),
    ("audio_zone_bleed", "<u4", (STATUS_ZONES,)),
    ("audio_zone_shifts", "<u4", (STATUS_ZONES,)),
    ("device", "S160"),
    ("midi_port", "S160"),
    ("midi_api", "S32"),
    ("error", "S400"),
])


class InputBatch(NamedTuple):
    """One frame's worth of input records, oldest first within each kind."""

    taps: np.ndarray
    features: np.ndarray
    controls: np.ndarray


@dataclass(frozen=True)
class InputStatus:
    audio_state: str = "off"
    device_name: str = ""
    midi_state: str = "off"
    midi_port: str = ""
    midi_api: str = ""
    sample_rate: int = 0
    block_size: int = 0
    overflows: int = 0
    blocks: int = 0
    lateness_ms: tuple[float, float, float] = (0.0, 0.0, 0.0)  # median, p99, max over the last seconds
    dropped: dict = field(default_factory=dict)  # ring name -> records dropped because it was full
    restarts: int = 0
    last_error: str = ""
    running: bool = False
    stalls: int = 0  # children restarted because their heartbeat stopped (SIGSTOP, a hang)
    stalled_at: float = 0.0  # master time of the last such restart
    midi_calibrated: bool = False  # the sensor board's calibration decides what is bleed and weight shift
    midi_zones: tuple = ()  # (zone, taps, bleed suppressed, weight shifts ignored) per zone that heard a note
    fused: tuple = ()  # `run --fuse`: (strikes heard by both, sounds alone, sensor notes with no sound dropped)
    audio_calibrated: bool = False  # a multi-channel audio board's calibration decides bleed and weight shifts
    audio_zones: tuple = ()  # (zone, taps, bleed suppressed, weight shifts ignored) per audio zone, when it does


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _bytes(text: str, size: int) -> bytes:
    return text.encode("utf-8")[:size]


class StatusBlock:
    """A few hundred bytes in shared memory: the child writes, the render process reads."""

    def __init__(self, shm, owner: bool):
        self._shm = shm
        self.owner = owner
        self.record = np.ndarray((), STATUS_DTYPE, buffer=shm.buf)

    @classmethod
    def create(cls, name: str) -> "StatusBlock":
        shm = shared_memory.SharedMemory(name=name, create=True, size=STATUS_DTYPE.itemsize)
        shm.buf[:] = bytes(STATUS_DTYPE.itemsize)
        return cls(shm, owner=True)

    @classmethod
    def attach(cls, name: str) -> "StatusBlock":
        return cls(attach_untracked(name), owner=False)

    @property
    def name(self) -> str:
        return self._shm.name

    def write(self, **values) -> None:
        record = self.record
        record["version"] += 1
        for key, value in values.items():
            if STATUS_DTYPE[key].kind == "S":
                value = _bytes(value, STATUS_DTYPE[key].itemsize)
            record[key] = value
        record["version"] += 1

    def read(self) -> np.void:
        for _ in range(10):
            before = int(self.record["version"])
            copy = self.record.copy()[()]
            if before % 2 == 0 and int(self.record["version"]) == before:
                return copy
        return copy  # a writer stalled mid-update: a slightly torn status is still useful

    def close(self) -> None:
        self.record = None
        self._shm.close()
        if self.owner:
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_segments(directory: str = "/dev/shm") -> list[str]:
    """Unlink shared memory left by input processes whose owner is gone (a crash, a power cut)."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:  # no /dev/shm (macOS): nothing to clean
        return removed
    for name in names:
        if not name.startswith(SEGMENT_PREFIX):
            continue
        try:
            owner = int(name[len(SEGMENT_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if owner != os.getpid() and not _alive(owner):
            try:
                os.unlink(os.path.join(directory, name))
                removed.append(name)
            except OSError:
                pass
    if removed:
        log.info("removed %d stale shared-memory segments", len(removed))
    return removed


def _describe_exit(code: int | None) -> str:
    if code == EXIT_DEVICE_LOST:
        return "the input process ended: its device or audio server went away"
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        hint = " (PortAudio aborted, e.g. the audio server vanished)" if -code == signal.SIGABRT else ""
        return f"the input process died from {name}{hint}"
    return f"the input process exited with code {code}"


class InputProcess:
    """The render process's handle: start, `poll` each frame, read `status`, `stop`."""

    def __init__(self, spec: InputSpec, ring_capacity: dict | None = None):
        from dessins_de_planche.inputs.sources import audio_channels

        self.spec = spec
        self.channels = audio_channels(spec)
        self.zone_names = spec.zone_table(len(self.channels))
        self._capacity = {name: capacity for name, (_dtype, capacity) in RINGS.items()}
        self._capacity.update(ring_capacity or {})
        self.rings: dict[str, Ring] = {}
        self._status = None
        self._process = None
        self._restart_at = None
        self._backoff = RESTART_MIN
        self._started_at = 0.0
        self._overflow_base = 0
        self._last_overflows = 0
        self.restarts = 0
        self.exitcode = None  # the child's exit status after `stop` (0: streams closed, PortAudio ended)
        self._error = ""
        self._child_error_seen = ""
        self._status_cache = None
        self._status_read_at = -1.0
        self.stalls = 0
        self._stalled_at = 0.0
        self._beat = 0  # the child's heartbeat count as last read, and when it last moved
        self._beat_at = 0.0
        self.fuser = None  # a board's mic and sensors heard as one (`run --fuse`: inputs/fuse.py)
        if spec.fuse:
            from dessins_de_planche.inputs.fuse import Fuser

            self.fuser = Fuser()

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> "InputProcess":
        remove_stale_segments()
        token = f"{SEGMENT_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for name, (dtype, _capacity) in RINGS.items():
            self.rings[name] = Ring.create(dtype, self._capacity[name], name=f"{token}-{name}")
        self._status = StatusBlock.create(f"{token}-status")
        self._spawn()
        return self

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        names = {name: ring.name for name, ring in self.rings.items()}
        record = self._status.record  # no child writes now: the last one is gone
        record["stop"] = 0
        record["heartbeat"] = 0
        if record["version"] % 2:  # it died (or was killed) in the middle of a write
            record["version"] += 1
        self._process = context.Process(
            target=input_process_main, name="dessins-de-planche-input", daemon=True,
            args=(self.spec, names, self._status.name, os.getpid(), logging.getLogger().getEffectiveLevel(),
                  self.restarts))
        self._process.start()
        self._started_at = self._beat_at = master_time()
        self._beat = 0
        self._restart_at = None

    def stop(self, timeout: float = 3.0) -> None:
        """End the child cleanly (streams closed, PortAudio terminated), then free the shared memory."""
        process, self._process = self._process, None
        if process is not None:
            self._status.record["stop"] = 1
            process.join(timeout)
            if process.is_alive():
                log.warning("the input process did not stop in %.0f s; terminating it", timeout)
                process.terminate()
                process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
            self.exitcode = process.exitcode
        for ring in self.rings.values():
            ring.close()
        self.rings = {}
        if self._status is not None:
            self._status.close()
            self._status = None

    def __enter__(self) -> "InputProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- every frame ------------------------------------------------------------
    def poll(self) -> InputBatch:
        """Drain the rings (cheap when empty) and restart the child if it died."""
        rings = self.rings
        if not rings:  # not started, or stopped
            return InputBatch(np.zeros(0, TAP_DTYPE), np.zeros(0, FEATURE_DTYPE), np.zeros(0, CONTROL_DTYPE))
        self._watch()
        taps = rings["taps"].pop()
        midi_taps = rings["midi_taps"].pop()
        if self.fuser is not None:  # the mic's features say how far it has listened: a note waits for that
            features = rings["features"].pop()
            return InputBatch(self.fuser.fuse(taps, midi_taps, master_time(), features), features,
                              rings["controls"].pop())
        if len(midi_taps):
            taps = np.concatenate((taps, midi_taps)) if len(taps) else midi_taps
        return InputBatch(taps, rings["features"].pop(), rings["controls"].pop())

    def _watch(self) -> None:
        now = master_time()
        process = self._process
        if process is not None:
            if process.is_alive():
                if now - self._started_at > HEALTHY_SECONDS:
                    self._backoff = RESTART_MIN
                if self._heart_stopped(now):
                    self._end_stalled(process, now)
                return
            code = process.exitcode
            self._process = None
            final = self._status.read()  # the child's last word: its overflows, and why it left
            self._overflow_base += int(final["overflows"])
            self._last_overflows = 0
            self._child_error_seen = _text(final["error"])
            if int(final["blocks"]) > 0:  # its stream ran: a device lost mid-show, not a crash loop
                self._backoff = RESTART_MIN
            self._status.write(overflows=0, blocks=0, error="")  # no child is writing now; the next starts afresh
            reason = _describe_exit(code)
            if code == EXIT_DEVICE_LOST and self._child_error_seen:
                reason = f"{self._child_error_seen}; the input process ended"
            self._set_error(reason)
            self._restart_at = now + self._backoff
            log.warning("%s; restarting it in %.1f s", self._error, self._backoff)
            self._backoff = min(self._backoff * 2, RESTART_MAX)
        elif self._restart_at is not None and now >= self._restart_at and self._status is not None:
            self.restarts += 1
            self._spawn()

    def _heart_stopped(self, now: float) -> bool:
        """True when the child's heartbeat has not moved for HEARTBEAT_TIMEOUT (FIRST_BEAT_TIMEOUT
        before its first beat). Measured on our own clock from when we last saw it move, so a long
        frame here never reads as a stall there."""
        beat = int(self._status.record["heartbeat"])
        if beat != self._beat:
            self._beat, self._beat_at = beat, now
            return False
        return now - self._beat_at > (HEARTBEAT_TIMEOUT if beat else FIRST_BEAT_TIMEOUT)

    def _end_stalled(self, process, now: float) -> None:
        """A child that stopped answering (SIGSTOP, a hang in a driver): killed and started again
        at once; the back-off still grows if the next one stalls or dies too."""
        silent = now - self._beat_at
        process.kill()  # SIGKILL ends a stopped process too; SIGTERM would wait for a SIGCONT
        process.join(1.0)
        self._process = None
        self.stalls += 1
        self._stalled_at = now
        final = self._status.read()
        self._overflow_base += int(final["overflows"])
        self._last_overflows = 0
        self._status.write(overflows=0, blocks=0, error="")
        self._set_error(f"the input process stopped answering ({silent:.1f} s without a heartbeat); restarted it")
        log.warning("%s", self._error)
        self._restart_at = now
        self._backoff = min(self._backoff * 2, RESTART_MAX)

    def _set_error(self, message: str) -> None:
        self._error = message
        self._status_cache = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # -- what it is doing -------------------------------------------------------
    @property
    def status(self) -> InputStatus:
        """What the input process reports (re-read at most ten times a second)."""
        now = master_time()
        if self._status_cache is not None and now - self._status_read_at < 0.1:
            return self._status_cache
        if self._status is None:
            return InputStatus()
        record = self._status.read()
        child_error = _text(record["error"])
        if child_error and child_error != self._child_error_seen:
            self._child_error_seen = child_error
            self._set_error(child_error)  # the newest of the two, the child's or ours, is the last error
        self._last_overflows = int(record["overflows"])
        self._status_cache = InputStatus(
            audio_state=AUDIO_STATES[record["audio_state"]] if record["audio_state"] < len(AUDIO_STATES) else "off",
            device_name=_text(record["device"]),
            midi_state=MIDI_STATES[record["midi_state"]] if record["midi_state"] < len(MIDI_STATES) else "off",
            midi_port=_text(record["midi_port"]),
            midi_api=_text(record["midi_api"]),
            sample_rate=int(record["sample_rate"]),
            block_size=int(record["block_size"]),
            overflows=self._overflow_base + self._last_overflows,
            blocks=int(record["blocks"]),
            lateness_ms=(float(record["late_median_ms"]), float(record["late_p99_ms"]),
                         float(record["late_max_ms"])),
            dropped={name: ring.dropped for name, ring in self.rings.items()},
            restarts=self.restarts,
            last_error=self._error,
            running=self.running,
            stalls=self.stalls,
            stalled_at=self._stalled_at,
            midi_calibrated=bool(record["midi_calibrated"]),
            midi_zones=tuple((name, int(taps), int(bleed), int(shifts)) for name, taps, bleed, shifts in zip(
                self.zone_names, record["midi_zone_taps"], record["midi_zone_bleed"], record["midi_zone_shifts"])
                if taps or bleed or shifts),
            fused=() if self.fuser is None else (self.fuser.fused, self.fuser.sound_only, self.fuser.weight_shifts),
            audio_calibrated=bool(record["audio_calibrated"]),
            audio_zones=tuple((name, int(taps), int(bleed), int(shifts)) for name, taps, bleed, shifts in zip(
                self.zone_names[: len(self.channels)], record["audio_zone_taps"], record["audio_zone_bleed"],
                record["audio_zone_shifts"])) if record["audio_calibrated"] else (),
        )
        self._status_read_at = now
        return self._status_cache


# ---------------------------------------------------------------------------
# The child. Everything below runs in the input process.
# ---------------------------------------------------------------------------
def _make_handler_factory(spec: InputSpec, channels: tuple[int, ...], rings: dict, generation: int):
    from dessins_de_planche.clock import StreamClock
    from dessins_de_planche.inputs.audio import BlockHandler

    tuned = _calibration(spec, channels)
    from dessins_de_planche.inputs.board import board_detector, usable_audio_board

    board = usable_audio_board(spec.audio_board, channels) if spec.audio_device is not None or spec.input_file else None

    def make_handler(sample_rate: int, block_size: int):
        detector, board_filter = board_detector(sample_rate, channels, block_size, tuned, board)
        handler = BlockHandler(detector, StreamClock(sample_rate), rings["taps"], rings["features"],
                               channels, range(len(channels)), generation, board=board_filter)
        if spec.record_audio:  # only when asked: `run --record DIR --record-audio`
            from dessins_de_planche.record.audio import recording_handler

            return recording_handler(handler, spec.record_audio, sample_rate)
        return handler

    return make_handler


def _calibration(spec: InputSpec, channels) -> tuple:
    """Each channel's calibration from `calibrate`'s file (a board or its recording, not the
    synthesized demo); a broken file is logged, never fatal."""
    if not spec.use_calibration or (spec.audio_device is None and spec.input_file is None):
        return ()
    from dessins_de_planche.listen import calibration

    try:
        return calibration.for_channels(calibration.load(), channels)
    except ValueError as error:
        log.warning("%s; listening with the default detector settings", error)
        return ()


def _audio_source(spec: InputSpec, channels, rings, generation: int):
    from dessins_de_planche.inputs.sources import FileReplay, GeneratorSource, audio_source_kind

    kind = audio_source_kind(spec)
    if kind is None:
        return None
    make_handler = _make_handler_factory(spec, channels, rings, generation)
    if kind == "replay":
        return FileReplay(spec, make_handler)
    if kind == "demo":
        return GeneratorSource(spec, make_handler)
    from dessins_de_planche.inputs.stream import LiveAudio  # loads PortAudio: only when asked for

    return LiveAudio(spec, channels, make_handler)


def _publish(status: StatusBlock, audio, midi) -> None:
    values = {"pid": os.getpid(), "updated": master_time(), "heartbeat": int(status.record["heartbeat"]) + 1}
    errors = []
    if audio is not None:
        median, p99, worst = audio.lateness.summary()
        values.update(audio_state=AUDIO_STATES.index(audio.state), device=audio.device_name,
                      sample_rate=audio.sample_rate, block_size=audio.block_size, overflows=audio.overflows,
                      blocks=audio.blocks, late_median_ms=median, late_p99_ms=p99, late_max_ms=worst)
        errors.append(audio.error)
        from dessins_de_planche.inputs.board import filter_of

        board = filter_of(audio)
        if board is not None:
            values.update(audio_calibrated=True,
                          audio_zone_taps=_zone_counts([c[0] for c in board.counts]),
                          audio_zone_bleed=_zone_counts([c[1] for c in board.counts]),
                          audio_zone_shifts=_zone_counts([c[2] for c in board.counts]))
    if midi is not None:
        values.update(midi_state=MIDI_STATES.index(midi.state), midi_port=midi.port_name or midi.spec.midi_port,
                      midi_api=midi.api_name, midi_calibrated=midi.board is not None,
                      midi_zone_taps=_zone_counts(midi.zone_taps), midi_zone_bleed=_zone_counts(midi.zone_bleed),
                      midi_zone_shifts=_zone_counts(midi.zone_shifts))
        errors.append(midi.error)
    values["error"] = next((e for e in errors if e), "")
    status.write(**values)


def _zone_counts(counts: list) -> list:
    """A listener's per-zone counts, as the status block's fixed-size field."""
    return (list(counts) + [0] * STATUS_ZONES)[:STATUS_ZONES]


def ask_for_priority() -> str:
    """Audio before pictures: the audio callback runs on the sound server's real-time thread
    but needs this process's GIL, so a busy machine must not preempt this process's other
    threads while they hold it. The lowest real-time priority where the system allows it
    (below the sound server's own threads), else a higher nice; neither is required."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        return "real-time (SCHED_FIFO 1)"
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)
        return "nice -10"
    except (AttributeError, OSError):
        return "normal (the system allows no higher priority)"


def log_to_stderr(level: int) -> None:
    """The input process's log, on a copy of its stderr: `quiet_stderr` points file descriptor 2
    at /dev/null while libjack complains, and a line another thread logs meanwhile (the audio
    stream's "listening to", a warning) must not vanish with the noise."""
    stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    logging.basicConfig(level=level, format="%(asctime)s input %(levelname)s %(message)s", stream=stream)


def input_process_main(spec: InputSpec, ring_names: dict, status_name: str, parent_pid: int,
                       log_level: int = logging.INFO, generation: int = 0) -> None:
    """The input process: start the sources, publish status, stop when asked or orphaned.
    `generation`: how many times it was restarted before (each start numbers its taps anew)."""
    log_to_stderr(log_level)
    log.info("input process priority: %s", ask_for_priority())  # a show's log says whether audio came first
    # A thread that wants the GIL waits this long before the holder is made to let go (5 ms by
    # default, more than a 128-frame period): any Python the other threads run costs the audio
    # callback at most half a millisecond.
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never let a retry start a JACK server of its own
    from dessins_de_planche.inputs.sources import audio_channels

    status = StatusBlock.attach(status_name)
    rings = {name: Ring.attach(ring_name, RINGS[name][0]) for name, ring_name in ring_names.items()}
    channels = audio_channels(spec)
    stop = threading.Event()
    audio = midi = None
    try:
        audio = _audio_source(spec, channels, rings, generation)
    except Exception as error:  # a broken file or generator: say so, and keep MIDI going
        log.error("audio input failed: %s", error)
        status.write(error=f"audio input failed: {error}")
    if spec.midi_port:
        from dessins_de_planche.inputs.midi import MidiListener

        midi = MidiListener(spec, spec.zone_table(len(channels)), rings["midi_taps"], rings["controls"],
                            generation)
    threads = [threading.Thread(target=part.run, args=(stop,), name=f"input-{type(part).__name__}", daemon=True)
               for part in (audio, midi) if part is not None]
    for thread in threads:
        thread.start()
    # What is alive now lives as long as the process: out of the collector's sight, so that a
    # collection (the GIL held for up to a millisecond or more with the imports' objects in
    # view) never stands between the audio callback and its deadline.
    gc.collect()
    gc.freeze()
    states = None
    try:
        while not status.record["stop"] and os.getppid() == parent_pid:
            _publish(status, audio, midi)
            now_states = tuple(part.state for part in (audio, midi) if part is not None)
            if now_states != states:  # a stream or port (re)opened: what it made lives on too
                states = now_states
                gc.freeze()
            if (audio is not None and audio.lost) or (midi is not None and midi.lost):
                # Closing a stream or port whose server vanished hangs or crashes: leave at once,
                # without running PortAudio's exit handler, and let the render process restart us.
                os._exit(EXIT_DEVICE_LOST)
            stop.wait(STATUS_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(2.0)
        for part in (audio, midi):
            if part is not None:
                part.close()
        if "sounddevice" in sys.modules:
            import sounddevice

            sounddevice._terminate()
        if spec.record_audio:
            from dessins_de_planche.record.audio import close_recorders

            close_recorders()
        for ring in rings.values():
            ring.close()
        status.close()
