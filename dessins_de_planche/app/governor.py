"""The frame-time governor: the show draws at a share of the output's resolution (1.0 down to 0.5)
that goes down when frames run long and back up when there is headroom.

What it watches is a frame's work: from the top of the loop until the frame is finished
(the loop finishes the GL work of a frame the governor measures before the swap, so a display's
vsync wait is not counted as work). Decisions are taken once a second, never per frame, from the
median of that second's frames: down when the median is over WORK_HIGH of the frame's budget
(by as much as the pixels' share of the cost suggests, at most MAX_DOWN a second, so the picture
softens over seconds rather than at once), up one small step only after
UP_SECONDS in a row under WORK_LOW (the first START_SECONDS are not judged: the gallery's
looks are warmed then). The bands are wide enough apart that a step up cannot
land over the top one (a step of 1/16 at 0.5 is ~27 % more pixels), so it does not oscillate;
the one frame that resamples the canvas after a change does not move a second's median.

Measuring a frame's work means finishing it (glFinish) before the swap, which makes the swap wait
for the GPU: on a GPU that idles between frames and clocks down, several milliseconds of a tap's
way to the screen. So no frame of the start-up is finished (none is judged), and while the scale
sits at MAX_SCALE with clear headroom (every frame measured
for CALM_SECONDS under HEADROOM of the budget, no swap-to-swap interval over LATE budgets), only
one frame in SAMPLE_EVERY is finished and measured, never one that brings taps (the loop asks
`finishes(taps)` after draining, before drawing; a sample due on a tap's frame waits for the next
frame without one). The loop flushes each frame it does not finish: where the swap does not (SDL's
offscreen driver, an EGL pbuffer), NVIDIA's driver kept those frames queued, the GPU idle, until the
next sample's finish ran them all (read from an H200 run's 30 ms p99: 11 frames × 2.7 ms at its idle
clock). Every frame is finished again as soon as a measured frame is over HEADROOM
or LATE_IN_A_ROW intervals are over LATE budgets (frames not measured that ran long, the GPU's
queue full; a single late one is a stall of the machine, and only delays the sampling), and
the decision second starts again from there (without that sample: its finish may have waited for
the frames before it as well), so a heavy look still goes down a second after
the headroom went, from frames all measured.

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
HEADROOM = 0.5  # a measured frame's work under this share of the budget: clear headroom
CALM_SECONDS = 0.5  # every frame measured and in headroom this long at MAX_SCALE: sample from then on
SAMPLE_EVERY = 12  # while sampling, one frame in this many is finished and measured (5 a second at 60)
LATE = 1.5  # a swap-to-swap interval over this many budgets: a frame ran long
LATE_IN_A_ROW = 2  # this many late intervals in a row while sampling: measure every frame (one is a stall)


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
    """Holds the render scale. Once a frame: `finishes(taps)` before drawing (finish and measure this
    one?), `frame(now, work)` for a frame finished (True when the scale changed), `swapped(now)`."""

    def __init__(self, budget: float, fixed: float | None = None):
        self.budget = float(budget)  # s a frame may take: 1 / the frame rate aimed at
        self.fixed = fixed
        self.scale = MAX_SCALE if fixed is None else float(fixed)
        self._works: list[float] = []
        self._since: float | None = None
        self._low_seconds = 0
        self.changes = 0
        self.sampling = False  # only one frame in SAMPLE_EVERY finished and measured
        self._calm_since: float | None = None  # since when every measured frame and interval had headroom
        self._unmeasured = 0  # frames since the last one measured, while sampling
        self._swap: float | None = None
        self._late = 0  # swap-to-swap intervals over LATE budgets in a row

    @property
    def active(self) -> bool:
        return self.fixed is None

    def finishes(self, taps: bool = False) -> bool:
        """Asked before a frame is drawn: finish it and measure its work? None in the first START_SECONDS
        (not judged), then every frame; while sampling, one in SAMPLE_EVERY and never one that brings
        taps (`taps`)."""
        if not self.active or self._since is None or self._swap is None or self._swap < self._since:
            return False
        if not self.sampling:
            return True
        if self._unmeasured + 1 >= SAMPLE_EVERY and not taps:
            self._unmeasured = 0
            return True
        self._unmeasured += 1
        return False

    def swapped(self, now: float) -> None:
        """After each frame's swap: an interval over LATE budgets means a frame ran long, measured or not.
        One breaks the calm that sampling waits for; one alone does not end sampling (the machine stalled
        the process once: 50-90 ms every few seconds on the 2-core machine), LATE_IN_A_ROW do (a look
        too heavy for the machine, or the GPU's queue full, makes every interval late)."""
        if not self.active:
            return
        if self._since is None:  # the first frame: the start-up's START_SECONDS begin
            self._since = now + START_SECONDS
        if self._swap is not None and now - self._swap > LATE * self.budget:
            self._calm_since = None
            self._late += 1
            if self._late >= LATE_IN_A_ROW:
                self._measure_every_frame(now)
        else:
            self._late = 0
        self._swap = now

    def frame(self, now: float, work: float) -> bool:
        """A frame finished and measured: `work` from the loop's top to the finish."""
        if not self.active:
            return False
        if self._since is None:
            self._since = now + START_SECONDS
        if now < self._since:
            return False
        if work > HEADROOM * self.budget:
            self._calm_since = None
            sampled = self.sampling
            self._measure_every_frame(now)
            if sampled:  # a sample's finish may have waited for the frames before it too: not judged
                return False
        elif self._calm_since is None:
            self._calm_since = now
        elif not self.sampling and self.scale == MAX_SCALE and now - self._calm_since >= CALM_SECONDS:
            self.sampling, self._unmeasured = True, 0
        self._works.append(work)
        if now - self._since < DECIDE_SECONDS:
            return False
        works, self._works, self._since = sorted(self._works), [], now
        return self.decide(works[len(works) // 2] / self.budget)

    def _measure_every_frame(self, now: float) -> None:
        """The headroom is gone: every frame finished and measured, and the second judged from now on
        (the frames sampled before it were measured while there was headroom)."""
        if self.sampling:
            self.sampling = False
            if self._since is not None and now >= self._since:
                self._works, self._since = [], now

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
        self._calm_since = None  # headroom at the old scale says nothing of the new one
        return True
