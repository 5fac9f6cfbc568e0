"""`render --out show.mp4`: the whole show as a video that a decoder reads back as drawn."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile

pytestmark = pytest.mark.gl

SR = 48_000


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    from dessins_de_planche.listen.synth import podorhythm

    audio, truth = podorhythm(2.0, SR, 120, 2, ("heel", "toe"), seed=3, level_db=-12.0)
    path = tmp_path_factory.mktemp("take") / "take.wav"
    soundfile.write(path, audio, SR)
    return path, truth


def render(*args):
    return subprocess.run([sys.executable, "-m", "dessins_de_planche", "render", *args],
                          capture_output=True, text=True, timeout=300)


def test_a_video_has_the_frames_size_sound_and_pictures_of_the_render(take, tmp_path):
    import av

    from dessins_de_planche.render.offline import render_performance
    from dessins_de_planche.render.offline import preset_by_name

    path, truth = take
    out = tmp_path / "show.mp4"
    result = render("--input", str(path), "--preset", "rosette", "--out", str(out), "--size", "320x180",
                    "--fps", "30")
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 320, 180)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == int(np.ceil((2.0 + 0.5) * 30))  # the take and the render's half-second tail
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        heard = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert abs(len(heard) / audio.codec_context.sample_rate - 2.0) < 0.1
    assert np.abs(heard).max() > 0.05  # the taps are in the sound

    still = tmp_path / "still.png"
    picture = render_performance(str(path), preset_by_name("rosette"), (320, 180), still, step=1 / 30)
    last = frames[-1].astype(int)
    assert np.abs(last - picture.astype(int)).mean() < 4, "the last frame is the PNG render of the same instant"
    background = np.median(picture.reshape(-1, 3), axis=0)
    marks = np.abs(picture.astype(int) - background).max(axis=2) > 40
    assert marks.sum() > 20 and (np.abs(last - picture.astype(int)).max(axis=2)[marks] < 60).mean() > 0.9
    assert len({frame.tobytes() for frame in frames[::10]}) > 3, "the picture moves: a video, not a still"


def test_a_video_size_must_be_even(take, tmp_path):
    path, _ = take
    result = render("--input", str(path), "--out", str(tmp_path / "show.mp4"), "--size", "321x180")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "dessins-de-planche render: a video's width and height must be even (got 321x180)")


def test_the_show_records_its_projected_picture_live(tmp_path):
    """`run --record-video`: every frame shown is in the video, or counted (dropped: the encoder
    was behind; skipped: shown faster than the video's frame rate), and the video lasts the show."""
    import json
    import os

    import av

    out, health = tmp_path / "live.mp4", tmp_path / "health.json"
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "run", "--size", "320x180", "--generate",
                             "--bpm", "140", "--record-video", str(out), "--seconds", "3",
                             "--health-file", str(health)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SDL_VIDEODRIVER": "offscreen", "LANGUAGE": "en"})
    assert result.returncode == 0, result.stderr
    said = re.findall(r"recorded (\d+) frames of the picture to .* \((\d+) dropped: .*; (\d+) faster than",
                      result.stderr)
    assert len(said) == 1, result.stderr
    recorded, dropped, skipped = (int(n) for n in said[0])
    shown = int(result.stderr.rsplit(" frames in ", 1)[0].rsplit(" ", 1)[1])
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        seconds = float(container.duration / 1e6)
    assert (video.width, video.height) == (320, 180)
    assert len(frames) == recorded and recorded + dropped + skipped in (shown, shown - 1)
    # the encoder keeps up: a stall of the shared machine may drop a frame or three (3 of 287 once in
    # CI); the share a show drops (target 1 %) is bench/record_video.py's, measured against a baseline
    assert dropped <= 0.05 * shown, f"{dropped} of {shown} frames dropped"
    assert 2.5 <= seconds <= 3.6
    last = frames[-1].astype(int)
    background = np.median(last.reshape(-1, 3), axis=0)
    assert (np.abs(last - background).max(axis=2) > 40).sum() > 20, "the drawing is in the video"
    (out_state,) = json.loads(health.read_text())["picture_out"]
    assert out_state["error"] == "" and out_state["to"] == str(out)


def test_a_virtual_camera_that_cannot_open_is_one_line(tmp_path):
    """Without pyvirtualcam, or without a loopback device, `--virtual-camera` says what is missing."""
    import os

    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "run", "--size", "320x180",
                             "--virtual-camera", "--seconds", "1"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SDL_VIDEODRIVER": "offscreen", "LANGUAGE": "en"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dessins-de-planche run: ") and "virtual camera" in last and "v4l2loopback" in last
    assert "Traceback" not in result.stderr
