"""The persistent drawing: two float framebuffers in ping-pong, faded and drifted per second.

The canvas is where marks end up; it is never cleared by a frame, only faded
toward the background (`(1 - decay) ** dt`) and, if the preset asks, slowly
zoomed and turned. Swapping the two framebuffers is a swap of references.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from dessins_de_planche.preset.palettes import parse_colour
from dessins_de_planche.render.glsl import ProgramCache

# Half floats keep ~3 decimal digits near 1.0: a fade smaller than this per pass would round
# away and stall, so small per-frame fades are gathered until they are worth one pass.
_SMALLEST_FADE = 0.002


def release_framebuffer(ctx: moderngl.Context, fbo: moderngl.Framebuffer) -> None:
    """Release a framebuffer without leaving it bound: moderngl re-binds the "current" one
    after every clear, and a released one there is a GL_INVALID_OPERATION later."""
    if ctx.fbo is fbo:
        (ctx.screen or ctx.detect_framebuffer(0)).use()
    fbo.release()


class Canvas:
    def __init__(self, ctx: moderngl.Context, programs: ProgramCache, size: tuple[int, int], background):
        self.ctx = ctx
        self.feedback = programs.get("fullscreen.vert.glsl", "feedback.frag.glsl")
        self.feedback_vao = ctx.vertex_array(self.feedback, [])  # no buffers: gl_VertexID makes the triangle
        self.view = programs.get("fullscreen.vert.glsl", "view.frag.glsl")
        self.view_vao = ctx.vertex_array(self.view, [])
        self.background = background
        self.decayed_until = 0.0  # scene time up to which the fade has been applied
        self.drifted_until = 0.0  # ... and the drift
        self.size = (0, 0)
        self._front = self._back = None
        self._allocate(size)
        self.clear()

    # -- storage -----------------------------------------------------------------------------
    def _make(self, size):
        texture = self.ctx.texture(size, 4, dtype="f2")
        texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        texture.repeat_x = texture.repeat_y = False
        return texture, self.ctx.framebuffer(color_attachments=[texture])

    def _allocate(self, size):
        self.size = (int(size[0]), int(size[1]))
        self._front, self._back = self._make(self.size), self._make(self.size)

    def _release(self, pair):
        texture, fbo = pair
        release_framebuffer(self.ctx, fbo)
        texture.release()

    @property
    def texture(self) -> moderngl.Texture:
        return self._front[0]

    @property
    def fbo(self) -> moderngl.Framebuffer:
        return self._front[1]

    @property
    def aspect(self) -> float:
        return self.size[0] / self.size[1]

    def set_background(self, colour: str) -> None:
        self.background = parse_colour(colour)[:3]

    def clear(self) -> None:
        for _, fbo in (self._front, self._back):
            fbo.clear(*self.background, 1.0)

    def resize(self, size) -> None:
        """Resample the drawing into the new size by scene units: nothing is lost or stretched."""
        size = (int(size[0]), int(size[1]))
        if size == self.size:
            return
        old = self._front
        old_aspect = self.aspect
        self._release(self._back)
        self._allocate(size)
        self.show(self._front[1], source=old[0], source_aspect=old_aspect)
        self._release(old)
        self._back[1].clear(*self.background, 1.0)

    # -- per frame ---------------------------------------------------------------------------
    def advance(self, now: float, decay: float, zoom: float, rotate: float) -> None:
        """Fade and drift the drawing up to `now` (scene seconds): one full-screen pass, or none.

        Both are gathered over frames until they are worth a pass: a fade too small
        for half floats would stall, and every drift pass resamples (blurs) the
        picture, so it waits until the corners would move by a pixel.
        """
        keep = 1.0
        pending = now - self.decayed_until
        if decay > 0.0 and pending > 0.0:
            keep_now = (1.0 - decay) ** pending
            if keep_now <= 1.0 - _SMALLEST_FADE:
                keep, self.decayed_until = keep_now, now
        else:
            self.decayed_until = now
        moving = False
        drift_dt = now - self.drifted_until
        if zoom != 1.0 or rotate != 0.0:
            corner = 0.5 * math.hypot(*self.size)
            shift = (abs(zoom**drift_dt - 1.0) + abs(math.radians(rotate) * drift_dt)) * corner
            moving = bool(shift >= 1.0)
        if moving or drift_dt <= 0.0 or (zoom == 1.0 and rotate == 0.0):
            self.drifted_until = now
        if keep == 1.0 and not moving:
            return  # nothing changes: skip the pass (at 4K on a CPU rasterizer that matters)
        program = self.feedback
        program["u_background"].value = self.background
        program["u_keep"].value = keep
        program["u_moving"].value = moving
        program["u_scale"].value = zoom**-drift_dt if moving else 1.0
        program["u_turn"].value = -math.radians(rotate) * drift_dt if moving else 0.0
        program["u_aspect"].value = self.aspect
        program["u_size"].value = self.size
        self._back[1].use()
        self._front[0].use(0)
        program["u_canvas"].value = 0
        self.ctx.disable(moderngl.BLEND)
        self.feedback_vao.render(moderngl.TRIANGLES, vertices=3)
        self._front, self._back = self._back, self._front

    def keep_log(self, decay: float) -> float:
        """log of the share kept per second, for marks that pre-apply their own fade."""
        return math.log(1.0 - decay) if decay < 1.0 else -60.0

    def show(self, target: moderngl.Framebuffer, gain: float = 1.0, source=None, source_aspect=None) -> None:
        """Draw the canvas (or `source`) onto a target of any size, by scene units."""
        target.use()
        x, y, width, height = target.viewport
        program = self.view
        program["u_background"].value = self.background
        program["u_source_aspect"].value = source_aspect or self.aspect
        program["u_target_aspect"].value = width / height
        program["u_viewport"].value = (x, y, width, height)
        program["u_gain"].value = gain
        (source or self._front[0]).use(0)
        program["u_canvas"].value = 0
        self.ctx.disable(moderngl.BLEND)
        self.view_vao.render(moderngl.TRIANGLES, vertices=3)

    def read(self) -> np.ndarray:
        """The canvas alone as HxWx3 uint8, top row first."""
        data = self.fbo.read(components=3, dtype="f1")
        return np.frombuffer(data, np.uint8).reshape(self.size[1], self.size[0], 3)[::-1].copy()

    def release(self) -> None:
        self._release(self._front)
        self._release(self._back)
