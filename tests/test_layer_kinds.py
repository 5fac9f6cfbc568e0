"""Each layer kind's renderer answers for itself: which of the designer's own shader files it draws
with (what a live edit of a shader rebuilds, and what the probe times), so no caller compares kinds."""

from __future__ import annotations

import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.render.layers import shader_files
from dessins_de_planche.render.scene import Scene  # its import registers the custom shader's kind

GALLERY = load_gallery(presets_dir())


def test_the_gallery_s_own_shaders_are_named_by_their_layers():
    files = {name: shader_files(preset.layers) for name, preset in GALLERY.items()}
    assert files.pop("ink") == ["paper.frag.glsl"]  # it rewrites the canvas
    assert files.pop("sparks") == ["ripples.frag.glsl"]  # drawn over the picture
    assert files and not any(files.values()), files


@pytest.mark.gl
def test_only_a_built_custom_shader_layer_names_a_file(ctx):
    scene = Scene(ctx, GALLERY["sparks"], (160, 90))
    try:
        named = {layer.model.kind: layer.shader_files(layer.model) for layer in scene.layers}
    finally:
        scene.release()
    assert named == {"background": (), "particles": (), "shader": ("ripples.frag.glsl",)}
