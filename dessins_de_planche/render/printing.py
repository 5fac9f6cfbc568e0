"""A print of the whole tune: every tap of a take kept, laid out and fitted to the page.

The live looks are made for a screen where the recent past matters: the canvas
fades, drifts and slides, and mappings of `tune_time` reach their end after a
minute or so. A print is about the whole tune, so it draws from the look made
for paper (`print_preset`): no fade, no drift, no flash; a mapping from
`tune_time` runs over the take's own length (`tune_fraction`); the preset's
`[print]` table may set other values, leave layers out, and choose the margin.

Two passes over the same taps. The first, on a canvas a few dozen pixels wide,
only collects the marks (`svg.Drawing`), to learn the drawing's extent; from it
comes the `Layout`: a sliding look (a score) is cut into rows like the lines of
a page, and everything is scaled and centred onto the page within its margin.
The second pass draws at the page's size with every mark placed by the layout.

Neither pass needs every frame of the show. Taps are handed over in the same
batches as a full-rate replay (so the tempo tracker hears them alike), but the
scene is stepped only as the look needs: marks alone every tenth of a second (a
lane's beat lines are written then; no full-screen pass is needed, since
nothing fades or drifts), a canvas that bleeds or warps at `effect_step`,
coarser for bigger pages and longer takes (`tests/test_print.py` checks the
result against a full-rate print). The line of text under it: `render.caption`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from dessins_de_planche.preset.layer_kinds import ShaderLayer
from dessins_de_planche.preset.maps import ColourMapping, Mapping
from dessins_de_planche.preset.shapes import GLYPHS_FROM
from dessins_de_planche.render.caption import draw_caption

FEED_STEP = 1.0 / 60.0  # taps reach the scene in the batches a 60 Hz replay would hand over
MARKS_STEP = 0.1  # s between frames for a look of marks alone (a lane's beat lines are written then)
LAYOUT_HEIGHT = 48  # pixels: the first pass's canvas, which only collects marks
_FULL_HD = 1920 * 1080
PRINT_ABOVE = 3840 * 2160  # pages bigger than 4K are prints unless asked otherwise
PASS_BUDGET = 32 * 3840 * 2160  # pixel-passes of a print's feedback (32 at 4K: some 8 CPU-s of blur here)
MAX_PASSES = 512


def effect_step(size, seconds: float) -> float:
    """Seconds between feedback passes of a look whose canvas bleeds, warps or turns, for a take of
    `seconds`: each pass is a full-screen shader, so a print spends PASS_BUDGET pixel-passes on them
    (some 128 passes at full HD, 32 at 4K), at most MAX_PASSES on a small page, never more than one
    every 1/60 s."""
    pixels = int(size[0]) * int(size[1])
    seconds = max(float(seconds), 0.0)
    return float(max(1.0 / 60.0, seconds / MAX_PASSES, seconds * pixels / PASS_BUDGET))


def needs_frames(preset) -> bool:
    """Whether the look's canvas changes between taps (bleeds, warps, turns its hue, or a custom shader
    rewrites it): then it is stepped at `effect_step`, else only every MARKS_STEP."""
    rewrites = any(isinstance(layer, ShaderLayer) and layer.target == "canvas" for layer in preset.layers)
    return preset.canvas.effects or rewrites


# ---- the look made for paper ---------------------------------------------------------------------

def _over_the_take(mapping):
    """A mapping from `tune_time` made to run over the whole take: its domain's end becomes the take's."""
    if not isinstance(mapping, (Mapping, ColourMapping)) or mapping.source != "tune_time" or mapping.expr:
        return mapping
    low, high = mapping.input_domain()
    if high <= 0 or low >= high:
        return mapping
    return mapping.model_copy(update={"source": "tune_fraction", "domain": (max(low, 0.0) / high, 1.0)})


def print_preset(preset):
    """The look as printed: its `print.set` values in place, `print.skip` layers left out, every tap kept
    (no decay), nothing drifting (the layout places what a slide would have carried), no arrival flash,
    and mappings from `tune_time` over the take's own length."""
    printed = preset.printed()
    layers = []
    for index, layer in enumerate(printed.layers):
        if index in printed.print.skip:
            continue
        update = {}
        mapping_model = getattr(layer, "map", None)
        if mapping_model is not None:
            changed = {name: _over_the_take(value) for name, value in mapping_model if value is not None}
            update["map"] = mapping_model.model_copy(update=changed)
        if "glow" in type(layer).model_fields:
            update["glow"] = 0.0
        layers.append(layer.model_copy(update=update))
    canvas = printed.canvas
    drift = canvas.drift.model_copy(update={"zoom": 1.0, "rotate": 0.0, "shift": (0.0, 0.0)})
    canvas = canvas.model_copy(update={"decay": 0.0, "drift": drift, "clean": True,
                                       **({"background": printed.print.background} if printed.print.background
                                          else {})})
    result = printed.model_copy(update={"canvas": canvas, "layers": layers, "fade": 0.0, "controls": {}})
    result.set_folder(preset.folder)
    return result


# ---- where the marks go on the page --------------------------------------------------------------

def _reach(marks: np.ndarray) -> np.ndarray:
    """How far a mark's ink reaches past its segment (glyphs reach past their size)."""
    return np.where(marks["shape"] > GLYPHS_FROM - 0.5, 1.6, 1.0) * marks["width"]


@dataclass(frozen=True)
class Layout:
    """Where a mark of the live look lands on the page: zoomed and turned by the canvas's drift as far as
    its age at `end` says (when the print keeps the drift), cut into rows along the canvas's slide (a
    score's lines, oldest first), then scaled by `scale` and moved by `offset` (scene units)."""

    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)
    shift: tuple[float, float] = (0.0, 0.0)  # the live canvas's slide, scene units per second
    rows: int = 1
    start: float = 0.0  # scene time of the first tap
    row_seconds: float = 0.0
    row_step: tuple[float, float] = (0.0, 0.0)  # from one row to the next
    zoom: float = 1.0  # the live canvas's drift, per second (print.drift)
    rotate: float = 0.0  # degrees per second, clockwise
    end: float = 0.0  # scene time of the page: a mark's age is counted to it

    def unscaled(self, marks: np.ndarray) -> np.ndarray:
        placed = marks.copy()
        if self.zoom != 1.0 or self.rotate != 0.0:  # the same motion as marks.vert.glsl
            age = np.maximum(self.end - marks["t_tap"].astype(np.float64), 0.0)
            grow = self.zoom ** age
            turn = np.radians(self.rotate) * age
            cos, sin = np.cos(turn) * grow, np.sin(turn) * grow
            for end in ("p0", "p1"):
                x, y = marks[end][:, 0].astype(np.float64), marks[end][:, 1].astype(np.float64)
                placed[end] = np.stack([cos * x + sin * y, -sin * x + cos * y], axis=1)
            placed["width"] = marks["width"] * grow
        if self.row_seconds > 0:
            t = marks["t_tap"].astype(np.float64)
            row = np.clip(np.floor((t - self.start) / self.row_seconds), 0, self.rows - 1)
            age = self.start + (row + 1) * self.row_seconds - t  # as if the row's end were now
            move = np.asarray(self.shift) * age[:, None] + np.asarray(self.row_step) * row[:, None]
            placed["p0"] += move
            placed["p1"] += move
        return placed

    def place(self, marks: np.ndarray) -> np.ndarray:
        placed = self.unscaled(marks)
        offset = np.asarray(self.offset, np.float32)
        placed["p0"] = placed["p0"] * self.scale + offset
        placed["p1"] = placed["p1"] * self.scale + offset
        placed["width"] *= self.scale
        return placed


def _extent(marks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reach = _reach(marks)[:, None]
    low = np.minimum(marks["p0"], marks["p1"]) - reach
    high = np.maximum(marks["p0"], marks["p1"]) + reach
    return low.min(axis=0).astype(np.float64), high.max(axis=0).astype(np.float64)


def fit_layout(marks: np.ndarray, aspect: float, settings, drift, start: float = 0.0, end: float = 0.0) -> Layout:
    """The layout that puts `marks` (as the live look placed them, undrifted) on a page of `aspect`: the
    live `drift`'s zoom and turn where `settings.drift` keeps them, rows along its slide, then the extent
    centred and scaled to fill the page within `settings.margin`."""
    marks = marks[marks["color"][:, 3] > 0.02]
    moved = Layout(zoom=drift.zoom, rotate=drift.rotate, end=end) if settings.drift else Layout()
    if not settings.fit or not len(marks):
        return moved
    inner = np.array([2.0 * aspect, 2.0]) - 4.0 * settings.margin  # the page's height is 2 scene units
    inner = np.maximum(inner, 1e-3)
    layout = moved
    shift = drift.shift
    speed = math.hypot(*shift)
    duration = max(end - start, 0.0)
    if speed > 0 and duration > 0:
        along = np.array(shift) / speed
        across = np.array([0.0, -1.0]) if abs(along[0]) >= abs(along[1]) else np.array([1.0, 0.0])
        low, high = _extent(moved.unscaled(marks))
        pitch = max(float(np.abs(across) @ (high - low)) * 1.12, 1e-3)
        span = max(float(np.abs(along) @ (high - low)), 0.0)
        horizontal = abs(along[0]) >= abs(along[1])
        target = inner[0] / inner[1] if horizontal else inner[1] / inner[0]
        if settings.rows:
            rows = settings.rows
        else:  # as many rows as make the laid-out drawing the page's shape
            rows = min(range(1, 65), key=lambda r: abs(math.log((speed * duration / r + span) / (r * pitch) / target)))
        layout = dataclasses.replace(moved, shift=tuple(shift), rows=rows, start=start,
                                     row_seconds=duration / rows, row_step=tuple(across * pitch))
    low, high = _extent(layout.unscaled(marks))
    size = np.maximum(high - low, 1e-6)
    scale = float(np.min(inner / size))
    centre = 0.5 * (low + high)
    return dataclasses.replace(layout, scale=layout.scale * scale, offset=tuple(-centre * scale))


class Placed:
    """A layer renderer whose marks land where the print's layout puts them (the layer keeps its own
    state in the live look's units); everything else is the layer's own."""

    def __init__(self, inner, layout: Layout, overlays: bool = True):
        self.inner, self.layout, self.overlays = inner, layout, overlays

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def marks_for(self, attrs, epoch, aspect):
        marks, ids = self.inner.marks_for(attrs, epoch, aspect)
        return self.layout.place(marks), ids

    def refine(self, attrs, epoch, aspect):
        marks, ids = self.inner.refine(attrs, epoch, aspect)
        return self.layout.place(marks), ids

    def withdraw(self, tap_ids, epoch, aspect):
        marks, ids = self.inner.withdraw(tap_ids, epoch, aspect)
        return self.layout.place(marks), ids

    def tick(self, frame):
        return self.layout.place(self.inner.tick(frame))

    def overlay(self, frame):
        marks = self.inner.overlay(frame) if self.overlays else None
        return None if marks is None else self.layout.place(marks)


# ---- the passes ------------------------------------------------------------------------------------

def step_through(scene, taps, end: float, tracker, frame_step: float, feed_step: float = FEED_STEP,
                 progress=None) -> None:
    """Hand `taps` to the scene in the batches a replay at `feed_step` would (each batch once the clock
    passes its `detected_at`), and step the scene's canvas only every `frame_step` seconds and at `end`."""
    taps = taps[np.argsort(taps["detected_at"], kind="stable")]
    steps = max(1, int(np.ceil(end / feed_step)))
    due = np.clip(np.ceil(taps["detected_at"] / feed_step - 1e-9).astype(np.int64), 1, steps)
    batches = np.flatnonzero(np.diff(due, prepend=-1)) if len(taps) else np.zeros(0, np.int64)
    bounds = list(batches) + [len(taps)]
    every = max(1, int(round(frame_step / feed_step)))
    last_frame = 0
    for number, (first, after) in enumerate(zip(bounds[:-1], bounds[1:])):
        step = int(due[first])
        while last_frame + every < step:  # frames between taps, where the look needs them
            last_frame += every
            scene.advance(last_frame * feed_step)
        batch = taps[first:after]
        for tap in batch[batch["refine"] == 0]:
            tracker.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
        scene.add_taps(batch, tracker)
        if step - last_frame >= every:
            last_frame = step
            scene.advance(step * feed_step)
        if progress is not None and number % 64 == 0:
            progress(step / steps)
    while last_frame + every < steps:
        last_frame += every
        scene.advance(last_frame * feed_step)
    scene.advance(steps * feed_step)
    if progress is not None:
        progress(1.0)


def _take_span(taps) -> tuple[float, float]:
    firsts = taps[taps["refine"] == 0]
    if not len(firsts):
        return 0.0, 0.0
    return float(firsts["time"].min()), float(firsts["time"].max())


def _layout_size(size) -> tuple[int, int]:
    width, height = int(size[0]), int(size[1])
    return max(2, round(LAYOUT_HEIGHT * width / height)), LAYOUT_HEIGHT


@dataclass
class PrintJob:
    """What a print draws from: the take, the look for paper, the page and the layout."""

    taps: np.ndarray
    end: float  # scene time of the last step
    preset: object  # the look as printed
    live: object  # the look as it is live (its drift sets the layout's rows)
    size: tuple[int, int]
    tracker_factory: object
    span: tuple[float, float] = (0.0, 0.0)  # the first and the last tap's time: tune_fraction runs over it
    layout: Layout = Layout()
    drawing: object = None  # every mark of the first pass, placed by the layout (for SVG)

    def scene(self, ctx, size, layout: Layout | None):
        from dessins_de_planche.render.scene import Scene

        scene = Scene(ctx, self.preset, size)
        scene.epoch = 0.0
        scene.take = self.span
        if layout is not None:
            scene.layers = [Placed(layer, layout, self.preset.print.overlays) for layer in scene.layers]
        return scene


def plan(ctx, take, preset, size, tracker_factory=None, tail: float = 0.5) -> PrintJob:
    """The first pass: every mark of the take, collected on a small canvas of the page's shape, gives the
    layout (the drawing's extent fitted to the page)."""
    from dessins_de_planche.render.svg import Drawing

    if tracker_factory is None:
        from dessins_de_planche.listen.tempo import TempoTracker

        def tracker_factory(bar_beats):
            return TempoTracker(bar_beats=bar_beats)

    taps = np.asarray(take.taps)
    end = max(float(getattr(take, "duration", 0.0) or 0.0),
              float(taps["detected_at"].max()) if len(taps) else 0.0) + tail
    job = PrintJob(taps, end, print_preset(preset), preset, (int(size[0]), int(size[1])), tracker_factory,
                   _take_span(taps))
    small = _layout_size(size)
    scene = job.scene(ctx, small, None)
    try:
        drawing = scene.drawing = Drawing()
        step_through(scene, taps, end, tracker_factory(preset.bar_beats), MARKS_STEP)
        chunks = [chunk for by_tap in drawing.layers.values() for tap in by_tap.values() for chunk in tap]
        chunks += [chunk for extra in drawing.extra.values() for chunk in extra]
        if job.preset.print.overlays:
            frame = scene.frame(scene.canvas.aspect)
            chunks += [marks for layer in scene.layers if layer.draws_marks
                       for marks in [layer.overlay(frame)] if marks is not None]
        from dessins_de_planche.render.marks import MARK_DTYPE

        marks = np.concatenate(chunks) if chunks else np.zeros(0, MARK_DTYPE)
        job.layout = fit_layout(marks, size[0] / size[1], job.preset.print, preset.canvas.drift, job.span[0],
                                scene.time or 0.0)
        job.drawing = _placed_drawing(drawing, job.layout)
    finally:
        scene.release()
    return job


def _placed_drawing(drawing, layout: Layout):
    from dessins_de_planche.render.svg import Drawing

    placed = Drawing()
    for layer, by_tap in drawing.layers.items():
        placed.layers[layer] = {tap: [layout.place(chunk) for chunk in chunks] for tap, chunks in by_tap.items()}
    for layer, chunks in drawing.extra.items():
        placed.extra[layer] = [layout.place(chunk) for chunk in chunks]
    return placed


def draw_print(ctx, job: PrintJob, step: float | None = None, caption: str | None = None,
               corner: str | None = None, progress=None) -> np.ndarray:
    """The second pass: the page, HxWx3 uint8. `step`: seconds between canvas steps (default: as the look
    needs; 1/60 gives the full-rate print the tests compare with)."""
    from dessins_de_planche.render.canvas import release_framebuffer

    if step is None:
        step = effect_step(job.size, job.end) if needs_frames(job.preset) else MARKS_STEP
    scene = job.scene(ctx, job.size, job.layout)
    target = ctx.simple_framebuffer(job.size, components=4)
    try:
        step_through(scene, job.taps, job.end, job.tracker_factory(job.preset.bar_beats), step, progress=progress)
        scene.render(job.end, target)
        if caption:
            draw_caption(ctx, target, caption, corner or job.preset.print.caption, job.preset, scene.programs)
        width, height = job.size
        data = target.read(components=3, dtype="f1")
        return np.frombuffer(data, np.uint8).reshape(height, width, 3)[::-1].copy()
    finally:
        release_framebuffer(ctx, target)
        scene.release()
