"""Devices come and go under the running app: it keeps drawing, says so discreetly, reconnects by itself."""

import numpy as np
import pytest

from app_process import App
from dessins_de_planche.listen.synth import heel_sound
from fixtures_jack import SAMPLE_RATE

pytestmark = [pytest.mark.jack, pytest.mark.window]


def heel_taps(times=(0.1, 0.4, 0.7)) -> np.ndarray:
    signal = np.zeros((SAMPLE_RATE, 1), np.float32)
    for i, at in enumerate(times):
        hit = 0.5 * heel_sound(np.random.default_rng(i), SAMPLE_RATE)
        hit[-480:] *= np.linspace(1.0, 0.0, 480)
        start = int(at * SAMPLE_RATE)
        signal[start:start + len(hit), 0] = hit
    return signal


def audio(state):
    return state.get("input", {}).get("audio")


def test_the_audio_server_stops_and_returns_while_the_app_draws(tmp_path, x_display, jack_server, jack_player):
    app = App(x_display, tmp_path, "--audio-device", "system", "--size", "320x180")
    try:
        app.wait_state(lambda s: audio(s) == "listening", 60, "the app to listen")
        jack_server.stop()
        lost = app.wait_state(lambda s: s["input"]["restarts"] >= 1 and audio(s) == "waiting for device", 60,
                              "the app to notice the server is gone")
        assert "Audio input lost: reconnecting…" in lost["notices"]
        app.wait_state(lambda s: s["frames"] > lost["frames"] + 30, 30, "frames while the server is away")
        jack_server.start()
        back = app.wait_state(lambda s: audio(s) == "listening", 60, "the app to reconnect")
        assert "Audio input lost: reconnecting…" not in back["notices"]
        player = jack_player(channels=1)
        player.connect()
        player.play(heel_taps())
        app.wait_state(lambda s: s["taps"] >= back["taps"] + 2, 30, "taps played after the server returned")
    finally:
        assert app.stop() == 0


def test_a_midi_board_unplugged_mid_show_is_found_again(tmp_path, x_display, jack_server, midi_sender):
    sender = midi_sender("ddp-hotplug-board")
    app = App(x_display, tmp_path, "--midi-port", "ddp-hotplug-board", "--size", "320x180")
    try:
        app.wait_state(lambda s: s.get("input", {}).get("midi") == "listening", 60, "the app to open the port")
        sender.close()  # unplugged
        lost = app.wait_state(lambda s: s["input"]["midi"] == "waiting", 60, "the app to notice the board left")
        assert "MIDI port lost: reconnecting…" in lost["notices"]
        app.wait_state(lambda s: s["frames"] > lost["frames"] + 30, 30, "frames while the board is away")
        sender = midi_sender("ddp-hotplug-board")  # plugged in again
        back = app.wait_state(lambda s: s["input"]["midi"] == "listening", 60, "the board to be found again")
        sender.send(0x90, 36, 100)
        app.wait_state(lambda s: s["taps"] >= back["taps"] + 1, 30, "a note after the board came back")
    finally:
        assert app.stop() == 0


def test_kiosk_waits_for_a_missing_board_on_attract_mode_and_the_first_tap_takes_over(
        tmp_path, x_display, jack_server, midi_sender):
    app = App(x_display, tmp_path, "--kiosk", "--midi-port", "ddp-late-board", "--size", "320x180",
              "--log-file", str(tmp_path / "kiosk.log"))
    try:
        waiting = app.wait_state(lambda s: s.get("attract") and s["taps"] > 3, 60,
                                 "attract mode to draw while the board is missing")
        assert waiting["input"]["midi"] == "waiting"
        sender = midi_sender("ddp-late-board")
        app.wait_state(lambda s: s["input"]["midi"] == "listening", 60, "the board to be found")
        sender.send(0x90, 36, 100)
        app.wait_state(lambda s: not s["attract"], 30, "the first real tap to take over")
    finally:
        app.stop()
