"""The deck owns the looks: whatever changes them in one frame, the picture shows `deck.preset`.

The first tests drive the deck with a scene stand-in that records what it was asked to show;
the last ones run live editing on real GL, as the app's show does, with a program change in
the same frame as an edit.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from dessins_de_planche.preset.deck import Deck
from dessins_de_planche.preset.loader import IDLE_PRESET, PresetError
from dessins_de_planche.preset.model import Preset

SIZE = (64, 36)

LOOK = """\
format = 1
name = "{name}"
[canvas]
background = "{background}"
[[layers]]
kind = "marks"
"""


def look(name: str, background: str = "#102030") -> Preset:
    import tomllib

    return Preset.model_validate(tomllib.loads(LOOK.format(name=name, background=background)))


class Scene:
    """What the deck needs of a scene: it records which look it was told to show, and how."""

    def __init__(self, preset):
        self.preset, self.calls = preset, []

    def set_preset(self, preset, fade=None, layers=None):
        self.preset = preset
        self.calls.append(("set", preset.name, fade))

    def tune(self, preset):
        self.preset = preset
        self.calls.append(("tune", preset.name, None))


def deck_of(*names, index=0) -> Deck:
    deck = Deck([look(n) for n in names], index)
    deck.show_on(Scene(deck.preset), SimpleNamespace(bar_beats=0))
    return deck


def test_the_deck_hands_out_a_copy_and_an_empty_one_shows_the_idle_look():
    deck = deck_of("ink", "rosette")
    assert isinstance(deck.presets, tuple)  # nothing outside the deck can change the list
    assert Deck([]).preset is IDLE_PRESET


def test_a_selection_wraps_and_the_scene_and_rhythm_follow():
    deck = deck_of("ink", "rosette", "thread")
    deck.select(4)
    assert deck.preset.name == "rosette" and deck.scene.preset is deck.preset
    assert deck.rhythm.bar_beats == deck.preset.bar_beats
    assert not deck.select_name("nope") and deck.preset.name == "rosette"
    calls = len(deck.scene.calls)
    deck.select(1)  # already on stage: no new fade
    assert len(deck.scene.calls) == calls


def test_a_knob_tunes_the_current_look_in_place_and_a_refused_value_changes_nothing():
    deck = deck_of("ink", "rosette")
    before = deck.preset
    assert not deck.set_parameter("canvas.nowhere", 1.0)
    assert deck.preset is before and deck.scene.calls == []


def test_a_live_edit_of_the_current_look_and_a_program_change_in_one_frame():
    """The program change first, then the edit of the look that was current: the new look stays on
    stage, and the edit waits in the deck. The other order: the edit shows, then the change."""
    deck = deck_of("ink", "rosette", "thread")
    deck.select(2)  # MIDI program 2: thread
    deck.put(look("ink", "#a03010"))  # the designer saved ink.toml this frame
    assert deck.preset.name == "thread" and deck.scene.preset is deck.preset
    assert deck.presets[0].canvas.background == "#a03010"
    deck.select(0)  # and back to ink: the edited one
    assert deck.scene.preset is deck.presets[0]

    deck = deck_of("ink", "rosette", "thread")
    deck.put(look("ink", "#a03010"))
    assert deck.scene.preset.canvas.background == "#a03010"
    deck.select(1)
    assert deck.preset.name == "rosette" and deck.scene.preset is deck.preset
    assert [p.name for p in deck.presets] == ["ink", "rosette", "thread"]


def test_a_renamed_file_replaces_its_look_and_a_new_one_joins_without_taking_the_stage():
    deck = deck_of("ink", "rosette")
    deck.put(look("inkier"), previous_name="ink")
    assert deck.names() == ["inkier", "rosette"] and deck.scene.preset.name == "inkier"
    deck.put(look("thread"))
    assert deck.names() == ["inkier", "rosette", "thread"] and deck.preset.name == "inkier"


def test_a_look_that_cannot_be_drawn_leaves_and_the_current_one_stays_current():
    deck = deck_of("ink", "rosette", "thread", index=2)
    deck.drop(deck.presets[0])
    assert deck.names() == ["rosette", "thread"] and deck.preset.name == "thread"
    deck.drop(deck.preset)  # the look on stage itself: the next one shows, at once
    assert deck.names() == ["rosette"] and deck.scene.preset is deck.preset
    deck.drop(deck.preset)
    assert deck.presets == (IDLE_PRESET,) and deck.scene.preset is IDLE_PRESET
    deck.put(look("first"))  # the first look that builds replaces the idle one
    assert deck.names() == ["first"] and deck.scene.preset.name == "first"


def test_a_playlist_steps_the_deck_and_its_timing_changes_the_look():
    from dessins_de_planche.control.playlist import rotation

    deck = deck_of("ink", "rosette", "thread")
    deck.follow(rotation(["thread", "ink"], 1.0), now=0.0)
    assert deck.preset.name == "thread"
    deck.step(1.0)
    assert deck.preset.name == "ink"
    deck.tick(1.0 + 61.0)
    assert deck.preset.name == "thread"


def test_the_start_preset_is_a_name_or_a_file_put_first(tmp_path):
    presets = [look("ink"), look("rosette")]
    assert Deck.starting_at(presets, "rosette").preset.name == "rosette"
    with pytest.raises(PresetError, match="no preset named 'nope'; the gallery has: ink, rosette"):
        Deck.starting_at(presets, "nope")
    file = tmp_path / "mine.toml"
    file.write_text(LOOK.format(name="mine", background="#000000"))
    deck = Deck.starting_at(presets, str(file))
    assert deck.names() == ["mine", "ink", "rosette"] and deck.index == 0


# -- on real GL, through live editing -----------------------------------------------------------------
def save(path, text):
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
def live(ctx, tmp_path):
    from dessins_de_planche.render.live_edit import LiveEditing
    from dessins_de_planche.render.scene import Scene as RealScene

    for name, background in (("ink", "#102030"), ("rosette", "#203040")):
        (tmp_path / f"{name}.toml").write_text(LOOK.format(name=name, background=background))
    editing = LiveEditing([tmp_path], shader_folders=[], interval=0.0)
    deck = Deck(editing.presets())
    scene = RealScene(ctx, deck.preset, SIZE)
    deck.show_on(scene, SimpleNamespace(bar_beats=2))
    editing.attach(deck)
    yield editing, deck
    scene.release()


@pytest.mark.gl
def test_a_broken_file_never_enters_the_deck_and_the_last_good_stays(live, tmp_path):
    editing, deck = live
    good = deck.preset
    for broken in ("", "format = 1\nname = \"ink\"\n[canvas\n", "\x00" * 8, LOOK.format(name="ink", background="x")):
        save(tmp_path / "ink.toml", broken)
        assert editing.poll() == [("error", tmp_path / "ink.toml")]
        assert deck.preset is good and deck.scene.preset is good
        assert deck.names() == ["ink", "rosette"]
    save(tmp_path / "new.toml", "format = 1\nname = \"new\"\n[[layers]]\nkind = \"nothing\"\n")
    editing.poll()
    assert deck.names() == ["ink", "rosette"]  # a new file that does not load never joins


@pytest.mark.gl
def test_an_edit_and_a_program_change_in_the_same_frame_leave_the_picture_on_the_deck(live, tmp_path):
    editing, deck = live
    save(tmp_path / "ink.toml", LOOK.format(name="ink", background="#a03010"))
    deck.select(1)  # a MIDI program change, handed over before the frame's poll
    assert editing.poll() == [("reloaded", tmp_path / "ink.toml")]
    assert deck.preset.name == "rosette" and deck.scene.preset is deck.preset
    assert deck.presets[0].canvas.background == "#a03010"
    deck.select(0)
    assert deck.scene.preset is deck.presets[0]


@pytest.mark.gl
def test_the_app_s_show_takes_a_program_change_and_draws_an_edit_in_the_same_frame(ctx, tmp_path, monkeypatch):
    """The app's order within a frame: the batch first (a MIDI program change), then the draw, which
    polls for edits. The program change's look is drawn; the edited look waits in the deck."""
    import numpy as np

    from dessins_de_planche.app.show import Show
    from dessins_de_planche.config import InputSpec
    from dessins_de_planche.events import CONTROL_DTYPE, CONTROL_PROGRAM, FEATURE_DTYPE, TAP_DTYPE
    from dessins_de_planche.render.canvas import release_framebuffer

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # no user presets of this machine's
    folder = tmp_path / "presets"
    folder.mkdir()
    (folder / "mine.toml").write_text(LOOK.format(name="mine", background="#102030"))
    show = Show(ctx, SIZE, InputSpec(audio_device="none"), "mine", soundcheck=False, preset_dirs=[folder])
    show.live.watcher.interval = 0.0
    target = ctx.simple_framebuffer(SIZE)
    try:
        show.draw(0.0, target, None)
        other = next(i for i, name in enumerate(show.deck.names()) if name != "mine")
        program = np.zeros(1, CONTROL_DTYPE)
        program["type"], program["number"] = CONTROL_PROGRAM, other
        save(folder / "mine.toml", LOOK.format(name="mine", background="#a03010"))
        show.take(SimpleNamespace(taps=np.zeros(0, TAP_DTYPE), features=np.zeros(0, FEATURE_DTYPE), controls=program))
        show.draw(0.1, target, None)
        assert show.deck.index == other and show.scene.preset is show.preset
        mine = show.deck.presets[show.deck.names().index("mine")]
        assert mine.canvas.background == "#a03010" and show.live.reloads == 1
    finally:
        release_framebuffer(ctx, target)
        show.scene.release()
