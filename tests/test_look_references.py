"""Keep the pictures: every gallery look, drawn from the same taps as its reference (written by the
code before the render work, `tests/look_references.py`), looks the same within a small tolerance.

The render may get cheaper (effects gathered over frames, light drawn at a lower resolution and
sampled up), so a pixel may move by a few levels; the picture may not: the mean difference stays
under a level, and only a thin scatter of pixels (edges of rings of light) may differ by more
than a few levels."""

from __future__ import annotations

import numpy as np
import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from look_references import path_for, read_png, render_look

pytestmark = pytest.mark.gl

MEAN_LEVELS = 1.0  # mean absolute difference over every pixel and channel, 0..255
FAR_LEVELS = 24  # a pixel this far from the reference (any channel) counts as changed
FAR_SHARE = 0.005  # at most this share of the pixels may be changed


def compare(picture: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(mean absolute difference in levels, share of pixels FAR_LEVELS or more away)."""
    difference = np.abs(picture.astype(np.int16) - reference.astype(np.int16))
    return float(difference.mean()), float((difference.max(axis=2) >= FAR_LEVELS).mean())


GALLERY = sorted(load_gallery(presets_dir()))


@pytest.mark.parametrize("name", GALLERY)
def test_the_look_keeps_its_picture(ctx, name):
    preset = load_gallery(presets_dir())[name]
    for moment, picture in render_look(ctx, preset).items():
        path = path_for(name, moment)
        assert path.exists(), f"no reference for {name} ({moment}): run tests/look_references.py {name}"
        reference = read_png(path)
        assert picture.shape == reference.shape
        mean, far = compare(picture, reference)
        assert mean <= MEAN_LEVELS and far <= FAR_SHARE, (
            f"{name} ({moment}): mean difference {mean:.2f} levels (at most {MEAN_LEVELS}), "
            f"{far:.2%} of pixels {FAR_LEVELS}+ levels away (at most {FAR_SHARE:.1%})")


def test_the_comparison_sees_a_changed_picture():
    """The tolerance is not so wide that a look drawn differently would pass."""
    reference = read_png(path_for("sparks", "middle"))
    shifted = np.roll(reference, 3, axis=1)  # the same picture, three pixels to the side
    mean, far = compare(shifted, reference)
    assert mean > MEAN_LEVELS or far > FAR_SHARE
    dimmer = (reference * 0.9).astype(np.uint8)
    mean, far = compare(dimmer, reference)
    assert mean > MEAN_LEVELS or far > FAR_SHARE


@pytest.mark.parametrize("size", [(640, 360), (1280, 720)])
def test_light_drawn_at_a_lower_resolution_looks_like_it_at_full(ctx, size):
    """`sparks`' rings of light ask for a quarter of the resolution (`#pragma resolution`): at stage
    sizes, where that path runs, the picture matches the same frame with the rings at full resolution."""
    from dessins_de_planche.render.steady import steady_taps
    from dessins_de_planche.render.offline import replay

    preset = load_gallery(presets_dir())["sparks"]
    scene = replay(ctx, steady_taps(4.0), 4.0, preset, size, step=1 / 30)
    try:
        shaders = [layer for layer in scene.layers if getattr(layer, "resolution", 1.0) < 1.0]
        assert shaders, "sparks' ripples no longer ask for a lower resolution"
        reduced = scene.read_canvas()
        for layer in shaders:
            layer.resolution = 1.0
        full = scene.read_canvas()
    finally:
        scene.release()
    rings = np.abs(full.astype(int) - reduced.astype(int)).max(axis=2)
    assert rings.max() > 0  # the two paths did draw differently
    mean, far = compare(reduced, full)
    assert mean <= MEAN_LEVELS and far <= FAR_SHARE, f"{size}: mean {mean:.2f}, {far:.2%} of pixels far"
