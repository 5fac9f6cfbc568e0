"""SVG export: the marks of a performance as paths in millimetres, one per tap drawn; a clear error without a vector form."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.render.steady import steady_taps
from dessins_de_planche.render.offline import render_performance
from dessins_de_planche.render.svg import NoVectorForm, check_vector

pytestmark = pytest.mark.gl

SVG = "{http://www.w3.org/2000/svg}"
SECONDS = 6.0


@pytest.fixture(scope="module")
def gallery():
    return load_gallery(presets_dir())


def export(tmp_path, preset, size=(320, 180), **kwargs):
    taps = steady_taps(SECONDS)
    out = tmp_path / f"{preset.name}.svg"
    text = render_performance("take.wav", preset, size, out, step=1 / 20,
                              analyze=lambda path: SimpleNamespace(taps=taps, duration=SECONDS), **kwargs)
    assert out.read_text() == text
    return ET.parse(out).getroot(), int((taps["refine"] == 0).sum())


def tap_paths(root):
    return [p for p in root.iter(f"{SVG}path") if p.get("class", "").startswith("tap")]


@pytest.mark.parametrize("name", ["rosette", "thread", "constellation", "weave"])
def test_every_tap_is_one_path_sized_in_millimetres(ctx, tmp_path, gallery, name):
    root, taps = export(tmp_path, gallery[name])
    assert root.get("width") == "420.0mm" and root.get("height") == "236.2mm"  # A3 wide, 16:9
    paths = tap_paths(root)
    assert len(paths) == taps
    assert len({p.get("data-tap") for p in paths}) == taps  # one path per tap, none twice
    for path in paths:
        assert path.get("d").startswith("M") and path.get("stroke").startswith("#")
    # heel and toe are told apart by the pen colour
    assert len({p.get("stroke") for p in paths}) >= 2
    # every coordinate lies on the page
    numbers = np.array([float(v) for p in paths for v in
                        p.get("d").replace("M", " ").replace("L", " ").replace("A", " ").replace("Z", " ")
                        .replace(",", " ").split() if v.replace(".", "", 1).replace("-", "", 1).isdigit()])
    assert numbers.min() >= -1.0 and numbers.max() <= 421.0


def test_lanes_export_the_taps_still_on_the_page_and_the_beat_lines(ctx, tmp_path, gallery):
    root, taps = export(tmp_path, gallery["lanes"])
    paths = tap_paths(root)
    assert 0 < len(paths) < taps  # the score scrolls: the first taps have left the page
    assert any(p.get("class") == "grid" for p in root.iter(f"{SVG}path"))


def test_the_width_in_millimetres_is_chosen(ctx, tmp_path, gallery):
    root, _ = export(tmp_path, gallery["rosette"], width_mm=300.0)
    assert root.get("width") == "300.0mm"


@pytest.mark.parametrize("name", ["sparks", "figure", "ink"])
def test_a_preset_with_no_vector_form_says_so(tmp_path, gallery, name):
    with pytest.raises(NoVectorForm) as caught:
        check_vector(gallery[name])
    assert name in str(caught.value) and "png" in str(caught.value)
    with pytest.raises(NoVectorForm):
        render_performance("take.wav", gallery[name], (64, 36), tmp_path / "x.svg",
                           analyze=lambda path: pytest.fail("nothing is rendered before the check"))
