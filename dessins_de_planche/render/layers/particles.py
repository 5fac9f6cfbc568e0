"""The `particles` kind: a burst of streaks per tap."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.preset.expr import stable_hash
from dessins_de_planche.preset.mapping import evaluate
from dessins_de_planche.preset.shapes import SHAPES
from dessins_de_planche.render.layers.base import WORD, LayerRenderer, mapped_attributes, unit_vectors


class ParticlesLayerRenderer(LayerRenderer):
    """A burst of `count` streaks per tap, fanned `spread` degrees around its direction.

    The scatter comes from the tap's id, so the same performance bursts the same way. A tap's fan (its
    way out and its streaks' scatter) is kept for the last taps: the detector's word on a tap (a
    refine) changes the burst's reach, size and colour, and its fan only where the angle or tilt is
    mapped from what the word says.
    """

    RECENT = 64  # taps whose fan is kept for their refine

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.kept: dict[int, tuple[np.ndarray, ...]] = {}  # tap_id -> its way out and its streaks' scatter

    def retune(self, model) -> None:
        super().retune(model)
        self.reset()  # another count, spread or angle: another scatter

    def reads_itself(self):
        return frozenset(("tap_id", "time", "tune_time"))

    def _fan_is_fixed(self) -> bool:
        """Whether a tap's streaks point where they did whatever the detector's word says."""
        return not (mapped_attributes((self.model.map.angle, self.model.map.tilt)) & WORD)

    def _fan(self, attrs, aspect):
        """Per tap, its way out from the centre; per streak, its direction (unit vector), its share of
        the reach and its share of the width."""
        m = self.model
        outward, direction = self._bearing(attrs, aspect)
        seed = attrs["tap_id"].astype(np.float64)[:, None] * 97.0 + np.arange(m.count)[None, :] * 13.0
        base = np.arctan2(direction[:, 0], direction[:, 1])[:, None]
        heading = base + np.radians(m.spread) * (stable_hash(seed) - 0.5)
        reach, width = 0.35 + 0.65 * stable_hash(seed + 5.0), 0.35 + 0.65 * stable_hash(seed + 11.0)
        return outward, unit_vectors(heading), reach, width

    def _burst(self, attrs, epoch, aspect, fan):
        m = self.model
        n = m.count
        outward, unit, spread, width = fan
        common = self._common(attrs, epoch, aspect)
        centre = self._centre(attrs, aspect, outward)
        reach = evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        distance = reach[:, None] * spread
        tips = centre[:, None, :] + unit * distance[..., None]
        tails = centre[:, None, :] + unit * (distance * (1.0 - m.streak))[..., None]
        marks = np.repeat(common, n)
        marks["p0"] = tails.reshape(-1, 2)
        marks["p1"] = tips.reshape(-1, 2)
        marks["width"] *= width.reshape(-1)
        marks["shape"] = SHAPES["stroke"]
        return marks, np.repeat(attrs["tap_id"], n)

    def marks_for(self, attrs, epoch, aspect):
        fan = self._fan(attrs, aspect)
        kept = self.kept
        for i, tap_id in enumerate(attrs["tap_id"].tolist()):
            kept[tap_id] = tuple(part[i] for part in fan)
        while len(kept) > self.RECENT:
            del kept[next(iter(kept))]
        return self._burst(attrs, epoch, aspect, fan)

    def refine(self, attrs, epoch, aspect):
        """The burst again for the word's kind and velocity, on the fan its first record drew."""
        kept = [self.kept.get(tap_id) for tap_id in attrs["tap_id"].tolist()]
        if all(k is not None for k in kept) and self._fan_is_fixed():
            fan = tuple(np.stack(part) for part in zip(*kept))
        else:
            fan = self._fan(attrs, aspect)
        return self._burst(attrs, epoch, aspect, fan)
