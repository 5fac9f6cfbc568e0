"""Where the gallery (shaders and presets) lives: in the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def gallery_root() -> Path:
    """The folder holding `shaders/` and `presets/`.

    A wheel carries them inside the package (`dessins_de_planche/gallery`); a clone
    (editable install or plain checkout) uses the repository's own folders, so edits
    there are what runs.
    """
    packaged = _PACKAGE / "gallery"
    if (packaged / "presets").is_dir():
        return packaged
    return _PACKAGE.parent


def shaders_dir() -> Path:
    return gallery_root() / "shaders"


def presets_dir() -> Path:
    return gallery_root() / "presets"
