"""A session folder: `events.jsonl`, one JSON object a line.

The first line says what the session is (`"type": "session"`, its zones, when it
started); then one line per record the show received, in the order it received
them: taps are the one tap record of `events.tap_to_dict` (times in seconds from
the session's start) plus `tap_id` and `refine` (0 a tap, 1 its refinement, 2 its
withdrawal: `events.RECORD_*`), so follow-up records replay as they came; MIDI
controls are `"type": "control"`.

The file keeps every record as it came, so a replay is the show as it was: a tap
the detector withdrew is held back and taken away again, unseen, as it was live.
What is read from a session as a list of taps (`Session.final_taps`, `render`'s
count) holds the taps that stood, with how many were withdrawn beside it.

Writing happens on a thread: the render loop hands records over and never waits
on the disk. A full disk (or any write error) ends the recording cleanly and
says so; the show goes on.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dessins_de_planche.events import (CONTROL_DTYPE, KIND_NAMES, RECORD_NAMES, SOURCE_NAMES, TAP_DTYPE, ZONE_UNCHANGED,
                                       TapRecordsHeld, tap_to_dict)

log = logging.getLogger(__name__)

EVENTS = "events.jsonl"
FORMAT = 1
CONTROL_TYPES = {1: "cc", 2: "program", 3: "note_off"}


def is_session(path) -> bool:
    return Path(path).is_dir() and (Path(path) / EVENTS).is_file()


class SessionWriter:
    def __init__(self, folder, zone_names, started: float, preset: str = ""):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / EVENTS
        self.zone_names = tuple(zone_names)
        self.started = float(started)
        self.error = ""  # why the recording stopped, if it did
        self.lines = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._file = open(self.path, "w", encoding="utf-8")
        self._queue.put(json.dumps({"type": "session", "format": FORMAT, "zones": list(self.zone_names),
                                    "started": round(self.started, 6), "preset": preset,
                                    "date": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread.start()
        log.info("recording the session to %s", self.path)

    @property
    def active(self) -> bool:
        return not self.error and self._file is not None

    def add_taps(self, taps: np.ndarray) -> None:
        if not self.active or not len(taps):
            return
        for record in taps:
            line = {"type": "tap", **tap_to_dict(record, self.zone_names)}
            line["time"] = round(float(record["time"]) - self.started, 6)
            line["detected_at"] = round(float(record["detected_at"]) - self.started, 6)
            line["tap_id"] = int(record["tap_id"])
            line["refine"] = int(record["refine"])
            self._queue.put(line)

    def add_controls(self, controls: np.ndarray) -> None:
        if not self.active or not len(controls):
            return
        for record in controls:
            self._queue.put({"type": "control", "time": round(float(record["time"]) - self.started, 6),
                             "control": CONTROL_TYPES.get(int(record["type"]), str(int(record["type"]))),
                             "channel": int(record["channel"]), "number": int(record["number"]),
                             "value": int(record["value"])})

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            if self.error:
                continue
            try:
                self._file.write((item if isinstance(item, str) else json.dumps(item)) + "\n")
                self.lines += 1
                if self._queue.empty():
                    self._file.flush()
            except OSError as error:
                self._fail(error)
        self._close_file()

    def _fail(self, error: OSError) -> None:
        self.error = f"recording stopped: {error.strerror or error} ({self.path})"
        log.error("%s; the show goes on", self.error)
        self._close_file()
        self._cut_to_whole_lines()

    def _cut_to_whole_lines(self) -> None:
        """A write cut short by a full disk leaves half a line: drop it, so every line left is a record."""
        try:
            with open(self.path, "r+b") as file:
                end = file.seek(0, 2)
                tail = 0
                while end > 0:
                    start = max(0, end - 65536)
                    file.seek(start)
                    chunk = file.read(end - start)
                    if b"\n" in chunk:
                        tail = start + chunk.rindex(b"\n") + 1
                        break
                    end = start
                file.truncate(tail)
        except OSError as error:  # the file may be gone or unreachable too: nothing more to save
            log.warning("recording: could not trim the last, unfinished line of %s: %s", self.path, error)

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError as error:  # the last flush can fail on a full disk too
                if not self.error:
                    self.error = f"recording stopped: {error.strerror or error} ({self.path})"
                    log.error("%s", self.error)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5.0)


@dataclass
class Session(TapRecordsHeld):
    """A recorded session: its header, its taps (times from the session start) and controls."""

    header: dict
    taps: np.ndarray  # every tap record as it came, follow-ups (refine, withdraw) included
    controls: np.ndarray
    tap_times: np.ndarray  # when each tap record was received (its detected_at): the replay order
    duration: float

    @property
    def zone_names(self) -> tuple[str, ...]:
        return tuple(self.header.get("zones", ()))


def load_session(folder, zone_names=None) -> Session:
    """Read a session folder; `zone_names` is the table the records' `zone` will index
    (default: the session's own). Errors name the file and line."""
    path = Path(folder) / EVENTS if Path(folder).is_dir() else Path(folder)
    header: dict = {}
    taps, controls = [], []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                kind = item.get("type", "tap")
                if kind == "session":
                    header = item
                elif kind == "tap":
                    taps.append(item)
                elif kind == "control":
                    controls.append(item)
            except (ValueError, AttributeError) as error:
                raise ValueError(f"{path}:{number}: not a session record ({error})") from None
    table = list(zone_names or header.get("zones") or ())
    tap_array = np.zeros(len(taps), TAP_DTYPE)
    for i, item in enumerate(taps):
        try:
            zone = str(item["zone"])
            if zone not in table:
                table.append(zone)
            record = tap_array[i]
            record["time"] = float(item["time"])
            record["detected_at"] = float(item.get("detected_at", item["time"]))
            record["velocity"] = float(item.get("velocity", 1.0))
            record["tap_id"] = int(item.get("tap_id", i))
            record["channel"] = int(item.get("channel", 1))
            record["source"] = SOURCE_NAMES.index(item.get("source", "audio"))
            record["zone"] = table.index(zone)
            record["kind"] = KIND_NAMES.index(item.get("kind", "unknown"))
            refine = int(item.get("refine", 0))
            if not 0 <= refine < len(RECORD_NAMES):
                raise ValueError(f"refine is {refine}, expected 0 (a tap), 1 (a refinement) or 2 (a withdrawal)")
            record["refine"] = refine
            _check_seconds(record)
            if len(table) > ZONE_UNCHANGED:
                raise ValueError(f"more than {ZONE_UNCHANGED} zones")
        except (KeyError, ValueError, TypeError, OverflowError) as error:  # a file from anywhere: one line
            raise ValueError(f"{path}: tap {i + 1}: {error}") from None
    names = {v: k for k, v in CONTROL_TYPES.items()}
    control_array = np.zeros(len(controls), CONTROL_DTYPE)
    for i, item in enumerate(controls):
        try:
            control_array[i]["time"] = float(item["time"])
            control_array[i]["type"] = names.get(item.get("control"), 0)
            control_array[i]["channel"] = int(item.get("channel", 0))
            control_array[i]["number"] = int(item.get("number", 0))
            control_array[i]["value"] = int(item.get("value", 0))
            _check_seconds(control_array[i], ("time",))
        except (KeyError, ValueError, TypeError, OverflowError) as error:
            raise ValueError(f"{path}: control {i + 1}: {error}") from None
    header = {**header, "zones": table}
    duration = max([float(tap_array["detected_at"].max()) if len(tap_array) else 0.0,
                    float(control_array["time"].max()) if len(control_array) else 0.0])
    return Session(header, tap_array, control_array, tap_array["detected_at"].copy(), duration)


MAX_SESSION_S = 31 * 24 * 3600.0  # a session read back is a month at most (a kiosk may record for weeks)


def _check_seconds(record, keys=("time", "detected_at")) -> None:
    for key in keys:
        value = float(record[key])
        if not -60.0 <= value <= MAX_SESSION_S:  # NaN fails this too
            raise ValueError(f"{key} {value} is not seconds within the session (-60..{MAX_SESSION_S:.0f})")


class SessionPlayer:
    """Hands a session's records back at the pace they came, on the master clock from `start`."""

    def __init__(self, session: Session, start: float, loop: bool = False):
        self.session = session
        self.loop = loop
        self.start = float(start)
        self._tap = self._control = 0
        self.finished = False

    def due(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Taps and controls received (in the recording) by `now`, their times on the master clock."""
        s = self.session
        elapsed = now - self.start
        upto = int(np.searchsorted(s.tap_times, elapsed, side="right"))
        taps = s.taps[self._tap:upto].copy()
        self._tap = upto
        cupto = int(np.searchsorted(s.controls["time"], elapsed, side="right"))
        controls = s.controls[self._control:cupto].copy()
        self._control = cupto
        taps["time"] += self.start
        taps["detected_at"] += self.start
        controls["time"] += self.start
        if self._tap >= len(s.taps) and self._control >= len(s.controls) and elapsed > s.duration:
            if self.loop and s.duration > 0:
                self.start += s.duration + 1.0
                self._tap = self._control = 0
            else:
                self.finished = True
        return taps, controls
