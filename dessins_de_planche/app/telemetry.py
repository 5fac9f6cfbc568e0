"""What the live loop can report about itself, when asked: per-frame timing and GL errors.

`run --telemetry FILE` writes one JSON line per frame: when the frame drained the
input rings, when its drawing was submitted and when its buffer swap returned, all
on the master clock, the render scale it was drawn at (`scale`, see `app/governor.py`), with the
taps it drained: first emissions (`taps`), the
detector's confirmations (`confirmed`, its refine records) and the taps it took back
(`withdrawn`). A MIDI tap's mark is drawn in the frame that drains it; an audio tap's
in the frame that drains its confirmation (or 30 ms after it, when none comes; see
`render/scene.py`). That is what `bench/tap_to_photon.py` and the
other benches measure from. `--telemetry-pixels` also reads each frame back before
the swap and counts the pixels that brightened sharply since the previous one, so
the benches can check the timestamps against what was really on screen.
`--gl-debug` checks the GL error flag after every frame and logs what it finds.

Zero cost when off: the loop holds `None` and tests for it; nothing here is imported.
"""

from __future__ import annotations

import json
import logging

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.events import RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW

log = logging.getLogger("dessins_de_planche.app")

# moderngl reads a framebuffer through GL_COLOR_ATTACHMENT0 + attachment; the window's own
# framebuffer has no attachments (GL_INVALID_OPERATION), it has a back buffer: ask for that.
_BACK_BUFFER = 0x0405 - 0x8CE0  # GL_BACK - GL_COLOR_ATTACHMENT0
STATUS_SECONDS = 0.25  # how often the input status goes into the record
BRIGHTER = 48  # a pixel that gained this much (0..255, any channel) in one frame counts as newly drawn


class Telemetry:
    """Writes the per-frame record, a line per frame (one small write each; only when asked for)."""

    def __init__(self, path: str, pixels: bool = False):
        self.file = open(path, "w", buffering=1)  # line by line: a watcher sees each frame as it happens
        self.pixels = pixels
        self.frame = 0
        self._drained = self._drawn = 0.0
        self._taps = self._confirmed = self._withdrawn = None
        self._previous = None
        self._changed = -1
        self._status_at = 0.0
        self._write({"event": "start", "time": master_time()})

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def drained(self, batch) -> None:
        self._drained = master_time()
        taps = batch.taps
        if len(taps):
            self._taps = taps[taps["refine"] == RECORD_FIRST]
            self._confirmed = taps[taps["refine"] == RECORD_REFINE]
            self._withdrawn = taps[taps["refine"] == RECORD_WITHDRAW]
        else:
            self._taps = self._confirmed = self._withdrawn = None

    def drawn(self, ctx, size) -> None:
        self._drawn = master_time()
        if self.pixels:
            self._changed = self._count_brightened(ctx, size)

    def _count_brightened(self, ctx, size) -> int:
        image = np.frombuffer(read_screen(ctx, size), np.uint8)
        previous, self._previous = self._previous, image.astype(np.int16)
        if previous is None or previous.shape != self._previous.shape:
            return -1
        return int(((self._previous - previous).reshape(-1, 3).max(axis=1) >= BRIGHTER).sum())

    def swapped(self, status=None, scale: float = 1.0) -> None:
        now = master_time()
        record = {"frame": self.frame, "drained": self._drained, "drawn": self._drawn, "swap": now,
                  "scale": round(float(scale), 4)}
        for name, taps in (("taps", self._taps), ("confirmed", self._confirmed), ("withdrawn", self._withdrawn)):
            if taps is not None and len(taps):
                record[name] = [[int(t["tap_id"]), int(t["source"]), int(t["channel"]), float(t["time"]),
                                 float(t["detected_at"])] for t in taps]
        if self.pixels:
            record["brightened"] = self._changed
        self._write(record)
        self.frame += 1
        if status is not None and now - self._status_at >= STATUS_SECONDS:
            self._status_at = now
            self._write(_status_record(now, status))

    def close(self, status=None) -> None:
        if status is not None:
            self._write({**_status_record(master_time(), status), "event": "end"})
        self.file.close()


def read_screen(ctx, size) -> bytes:
    """The window's back buffer (the frame about to be shown), RGB, bottom row first."""
    return ctx.screen.read(viewport=(0, 0, *size), components=3, attachment=_BACK_BUFFER)


def _status_record(now: float, status) -> dict:
    return {"event": "status", "time": now, "audio": status.audio_state, "midi": status.midi_state,
            "overflows": status.overflows, "blocks": status.blocks, "dropped": dict(status.dropped),
            "restarts": status.restarts, "running": status.running}


class GLErrorCheck:
    """`--gl-debug`: the GL error flag read after every frame; each error logged with its frame."""

    def __init__(self):
        self.frame = 0
        self.errors = 0

    def drained(self, batch) -> None:
        pass

    def drawn(self, ctx, size) -> None:
        error = ctx.error  # reading it also clears it
        if error != "GL_NO_ERROR":
            self.errors += 1
            log.error("GL error in frame %d: %s", self.frame, error)
        self.frame += 1

    def swapped(self, status=None, scale: float = 1.0) -> None:
        pass

    def close(self, status=None) -> None:
        log.info("GL debug: %d frames checked, %d GL errors", self.frame, self.errors)


class FrameObservers:
    """Several observers behind the loop's one hook."""

    def __init__(self, observers):
        self.observers = observers

    def drained(self, batch) -> None:
        for observer in self.observers:
            observer.drained(batch)

    def drawn(self, ctx, size) -> None:
        for observer in self.observers:
            observer.drawn(ctx, size)

    def swapped(self, status=None, scale: float = 1.0) -> None:
        for observer in self.observers:
            observer.swapped(status, scale)

    def close(self, status=None) -> None:
        for observer in self.observers:
            observer.close(status)


def observers_from_args(args) -> FrameObservers | None:
    """The observers `run`'s options ask for, or None (the loop then does nothing extra)."""
    observers = []
    if getattr(args, "telemetry", None):
        observers.append(Telemetry(args.telemetry, pixels=getattr(args, "telemetry_pixels", False)))
    if getattr(args, "gl_debug", False):
        observers.append(GLErrorCheck())
    return FrameObservers(observers) if observers else None
