"""The input process's shared memory: its rings and status block, created by the render process
under one name prefix, and what a crash or a power cut left behind, removed.

A segment's name carries its owner's pid (`ddp-in-<pid>-<token>-<part>`), so that a later start
can tell leftovers from segments another running show still uses.
"""

from __future__ import annotations

import logging
import os
import uuid

from dessins_de_planche.events import CONTROL_DTYPE, FEATURE_DTYPE, TAP_DTYPE
from dessins_de_planche.inputs.status import StatusBlock
from dessins_de_planche.ring import Ring

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "ddp-in-"

RINGS = {  # name -> (record type, capacity); one producer each
    "taps": (TAP_DTYPE, 1024),  # audio taps (the audio thread)
    "midi_taps": (TAP_DTYPE, 1024),  # MIDI taps (the MIDI listener's thread)
    "features": (FEATURE_DTYPE, 8192),  # one per block and channel: ~10 s of mono at 48 kHz
    "controls": (CONTROL_DTYPE, 1024),
}


def create_segments(capacity: dict[str, int]) -> tuple[dict[str, Ring], StatusBlock]:
    """A new set of rings (`capacity`: ring name -> records) and a status block, after removing
    what dead owners left."""
    remove_stale_segments()
    token = f"{SEGMENT_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    rings = {name: Ring.create(dtype, capacity[name], name=f"{token}-{name}") for name, (dtype, _) in RINGS.items()}
    return rings, StatusBlock.create(f"{token}-status")


def attach_rings(ring_names: dict[str, str]) -> dict[str, Ring]:
    """In the input process: the rings the render process created, by name."""
    return {name: Ring.attach(ring_name, RINGS[name][0]) for name, ring_name in ring_names.items()}


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
