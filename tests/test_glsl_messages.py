"""A misspelt name in a shader gets its "did you mean" whatever driver compiles it.

The messages are the drivers' own, as each reported `u_levle` for `u_level`: Mesa's here,
NVIDIA's on an H200 (2026-11-26); the AMD/ANGLE and GLSL-reference forms from their
compilers' documented wording. The real Mesa path is tested in test_hot_reload.py.
"""

from __future__ import annotations

import pytest

from dessins_de_planche.render.glsl import _hint

SOURCE = "uniform float u_level;\nout vec4 frag;\nvoid main() {\n    frag = vec4(vec3(1.0) * u_levle, 1.0);\n}\n"


@pytest.mark.parametrize("message", [
    "0:4(30): error: `u_levle' undeclared",  # Mesa
    '0(4) : error C1503: undefined variable "u_levle"',  # NVIDIA
    "ERROR: 0:4: 'u_levle' : undeclared identifier",  # AMD, ANGLE
    "ERROR: 0:4: undeclared identifier 'u_levle'",
])
def test_each_driver_s_unknown_name_gets_a_suggestion(message):
    assert _hint(message, SOURCE) == " (did you mean 'u_level'?)"


def test_an_error_without_a_name_gets_no_suggestion():
    assert _hint("0(4) : error C0000: syntax error, unexpected ';'", SOURCE) == ""
