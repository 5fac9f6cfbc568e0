"""The frame-time governor: the show draws at a share of the output's resolution (1.0 down to 0.5)
that goes down when frames run long and back up when there is headroom.

What it watches is each frame's work: from the top of the loop until the frame is finished
(the loop finishes the GL work before the swap while the governor runs, so a display's vsync
wait is not counted as work). Decisions are taken once a second, never per frame, from the
median of that second's frames: down when the median is over WORK_HIGH of the frame's budget
(by as much as the pixels' share of the cost suggests, at most MAX_DOWN a second, so the picture
softens over seconds rather than at once), up one small step only after
UP_SECONDS in a row under WORK_LOW (the first START_SECONDS are not judged: the gallery's
looks are warmed then). The bands are wide enough apart that a step up cannot
land over the top one (a step of 1/16 at 0.5 is ~27 % more pixels), so it does not oscillate;
the one frame that resamples the canvas after a change does not move a second's median.

The canvas is kept when the scale moves: it is resampled into the new size (as on a window
resize), and the output pass samples the picture up to the screen, so there is no jump.
`run --render-scale 1` turns the governor off; any other number fixes the scale there.
"""

from __future__ import annotations

import math

MIN_SCALE = 0.5
MAX_SCALE = 1.0
STEP = 1.0 / 16.0  # scales move on this grid
DECIDE_SECONDS = 1.0
WORK_HIGH = 0.85  # median work over this share of the frame's budget: go down
WORK_LOW = 0.5  # under this share for UP_SECONDS in a row: go up one step
UP_SECONDS = 3
AIM = 0.7  # going down, aim the median work at this share of the budget
MAX_DOWN = 2 * STEP  # the most the scale goes down in one decision
START_SECONDS = 2.0  # not judged: the first frames compile and warm the gallery's other looks


def snap(scale: float) -> float:
    """On the STEP grid, within MIN_SCALE..MAX_SCALE."""
    return min(MAX_SCALE, max(MIN_SCALE, round(scale / STEP) * STEP))


def parse_render_scale(text: str) -> float | None:
    """`auto` (None: governed) or a fixed share of the output, 0.5..1."""
    if str(text).strip().lower() == "auto":
        return None
    value = float(text)
    if not (MIN_SCALE <= value <= MAX_SCALE):
        raise ValueError(f"a render scale is between {MIN_SCALE} and {MAX_SCALE}, or auto (got {text})")
    return value


class Governor:
    """Holds the render scale; `frame(now, work)` once a frame, True when the scale changed."""

    def __init__(self, budget: float, fixed: float | None = None):
        self.budget = float(budget)  # s a frame may take: 1 / the frame rate aimed at
        self.fixed = fixed
        self.scale = MAX_SCALE if fixed is None else float(fixed)
        self._works: list[float] = []
        self._since: float | None = None
        self._low_seconds = 0
        self.changes = 0

    @property
    def active(self) -> bool:
        return self.fixed is None

    def frame(self, now: float, work: float) -> bool:
        if not self.active:
            return False
        if self._since is None:
            self._since = now + START_SECONDS
        if now < self._since:
            return False
        self._works.append(work)
        if now - self._since < DECIDE_SECONDS:
            return False
        works, self._works, self._since = sorted(self._works), [], now
        return self.decide(works[len(works) // 2] / self.budget)

    def decide(self, load: float) -> bool:
        """One second's median work as a share of the budget -> maybe a new scale."""
        scale = self.scale
        if load > WORK_HIGH and scale > MIN_SCALE:
            self._low_seconds = 0
            # most of a frame's cost is per pixel: the pixels go with the scale squared
            wanted = scale * math.sqrt(AIM / load)
            new = min(snap(math.floor(wanted / STEP) * STEP), scale - STEP)
            return self._set(max(new, scale - MAX_DOWN, MIN_SCALE))
        if load < WORK_LOW and scale < MAX_SCALE:
            self._low_seconds += 1
            if self._low_seconds >= UP_SECONDS:
                self._low_seconds = 0
                return self._set(snap(scale + STEP))
            return False
        self._low_seconds = 0
        return False

    def _set(self, scale: float) -> bool:
        if scale == self.scale:
            return False
        self.scale = scale
        self.changes += 1
        return True
