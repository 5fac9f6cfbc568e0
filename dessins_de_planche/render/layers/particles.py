"""The `particles` kind: a burst of streaks per tap."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.preset.expr import stable_hash
from dessins_de_planche.preset.mapping import evaluate
from dessins_de_planche.preset.shapes import SHAPES
from dessins_de_planche.render.layers.base import WORD, LayerRenderer, mapped_attributes


class ParticlesLayerRenderer(LayerRenderer):
    """A burst of `count` streaks per tap, fanned `spread` degrees around its direction.

    The scatter comes from the tap's id, so the same performance bursts the same way. It is kept for
    the last taps: the detector's word on a tap (a refine) changes its burst's reach, size and colour
    but not its scatter, nor, unless the angle or tilt is mapped from what the word says, its fan.
    """

    RECENT = 64  # taps whose scatter is kept for their refine

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.scatter: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # tap_id -> unit, reach, width

    def retune(self, model) -> None:
        super().retune(model)
        self.reset()  # another count, spread or angle: another scatter

    def reads_itself(self):
        return frozenset(("tap_id", "time", "tune_time"))

    def _fan_is_fixed(self) -> bool:
        """Whether a tap's streaks point where they did whatever the detector's word says."""
        return not (mapped_attributes((self.model.map.angle, self.model.map.tilt)) & WORD)

    def _scatter(self, attrs, direction):
        """Per streak: its direction (unit vector), its share of the reach, its share of the width."""
        m = self.model
        seed = attrs["tap_id"].astype(np.float64)[:, None] * 97.0 + np.arange(m.count)[None, :] * 13.0
        base = np.arctan2(direction[:, 0], direction[:, 1])[:, None]
        heading = base + np.radians(m.spread) * (stable_hash(seed) - 0.5)
        unit = np.stack([np.sin(heading), np.cos(heading)], axis=2)
        return unit, 0.35 + 0.65 * stable_hash(seed + 5.0), 0.35 + 0.65 * stable_hash(seed + 11.0)

    def _burst(self, attrs, epoch, aspect, scatter=None):
        m = self.model
        n = m.count
        common = self._common(attrs, epoch, aspect)
        centre, direction = self._placed(attrs, aspect)
        reach = evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        unit, spread, width = scatter if scatter is not None else self._scatter(attrs, direction)
        distance = reach[:, None] * spread
        tips = centre[:, None, :] + unit * distance[..., None]
        tails = centre[:, None, :] + unit * (distance * (1.0 - m.streak))[..., None]
        marks = np.repeat(common, n)
        marks["p0"] = tails.reshape(-1, 2)
        marks["p1"] = tips.reshape(-1, 2)
        marks["width"] *= width.reshape(-1)
        marks["shape"] = SHAPES["stroke"]
        return marks, np.repeat(attrs["tap_id"], n), (unit, spread, width)

    def marks_for(self, attrs, epoch, aspect):
        marks, ids, (unit, spread, width) = self._burst(attrs, epoch, aspect)
        kept = self.scatter
        for i, tap_id in enumerate(attrs["tap_id"].tolist()):
            kept[tap_id] = unit[i], spread[i], width[i]
        while len(kept) > self.RECENT:
            del kept[next(iter(kept))]
        return marks, ids

    def refine(self, attrs, epoch, aspect):
        """The burst again for the word's kind and velocity, on the scatter its first record drew."""
        kept = [self.scatter.get(tap_id) for tap_id in attrs["tap_id"].tolist()]
        scatter = None
        if all(k is not None for k in kept) and self._fan_is_fixed():
            scatter = tuple(np.stack(part) for part in zip(*kept))
        return self._burst(attrs, epoch, aspect, scatter)[:2]
