"""Noticing edited files cheaply: poll the modification time and size of a few folders' files.

Called from the frame loop at most every `interval` seconds (one `os.scandir` per
folder, some microseconds), so a saved preset or shader is seen well within half a
second without a watcher thread or a new dependency. Editors that save by writing
a new file and renaming it are seen too (the entry's stamp changes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

SUFFIXES = (".toml", ".glsl")


class FileWatcher:
    def __init__(self, folders: Iterable[str | Path], suffixes=SUFFIXES, interval: float = 0.1, clock=time.monotonic):
        self.folders = [Path(f) for f in folders]
        self.suffixes = tuple(suffixes)
        self.interval = interval
        self.clock = clock
        self._next = 0.0
        self._stamps = self._scan()

    def add(self, folder: str | Path) -> None:
        folder = Path(folder)
        if folder not in self.folders:
            self.folders.append(folder)
            self._stamps.update(self._scan([folder]))

    def _scan(self, folders=None) -> dict[Path, tuple[int, int]]:
        stamps = {}
        for folder in folders or self.folders:
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name.endswith(self.suffixes) and not entry.name.startswith("."):
                            try:
                                info = entry.stat()
                            except OSError:
                                continue
                            stamps[Path(entry.path)] = (info.st_mtime_ns, info.st_size)
            except OSError:  # a folder that does not exist (yet) holds nothing
                continue
        return stamps

    def poll(self, force: bool = False) -> set[Path]:
        """Files added, changed or removed since the last poll (an empty set between intervals)."""
        now = self.clock()
        if not force and now < self._next:
            return set()
        self._next = now + self.interval
        stamps = self._scan()
        changed = {path for path, stamp in stamps.items() if self._stamps.get(path) != stamp}
        changed |= set(self._stamps) - set(stamps)
        self._stamps = stamps
        return changed
