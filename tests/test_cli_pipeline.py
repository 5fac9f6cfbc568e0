"""The two offline commands end to end, as a user runs them on a recording."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from dessins_de_planche.listen.synth import match_onsets, podorhythm


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    audio, truth = podorhythm(8.0, 48_000, 116, 2, ("heel", "toe"), seed=5, level_db=-12.0)
    path = tmp_path_factory.mktemp("take") / "take.wav"
    soundfile.write(path, audio, 48_000)
    return path, truth


def cli(*args):
    return subprocess.run([sys.executable, "-m", "dessins_de_planche", *args], capture_output=True, text=True,
                          timeout=300)


def test_analyze_json_reports_the_taps_of_the_take(take):
    path, truth = take
    result = cli("analyze", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    times = np.array([tap["time"] for tap in report["taps"]])
    _, precision, recall = match_onsets(times, truth["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95
    assert report["tempo_bpm"] == pytest.approx(116, rel=0.04)
    kinds = {tap["kind"] for tap in report["taps"]}
    assert kinds == {"heel", "toe"}
    assert all(tap["detected_at"] >= tap["time"] for tap in report["taps"])


def test_analyze_prints_a_readable_summary(take):
    path, _ = take
    result = cli("analyze", str(path))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "taps in 8.0 s" in first and "BPM" in first


@pytest.mark.gl
@pytest.mark.parametrize("preset", ["rosette", "thread"])
def test_render_writes_the_drawing_of_the_take(take, tmp_path, preset):
    import pygame

    path, _ = take
    out = tmp_path / f"{preset}.png"
    result = cli("render", "--input", str(path), "--preset", preset, "--out", str(out), "--size", "800x450")
    assert result.returncode == 0, result.stderr
    image = np.transpose(pygame.surfarray.array3d(pygame.image.load(str(out))), (1, 0, 2)).astype(int)
    assert image.shape == (450, 800, 3)
    background = image[0, 0]
    marked = np.abs(image - background).sum(axis=2) > 60
    assert marked.sum() > 300  # marks of ~30 taps, not an empty canvas


def test_render_names_the_gallery_for_an_unknown_preset(take, tmp_path):
    path, _ = take
    result = cli("render", "--input", str(path), "--preset", "nope", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert "rosette" in result.stderr and "thread" in result.stderr
    assert "Traceback" not in result.stderr
