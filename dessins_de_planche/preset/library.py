"""The presets a show can use: the gallery, the user's folder and any `--presets DIR`, kept live.

Folders, later ones overriding earlier names:
1. the gallery (in the wheel, read-only; in a clone, the repository's `presets/`),
2. the user's presets: `platformdirs.user_data_dir("dessins-de-planche")/presets`,
3. folders named with `run --presets DIR`.

`reload(path)` re-reads one file after an edit and returns the new preset or the
error; the caller decides what to swap (build, then swap: see `render/live_edit.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset.loader import PresetError, load_preset

log = logging.getLogger(__name__)

APP_NAME = "dessins-de-planche"


def user_presets_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "presets"


def preset_folders(extra: Iterable[str | Path] = ()) -> list[Path]:
    folders = [presets_dir(), user_presets_dir(), *(Path(f) for f in extra)]
    unique: list[Path] = []
    for folder in folders:
        if folder.resolve() not in [u.resolve() for u in unique]:
            unique.append(folder)
    return unique


class PresetLibrary:
    """Presets by name, the file each came from, and the files that failed (with why)."""

    def __init__(self, folders: Iterable[str | Path]):
        self.folders = [Path(f) for f in folders]
        self.presets: dict[str, object] = {}
        self.file_of: dict[str, Path] = {}
        self.errors: dict[Path, PresetError] = {}
        for folder in self.folders:
            for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
                self.reload(path)

    def ordered(self) -> list:
        return sorted(self.presets.values(), key=lambda preset: (preset.order, preset.name))

    def name_at(self, path: Path) -> str | None:
        path = Path(path).resolve()
        for name, file in self.file_of.items():
            if file.resolve() == path:
                return name
        return None

    def reload(self, path: str | Path):
        """Read one preset file again: the Preset, or the PresetError (the old preset stays listed)."""
        path = Path(path)
        try:
            preset = load_preset(path)
        except PresetError as error:
            self.errors[path] = error
            log.warning("preset: %s", error)
            return error
        self.errors.pop(path, None)
        previous = self.name_at(path)
        if previous is not None and previous != preset.name:  # renamed inside the file
            self.presets.pop(previous, None)
            self.file_of.pop(previous, None)
        self.presets[preset.name] = preset
        self.file_of[preset.name] = path
        return preset

    def forget(self, path: str | Path) -> str | None:
        """A deleted file: its preset leaves the library (the caller keeps it on stage if it runs)."""
        name = self.name_at(Path(path))
        if name is not None:
            self.presets.pop(name, None)
            self.file_of.pop(name, None)
        self.errors.pop(Path(path), None)
        return name
