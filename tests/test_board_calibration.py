"""A sensor board calibrated on the player: bleed told from real hits by what was learned, weight shifts dropped.

The simulated board (sim_board.py) plays straight into the MIDI listener's parser, each note at its
own time; test_board_jack.py plays the same board through a JACK server and `calibrate`.
"""

from __future__ import annotations

import numpy as np
import pytest

from dessins_de_planche.commands import _calibrate_board
from dessins_de_planche.config import InputSpec, MidiNote
from dessins_de_planche.events import CONTROL_DTYPE, KIND_NAMES, TAP_DTYPE, merge_refinements
from dessins_de_planche.inputs import board_learn, board_table
from dessins_de_planche.inputs.midi import MidiListener
from dessins_de_planche.listen import calibration
from dessins_de_planche.listen.calibration import ChannelCalibration
from dessins_de_planche.ring import Ring
from sim_board import BLEED_DELAY, BLEED_RATIO, MAPPING, NOTES, SHIFT_MAX, STRIKE, SimulatedBoard, score

ZONES = ("midi", "left", "right")
ZONE_NAMES = {n: t.zone for n, t in MAPPING.items()}


def calibration_take(sim: SimulatedBoard, strikes: int = 6, shift_seconds: float = 6.0):
    """What `calibrate` hears: each sensor struck alone, then the player standing."""
    notes, at = [], 1.0
    for i in range(len(NOTES)):
        notes += sim.strikes_alone(i, strikes, at, gap=0.7)
        at += strikes * 0.7 + 1.0
    shifts = sim.weight_shifts(at, shift_seconds)
    as_tuples = lambda ns: [(n.time, n.note, n.velocity / 127) for n in ns]  # noqa: E731
    return as_tuples(notes), as_tuples(shifts), shift_seconds


def learned(seed: int = 1) -> board_table.BoardCalibration:
    strikes, shifts, seconds = calibration_take(SimulatedBoard(seed))
    return board_learn.learn(strikes, shifts, seconds, ZONE_NAMES, port="sim")


@pytest.fixture
def listen():
    rings = []

    def make(calibrated: board_table.BoardCalibration | None, capacity: int = 1 << 16):
        taps, controls = Ring.create(TAP_DTYPE, capacity), Ring.create(CONTROL_DTYPE, 64)
        rings.extend((taps, controls))
        spec = InputSpec(midi_port="sim", midi_notes=MAPPING, midi_board=calibrated)
        return MidiListener(spec, ZONES, taps, controls), taps

    yield make
    for ring in rings:
        ring.close()


def play(listener, taps, notes):
    """Each note into the listener's parser at its own time; the final taps."""
    records = []
    for n in notes:
        listener.on_message([0x90, n.note, n.velocity], n.time)
        records.append(taps.pop())
    return merge_refinements(np.concatenate(records))


NOTE_OF = {(t.zone, t.kind): n for n, t in MAPPING.items()}


def note_of_tap(tap) -> int:
    return NOTE_OF[ZONES[tap["zone"]], KIND_NAMES[tap["kind"]]]


def test_calibration_learns_the_boards_bleed_and_its_weight_shifts():
    cal = learned()
    for i, source in enumerate(NOTES):
        sensor = cal.sensors[source]
        assert sensor.zone == MAPPING[source].zone and sensor.strikes == 6
        assert STRIKE[0] - 0.01 <= sensor.strike_min <= sensor.strike_median <= STRIKE[1]
        # its floor: over every weight shift it made, under every strike
        assert sensor.shift_max <= SHIFT_MAX[i] + 0.5 / 127 and sensor.shift_max < sensor.floor < STRIKE[0]
        assert sensor.shift_rate > 0
        for j, note in enumerate(NOTES):
            if note == source:
                continue
            bleed = cal.bleed[(source, note)]
            assert bleed.ratio == pytest.approx(BLEED_RATIO[i, j], rel=0.25, abs=1.5 / 127)
            assert bleed.delay == pytest.approx(BLEED_DELAY[i, j], abs=0.001)
            assert bleed.delay_min <= bleed.delay <= bleed.delay_max
            assert bleed.ratio <= bleed.ratio_max
    assert not cal.warnings


def test_a_calibrated_board_suppresses_bleed_and_keeps_feet_landing_together(listen):
    listener, taps = listen(learned())
    sim = SimulatedBoard(seed=5)
    played = sim.performance(1500, start=10.0, gap=0.15, together=0.4)
    heard = score(played, play(listener, taps, played), note_of_tap, tolerance=0.02)
    assert heard["bleed"] > 2000 and heard["together"] > 800
    assert heard["false_taps"] <= 0.01 * heard["bleed"], heard  # bleed suppressed >= 99 %
    assert heard["together_kept"] >= 0.95 * heard["together"], heard
    assert heard["kept"] >= 0.95 * heard["strikes"], heard
    assert listener.crosstalk >= 0.99 * heard["bleed"], "each bleed counted as such"
    assert sum(listener.zone_bleed) == listener.crosstalk
    assert sum(listener.zone_taps) == heard["kept"] + heard["false_taps"]


def test_without_a_calibration_the_window_merges_feet_and_lets_late_bleed_through(listen):
    """Today's winner-take-all, on the same board: why a calibration is worth it."""
    listener, taps = listen(None)
    played = SimulatedBoard(seed=5).performance(400, start=10.0, gap=0.15, together=0.4)
    heard = score(played, play(listener, taps, played), note_of_tap, tolerance=0.02)
    assert heard["together_kept"] < 0.7 * heard["together"]
    assert heard["false_taps"] > 0.05 * heard["bleed"]


def test_weight_shifts_under_a_zones_floor_are_dropped_and_counted(listen):
    listener, taps = listen(learned())
    minutes = 10
    played = SimulatedBoard(seed=9).weight_shifts(start=10.0, seconds=60.0 * minutes)
    final = play(listener, taps, played)
    assert len(played) > 200 * minutes
    assert len(final) <= 1 * minutes, f"{len(final)} false taps in {minutes} minutes of weight shifts"
    assert listener.weight_shifts + len(final) + listener.crosstalk == len(played)
    by_zone = dict(zip(ZONES, listener.zone_shifts))
    assert by_zone["left"] > 0 and by_zone["right"] > 0 and by_zone["midi"] == 0


def test_two_feet_at_the_same_moment_are_two_taps_and_a_bleed_is_none(listen):
    listener, taps = listen(learned())
    at = 20.0
    listener.on_message([0x90, 36, 100], at)  # left heel
    listener.on_message([0x90, 42, 80], at + 0.001)  # right toe, together: stronger than any bleed
    listener.on_message([0x90, 38, 26], at + 0.002)  # left toe: the left heel's bleed (ratio 0.26)
    final = merge_refinements(taps.pop())
    assert [note_of_tap(t) for t in final] == [36, 42]
    assert listener.crosstalk == 1 and listener.zone_bleed[ZONES.index("left")] == 1


def test_a_bleed_heard_before_its_strike_moves_the_tap_to_the_struck_zone(listen):
    """Sensor 42 is scanned before 40: a strike on 40 reaches 42's note first."""
    listener, taps = listen(learned())
    listener.on_message([0x90, 42, 30], 30.0)
    listener.on_message([0x90, 40, 100], 30.002)
    records = taps.pop()
    assert list(records["refine"]) == [0, 1]
    (tap,) = merge_refinements(records)
    assert note_of_tap(tap) == 40 and tap["velocity"] == pytest.approx(100 / 127)
    assert tap["time"] == 30.0, "the tap keeps the time of the first note"
    assert listener.zone_taps[ZONES.index("right")] == 1 and listener.crosstalk == 1


def test_a_note_from_a_sensor_not_calibrated_is_a_tap(listen):
    listener, taps = listen(learned())
    listener.on_message([0x90, 36, 100], 40.0)
    listener.on_message([0x90, 50, 5], 40.001)  # not on the board when it was calibrated
    assert len(merge_refinements(taps.pop())) == 2


def test_the_boards_calibration_sits_beside_the_audio_channels(tmp_path):
    path = tmp_path / "calibration.toml"
    calibration.save({1: ChannelCalibration(floor_dbfs=-50.0)}, path)
    cal = learned()
    board_table.save(cal, path)
    calibration.save({1: ChannelCalibration(floor_dbfs=-55.0), 2: ChannelCalibration()}, path)  # audio again
    assert board_table.load(path) == board_table.BoardCalibration(port=cal.port, sensors=cal.sensors, bleed=cal.bleed)
    assert calibration.load(path)[1].floor_dbfs == -55.0
    assert "[midi.sensor.36]" in path.read_text() and "[midi.bleed.36.38]" in path.read_text()
    assert board_table.load(tmp_path / "none.toml") is None


@pytest.mark.parametrize("text, words", [
    ("[midi.sensor.36]\nflor = 0.1\n", "unknown keys"),
    ("[midi.sensor.left]\nfloor = 0.1\n", "MIDI note number"),
    ("[midi.bleed.36.38]\nratio = 'a lot'\n", "ratio should be a number"),
    ("[midi]\nsensors = 1\n", "unknown keys"),
])
def test_a_broken_board_table_is_named_with_what_would_be_right(tmp_path, text, words):
    path = tmp_path / "calibration.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        board_table.load(path)
    assert str(path) in str(error.value) and words in str(error.value)


class ScriptedBoard:
    """The player and the board for `calibrate`'s flow: strikes the zone a prompt names, stands
    when asked; notes come out as the flow's clock reaches them."""

    def __init__(self, sim: SimulatedBoard):
        self.sim, self.now, self.pending, self.said = sim, 0.0, [], []

    def say(self, text: str) -> None:
        self.said.append(text)
        if text.startswith("Strike "):
            zone = text.split()[1]
            sensors = [i for i, n in enumerate(NOTES) if MAPPING[n].zone.upper() == zone]
            for k in range(6):  # heel, toe, heel, ...
                self.pending += self.sim.strikes_alone(sensors[k % len(sensors)], 1, self.now + 0.5 + 0.7 * k, 0.7)
        elif "SHIFT" in text:
            self.pending += self.sim.weight_shifts(self.now, 6.0)

    def read(self):
        due = [n for n in self.pending if n.time <= self.now]
        self.pending = [n for n in self.pending if n.time > self.now]
        return [(n.time, n.note, n.velocity / 127) for n in sorted(due, key=lambda n: n.time)]

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_calibration_flow_asks_for_each_zone_then_weight_shifts():
    player = ScriptedBoard(SimulatedBoard(seed=3))
    asked = []
    steps = _calibrate_board.steps_for(MAPPING, 0)
    assert [label for label, _ in steps] == ["LEFT (notes 36, 38)", "RIGHT (notes 40, 42)"]
    strikes, shifts = _calibrate_board.record(player, steps, taps=6, shift_seconds=6.0, timeout=30.0, say=player.say,
                                              wait_enter=asked.append, clock=lambda: player.now, sleep=player.sleep)
    assert asked == ["strike LEFT (notes 36, 38)", "strike RIGHT (notes 40, 42)", "stand on the board"]
    cal = board_learn.learn(strikes, shifts, 6.0, ZONE_NAMES)
    assert all(cal.sensors[n].strikes == 3 for n in NOTES)
    assert cal.bleed[(36, 38)].ratio == pytest.approx(BLEED_RATIO[0, 1], rel=0.3)
    assert all(cal.sensors[n].floor > cal.sensors[n].shift_max for n in NOTES)


def test_the_flow_says_what_to_do_when_the_board_is_silent():
    player = ScriptedBoard(SimulatedBoard(seed=3))
    player.say = player.said.append  # nobody strikes
    with pytest.raises(Exception) as error:
        _calibrate_board.record(player, [("LEFT (notes 36, 38)", (36, 38))], 6, 6.0, 5.0, player.say,
                                lambda what: None, clock=lambda: player.now, sleep=player.sleep)
    assert "heard 0 strikes on LEFT" in str(error.value) and "--midi-port" in str(error.value)


def test_weight_shifts_as_loud_as_soft_strikes_are_warned_about():
    strikes = [(1.0 + k, 36, 0.3) for k in range(4)]
    shifts = [(10.0 + k * 0.1, 36, 0.35) for k in range(10)]
    cal = board_learn.learn(strikes, shifts, 1.0, {36: "left"})
    assert cal.warnings and "left" in cal.warnings[0]
    assert 0.3 < cal.sensors[36].floor < 0.35


def test_steps_without_a_map_need_a_count():
    assert len(_calibrate_board.steps_for({}, 3)) == 3
    with pytest.raises(Exception, match="--midi-map"):
        _calibrate_board.steps_for({}, 0)
    assert _calibrate_board.steps_for({36: MidiNote("left")}, 0) == [("LEFT (note 36)", (36,))]


def test_a_soft_bleed_heard_before_its_strike_counts_as_bleed_not_as_a_weight_shift(listen):
    listener, taps = listen(learned())
    listener.on_message([0x90, 42, 12], 50.0)  # under 42's floor: a weight shift, as far as anyone knows yet
    assert listener.weight_shifts == 1
    listener.on_message([0x90, 40, 60], 50.002)  # the strike it came from
    assert listener.weight_shifts == 0 and listener.crosstalk == 1
    assert listener.zone_bleed[ZONES.index("right")] == 1 and len(merge_refinements(taps.pop())) == 1


def test_the_sound_check_shows_each_zones_hits_bleed_and_weight_shifts():
    from dessins_de_planche.inputs.status import InputStatus
    from dessins_de_planche.render.soundcheck import board_summary, zone_lines

    status = InputStatus(midi_state="listening", midi_calibrated=True,
                         midi_zones=(("left", 40, 55, 3), ("right", 38, 61, 9)))
    assert zone_lines(status) == ["Sensor board: calibrated",
                                  "left: 40 hits · 55 bleed suppressed · 3 weight shifts ignored",
                                  "right: 38 hits · 61 bleed suppressed · 9 weight shifts ignored"]
    assert board_summary(status) == "MIDI: 78 hits · 116 bleed suppressed · 12 weight shifts ignored"
    assert zone_lines(InputStatus()) == [] and board_summary(InputStatus()) == ""
    assert zone_lines(InputStatus(midi_zones=(("midi", 1, 0, 0),)))[0] == "Sensor board: not calibrated"
    fused = InputStatus(midi_calibrated=True, midi_zones=(("left", 40, 55, 3),), fused=(38, 2, 5))
    assert zone_lines(fused)[-1] == "Mic and sensors: 38 strikes together · 2 mic alone · 5 notes with no sound"
    assert board_summary(fused).endswith("   Mic and sensors: 38 strikes together · 2 mic alone · 5 notes with no sound")


def test_config_print_shows_what_calibrate_measured_and_stays_a_configuration(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    path = tmp_path / "config" / "dessins-de-planche" / "calibration.toml"
    board_table.save(learned(), path)
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "config", "--print"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    assert "#   [midi.sensor.36]" in result.stdout and "#   [midi.bleed.36.38]" in result.stdout
    printed = tmp_path / "printed.toml"
    printed.write_text(result.stdout)
    again = subprocess.run([sys.executable, "-m", "dessins_de_planche", "config", "--print", "--config", str(printed)],
                           capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 0, again.stderr
