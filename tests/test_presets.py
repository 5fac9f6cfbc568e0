"""Preset files: the gallery loads, and hostile files give one line naming the file, the key and the fault."""

from __future__ import annotations

import json

import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import IDLE_PRESET, Preset, PresetError, load_gallery, load_preset, preset_by_name

PRESETS = presets_dir()

GOOD = """\
format = 1
name = "dots"
[[layers]]
kind = "marks"
[layers.map]
size = { from = "velocity", range = [0.01, 0.04] }
"""


def write(tmp_path, text, name="look.toml"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def problem(tmp_path, text) -> str:
    path = write(tmp_path, text)
    with pytest.raises(PresetError) as caught:
        load_preset(path)
    message = str(caught.value)
    assert str(path) in message  # every message names the file
    assert "\n" not in message  # ... on one line
    return message


def test_the_gallery_presets_load_and_differ():
    gallery = load_gallery(presets_dir())
    assert {"rosette", "thread"} <= set(gallery)
    rosette, thread = gallery["rosette"], gallery["thread"]
    assert rosette.layers[0].kind == "marks" and rosette.layers[0].map.angle.source == "bar_phase"
    assert thread.layers[0].kind == "path" and thread.layers[0].map.length.source == "interval"
    turn = thread.layers[0].map.turn.by_kind
    assert turn.heel * turn.toe < 0  # heel turns one way, toe the other
    assert rosette.canvas.background != thread.canvas.background


def test_a_minimal_preset_gets_defaults(tmp_path):
    preset = load_preset(write(tmp_path, GOOD))
    assert preset.name == "dots" and preset.bar_beats == 2 and preset.canvas.clean is False


def test_the_model_gives_a_json_schema():
    schema = Preset.model_json_schema(by_alias=True)
    text = json.dumps(schema)
    assert "bar_phase" in text and "by_kind" in text and '"from"' in text


def test_empty_file(tmp_path):
    assert "empty file" in problem(tmp_path, "")


def test_nul_byte(tmp_path):
    message = problem(tmp_path, b'format = 1\nname = "x\x00"\n')
    assert ":2:" in message and "NUL" in message


def test_repeated_key_names_the_line(tmp_path):
    message = problem(tmp_path, GOOD + "[canvas]\ndecay = 0.1\ndecay = 0.2\n")
    assert ":9:" in message and "repeated" in message and "decay" in message


def test_toml_syntax_error_names_file_and_line(tmp_path):
    message = problem(tmp_path, 'format = 1\nname = "x\n')
    assert ":2:" in message and "TOML" in message


def test_wrong_type(tmp_path):
    message = problem(tmp_path, GOOD.replace('kind = "marks"', 'kind = "marks"\nopacity = "half"'))
    assert "layers[0].opacity" in message and "number" in message


def test_unknown_layer_kind_lists_the_kinds(tmp_path):
    message = problem(tmp_path, GOOD.replace('kind = "marks"', 'kind = "mark"'))
    assert "layers[0].kind" in message and "'mark'" in message and "marks" in message and "path" in message


def test_out_of_range_value_names_the_key_path(tmp_path):
    message = problem(tmp_path, GOOD.replace("[0.01, 0.04]", "[0.01, 3.0]"))
    assert "layers[0].map.size.range[1]" in message and "less than or equal to 1" in message


def test_unknown_key_says_did_you_mean(tmp_path):
    message = problem(tmp_path, GOOD + "[canvas]\nbackgrund = '#000000'\n")
    assert "canvas.backgrund" in message and "did you mean 'background'" in message
    message = problem(tmp_path, GOOD.replace("size = { from", "sise = { from"))
    assert "layers[0].map.sise" in message and "did you mean 'size'" in message


def test_bad_colour_and_palette(tmp_path):
    message = problem(tmp_path, GOOD + "[canvas]\nbackground = 'black'\n")
    assert "canvas.background" in message and "#rrggbb" in message
    message = problem(tmp_path, GOOD.replace('kind = "marks"', 'kind = "marks"\npalette = "hearthh"'))
    assert "layers[0].palette" in message and "did you mean 'hearth'" in message


def test_format_version_is_required(tmp_path):
    message = problem(tmp_path, GOOD.replace("format = 1\n", ""))
    assert "format" in message and "missing" in message
    assert "format" in problem(tmp_path, GOOD.replace("format = 1", "format = 2"))


def test_gallery_skips_broken_files_and_reports_them(tmp_path):
    write(tmp_path, GOOD, "good.toml")
    write(tmp_path, "format = 1\n[[layers]]\nkind = 'nope'\n", "broken.toml")
    errors = []
    gallery = load_gallery(tmp_path, errors)
    assert list(gallery) == ["dots"]
    assert len(errors) == 1 and "broken.toml" in str(errors[0])


def test_preset_by_name_lists_the_names(tmp_path):
    write(tmp_path, GOOD, "good.toml")
    assert preset_by_name("dots", [tmp_path]).name == "dots"
    with pytest.raises(PresetError) as caught:
        preset_by_name("dotz", [tmp_path])
    assert "did you mean 'dots'" in str(caught.value) and "dots" in str(caught.value)
    assert preset_by_name(str(tmp_path / "good.toml")).name == "dots"


def test_idle_preset_is_valid():
    assert IDLE_PRESET.name == "idle" and IDLE_PRESET.layers


def test_midi_controls_set_live_numbers_within_their_range():
    rosette = load_preset(PRESETS / "rosette.toml")
    low, high = rosette.controls["cc1"].range
    assert rosette.controlled(1, 0).canvas.decay == pytest.approx(low)
    assert rosette.controlled(1, 127).canvas.decay == pytest.approx(high)
    assert rosette.controlled(1, 127).layers == rosette.layers  # nothing else moved
    assert rosette.controlled(99, 64) is None  # a controller the preset does not map


@pytest.mark.parametrize(
    "controls, expected",
    [
        ('cc1 = { set = "canvas.decy", range = [0, 1] }', "controls.cc1: 'canvas.decy' is not a number"),
        ('cc1 = { set = "layers[3].size", range = [0, 1] }', "controls.cc1: 'layers[3].size' is not a number"),
        ('cc1 = { set = "canvas.decay", range = [0, 5] }', "controls.cc1.range: 5 is not a valid canvas.decay"),
        ('cc200 = { set = "canvas.decay", range = [0, 1] }', "cc200"),
    ],
)
def test_bad_midi_controls_are_named(tmp_path, controls, expected):
    path = tmp_path / "knobs.toml"
    path.write_text((PRESETS / "rosette.toml").read_text().split("[controls]")[0] + "[controls]\n" + controls + "\n")
    with pytest.raises(PresetError) as error:
        load_preset(path)
    assert "knobs.toml" in str(error.value) and expected in str(error.value)
