"""Preset files: the gallery loads, and hostile files give one line naming the file, the key and the fault."""

from __future__ import annotations

import json

import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import Preset, PresetError, load_gallery, load_preset, preset_by_name

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


# ---- the vocabulary added for designers ------------------------------------------------------

def test_every_gallery_preset_loads():
    gallery = load_gallery(PRESETS)
    assert len(gallery) >= 8
    kinds = {layer.kind for preset in gallery.values() for layer in preset.layers}
    assert {"marks", "path", "particles", "lanes", "figure", "background", "shader"} <= kinds


def test_a_shader_file_outside_the_allowed_folders_is_refused(tmp_path):
    for name, said in (("../../etc/passwd.glsl", "outside the preset and shader folders"),
                       ("/etc/hosts.glsl", "absolute path"),
                       ("ripples.frag.glsI", "ends in .glsl"),
                       ("nowhere.frag.glsl", "no shader file")):
        text = GOOD + f'[[layers]]\nkind = "shader"\nfile = "{name}"\n'
        message = problem(tmp_path, text)
        assert "layers[1].file" in message and said in message
    message = problem(tmp_path, GOOD + '[[layers]]\nkind = "shader"\nfile = "ripple.frag.glsl"\n')
    assert "did you mean 'ripples.frag.glsl'" in message


def test_a_shader_beside_the_preset_is_found_first(tmp_path):
    (tmp_path / "mine.frag.glsl").write_text("#version 330 core\n")
    preset = load_preset(write(tmp_path, GOOD + '[[layers]]\nkind = "shader"\nfile = "mine.frag.glsl"\n'))
    assert preset.folder == tmp_path and preset.layers[1].file == "mine.frag.glsl"


def test_shapes_can_follow_heel_and_toe(tmp_path):
    text = GOOD.replace('kind = "marks"', 'kind = "marks"\nshape = { heel = "splat", toe = "star" }')
    preset = load_preset(write(tmp_path, text))
    assert preset.layers[0].shape.heel == "splat" and preset.layers[0].shape.unknown == "dot"
    message = problem(tmp_path, text.replace('"star"', '"starr"'))
    assert "layers[0].shape" in message and "star" in message


@pytest.mark.parametrize(
    "expr, said",
    [
        ("__import__('os').system('true')", "only the listed functions"),
        ("__import__('os')", "unknown function '__import__'"),
        ("velocity.real", "not allowed"),
        ("(lambda: 1)()", "only the listed functions"),
        ("max(lambda: 1, 2)", "not allowed"),
        ("[x for x in range(9)]", "not allowed"),
        ("velocty * 2", "did you mean 'velocity'"),
        ("sinn(bar_phase)", "did you mean 'sin'"),
        ("sin(1, 2)", "takes 1 values"),
        ("1 +", "syntax"),
        ("'text'", "only numbers"),
        ("x" * 500, "at most 400 characters"),
    ],
)
def test_expressions_are_checked_when_the_file_loads(tmp_path, expr, said):
    message = problem(tmp_path, GOOD.replace('size = { from = "velocity", range = [0.01, 0.04] }',
                                             f"size = {{ expr = {expr!r} }}"))
    assert "layers[0].map.size" in message and said in message


def test_expressions_run_over_all_taps_at_once():
    import numpy as np

    from dessins_de_planche.preset.mapping import TAP_ATTRS_DTYPE, evaluate, run_expression
    from dessins_de_planche.preset.maps import MAPPINGS

    attrs = np.zeros(4, TAP_ATTRS_DTYPE)
    attrs["kind"] = [1, 2, 1, 0]
    attrs["velocity"] = [0.2, 0.4, 0.6, 0.8]
    attrs["beats"] = [0.0, 1.25, 2.5, 3.9]
    assert run_expression("(2 if kind == heel else 1) * velocity", attrs).tolist() == pytest.approx([0.4, 0.4, 1.2, 0.8])
    assert run_expression("floor(beats) % 2 + fract(beats)", attrs).tolist() == pytest.approx([0, 1.25, 0.5, 1.9])
    assert run_expression("pick(kind, 10, 20, 30)", attrs).tolist() == [20, 30, 20, 10]
    assert run_expression("velocity * 0 + aspect", attrs, {"aspect": 2.0}).tolist() == [2.0] * 4
    size = MAPPINGS["size"].model_validate({"expr": "velocity * 10"})
    assert evaluate(size, attrs, 0.03, visual="size").max() == 1.0  # clamped to what a size can be
    assert np.isfinite(run_expression("log(0) + 1 / (velocity - velocity)", attrs)).all()


def test_the_json_schema_is_current_and_checks_the_gallery():
    import tomllib

    jsonschema = pytest.importorskip("jsonschema")
    from dessins_de_planche.preset.schema import schema_text

    committed = (PRESETS.parent / "docs" / "preset.schema.json").read_text()
    assert committed == schema_text(), ("docs/preset.schema.json is out of date: "
                                        ".venv/bin/python -m dessins_de_planche.preset.schema > docs/preset.schema.json")
    validator = jsonschema.Draft202012Validator(json.loads(committed))
    for path in sorted(PRESETS.glob("*.toml")):
        assert not list(validator.iter_errors(tomllib.loads(path.read_text()))), path.name
    typo = {"format": 1, "name": "x", "layers": [{"kind": "marks", "sise": 0.1}]}
    assert list(validator.iter_errors(typo))  # an editor marks the unknown key


def test_new_preset_writes_a_file_that_loads(tmp_path):
    from types import SimpleNamespace

    from dessins_de_planche.commands import new_preset

    out = tmp_path / "mine.toml"
    assert new_preset.main(SimpleNamespace(name="mine", out=str(out), force=False)) == 0
    preset = load_preset(out)
    assert preset.name == "mine" and preset.layers[1].kind == "marks"
    with pytest.raises(Exception) as caught:
        new_preset.main(SimpleNamespace(name="mine", out=str(out), force=False))
    assert "exists" in str(caught.value)


def test_the_library_orders_by_order_then_name_and_user_presets_override(tmp_path):
    from dessins_de_planche.preset.library import PresetLibrary

    write(tmp_path, GOOD.replace('name = "dots"', 'name = "rosette"\norder = 0'), "rosette.toml")
    library = PresetLibrary([PRESETS, tmp_path])
    names = [p.name for p in library.ordered()]
    assert names[0] == "rosette" and library.file_of["rosette"] == tmp_path / "rosette.toml"
    assert names[1:3] == ["thread", "constellation"]


def test_a_new_preset_is_validated_by_its_name(tmp_path):
    """`new-preset mine` then `validate mine`, as a designer types them, from any folder."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dessins_de_planche", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)

    assert cli("new-preset", "mine").returncode == 0
    checked = cli("validate", "mine", "--no-gl")
    assert checked.returncode == 0, checked.stderr
    assert "mine.toml (mine" in checked.stdout
    missing = cli("validate", "nobody", "--no-gl")
    assert missing.returncode == 1 and "nobody" in missing.stderr
