"""The detector's word on a tap (a refine record) redraws only what it changes: each layer gives the
marks the word's values would have given at once, whatever it kept from the tap's first record."""

from __future__ import annotations

import numpy as np
import pytest

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, KIND_UNKNOWN
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.preset.mapping import TAP_ATTRS_DTYPE
from dessins_de_planche.preset.maps import MAPPINGS
from dessins_de_planche.render.layers import renderer_for
from dessins_de_planche.render.layers.base import WORD

GALLERY = load_gallery(presets_dir())
LAYERS = [(f"{name}[{i}]", layer) for name, preset in sorted(GALLERY.items())
          for i, layer in enumerate(preset.layers) if layer.kind not in ("shader", "background")]


def attrs(kind, velocity=0.6, zone=0, taps=3):
    rows = np.zeros(taps, TAP_ATTRS_DTYPE)
    rows["tap_id"] = 40 + np.arange(taps)
    rows["time"] = 2.0 + 0.25 * np.arange(taps)
    rows["tune_time"] = rows["time"] - 1.0
    rows["interval"] = 0.25
    rows["bar_phase"] = (0.3 + 0.25 * np.arange(taps)) % 1.0
    rows["index"] = np.arange(taps)
    rows["kind"], rows["velocity"], rows["zone"] = kind, velocity, zone
    return rows


def refined(model, first, final):
    """The marks a refine of the last tap gives after the first records, and those of a layer that
    heard the final values at once."""
    layer, direct = renderer_for(model), renderer_for(model)
    for i in range(len(first)):  # a tap a frame, as the scene hands them over
        layer.marks_for(first[i : i + 1], 1.0, 16 / 9)
        wanted, wanted_ids = direct.marks_for(final[i : i + 1], 1.0, 16 / 9)
    marks, ids = layer.refine(final[-1:], 1.0, 16 / 9)
    return marks, ids, wanted, wanted_ids


@pytest.mark.parametrize("name, model", LAYERS, ids=[name for name, _ in LAYERS])
def test_a_refine_gives_the_marks_of_the_final_word(name, model):
    first = attrs(KIND_UNKNOWN)
    final = first.copy()
    final["kind"][-1], final["velocity"][-1] = KIND_HEEL, 0.9
    marks, ids, wanted, wanted_ids = refined(model, first, final)
    assert np.array_equal(ids, wanted_ids)
    for field in ("p0", "p1", "width", "color", "life", "shape", "t_tap"):
        assert np.array_equal(marks[field], wanted[field]), field


def test_a_burst_whose_fan_is_mapped_from_the_kind_turns_with_the_word():
    sparks = GALLERY["sparks"].layers[1]
    turning = sparks.model_copy(update={"map": sparks.map.model_copy(update={
        "angle": MAPPINGS["angle"](by_kind={"heel": 30.0, "toe": 200.0, "unknown": 100.0})})})
    first = attrs(KIND_UNKNOWN)
    final = first.copy()
    final["kind"][-1] = KIND_TOE
    marks, ids, wanted, _ = refined(turning, first, final)
    assert np.array_equal(marks["p1"], wanted["p1"])
    unturned, _, _, _ = refined(sparks, first, final)
    assert not np.allclose(np.arctan2(*(marks["p1"] - marks["p0"]).T), np.arctan2(*(unturned["p1"] - unturned["p0"]).T))


def test_each_layer_says_what_of_the_word_moves_its_marks():
    """Sparks maps its burst from the kind and the velocity, never the zone; lanes put a tap in its
    zone's lane; a background draws no marks at all."""
    reads = {name: renderer_for(model).reads & WORD for name, model in LAYERS}
    assert reads["sparks[1]"] == {"kind", "velocity"}
    assert reads["lanes[1]"] == {"kind", "velocity", "zone"}
    background = renderer_for(GALLERY["sparks"].layers[0])
    assert not background.moved_by(WORD)
    assert renderer_for(GALLERY["sparks"].layers[1]).moved_by(frozenset({"kind"}))
