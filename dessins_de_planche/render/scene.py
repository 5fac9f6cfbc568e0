"""Where a tap becomes a mark: the scene holds the canvas, the live marks and the preset's layers.

Time is injected: `render(now, target)` takes the time on the taps' own clock,
so live, offline and tests run the same code, and a fixed step gives the same
picture. Each mark is placed and faded by its tap's time, never by the frame
that happens to draw it.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from dessins_de_planche.preset.mapping import TAP_ATTRS_DTYPE
from dessins_de_planche.preset.palettes import palette_array, parse_colour
from dessins_de_planche.render.canvas import Canvas, release_framebuffer
from dessins_de_planche.render.glsl import ProgramCache
from dessins_de_planche.render.layers import renderer_for
from dessins_de_planche.render.marks import MarkPainter, MarkStore

STAMP_DELAY = 0.030  # s after detection: a refine record (≤ 20 ms) still changes the live mark
TUNE_GAP = 10.0  # s of silence after which the next tap starts a new tune (tune_time from 0)
RECENT_TAPS = 64  # attributes kept for refine records


class Scene:
    def __init__(self, ctx: moderngl.Context, preset, size: tuple[int, int], programs: ProgramCache | None = None):
        self.ctx = ctx
        self._owns_programs = programs is None
        self.programs = programs or ProgramCache(ctx)
        self.painter = MarkPainter(ctx, self.programs)
        self.store = MarkStore()
        self.canvas = Canvas(ctx, self.programs, size, parse_colour(preset.canvas.background)[:3])
        self.epoch: float | None = None  # master time of scene time 0 (keeps float32 times precise)
        self.time: float | None = None  # scene time of the last render
        self.level = 0.0
        self.brightness = 0.0
        self._recent = np.zeros(0, TAP_ATTRS_DTYPE)
        self._tune_start: float | None = None
        self._last_tap: float | None = None
        self._dirty_from = 0  # first live mark whose bytes the GPU has not seen
        self._layer_base = 0  # layer codes of older presets stay apart from the current one's
        self._scratch: moderngl.Framebuffer | None = None
        self.preset = None
        self.layers = []
        self.set_preset(preset)

    # -- control -----------------------------------------------------------------------------
    def set_preset(self, preset) -> None:
        """Swap the look at once. The drawing stays (unless the preset wants a clean canvas)."""
        layers = [renderer_for(layer) for layer in preset.layers]  # build fully, then swap
        self._layer_base += 16
        self.preset, self.layers = preset, layers
        self.canvas.set_background(preset.canvas.background)
        if preset.canvas.clean:
            self.clear()

    def tune(self, preset) -> None:
        """The same look with other numbers (a MIDI knob turned): layers keep their state,
        so a thread goes on from where it is."""
        if [layer.kind for layer in preset.layers] != [layer.kind for layer in self.preset.layers]:
            self.set_preset(preset)
            return
        self.preset = preset
        for renderer, model in zip(self.layers, preset.layers):
            renderer.model = model
            renderer.palette = palette_array(model.palette)
        self.canvas.set_background(preset.canvas.background)

    def set_levels(self, level: float, brightness: float) -> None:
        self.level = float(min(max(level, 0.0), 1.0))
        self.brightness = float(min(max(brightness, 0.0), 1.0))

    def resize(self, size) -> None:
        self.canvas.resize(size)
        if self._scratch is not None:
            release_framebuffer(self.ctx, self._scratch)
            self._scratch = None

    def clear(self) -> None:
        self.canvas.clear()
        self.store.clear()
        self._dirty_from = 0
        self._tune_start = self._last_tap = None
        for layer in self.layers:
            layer.reset()

    # -- taps --------------------------------------------------------------------------------
    def add_taps(self, taps: np.ndarray, rhythm=None) -> None:
        """New taps become live marks; refine records change the kind/velocity of theirs."""
        if len(taps) == 0:
            return
        if self.epoch is None:
            self.epoch = float(taps["time"].min())
        firsts = taps[taps["refine"] == 0]
        if len(firsts):
            attrs = self._attributes(np.sort(firsts, order="time"), rhythm)
            self._remember(attrs)
            aspect = self.canvas.aspect
            for index, layer in enumerate(self.layers):
                marks, ids = layer.marks_for(attrs, self.epoch, aspect)
                self._append(marks, ids, self._layer_base + index)
        refines = taps[taps["refine"] == 1]
        if len(refines):
            self._refine(refines)

    def _attributes(self, taps: np.ndarray, rhythm) -> np.ndarray:
        attrs = np.zeros(len(taps), TAP_ATTRS_DTYPE)
        for name in ("time", "detected_at", "tap_id", "velocity", "kind", "zone"):
            attrs[name] = taps[name]
        bpm = float(getattr(rhythm, "bpm", 0.0) or 0.0) if rhythm is not None else 0.0
        attrs["tempo"] = bpm
        for i, time in enumerate(taps["time"].tolist()):  # a frame brings a handful of taps
            last = self._last_tap
            if last is None or time - last > TUNE_GAP:
                self._tune_start, interval = time, 0.0
            else:
                interval = max(time - last, 0.0)
            self._last_tap = time if last is None else max(time, last)
            attrs["interval"][i] = interval
            attrs["tune_time"][i] = time - self._tune_start
            if rhythm is not None:
                attrs["bar_phase"][i] = rhythm.bar_phase(time)
                attrs["beat_phase"][i] = rhythm.beat_phase(time)
        return attrs

    def _remember(self, attrs: np.ndarray) -> None:
        self._recent = np.concatenate([self._recent, attrs])[-RECENT_TAPS:]

    def _seen(self, ids: np.ndarray) -> np.ndarray:
        """Detection times (scene seconds) of recent taps by id."""
        order = np.argsort(self._recent["tap_id"], kind="stable")
        sorted_ids = self._recent["tap_id"][order]
        where = np.clip(np.searchsorted(sorted_ids, ids), 0, len(order) - 1)
        return self._recent["detected_at"][order][where] - self.epoch

    def _append(self, marks: np.ndarray, ids: np.ndarray, layer: int) -> None:
        if len(marks):
            self._dirty_from = min(self._dirty_from, self.store.count)
            self.store.append(marks, ids, layer, self._seen(ids))

    def _refine(self, refines: np.ndarray) -> None:
        recent = self._recent
        changed = np.zeros(len(recent), bool)
        for record in refines:  # a few per frame at most
            hit = np.flatnonzero(recent["tap_id"] == record["tap_id"])
            if len(hit):
                recent["kind"][hit] = record["kind"]
                recent["velocity"][hit] = record["velocity"]
                changed[hit] = True
        if not changed.any():
            return
        store = self.store
        for index, layer in enumerate(self.layers):
            code = self._layer_base + index
            marks, ids = layer.refine(recent[changed], self.epoch, self.canvas.aspect)
            mine = store.layer[: store.count] == code
            old = mine & np.isin(store.tap_id[: store.count], ids)
            stamped_ids = np.unique(store.tap_id[: store.count][old & (store.live["stamped"] != 0)])
            fresh = ~np.isin(ids, stamped_ids)  # the canvas cannot be redrawn: leave those be
            store.keep(~(old & np.isin(store.tap_id[: store.count], ids[fresh])))
            self._dirty_from = 0
            self._append(marks[fresh], ids[fresh], code)

    # -- frames ------------------------------------------------------------------------------
    def _frame_uniforms(self, aspect: float, height: int) -> None:
        canvas = self.preset.canvas
        self.painter.set_frame(
            aspect=aspect,
            pixel=2.0 / height,
            now=self.time,
            decayed_until=self.canvas.decayed_until,
            drifted_until=self.canvas.drifted_until,
            keep_log=self.canvas.keep_log(canvas.decay),
            background=self.canvas.background,
            zoom=math.log(canvas.drift.zoom),
            rotate=math.radians(canvas.drift.rotate),
            level=self.level,
        )

    def render(self, now: float, target: moderngl.Framebuffer) -> None:
        """Advance to `now` (same clock as tap.time) and draw the canvas and the live marks on target."""
        self.advance(now)
        self._draw_picture(target)

    def advance(self, now: float) -> None:
        """Fade and drift the canvas up to `now`, stamp the marks that are due, retire spent ones."""
        now = float(now)
        if self.epoch is None:
            self.epoch = now
        time = now - self.epoch
        self.time = time if self.time is None else max(time, self.time)
        canvas = self.preset.canvas
        self.canvas.advance(self.time, canvas.decay, canvas.drift.zoom, canvas.drift.rotate)

        store = self.store
        if store.count:
            live = store.live
            stamped = live["stamped"]
            due = (stamped == 0) & (self.time - store.seen[: store.count] >= STAMP_DELAY)
            if due.any():
                self.canvas.fbo.use()
                self._frame_uniforms(self.canvas.aspect, self.canvas.size[1])
                self.painter.stamp(live[due])
                stamped[due] = 1.0
                self._dirty_from = min(self._dirty_from, int(np.argmax(due)))
            expired = (stamped != 0) & (self.time >= live["t_tap"] + live["life"])
            if expired.any():
                store.keep(~expired)
                self._dirty_from = 0
        if self._dirty_from < store.count:
            self.painter.upload(store.live, self._dirty_from)
        self._dirty_from = store.count

    def _draw_picture(self, target: moderngl.Framebuffer) -> None:
        self.canvas.show(target)
        if self.store.count and self.time is not None:
            width, height = target.viewport[2:]
            self._frame_uniforms(width / height, height)
            self.painter.draw_live(self.store.count)

    def read_canvas(self) -> np.ndarray:
        """The current picture (canvas and live marks) at canvas size, HxWx3 uint8, top row first."""
        width, height = self.canvas.size
        if self._scratch is None:
            self._scratch = self.ctx.simple_framebuffer((width, height), components=4)
        self._draw_picture(self._scratch)
        data = self._scratch.read(components=3, dtype="f1")
        return np.frombuffer(data, np.uint8).reshape(height, width, 3)[::-1].copy()

    def release(self) -> None:
        """Free the GL objects of this scene (and its programs, unless the cache was handed in)."""
        if self._scratch is not None:
            release_framebuffer(self.ctx, self._scratch)
            self._scratch = None
        self.canvas.release()
        self.painter.release()
        if self._owns_programs:
            self.programs.release()
