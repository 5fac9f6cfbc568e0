"""Playlists: presets in order, each for a while or until the next cue; and rotation on a timer.

    loop = true
    [[entry]]
    preset = "rosette"
    minutes = 4            # or seconds = 240; neither: stays until the next cue (→ or /ddp/cue)
    [[entry]]
    preset = "thread"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path


class PlaylistError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    preset: str
    seconds: float | None  # None: on cue


class Playlist:
    def __init__(self, entries: list[Entry], loop: bool = True):
        if not entries:
            raise PlaylistError("a playlist needs at least one entry")
        self.entries = entries
        self.loop = loop
        self.position = 0
        self.entered_at: float | None = None

    @property
    def current(self) -> Entry:
        return self.entries[self.position]

    def start(self, now: float) -> str:
        self.entered_at = now
        return self.current.preset

    def step(self, now: float, by: int = 1) -> str | None:
        """Move by `by` entries (a cue); None at the end of a playlist that does not loop."""
        position = self.position + by
        if not self.loop and not 0 <= position < len(self.entries):
            return None
        self.position = position % len(self.entries)
        self.entered_at = now
        return self.current.preset

    def tick(self, now: float) -> str | None:
        """The preset to switch to now that the current entry's time is up, else None."""
        seconds = self.current.seconds
        if seconds is None or self.entered_at is None or now - self.entered_at < seconds:
            return None
        return self.step(self.entered_at + seconds)  # on the schedule: late frames do not add up

    def remaining(self, now: float) -> float | None:
        if self.current.seconds is None or self.entered_at is None:
            return None
        return max(0.0, self.current.seconds - (now - self.entered_at))


def load(path, preset_names) -> Playlist:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlaylistError(f"{path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise PlaylistError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise PlaylistError(f"{path}: not UTF-8 text (byte {error.start}); save the file as UTF-8") from None
    entries = []
    tables = data.get("entry", [])
    if not isinstance(tables, list) or not all(isinstance(item, dict) for item in tables):
        raise PlaylistError(f"{path}: entry must be [[entry]] tables, e.g. [[entry]] preset = \"rosette\" minutes = 4")
    for number, item in enumerate(tables, 1):
        where = f"{path}: entry {number}"
        name = item.get("preset")
        if name not in preset_names:
            raise PlaylistError(f"{where}: no preset named {name!r}; the gallery has: {', '.join(preset_names)}")
        minutes = item.get("minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))):
            raise PlaylistError(f"{where}: a duration is a positive number of minutes or seconds")
        seconds = item.get("seconds", minutes * 60.0 if minutes is not None else None)
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or not 0 < seconds <= MAX_SECONDS):  # NaN and infinity fail too
            raise PlaylistError(f"{where}: a duration is a positive number of minutes or seconds "
                                f"(at most {MAX_SECONDS / 3600:.0f} hours)")
        entries.append(Entry(name, float(seconds) if seconds is not None else None))
    if not entries:
        raise PlaylistError(f"{path}: no [[entry]] tables; write [[entry]] preset = \"rosette\" minutes = 4")
    return Playlist(entries, loop=bool(data.get("loop", True)))


MAX_SECONDS = 7 * 24 * 3600.0  # one entry's time: a week (beyond, a typo or an infinity)


def rotation(preset_names, minutes: float) -> Playlist:
    """Every preset in turn, `minutes` each, forever (an installation's slow change)."""
    return Playlist([Entry(name, minutes * 60.0) for name in preset_names], loop=True)
