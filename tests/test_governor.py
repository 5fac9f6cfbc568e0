"""The frame-time governor: the render scale goes down when frames run long, back up with headroom,
once a second at most and without oscillating; the picture is drawn at the scale and sampled up,
the canvas kept; the scale is in the telemetry, the HUD and the health file."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from test_hud import STATUS, stage  # noqa: F401  (the HUD tests' console, a fixture)

from dessins_de_planche.app import hud_text
from dessins_de_planche.app.governor import (DECIDE_SECONDS, MIN_SCALE, START_SECONDS, UP_SECONDS, Governor,
                                             parse_render_scale)

BUDGET = 1 / 60
FPS = 60


def run(governor: Governor, seconds: float, work, start: float = 0.0) -> list[tuple[float, float]]:
    """Feed `seconds` of frames at 60 a second; `work(scale)` is a frame's work at that scale.
    Returns (time, new scale) for every change."""
    changes = []
    for i in range(int(seconds * FPS)):
        now = start + i / FPS
        if governor.frame(now, work(governor.scale)):
            changes.append((now, governor.scale))
    return changes


def machine(fixed_ms: float, per_pixel_ms: float):
    """A frame's work: a fixed part and a part that goes with the pixels (the scale squared)."""
    return lambda scale: (fixed_ms + per_pixel_ms * scale * scale) / 1000


def test_long_frames_bring_the_scale_down_and_it_settles_without_oscillating():
    governor = Governor(BUDGET)
    changes = run(governor, 60.0, machine(2.0, 24.0))  # 26 ms at full scale: a 60 fps frame is 16.7
    assert governor.scale < 1.0 and changes
    assert changes[0][0] >= START_SECONDS  # the start-up frames are not judged
    assert (2.0 + 24.0 * governor.scale ** 2) / 1000 <= 0.85 * BUDGET  # now it fits
    assert all(later[0] - earlier[0] >= DECIDE_SECONDS for earlier, later in zip(changes, changes[1:]))
    scales = [1.0] + [scale for _, scale in changes]
    assert all(0 < a - b <= 2 / 16 + 1e-9 for a, b in zip(scales, scales[1:]))  # softens over seconds, not at once
    settled = len(changes)
    assert run(governor, 120.0, machine(2.0, 24.0), start=60.0) == []  # two more minutes: not one change
    assert settled <= 5


def test_headroom_brings_it_back_up_a_step_at_a_time():
    governor = Governor(BUDGET)
    run(governor, 12.0, machine(2.0, 40.0))
    low = governor.scale
    assert low == MIN_SCALE
    changes = run(governor, 60.0, machine(1.0, 6.0), start=10.0)  # the other work on the machine stopped
    assert governor.scale == 1.0
    steps = [b - a for a, b in zip([low] + [s for _, s in changes], [s for _, s in changes])]
    assert all(0 < step <= 1 / 16 + 1e-9 for step in steps)  # up by small steps, never a jump
    times = [t for t, _ in changes]
    assert all(b - a >= UP_SECONDS * DECIDE_SECONDS for a, b in zip(times, times[1:]))


def test_a_frame_now_and_then_does_not_move_it():
    governor = Governor(BUDGET)
    spiky = iter(range(10**6))

    def work(scale):  # one frame in twelve takes 40 ms: the median second is fine
        return 0.040 if next(spiky) % 12 == 0 else 0.008

    assert run(governor, 30.0, work) == []
    assert governor.scale == 1.0


def test_a_fixed_scale_never_moves():
    governor = Governor(BUDGET, fixed=0.75)
    assert not governor.active
    assert run(governor, 20.0, machine(2.0, 80.0)) == [] and governor.scale == 0.75
    assert Governor(BUDGET, fixed=1.0).scale == 1.0


def test_the_render_scale_option():
    assert parse_render_scale("auto") is None and parse_render_scale("AUTO") is None
    assert parse_render_scale("1") == 1.0 and parse_render_scale("0.75") == 0.75
    for wrong in ("0.3", "1.5", "big"):
        with pytest.raises(ValueError):
            parse_render_scale(wrong)


def test_run_refuses_a_scale_out_of_range(capsys):
    from dessins_de_planche.cli import build_parser

    with pytest.raises(SystemExit) as stop:
        build_parser()[0].parse_args(["run", "--render-scale", "0.2"])
    assert stop.value.code == 2
    assert "between 0.5 and 1.0" in capsys.readouterr().err
    assert build_parser()[0].parse_args(["run", "--render-scale", "0.75"]).render_scale == 0.75
    assert build_parser()[0].parse_args(["run"]).render_scale is None


# -- with GL ---------------------------------------------------------------------------------

W, H = 64, 32


@pytest.mark.gl
def test_the_picture_is_drawn_at_the_scale_and_sampled_up_to_the_screen(ctx):
    from dessins_de_planche.app.output import Output
    from dessins_de_planche.render.canvas import release_framebuffer

    ctx.detect_framebuffer(0).use()  # an earlier test's stage may leave a released framebuffer current
    screen = ctx.simple_framebuffer((W, H), components=4)
    output = Output(ctx, (W, H))
    output.set_render_scale(0.5)
    assert output.picture_size == (W // 2, H // 2) and not output.direct
    sizes = []

    def draw(target):  # left half red, right half blue, at whatever size it is given
        width, height = target.viewport[2:]
        sizes.append((width, height))
        target.clear(0.0, 0.0, 1.0, 1.0)
        target.clear(1.0, 0.0, 0.0, 1.0, viewport=(0, 0, width // 2, height))

    output.present(0.0, draw, screen)
    image = np.frombuffer(screen.read(components=3), np.uint8).reshape(H, W, 3)
    assert sizes == [(W // 2, H // 2)]
    assert image[:, : W // 2 - 2, 0].min() > 200 and image[:, W // 2 + 2 :, 2].min() > 200  # the whole screen
    output.set_render_scale(1.0)
    assert output.picture_size == (W, H) and output.direct
    output.release()
    release_framebuffer(ctx, screen)


@pytest.mark.gl
def test_the_canvas_is_kept_when_the_scale_moves(ctx):
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.steady import steady_taps
    from dessins_de_planche.render.offline import replay

    scene = replay(ctx, steady_taps(4.0), 4.0, load_gallery(presets_dir())["ink"], (192, 108), step=1 / 30)
    before = scene.canvas.read().astype(float)
    scene.resize((144, 81))  # 0.75
    scene.resize((192, 108))  # and back
    after = scene.canvas.read().astype(float)
    drawn = np.abs(before - before.reshape(-1, 3).mean(axis=0)).sum(axis=2) > 40
    assert drawn.sum() > 50
    assert np.abs(after - before).mean() < 3.0  # the same drawing, resampled twice
    assert np.abs(after - before)[drawn].mean() < 40
    scene.release()


@pytest.mark.gl
def test_the_scale_is_in_the_hud_and_the_health_file(stage):
    stage.output.set_render_scale(0.75)
    stage.resize(stage.output.window_size)
    assert stage.show.size == (120, 68)  # the show draws at the scale
    assert any("render scale: 0.75" in line for line in hud_text.hud_lines(stage, 1.0, STATUS))
    assert hud_text.health_state(stage, STATUS)["render_scale"] == 0.75


def test_each_telemetry_line_has_the_scale(tmp_path):
    from dessins_de_planche.app.telemetry import Telemetry

    path = tmp_path / "t.jsonl"
    telemetry = Telemetry(str(path))
    empty = SimpleNamespace(taps=np.zeros(0, [("refine", "u1")]))
    for scale in (1.0, 0.8125):
        telemetry.drained(empty)
        telemetry.drawn(None, (4, 4))
        telemetry.swapped(None, scale)
    telemetry.close()
    frames = [json.loads(line) for line in path.read_text().splitlines() if '"frame"' in line]
    assert [frame["scale"] for frame in frames] == [1.0, 0.8125]
