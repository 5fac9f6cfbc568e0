"""Offline render: a recorded performance -> one picture of the drawing, at any size (PNG or SVG).

The same scene as live, stepped on a fixed clock: each record is handed over
when the clock passes its `detected_at` (as the live app would have received
it), and the tap's own `time` places the mark. Same file, same step -> same picture.
A performance is a WAV (analyzed by the live detector path) or the JSON that
`analyze --json` writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from dessins_de_planche.events import TapSettler
from dessins_de_planche.preset.loader import preset_by_name  # noqa: F401  (the CLI finds it here)

_FULL_HD = 1920 * 1080
MAX_SIDE = 16384


def default_step(size) -> float:
    """1/60 s up to full HD; coarser for bigger canvases, where each step is a full-screen pass.

    The step does not move any mark (marks are placed and faded by their own tap
    time); it only sets how often the canvas is faded and drifted.
    """
    pixels = int(size[0]) * int(size[1])
    return min(0.1, max(1.0 / 60.0, (pixels / _FULL_HD) / 60.0))


def load_performance(path, analyze=None):
    """A WAV/FLAC/OGG through the detector, or an `analyze --json` file: an object with .taps and .duration."""
    path = str(path)
    if path.lower().endswith(".json"):
        return performance_from_json(path)
    if analyze is None:
        from dessins_de_planche.inputs.analyze import analyze_file as analyze
    return analyze(path)


def performance_from_json(path: str):
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, KIND_UNKNOWN, TAP_DTYPE

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = data["taps"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not an `analyze --json` file ({error})") from None
    kinds = {"heel": KIND_HEEL, "toe": KIND_TOE, "unknown": KIND_UNKNOWN}
    where = "its taps"
    try:  # a file from anywhere: every value checked, the first wrong one named
        zones = sorted({str(r.get("zone", "")) for r in rows})
        if len(zones) > 255:
            raise ValueError(f"{len(zones)} zones (at most 255)")
        taps = np.zeros(len(rows), TAP_DTYPE)
        for i, row in enumerate(rows):
            where = f"tap {i + 1}"
            taps[i]["time"] = _seconds(row["time"], "time")
            taps[i]["detected_at"] = _seconds(row.get("detected_at", row["time"]), "detected_at")
            velocity = float(row.get("velocity", 0.8))
            if not 0.0 <= velocity <= 1.0:
                raise ValueError(f"velocity {velocity} is not within 0..1")
            taps[i]["velocity"] = velocity
            taps[i]["tap_id"] = i
            taps[i]["kind"] = kinds.get(str(row.get("kind", "unknown")), KIND_UNKNOWN)
            taps[i]["channel"] = min(max(int(row.get("channel", 1) or 1), 0), 65535)
            taps[i]["zone"] = zones.index(str(row.get("zone", "")))
        where = "duration"
        duration = _seconds(data.get("duration") or (taps["detected_at"].max() if len(taps) else 0.0), "duration")
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise ValueError(f"{path}: {where}: not as `analyze --json` writes it ({error})") from None
    return SimpleNamespace(taps=taps, duration=duration)


MAX_SECONDS = 24 * 3600.0  # a performance from a file: a day at most (the replay steps through all of it)


def _seconds(value, what: str) -> float:
    seconds = float(value)
    if not 0.0 <= seconds <= MAX_SECONDS:  # NaN fails this too
        raise ValueError(f"{what} {value!r} is not a number of seconds within 0..{MAX_SECONDS:.0f}")
    return seconds


def replay(ctx, taps, duration, preset, size, step=None, progress=None, tracker_factory=None, tail=0.5,
           drawing=None, on_step=None):
    """Feed `taps` (TAP_DTYPE, refine records included) through a fresh Scene on a fixed clock.
    `on_step(index, now, scene)`, if given, sees every step (a video reads its frames there).
    Returns the scene (the caller reads the picture and releases it)."""
    from dessins_de_planche.render.scene import Scene

    if tracker_factory is None:
        from dessins_de_planche.listen.tempo import TempoTracker

        def tracker_factory(bar_beats):
            return TempoTracker(bar_beats=bar_beats)

    size = (int(size[0]), int(size[1]))
    step = float(step) if step else default_step(size)
    taps = np.asarray(taps)
    taps = taps[np.argsort(taps["detected_at"], kind="stable")]  # emission order, kept for equal times
    end = max(float(duration or 0.0), float(taps["detected_at"].max()) if len(taps) else 0.0) + tail
    scene = Scene(ctx, preset, size)
    scene.drawing = drawing
    scene.epoch = 0.0  # scene time = the performance's own time, so an SVG and a PNG agree
    firsts = taps[taps["refine"] == 0]
    if len(firsts):  # tune_fraction runs over the take's own length
        scene.take = (float(firsts["time"].min()), float(firsts["time"].max()))
    tracker = tracker_factory(preset.bar_beats)
    steps = max(1, int(np.ceil(end / step)))
    settler = TapSettler()  # the tempo hears the taps that stood, as live
    fed = 0
    for index in range(1, steps + 1):
        now = index * step  # multiply, never accumulate: no drift of the clock over a long file
        upto = int(np.searchsorted(taps["detected_at"], now, side="right"))
        batch = taps[fed:upto]
        for tap in settler.settle(batch, now):
            tracker.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
        if upto > fed:
            scene.add_taps(batch, tracker)
            fed = upto
        scene.advance(now)  # only the canvas moves each step; the picture is composed once at the end
        if on_step is not None:
            on_step(index, now, scene)
        if progress is not None and (index % 32 == 0 or index == steps):
            progress(index / steps)
    return scene


def render_performance(input_path, preset, size, out_path, step: float | None = None, progress=None, *,
                       analyze=None, tracker_factory=None, tail: float = 0.5,
                       width_mm: float | None = None, print_mode: bool = False, caption: str | None = None,
                       corner: str | None = None) -> np.ndarray | str:
    """Analyze `input_path`, replay its taps through a Scene at a fixed step, write the PNG (or SVG:
    by `out_path`'s suffix). `analyze` (path -> result with .taps and .duration) and `tracker_factory`
    (bar_beats -> tempo tracker) default to the project's own; tests may pass others.
    `print_mode`: the whole tune fitted to the page (`render/printing.py`), with `caption` in `corner`;
    else the live look's last frame. Returns the picture (HxWx3 uint8), or the SVG text.
    """
    import moderngl

    from dessins_de_planche.render import printing

    svg = str(out_path).lower().endswith(".svg")
    if svg:
        from dessins_de_planche.render.svg import Drawing, check_vector

        check_vector(printing.print_preset(preset) if print_mode else preset)
    size = (int(size[0]), int(size[1]))
    result = load_performance(input_path, analyze)
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    try:
        limit = min(ctx.info["GL_MAX_TEXTURE_SIZE"], ctx.info["GL_MAX_VIEWPORT_DIMS"][0], MAX_SIDE)
        if max(size) > limit:
            raise ValueError(f"{size[0]}x{size[1]} is larger than this GPU draws ({limit} pixels a side)")
        if print_mode:
            job = printing.plan(ctx, result, preset, size, tracker_factory, tail)
            if svg:
                from dessins_de_planche.render.caption import svg_caption
                from dessins_de_planche.render.svg import DEFAULT_WIDTH_MM, svg_text

                width_mm = width_mm or DEFAULT_WIDTH_MM
                text = svg_text(job.drawing, job.preset, size[0] / size[1], job.end, width_mm)
                if caption:
                    text = svg_caption(text, caption, corner or job.preset.print.caption, job.preset,
                                       width_mm, size[0] / size[1])
                Path(out_path).parent.mkdir(parents=True, exist_ok=True)
                Path(out_path).write_text(text, encoding="utf-8")
                return text
            picture = printing.draw_print(ctx, job, step, caption, corner, progress)
            write_png(picture, out_path)
            return picture
        drawing = Drawing() if svg else None
        scene = replay(ctx, result.taps, getattr(result, "duration", 0.0), preset, size, step, progress,
                       tracker_factory, tail, drawing)
        if svg:
            from dessins_de_planche.render.svg import write_svg

            text = write_svg(drawing, scene, out_path, **({"width_mm": width_mm} if width_mm else {}))
            scene.release()
            return text
        picture = scene.read_canvas()
        scene.release()
        write_png(picture, out_path)
        return picture
    finally:
        ctx.release()


def write_png(picture: np.ndarray, out_path) -> None:
    import pygame

    height, width = picture.shape[:2]
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    surface = pygame.image.frombuffer(np.ascontiguousarray(picture).tobytes(), (width, height), "RGB")
    pygame.image.save(surface, str(out_path))
