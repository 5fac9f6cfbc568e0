"""Corner-pin setup, live: pick a corner of the projected picture and move it onto the wall's.

While it is on (key `w`), it takes the keyboard and the mouse: Tab picks the next
corner, the arrows move it (Shift: finer), Backspace puts it back, a click picks the
nearest corner and dragging moves it; `w` or Esc ends setup and saves the warp
(`--warp FILE`, else the display's own file in the config folder). The output pass
applies each change at once (`Output.set_warp`); the corners are marked on the picture.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dessins_de_planche.app import warp as warps
from dessins_de_planche.locale import N_, _

log = logging.getLogger("dessins_de_planche.app")

STEP = 0.005  # of the screen, per arrow press
FINE_STEP = 0.001
MARK_PIXELS = 12
LABELS = {"top_left": N_("top-left"), "top_right": N_("top-right"), "bottom_right": N_("bottom-right"),
          "bottom_left": N_("bottom-left")}


class CornerPinSetup:
    def __init__(self, output, path: Path):
        self.output = output
        self.path = Path(path)
        self.active = False
        self.corner = 0  # index into warps.CORNERS
        self._dragging = False

    @property
    def warp(self) -> warps.Warp:
        return self.output.warp or warps.Warp()

    def toggle(self) -> str | None:
        """Start, or end and save; returns what to tell the performer when it ends."""
        self.active = not self.active
        self._dragging = False
        if self.active:
            return None
        warps.save(self.warp, self.path)
        log.info("corner-pin saved to %s", self.path)
        return _("Corner-pin saved to {path}").format(path=self.path)

    def notice(self) -> str:
        x, y = getattr(self.warp, warps.CORNERS[self.corner])
        return _("Corner-pin: {corner} at {x:.3f}, {y:.3f} — Tab: next corner, arrows: move (Shift: finer), "
                 "Backspace: reset, w: save").format(corner=_(LABELS[warps.CORNERS[self.corner]]), x=x, y=y)

    def handle(self, event) -> bool:
        """Take an event while setup is on (True: it was ours)."""
        import pygame

        if event.type == pygame.KEYDOWN:
            name = warps.CORNERS[self.corner]
            step = FINE_STEP if event.mod & pygame.KMOD_SHIFT else STEP
            moves = {pygame.K_LEFT: (-step, 0.0), pygame.K_RIGHT: (step, 0.0),
                     pygame.K_UP: (0.0, -step), pygame.K_DOWN: (0.0, step)}
            if event.key == pygame.K_TAB:
                self.corner = (self.corner + 1) % len(warps.CORNERS)
            elif event.key in moves:
                self._apply(self.warp.moved(name, *moves[event.key]))
            elif event.key == pygame.K_BACKSPACE:
                self._apply(self.warp.reset(name))
            else:
                return False  # w and Esc end setup through the key table
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self.corner = self._nearest(self._fraction(event.pos))
            self._dragging = True
            return True
        if event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._dragging = False
            return True
        if event.type == pygame.MOUSEMOTION and self._dragging:
            x, y = self._fraction(event.pos)
            old = getattr(self.warp, warps.CORNERS[self.corner])
            self._apply(self.warp.moved(warps.CORNERS[self.corner], x - old[0], y - old[1]))
            return True
        return False

    def _apply(self, warp: warps.Warp) -> None:
        try:
            warp.check()
        except warps.WarpError:
            return  # a move that would fold the picture is not taken
        self.output.set_warp(warp)

    def _fraction(self, pos) -> tuple[float, float]:
        width, height = self.output.window_size
        return pos[0] / max(width, 1), pos[1] / max(height, 1)

    def _nearest(self, point) -> int:
        distances = [(getattr(self.warp, name)[0] - point[0]) ** 2 + (getattr(self.warp, name)[1] - point[1]) ** 2
                     for name in warps.CORNERS]
        return distances.index(min(distances))

    def draw(self, ctx, screen) -> None:
        """A square on each corner, the chosen one bright."""
        width, height = self.output.window_size
        for index, name in enumerate(warps.CORNERS):
            x, y = getattr(self.warp, name)
            px = int(round(x * width)) - MARK_PIXELS // 2
            py = int(round((1.0 - y) * height)) - MARK_PIXELS // 2  # GL counts rows from the bottom
            px, py = min(max(px, 0), width - MARK_PIXELS), min(max(py, 0), height - MARK_PIXELS)
            colour = (1.0, 0.85, 0.2, 1.0) if index == self.corner else (0.5, 0.5, 0.5, 1.0)
            screen.clear(*colour, viewport=(px, py, MARK_PIXELS, MARK_PIXELS))
