"""The `particles` kind: a burst of streaks per tap."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.preset.expr import stable_hash
from dessins_de_planche.preset.mapping import evaluate
from dessins_de_planche.preset.shapes import SHAPES
from dessins_de_planche.render.layers.base import LayerRenderer


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
