"""The live loop's telemetry: what each frame line says about where its time went (the wait for the
GPU, the GPU's own time) and, with the read-back check, which pixels a frame brightened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from dessins_de_planche.app.telemetry import BRIGHTER, GPU_LAG, UNTIMED, Telemetry, count_brightened
from dessins_de_planche.render.canvas import release_framebuffer

NO_TAPS = SimpleNamespace(taps=np.zeros(0, [("refine", "u1")]))


def frame_lines(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith('{"frame"')]


def test_brightened_pixels_are_those_a_channel_gained_the_threshold_in():
    rng = np.random.default_rng(7)
    before = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    after = before.copy()
    after[10:20, 10:30, 1] = np.minimum(before[10:20, 10:30, 1].astype(int) + BRIGHTER, 255)  # green gains
    after[40:50, :, :] = 0  # a band goes dark: darker is never counted
    expected = int(((after.astype(np.int16) - before.astype(np.int16)).max(axis=2) >= BRIGHTER).sum())
    scratch = (np.empty(after.size, np.uint8), np.empty(after.size, bool))
    assert count_brightened(before.ravel(), after.ravel(), scratch) == expected
    assert 0 < expected <= 10 * 20  # only where green gained the whole threshold (255 cannot gain)
    assert count_brightened(after.ravel(), before.ravel()) == int(
        ((before.astype(np.int16) - after.astype(np.int16)).max(axis=2) >= BRIGHTER).sum())
    assert count_brightened(before.ravel(), before.ravel(), scratch) == 0


@pytest.mark.gl
def test_a_frame_line_says_when_the_gpu_was_done_and_how_long_it_took(ctx, tmp_path):
    path = tmp_path / "t.jsonl"
    telemetry = Telemetry(str(path), gpu_ctx=ctx)
    target = ctx.simple_framebuffer((64, 32))
    for _ in range(GPU_LAG + 3):
        telemetry.drained(NO_TAPS)
        with telemetry.drawing():
            target.use()
            target.clear(0.2, 0.4, 0.6, 1.0)
        telemetry.drawn(None, (64, 32))
        ctx.finish()  # as the loop does while the governor runs
        telemetry.finished()
        telemetry.swapped(None, 1.0)
    telemetry.close()
    frames = frame_lines(path)
    assert all(f["drawn"] <= f["finished"] <= f["swap"] for f in frames)
    timed = [f for f in frames if "gpu" in f]
    assert [f["frame"] for f in timed] == list(range(GPU_LAG, GPU_LAG + 3))  # read GPU_LAG frames later
    assert all(f["gpu"][0] == f["frame"] - GPU_LAG and f["gpu"][1] >= 0.0 for f in timed)
    release_framebuffer(ctx, target)  # not left bound: a GL error in the next test


@pytest.mark.gl
def test_only_a_frame_finished_has_a_finished_time_and_a_gpu_time(ctx, tmp_path):
    """While the governor samples, a frame not finished says so by having neither: its query's end may
    wait for the next frame's first pass (Mesa's llvmpipe), so its time would span the wait."""
    path = tmp_path / "t.jsonl"
    telemetry = Telemetry(str(path), gpu_ctx=ctx)
    target = ctx.simple_framebuffer((64, 32))
    finish = [True, False, False, True, False, True, True, False, False, False, True]
    for finished in finish:
        telemetry.drained(NO_TAPS)
        with telemetry.drawing():
            target.use()
            target.clear(0.2, 0.4, 0.6, 1.0)
        telemetry.drawn(None, (64, 32))
        if finished:
            ctx.finish()
            telemetry.finished()
        telemetry.swapped(None, 1.0)
    telemetry.close()
    frames = frame_lines(path)
    assert [f["frame"] for f in frames if "finished" in f] == [i for i, done in enumerate(finish) if done]
    timed = [f["gpu"][0] for f in frames if "gpu" in f]
    assert timed == [i for i, done in enumerate(finish[: len(finish) - GPU_LAG]) if done]
    release_framebuffer(ctx, target)  # not left bound: a GL error in the next test


def test_without_the_governor_a_line_has_no_gpu_time(tmp_path):
    """A query's end is not run until its commands are flushed: with no finish each frame it is not timed."""
    path = tmp_path / "t.jsonl"
    telemetry = Telemetry(str(path))
    for _ in range(GPU_LAG + 2):
        telemetry.drained(NO_TAPS)
        with telemetry.drawing():
            pass
        telemetry.drawn(None, (4, 4))
        telemetry.swapped(None, 1.0)
    telemetry.close()
    assert telemetry.drawing() is UNTIMED
    assert not any("gpu" in f or "finished" in f for f in frame_lines(path))


def test_the_read_back_check_counts_each_frame_of_the_real_app(tmp_path):
    """SDL's offscreen driver (EGL): each frame read back and counted against the one before it, the
    governor's finished time and the GPU's time on the lines of the frames it measured (none in its
    first 2 s, then every frame until the headroom is clear), the frames still paced at 60 fps."""
    telemetry = tmp_path / "frames.jsonl"
    command = [sys.executable, "-m", "dessins_de_planche", "run", "--size", "320x180", "--seconds", "3",
               "--max-fps", "60", "--telemetry", str(telemetry), "--telemetry-pixels"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SDL_VIDEODRIVER": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    frames = frame_lines(telemetry)
    assert len(frames) > 60
    assert frames[0]["brightened"] == -1 and all(f["brightened"] >= 0 for f in frames[1:])
    assert any(f["brightened"] > 0 for f in frames)  # the demo's taps light pixels up
    finished = {f["frame"] for f in frames if "finished" in f}
    assert len(finished) >= 3  # after the governor's start-up
    assert all(f["drawn"] <= f["finished"] <= f["swap"] for f in frames if "finished" in f)
    timed = [f for f in frames if "gpu" in f]
    assert timed
    assert all(f["gpu"][0] == f["frame"] - GPU_LAG and f["gpu"][0] in finished for f in timed)
