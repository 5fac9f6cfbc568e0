"""Where a tap becomes a mark: the scene holds the canvas, the live marks and the preset's layers.

Time is injected: `render(now, target)` takes the time on the taps' own clock,
so live, offline and tests run the same code, and a fixed step gives the same
picture. Each mark is placed and faded by its tap's time, never by the frame
that happens to draw it.

A frame: the canvas fades, drifts and runs its effects (`advance`), layers add
marks no tap made (`tick`), custom shaders may rewrite the canvas, due marks are
stamped into it; then the picture is composed (`_draw_picture`): the canvas with
the background layer's light, the live marks and their glow, the layers' overlays
(the figure), custom shaders drawn over, and a crossfade from the previous look.

A new tap's attributes (its place in the tune, the beat and the bar) come from `render/tune.py`;
what custom shaders see of the newest taps is kept in `render/shader_taps.py`; the last taps'
attributes, which the detector's word changes, in `render/recent.py`; the live marks' books (which
tap a mark is of, the taps held back for the detector's word, which marks are due to be stamped,
what the GPU has not seen) in `render/live.py`.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from dessins_de_planche.events import CONFIRM_WINDOW, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW, SOURCE_AUDIO
from dessins_de_planche.preset.palettes import parse_colour
from dessins_de_planche.render import shader_layer  # its import registers the "shader" layer kind
from dessins_de_planche.render.canvas import Canvas, release_framebuffer
from dessins_de_planche.render.glsl import ProgramCache
from dessins_de_planche.render.layers import Frame, renderer_for
from dessins_de_planche.render.live import LiveMarks
from dessins_de_planche.render.marks import NO_TAP, MarkPainter
from dessins_de_planche.render.recent import RecentTaps
from dessins_de_planche.render.shader_taps import ShaderTaps
from dessins_de_planche.render.steady import steady_taps
from dessins_de_planche.render.transition import Crossfade
from dessins_de_planche.render.tune import TuneCounter

# How a provisional mark (a tap from the audio detector, which may withdraw it within CONFIRM_WINDOW)
# shows before the word on it: "grow" in from nothing over the window (the first light at once; a tap
# withdrawn early shows as a faint, small beginning), or "confirm": held back until it is confirmed
# (a refine record, or the window passed without a word), then drawn whole.
PROVISIONAL = ("grow", "confirm")
GROW_TIME = CONFIRM_WINDOW
SHADER_TAPS = shader_layer.MAX_TAPS  # recent taps handed to custom shaders


class Scene:
    def __init__(self, ctx: moderngl.Context, preset, size: tuple[int, int], programs: ProgramCache | None = None):
        self.ctx = ctx
        self._owns_programs = programs is None
        self.programs = programs or ProgramCache(ctx)
        self.painter = MarkPainter(ctx, self.programs)
        self.live = LiveMarks()  # the live marks' books: held taps, what the GPU has not seen
        self.canvas = Canvas(ctx, self.programs, size, parse_colour(preset.canvas.background)[:3])
        self.crossfade = Crossfade(ctx, self.programs)
        self.default_fade = 0.0  # s of crossfade when a preset does not say (the app sets its own)
        self.epoch: float | None = None  # master time of scene time 0 (keeps float32 times precise)
        self.time: float | None = None  # scene time of the last render
        self.level = 0.0
        self.brightness = 0.0
        self.rhythm = None  # the tempo tracker that came with the last taps
        self.drawing = None  # a `render.svg.Drawing` to record every mark into (for SVG export), or None
        self.take: tuple[float, float] | None = None  # first and last tap time of a recorded take (tune_fraction)
        self.provisional = "confirm"  # see PROVISIONAL
        self.recent = RecentTaps()  # the last taps' attributes, for the detector's word on them
        self.shader_taps = ShaderTaps(SHADER_TAPS)
        self.counter = TuneCounter()
        self._layer_base = 0  # layer codes of older presets stay apart from the current one's
        self._last_advance: float | None = None
        self._scratch: moderngl.Framebuffer | None = None
        self._vaos: dict[int, moderngl.VertexArray] = {}
        self.preset = None
        self.layers = []
        self.set_preset(preset)

    # -- control -----------------------------------------------------------------------------
    def build(self, preset) -> list:
        """The preset's layer renderers, with every program compiled: raises (ShaderError) before
        anything on stage changes, so a broken look never replaces the running one."""
        layers = [renderer_for(layer, self, preset.folder) for layer in preset.layers]
        self.canvas.prepare(preset)
        return layers

    def warm(self, preset, size=(64, 36)) -> list:
        """Build the preset and draw a few frames of it offscreen with this scene's programs, so the
        driver has compiled everything it will need (some compile at the first draw, not at link):
        switching to it later costs no more than a frame. Returns its layers."""
        layers = self.build(preset)
        scratch = Scene(self.ctx, preset, size, programs=self.programs)
        target = self.ctx.simple_framebuffer(size)
        try:
            scratch.add_taps(steady_taps(0.8), None)
            for frame in range(1, 9):
                scratch.render(0.1 * frame, target)
            scratch.set_preset(preset, fade=0.3)  # the crossfade's own program
            scratch.render(1.0, target)
            scratch.read_canvas()
        finally:
            scratch.release()
            release_framebuffer(self.ctx, target)
        return layers

    def set_preset(self, preset, fade: float | None = None, layers: list | None = None) -> None:
        """Swap the look, with a crossfade of `fade` seconds (None: the preset's own, else the
        scene's default; 0 is a hard cut). The drawing stays unless the preset wants a clean canvas."""
        layers = layers if layers is not None else self.build(preset)  # build fully, then swap
        if fade is None:
            fade = preset.fade if preset.fade is not None else self.default_fade
        if fade > 0 and self.time is not None and self.preset is not None:
            self.crossfade.capture(lambda fbo: self._draw_picture(fbo, transition=False),
                                   self.canvas.size, self.time, fade)
        else:
            self.crossfade.cancel()
        self._layer_base = (self._layer_base + 16) % 32768  # int16 layer codes; marks live seconds at most
        self.preset, self.layers = preset, layers
        self.canvas.set_background(preset.canvas.background)
        if preset.canvas.clean:
            self.clear()

    def tune(self, preset) -> None:
        """The same look with other numbers (a MIDI knob turned): layers keep their state,
        so a thread goes on from where it is."""
        if [layer.kind for layer in preset.layers] != [layer.kind for layer in self.preset.layers]:
            self.set_preset(preset, fade=0.0)
            return
        preset.set_folder(self.preset.folder)
        self.preset = preset
        for renderer, model in zip(self.layers, preset.layers):
            renderer.retune(model)
        self.canvas.set_background(preset.canvas.background)

    def pass_vao(self, program: moderngl.Program) -> moderngl.VertexArray:
        """A buffer-less vertex array for a full-screen pass, one per program."""
        vao = self._vaos.get(id(program))
        if vao is None:
            vao = self._vaos[id(program)] = self.ctx.vertex_array(program, [])
        return vao

    def set_levels(self, level: float, brightness: float) -> None:
        self.level = float(min(max(level, 0.0), 1.0))
        self.brightness = float(min(max(brightness, 0.0), 1.0))

    def resize(self, size) -> None:
        same_shape = abs(size[0] / size[1] - self.canvas.aspect) < 1e-2  # a render scale moved: the same picture
        self.canvas.resize(size)
        if not same_shape:  # the snapshot of the old look would be stretched
            self.crossfade.cancel()
        if self._scratch is not None:
            release_framebuffer(self.ctx, self._scratch)
            self._scratch = None

    def clear(self) -> None:
        self.canvas.clear()
        self.live.clear()
        self.counter.reset()
        self.shader_taps.clear()
        for layer in self.layers:
            layer.reset()

    # -- taps --------------------------------------------------------------------------------
    def add_taps(self, taps: np.ndarray, rhythm=None) -> None:
        """New taps become live marks; refine records change the kind, velocity and zone of theirs and
        confirm them; withdraw records take theirs away before they are stamped. A tap from the audio
        detector is provisional until its follow-up comes (or WORD_TIMEOUT passes without one); MIDI
        taps, and taps no detector follows up (attract mode), never wait for a withdraw."""
        if len(taps) == 0:
            return
        if rhythm is not None:
            self.rhythm = rhythm
        if self.epoch is None:
            self.epoch = float(taps["time"].min())
        firsts = taps[taps["refine"] == RECORD_FIRST]
        if len(firsts):
            audio = firsts["source"] == SOURCE_AUDIO
            self.live.hold(firsts["tap_id"][audio].tolist(), (firsts["detected_at"][audio] - self.epoch).tolist())
            in_order = firsts if len(firsts) == 1 else np.sort(firsts, order="time")
            attrs = self.counter.attributes(in_order, rhythm, self.level, self.brightness, self.take)
            self.recent.remember(attrs)
            aspect = self.canvas.aspect
            placed = False
            for index, layer in enumerate(self.layers):
                marks, ids = layer.marks_for(attrs, self.epoch, aspect)
                self._append(marks, ids, self._layer_base + index)
                if not placed and len(marks):
                    self._note_for_shaders(attrs, marks, ids)
                    placed = True
            if not placed:
                self._note_for_shaders(attrs, None, None)
        refines = taps[taps["refine"] == RECORD_REFINE]
        if len(refines):
            self._refine(refines)
            self._confirm(refines["tap_id"])
        withdrawn = taps[taps["refine"] == RECORD_WITHDRAW]
        if len(withdrawn):
            self._withdraw(withdrawn)

    def shown(self, tap_id: int) -> bool:
        """Whether this tap may show yet: not held back waiting for the detector's word on it."""
        return self.provisional == "grow" or int(tap_id) not in self.live.held

    def _note_for_shaders(self, attrs, marks, ids) -> None:
        """The newest taps and where their first mark landed, for custom shaders' u_taps/u_tap_pos."""
        self.shader_taps.note(attrs, marks, ids, self.live.held if self.provisional == "confirm" else ())

    def recent_taps(self, now: float):
        """(SHADER_TAPS x 4: age, kind, velocity, zone), (SHADER_TAPS x 2: x, y), how many are real."""
        return self.shader_taps.recent(now)

    def _append(self, marks: np.ndarray, ids: np.ndarray, layer: int, seen: np.ndarray | None = None,
                replace: bool = False) -> None:
        if len(marks):
            seen = self.recent.seen(ids, self.epoch, self.time or 0.0) if seen is None else seen
            marks = self.live.add(marks, ids, layer, seen, grow=self.provisional == "grow")
            if self.drawing is not None:
                self.drawing.add(layer - self._layer_base, marks, ids, replace=replace)

    def _refine(self, refines: np.ndarray) -> None:
        """The detector's word on taps: their kind, velocity and zone as it heard them at last. A layer
        redraws a tap's marks only if it reads what the word changed (a word that changes nothing: none)."""
        words = self.recent.hear(refines)  # row of recent -> the attributes the word changed
        if not words:
            return
        self.shader_taps.rekind(refines)
        for index, layer in enumerate(self.layers):
            rows = sorted(row for row, word in words.items() if layer.moved_by(word))
            if rows:
                marks, ids = layer.refine(self.recent.attrs[rows], self.epoch, self.canvas.aspect)
                self._replace(self._layer_base + index, marks, ids)

    def _replace(self, code: int, marks: np.ndarray, ids: np.ndarray) -> None:
        """A layer's new marks for these taps take the place of its old ones, where not yet stamped.
        A layer that gives none (it draws no marks, or the taps are not its) changes nothing."""
        if not len(ids):
            return
        marks, ids = self.live.make_room(code, marks, ids)
        self._append(marks, ids, code, replace=True)

    def _confirm(self, tap_ids) -> None:
        """These taps are final: their marks may be stamped, and show whole if they were held back."""
        ids = self.live.confirm(tap_ids)
        if ids and self.provisional == "confirm":
            self.shader_taps.set_valid(self.recent.times(ids), 1.0)

    def _withdraw(self, records: np.ndarray) -> None:
        """These taps were not feet: their marks go before they are stamped, and every layer forgets them."""
        held, gone = self.live.withdraw(np.unique(records["tap_id"]))  # a stamped mark stays (too late)
        if not held and not len(gone):
            return
        if self.drawing is not None:
            self.drawing.remove(gone)
        times, latest = self.recent.forget(gone)
        self.shader_taps.set_valid(times, 0.0)  # by the tap's own time (a forwarded record has none)
        if latest:  # the newest tap went: the next one counts on from the one before it
            self.counter.withdrawn(self.recent.attrs["time"], len(times))
        for index, layer in enumerate(self.layers):
            marks, marks_ids = layer.withdraw(gone, self.epoch, self.canvas.aspect)
            if len(marks):
                self._replace(self._layer_base + index, marks, marks_ids)

    # -- frames ------------------------------------------------------------------------------
    def frame(self, aspect: float) -> Frame:
        return Frame(self.time or 0.0, self.epoch or 0.0, aspect, self.rhythm, self.level)

    def _frame_uniforms(self, aspect: float, height: int) -> None:
        canvas = self.preset.canvas
        self.painter.set_frame(
            grow=GROW_TIME if self.provisional == "grow" else 0.0,
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
            shift=canvas.drift.shift,
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
        dt = self.time - (self._last_advance if self._last_advance is not None else self.time)
        self._last_advance = self.time
        c = self.preset.canvas
        self.canvas.advance(self.time, c.decay, c.drift.zoom, c.drift.rotate, c.drift.shift,
                            c.blur, c.warp, c.warp_scale, c.hue)
        frame = self.frame(self.canvas.aspect)
        for index, layer in enumerate(self.layers):
            if layer.draws_marks:
                extra = layer.tick(frame)
                if len(extra):
                    ids = np.full(len(extra), NO_TAP, np.uint32)
                    self._append(extra, ids, self._layer_base + index, seen=extra["t_tap"].astype(np.float64))
            else:
                layer.rewrite_canvas(self, frame, dt)

        live = self.live
        if live.held:  # no word within WORD_TIMEOUT (a tap no detector follows up): it stands
            silent = live.unheard(self.time)
            if silent:
                self._confirm(silent)
        due = live.due(self.time)
        if due is not None:
            self.canvas.fbo.use()
            self._frame_uniforms(self.canvas.aspect, self.canvas.size[1])
            self.painter.stamp(live.store.live[due])
            live.stamped(due)
        live.retire(self.time)
        live.upload(self.painter)

    def _backdrop(self):
        for layer in self.layers:
            light = layer.backdrop(self.canvas.background, self.level)
            if light is not None:
                return light
        return None

    @property
    def store(self):
        """The live marks themselves (`render/marks.py`'s MarkStore)."""
        return self.live.store

    def _draw_picture(self, target: moderngl.Framebuffer, transition: bool = True) -> None:
        self.canvas.show(target, backdrop=self._backdrop())
        if self.time is None:
            return
        width, height = target.viewport[2:]
        frame = self.frame(width / height)
        if self.store.count:
            self._frame_uniforms(width / height, height)
            self.painter.draw_live(self.store.count)
        for layer in self.layers:
            marks = layer.overlay(frame) if layer.draws_marks else None
            if marks is not None and len(marks):
                target.use()
                self._frame_uniforms(width / height, height)
                self.painter.stamp(marks)
            layer.draw_over(self, frame, target, 0.0)
        if transition:
            self.crossfade.draw(target, self.time)

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
        for vao in self._vaos.values():
            vao.release()
        self._vaos.clear()
        self.crossfade.release()
        self.canvas.release()
        self.painter.release()
        if self._owns_programs:
            self.programs.release()
