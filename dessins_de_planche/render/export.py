"""Saving the picture on stage: the current canvas (and live marks) as a PNG at window size."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from dessins_de_planche.render.offline import write_png

log = logging.getLogger(__name__)


def pictures_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_pictures_dir()) / "Dessins de Planche"


def save_picture(scene, folder: str | Path | None = None, name: str | None = None) -> Path:
    """Write the scene's picture (no HUD, no overlays) to `folder` (default: the pictures folder)."""
    folder = Path(folder) if folder is not None else pictures_dir()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    path = folder / f"{name or scene.preset.name}_{stamp}.png"
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{name or scene.preset.name}_{stamp}_{number}.png"
    write_png(scene.read_canvas(), path)
    log.info("picture saved: %s", path)
    return path
