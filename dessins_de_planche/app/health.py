"""The health file: a small JSON that monitoring (and the kiosk supervisor) can read.

The frame loop only stores numbers (`frame()`); a thread writes the file about
once a second, and only when frames have advanced since the last write — so the
file's modification time is the heartbeat: it stops when the frames stop.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

WRITE_SECONDS = 1.0


def read(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class HealthFile:
    def __init__(self, path, interval: float = WRITE_SECONDS):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.interval = interval
        self.frames = 0
        self.state: dict = {}
        self._written_frames = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-file", daemon=True)
        self._thread.start()

    def frame(self, state_fn=None) -> None:
        """Per frame: count it. `state_fn` (called at most once a second) says what to report."""
        self.frames += 1
        if state_fn is not None and self.frames - self._written_frames > 0 and not self.state.get("_fresh"):
            self.state = {**state_fn(), "_fresh": True}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def _write(self) -> None:
        frames = self.frames
        if frames == self._written_frames:
            return  # no frame since the last write: let the heartbeat stop
        state = dict(self.state)
        state.pop("_fresh", None)
        self.state["_fresh"] = False
        record = {"pid": os.getpid(), "last_frame": time.time(), "frames": frames, **state}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, self.path)
            self._written_frames = frames
        except OSError:
            pass  # a full disk must not stop the show; the supervisor will notice the silence

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
