"""Layer kinds: how a preset layer turns tap attributes into marks.

A registry (`LAYER_RENDERERS`, kind -> class) rather than an if-chain: a new kind
is a model in `preset/model.py` (whose `kind` names it) plus a class here registered
against that model. A renderer may

- `marks_for` new taps (and `refine` them when a tap's kind or velocity changes, `withdraw`
  them when the detector takes a tap back),
- `tick` each frame (marks no tap made: a lane's beat lines, stamped like the others),
- `overlay` each frame (marks drawn over the picture and never kept: the dancing figure).

Background and custom-shader layers draw no marks (`draws_marks` False); they give the
picture their light (`backdrop`) or their passes (`rewrite_canvas`, `draw_over`: see
`render/shader_layer.py`). Every renderer has every one of these (the base does nothing),
so the scene calls them on each layer and never asks which kind it is.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dessins_de_planche.preset.expr import stable_hash
from dessins_de_planche.preset.mapping import evaluate, evaluate_colour
from dessins_de_planche.preset.model import (BackgroundLayer, FigureLayer, LanesLayer, Layer, MarksLayer,
                                             ParticlesLayer, PathLayer, kind_of)
from dessins_de_planche.preset.palettes import palette_array, parse_colour
from dessins_de_planche.preset.shapes import ELONGATED, SHAPES
from dessins_de_planche.render.marks import MARK_DTYPE, NO_TAP

_NO_MARKS = np.zeros(0, MARK_DTYPE)
_NO_IDS = np.zeros(0, np.uint32)


class Frame(NamedTuple):
    """What a layer may know about the frame being drawn."""

    time: float  # scene seconds
    epoch: float  # master time of scene time 0
    aspect: float
    rhythm: object  # the tempo tracker (or None before any tap)
    level: float


def beat_clock(rhythm):
    """(beat position at master time t, seconds per beat) from a tempo tracker, or None without a tempo."""
    if rhythm is None:
        return None
    period = getattr(rhythm, "beat_period", None)
    bpm = getattr(rhythm, "bpm", None)
    if period is None and bpm:
        period = 60.0 / float(bpm)
    if not period:
        return None
    position = getattr(rhythm, "beat_position", None)
    if position is None:
        return (lambda t: t / period), period
    return position, period


class LayerRenderer:
    """Base: the layer's model, its palette as an array, the scene's epoch for relative times."""

    draws_marks = True

    def __init__(self, model, scene=None, folder=None):
        self.model = model
        self.palette = palette_array(model.palette) if hasattr(model, "palette") else None

    def retune(self, model) -> None:
        """The same layer with other numbers (a MIDI knob): keep the drawing state."""
        self.model = model
        if hasattr(model, "palette"):
            self.palette = palette_array(model.palette)

    def _common(self, attrs: np.ndarray, epoch: float, aspect: float = 1.0) -> np.ndarray:
        m = self.model
        env = {"aspect": aspect}
        marks = np.zeros(len(attrs), MARK_DTYPE)
        marks["width"] = evaluate(m.map.size, attrs, m.size, env, "size")
        colour = evaluate_colour(m.map.color, attrs, self.palette, env)
        marks["color"][:, :3] = colour[:, :3]
        marks["color"][:, 3] = colour[:, 3] * evaluate(m.map.opacity, attrs, m.opacity, env, "opacity")
        marks["t_tap"] = attrs["time"] - epoch
        marks["life"] = evaluate(m.map.life, attrs, m.life, env, "life")
        marks["glow"] = m.glow
        return marks

    def _placed(self, attrs: np.ndarray, aspect: float):
        """Centre (angle/radius around x/y) and the outward direction (with tilt) of each tap."""
        m = self.model
        env = {"aspect": aspect}
        angle = np.radians(evaluate(m.map.angle, attrs, m.angle, env, "angle") + m.spin * attrs["tune_time"])
        radius = evaluate(m.map.radius, attrs, m.radius, env, "radius")
        outward = np.stack([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)
        centre = np.stack([evaluate(m.map.x, attrs, m.x, env, "x"), evaluate(m.map.y, attrs, m.y, env, "y")], axis=1)
        centre += outward * radius[:, None]
        heading = angle + np.radians(evaluate(m.map.tilt, attrs, m.tilt, env, "tilt"))
        direction = np.stack([np.sin(heading), np.cos(heading)], axis=1).astype(np.float32)
        return centre, direction

    def marks_for(self, attrs: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Marks for new taps, and for each mark the id of the tap it belongs to."""
        return _NO_MARKS, _NO_IDS

    def refine(self, attrs: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Marks for taps whose kind/velocity changed (attrs hold the new values)."""
        return self.marks_for(attrs, epoch, aspect)

    def withdraw(self, tap_ids: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Forget these taps (they were not feet; the scene has removed their marks). Returns new marks
        for later taps whose marks depended on them (they replace those taps' marks), usually none."""
        return _NO_MARKS, _NO_IDS

    def tick(self, frame: Frame) -> np.ndarray:
        """Marks no tap made, due this frame (stamped into the canvas like the others)."""
        return _NO_MARKS

    def overlay(self, frame: Frame) -> np.ndarray | None:
        """Marks drawn over this frame only (never kept in the canvas)."""
        return None

    def backdrop(self, background, level: float):
        """The light behind the drawing, (top, bottom, vignette), or None: this layer gives none."""
        return None

    def rewrite_canvas(self, scene, frame: Frame, dt: float) -> None:
        """A pass over the kept canvas each frame, before the due marks are stamped (a custom shader)."""

    def draw_over(self, scene, frame: Frame, target, dt: float) -> None:
        """A pass over the composed picture each frame, never kept (a custom shader)."""

    def reset(self) -> None:
        """Forget drawing state (a cleared canvas)."""


class MarksLayerRenderer(LayerRenderer):
    """One mark per tap at (x, y) + radius in the direction of angle (0 = top, clockwise).

    `spin` turns the whole clock face with the tune's time, so marks at the same
    place in the bar wind into spiral arms instead of piling up on one spoke.
    `link` joins each tap's mark to the previous one (a constellation's lines).
    """

    RECENT = 64

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.last_id = None
        self.centre_of: dict[int, np.ndarray] = {}
        self.previous_of: dict[int, int | None] = {}

    def _shapes(self, attrs):
        shape = self.model.shape
        if isinstance(shape, str):
            return np.full(len(attrs), SHAPES[shape], np.float32), np.full(len(attrs), shape in ELONGATED)
        names = [shape.unknown, shape.heel, shape.toe]
        slot = np.clip(attrs["kind"].astype(np.intp), 0, 2)
        codes = np.array([SHAPES[n] for n in names], np.float32)[slot]
        long = np.array([n in ELONGATED for n in names])[slot]
        return codes, long

    def _marks(self, attrs, epoch, aspect):
        m = self.model
        marks = self._common(attrs, epoch, aspect)
        centre, direction = self._placed(attrs, aspect)
        codes, long = self._shapes(attrs)
        # petals and strokes reach along their direction; glyphs only take their turn from it
        reach = np.where(long, marks["width"] * m.stretch * 0.5, marks["width"] * 0.01)
        half = direction * reach[:, None]
        marks["p0"] = centre - half
        marks["p1"] = centre + half
        marks["shape"] = codes
        return marks, centre

    def _links(self, marks, centre, ids, previous_ids):
        m = self.model
        starts = [self.centre_of.get(p) if p is not None else None for p in previous_ids]
        keep = [i for i, s in enumerate(starts)
                if s is not None and float(np.hypot(*(centre[i] - s))) <= m.link_reach]
        if not keep:
            return _NO_MARKS, _NO_IDS
        links = marks[keep].copy()
        links["p0"] = np.array([starts[i] for i in keep], np.float32)
        links["p1"] = centre[keep]
        links["width"] *= m.link
        links["color"][:, 3] *= m.link_opacity
        links["shape"] = SHAPES["stroke"]
        links["glow"] = 0.0
        return links, ids[keep]

    def _remember(self, ids, centre, previous_ids):
        for tap_id, point, previous in zip(ids.tolist(), centre, previous_ids):
            self.centre_of[tap_id] = point.copy()
            self.previous_of[tap_id] = previous
        while len(self.centre_of) > self.RECENT:
            oldest = next(iter(self.centre_of))
            del self.centre_of[oldest]
            self.previous_of.pop(oldest, None)

    def marks_for(self, attrs, epoch, aspect):
        marks, centre = self._marks(attrs, epoch, aspect)
        ids = attrs["tap_id"].copy()
        if self.model.link <= 0:
            return marks, ids
        previous_ids = [self.last_id] + ids[:-1].tolist()
        links, link_ids = self._links(marks, centre, ids, previous_ids)
        self._remember(ids, centre, previous_ids)
        if len(ids):
            self.last_id = int(ids[-1])
        return np.concatenate([links, marks]), np.concatenate([link_ids, ids])

    def refine(self, attrs, epoch, aspect):
        marks, centre = self._marks(attrs, epoch, aspect)
        ids = attrs["tap_id"].copy()
        if self.model.link <= 0:
            return marks, ids
        previous_ids = [self.previous_of.get(int(i)) for i in ids]
        self._remember(ids, centre, previous_ids)
        links, link_ids = self._links(marks, centre, ids, previous_ids)
        return np.concatenate([links, marks]), np.concatenate([link_ids, ids])


    def withdraw(self, tap_ids, epoch, aspect):
        """The next tap links to the last one still standing."""
        gone = set(int(t) for t in tap_ids)
        while self.last_id in gone:
            self.last_id = self.previous_of.get(self.last_id)
        for tap_id in gone:
            self.centre_of.pop(tap_id, None)
            self.previous_of.pop(tap_id, None)
        return _NO_MARKS, _NO_IDS


class ParticlesLayerRenderer(LayerRenderer):
    """A burst of `count` streaks per tap, fanned `spread` degrees around its direction.

    The scatter comes from the tap's id, so the same performance bursts the same way.
    """

    def marks_for(self, attrs, epoch, aspect):
        m = self.model
        n = m.count
        common = self._common(attrs, epoch, aspect)
        centre, direction = self._placed(attrs, aspect)
        reach = evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        seed = attrs["tap_id"].astype(np.float64)[:, None] * 97.0 + np.arange(n)[None, :] * 13.0
        base = np.arctan2(direction[:, 0], direction[:, 1])[:, None]
        heading = base + np.radians(m.spread) * (stable_hash(seed) - 0.5)
        distance = reach[:, None] * (0.35 + 0.65 * stable_hash(seed + 5.0))
        unit = np.stack([np.sin(heading), np.cos(heading)], axis=2)
        tips = centre[:, None, :] + unit * distance[..., None]
        tails = centre[:, None, :] + unit * (distance * (1.0 - m.streak))[..., None]
        marks = np.repeat(common, n)
        marks["p0"] = tails.reshape(-1, 2)
        marks["p1"] = tips.reshape(-1, 2)
        marks["width"] *= (0.35 + 0.65 * stable_hash(seed + 11.0)).reshape(-1)
        marks["shape"] = SHAPES["stroke"]
        return marks, np.repeat(attrs["tap_id"], n)


class LanesLayerRenderer(LayerRenderer):
    """A score: one lane per zone, heel low and toe high in it, written at the playhead.

    The canvas's `drift.shift` carries what is written away from the playhead, so the
    last bars scroll past like a piano roll; a line marks each beat, a stronger one each bar.
    """

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.next_beat = None

    def _rows(self, attrs):
        m = self.model
        lane_height = m.height / m.lanes
        lane = np.mod(attrs["zone"].astype(np.intp), m.lanes)
        centre = m.height / 2 - (lane + 0.5) * lane_height
        offset = np.array([0.0, -0.22, 0.22], np.float32)[np.clip(attrs["kind"].astype(np.intp), 0, 2)]
        return centre + offset * lane_height

    def marks_for(self, attrs, epoch, aspect):
        m = self.model
        marks = self._common(attrs, epoch, aspect)
        y = self._rows(attrs)
        half = 0.5 * evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        half = np.minimum(half, 0.2 * m.height / m.lanes)
        marks["p0"] = np.stack([np.full(len(attrs), m.playhead), y - half], axis=1)
        marks["p1"] = np.stack([np.full(len(attrs), m.playhead), y + half], axis=1)
        marks["shape"] = SHAPES["stroke"]
        return marks, attrs["tap_id"].copy()

    def tick(self, frame):
        m = self.model
        clock = beat_clock(frame.rhythm)
        if clock is None or (m.beat_lines <= 0 and m.bar_lines <= 0):
            return _NO_MARKS
        position, period = clock
        now = frame.epoch + frame.time
        current = math.floor(position(now))
        if self.next_beat is None or self.next_beat > current + 1 or self.next_beat < current - 4:
            self.next_beat = current + 1
            return _NO_MARKS
        beats = list(range(self.next_beat, current + 1))
        if not beats:
            return _NO_MARKS
        self.next_beat = current + 1
        lines = np.zeros(len(beats), MARK_DTYPE)
        bar_phase = getattr(frame.rhythm, "bar_phase", None)
        for i, beat in enumerate(beats):
            when = now - (position(now) - beat) * period
            downbeat = bar_phase is not None and min(bar_phase(when), 1.0 - bar_phase(when)) < 0.05
            strength = m.bar_lines if downbeat else m.beat_lines
            lines[i]["p0"] = (m.playhead, -m.height / 2)
            lines[i]["p1"] = (m.playhead, m.height / 2)
            lines[i]["width"] = 0.0025 if downbeat else 0.0012
            lines[i]["color"] = (*self.palette[min(2, len(self.palette) - 1), :3], strength)
            lines[i]["t_tap"] = when - frame.epoch
            lines[i]["life"] = 0.01
        return lines[lines["color"][:, 3] > 0]

    def overlay(self, frame):
        """The lane dividers and the playhead: fixed on screen, so drawn each frame, not kept."""
        m = self.model
        edges = m.height / 2 - np.arange(m.lanes + 1) * (m.height / m.lanes)
        marks = np.zeros(len(edges) + 1, MARK_DTYPE)
        grey = self.palette[min(2, len(self.palette) - 1), :3]
        marks["p0"][:-1] = np.stack([np.full(len(edges), -frame.aspect), edges], axis=1)
        marks["p1"][:-1] = np.stack([np.full(len(edges), frame.aspect), edges], axis=1)
        marks["width"][:-1] = 0.0015
        marks["color"][:-1] = (*grey, 0.35)
        marks["p0"][-1] = (m.playhead + 0.02, -m.height / 2)
        marks["p1"][-1] = (m.playhead + 0.02, m.height / 2)
        marks["width"][-1] = 0.002
        marks["color"][-1] = (*grey, 0.25 + 0.5 * frame.level)
        marks["t_tap"] = frame.time
        return marks


class FigureLayerRenderer(LayerRenderer):
    """A step dancer in profile (facing right) whose feet strike with the taps.

    A heel tap plants the heel with the toe raised; a toe tap the toe with the heel
    raised; the foot then lifts a little and settles. The body dips on each beat.
    Each strike leaves a print on the floor (heel: a wide bar, toe: a small dot),
    which the canvas's drift carries away behind the dancer.
    """

    STRIKES = 4  # kept per foot: a strike still held back (its tap may be withdrawn) shows the one before

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.body = np.array(parse_colour(model.body), np.float32)
        self.scene = scene
        self.reset()

    def retune(self, model) -> None:
        super().retune(model)
        self.body = np.array(parse_colour(model.body), np.float32)

    def reset(self) -> None:
        # per foot, oldest first: master time of a strike, its kind, its colour, its tap
        self.strikes = [[(-1e9, 1, np.zeros(4, np.float32), int(NO_TAP))],
                        [(-1e9, 2, np.zeros(4, np.float32), int(NO_TAP))]]
        self.count = 0
        self.counted: list[int] = []  # the last taps that took a turn of the feet, in order

    def _strike(self, foot: int):
        """The foot's last strike that may show (a tap held back until it is confirmed does not move it)."""
        for strike in reversed(self.strikes[foot]):
            if strike[3] == NO_TAP or self.scene is None or self.scene.shown(strike[3]):
                return strike
        return self.strikes[foot][0]

    def _geometry(self):
        m = self.model
        h = m.height
        return h, 0.13 * h, 0.095 * h  # height, foot length, hip spacing

    def _foot_x(self, foot: int) -> float:
        h, foot_len, spacing = self._geometry()
        return self.model.x + (foot - 0.5) * spacing * 1.6

    def marks_for(self, attrs, epoch, aspect):
        m = self.model
        common = self._common(attrs, epoch, aspect)
        feet = np.zeros(len(attrs), np.intp)
        for i in range(len(attrs)):  # a frame brings a handful of taps
            foot = int(attrs["zone"][i]) % 2 if m.feet == "zone" else self.count % 2
            self.count += 1
            self.counted = [*self.counted[-7:], int(attrs["tap_id"][i])]
            feet[i] = foot
            strikes = self.strikes[foot]
            strikes.append((float(attrs["time"][i]), int(attrs["kind"][i]), common["color"][i].copy(),
                            int(attrs["tap_id"][i])))
            del strikes[: -self.STRIKES]
        return self._prints(common, attrs, feet), attrs["tap_id"].copy()

    def refine(self, attrs, epoch, aspect):
        common = self._common(attrs, epoch, aspect)
        feet = np.zeros(len(attrs), np.intp)
        for i in range(len(attrs)):
            for foot, strikes in enumerate(self.strikes):
                for k, (when, _, _, tap_id) in enumerate(strikes):
                    if tap_id == int(attrs["tap_id"][i]):
                        feet[i] = foot
                        strikes[k] = (when, int(attrs["kind"][i]), common["color"][i].copy(), tap_id)
        return self._prints(common, attrs, feet), attrs["tap_id"].copy()

    def withdraw(self, tap_ids, epoch, aspect):
        """The feet forget the strike (the figure never moved for it), and the next tap takes its turn."""
        gone = set(int(t) for t in tap_ids)
        for foot, strikes in enumerate(self.strikes):
            kept = [strike for strike in strikes if strike[3] not in gone]
            self.strikes[foot] = kept or [(-1e9, foot + 1, np.zeros(4, np.float32), int(NO_TAP))]
        while self.counted and self.counted[-1] in gone:
            self.counted.pop()
            self.count -= 1
        self.counted = [tap_id for tap_id in self.counted if tap_id not in gone]
        return _NO_MARKS, _NO_IDS

    def _prints(self, common, attrs, feet):
        m = self.model
        if m.prints <= 0:
            return _NO_MARKS
        h, foot_len, _ = self._geometry()
        x = np.array([self._foot_x(f) for f in feet], np.float32)
        heel = attrs["kind"] == 1
        # a heel leaves a broad bar under the heel, a toe a round dot under the toes
        x += np.where(heel, 0.0, foot_len * 0.9)
        half = np.where(heel, 0.04 * h * m.prints, 0.0)
        y = m.floor - 0.035 * h
        prints = common.copy()
        prints["p0"] = np.stack([x - half, np.full(len(x), y)], axis=1)
        prints["p1"] = np.stack([x + half, np.full(len(x), y)], axis=1)
        prints["width"] *= m.prints
        prints["shape"] = SHAPES["stroke"]
        return prints

    def overlay(self, frame):
        m = self.model
        h, foot_len, spacing = self._geometry()
        now = frame.epoch + frame.time
        clock = beat_clock(frame.rhythm)
        beat = (clock[0](now) % 1.0) if clock else 0.0
        dip = 0.035 * h * math.exp(-5.0 * beat)
        hip_y = m.floor + 0.5 * h - dip
        segments: list[tuple[tuple, tuple, float, np.ndarray]] = []
        limb = 0.032 * h
        for foot in (0, 1):
            when, kind, colour, _ = self._strike(foot)
            age = now - when
            hip = (m.x + (foot - 0.5) * spacing * 0.5, hip_y)
            heel_x = self._foot_x(foot)
            settle = math.exp(-max(age, 0.0) / 0.09)
            lift = 0.05 * h * math.sin(math.pi * min(max((age - 0.08) / 0.32, 0.0), 1.0))
            tilt = (0.45 if kind == 1 else -0.55) * settle  # radians: toe up after a heel, heel up after a toe
            if kind == 1 or tilt >= 0:
                heel = (heel_x, m.floor + lift)
                toe = (heel_x + foot_len * math.cos(tilt), m.floor + lift + foot_len * math.sin(tilt))
            else:
                toe = (heel_x + foot_len, m.floor + lift)
                heel = (toe[0] - foot_len * math.cos(tilt), toe[1] + foot_len * math.sin(-tilt))
            ankle = (heel[0] + 0.15 * (toe[0] - heel[0]), heel[1] + 0.06 * h)
            knee = _knee(hip, ankle, 0.25 * h, 0.25 * h)
            shade = self.body * (0.8 if foot == 0 else 1.0)
            segments += [(hip, knee, limb, shade), (knee, ankle, limb * 0.9, shade), (heel, toe, limb * 0.8, shade)]
            if age < 1.0:  # the strike's flash where the foot met the floor
                flash = math.exp(-age / 0.18)
                contact = heel if kind == 1 else toe
                light = colour.copy()
                light[3] = flash
                segments.append((contact, contact, limb * (1.2 + 1.5 * (1 - flash)), light))
        neck = (m.x + 0.02 * h, hip_y + 0.33 * h)
        segments.append(((m.x, hip_y), neck, limb * 1.5, self.body))
        swing = 0.25 * math.sin(math.pi * (clock[0](now) if clock else 0.0))
        for side in (-1, 1):
            elbow = (neck[0] + side * 0.04 * h * math.sin(swing) + 0.02 * h, neck[1] - 0.15 * h)
            hand = (elbow[0] + 0.06 * h * side * math.sin(swing) + 0.03 * h, elbow[1] - 0.13 * h)
            shade = self.body * (0.8 if side < 0 else 1.0)
            segments += [(neck, elbow, limb * 0.8, shade), (elbow, hand, limb * 0.7, shade)]
        head = (neck[0] + 0.01 * h, neck[1] + 0.1 * h)
        segments.append((head, head, 0.065 * h, self.body))
        marks = np.zeros(len(segments), MARK_DTYPE)
        for i, (a, b, width, colour) in enumerate(segments):
            marks[i]["p0"], marks[i]["p1"], marks[i]["width"] = a, b, width
            marks[i]["color"] = colour if len(colour) == 4 else (*colour[:3], 1.0)
        marks["color"][:, 3] *= m.opacity
        marks["t_tap"] = frame.time
        return marks


def _knee(hip, ankle, thigh, shin):
    """Two-bone reach: the knee bends forward (to the right, where the dancer faces)."""
    dx, dy = ankle[0] - hip[0], ankle[1] - hip[1]
    distance = max(min(math.hypot(dx, dy), thigh + shin - 1e-6), 1e-6)
    along = (thigh**2 - shin**2 + distance**2) / (2 * distance)
    across = math.sqrt(max(thigh**2 - along**2, 0.0))
    ux, uy = dx / distance, dy / distance
    return hip[0] + ux * along - uy * across * -1, hip[1] + uy * along + ux * across * -1


class BackgroundLayerRenderer(LayerRenderer):
    """Light behind the drawing: a gradient and a vignette (the canvas keeps a flat background)."""

    draws_marks = False

    def backdrop(self, background, level: float):
        m = self.model
        base = np.array(background, np.float32)
        top = np.array(parse_colour(m.top)[:3], np.float32) - base if m.top else np.zeros(3, np.float32)
        bottom = np.array(parse_colour(m.bottom)[:3], np.float32) - base if m.bottom else np.zeros(3, np.float32)
        gain = 1.0 + m.pulse * 2.0 * level
        return tuple(top * gain), tuple(bottom * gain), m.vignette


class PathLayerRenderer(LayerRenderer):
    """A thread: each tap turns the heading (by `turn`) and steps forward (by `length`).

    Its state (head position, heading) runs through the taps in order; the state
    before each recent tap is kept so a refine record (heel became toe) can replay
    the last steps with the corrected turn.
    """

    HISTORY = 32

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.head = np.zeros(2)
        self.heading = self.model.heading
        self.history: list[tuple[int, np.ndarray, float, np.void]] = []  # tap_id, head, heading, attrs

    def _step(self, turn: float, length: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Move the head; returns the segment drawn (equal ends when the thread jumped)."""
        m = self.model
        start = self.head.copy()
        distance = float(np.hypot(*start))
        heading = self.heading + turn
        if m.bounds == "steer" and distance > m.reach:
            # beyond its reach the thread curls back toward the centre, more the farther out
            home = math.degrees(math.atan2(-start[0], -start[1]))
            off = (home - heading + 180.0) % 360.0 - 180.0
            heading += off * min(1.0, (distance - m.reach) / (0.25 * m.reach))
        self.heading = heading % 360.0
        rad = math.radians(self.heading)
        end = start + length * np.array([math.sin(rad), math.cos(rad)])
        limit = np.array([aspect, 1.0]) * 0.97
        if np.any(np.abs(end) > limit):  # off the screen: come back in on the other side
            end = np.where(np.abs(end) > limit, end - np.sign(end) * 2 * limit, end)
            start = end
        self.head = end
        return start, end

    def _walk(self, attrs, epoch, aspect):
        m = self.model
        common = self._common(attrs, epoch, aspect)
        turns = evaluate(m.map.turn, attrs, m.turn, {"aspect": aspect}, "turn")
        lengths = evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        segments = np.zeros(len(attrs), MARK_DTYPE)
        for i in range(len(attrs)):  # sequential by nature; a frame brings a handful of taps
            self.history.append((int(attrs["tap_id"][i]), self.head.copy(), self.heading, attrs[i].copy()))
            first = attrs["tune_time"][i] == 0.0 and attrs["interval"][i] == 0.0
            start, end = self._step(float(turns[i]), 0.0 if first else float(lengths[i]), aspect)
            segments[i] = common[i]
            segments[i]["p0"], segments[i]["p1"] = start, end
        del self.history[: -self.HISTORY]
        index = attrs["tap_id"].copy()
        if m.beads <= 0:
            return segments, index
        beads = segments.copy()
        beads["p0"] = beads["p1"]
        beads["width"] *= m.beads
        beads["glow"] *= 1.5
        return np.concatenate([segments, beads]), np.concatenate([index, index])

    def marks_for(self, attrs, epoch, aspect):
        return self._walk(attrs, epoch, aspect)

    def refine(self, attrs, epoch, aspect):
        """Replay the thread from the first refined tap: returns marks for it and every later step."""
        ids = [entry[0] for entry in self.history]
        changed = {int(t): a for t, a in zip(attrs["tap_id"], attrs)}
        starts = [i for i, tap_id in enumerate(ids) if tap_id in changed]
        if not starts:
            return np.zeros(0, MARK_DTYPE), np.zeros(0, np.uint32)
        first = starts[0]
        replay = self.history[first:]
        _, self.head, self.heading, _ = replay[0]
        self.head = self.head.copy()
        del self.history[first:]
        records = np.array([changed.get(tap_id, old) for tap_id, _, _, old in replay], dtype=attrs.dtype)
        return self._walk(records, epoch, aspect)


    def withdraw(self, tap_ids, epoch, aspect):
        """Replay the thread from where the first withdrawn tap took its step, without it: the head
        goes back, and the later steps (if any came already) are drawn again from there."""
        gone = set(int(t) for t in tap_ids)
        ids = [entry[0] for entry in self.history]
        starts = [i for i, tap_id in enumerate(ids) if tap_id in gone]
        if not starts:
            return np.zeros(0, MARK_DTYPE), np.zeros(0, np.uint32)
        replay = self.history[starts[0]:]
        _, head, self.heading, _ = replay[0]
        self.head = head.copy()
        del self.history[starts[0]:]
        later = [old for tap_id, _, _, old in replay if tap_id not in gone]
        if not later:
            return np.zeros(0, MARK_DTYPE), np.zeros(0, np.uint32)
        return self._walk(np.array(later, dtype=replay[0][3].dtype), epoch, aspect)


LAYER_RENDERERS: dict[str, type[LayerRenderer]] = {kind_of(model): renderer for model, renderer in (
    (MarksLayer, MarksLayerRenderer), (PathLayer, PathLayerRenderer), (ParticlesLayer, ParticlesLayerRenderer),
    (LanesLayer, LanesLayerRenderer), (FigureLayer, FigureLayerRenderer), (BackgroundLayer, BackgroundLayerRenderer),
)}


def register_renderer(model: type[Layer], renderer: type[LayerRenderer]) -> None:
    """Draw the layers of this model's kind with `renderer`."""
    LAYER_RENDERERS[kind_of(model)] = renderer


def renderer_for(model, scene=None, folder=None) -> LayerRenderer:
    """A renderer for the layer; building it compiles whatever it needs (so a failure leaves the old look).
    `folder`: the preset file's folder, where its own shader files may sit."""
    return LAYER_RENDERERS[model.kind](model, scene, folder)
