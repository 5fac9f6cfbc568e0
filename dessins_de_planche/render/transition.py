"""Switching looks: a crossfade from a snapshot of the old picture, or a hard cut.

The canvas (the drawing) is shared by both looks, so a crossfade does not run two
scenes: it keeps one picture of how things looked at the switch and lays it over
the new look, fading out over `duration` scene seconds. Taking the snapshot is one
extra draw, so a switch costs no more than a frame.
"""

from __future__ import annotations

import moderngl

from dessins_de_planche.render.canvas import release_framebuffer


class Crossfade:
    def __init__(self, ctx: moderngl.Context, programs):
        self.ctx = ctx
        self.program = programs.get("fullscreen.vert.glsl", "snapshot.frag.glsl")
        self.vao = ctx.vertex_array(self.program, [])
        self.texture = self.fbo = None
        self.start = self.duration = 0.0
        self.active = False

    def capture(self, draw_picture, size, now: float, duration: float) -> None:
        """Keep the current picture (drawn by `draw_picture(fbo)`) and start fading it out."""
        if duration <= 0:
            self.active = False
            return
        size = (int(size[0]), int(size[1]))
        if self.texture is None or self.texture.size != size:
            self._release()
            self.texture = self.ctx.texture(size, 4)
            self.texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self.fbo = self.ctx.framebuffer(color_attachments=[self.texture])
        draw_picture(self.fbo)
        self.start, self.duration, self.active = float(now), float(duration), True

    def alpha(self, now: float) -> float:
        if not self.active:
            return 0.0
        left = 1.0 - (float(now) - self.start) / self.duration
        if left <= 0.0:
            self.active = False
            return 0.0
        return min(left, 1.0)

    def draw(self, target: moderngl.Framebuffer, now: float) -> None:
        alpha = self.alpha(now)
        if alpha <= 0.0:
            return
        target.use()
        self.program["u_viewport"].value = tuple(float(v) for v in target.viewport)
        self.program["u_alpha"].value = alpha * alpha * (3.0 - 2.0 * alpha)  # eased
        self.texture.use(0)
        self.program["u_picture"].value = 0
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self.vao.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.disable(moderngl.BLEND)

    def cancel(self) -> None:
        self.active = False

    def _release(self) -> None:
        if self.fbo is not None:
            release_framebuffer(self.ctx, self.fbo)
            self.texture.release()
        self.texture = self.fbo = None

    def release(self) -> None:
        self._release()
        self.vao.release()
