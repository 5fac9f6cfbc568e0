"""The projector's side of the picture: flip and rotate (rear projection, a projector on its
side), corner-pin (a projector off-axis, `app.warp`), a master dimmer, a blackout that
fades out and back, and a freeze.

When none of them is in use the show draws straight on the screen; otherwise it
draws into a picture framebuffer and one full-screen pass puts it on the screen,
turned, mirrored and dimmed. Fades are per second, never per frame.
The picture may also be drawn at a share of the screen's resolution (`render_scale`,
set by the frame-time governor, `app/governor.py`): the same pass samples it up.
"""

from __future__ import annotations

import moderngl

FLIPS = ("none", "horizontal", "vertical", "both")
ROTATIONS = (0, 90, 180, 270)
BLACKOUT_SECONDS = 1.5  # a full fade to black (or back)

_VERTEX = """
#version 330 core
out vec2 v_pos;
void main() {
    vec2 corner = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_pos = corner * 2.0 - 1.0;
    gl_Position = vec4(v_pos, 0.0, 1.0);
}
"""

_FRAGMENT = """
#version 330 core
// Screen position -> where it comes from in the picture: undo the corner-pin, then the turn,
// then the mirror. Outside the pinned quad the screen is black.
uniform sampler2D u_picture;
uniform mat2 u_from_screen;
uniform mat3 u_unwarp;  // screen -> unwarped screen, both 0..1 from the top-left
uniform float u_gain;
in vec2 v_pos;
out vec4 colour;
void main() {
    vec3 p = u_unwarp * vec3(v_pos.x * 0.5 + 0.5, 0.5 - v_pos.y * 0.5, 1.0);
    vec2 q = p.xy / p.z;
    if (p.z <= 0.0 || any(lessThan(q, vec2(0.0))) || any(greaterThan(q, vec2(1.0)))) {
        colour = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    vec2 source = u_from_screen * vec2(q.x * 2.0 - 1.0, 1.0 - q.y * 2.0);
    colour = vec4(texture(u_picture, source * 0.5 + 0.5).rgb * u_gain, 1.0);
}
"""
_NO_WARP = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def picture_size(window_size, rotate: int) -> tuple[int, int]:
    """The size the show draws at: a projector on its side shows a portrait picture."""
    width, height = int(window_size[0]), int(window_size[1])
    return (height, width) if rotate in (90, 270) else (width, height)


def screen_to_picture(flip: str, rotate: int) -> tuple[float, ...]:
    """Column-major 2x2 matrix from screen to picture coordinates (-1..1 both)."""
    # columns: where the screen's right (1, 0) and top (0, 1) come from in the picture;
    # turned clockwise by 90, the picture's top is at the screen's right.
    turns = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}[rotate]
    fx = -1.0 if flip in ("horizontal", "both") else 1.0  # a mirror on the screen's axes
    fy = -1.0 if flip in ("vertical", "both") else 1.0
    a, b, c, d = turns
    return (fx * a, fx * b, fy * c, fy * d)


class Output:
    def __init__(self, ctx: moderngl.Context, window_size, flip: str = "none", rotate: int = 0,
                 dimmer: float = 1.0, warp=None):
        if flip not in FLIPS:
            raise ValueError(f"flip must be one of {', '.join(FLIPS)}, got {flip!r}")
        if rotate not in ROTATIONS:
            raise ValueError(f"rotate must be one of 0, 90, 180, 270, got {rotate!r}")
        self.ctx = ctx
        self.window_size = tuple(window_size)
        self.flip = flip
        self.rotate = rotate
        self.dimmer = min(max(float(dimmer), 0.0), 1.0)
        self.blackout = False  # asked for
        self.black = 0.0  # how far the fade to black has gone, 0..1
        self.frozen = False
        self.warp = None  # an app.warp.Warp, None for none
        self._unwarp = _NO_WARP
        self.set_warp(warp)
        self.render_scale = 1.0  # the picture's share of the screen's resolution (1.0 down to 0.5)
        self._held = False  # the picture framebuffer holds the frozen frame
        self._last = None
        self._program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self._vao = ctx.vertex_array(self._program, [])
        self._texture = self._fbo = None

    # -- controls ------------------------------------------------------------------------
    @property
    def picture_size(self) -> tuple[int, int]:
        """The size the show draws at: turned with the projector, at the render scale."""
        width, height = picture_size(self.window_size, self.rotate)
        if self.render_scale >= 1.0:
            return width, height
        return max(1, round(width * self.render_scale)), max(1, round(height * self.render_scale))

    def set_render_scale(self, scale: float) -> None:
        self.render_scale = min(max(float(scale), 0.0), 1.0) or 1.0
        self._held = False

    def resize(self, window_size) -> None:
        self.window_size = (int(window_size[0]), int(window_size[1]))
        self._held = False

    def toggle_blackout(self) -> None:
        self.blackout = not self.blackout

    def toggle_freeze(self) -> None:
        self.frozen = not self.frozen
        self._held = False

    def next_flip(self) -> None:
        self.flip = FLIPS[(FLIPS.index(self.flip) + 1) % len(FLIPS)]

    def next_rotation(self) -> None:
        self.rotate = ROTATIONS[(ROTATIONS.index(self.rotate) + 1) % len(ROTATIONS)]
        self._held = False

    def set_warp(self, warp) -> None:
        """Corner-pin the output (None or an identity warp: none)."""
        self.warp = None if warp is None or warp.identity else warp
        # column-major for GL
        self._unwarp = _NO_WARP if self.warp is None else tuple(self.warp.screen_to_picture().T.ravel())

    def set_dimmer(self, value: float) -> None:
        value = float(value)
        if value == value:  # NaN would black the picture out: ignored, the dimmer stays where it is
            self.dimmer = min(max(value, 0.0), 1.0)

    @property
    def gain(self) -> float:
        return self.dimmer * (1.0 - self.black)

    @property
    def direct(self) -> bool:
        """Nothing to do between the show and the screen."""
        return (self.flip == "none" and self.rotate == 0 and self.gain >= 1.0 and not self.frozen
                and self.warp is None and self.render_scale >= 1.0)

    # -- per frame -----------------------------------------------------------------------
    def _fade(self, now: float) -> None:
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        step = dt / BLACKOUT_SECONDS
        self.black = min(1.0, self.black + step) if self.blackout else max(0.0, self.black - step)

    def _framebuffer(self):
        size = self.picture_size
        if self._texture is None or self._texture.size != size:
            self._release()
            self._texture = self.ctx.texture(size, 4)
            self._texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            self._texture.repeat_x = self._texture.repeat_y = False  # sampled up: no light from the far edge
            self._fbo = self.ctx.framebuffer(color_attachments=[self._texture])
            self._held = False
        return self._fbo

    def picture_target(self, now: float, screen):
        """Where this frame's picture is drawn, bound: the screen itself when nothing is to be
        flipped, turned, warped, scaled or dimmed; else the output's own framebuffer; None while
        a frozen picture is held (nothing to draw)."""
        self._fade(now)
        if self.direct:
            screen.use()
            self.ctx.viewport = (0, 0, *self.window_size)
            return screen
        fbo = self._framebuffer()  # a new one (resized) is not held yet
        if self.frozen and self._held:
            return None
        fbo.use()
        fbo.viewport = (0, 0, *self.picture_size)
        self._held = self.frozen
        return fbo

    def present(self, now: float, draw_picture, screen) -> None:
        """Draw with `draw_picture(target)` and put the picture on `screen` (tests and benches)."""
        target = self.picture_target(now, screen)
        if target is not None:
            draw_picture(target)
        self.show_picture(screen)

    def show_picture(self, screen) -> None:
        """Put the picture drawn into `picture_target` (or the one held) on `screen` as the projector needs."""
        if self.direct:
            return
        screen.use()
        self.ctx.viewport = (0, 0, *self.window_size)
        program = self._program
        program["u_from_screen"].value = screen_to_picture(self.flip, self.rotate)
        program["u_unwarp"].value = self._unwarp
        program["u_gain"].value = self.gain
        self._texture.use(0)
        program["u_picture"].value = 0
        self.ctx.disable(moderngl.BLEND)
        self._vao.render(moderngl.TRIANGLES, vertices=3)

    def _release(self) -> None:
        if self._fbo is not None:
            from dessins_de_planche.render.canvas import release_framebuffer

            release_framebuffer(self.ctx, self._fbo)
            self._texture.release()
        self._texture = self._fbo = None

    def release(self) -> None:
        self._release()
        self._vao.release()
        self._program.release()
