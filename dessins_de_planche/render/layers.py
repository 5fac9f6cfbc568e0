"""Layer kinds: how a preset layer turns tap attributes into marks.

A registry (`LAYER_RENDERERS`, kind -> class) rather than an if-chain: a new kind
(particles, lanes, figure, a custom shader) is a model in `preset/model.py` plus
a class here with `marks_for` and `refine`.
"""

from __future__ import annotations

import math

import numpy as np

from dessins_de_planche.preset.mapping import evaluate, evaluate_colour
from dessins_de_planche.preset.palettes import palette_array
from dessins_de_planche.render.marks import MARK_DTYPE, SHAPES


class LayerRenderer:
    """Base: the layer's model, its palette as an array, the scene's epoch for relative times."""

    def __init__(self, model):
        self.model = model
        self.palette = palette_array(model.palette)

    def _common(self, attrs: np.ndarray, epoch: float, count_per_tap: int = 1) -> np.ndarray:
        m = self.model
        marks = np.zeros(len(attrs), MARK_DTYPE)
        marks["width"] = evaluate(m.map.size, attrs, m.size)
        colour = evaluate_colour(m.map.color, attrs, self.palette)
        marks["color"][:, :3] = colour[:, :3]
        marks["color"][:, 3] = colour[:, 3] * evaluate(m.map.opacity, attrs, m.opacity)
        marks["t_tap"] = attrs["time"] - epoch
        marks["life"] = evaluate(m.map.life, attrs, m.life)
        marks["glow"] = m.glow
        return marks

    def marks_for(self, attrs: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Marks for new taps, and for each mark the id of the tap it belongs to."""
        raise NotImplementedError

    def refine(self, attrs: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Marks for taps whose kind/velocity changed (attrs hold the new values)."""
        return self.marks_for(attrs, epoch, aspect)

    def reset(self) -> None:
        """Forget drawing state (a cleared canvas)."""


class MarksLayerRenderer(LayerRenderer):
    """One mark per tap at (x, y) + radius in the direction of angle (0 = top, clockwise).

    `spin` turns the whole clock face with the tune's time, so marks at the same
    place in the bar wind into spiral arms instead of piling up on one spoke.
    """

    def marks_for(self, attrs, epoch, aspect):
        m = self.model
        marks = self._common(attrs, epoch)
        angle = np.radians(evaluate(m.map.angle, attrs, m.angle) + m.spin * attrs["tune_time"])
        radius = evaluate(m.map.radius, attrs, m.radius)
        outward = np.stack([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)
        centre = np.stack([evaluate(m.map.x, attrs, m.x), evaluate(m.map.y, attrs, m.y)], axis=1)
        centre += outward * radius[:, None]
        half = np.zeros_like(centre)
        if m.shape == "petal":  # petals point away from the centre of the rosette
            half = outward * (marks["width"] * m.stretch * 0.5)[:, None]
        marks["p0"] = centre - half
        marks["p1"] = centre + half
        marks["shape"] = SHAPES[m.shape]
        return marks, attrs["tap_id"].copy()


class PathLayerRenderer(LayerRenderer):
    """A thread: each tap turns the heading (by `turn`) and steps forward (by `length`).

    Its state (head position, heading) runs through the taps in order; the state
    before each recent tap is kept so a refine record (heel became toe) can replay
    the last steps with the corrected turn.
    """

    HISTORY = 32

    def __init__(self, model):
        super().__init__(model)
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
        common = self._common(attrs, epoch)
        turns = evaluate(m.map.turn, attrs, m.turn)
        lengths = evaluate(m.map.length, attrs, m.length)
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


LAYER_RENDERERS: dict[str, type[LayerRenderer]] = {"marks": MarksLayerRenderer, "path": PathLayerRenderer}


def renderer_for(model) -> LayerRenderer:
    return LAYER_RENDERERS[model.kind](model)
