"""A shader that compiles but never finishes a frame in time is refused before it takes the stage.

Part of the hostile-input suite. The endless loop is the report's case (llvmpipe stops a loop
after 65535 turns: ~2 s a frame at 640×360 here); the show is a stand-in with the app's shape,
polling for edits each frame as the window does.
"""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import numpy as np
import pytest

from dessins_de_planche.preset.deck import Deck
from dessins_de_planche.render.canvas import release_framebuffer
from dessins_de_planche.render.live_edit import LiveEditing
from dessins_de_planche.render.probe import FRAME_LIMIT_S, shader_frame_seconds
from dessins_de_planche.render.scene import Scene
from dessins_de_planche.render.text import TextOverlay

pytestmark = pytest.mark.gl

SIZE = (320, 180)
DEADLINE = 20.0

PRESET = 'format = 1\nname = "{name}"\n[[layers]]\nkind = "shader"\nfile = "{file}"\ntarget = "over"\n'
WASH = '#version 330 core\n#include "layer.glsl"\nvoid main() {\n    frag = vec4(0.0, 1.0, 0.0, 1.0);\n}\n'
ENDLESS = ('#version 330 core\n#include "layer.glsl"\nvoid main() {\n    float acc = 0.0;\n'
           '    while (true) { acc += 1.0; if (acc < 0.0) break; }\n    frag = vec4(fract(acc), 0.0, 1.0, 1.0);\n}\n')


def save(path, text):
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


class Show:
    def __init__(self, ctx, folder):
        self.ctx = ctx
        self.live = LiveEditing([folder], TextOverlay(ctx), shader_folders=[folder], interval=0.05)
        self.deck = Deck(self.live.presets())
        self.rhythm = SimpleNamespace(bar_beats=2)
        self.scene = Scene(ctx, self.deck.preset, SIZE)
        self.deck.show_on(self.scene, self.rhythm)
        self.live.attach(self.deck)
        self.target = ctx.simple_framebuffer(SIZE)
        self.now = 0.0

    @property
    def presets(self):
        return self.deck.presets

    def frame(self):
        self.now += 1 / 60
        self.live.poll()
        self.scene.render(self.now, self.target)
        return np.frombuffer(self.target.read(components=3), np.uint8).reshape(SIZE[1], SIZE[0], 3)

    def until_reported(self):
        started = time.monotonic()
        while not self.live.overlay.visible:
            self.frame()
            assert time.monotonic() - started < DEADLINE, "the slow shader was never reported"
        return "\n".join(self.live.overlay.lines())

    def release(self):
        self.scene.release()
        release_framebuffer(self.ctx, self.target)


def green(picture):
    return tuple(picture[SIZE[1] // 2, SIZE[0] // 2]) == (0, 255, 0)


def test_an_endless_loop_edited_into_the_running_shader_is_refused_and_the_look_stays(ctx, tmp_path):
    save(tmp_path / "wash.frag.glsl", WASH)
    save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl"))
    stage = Show(ctx, tmp_path)
    try:
        assert green(stage.frame())
        save(tmp_path / "wash.frag.glsl", ENDLESS)
        report = stage.until_reported()
        assert "wash.frag.glsl" in report and "a frame" in report
        for _ in range(3):
            picture = stage.frame()
        assert green(picture)  # the last good look still draws, not the loop's blue
    finally:
        stage.release()


def test_a_new_preset_with_an_endless_loop_never_takes_the_stage(ctx, tmp_path):
    save(tmp_path / "wash.frag.glsl", WASH)
    save(tmp_path / "loop.frag.glsl", ENDLESS)
    save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl"))
    stage = Show(ctx, tmp_path)
    try:
        assert [p.name for p in stage.presets] == ["wash"]  # no loop preset yet
        save(tmp_path / "loop.toml", PRESET.format(name="loop", file="loop.frag.glsl"))
        report = stage.until_reported()
        assert "loop.toml" in report and "loop.frag.glsl" in report
        assert stage.scene.preset.name == "wash" and green(stage.frame())
    finally:
        stage.release()


def test_a_slow_preset_in_the_folder_at_start_is_left_out(ctx, tmp_path):
    save(tmp_path / "loop.frag.glsl", ENDLESS)
    save(tmp_path / "a_loop.toml", PRESET.format(name="a_loop", file="loop.frag.glsl"))
    save(tmp_path / "wash.frag.glsl", WASH)
    save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl"))
    stage = Show(ctx, tmp_path)
    try:
        assert [p.name for p in stage.presets] == ["wash"]
        assert "a_loop.toml" in "\n".join(stage.live.overlay.lines())
        assert green(stage.frame())
    finally:
        stage.release()


def test_the_gallery_s_shaders_are_well_within_the_bound(ctx):
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_preset

    shaded = [load_preset(p) for p in sorted(presets_dir().glob("*.toml"))]
    shaded = [p for p in shaded if any(layer.kind == "shader" for layer in p.layers)]
    assert shaded
    for preset in shaded:
        scene = Scene(ctx, preset, (640, 360))
        try:
            assert shader_frame_seconds(scene, preset, (640, 360)) < FRAME_LIMIT_S / 4, preset.name
        finally:
            scene.release()


def test_a_look_one_busy_frame_slowed_is_timed_again_and_a_far_slower_one_is_refused_at_once(
        ctx, tmp_path, monkeypatch):
    """The machine stalls the first timed frame (as another program once made a 21 ms look take
    350 ms): the look is timed again and loads. Stalled far past the limit, it is refused after
    one frame, as an endless loop is, without paying for more."""
    from dessins_de_planche.render import probe

    save(tmp_path / "wash.frag.glsl", WASH)
    save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl"))
    stage = Show(ctx, tmp_path)
    scene, preset = stage.scene, stage.deck.preset
    real_layers, drawn = probe._shader_layers, []

    def stalled_once(stall_s):
        class Stalled:  # the wash layer, its first timed frame held up as a busy machine would
            def __init__(self, layer):
                self.layer = layer

            def rewrite_canvas(self, *args):
                self.layer.rewrite_canvas(*args)

            def draw_over(self, *args):
                self.layer.draw_over(*args)
                drawn.append(1)
                if len(drawn) == 1:
                    time.sleep(stall_s)

        monkeypatch.setattr(probe, "_shader_layers", lambda layers: [Stalled(x) for x in real_layers(layers)])

    try:
        to_show = probe.PROBE_SHARE  # the show's pixels over the probe's: a stall counts this many times
        stalled_once(2 * FRAME_LIMIT_S / to_show)  # twice the limit, once
        assert probe.check_frame_time(scene, preset, "wash.toml", size=(1280, 720)) < FRAME_LIMIT_S
        assert len(drawn) == 2
        drawn.clear()
        stalled_once(2 * probe.RETIME_BELOW * FRAME_LIMIT_S / to_show)  # far past it: no second frame
        with pytest.raises(probe.SlowShader, match="wash.toml"):
            probe.check_frame_time(scene, preset, "wash.toml", size=(1280, 720))
        assert len(drawn) == 1
    finally:
        stage.release()


def test_validate_fails_an_endless_loop_and_passes_the_rest(tmp_path):
    import subprocess
    import sys

    save(tmp_path / "loop.frag.glsl", ENDLESS)
    save(tmp_path / "wash.frag.glsl", WASH)
    save(tmp_path / "loop.toml", PRESET.format(name="loop", file="loop.frag.glsl"))
    save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl"))
    run = subprocess.run([sys.executable, "-m", "dessins_de_planche", "validate", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    if "no headless OpenGL" in run.stderr:
        pytest.skip("no EGL for validate")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "FAIL" in run.stderr and "loop.toml" in run.stderr and "a frame" in run.stderr
    assert "wash.toml" in run.stdout and "1 of 2 presets are valid" in run.stderr


def test_a_preset_with_a_310_digit_number_saved_into_the_watched_folder_is_reported_and_the_show_draws_on(
        ctx, tmp_path):
    save(tmp_path / "wash.frag.glsl", WASH)
    save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl"))
    stage = Show(ctx, tmp_path)
    try:
        huge = '\n[[layers]]\nkind = "marks"\n[layers.map]\nsize = { expr = "' + "1" * 310 + ' * velocity" }\n'
        save(tmp_path / "huge.toml", 'format = 1\nname = "huge"' + huge)
        save(tmp_path / "wash.toml", PRESET.format(name="wash", file="wash.frag.glsl") + huge)  # the running look too
        report = stage.until_reported()
        assert "huge.toml" in report or "wash.toml" in report
        assert "out of range" in report
        for _ in range(5):
            picture = stage.frame()
        assert green(picture) and stage.scene.preset.name == "wash"
        assert [p.name for p in stage.presets] == ["wash"]
    finally:
        stage.release()
