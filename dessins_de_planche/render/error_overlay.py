"""The on-screen report of a preset or shader that failed to load: the performer sees it, the show goes on.

It names the file and says what is wrong (the loader's and the shader compiler's
own messages: key path or file:line, the line itself, a "did you mean"); the
running look stays underneath. It goes away when the file is fixed and saved, or
when the performer dismisses it.
"""

from __future__ import annotations

import textwrap

WIDTH_CHARS = 110
MAX_LINES = 14


class ErrorOverlay:
    def __init__(self, text):
        self.text = text  # a render.text.TextOverlay
        self.errors: dict[str, list[str]] = {}  # file -> lines

    @property
    def visible(self) -> bool:
        return bool(self.errors)

    def report(self, file: str, message: str) -> None:
        lines = []
        for raw in str(message).splitlines():
            lines += textwrap.wrap(raw, WIDTH_CHARS, subsequent_indent="    ") or [""]
        self.errors[str(file)] = lines

    def resolve(self, file: str) -> None:
        """The file loads again: its report goes."""
        self.errors.pop(str(file), None)

    def dismiss(self) -> bool:
        """Hide every report; True if there was one to hide."""
        shown = self.visible
        self.errors.clear()
        return shown

    def lines(self) -> list[str]:
        lines = []
        for file, said in self.errors.items():
            lines.append(f"Not loaded: {file}")
            lines += ["  " + line for line in said]
        lines = lines[:MAX_LINES]
        lines.append("The running look stays. Fix the file and save, or press E to hide this.")
        return lines

    def draw(self, target) -> None:
        if not self.errors:
            return
        lines = self.lines()
        size_px, gap = 18, 1.25
        width = min(target.viewport[2] - 32, max(self.text.measure(line, size_px)[0] for line in lines) + 32)
        height = int(len(lines) * size_px * gap) + 24
        self.text.painter.rect(target, (16, 16, width, height), (0.12, 0.02, 0.03, 0.86))
        self.text.painter.rect(target, (16, 16, 4, height), (0.95, 0.3, 0.25, 1.0))
        self.text.draw(lines, target, (32, 28), size_px=size_px, color=(1.0, 0.93, 0.9, 1.0), line_gap=gap)
