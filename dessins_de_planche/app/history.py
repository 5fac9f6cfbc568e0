"""Clear with a safety net: each tune's drawing is saved as a PNG before a clear, and the
last clear can be undone.

The saved copy of the canvas stays on the GPU (one texture copy, no read-back in
the frame); only the auto-save reads pixels, and its PNG is written on a thread.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import moderngl

log = logging.getLogger(__name__)


def default_autosave_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("dessins-de-planche")) / "drawings"


class CanvasHistory:
    def __init__(self, ctx: moderngl.Context, autosave_dir: Path | None):
        self.ctx = ctx
        self.autosave_dir = autosave_dir
        self._backup = None  # (texture, framebuffer) of the canvas before the last clear
        self.saved: list[Path] = []
        self._writers: list[threading.Thread] = []

    @property
    def can_undo(self) -> bool:
        return self._backup is not None

    def before_clear(self, scene, preset_name: str, worth_saving: bool) -> None:
        """Keep the canvas for undo, and save the tune's drawing if anything was drawn."""
        canvas = scene.canvas
        self._drop_backup()
        texture = self.ctx.texture(canvas.size, 4, dtype=canvas.texture.dtype)  # the canvas's own precision
        fbo = self.ctx.framebuffer(color_attachments=[texture])
        self.ctx.copy_framebuffer(fbo, canvas.fbo)
        self._backup = (texture, fbo)
        if worth_saving and self.autosave_dir is not None:
            self._save(scene.read_canvas(), preset_name)

    def undo(self, scene) -> bool:
        """Put the drawing from before the last clear back (False: nothing to undo)."""
        if self._backup is None:
            return False
        texture, fbo = self._backup
        canvas = scene.canvas
        if texture.size != canvas.size:  # resized since: resample through the canvas's own view
            canvas.show(canvas.fbo, source=texture, source_aspect=texture.size[0] / texture.size[1])
        else:
            self.ctx.copy_framebuffer(canvas.fbo, fbo)
        self._drop_backup()
        return True

    def _save(self, picture, preset_name: str) -> None:
        from dessins_de_planche.render.offline import write_png

        safe = re.sub(r"[^A-Za-z0-9_-]+", "-", preset_name)[:40] or "drawing"
        path = Path(self.autosave_dir) / f"{time.strftime('%Y-%m-%d_%H%M%S')}_{safe}.png"

        def write():
            try:
                write_png(picture, path)
                log.info("saved the drawing before clearing: %s", path)
                self.saved.append(path)
            except Exception as error:  # a full disk must not stop the show
                log.warning("could not save the drawing to %s: %s", path, error)

        writer = threading.Thread(target=write, name="autosave", daemon=True)
        writer.start()
        self._writers = [w for w in self._writers if w.is_alive()] + [writer]

    def wait(self, timeout: float = 5.0) -> None:
        for writer in self._writers:
            writer.join(timeout)

    def _drop_backup(self) -> None:
        if self._backup is not None:
            from dessins_de_planche.render.canvas import release_framebuffer

            texture, fbo = self._backup
            release_framebuffer(self.ctx, fbo)
            texture.release()
            self._backup = None

    def release(self) -> None:
        self.wait()
        self._drop_backup()
