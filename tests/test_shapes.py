"""The mark shapes are one table (`preset/shapes.py`): the names a preset takes, the codes the layers
write, the SVG outlines and the marks shader's constants all come from it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dessins_de_planche.paths import presets_dir, shaders_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.preset.shapes import GLSL_DEFINES, NAME_OF_CODE, SHAPES, TABLE
from dessins_de_planche.render.steady import steady_taps
from dessins_de_planche.render.offline import replay


def test_the_marks_shader_compares_shapes_only_with_the_tables_constants():
    source = (shaders_dir() / "marks.frag.glsl").read_text(encoding="utf-8")
    comparisons = re.findall(r"v_shape\s*[<>]=?\s*([^\s)]+)", source)
    assert comparisons and all(name in GLSL_DEFINES for name in comparisons), comparisons
    assert set(re.findall(r"\bSHAPE_[A-Z]+\b", source)) <= set(GLSL_DEFINES)


def test_every_code_has_a_name_and_every_name_a_code():
    assert set(NAME_OF_CODE) == set(SHAPES.values())
    assert [shape.name for shape in TABLE] == list(SHAPES)
    assert GLSL_DEFINES["SHAPE_STAR"] == "4.0" and SHAPES["star"] == 4.0


@pytest.mark.gl
def test_every_shape_a_preset_names_draws_its_own_picture(ctx):
    """The constellation's marks in each shape: eight different pictures, none of them empty (at the
    reference pictures' size: at a quarter of it a small ring is the same few pixels as a dot)."""
    preset = load_gallery(presets_dir())["constellation"]
    index = next(i for i, layer in enumerate(preset.layers) if layer.kind == "marks")
    pictures = {}
    for name in SHAPES:
        scene = replay(ctx, steady_taps(3.0), 3.0, preset.with_value(f"layers[{index}].shape", name), (256, 144),
                       step=1 / 30)
        pictures[name] = scene.read_canvas()
        scene.release()
    blank = np.median(pictures["dot"].reshape(-1, 3), axis=0)
    for name, picture in pictures.items():
        assert (np.abs(picture.astype(int) - blank).max(axis=2) > 40).sum() > 20, f"{name} drew nothing"
    assert len({picture.tobytes() for picture in pictures.values()}) == len(SHAPES)
