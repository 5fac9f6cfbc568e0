"""What every layer kind shares: the frame a layer sees, the beat clock, and the base renderer.

The base renderer's methods draw nothing, so a kind overrides only what it does and the
scene calls every method on every layer without asking which kind it is.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dessins_de_planche.preset.mapping import evaluate, evaluate_colour, expression
from dessins_de_planche.preset.maps import TAP_ATTRIBUTES
from dessins_de_planche.preset.palettes import palette_array
from dessins_de_planche.render.marks import MARK_DTYPE

NO_MARKS = np.zeros(0, MARK_DTYPE)  # what a layer returns when it has no marks (one empty array, shared)
NO_IDS = np.zeros(0, np.uint32)
WORD = frozenset(("kind", "velocity", "zone"))  # what the detector's word (a refine record) may change of a tap


def mapped_attributes(mappings) -> frozenset[str]:
    """The tap attributes these mappings (of a layer's `map`; None: unmapped) read: each one's `from`,
    `kind` for `by_kind`, the names its expression uses."""
    names = set()
    for mapping in mappings:
        if mapping is None:
            continue
        if getattr(mapping, "expr", None) is not None:
            names |= expression(mapping.expr).names & TAP_ATTRIBUTES.keys()
        elif getattr(mapping, "by_kind", None) is not None:
            names.add("kind")
        else:
            names.add(mapping.source)
    return frozenset(names)


def unit_vectors(angle: np.ndarray, dtype=np.float64) -> np.ndarray:
    """(sin, cos) of each angle (radians, 0 = up, clockwise) along a new last axis."""
    out = np.empty((*angle.shape, 2), dtype)
    out[..., 0] = np.sin(angle)
    out[..., 1] = np.cos(angle)
    return out


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
        self.reads = self._reads()

    def retune(self, model) -> None:
        """The same layer with other numbers (a MIDI knob): keep the drawing state."""
        self.model = model
        if hasattr(model, "palette"):
            self.palette = palette_array(model.palette)
        self.reads = self._reads()

    def reads_itself(self) -> frozenset[str] | None:
        """The tap attributes the kind's own code reads, besides its map's; None: it does not say, so
        any change of a tap may change its marks."""
        return None

    def _reads(self) -> frozenset[str] | None:
        own = self.reads_itself()
        mappings = getattr(self.model, "map", None)
        if own is None or mappings is None:
            return own
        return own | mapped_attributes(getattr(mappings, name) for name in type(mappings).model_fields)

    def moved_by(self, word: frozenset[str]) -> bool:
        """Whether a tap whose `word` attributes changed (a refine record) may have other marks here."""
        return self.reads is None or not self.reads.isdisjoint(word)

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
        outward, direction = self._bearing(attrs, aspect)
        return self._centre(attrs, aspect, outward), direction

    def _bearing(self, attrs: np.ndarray, aspect: float):
        """Each tap's way out from the centre (its angle) and its direction (the angle turned by the
        tilt), as unit vectors."""
        m = self.model
        env = {"aspect": aspect}
        angle = np.radians(evaluate(m.map.angle, attrs, m.angle, env, "angle") + m.spin * attrs["tune_time"])
        heading = angle + np.radians(evaluate(m.map.tilt, attrs, m.tilt, env, "tilt"))
        return unit_vectors(angle, np.float32), unit_vectors(heading, np.float32)

    def _centre(self, attrs: np.ndarray, aspect: float, outward: np.ndarray) -> np.ndarray:
        """Where each tap lands: x/y, then `radius` the way out."""
        m = self.model
        env = {"aspect": aspect}
        radius = evaluate(m.map.radius, attrs, m.radius, env, "radius")
        centre = np.empty((len(attrs), 2), np.float32)  # (not np.stack: a few µs a call, several a tap)
        centre[:, 0] = evaluate(m.map.x, attrs, m.x, env, "x")
        centre[:, 1] = evaluate(m.map.y, attrs, m.y, env, "y")
        centre += outward * radius[:, None]
        return centre

    def marks_for(self, attrs: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Marks for new taps, and for each mark the id of the tap it belongs to."""
        return NO_MARKS, NO_IDS

    def refine(self, attrs: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Marks for taps whose kind/velocity/zone changed (attrs hold the new values); the scene asks only
        for taps whose change the layer reads (`moved_by`)."""
        return self.marks_for(attrs, epoch, aspect)

    def withdraw(self, tap_ids: np.ndarray, epoch: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Forget these taps (they were not feet; the scene has removed their marks). Returns new marks
        for later taps whose marks depended on them (they replace those taps' marks), usually none."""
        return NO_MARKS, NO_IDS

    def tick(self, frame: Frame) -> np.ndarray:
        """Marks no tap made, due this frame (stamped into the canvas like the others)."""
        return NO_MARKS

    def overlay(self, frame: Frame) -> np.ndarray | None:
        """Marks drawn over this frame only (never kept in the canvas)."""
        return None

    def backdrop(self, background, level: float):
        """The light behind the drawing, (top, bottom, vignette), or None: this layer gives none."""

    def rewrite_canvas(self, scene, frame: Frame, dt: float) -> None:
        """A pass over the kept canvas each frame, before the due marks are stamped (a custom shader)."""

    def draw_over(self, scene, frame: Frame, target, dt: float) -> None:
        """A pass over the composed picture each frame, never kept (a custom shader)."""

    def reset(self) -> None:
        """Forget drawing state (a cleared canvas)."""
