"""The cost of a look, told to its designer: `validate` and `thumbnails` say how many milliseconds a
frame of each look takes at 1280x720 on the machine they run on (no figure is asserted here: the
machine decides it; bench/looks.py measures)."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset import load_gallery

pytestmark = pytest.mark.gl


def test_a_look_has_a_cost_in_milliseconds(ctx):
    from dessins_de_planche.render.probe import frame_cost_ms

    preset = load_gallery(presets_dir())["weave"]
    small = frame_cost_ms(ctx, preset, size=(32, 18), frames=3)
    assert math.isfinite(small) and small > 0
    assert ctx.error == "GL_NO_ERROR"


def test_validate_says_what_each_look_costs_a_frame():
    run = subprocess.run([sys.executable, "-m", "dessins_de_planche", "validate",
                          str(presets_dir() / "weave.toml"), str(presets_dir() / "sparks.toml")],
                         capture_output=True, text=True, timeout=300)
    if "no headless OpenGL" in run.stderr:
        pytest.skip("no EGL for validate")
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("ok")]
    assert len(lines) == 2
    for line in lines:
        found = re.search(r"; (\d+\.\d) ms a frame at 1280×720 on this machine, (a|over a) 60 fps frame", line)
        assert found, line
        shown = float(found.group(1))  # to a tenth of a ms: 16.7 may be either side of 16.67
        if abs(shown - 1000 / 60) >= 0.05:
            assert (found.group(2) == "a") == (shown <= 1000 / 60), line
