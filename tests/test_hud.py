"""The HUD, the help overlay, Esc's order, MIDI learn and the control map, on a stage with real GL."""

import argparse
import signal
from types import SimpleNamespace

import numpy as np
import pytest

from dessins_de_planche import locale
from dessins_de_planche.app import hud_text
from dessins_de_planche.events import CONTROL_CC, CONTROL_DTYPE
from dessins_de_planche.inputs.handle import InputBatch
from dessins_de_planche.inputs.status import InputStatus

pytestmark = pytest.mark.gl


class FakeRhythm:
    bpm, pattern, bar_beats, beat_period = 118.0, "heel toe toe", 2, None

    def beat_number(self, t):
        return int(t * 2)

    def bar_phase(self, t):
        return 0.0

    def reset(self):
        pass

    def set_tempo(self, bpm, at):
        self.bpm = bpm


class FakeShow:
    def __init__(self):
        from dessins_de_planche.preset.deck import Deck

        self.deck = Deck([SimpleNamespace(name=n) for n in ("ink", "rosette", "thread")], index=1)
        self.size = (160, 90)
        self.scene = SimpleNamespace(resize=lambda size: None, clear=lambda: None)
        self.rhythm = FakeRhythm()
        self.levels = {1: (0.1, 0.3), 2: (0.02, 0.05)}
        self.last_tap = {(1, 0): 0.0}
        self.taps_seen = 42
        self.taps_withdrawn = 3
        self.show_soundcheck = False
        self.notice = ()

    @property
    def preset(self):
        return self.deck.preset

    def take(self, batch):  # what the console hands on: the tests read it from `take`'s answer
        pass


STATUS = InputStatus(audio_state="listening", device_name="USB Audio", midi_state="off", running=True,
                     dropped={"taps": 2, "features": 1}, overflows=3, lateness_ms=(0.2, 1.5, 4.0))


@pytest.fixture
def stage(ctx, tmp_path):
    import pygame

    from dessins_de_planche.app.console import Console

    pygame.font.init()
    previous = signal.getsignal(signal.SIGINT)
    args = argparse.Namespace(kiosk=False, midi_control=str(tmp_path / "midi.toml"), autosave_dir=str(tmp_path),
                              warp=str(tmp_path / "warp.toml"))
    inputs = SimpleNamespace(zone_names=("board",), status=STATUS)
    made = Console(ctx, FakeShow(), SimpleNamespace(size=(160, 90), toggle_fullscreen=lambda: None), inputs, args)
    yield made
    made.close()
    made.output.release()
    signal.signal(signal.SIGINT, previous)
    locale.install("en")


def key(name, unicode=""):
    import pygame

    code = {"escape": pygame.K_ESCAPE, "?": pygame.K_SLASH}.get(name) or getattr(pygame, f"K_{name}")
    return pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode=unicode or name)


def test_the_hud_says_what_a_performer_needs(stage):
    text = "\n".join(hud_text.hud_lines(stage, 1.0, STATUS))
    for expected in ("rosette  (2/3)", "118 BPM", "heel toe toe", "Taps/s", "dropped: 3", "overflows: 3",
                     "0.2 / 1.5 / 4.0 ms", "listening (USB Audio)", "FPS", "taps: 42   withdrawn: 3"):
        assert expected in text, (expected, text)
    assert [m[0] for m in hud_text.meters(stage, 1.0)] == ["1", "2"]


def test_the_hud_and_help_speak_french(stage):
    locale.install("fr")
    text = "\n".join(hud_text.hud_lines(stage, 1.0, STATUS))
    assert "Motif : heel toe toe" in text and "à l’écoute (USB Audio)" in text and "gradateur" in text
    rows = dict(hud_text.help_rows(stage))
    assert rows["c"] == "effacer la toile (le dessin est d’abord enregistré)"


def test_help_lists_every_key(stage):
    listed = " ".join(keys for keys, _ in hud_text.help_rows(stage))
    for key_name, action in stage.keys.bindings:
        if not action.startswith("preset"):
            from dessins_de_planche.app.keys import key_label

            assert key_label(key_name) in listed, key_name
    assert "1–9" in listed and "ctrl+alt+q" in listed


def test_esc_closes_overlays_first_then_quits(stage):
    stage.handle(key("h"))
    stage.handle(key("?", "?"))
    assert stage.show_hud and stage.show_help
    stage.handle(key("escape", "\x1b"))
    assert not stage.show_help and stage.show_hud and not stage.quit_requested
    stage.handle(key("escape", "\x1b"))
    assert not stage.show_hud and not stage.quit_requested
    stage.handle(key("escape", "\x1b"))
    assert stage.quit_requested


def test_in_kiosk_mode_esc_never_quits(stage):
    stage.kiosk = True
    for _ in range(5):
        stage.handle(key("escape", "\x1b"))
    assert not stage.quit_requested


def cc(number, value):
    controls = np.zeros(1, CONTROL_DTYPE)
    controls["type"], controls["number"], controls["value"] = CONTROL_CC, number, value
    return controls


def batch(controls):
    from dessins_de_planche.events import FEATURE_DTYPE, TAP_DTYPE

    return InputBatch(np.zeros(0, TAP_DTYPE), np.zeros(0, FEATURE_DTYPE), controls)


def test_midi_learn_maps_a_knob_to_a_key_s_function_and_saves_it(stage, tmp_path):
    stage.handle(key("l"))
    stage.handle(key("b"))  # the function: blackout (learn mode takes the key; no blackout yet)
    assert not stage.output.blackout
    left = stage.take(batch(cc(20, 127)))
    assert len(left.controls) == 0  # the learning CC is not passed on to the preset
    assert '20 = "blackout"' in (tmp_path / "midi.toml").read_text()
    stage.take(batch(cc(20, 0)))
    stage.take(batch(cc(20, 127)))  # pressed again: now it is a blackout button
    assert stage.output.blackout
    stage.take(batch(cc(20, 127)))  # held, not pressed again: nothing more
    assert stage.output.blackout
    kept = stage.take(batch(cc(21, 64)))
    assert len(kept.controls) == 1  # an unmapped controller goes on to the preset's [controls]


def test_each_frame_the_show_gets_one_batch_from_the_console_without_the_mapped_controls(stage):
    """The window hands the console the frame's input; the console hands the show what is left."""
    given = []
    stage.show.take = given.append
    stage.handle(key("l"))
    stage.handle(key("b"))
    routed = stage.take(batch(np.concatenate([cc(20, 127), cc(21, 64)])))  # one learned, one for the preset
    assert given == [routed] and routed.controls["number"].tolist() == [21]


def test_the_p_and_e_keys_act_through_the_one_table(stage, monkeypatch):
    from dessins_de_planche.render import export

    saved, dismissed = [], []
    monkeypatch.setattr(export, "save_picture", saved.append)
    stage.show.live = SimpleNamespace(dismiss=lambda: dismissed.append(True))
    assert stage.handle(key("p", "p")) and stage.handle(key("e", "e"))
    assert saved == [stage.show.scene] and dismissed == [True]
    rows = dict(hud_text.help_rows(stage))
    assert rows["p"] == "save the picture as a PNG (pictures folder)" and rows["e"] == "hide the preset error report"


def test_a_control_map_file_sets_functions_and_the_dimmer(ctx, tmp_path):
    from dessins_de_planche.control import midimap

    path = tmp_path / "map.toml"
    path.write_text('[notes]\n36 = "left:heel"\n[cc]\n7 = "dimmer"\n20 = "clear"\n[program]\n3 = "thread"\n')
    loaded = midimap.load(path, ["dimmer", "clear"])
    assert loaded.notes[36].zone == "left" and loaded.cc[7] == "dimmer" and loaded.program[3] == "thread"
    path.write_text('[cc]\n20 = "claer"\n')
    with pytest.raises(midimap.MidiMapError, match=r"map.toml: cc.20: no function 'claer'; did you mean 'clear'"):
        midimap.load(path, ["dimmer", "clear"])


def test_a_saved_control_map_reads_back_the_same(tmp_path):
    from dessins_de_planche.config import MidiNote
    from dessins_de_planche.control import midimap

    path = tmp_path / "midi.toml"
    saved = midimap.MidiMap(path=path, notes={36: MidiNote("left", "heel"), 38: MidiNote("left", "toe")},
                            cc={7: "dimmer", 21: midimap.ParameterControl("canvas.decay", (0.0, 0.5))},
                            program={3: "thread"})
    saved.save()
    again = midimap.load(path)
    assert (again.notes, again.cc, again.program) == (saved.notes, saved.cc, saved.program)


def test_tap_tempo_and_osc_tempo_set_the_beat():
    from dessins_de_planche.listen.tempo import TempoTracker

    tracker = TempoTracker()
    tracker.set_tempo(120.0, at=10.0)
    assert tracker.bpm == 120.0
    assert tracker.beat_phase(10.0) == pytest.approx(0.0) and tracker.beat_phase(10.25) == pytest.approx(0.5)


def test_corner_pin_setup_moves_corners_by_keys_and_mouse_and_saves_them(stage, tmp_path):
    import pygame

    from dessins_de_planche.app import warp as warps

    assert stage.output.warp is None
    stage.handle(key("w"))
    assert stage.corner_pin.active
    assert any(line.startswith("Corner-pin: top-left at 0.000, 0.000") for line in hud_text.notice_lines(stage, 0.0, None))
    stage.handle(key("TAB"))  # the top-right corner
    for _ in range(4):
        stage.handle(key("LEFT"))  # in setup the arrows move the corner, they do not change the preset
    stage.handle(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_DOWN, mod=pygame.KMOD_SHIFT, unicode=""))
    assert stage.show.deck.index == 1
    assert stage.output.warp.top_right == pytest.approx((1.0 - 4 * 0.005, 0.001))
    # a click near the bottom-left corner picks it; dragging moves it there
    stage.handle(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(5, 85)))
    stage.handle(pygame.event.Event(pygame.MOUSEMOTION, pos=(16, 81), rel=(11, -4), buttons=(1, 0, 0)))
    stage.handle(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(16, 81)))
    assert stage.output.warp.bottom_left == pytest.approx((16 / 160, 81 / 90))
    stage.handle(key("BACKSPACE"))
    assert stage.output.warp.bottom_left == pytest.approx((0.0, 1.0))
    marks = stage.ctx.simple_framebuffer((160, 90), components=4)  # the corners, marked while setting up
    marks.use()
    marks.clear(0.0, 0.0, 0.0, 1.0)
    stage.corner_pin.draw(stage.ctx, marks)
    image = np.frombuffer(marks.read(components=3), np.uint8).reshape(90, 160, 3)[::-1]
    assert tuple(image[86, 3]) == (255, 217, 51)  # the chosen corner, bottom-left, in yellow
    assert tuple(image[3, 3]) == (128, 128, 128) and image[45, 80].max() == 0
    from dessins_de_planche.render.canvas import release_framebuffer

    release_framebuffer(stage.ctx, marks)
    stage.handle(key("w"))  # done: saved
    assert not stage.corner_pin.active
    saved = warps.load(tmp_path / "warp.toml")
    assert saved.top_right == pytest.approx((0.98, 0.001))
    assert hud_text.health_state(stage, None)["output"]["warp"]["top_right"] == pytest.approx([0.98, 0.001])
    stage.handle(key("LEFT"))  # setup over: the arrows change the preset again
    assert stage.show.deck.index == 0


def test_the_hud_counts_a_sensor_boards_hits_bleed_and_weight_shifts(stage):
    import dataclasses

    board = dataclasses.replace(STATUS, midi_state="listening", midi_calibrated=True,
                                midi_zones=(("left", 12, 30, 2), ("right", 9, 25, 4)))
    assert "MIDI: 21 hits · 55 bleed suppressed · 6 weight shifts ignored" in hud_text.hud_lines(stage, 1.0, board)
    assert not any("bleed" in line for line in hud_text.hud_lines(stage, 1.0, STATUS))


def test_the_sound_check_shows_a_sensor_boards_zones_under_the_meters(ctx):
    from dessins_de_planche.render.soundcheck import SoundCheck

    fbo = ctx.simple_framebuffer((640, 480))
    check = SoundCheck(ctx)

    def lit(zones):
        fbo.use()
        fbo.clear()
        check.draw(fbo, [1], np.array([0.1]), np.array([1.0]), zones=zones)
        image = np.frombuffer(fbo.read(components=3), np.uint8).reshape(480, 640, 3)
        return np.flipud(image).max(axis=2) > 40  # rows from the top, as the view is laid out

    meters = lit(())
    board = lit(["Sensor board: calibrated", "left: 12 hits · 30 bleed suppressed · 2 weight shifts ignored"])
    rows = np.nonzero((board & ~meters).any(axis=1))[0]
    assert len(rows) > 10 and rows.max() - rows.min() > 16, "two lines of words under the meters"
    assert rows.min() >= 24 + 180 + 96, "the zone lines sit under the meters' panel"
    from dessins_de_planche.render.canvas import release_framebuffer

    release_framebuffer(ctx, fbo)  # not while bound: the next GL test would inherit an error
