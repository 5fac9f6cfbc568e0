"""The status block: a few hundred bytes of shared memory in which the input process says what it
is doing, and beats its heart, for the render process to read.

The child writes every field but one (`stop`, the render process's request to end) under a
sequence lock; the render process reads a consistent copy, and watches the heartbeat count to
tell a hung child from a busy one. `InputStatus` is what the render side makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from multiprocessing import shared_memory

import numpy as np

from dessins_de_planche.ring import attach_untracked

STATUS_SECONDS = 0.25  # how often the child publishes its status (and beats its heart)
HEARTBEAT_TIMEOUT = 2.0  # seconds without a heartbeat before a running child counts as stalled
FIRST_BEAT_TIMEOUT = 30.0  # seconds a new child may take to beat once (imports, a device opening)

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


def text(value: bytes) -> str:
    """A text field of the block, as read."""
    return value.decode("utf-8", "replace")


def zone_counts(counts: list) -> list:
    """A listener's per-zone counts, as the status block's fixed-size field."""
    return (list(counts) + [0] * STATUS_ZONES)[:STATUS_ZONES]


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
                value = value.encode("utf-8")[:STATUS_DTYPE[key].itemsize]
            record[key] = value
        record["version"] += 1

    def read(self) -> np.void:
        for _ in range(10):
            before = int(self.record["version"])
            copy = self.record.copy()[()]
            if before % 2 == 0 and int(self.record["version"]) == before:
                return copy
        return copy  # a writer stalled mid-update: a slightly torn status is still useful

    # -- the render process's side: only while no child writes, or the one field it owns --
    def ready_for_a_child(self) -> None:
        """Before a child starts (the last one is gone): no stop asked, no heartbeat yet, and the
        sequence lock released if the last one died in the middle of a write."""
        record = self.record
        record["stop"] = 0
        record["heartbeat"] = 0
        if record["version"] % 2:
            record["version"] += 1

    def last_word(self) -> np.void:
        """A child's final status, once it is gone (its overflows, why it left); its counts and
        error are cleared, so that the next child starts afresh."""
        final = self.read()
        self.write(overflows=0, blocks=0, error="")
        return final

    def ask_to_stop(self) -> None:
        self.record["stop"] = 1

    @property
    def stop_asked(self) -> bool:
        return bool(self.record["stop"])

    def close(self) -> None:
        self.record = None
        self._shm.close()
        if self.owner:
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass


class HeartbeatWatch:
    """The render process's watch on a child's heartbeat count. Measured on its own clock from
    when it last saw the count move, so that a long frame on the render side never reads as a
    stall of the child."""

    def __init__(self):
        self.count = 0
        self.moved_at = 0.0

    def new_child(self, now: float) -> None:
        self.count, self.moved_at = 0, now

    def stopped(self, count: int, now: float) -> bool:
        """True when the count has not moved for HEARTBEAT_TIMEOUT (FIRST_BEAT_TIMEOUT before the
        first beat)."""
        if count != self.count:
            self.count, self.moved_at = count, now
            return False
        return now - self.moved_at > (HEARTBEAT_TIMEOUT if count else FIRST_BEAT_TIMEOUT)

    def silent_for(self, now: float) -> float:
        return now - self.moved_at
