"""Property tests of the preset loader: whatever a file holds, loading it gives a Preset or a PresetError.

Three kinds of documents: arbitrary bytes, arbitrary TOML documents, and gallery
presets with one value swapped for something random (the likely mistake). Every
failure must be a PresetError that names the file on one line; never another
exception, never a hang.
"""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import Preset, PresetError
from dessins_de_planche.preset.loader import parse_preset

GALLERY = {p.stem: tomllib.loads(p.read_text()) for p in sorted(presets_dir().glob("*.toml"))}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=20), st.booleans(), st.sampled_from(["marks", "path", "particles", "lanes",
                                                                          "figure", "shader", "background",
                                                                          "#ff00ff", "bar_phase", "velocity"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4), max_leaves=12)


def toml_value(value) -> str:
    """A value written as TOML (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def check(raw: bytes, tmp_path) -> None:
    path = tmp_path / "fuzz.toml"
    try:
        preset = parse_preset(raw, path)
    except PresetError as error:
        assert str(path) in str(error) and "\n" not in str(error)
        return
    assert isinstance(preset, Preset)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_bytes_never_crash_the_loader(tmp_path_factory, raw):
    check(raw, tmp_path_factory.mktemp("bytes"))


@FUZZ
@given(document=st.dictionaries(st.sampled_from(["format", "name", "canvas", "layers", "controls", "fade",
                                                 "bar_beats", "order", "x"]), values, max_size=6))
def test_random_documents_never_crash_the_loader(tmp_path_factory, document):
    text = "\n".join(f"{key} = {toml_value(value)}" for key, value in document.items())
    check(text.encode(), tmp_path_factory.mktemp("documents"))


def paths_in(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths_in(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths_in(value, prefix + (index,))
    yield prefix


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(GALLERY)), value=values)
def test_a_gallery_preset_with_one_value_changed_loads_or_says_why(tmp_path_factory, data, name, value):
    import copy

    document = copy.deepcopy(GALLERY[name])
    where = data.draw(st.sampled_from([p for p in paths_in(document) if p]))
    node = document
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    text = "\n".join(f"{key} = {toml_value(v)}" for key, v in document.items())
    check(text.encode(), tmp_path_factory.mktemp("mutated"))


def test_the_writer_round_trips_a_gallery_preset(tmp_path):
    """The property tests above would be empty if the writer could not express a real preset."""
    for name, document in GALLERY.items():
        text = "\n".join(f"{key} = {toml_value(v)}" for key, v in document.items())
        assert parse_preset(text.encode(), tmp_path / f"{name}.toml").name == name
