"""Offline render: a performance in, a PNG of the requested size with the marks in it out."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, TAP_DTYPE
from dessins_de_planche.preset import PresetError
from dessins_de_planche.preset.palettes import palette_array
from dessins_de_planche.render.offline import default_step, preset_by_name, render_performance

pytestmark = pytest.mark.gl


class StandInTracker:
    """Until listen.tempo lands: a fixed 112 BPM tracker with the TempoTracker interface."""

    def __init__(self, bar_beats=2):
        self.bar_beats, self.bpm, self.added = bar_beats, 112.0, 0

    def add(self, time, kind, velocity):
        self.added += 1

    def beat_phase(self, t):
        return (t * self.bpm / 60.0) % 1.0

    def bar_phase(self, t):
        return (t * self.bpm / 60.0 / self.bar_beats) % 1.0


def performance(seconds=6.0):
    """A reel's heel-toe pattern with refine records, in emission order, as analyze returns it."""
    beat = 60.0 / 112.0
    records, tap_id = [], 0
    t = 0.4
    while t < seconds:
        for offset, kind in ((0.0, KIND_HEEL), (0.5, KIND_TOE), (1.0, KIND_HEEL), (1.5, KIND_TOE)):
            time = t + offset * beat
            records.append((time, time + 0.010, 0.7, tap_id, 1, 0, 0, 0, 0, 0))
            records.append((time, time + 0.022, 0.8, tap_id, 1, 0, 0, kind, 1, 0))  # kind known 12 ms later
            tap_id += 1
        t += 2 * beat
    return SimpleNamespace(taps=np.array(records, TAP_DTYPE), duration=seconds, tempo_bpm=112.0)


@pytest.mark.parametrize("name", ["rosette", "thread"])
def test_offline_render_writes_a_png_of_the_requested_size_with_marks(ctx, tmp_path, name):
    import pygame

    result = performance()
    seen = []
    trackers = []

    def analyze(path):
        seen.append(path)
        return result

    def tracker(bar_beats):
        trackers.append(StandInTracker(bar_beats))
        return trackers[-1]

    out = tmp_path / "picture.png"
    fractions = []
    picture = render_performance(tmp_path / "show.wav", preset_by_name(name), (800, 450), out,
                                 progress=fractions.append, analyze=analyze, tracker_factory=tracker)
    assert seen == [str(tmp_path / "show.wav")]
    assert trackers[0].added == int((result.taps["refine"] == 0).sum())
    assert fractions and fractions[-1] == 1.0
    image = pygame.image.load(str(out))
    assert image.get_size() == (800, 450)
    pixels = pygame.surfarray.array3d(image).transpose(1, 0, 2)
    assert np.array_equal(pixels, picture)
    preset = preset_by_name(name)
    background = np.array([int(preset.canvas.background[i : i + 2], 16) for i in (1, 3, 5)])
    drawn = np.abs(pixels.astype(int) - background).sum(axis=2) > 40
    assert drawn.sum() > 500
    # heel and toe marks both there: each drawn pixel's hue is nearer the heel or the toe colour
    palette = palette_array(preset.layers[0].palette)[:2, :3] * 255 - background
    ink = pixels[drawn].astype(float) - background
    ink /= np.linalg.norm(ink, axis=1, keepdims=True)
    palette /= np.linalg.norm(palette, axis=1, keepdims=True)
    heel_share = (ink @ palette[0] > ink @ palette[1]).mean()
    assert 0.15 < heel_share < 0.85


def test_the_step_grows_with_the_size_only_for_big_canvases():
    assert default_step((1280, 720)) == pytest.approx(1 / 60)
    assert default_step((3840, 2160)) == pytest.approx(4 / 60)


def test_preset_by_name_error_lists_the_gallery():
    with pytest.raises(PresetError) as caught:
        preset_by_name("rosete")
    message = str(caught.value)
    assert "did you mean 'rosette'" in message and "thread" in message
