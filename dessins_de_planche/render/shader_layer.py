"""A designer's own GLSL as a layer: drawn over the picture each frame, or rewriting the canvas.

The file is looked up beside the preset, then in `shaders/` (never outside: see
`preset/files.py`), compiled once through the scene's program cache, and given
the uniforms documented in `shaders/layer.glsl`. A file that does not compile
raises `ShaderError` while the new look is being built, so the running one stays.

A layer drawn over the picture may say it needs less than the picture's resolution
(`#pragma resolution 0.5`: smooth light, where the eye cannot tell): it is drawn at that
share of the target's size, never under MIN_LINES lines, and sampled up (a quarter of the
pixels' work at 0.5, a sixteenth at 0.25).
"""

from __future__ import annotations

import re

import moderngl
import numpy as np

from dessins_de_planche.preset.files import OutsideFolders, resolve_shader
from dessins_de_planche.preset.layer_kinds import ShaderLayer
from dessins_de_planche.render.glsl import ShaderError
from dessins_de_planche.render.layers import LayerRenderer, beat_clock, register_renderer

MAX_TAPS = 32  # the length of u_taps / u_tap_pos in layer.glsl
_RESOLUTION = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+resolution[ \t(]+([0-9.]+)[ \t)]*$", re.M)
MIN_RESOLUTION = 0.25
MIN_LINES = 180  # a layer drawn at a lower resolution keeps at least this many lines (small pictures: full)


def declared_resolution(source: str) -> float:
    """The share of the picture's resolution a shader asks to be drawn at (`#pragma resolution 0.5`),
    between MIN_RESOLUTION and 1 (a GLSL compiler ignores a pragma it does not know)."""
    found = _RESOLUTION.search(source)
    try:
        share = float(found.group(1)) if found else 1.0
    except ValueError:
        share = 1.0
    return min(max(share, MIN_RESOLUTION), 1.0)


class ShaderLayerRenderer(LayerRenderer):
    draws_marks = False

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        try:
            self.path = resolve_shader(model.file, folder)
        except OutsideFolders as error:
            raise ShaderError(f"shader layer: {error}") from None
        if scene is None:
            raise ShaderError("a shader layer needs a GL scene to compile in")
        self.program = scene.programs.get_file(self.path)
        self.vao = scene.pass_vao(self.program)
        try:
            self.resolution = declared_resolution(self.path.read_text(encoding="utf-8", errors="replace"))
        except OSError:  # it compiled a moment ago: read again at the next build
            self.resolution = 1.0
        if self.resolution < 1.0 and model.target == "over":
            self.upsample = scene.programs.get("fullscreen.vert.glsl", "upsample.frag.glsl")
            self.upsample_vao = scene.pass_vao(self.upsample)

    def _set(self, name, value) -> None:
        uniform = self.program.get(name, None)
        if uniform is not None:
            uniform.value = value

    def set_uniforms(self, scene, frame, resolution, dt: float) -> None:
        now = frame.epoch + frame.time
        clock = beat_clock(frame.rhythm)
        bar_phase = getattr(frame.rhythm, "bar_phase", None)
        self._set("u_time", float(frame.time))
        self._set("u_dt", float(max(dt, 0.0)))
        self._set("u_resolution", (float(resolution[0]), float(resolution[1])))
        self._set("u_aspect", resolution[0] / resolution[1])
        self._set("u_beat_phase", float(clock[0](now) % 1.0) if clock else 0.0)
        self._set("u_bar_phase", float(bar_phase(now)) if bar_phase and clock else 0.0)
        self._set("u_tempo", float(60.0 / clock[1]) if clock else 0.0)
        self._set("u_level", float(scene.level))
        self._set("u_brightness", float(scene.brightness))
        self._set("u_opacity", float(self.model.opacity))
        taps, positions, count = scene.recent_taps(now)
        self._set("u_tap_count", count)
        for name, values in (("u_taps", taps), ("u_tap_pos", positions)):
            uniform = self.program.get(name, None)
            if uniform is not None:
                uniform.write(np.ascontiguousarray(values[: uniform.array_length], np.float32).tobytes())
        for name, value in self.model.uniforms.items():
            self._set(name, float(value))

    def rewrite_canvas(self, scene, frame, dt: float) -> None:
        if self.model.target != "canvas":
            return
        self.set_uniforms(scene, frame, scene.canvas.size, dt)
        scene.canvas.rewrite(self.program, self.vao)

    def draw_over(self, scene, frame, target, dt: float) -> None:
        if self.model.target != "over":
            return
        ctx = scene.ctx
        x, y, width, height = target.viewport
        small = None
        share = min(1.0, max(self.resolution, MIN_LINES / max(height, 1)))
        if share < 1.0:
            size = (max(1, round(width * share)), max(1, round(height * share)))
            small = scene.canvas.scratch(size)
            small.use()
            small.clear(0.0, 0.0, 0.0, 0.0)
        else:
            target.use()
        self.set_uniforms(scene, frame, (small or target).viewport[2:], dt)
        scene.canvas.texture.use(0)
        self._set("u_canvas", 0)
        ctx.enable(moderngl.BLEND)
        if small is None:
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        else:  # kept premultiplied, so sampling up blends light, not its colour
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ZERO, moderngl.ONE, moderngl.ZERO
        self.vao.render(moderngl.TRIANGLES, vertices=3)
        if small is not None:
            target.use()
            small.color_attachments[0].use(0)
            self.upsample["u_layer"].value = 0
            self.upsample["u_viewport"].value = (x, y, width, height)
            ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
            self.upsample_vao.render(moderngl.TRIANGLES, vertices=3)
        ctx.disable(moderngl.BLEND)


register_renderer(ShaderLayer, ShaderLayerRenderer)
