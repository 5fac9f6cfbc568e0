"""`render --out show.mp4`: the whole show as a video that a decoder reads back as drawn."""

from __future__ import annotations

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
