"""What the performer reads over the picture: the HUD (state of the show), the help overlay
(every key), and discreet notices (a device lost, a recording stopped, MIDI learn).

Everything here is text lines and rectangles; the words are `hud_text.py`'s, through gettext.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.render.soundcheck import level_to_height

PANEL = (0.0, 0.0, 0.0, 0.66)
TEXT = (0.92, 0.92, 0.92, 1.0)
DIM = (0.7, 0.7, 0.7, 0.85)
WARN = (1.0, 0.75, 0.35, 1.0)
LINE_PX = 18


class Overlays:
    def __init__(self, ctx, programs=None):
        from dessins_de_planche.render.text import TextOverlay

        self.text = TextOverlay(ctx, programs)
        self.painter = self.text.painter

    def _panel(self, target, lines, x, y, size_px=LINE_PX, min_width=0):
        width = max([self.text.measure(line, size_px)[0] for line in lines] + [min_width]) + 24
        height = int(len(lines) * size_px * 1.2) + 16
        self.painter.rect(target, (x, y, width, height), PANEL)
        self.text.draw(lines, target, (x + 12, y + 8), size_px=size_px, color=TEXT)
        return width, height

    def hud(self, target, lines, meters) -> None:
        """`meters`: [(label, rms level 0..1, seconds since its last tap)] per input channel."""
        width, height = self._panel(target, lines, 12, 12, min_width=60 + 34 * len(meters))
        if not meters:
            return
        top = 12 + height + 6
        bar_h = 60
        self.painter.rect(target, (12, top, 24 + 34 * len(meters), bar_h + 40), PANEL)
        fills = level_to_height(np.array([m[1] for m in meters], np.float64))
        for i, (label, _level, since_tap) in enumerate(meters):
            x = 24 + 34 * i
            fill = float(fills[i]) * bar_h
            self.painter.rect(target, (x, top + 8, 18, bar_h), (0.18, 0.18, 0.2, 1.0))
            if fill > 0.5:
                self.painter.rect(target, (x, top + 8 + bar_h - fill, 18, fill), (0.35, 0.85, 0.5, 1.0))
            glow = float(np.exp(-max(since_tap, 0.0) / 0.25))
            self.painter.rect(target, (x, top + 12 + bar_h, 18, 6), (0.2 + 0.8 * glow, 0.2 + 0.7 * glow, 0.2, 1.0))
            self.text.draw([label], target, (x + 2, top + 20 + bar_h), size_px=14, color=DIM)

    def help(self, target, rows, title) -> None:
        """`rows`: [(keys, what they do)]; a two-column panel in the middle of the screen."""
        width, height = target.viewport[2:]
        size = max(10, min(LINE_PX, int((height - 48) / ((len(rows) + 2) * 1.2))))  # fits a small window
        key_w = max(self.text.measure(k, size)[0] for k, _ in rows) + 24
        text_w = max(self.text.measure(t, size)[0] for _, t in rows)
        panel_w = key_w + text_w + 32
        panel_h = int((len(rows) + 2) * size * 1.2) + 24
        x = max(8, (width - panel_w) // 2)
        y = max(8, (height - panel_h) // 2)
        self.painter.rect(target, (x, y, panel_w, panel_h), (0.0, 0.0, 0.0, 0.82))
        self.text.draw([title], target, (x + 16, y + 12), size_px=size + 2, color=TEXT)
        top = y + 12 + int(size * 2.2)
        self.text.draw([k for k, _ in rows], target, (x + 16, top), size_px=size, color=WARN)
        self.text.draw([t for _, t in rows], target, (x + 16 + key_w, top), size_px=size, color=TEXT)

    def notices(self, target, lines) -> None:
        """Small lines at the bottom right: present, not loud."""
        if not lines:
            return
        width, height = target.viewport[2:]
        size = 16
        y = height - 12 - int(len(lines) * size * 1.2)
        for line in lines:
            w, _ = self.text.measure(line, size)
            self.text.draw([line], target, (width - w - 14, y), size_px=size, color=WARN)
            y += int(size * 1.2)


def format_pattern(pattern: str | None) -> str:
    """`TempoTracker.pattern` (its name for what the feet keep doing, or None) as the HUD shows it."""
    return pattern or "–"
