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
from dessins_de_planche.app.governor import (CALM_SECONDS, DECIDE_SECONDS, HEADROOM, MIN_SCALE, SAMPLE_EVERY,
                                             START_SECONDS, UP_SECONDS, Governor, parse_render_scale)

BUDGET = 1 / 60
FPS = 60


def run(governor: Governor, seconds: float, work, start: float = 0.0, taps=lambda i: False,
        finished: list | None = None) -> list[tuple[float, float]]:
    """Feed `seconds` of frames as the loop does: is this one finished and measured? then its work, then
    the swap; paced at 60 a second, later when a frame's work runs longer. `work(scale)` is a frame's
    work at that scale (measured or not), `taps(i)` whether frame i brings taps. Returns (time, new
    scale) for every change; `finished` gets (time, finished?, taps?) for every frame."""
    changes = []
    now, i = start, 0
    while now < start + seconds - 1e-9:
        brings_taps = taps(i)
        measured = governor.finishes(brings_taps)
        cost = work(governor.scale)
        if measured and governor.frame(now, cost):
            changes.append((now, governor.scale))
        if finished is not None:
            finished.append((now, measured, brings_taps))
        governor.swapped(now + cost)
        now, i = now + max(cost, 1 / FPS), i + 1
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
    frames = []
    changes = run(governor, 60.0, machine(1.0, 6.0), start=12.0, finished=frames)  # the other work stopped
    assert all(measured for t, measured, _ in frames if t <= changes[-1][0])  # below 1.0, every frame judged
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
    frames = []
    assert run(governor, 20.0, machine(2.0, 80.0), finished=frames) == [] and governor.scale == 0.75
    assert not any(measured for _, measured, _ in frames)  # nothing measured: no frame finished
    assert Governor(BUDGET, fixed=1.0).scale == 1.0


# -- which frames are finished and measured -------------------------------------------------

LIGHT = machine(1.0, 2.0)  # 3 ms a frame: clear headroom


def tap_every(period: int, run_of: int = 2):
    """Frames that bring taps: `run_of` in a row every `period` (an audio tap, then its confirmation)."""
    return lambda i: i % period < run_of


def measured_share(frames, since: float) -> tuple[float, list[int]]:
    """The share of frames measured after `since`, and the gaps (in frames) between them."""
    kept = [measured for t, measured, _ in frames if t >= since]
    at = [i for i, measured in enumerate(kept) if measured]
    return sum(kept) / len(kept), [b - a for a, b in zip(at, at[1:])]


def test_with_clear_headroom_one_frame_in_a_dozen_is_finished_and_never_one_that_brings_taps():
    governor = Governor(BUDGET)
    frames = []
    run(governor, 30.0, LIGHT, taps=tap_every(7), finished=frames)
    assert not any(measured for t, measured, _ in frames if t < START_SECONDS)  # the start-up is not judged
    assert all(measured for t, measured, _ in frames if START_SECONDS + 0.02 < t < START_SECONDS + CALM_SECONDS)
    assert governor.sampling and governor.scale == 1.0
    settled = [f for f in frames if f[0] >= START_SECONDS + CALM_SECONDS + 0.1]
    assert sum(taps for _, _, taps in settled) > 400
    assert not any(measured and taps for _, measured, taps in settled)  # never a frame that brings taps
    share, gaps = measured_share(frames, START_SECONDS + CALM_SECONDS + 0.1)
    assert all(SAMPLE_EVERY <= gap <= SAMPLE_EVERY + 2 for gap in gaps)  # a sample due on taps waits for them
    assert 1 / (SAMPLE_EVERY + 3) <= share <= 1 / SAMPLE_EVERY + 0.01


def test_a_budget_without_clear_headroom_is_measured_every_frame():
    """llvmpipe at the show's size: frames at 60 % of the budget are all finished, as before sampling."""
    governor = Governor(BUDGET)
    frames = []
    assert run(governor, 20.0, machine(2.0, 8.0), taps=tap_every(7), finished=frames) == []
    assert all(measured for t, measured, _ in frames if t > START_SECONDS + 0.02) and not governor.sampling
    assert governor.scale == 1.0


def test_a_look_too_heavy_while_sampling_goes_down_as_soon_as_if_every_frame_were_measured():
    sampled, judged = Governor(BUDGET), Governor(BUDGET)
    run(sampled, 10.0, LIGHT)
    assert sampled.sampling
    heavy = machine(2.0, 24.0)  # 26 ms: every interval late
    frames = []
    changes = run(sampled, 30.0, heavy, start=10.0, finished=frames)
    assert changes[0][0] - 10.0 <= DECIDE_SECONDS + 0.1  # the headroom gone at the second frame, a second judged
    assert all(measured for t, measured, _ in frames if t > 10.1)  # from then on every frame
    run(judged, 2.0, LIGHT)  # a governor that judged every frame from the start, the same heavy look
    before = run(judged, 30.0, heavy, start=2.0)
    assert changes[0][0] - 10.0 <= before[0][0] - 2.0 + DECIDE_SECONDS
    assert sampled.scale == judged.scale < 1.0  # settles where it did


def test_a_sample_over_the_headroom_brings_back_every_frame_without_moving_the_scale():
    middling = machine(2.0, 10.0)  # 12 ms: over the headroom, under the governor's line for going down
    assert HEADROOM * BUDGET < middling(1.0) < 0.85 * BUDGET
    governor = Governor(BUDGET)
    run(governor, 10.0, LIGHT)
    frames = []
    assert run(governor, 10.0, middling, start=10.0, finished=frames) == []
    assert not governor.sampling and governor.scale == 1.0
    first_sample = (SAMPLE_EVERY + 1) / FPS
    assert all(measured for t, measured, _ in frames if t > 10.0 + first_sample)


def test_a_sample_that_ends_the_sampling_is_not_judged():
    """Its finish may have waited for the frames before it, not finished (a GPU's queue): the second
    judged from the next frame on, without it."""
    governor = Governor(BUDGET)
    run(governor, 10.0, LIGHT)
    assert governor.sampling
    assert governor.frame(10.0, 11 * 2.7e-3) is False  # eleven frames' GPU work waited for at once
    assert not governor.sampling and governor._works == []


def test_one_stall_between_samples_is_let_pass_two_late_frames_in_a_row_are_not():
    governor = Governor(BUDGET)
    run(governor, 10.0, LIGHT)
    assert governor.sampling
    stalled = {3: 0.090}  # frames that bring taps (never measured) and stall

    def work(scale):
        return stalled.get(next(frame), 0.003)

    frame = iter(range(10**6))
    frames = []
    run(governor, 0.5, work, start=10.0, taps=lambda i: i in stalled, finished=frames)
    assert governor.sampling and sum(measured for _, measured, _ in frames) < 5  # one late swap: a stall
    stalled, frame = {3: 0.030, 4: 0.030}, iter(range(10**6))
    frames = []
    run(governor, 0.5, work, start=10.5, taps=lambda i: i in stalled, finished=frames)
    assert not governor.sampling  # two in a row: frames not measured ran long
    assert all(measured for _, measured, _ in frames[5:])


def test_the_render_scale_option():
    assert parse_render_scale("auto") is None and parse_render_scale("AUTO") is None
    assert parse_render_scale("1") == 1.0 and parse_render_scale("0.75") == 0.75
    for wrong in ("0.3", "1.5", "big"):
        with pytest.raises(ValueError):
            parse_render_scale(wrong)


def test_run_refuses_a_scale_out_of_range(capsys):
    from dessins_de_planche.commands import build_parser

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


@pytest.mark.slow
def test_the_real_app_finishes_a_sample_of_its_frames_and_never_one_that_brings_a_tap(tmp_path):
    """SDL's offscreen driver at 64x36, the demo playing: frames with clear headroom. Once a calm second
    has passed (every frame finished well within the headroom, no late swap), one frame in a dozen is
    finished, never one that brings a tap or its confirmation (a sample: a frame finished between two
    that are not); `gpu` names frames finished only."""
    import os
    import subprocess
    import sys

    from dessins_de_planche.app.governor import LATE
    from dessins_de_planche.app.telemetry import GPU_LAG

    telemetry = tmp_path / "frames.jsonl"
    command = [sys.executable, "-m", "dessins_de_planche", "run", "--size", "64x36", "--seconds", "9",
               "--max-fps", "60", "--no-autosave", "--telemetry", str(telemetry)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SDL_VIDEODRIVER": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    with open(telemetry) as f:
        frames = [json.loads(line) for line in f if line.startswith('{"frame"')]
    done = np.array(["finished" in f for f in frames])
    brings = np.array(["taps" in f or "confirmed" in f for f in frames])
    assert all(f["drawn"] <= f["finished"] <= f["swap"] for f in frames if "finished" in f)
    finished = {f["frame"] for f in frames if "finished" in f}
    assert all(f["gpu"][0] == f["frame"] - GPU_LAG and f["gpu"][0] in finished for f in frames if "gpu" in f)
    sample = np.zeros(len(frames), bool)
    sample[1:-1] = done[1:-1] & ~done[:-2] & ~done[2:]  # finished between two frames that are not
    assert not (sample & brings).any()  # never a frame that brings taps

    # The first calm second the telemetry shows (with margins: it sees the work from the drain on),
    # after the start-up: the governor must have been sampling by its end.
    calm_from, calm_end = None, None
    for i, f in enumerate(frames[1:], 1):
        if f["drained"] - frames[0]["drained"] < START_SECONDS + 0.2:
            continue
        calm = (f["scale"] == 1.0 and f["swap"] - frames[i - 1]["swap"] < 0.9 * LATE * BUDGET
                and f.get("finished", f["drawn"]) - f["drained"] < 0.8 * HEADROOM * BUDGET)
        calm_from = (calm_from if calm_from is not None else i) if calm else None
        if calm_from is not None and f["drained"] - frames[calm_from]["drained"] >= CALM_SECONDS + 0.2:
            calm_end = i
            break
    if calm_end is None:
        pytest.skip("the machine left the app no calm second (frames late or long): nothing to sample")
    assert not done[calm_from:calm_end + 1].all()  # sampling began within it
    assert sample.sum() >= 1 and brings[calm_end:].sum() >= 10  # samples, and taps they kept away from
