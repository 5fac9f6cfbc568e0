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

# The fade is gathered over frames until a pass is worth it: fewer full-screen passes (the canvas
# rounds onto the half-float grid with a dither, so even a small fade is kept on average).
_SMALLEST_FADE = 0.002
# Effects (blur, warp, hue) are gathered too, for this long at most: a frame's worth of bleeding or
# creeping is a thousandth of a pixel, and every pass over the whole canvas is the frame's biggest cost
# on a CPU rasterizer. Their amounts are per second, so a gathered pass moves the drawing as far.
EFFECT_STEP = 1.0 / 15.0
CANVAS_DTYPE = "f2"  # RGBA16F: half the memory and bandwidth of 32-bit floats, enough with the dithered rounding
_PASS_FLAGS = ("MOVING", "BLUR", "WARP", "HUE")


def release_framebuffer(ctx: moderngl.Context, fbo: moderngl.Framebuffer) -> None:
    """Release a framebuffer without leaving it bound: moderngl re-binds the "current" one
    after every clear, and a released one there is a GL_INVALID_OPERATION later."""
    if ctx.fbo is fbo:
        (ctx.screen or ctx.detect_framebuffer(0)).use()
    fbo.release()


def drift_matrix(scale: float, turn: float) -> tuple[float, float, float, float]:
    """`drift(p, scale, turn)` of shaders/common.glsl as a column-major 2x2 matrix."""
    c, s = math.cos(turn), math.sin(turn)
    return (scale * c, -scale * s, scale * s, scale * c)


class Canvas:
    def __init__(self, ctx: moderngl.Context, programs: ProgramCache, size: tuple[int, int], background):
        self.ctx = ctx
        self.programs = programs
        self._vaos: dict[int, moderngl.VertexArray] = {}  # no buffers: gl_VertexID makes the triangle
        self.view = programs.get("fullscreen.vert.glsl", "view.frag.glsl")
        self.view_vao = self._vao(self.view)
        # the canvas shown on a target of its own size (the usual frame): a texel a pixel, no filtering
        self.view_exact = programs.get("fullscreen.vert.glsl", "view.frag.glsl", {"EXACT": 1})
        self.view_exact_vao = self._vao(self.view_exact)
        self._passes = 0  # seeds the rounding's dither: the same show gives the same picture
        self.background = background
        self.decayed_until = 0.0  # scene time up to which the fade has been applied
        self.drifted_until = 0.0  # ... and the drift
        self.effected_until = 0.0  # ... and the effects (blur, warp, hue)
        self.size = (0, 0)
        self._front = self._back = None
        self._scratch = None  # (texture, framebuffer) for a layer drawn at a lower resolution
        self._allocate(size)
        self.clear()

    # -- storage -----------------------------------------------------------------------------
    def _make(self, size):
        texture = self.ctx.texture(size, 4, dtype=CANVAS_DTYPE)
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

    def _vao(self, program) -> moderngl.VertexArray:
        vao = self._vaos.get(id(program))
        if vao is None:
            vao = self._vaos[id(program)] = self.ctx.vertex_array(program, [])
        return vao

    def _feedback(self, moving=False, blur=False, warp=False, hue=False) -> moderngl.Program:
        """The feedback pass compiled for just these steps: a CPU rasterizer runs every branch of a
        shader, so a look pays only for what it uses (the variants are cached for the run)."""
        flags = (moving or warp, blur, warp, hue)
        defines = {name: int(bool(on)) for name, on in zip(_PASS_FLAGS, flags)}
        defines["HALF"] = int(CANVAS_DTYPE == "f2")
        return self.programs.get("fullscreen.vert.glsl", "feedback.frag.glsl", defines)

    def prepare(self, preset) -> None:
        """Compile, and run once into the spare buffer (a driver may compile at the first draw), every
        feedback variant the preset's canvas can ask for, with its MIDI knobs turned anywhere."""
        canvas = preset.canvas
        knobs = {control.target for control in getattr(preset, "controls", {}).values()}

        def possible(on: bool, *targets: str) -> tuple[bool, ...]:
            return (False, True) if on or knobs & set(targets) else (False,)

        warps = possible(canvas.warp > 0, "canvas.warp")
        turns = possible(canvas.drift.zoom != 1.0 or canvas.drift.rotate != 0.0, "canvas.drift.zoom",
                         "canvas.drift.rotate")
        variants = {(m or w, b, w, h) for m in turns for b in possible(canvas.blur > 0, "canvas.blur")
                    for w in warps for h in possible(canvas.hue != 0, "canvas.hue")}
        fbo = self._back[1]
        viewport = fbo.viewport
        fbo.viewport = (0, 0, 1, 1)  # one pixel of the buffer the next pass overwrites anyway
        try:
            for flags in sorted(variants):
                program = self._feedback(*flags)
                self._set(program, u_keep=1.0, u_drift=(1.0, 0.0, 0.0, 1.0), u_blur_px=1.0, u_warp_scale=1.0, u_canvas=0,
                          u_size=self.size, u_aspect=self.aspect, u_background=self.background)
                fbo.use()
                self._front[0].use(0)
                self.ctx.disable(moderngl.BLEND)
                self._vao(program).render(moderngl.TRIANGLES, vertices=3)
        finally:
            fbo.viewport = viewport

    @staticmethod
    def _set(program, **values) -> None:
        for name, value in values.items():
            uniform = program.get(name, None)
            if uniform is not None:
                uniform.value = value

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
        """A new background; the drawing moves with it (one pass), so it keeps its contrast and no
        patch of the old background is left behind."""
        new = parse_colour(colour)[:3]
        old = self.background
        if all(abs(a - b) < 1e-6 for a, b in zip(new, old)):
            return
        self.background = new
        program = self._feedback()
        self._set(program, u_keep=1.0, u_step=(0, 0))
        self._pass(program, offset=tuple(n - o for n, o in zip(new, old)))

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
    def advance(self, now: float, decay: float, zoom: float = 1.0, rotate: float = 0.0, shift=(0.0, 0.0),
                blur: float = 0.0, warp: float = 0.0, warp_scale: float = 3.0, hue: float = 0.0) -> None:
        """Fade, drift and (if the preset asks) blur, warp and turn the hue of the drawing up to
        `now` (scene seconds): one full-screen pass, or none.

        Fade and drift are gathered over frames until they are worth a pass: a fade too
        small for half floats would stall, and every drift pass resamples (blurs) the
        picture, so it waits until the corners would move by a pixel. Effects wait EFFECT_STEP.
        """
        keep = 1.0
        pending = now - self.decayed_until
        if decay > 0.0 and pending > 0.0:
            keep_now = (1.0 - decay) ** pending
            if keep_now <= 1.0 - _SMALLEST_FADE:
                keep, self.decayed_until = keep_now, now
        else:
            self.decayed_until = now
        still = zoom == 1.0 and rotate == 0.0 and shift[0] == 0.0 and shift[1] == 0.0
        sliding = zoom == 1.0 and rotate == 0.0 and not still and warp == 0.0
        moving = False
        step_pixels = (0, 0)
        drift_dt = now - self.drifted_until
        if sliding:
            # a pure slide moves by whole pixels (exact texels, no resampling blur); the time
            # that makes whole pixels is what counts as drifted, the rest waits for later frames
            per_second = (shift[0] * 0.5 * self.size[1], shift[1] * 0.5 * self.size[1])
            lead = max(abs(per_second[0]), abs(per_second[1]))
            whole = math.floor(lead * max(drift_dt, 0.0))
            if whole >= 1:
                used = whole / lead
                step_pixels = (round(per_second[0] * used), round(per_second[1] * used))
                self.drifted_until += used
        elif not still:
            corner = 0.5 * math.hypot(*self.size)
            pixels = (abs(zoom**drift_dt - 1.0) + abs(math.radians(rotate) * drift_dt)) * corner
            pixels += math.hypot(*shift) * drift_dt * 0.5 * self.size[1]
            moving = bool(pixels >= 1.0)
        if moving or drift_dt <= 0.0 or still:
            self.drifted_until = now
        effect_dt = now - self.effected_until
        effects = (blur > 0.0 or warp > 0.0 or hue != 0.0) and effect_dt >= EFFECT_STEP
        if effects or not (blur > 0.0 or warp > 0.0 or hue != 0.0):
            self.effected_until = now
        if keep == 1.0 and not moving and not effects and step_pixels == (0, 0):
            return  # nothing changes: skip the pass (at 4K on a CPU rasterizer that matters)
        program = self._feedback(moving, effects and blur > 0.0, effects and warp > 0.0, effects and hue != 0.0)
        self._set(
            program,
            u_keep=keep,
            u_drift=drift_matrix(zoom**-drift_dt, -math.radians(rotate) * drift_dt) if moving else (1.0, 0.0, 0.0, 1.0),
            u_shift=(shift[0] * drift_dt, shift[1] * drift_dt) if moving else (0.0, 0.0),
            u_step=step_pixels,
            u_blur=1.0 - math.exp(-12.0 * blur * effect_dt) if effects else 0.0,
            u_blur_px=max(1.0, self.size[1] / 540.0),
            u_warp=0.12 * warp * effect_dt if effects else 0.0,
            u_warp_scale=warp_scale,
            u_warp_time=0.2 * now,
            u_hue=math.radians(hue) * effect_dt if effects else 0.0,
        )
        self._pass(program)

    def _pass(self, program, offset=(0.0, 0.0, 0.0)) -> None:
        """One full-screen pass from the front canvas into the back one, then swap them."""
        self._passes = (self._passes + 1) % 65536
        self._set(program, u_background=self.background, u_offset=offset, u_aspect=self.aspect, u_size=self.size,
                  u_canvas=0, u_seed=self._passes)
        self._back[1].use()
        self._front[0].use(0)
        self.ctx.disable(moderngl.BLEND)
        self._vao(program).render(moderngl.TRIANGLES, vertices=3)
        self._front, self._back = self._back, self._front

    def rewrite(self, program, vao) -> None:
        """A custom shader's pass that reads the canvas (`u_canvas`) and writes the new one."""
        self._back[1].use()
        self._front[0].use(0)
        if program.get("u_canvas", None) is not None:
            program["u_canvas"].value = 0
        self.ctx.disable(moderngl.BLEND)
        vao.render(moderngl.TRIANGLES, vertices=3)
        self._front, self._back = self._back, self._front

    def scratch(self, size) -> moderngl.Framebuffer:
        """An 8-bit RGBA framebuffer of this size, sampled linearly (one, reused while the size holds)."""
        size = (int(size[0]), int(size[1]))
        if self._scratch is None or self._scratch[0].size != size:
            if self._scratch is not None:
                self._release(self._scratch)
            texture = self.ctx.texture(size, 4)
            texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
            texture.repeat_x = texture.repeat_y = False
            self._scratch = texture, self.ctx.framebuffer(color_attachments=[texture])
        return self._scratch[1]

    def keep_log(self, decay: float) -> float:
        """log of the share kept per second, for marks that pre-apply their own fade."""
        return math.log(1.0 - decay) if decay < 1.0 else -60.0

    def show(self, target: moderngl.Framebuffer, gain: float = 1.0, source=None, source_aspect=None,
             backdrop=None) -> None:
        """Draw the canvas (or `source`) onto a target of any size, by scene units.

        `backdrop`: (top tint, bottom tint, vignette) of a background layer, or None."""
        target.use()
        x, y, width, height = target.viewport
        exact = source is None and (width, height) == self.size
        program = self.view_exact if exact else self.view
        top, bottom, vignette = backdrop or ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0)
        self._set(program, u_background=self.background, u_source_aspect=source_aspect or self.aspect,
                  u_target_aspect=width / height, u_viewport=(x, y, width, height), u_gain=gain,
                  u_tint_top=tuple(top), u_tint_bottom=tuple(bottom), u_vignette=vignette, u_canvas=0)
        (source or self._front[0]).use(0)
        self.ctx.disable(moderngl.BLEND)
        (self.view_exact_vao if exact else self.view_vao).render(moderngl.TRIANGLES, vertices=3)

    def read(self) -> np.ndarray:
        """The canvas alone as HxWx3 uint8, top row first."""
        data = self.fbo.read(components=3, dtype="f1")
        return np.frombuffer(data, np.uint8).reshape(self.size[1], self.size[0], 3)[::-1].copy()

    def release(self) -> None:
        self._release(self._front)
        self._release(self._back)
        if self._scratch is not None:
            self._release(self._scratch)
            self._scratch = None
        for vao in self._vaos.values():
            vao.release()
        self._vaos.clear()
