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
