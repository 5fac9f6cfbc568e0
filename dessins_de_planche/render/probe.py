"""A new or changed shader is timed on an offscreen test frame before it may replace the look.

Why: a shader that compiles may still never finish a frame in time (an endless loop
took 4.3 s a frame on llvmpipe, and nothing noticed). The designer's shader layers
are drawn offscreen at a fraction of the show's size (so a pathological one costs a
fraction of its frame to find out), and the time is scaled by the pixel count to the
show's size. Above `FRAME_LIMIT_S` the look is refused with a message naming the
file; the running look stays (build, probe, then swap). A frame a little over the limit is
timed again (at most `TRIES` frames in all, the fastest counts): a busy machine once made a 21 ms
look take 350 ms for one frame; one far over it (an endless loop) is refused at once.
"""

from __future__ import annotations

import time

from dessins_de_planche.render.glsl import ShaderError

FRAME_LIMIT_S = 0.2  # estimated seconds a preset's own shaders may take per frame at the show's size
PROBE_SHARE = 16  # the test frame has 1/16 of the show's pixels (a quarter of its width and height)
TRIES = 3  # frames timed at most, while the fastest is over the limit but within RETIME_BELOW times it
RETIME_BELOW = 4.0


class SlowShader(ShaderError):
    """A shader that compiles but takes too long per frame."""


def _shader_layers(layers) -> list:
    """The built layers that draw with the designer's own shaders: the ones the probe times."""
    return [layer for layer in layers if layer.model.shader_files]


def shader_frame_seconds(scene, preset, size: tuple[int, int], limit: float | None = None) -> float:
    """Seconds the preset's shader layers would take per frame at `size` (0: it has none); with a
    `limit`, the fastest of up to `TRIES` frames while it stays a little over that limit."""
    from dessins_de_planche.render.canvas import release_framebuffer
    from dessins_de_planche.render.steady import steady_taps
    from dessins_de_planche.render.scene import Scene  # (its import registers the custom shader's kind)

    if not preset.shader_files:
        return 0.0
    width, height = max(int(size[0]), 16), max(int(size[1]), 9)
    scale = min(1.0, PROBE_SHARE ** -0.5)
    probe = (max(16, round(width * scale)), max(9, round(height * scale)))
    ctx = scene.ctx
    scratch = Scene(ctx, preset, probe, programs=scene.programs)
    target = ctx.simple_framebuffer(probe)
    try:
        scratch.add_taps(steady_taps(0.8), None)
        scratch.render(0.1, target)  # the first draw: some drivers finish compiling here
        scratch.render(0.2, target)
        ctx.finish()
        frame = scratch.frame(probe[0] / probe[1])
        to_show = (width * height) / (probe[0] * probe[1])
        fastest = float("inf")
        for _ in range(TRIES if limit is not None else 1):
            began = time.perf_counter()
            for layer in _shader_layers(scratch.layers):
                layer.rewrite_canvas(scratch, frame, 1 / 60)
                layer.draw_over(scratch, frame, target, 1 / 60)
            ctx.finish()
            fastest = min(fastest, (time.perf_counter() - began) * to_show)
            if limit is None or not limit < fastest <= limit * RETIME_BELOW:
                break
    finally:
        scratch.release()
        release_framebuffer(ctx, target)
    return fastest


def check_frame_time(scene, preset, where, size=None, limit: float = FRAME_LIMIT_S) -> float:
    """Raise SlowShader (naming `where`) when the preset's shaders would take over `limit` a frame."""
    size = tuple(size or scene.canvas.size)
    seconds = shader_frame_seconds(scene, preset, size, limit)
    if seconds > limit:
        files = ", ".join(preset.shader_files)
        raise SlowShader(f"{where}: its shader ({files}) takes about {seconds:.2f} s a frame at "
                         f"{size[0]}×{size[1]} (at most {limit:.2f} s); an endless or very long loop? "
                         "Not loaded: the running look stays")
    return seconds


COST_SIZE = (1280, 720)  # the size a look's cost is told at (validate, thumbnails)


def frame_cost_ms(ctx, preset, size=COST_SIZE, frames: int = 12, programs=None) -> float:
    """Median milliseconds a frame of the look takes at `size` on this machine, everything drawn and
    finished: two seconds of a dance's taps on the canvas, the live marks, the effects and shaders.
    What a designer needs to know before a show: 16.7 ms is a 60 fps frame (the app lowers its render
    scale when frames run longer, see `app/governor.py`)."""
    import numpy as np

    from dessins_de_planche.render.canvas import release_framebuffer
    from dessins_de_planche.render.steady import steady_taps
    from dessins_de_planche.render.scene import Scene

    scene = Scene(ctx, preset, size, programs=programs)
    target = ctx.simple_framebuffer(size)
    try:
        scene.add_taps(steady_taps(2.0), None)
        walls = []
        for frame in range(frames + 3):  # three to warm up: some drivers finish compiling at the first draw
            began = time.perf_counter()
            scene.render(2.0 + frame / 60, target)
            ctx.finish()
            walls.append(time.perf_counter() - began)
        return float(np.median(walls[3:])) * 1e3
    finally:
        scene.release()
        release_framebuffer(ctx, target)
