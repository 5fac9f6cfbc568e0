"""Each layer kind's model answers for itself: which of the designer's own shader files it draws with
(what a live edit of a shader rebuilds, what the probe times, what keeps a live edit from tuning in
place), so no caller compares kinds."""

from __future__ import annotations

import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import LAYER_KINDS, load_gallery
from dessins_de_planche.preset.layer_kinds import ShaderLayer
from dessins_de_planche.render.scene import Scene  # its import registers the custom shader's kind

GALLERY = load_gallery(presets_dir())


def test_the_gallery_s_own_shaders_are_named_by_their_layers():
    files = {name: preset.shader_files for name, preset in GALLERY.items()}
    assert files.pop("ink") == ["paper.frag.glsl"]  # it rewrites the canvas
    assert files.pop("sparks") == ["ripples.frag.glsl"]  # drawn over the picture
    assert files and not any(files.values()), files


def test_only_the_custom_shader_layer_model_names_a_file():
    layers = {layer.kind: layer for preset in GALLERY.values() for layer in preset.layers}
    assert set(layers) == set(LAYER_KINDS), "the gallery shows every kind"
    named = {kind: layer.shader_files for kind, layer in layers.items() if layer.shader_files}
    assert list(named) == ["shader"]
    layer = ShaderLayer(kind="shader", file="waves.frag.glsl")
    assert layer.shader_files == ("waves.frag.glsl",)


@pytest.mark.gl
def test_a_built_custom_shader_layer_names_its_model_s_file(ctx):
    scene = Scene(ctx, GALLERY["sparks"], (160, 90))
    try:
        named = {layer.model.kind: layer.model.shader_files for layer in scene.layers}
    finally:
        scene.release()
    assert named == {"background": (), "particles": (), "shader": ("ripples.frag.glsl",)}
