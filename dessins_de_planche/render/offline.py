"""Offline render: a recorded performance -> one PNG of the final picture, at any size.

The same scene as live, stepped on a fixed clock: each record is handed over
when the clock passes its `detected_at` (as the live app would have received
it), and the tap's own `time` places the mark. Same file, same step -> same picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dessins_de_planche.preset.loader import preset_by_name  # noqa: F401  (the CLI finds it here)

_FULL_HD = 1920 * 1080


def default_step(size) -> float:
    """1/60 s up to full HD; coarser for bigger canvases, where each step is a full-screen pass.

    The step does not move any mark (marks are placed and faded by their own tap
    time); it only sets how often the canvas is faded and drifted.
    """
    pixels = int(size[0]) * int(size[1])
    return min(0.1, max(1.0 / 60.0, (pixels / _FULL_HD) / 60.0))


def render_performance(input_path, preset, size, out_path, step: float | None = None, progress=None, *,
                       analyze=None, tracker_factory=None, tail: float = 0.5) -> np.ndarray:
    """Analyze `input_path`, replay its taps through a Scene at a fixed step, write the PNG.

    `analyze` (path -> result with .taps and .duration) and `tracker_factory`
    (bar_beats -> tempo tracker) default to the project's own; tests may pass others.
    Returns the picture (HxWx3 uint8).
    """
    import moderngl

    from dessins_de_planche.render.scene import Scene

    if analyze is None:
        from dessins_de_planche.listen.analyze import analyze_file as analyze
    if tracker_factory is None:
        from dessins_de_planche.listen.tempo import TempoTracker

        def tracker_factory(bar_beats):
            return TempoTracker(bar_beats=bar_beats)

    size = (int(size[0]), int(size[1]))
    step = float(step) if step else default_step(size)
    result = analyze(str(input_path))
    taps = np.asarray(result.taps)
    order = np.argsort(taps["detected_at"], kind="stable")  # emission order, kept for equal times
    taps = taps[order]
    end = max(float(getattr(result, "duration", 0.0) or 0.0),
              float(taps["detected_at"].max()) if len(taps) else 0.0) + tail

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    try:
        scene = Scene(ctx, preset, size)
        target = ctx.simple_framebuffer(size, components=4)
        tracker = tracker_factory(preset.bar_beats)
        steps = max(1, int(np.ceil(end / step)))
        fed = 0
        for index in range(1, steps + 1):
            now = index * step  # multiply, never accumulate: no drift of the clock over a long file
            upto = int(np.searchsorted(taps["detected_at"], now, side="right"))
            if upto > fed:
                batch = taps[fed:upto]
                for tap in batch[batch["refine"] == 0]:
                    tracker.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
                scene.add_taps(batch, tracker)
                fed = upto
            # only the canvas needs to advance each step; the picture is composed once at the end
            scene.render(now, target) if index == steps else scene.advance(now)
            if progress is not None and (index % 32 == 0 or index == steps):
                progress(index / steps)
        picture = scene.read_canvas()
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
