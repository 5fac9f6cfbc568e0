"""Layer kinds: how a preset layer turns tap attributes into marks.

A registry (`LAYER_RENDERERS`, kind -> class) rather than an if-chain: a new kind
is a model in `preset/layer_kinds.py` (whose `kind` names it) plus a module here, named after
the kind, whose renderer is registered below against that model (a custom shader's,
`render/shader_layer.py`, registers itself). A renderer (`base.LayerRenderer`) may

- `marks_for` new taps (and `refine` them when a tap's kind or velocity changes, `withdraw`
  them when the detector takes a tap back),
- `tick` each frame (marks no tap made: a lane's beat lines, stamped like the others),
- `overlay` each frame (marks drawn over the picture and never kept: the dancing figure).

Background and custom-shader layers draw no marks (`draws_marks` False); they give the
picture their light (`backdrop`) or their passes (`rewrite_canvas`, `draw_over`: see
`render/shader_layer.py`). Every renderer has every one of these (the base does nothing),
so the scene calls them on each layer and never asks which kind it is. Nor do live edits and
the probe: the preset's layer models name the designer's own shader files they draw with
(`Preset.shader_files`, none but a custom shader layer's).
"""

from __future__ import annotations

from dessins_de_planche.preset.layer_kinds import (BackgroundLayer, FigureLayer, LanesLayer, Layer, MarksLayer,
                                                   ParticlesLayer, PathLayer, kind_of)
from dessins_de_planche.render.layers.background import BackgroundLayerRenderer
from dessins_de_planche.render.layers.base import Frame, LayerRenderer, beat_clock
from dessins_de_planche.render.layers.figure import FigureLayerRenderer
from dessins_de_planche.render.layers.lanes import LanesLayerRenderer
from dessins_de_planche.render.layers.marks import MarksLayerRenderer
from dessins_de_planche.render.layers.particles import ParticlesLayerRenderer
from dessins_de_planche.render.layers.path import PathLayerRenderer

__all__ = ["LAYER_RENDERERS", "Frame", "LayerRenderer", "beat_clock", "register_renderer", "renderer_for"]


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

