"""The `background` kind: light behind the drawing (no marks)."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.preset.palettes import parse_colour
from dessins_de_planche.render.layers.base import LayerRenderer


class BackgroundLayerRenderer(LayerRenderer):
    """Light behind the drawing: a gradient and a vignette (the canvas keeps a flat background)."""

    draws_marks = False

    def reads_itself(self):
        return frozenset()  # no marks: a tap's word changes nothing here

    def backdrop(self, background, level: float):
        m = self.model
        base = np.array(background, np.float32)
        top = np.array(parse_colour(m.top)[:3], np.float32) - base if m.top else np.zeros(3, np.float32)
        bottom = np.array(parse_colour(m.bottom)[:3], np.float32) - base if m.bottom else np.zeros(3, np.float32)
        gain = 1.0 + m.pulse * 2.0 * level
        return tuple(top * gain), tuple(bottom * gain), m.vignette
