"""Live marks: the taps of the last moments, drawn as instances over the canvas.

A mark arrives with a flash; some 30 ms after its tap was detected (time enough
for a refine record to change its kind, or a withdraw record to take it back) it
is stamped into the canvas with its fade and drift pre-applied, and its glow lives
on until its `life` is over. Until its tap is confirmed a mark is provisional: it
grows in from `t_show` (or is held back, see `render/scene.py`), so a withdrawn
tap can be removed before anyone saw it.
CPU side: one preallocated numpy record array (grown rarely, by doubling);
GPU side: the same bytes in one instance buffer. Nothing here loops per mark.
"""

from __future__ import annotations

import moderngl
import numpy as np

from dessins_de_planche.preset.shapes import GLSL_DEFINES
from dessins_de_planche.render.glsl import ProgramCache

# The instance layout the marks shader reads (scene units; times in s since the scene's epoch).
MARK_DTYPE = np.dtype(
    [
        ("p0", "<f4", 2),
        ("p1", "<f4", 2),
        ("width", "<f4"),
        ("color", "<f4", 4),
        ("t_tap", "<f4"),
        ("life", "<f4"),
        ("shape", "<f4"),  # the shape's code (`preset/shapes.py`)
        ("glow", "<f4"),
        ("stamped", "<f4"),
        ("t_show", "<f4"),  # a live mark grows in from here (s since epoch); HELD while its tap may be withdrawn
    ]
)
_LAYOUT = ("2f 2f 1f 4f 1f 1f 1f 1f 1f 1f/i", "in_p0", "in_p1", "in_width", "in_color", "in_t_tap", "in_life",
           "in_shape", "in_glow", "in_stamped", "in_t_show")
SHOWN = -1.0e6  # t_show of a mark that is there at once (a MIDI tap, a beat line)
HELD = 1.0e9  # t_show of a mark held back until its tap is confirmed
NO_TAP = np.uint32(0xFFFFFFFF)  # the tap id of marks no tap made (a lane's beat lines)
MODE_BODY, MODE_GLOW = 0, 1
DEFINES = {"MODE_BODY": MODE_BODY, "MODE_GLOW": MODE_GLOW, **GLSL_DEFINES}  # the shaders' #defines


class MarkStore:
    """Marks with their bookkeeping (tap id, layer, detection time), in parallel numpy arrays."""

    def __init__(self, capacity: int = 1024):
        self.count = 0
        self.marks = np.zeros(capacity, MARK_DTYPE)
        self.tap_id = np.zeros(capacity, np.uint32)
        self.layer = np.zeros(capacity, np.int16)
        self.seen = np.zeros(capacity, np.float64)  # detected_at, scene seconds
        self.pending = np.zeros(capacity, bool)  # its tap may still be withdrawn: not stamped yet

    @property
    def live(self) -> np.ndarray:
        return self.marks[: self.count]

    def _grow(self, needed: int) -> None:
        capacity = len(self.marks)
        while capacity < needed:
            capacity *= 2
        for name in ("marks", "tap_id", "layer", "seen", "pending"):
            old = getattr(self, name)
            new = np.zeros(capacity, old.dtype)
            new[: self.count] = old[: self.count]
            setattr(self, name, new)

    def append(self, marks: np.ndarray, tap_id: np.ndarray, layer: int, seen: np.ndarray,
               pending: np.ndarray | bool = False) -> None:
        n = len(marks)
        if self.count + n > len(self.marks):
            self._grow(self.count + n)
        end = self.count + n
        self.marks[self.count : end] = marks
        self.tap_id[self.count : end] = tap_id
        self.layer[self.count : end] = layer
        self.seen[self.count : end] = seen
        self.pending[self.count : end] = pending
        self.count = end

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the marks where mask is true (mask covers the live marks), in order."""
        kept = int(mask.sum())
        for name in ("marks", "tap_id", "layer", "seen", "pending"):
            array = getattr(self, name)
            array[:kept] = array[: self.count][mask]
        self.count = kept

    def clear(self) -> None:
        self.count = 0


class MarkPainter:
    """Draws mark records: bodies over a target or into the canvas, and the arrival glow."""

    def __init__(self, ctx: moderngl.Context, programs: ProgramCache, capacity: int = 1024):
        self.ctx = ctx
        self.program = programs.get("marks.vert.glsl", "marks.frag.glsl", DEFINES)
        self.capacity = 0
        self.buffer = self.vao = None
        self._ensure(capacity)
        self.stamp_buffer = ctx.buffer(reserve=64 * MARK_DTYPE.itemsize)
        self.stamp_vao = ctx.vertex_array(self.program, [(self.stamp_buffer, *_LAYOUT)])
        self.stamp_capacity = 64

    def _ensure(self, count: int) -> None:
        if count <= self.capacity:
            return
        capacity = max(1024, self.capacity)
        while capacity < count:
            capacity *= 2
        if self.vao is not None:
            self.vao.release()
            self.buffer.release()
        self.buffer = self.ctx.buffer(reserve=capacity * MARK_DTYPE.itemsize, dynamic=True)
        self.vao = self.ctx.vertex_array(self.program, [(self.buffer, *_LAYOUT)])
        self.capacity = capacity

    def upload(self, live: np.ndarray, start: int = 0) -> None:
        """Write live[start:] into the instance buffer (the rest is unchanged there)."""
        if len(live) > self.capacity:
            self._ensure(len(live))
            start = 0
        if start < len(live):
            self.buffer.write(live[start:].tobytes(), offset=start * MARK_DTYPE.itemsize)

    def set_frame(self, *, aspect, pixel, now, decayed_until, drifted_until, keep_log, background, zoom, rotate, level,
                  shift=(0.0, 0.0), grow=0.0):
        """Uniforms shared by every draw of this frame (drift as log-zoom and radians per second;
        `grow`: seconds a live mark takes to grow in from its `t_show`, 0 for at once)."""
        p = self.program
        p["u_grow"].value = grow
        p["u_aspect"].value = aspect
        p["u_pixel"].value = pixel
        p["u_now"].value = now
        p["u_decayed_until"].value = decayed_until
        p["u_drifted_until"].value = drifted_until
        p["u_keep_log"].value = keep_log
        p["u_background"].value = background
        p["u_zoom_log"].value = zoom
        p["u_turn_rate"].value = rotate
        p["u_level"].value = level
        p["u_shift"].value = tuple(shift)

    def _draw(self, vao, count: int, mode: int, live: bool) -> None:
        if count == 0:
            return
        self.program["u_mode"].value = mode
        self.program["u_live"].value = live
        self.ctx.enable(moderngl.BLEND)
        if mode == MODE_GLOW:
            self.ctx.blend_func = moderngl.ONE, moderngl.ONE
        else:
            self.ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=count)
        self.ctx.disable(moderngl.BLEND)

    def stamp(self, marks: np.ndarray) -> None:
        """Draw these marks' bodies into the bound framebuffer (the canvas, or a frame's overlay)."""
        if len(marks) > self.stamp_capacity:
            self.stamp_capacity = 1 << (len(marks) - 1).bit_length()
            self.stamp_vao.release()
            self.stamp_buffer.release()
            self.stamp_buffer = self.ctx.buffer(reserve=self.stamp_capacity * MARK_DTYPE.itemsize)
            self.stamp_vao = self.ctx.vertex_array(self.program, [(self.stamp_buffer, *_LAYOUT)])
        self.stamp_buffer.write(marks.tobytes())
        self._draw(self.stamp_vao, len(marks), MODE_BODY, live=False)

    def draw_live(self, count: int) -> None:
        """Over the bound target: bodies not yet stamped, then every glow still alive."""
        self._draw(self.vao, count, MODE_BODY, live=True)
        self._draw(self.vao, count, MODE_GLOW, live=True)

    def release(self) -> None:
        for obj in (self.vao, self.buffer, self.stamp_vao, self.stamp_buffer):
            obj.release()
