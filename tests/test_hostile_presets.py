"""Hostile preset files: whatever an expression or a shader's include graph holds, loading says why
on one line naming the file, in bounded time; `validate` reports every file whatever one raises.

Part of the hostile-input suite (see also test_hostile_osc.py, test_hostile_cli.py).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dessins_de_planche.preset import PresetError
from dessins_de_planche.preset.expr import MAX_LITERAL, ExpressionError, parse_expression
from dessins_de_planche.preset.loader import parse_preset
from dessins_de_planche.render.glsl import MAX_FILE_BYTES, MAX_INCLUDE_FILES, ShaderError, expand

NAMES = {"velocity", "bar_phase"}
HOSTILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def preset_with(expr: str) -> bytes:
    return (f'format = 1\nname = "hostile"\n[[layers]]\nkind = "marks"\n'
            f'[layers.map]\nsize = {{ expr = "{expr}" }}\n').encode()


# -- expressions -----------------------------------------------------------------------------
@HOSTILE
@given(digits=st.integers(10, 390), sign=st.sampled_from(["", "-", "+"]), around=st.sampled_from(
    ["{}", "{} * velocity", "sin({})", "velocity if bar_phase < 0.5 else {}", "pow(2, {})", "{} ** {}"]))
def test_a_huge_integer_literal_is_refused_with_its_reason(digits, sign, around):
    literal = sign + "9" * digits
    text = around.replace("{}", literal)
    if len(text) > 400:  # the expression's own length limit would answer first
        text = literal
    with pytest.raises(ExpressionError, match="out of range"):
        parse_expression(text, NAMES)


@HOSTILE
@given(value=st.one_of(st.integers(-10**400, 10**400), st.floats(allow_nan=False),
                       st.sampled_from(["1e400", "-1e309", "0x" + "f" * 90, "1_" * 100 + "1"])))
def test_any_numeric_literal_loads_or_is_one_line_naming_the_file(tmp_path_factory, value):
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 390:
        text = text[:390]
    path = tmp_path_factory.mktemp("expr") / "hostile.toml"
    try:
        preset = parse_preset(preset_with(f"{text} * velocity"), path)
    except PresetError as error:
        assert str(path) in str(error) and "\n" not in str(error)
        return
    literal = abs(int(text, 16) if text.startswith("0x") else float(text))
    assert literal <= MAX_LITERAL, f"{text} loaded as {preset.name}"


def test_the_310_digit_integer_of_the_report_is_a_preset_error(tmp_path):
    path = tmp_path / "huge.toml"
    with pytest.raises(PresetError, match="out of range") as raised:
        parse_preset(preset_with("1" + "0" * 310), path)
    assert str(path) in str(raised.value)


def test_validate_reports_every_file_whatever_one_raises(tmp_path):
    good = (tmp_path / "a_good.toml")
    good.write_bytes(preset_with("velocity * 0.02").replace(b'"hostile"', b'"good"'))
    (tmp_path / "b_huge.toml").write_bytes(preset_with("1" * 320).replace(b'"hostile"', b'"huge"'))
    (tmp_path / "c_good.toml").write_bytes(preset_with("0.01").replace(b'"hostile"', b'"good2"'))
    run = subprocess.run([sys.executable, "-m", "dessins_de_planche", "validate", str(tmp_path), "--no-gl"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "b_huge.toml" in run.stderr and "out of range" in run.stderr
    assert "a_good.toml" in run.stdout and "c_good.toml" in run.stdout
    assert "2 of 3 presets are valid" in run.stderr


# -- shader includes -------------------------------------------------------------------------
MAIN = "#version 330 core\nout vec4 frag;\nvoid main() { frag = vec4(1.0); }\n"


def test_a_cycle_through_dot_dot_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "self.glsl").write_text('#include "sub/../self.glsl"\n' + MAIN)
    with pytest.raises(ShaderError, match="cycle") as raised:
        expand("self.glsl", tmp_path, search=(tmp_path,))
    assert "self.glsl" in str(raised.value) and "name too long" not in str(raised.value).lower()


def test_a_longer_cycle_names_its_chain(tmp_path):
    (tmp_path / "a.glsl").write_text('#include "b.glsl"\n' + MAIN)
    (tmp_path / "b.glsl").write_text('#include "./c.glsl"\n')
    (tmp_path / "c.glsl").write_text('#include "a.glsl"\n')
    with pytest.raises(ShaderError, match="cycle") as raised:
        expand("a.glsl", tmp_path, search=(tmp_path,))
    assert "b.glsl" in str(raised.value) and "c.glsl" in str(raised.value)


def test_a_diamond_includes_the_shared_file_once(tmp_path):
    (tmp_path / "top.glsl").write_text('#include "left.glsl"\n#include "right.glsl"\n' + MAIN)
    (tmp_path / "left.glsl").write_text('#include "base.glsl"\nfloat left() { return base(); }\n')
    (tmp_path / "right.glsl").write_text('#include "base.glsl"\nfloat right() { return base(); }\n')
    (tmp_path / "base.glsl").write_text("float base() { return 1.0; }\n")
    source, origin = expand("top.glsl", tmp_path, search=(tmp_path,))
    assert source.count("float base()") == 1
    assert "float left()" in source and "float right()" in source
    assert len(origin) == len(source.splitlines())


@pytest.mark.parametrize("levels", [8, 15, 21, 40])
def test_an_include_bomb_is_quick_and_bounded(tmp_path, levels):
    """Each file includes the next twice: once expanded per file, or refused when too deep; never 2**levels."""
    for level in range(levels):
        (tmp_path / f"l{level}.glsl").write_text(f'#include "l{level + 1}.glsl"\n#include "l{level + 1}.glsl"\n'
                                                 f"float f{level}() {{ return 1.0; }}\n")
    (tmp_path / f"l{levels}.glsl").write_text("float leaf() { return 1.0; }\n")
    began = time.monotonic()
    try:
        source, _ = expand("l0.glsl", tmp_path, search=(tmp_path,))
    except ShaderError as error:
        assert "l" in str(error) and ".glsl" in str(error) and "\n" not in str(error)
    else:
        assert source.count("float leaf()") == 1 and source.count("float f0()") == 1
    assert time.monotonic() - began < 10.0  # 21 levels took 149 s before


def test_an_include_graph_over_the_limit_names_the_file(tmp_path):
    lines = [f'#include "part{i}.glsl"' for i in range(MAX_INCLUDE_FILES + 5)]
    (tmp_path / "wide.glsl").write_text("\n".join(lines) + "\n" + MAIN)
    for i in range(MAX_INCLUDE_FILES + 5):
        (tmp_path / f"part{i}.glsl").write_text(f"float p{i}() {{ return 1.0; }}\n")
    with pytest.raises(ShaderError, match="more than") as raised:
        expand("wide.glsl", tmp_path, search=(tmp_path,))
    assert "wide.glsl" in str(raised.value)


def test_a_huge_shader_file_is_refused_before_it_is_read(tmp_path):
    (tmp_path / "huge.glsl").write_text(MAIN + "// " + "x" * (MAX_FILE_BYTES + 10) + "\n")
    with pytest.raises(ShaderError, match="at most") as raised:
        expand("huge.glsl", tmp_path, search=(tmp_path,))
    assert "huge.glsl" in str(raised.value)


def test_an_include_name_too_long_for_the_system_is_an_error(tmp_path):
    (tmp_path / "long.glsl").write_text('#include "' + "sub/../" * 1000 + 'x.glsl"\n' + MAIN)
    with pytest.raises(ShaderError) as raised:
        expand("long.glsl", tmp_path, search=(tmp_path,))
    assert "long.glsl" in str(raised.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(edges=st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["", "./", "sub/../", "../x/../"]),
                                st.integers(0, 7)), max_size=30))
def test_any_include_graph_expands_or_says_which_file(tmp_path_factory, edges):
    folder = tmp_path_factory.mktemp("graph")
    (folder / "sub").mkdir()
    lines = {i: [] for i in range(8)}
    for source, prefix, target in edges:
        lines[source].append(f'#include "{prefix}g{target}.glsl"')
    for i, included in lines.items():
        (folder / f"g{i}.glsl").write_text("\n".join(included) + f"\nfloat g{i}() {{ return 1.0; }}\n")
    began = time.monotonic()
    try:
        source, origin = expand("g0.glsl", folder, search=(folder,))
    except ShaderError as error:
        assert ".glsl" in str(error)
    else:
        for i in range(8):
            assert source.count(f"float g{i}()") <= 1
        assert len(origin) == len(source.splitlines())
    assert time.monotonic() - began < 10.0
