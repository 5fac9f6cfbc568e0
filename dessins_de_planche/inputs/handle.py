"""The render process's handle on the input process: start it, drain its rings each frame, restart
it when it dies or hangs, read what it is doing, stop it.

Why a process: moderngl holds the GIL through long C calls, which made an in-process audio
callback lose most of its blocks (see README, "Architecture"). The input process
(`inputs/process.py`) owns the audio callback, the MIDI listener and the detector; records come
back through rings in shared memory (`inputs/shm.py`), and a status block (`inputs/status.py`)
says what it is doing. The render process never imports sounddevice or rtmidi: PortAudio can
abort the process that holds a stream when the audio server vanishes. Such a death, or a lost
device, only ends the input process, and `poll` starts a new one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from typing import NamedTuple

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import CONTROL_DTYPE, FEATURE_DTYPE, TAP_DTYPE
from dessins_de_planche.inputs import process
from dessins_de_planche.inputs.shm import RINGS, create_segments
from dessins_de_planche.inputs.status import AUDIO_STATES, MIDI_STATES, HeartbeatWatch, InputStatus, text
from dessins_de_planche.restarts import Backoff, describe_exit
from dessins_de_planche.ring import Ring

log = logging.getLogger(__name__)

RESTART_MIN, RESTART_MAX = 0.5, 5.0  # seconds between restarts, doubling while it keeps dying
HEALTHY_SECONDS = 10.0  # a child that lived this long resets the back-off


class InputBatch(NamedTuple):
    """One frame's worth of input records, oldest first within each kind."""

    taps: np.ndarray
    features: np.ndarray
    controls: np.ndarray

    @classmethod
    def empty(cls) -> "InputBatch":
        return cls(np.zeros(0, TAP_DTYPE), np.zeros(0, FEATURE_DTYPE), np.zeros(0, CONTROL_DTYPE))


def _why_it_ended(code: int | None) -> str:
    if code == process.EXIT_DEVICE_LOST:
        return "the input process ended: its device or audio server went away"
    hint = " (PortAudio aborted, e.g. the audio server vanished)" if code == -signal.SIGABRT else ""
    return f"the input process {describe_exit(code)}{hint}"


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
        self._backoff = Backoff(RESTART_MIN, RESTART_MAX)
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
        self._heartbeat = HeartbeatWatch()
        self.fuser = None  # a board's mic and sensors heard as one (`run --fuse`: inputs/fuse.py)
        if spec.fuse:
            from dessins_de_planche.inputs.fuse import Fuser

            self.fuser = Fuser()

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> "InputProcess":
        self.rings, self._status = create_segments(self._capacity)
        self._spawn()
        return self

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")
        names = {name: ring.name for name, ring in self.rings.items()}
        self._status.ready_for_a_child()
        self._process = context.Process(
            target=process.input_process_main, name="dessins-de-planche-input", daemon=True,
            args=(self.spec, names, self._status.name, os.getpid(), logging.getLogger().getEffectiveLevel(),
                  self.restarts))
        self._process.start()
        self._started_at = master_time()
        self._heartbeat.new_child(self._started_at)
        self._restart_at = None

    def stop(self, timeout: float = 3.0) -> None:
        """End the child cleanly (streams closed, PortAudio terminated), then free the shared memory."""
        child, self._process = self._process, None
        if child is not None:
            self._status.ask_to_stop()
            child.join(timeout)
            if child.is_alive():
                log.warning("the input process did not stop in %.0f s; terminating it", timeout)
                child.terminate()
                child.join(1.0)
            if child.is_alive():
                child.kill()
                child.join(1.0)
            self.exitcode = child.exitcode
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
            return InputBatch.empty()
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
        child = self._process
        if child is not None:
            if child.is_alive():
                if now - self._started_at > HEALTHY_SECONDS:
                    self._backoff.reset()
                if self._heartbeat.stopped(int(self._status.record["heartbeat"]), now):
                    self._end_stalled(child, now)
                return
            code = child.exitcode
            self._process = None
            final = self._take_last_word()
            self._child_error_seen = text(final["error"])
            if int(final["blocks"]) > 0:  # its stream ran: a device lost mid-show, not a crash loop
                self._backoff.reset()
            reason = _why_it_ended(code)
            if code == process.EXIT_DEVICE_LOST and self._child_error_seen:
                reason = f"{self._child_error_seen}; the input process ended"
            self._set_error(reason)
            delay = self._backoff.failed()
            self._restart_at = now + delay
            log.warning("%s; restarting it in %.1f s", self._error, delay)
        elif self._restart_at is not None and now >= self._restart_at and self._status is not None:
            self.restarts += 1
            self._spawn()

    def _take_last_word(self):
        """A gone child's final status; its overflows join those of the children before it."""
        final = self._status.last_word()
        self._overflow_base += int(final["overflows"])
        self._last_overflows = 0
        return final

    def _end_stalled(self, child, now: float) -> None:
        """A child that stopped answering (SIGSTOP, a hang in a driver): killed and started again
        at once; the back-off still grows if the next one stalls or dies too."""
        silent = self._heartbeat.silent_for(now)
        child.kill()  # SIGKILL ends a stopped process too; SIGTERM would wait for a SIGCONT
        child.join(1.0)
        self._process = None
        self.stalls += 1
        self._stalled_at = now
        self._take_last_word()
        self._set_error(f"the input process stopped answering ({silent:.1f} s without a heartbeat); restarted it")
        log.warning("%s", self._error)
        self._restart_at = now
        self._backoff.failed()

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
        child_error = text(record["error"])
        if child_error and child_error != self._child_error_seen:
            self._child_error_seen = child_error
            self._set_error(child_error)  # the newest of the two, the child's or ours, is the last error
        self._last_overflows = int(record["overflows"])
        self._status_cache = InputStatus(
            audio_state=AUDIO_STATES[record["audio_state"]] if record["audio_state"] < len(AUDIO_STATES) else "off",
            device_name=text(record["device"]),
            midi_state=MIDI_STATES[record["midi_state"]] if record["midi_state"] < len(MIDI_STATES) else "off",
            midi_port=text(record["midi_port"]),
            midi_api=text(record["midi_api"]),
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
