"""The gallery: every preset draws headless from a fixed performance, without GL errors, and each looks its own."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.render.steady import steady_taps
from dessins_de_planche.render.offline import replay

pytestmark = pytest.mark.gl

SIZE = (192, 108)
SECONDS = 8.0


@pytest.fixture(scope="module")
def pictures(gl_context):
    """Each gallery preset's picture of the same 8 s (en trois, then en quatre, two zones)."""
    gallery = load_gallery(presets_dir())
    taps = steady_taps(SECONDS)
    out = {}
    for name, preset in sorted(gallery.items()):
        assert gl_context.error == "GL_NO_ERROR"
        scene = replay(gl_context, taps, SECONDS, preset, SIZE, step=1 / 20)
        out[name] = scene.read_canvas()
        scene.release()
        error = gl_context.error
        assert error == "GL_NO_ERROR", f"{name}: {error}"
    return out


def test_the_gallery_has_at_least_eight_presets_each_with_a_description():
    gallery = load_gallery(presets_dir())
    assert len(gallery) >= 8
    assert {"rosette", "thread", "ink", "sparks", "lanes", "figure", "weave", "constellation"} <= set(gallery)
    assert all(len(p.description) > 20 for p in gallery.values())
    assert len({p.order for p in gallery.values()}) == len(gallery)  # a place each in the number keys


def test_every_preset_draws_the_performance(pictures):
    for name, picture in pictures.items():
        assert picture.shape == (SIZE[1], SIZE[0], 3)
        spread = picture.reshape(-1, 3).astype(int)
        # something was drawn: the picture is not one flat colour
        assert (np.abs(spread - np.median(spread, axis=0)).sum(axis=1) > 60).sum() > 40, name


def drawn(picture):
    """Where the picture departs from its own background (its most common colour)."""
    flat = picture.reshape(-1, 3).astype(int)
    background = np.median(flat, axis=0)
    return np.abs(picture.astype(int) - background).sum(axis=2) > 40


def test_any_two_presets_look_clearly_different(pictures):
    """The same feet draw different pictures: where one preset draws, the other mostly does not."""
    for (a, pa), (b, pb) in itertools.combinations(sorted(pictures.items()), 2):
        da, db = drawn(pa), drawn(pb)
        disagree = (da ^ db).sum() / max((da | db).sum(), 1)
        assert disagree > 0.6, f"{a} and {b} draw in the same places ({disagree:.0%} apart)"
