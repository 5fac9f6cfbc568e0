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
While the frame-time governor runs, the loop finishes a frame's GL work before the swap when the
governor measures it (none in its first 2 s, then every frame, or one in a dozen and never a
tap's while the frames have clear headroom; see `app/governor.py`): the line of a frame finished says when that returned (`finished`:
`drawn` -> `finished` is the wait for the GPU; a frame not finished has no `finished`), and the
GPU's own time for the drawing of the frame GPU_LAG frames back (`gpu`: [that frame, ms],
a timer query read when it is long done; only for a frame finished: where nothing flushes a
frame that is not, its query's end waits for the next frame's first pass, as on Mesa's llvmpipe).
`--gl-debug` checks the GL error flag after every frame and logs what it finds.

Zero cost when off: the loop holds `None` and tests for it; nothing here is imported.
"""

from __future__ import annotations

import contextlib
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
GPU_LAG = 3  # frames between a frame's drawing and the read of its timer query
UNTIMED = contextlib.nullcontext()  # a frame's drawing when no one times it on the GPU


class Telemetry:
    """Writes the per-frame record, a line per frame (one small write each; only when asked for)."""

    def __init__(self, path: str, pixels: bool = False, gpu_ctx=None):
        """`gpu_ctx`: time each frame's drawing on the GPU in this context; only where the governor runs
        (the loop finishes frames, every one or a sample): a query's end is not run until its commands
        are flushed (Mesa's llvmpipe on SDL's offscreen driver flushes the last pass at the next frame's
        first one), and the baseline (`--render-scale 1`) reads none."""
        self.file = open(path, "w", buffering=1)  # line by line: a watcher sees each frame as it happens
        self.pixels = pixels
        self.frame = 0
        self._drained = self._drawn = 0.0
        self._finished = None
        self._queries = [gpu_ctx.query(time=True) for _ in range(GPU_LAG + 1)] if gpu_ctx is not None else None
        self._timed_finished = [False] * (GPU_LAG + 1)  # per query: was its frame finished?
        self._taps = self._confirmed = self._withdrawn = None
        self._image = self._previous = None  # the last two frames read back, swapped by reference
        self._scratch = None
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

    def drawing(self):
        """What the loop holds around this frame's drawing: a timer query, or nothing."""
        if self._queries is None:
            return UNTIMED
        self._timed_finished[self.frame % len(self._queries)] = False
        return self._queries[self.frame % len(self._queries)]

    def drawn(self, ctx, size) -> None:
        self._drawn = master_time()
        if self.pixels:
            self._changed = self._count_brightened(ctx, size)

    def finished(self) -> None:
        """The loop finished the frame's GL work (a frame the governor measures)."""
        self._finished = master_time()
        if self._queries is not None:
            self._timed_finished[self.frame % len(self._queries)] = True

    def _count_brightened(self, ctx, size) -> int:
        """Read the frame into a buffer kept for it and count against the frame before, in place: made
        anew each frame, the arrays of a 1920x1080 count took 127 ms on the 2-core machine (6 ms in
        place), and the read-back pass ran at 12 fps on an H200's machine, where a sparks tap's frame and
        the one before it both brightened (the streaks of the tap before still flying)."""
        nbytes = int(size[0]) * int(size[1]) * 3
        first = self._image is None or len(self._image) != nbytes  # the first frame, or a new size
        if first:
            self._image, self._previous = bytearray(nbytes), bytearray(nbytes)
            self._scratch = (np.empty(nbytes, np.uint8), np.empty(nbytes, bool))
        self._previous, self._image = self._image, self._previous
        read_screen_into(ctx, size, self._image)
        if first:
            return -1
        return count_brightened(np.frombuffer(self._previous, np.uint8), np.frombuffer(self._image, np.uint8),
                                self._scratch)

    def swapped(self, status=None, scale: float = 1.0) -> None:
        now = master_time()
        record = {"frame": self.frame, "drained": self._drained, "drawn": self._drawn, "swap": now,
                  "scale": round(float(scale), 4)}
        if self._finished is not None:
            record["finished"], self._finished = self._finished, None
        if self._queries is not None and self.frame >= GPU_LAG:  # its query is the one the next frame reuses
            slot = (self.frame + 1) % len(self._queries)
            if self._timed_finished[slot]:  # a frame not finished: its query may span the wait for the next
                record["gpu"] = [self.frame - GPU_LAG, round(self._queries[slot].elapsed / 1e6, 3)]
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


def read_screen_into(ctx, size, buffer: bytearray) -> None:
    """`read_screen` into a buffer of the right length (RGB, rows packed)."""
    ctx.screen.read_into(buffer, viewport=(0, 0, *size), components=3, attachment=_BACK_BUFFER, alignment=1)


def count_brightened(previous: np.ndarray, image: np.ndarray, scratch=None) -> int:
    """Pixels (RGB bytes, flat) where any channel gained BRIGHTER or more from `previous` to `image`.
    `scratch`: two arrays of the images' length (uint8, bool) to work in, so a frame allocates nothing."""
    gained, hit = scratch if scratch is not None else (np.empty(len(image), np.uint8), np.empty(len(image), bool))
    np.minimum(image, previous, out=gained)
    np.subtract(image, gained, out=gained)  # what each channel gained, 0 where it lost (no wrapping)
    np.greater_equal(gained, BRIGHTER, out=hit)
    channels = hit.reshape(-1, 3)
    return int(np.count_nonzero(channels[:, 0] | channels[:, 1] | channels[:, 2]))


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

    def drawing(self):
        return UNTIMED

    def drawn(self, ctx, size) -> None:
        error = ctx.error  # reading it also clears it
        if error != "GL_NO_ERROR":
            self.errors += 1
            log.error("GL error in frame %d: %s", self.frame, error)
        self.frame += 1

    def finished(self) -> None:
        pass

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

    def drawing(self):
        for observer in self.observers:  # one times the GPU at most: queries cannot nest
            timer = observer.drawing()
            if timer is not UNTIMED:
                return timer
        return UNTIMED

    def drawn(self, ctx, size) -> None:
        for observer in self.observers:
            observer.drawn(ctx, size)

    def finished(self) -> None:
        for observer in self.observers:
            observer.finished()

    def swapped(self, status=None, scale: float = 1.0) -> None:
        for observer in self.observers:
            observer.swapped(status, scale)

    def close(self, status=None) -> None:
        for observer in self.observers:
            observer.close(status)


def observers_from_args(args, ctx=None, finishes_frames: bool = False) -> FrameObservers | None:
    """The observers `run`'s options ask for, or None (the loop then does nothing extra).
    `finishes_frames`: the governor runs, so the loop finishes frames (every one, or a sample) and the
    telemetry times the GPU."""
    observers = []
    if getattr(args, "telemetry", None):
        observers.append(Telemetry(args.telemetry, pixels=getattr(args, "telemetry_pixels", False),
                                   gpu_ctx=ctx if finishes_frames else None))
    if getattr(args, "gl_debug", False):
        observers.append(GLErrorCheck())
    return FrameObservers(observers) if observers else None
