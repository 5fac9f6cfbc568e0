"""Live editing, headless: a saved preset or shader shows within the half second; a broken one never replaces the look.

The show here is a stand-in with the app's shape (a deck, a scene, a rhythm);
each frame polls for edits exactly as the window does, then draws.
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
from dessins_de_planche.render.scene import Scene
from dessins_de_planche.render.text import TextOverlay

pytestmark = pytest.mark.gl

SIZE = (96, 54)
DEADLINE = 5.0  # 10x the half second a designer should wait

LOOK = """\
format = 1
name = "look"
[canvas]
background = "{background}"
[[layers]]
kind = "marks"
"""

SHADED = """\
format = 1
name = "shaded"
[canvas]
background = "#000000"
[[layers]]
kind = "shader"
file = "wash.frag.glsl"
target = "over"
"""

WASH = """\
#version 330 core
#include "layer.glsl"
void main() {{
    frag = vec4({colour}, 1.0);
}}
"""


def save(path, text):
    """Write as an editor does, and make sure the stamp moves even on a coarse-clock file system."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


class Show:
    """The app's Show, reduced to what live editing touches: poll, then draw, every frame."""

    def __init__(self, ctx, folder):
        self.ctx = ctx
        self.live = LiveEditing([folder], TextOverlay(ctx), shader_folders=[folder], interval=0.1)
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
        self.live.draw(self.target)
        return np.frombuffer(self.target.read(components=3), np.uint8).reshape(SIZE[1], SIZE[0], 3)

    def picture_until(self, condition):
        """Frames until `condition(picture)` holds; the seconds it took (fails at the deadline)."""
        started = time.monotonic()
        while time.monotonic() - started < DEADLINE:
            picture = self.frame()
            if condition(picture):
                return time.monotonic() - started
        pytest.fail(f"the picture did not change within {DEADLINE} s")

    def frames(self, seconds):
        end = time.monotonic() + seconds
        picture = self.frame()
        while time.monotonic() < end:
            picture = self.frame()
        return picture

    def release(self):
        self.scene.release()
        release_framebuffer(self.ctx, self.target)


def centre(picture):
    return picture[SIZE[1] // 2, SIZE[0] // 2].astype(int)


def near(colour):
    return lambda picture: np.abs(centre(picture) - np.array(colour)).max() <= 3


@pytest.fixture
def show(ctx, tmp_path):
    save(tmp_path / "look.toml", LOOK.format(background="#204060"))
    stage = Show(ctx, tmp_path)
    yield stage
    stage.release()


def test_a_saved_preset_shows_at_once(show, tmp_path):
    assert near((0x20, 0x40, 0x60))(show.frame())
    save(tmp_path / "look.toml", LOOK.format(background="#a03010"))
    show.picture_until(near((0xA0, 0x30, 0x10)))
    assert show.presets[0].canvas.background == "#a03010" and show.live.reloads == 1


@pytest.mark.parametrize(
    "text, said",
    [
        ("", "empty file"),
        ('format = 1\nname = "look\x00"\n', "NUL"),
        (LOOK.format(background="#a03010") + "[canvas]\n", "repeated"),
        (LOOK.format(background="#a03010").replace('kind = "marks"', 'kind = "marks"\nsize = "big"'), "layers[0].size"),
        (LOOK.format(background="#a03010").replace('"marks"', '"mark"'), "did you mean 'marks'"),
        (LOOK.format(background="#a03010").replace('kind = "marks"', 'kind = "marks"\nopacity = 7'), "layers[0].opacity"),
        (LOOK.format(background="#a03010") + '[[layers]]\nkind = "shader"\nfile = "../../etc/passwd.glsl"\n',
         "outside the preset and shader folders"),
        (LOOK.format(background="#a03010") + '[[layers]]\nkind = "shader"\nfile = "/etc/hosts.glsl"\n',
         "absolute path"),
    ],
    ids=["empty", "nul", "repeated-key", "wrong-type", "unknown-kind", "out-of-range", "outside", "absolute"],
)
def test_a_broken_preset_leaves_the_running_look_and_says_why(show, tmp_path, text, said):
    running = show.presets[0]
    save(tmp_path / "look.toml", text)
    started = time.monotonic()
    while not show.live.overlay.visible:
        show.frame()
        assert time.monotonic() - started < DEADLINE, "the error was never reported"
    report = "\n".join(show.live.overlay.lines())
    assert "look.toml" in report and said in report
    assert show.presets[0] is running and show.scene.preset is running
    show.frames(0.3)
    # the look is the old one: the canvas still holds its background
    assert np.abs(show.scene.canvas.read()[SIZE[1] // 2, SIZE[0] // 2].astype(int) - (0x20, 0x40, 0x60)).max() <= 3
    # fixed and saved: the report goes and the new look comes
    save(tmp_path / "look.toml", LOOK.format(background="#a03010"))
    show.picture_until(lambda picture: not show.live.overlay.visible and near((0xA0, 0x30, 0x10))(picture))


def test_a_shader_edit_shows_and_a_broken_shader_keeps_the_old_one(ctx, tmp_path):
    save(tmp_path / "wash.frag.glsl", WASH.format(colour="vec3(0.0, 1.0, 0.0)"))
    save(tmp_path / "shaded.toml", SHADED)
    stage = Show(ctx, tmp_path)
    try:
        assert near((0, 255, 0))(stage.frame())
        save(tmp_path / "wash.frag.glsl", WASH.format(colour="vec3(0.0, 0.0, 1.0)"))
        stage.picture_until(near((0, 0, 255)))
        save(tmp_path / "wash.frag.glsl", WASH.format(colour="vec3(1.0, 0.0, 0.0) * u_levle"))
        started = time.monotonic()
        while not stage.live.overlay.visible:
            stage.frame()
            assert time.monotonic() - started < DEADLINE, "the shader error was never reported"
        report = "\n".join(stage.live.overlay.lines())
        assert "wash.frag.glsl:4:" in report  # file:line of the designer's own file
        assert "u_levle" in report and "did you mean 'u_level'" in report
        stage.frames(0.3)
        assert near((0, 0, 255))(stage.scene.read_canvas())  # the last good shader still draws (under the report)
    finally:
        stage.release()


def test_a_new_file_joins_the_show_and_a_shader_that_does_not_compile_is_left_out(ctx, tmp_path):
    save(tmp_path / "look.toml", LOOK.format(background="#204060"))
    save(tmp_path / "broken.frag.glsl", "#version 330 core\nout vec4 frag;\nvoid main() { frag = nope; }\n")
    save(tmp_path / "shaded.toml", SHADED.replace("wash.frag.glsl", "broken.frag.glsl"))
    stage = Show(ctx, tmp_path)
    try:
        assert [p.name for p in stage.presets] == ["look"]  # compiled at start: the broken one is out
        assert "broken.frag.glsl:3:" in "\n".join(stage.live.overlay.lines())
        save(tmp_path / "more.toml", LOOK.format(background="#ffffff").replace('"look"', '"more"'))
        started = time.monotonic()
        while "more" not in [p.name for p in stage.presets]:
            stage.frame()
            assert time.monotonic() - started < DEADLINE
        assert stage.scene.preset.name == "look"  # a new file does not take the stage by itself
        assert stage.live.dismiss() and not stage.live.overlay.visible
    finally:
        stage.release()
