"""A multi-channel audio board (a piezo per zone, each into its own input channel) calibrated on the
player: bleed told from real hits by what was learned, weight shifts dropped.

The simulated board (sim_audio_board.py) is rendered to audio and heard offline through the show's
own audio path (BlockHandler, the detector, the board's filter); test_board_jack.py plays it
through a JACK server.
"""

from __future__ import annotations

import numpy as np
import pytest

from dessins_de_planche.events import RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW
from dessins_de_planche.inputs import board, board_learn, board_table
from dessins_de_planche.listen import calibration
from dessins_de_planche.listen.calibration import ChannelCalibration
from sim_audio_board import (BLEED_DELAY, BLEED_RATIO, CHANNELS, SHIFT_CREAK, STRIKE, SWELL_MAX, ZONES, SimulatedAudioBoard,
                             detected_taps, events, listen, score)


def calibration_take(sim: SimulatedAudioBoard, strikes: int = 6, shift_seconds: float = 6.0):
    """What `calibrate` hears: each zone struck alone, then the player standing and shifting weight."""
    parts, at = [], 0.5
    for i in range(len(CHANNELS)):
        parts += sim.strikes_alone(i, strikes, at, gap=0.6)
        at += strikes * 0.6 + 0.5
    shifts = sim.weight_shifts(0.2, shift_seconds)
    return (detected_taps(sim.render(parts, at)), detected_taps(sim.render(shifts, shift_seconds + 0.4)),
            shift_seconds)


def learned(seed: int = 1) -> board_table.BoardCalibration:
    strikes, shifts, seconds = calibration_take(SimulatedAudioBoard(seed))
    return board_learn.learn_audio(strikes, shifts, seconds, dict(zip(CHANNELS, ZONES)), device="sim")


def zone_channel(tap) -> int:
    return int(tap["zone"]) + 1  # the zones are the channels, in order


def test_calibration_learns_the_boards_bleed_and_its_weight_shifts():
    cal = learned()
    for i, source in enumerate(CHANNELS):
        sensor = cal.sensors[source]
        assert sensor.zone == ZONES[i] and sensor.strikes == 6
        assert STRIKE[0] * 0.9 <= sensor.strike_min <= sensor.strike_median <= STRIKE[1] * 1.1
        assert sensor.shift_max <= max(SHIFT_CREAK[i], SWELL_MAX) * 1.2 and sensor.shift_max < sensor.floor < sensor.strike_min
        for j, channel in enumerate(CHANNELS):
            if channel == source:
                continue
            bleed = cal.bleed[(source, channel)]
            assert bleed.ratio == pytest.approx(BLEED_RATIO[i, j], rel=0.3)
            assert bleed.delay == pytest.approx(BLEED_DELAY[i, j], abs=0.0015)  # onsets on a 1.33 ms grid
            assert bleed.delay_min <= bleed.delay <= bleed.delay_max and bleed.ratio <= bleed.ratio_max
    assert not cal.warnings


def test_a_calibrated_board_suppresses_bleed_keeps_feet_together_and_drops_weight_shifts():
    cal = learned()
    sim = SimulatedAudioBoard(seed=7)
    dance = sim.performance(160, start=0.5, gap=0.15, together=0.4)
    taps, heard_by = listen(sim.render(dance, 0.5 + 160 * 0.15 + 1.0), cal)
    heard = score(events(dance), taps, zone_channel, tolerance=0.02)
    assert heard["bleed"] > 400 and heard["together"] > 100
    assert heard["false_taps"] <= 0.01 * heard["bleed"], heard  # bleed suppressed >= 99 %
    assert heard["together_kept"] >= 0.95 * heard["together"], heard
    assert heard["kept"] >= 0.95 * heard["strikes"], heard
    counts = np.array(heard_by.counts)
    assert counts[:, board.A_TAP].sum() == len(taps)
    assert counts[:, board.A_BLEED].sum() >= 0.5 * heard["bleed"]  # (the detector does not fire on the faintest)
    minutes = 1.0
    shifts = sim.weight_shifts(0.2, 60.0 * minutes)
    false_taps, heard_by = listen(sim.render(shifts, 60.0 * minutes + 0.5), cal)
    assert len(false_taps) <= 1 * minutes, f"{len(false_taps)} false taps in {minutes} minute of weight shifts"
    assert sum(c[board.A_SHIFT] for c in heard_by.counts) > 60


def test_without_a_calibration_the_detectors_own_rule_stays():
    """Today's winner-take-all, on the same board: late bleed let through, feet landing together merged."""
    sim = SimulatedAudioBoard(seed=7)
    dance = sim.performance(80, start=0.5, gap=0.15, together=0.4)
    taps, heard_by = listen(sim.render(dance, 0.5 + 80 * 0.15 + 1.0), None)
    heard = score(events(dance), taps, zone_channel, tolerance=0.02)
    assert heard_by is None
    assert heard["false_taps"] > 0.05 * heard["bleed"] and heard["together_kept"] < 0.8 * heard["together"]


def _filter():
    cal = board_table.BoardCalibration(
        sensors={1: board_table.Sensor(floor=0.02), 2: board_table.Sensor(floor=0.02)},
        bleed={(1, 2): board_table.Bleed(ratio=0.2, ratio_max=0.25, delay=0.004, delay_min=0.003, delay_max=0.005),
               (2, 1): board_table.Bleed(ratio=0.2, ratio_max=0.25, delay=0.004, delay_min=0.003, delay_max=0.005)})
    return board.AudioBoardFilter(cal, (1, 2), 48_000)


def velocity(amplitude: float) -> float:
    return 1.0 + 20 * np.log10(amplitude) / 50.0


def test_the_filter_holds_only_what_may_be_bleed_and_moves_a_bleed_heard_first():
    f = _filter()
    f.take(1000, 0, velocity(0.5), 0, 1, RECORD_FIRST)  # a strike on channel 1: out at once
    assert [r[5] for r in f.out] == [RECORD_FIRST]
    f.take(1200, 1, velocity(0.08), 0, 2, RECORD_FIRST)  # its bleed on 2, 4 ms later: held
    f.take(1000, 0, velocity(0.5), 0, 1, RECORD_REFINE)
    f.take(1200, 1, velocity(0.09), 0, 2, RECORD_REFINE)
    f.decide(3000)
    assert [(r[4], r[5]) for r in f.out] == [(1, RECORD_FIRST), (1, RECORD_REFINE)]
    assert f.counts == [[1, 0, 0], [0, 1, 0]]
    f.out.clear()
    # the other foot's bleed heard first (a louder strike 1 ms after it): the tap moves to the strike
    f.take(10000, 0, velocity(0.3), 0, 3, RECORD_FIRST)  # out at once: nothing explains it yet
    f.take(10048, 1, velocity(0.4), 0, 4, RECORD_FIRST)
    f.take(10000, 0, velocity(0.06), 0, 3, RECORD_REFINE)  # its final peak: 0.06, the bleed of 0.4
    f.take(10048, 1, velocity(0.4), 1, 4, RECORD_REFINE)
    f.decide(12000)
    assert [(r[4], r[5], r[6]) for r in f.out] == [(3, RECORD_FIRST, 0), (3, RECORD_REFINE, 1)]
    f.out.clear()
    # two feet together, the softer well over the other's bleed: both kept; a creak under the floor dropped
    f.take(20000, 0, velocity(0.4), 0, 5, RECORD_FIRST)
    f.take(20010, 1, velocity(0.3), 0, 6, RECORD_FIRST)
    f.take(20000, 0, velocity(0.4), 0, 5, RECORD_REFINE)
    f.take(20010, 1, velocity(0.3), 0, 6, RECORD_REFINE)
    f.take(40000, 1, velocity(0.01), 0, 7, RECORD_FIRST)  # under the floor: held
    f.take(40000, 1, velocity(0.012), 0, 7, RECORD_REFINE)
    f.decide(45000)
    assert [(r[4], r[5]) for r in f.out] == [(5, RECORD_FIRST), (5, RECORD_REFINE), (6, RECORD_FIRST),
                                             (6, RECORD_REFINE)]
    assert 7 not in [r[4] for r in f.out] and f.counts[1][board.A_SHIFT] == 1
    assert RECORD_WITHDRAW not in [r[5] for r in f.out]


def test_the_boards_calibration_sits_beside_the_others(tmp_path):
    from test_board_calibration import learned as learned_midi

    path = tmp_path / "calibration.toml"
    calibration.save({1: ChannelCalibration(floor_dbfs=-50.0)}, path)
    cal = learned()
    board_table.save_audio(cal, path)
    board_table.save(learned_midi(), path)
    calibration.save({1: ChannelCalibration(floor_dbfs=-55.0)}, path)  # the channels' calibration again
    assert board_table.load_audio(path) == board_table.BoardCalibration(port="sim", sensors=cal.sensors,
                                                                        bleed=cal.bleed)
    assert board_table.load(path) is not None and calibration.load(path)[1].floor_dbfs == -55.0
    text = path.read_text()
    assert "[audio_board.channel.1]" in text and "[audio_board.bleed.1.2]" in text
    assert board_table.load_audio(tmp_path / "none.toml") is None


@pytest.mark.parametrize("text, words", [
    ("[audio_board.channel.1]\nflor = 0.1\n", "unknown keys"),
    ("[audio_board.channel.left]\nfloor = 0.1\n", "input channel number"),
    ("[audio_board.bleed.1.2]\nratio = 'a lot'\n", "ratio should be a number"),
    ("[audio_board]\nchannels = 1\n", "unknown keys"),
])
def test_a_broken_audio_board_table_is_named_with_what_would_be_right(tmp_path, text, words):
    path = tmp_path / "calibration.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        board_table.load_audio(path)
    assert str(path) in str(error.value) and words in str(error.value)


def test_the_flow_learns_from_a_recording_as_it_comes(tmp_path):
    """`calibrate --channels 1,2,3,4`'s board steps, reading a recording as it grows."""
    from dessins_de_planche.commands import _calibrate_board
    from dessins_de_planche.commands.calibrate import BoardTaps

    sim = SimulatedAudioBoard(seed=3)
    parts, at, prompts = [], 0.5, []
    for i in range(len(CHANNELS)):
        parts += sim.strikes_alone(i, 6, at, gap=0.6)
        at += 6 * 0.6 + 1.5
    shifts = [(e, s, j, t + at) for e, s, j, t in sim.weight_shifts(0.2, 6.0)]
    audio = sim.render(parts + shifts, at + 7.0)

    class Recording:  # a recorder whose buffer fills as the flow's clock runs
        buffer, frames, now = audio, 0, 0.0

    recording = Recording()

    def sleep(seconds):
        recording.now += seconds
        recording.frames = min(len(audio), int(recording.now * 48_000))

    steps = [(f"CHANNEL {c}", (c,)) for c in CHANNELS]
    strikes, shifts_heard = _calibrate_board.record(BoardTaps(48_000, CHANNELS, 128, recording), steps, 6, 6.0, 30.0,
                                                    prompts.append, lambda what: None, clock=lambda: recording.now,
                                                    sleep=sleep)
    cal = board_learn.learn_audio(strikes, shifts_heard, 6.0)
    assert all(cal.sensors[c].strikes >= 5 for c in CHANNELS), prompts
    assert cal.bleed[(1, 2)].ratio == pytest.approx(BLEED_RATIO[0, 1], rel=0.3)
    assert any(line.startswith("Strike CHANNEL 1") for line in prompts)


def test_run_fuses_a_boards_mic_and_sensors_given_together_unless_told_not_to(tmp_path, monkeypatch):
    from dessins_de_planche.commands import build_parser
    from dessins_de_planche import options as opt
    from dessins_de_planche.commands.run import input_spec_from_args

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    def spec(*argv):
        return input_spec_from_args(build_parser()[0].parse_args(["run", *argv]))

    both = ("--audio-device", "USB", "--midi-port", "Teensy")
    assert spec(*both).fuse
    assert not spec(*both, "--no-fuse").fuse
    assert not spec("--audio-device", "USB", "--midi-port", "virtual").fuse
    assert not spec("--midi-port", "Teensy").fuse and not spec("--audio-device", "USB").fuse
    with pytest.raises(opt.UsageError):
        spec(*both, "--fuse", "--no-fuse")


def test_the_sound_check_shows_each_channels_hits_bleed_and_weight_shifts():
    from dessins_de_planche.inputs.status import InputStatus
    from dessins_de_planche.render.soundcheck import board_summary, zone_lines

    status = InputStatus(audio_calibrated=True, audio_zones=(("left", 40, 55, 3), ("right", 38, 61, 9)))
    assert zone_lines(status) == ["Board channels: calibrated",
                                  "left: 40 hits · 55 bleed suppressed · 3 weight shifts ignored",
                                  "right: 38 hits · 61 bleed suppressed · 9 weight shifts ignored"]
    assert board_summary(status) == "audio: 78 hits · 116 bleed suppressed · 12 weight shifts ignored"
    both = InputStatus(audio_calibrated=True, audio_zones=(("left", 1, 2, 3),), midi_calibrated=True,
                       midi_zones=(("left", 4, 5, 6),))
    assert zone_lines(both)[2] == "Sensor board: calibrated" and board_summary(both).startswith("audio: 1 hits")


def test_a_replayed_board_recording_counts_per_zone_in_the_input_process(tmp_path):
    """The show's input process with the board's calibration: the detector and the filter wired in, the
    status block's per-zone counts what the sound check shows."""
    import soundfile

    from dessins_de_planche.config import InputSpec
    from dessins_de_planche.inputs.handle import InputProcess
    from fixtures_jack import wait_for

    sim = SimulatedAudioBoard(seed=12)
    dance = sim.strikes_alone(0, 4, 0.3, 0.3) + sim.strikes_alone(3, 4, 1.6, 0.3)
    path = tmp_path / "board.wav"
    soundfile.write(path, sim.render(dance, 3.0), 48_000, subtype="FLOAT")
    spec = InputSpec(input_file=str(path), channels=CHANNELS, zones=ZONES, loop=False, audio_board=learned(),
                     use_calibration=False)
    got = []
    with InputProcess(spec) as inputs:
        def counted():
            got.append(inputs.poll().taps)
            zones = inputs.status.audio_zones
            return zones and sum(z[1] for z in zones) >= 8 and sum(z[2] for z in zones) >= 12

        wait_for(counted, deadline=30, what="the board's strikes and bleed to be counted")
        zones = {z[0]: z[1:] for z in inputs.status.audio_zones}
        assert inputs.status.audio_calibrated
    assert zones["left-heel"][0] == 4 and zones["right-toe"][0] == 4, zones
    assert zones["left-toe"][0] == zones["right-heel"][0] == 0, zones


def test_a_tap_whose_word_never_comes_does_not_hold_the_board_up():
    f = _filter()
    f.take(1000, 0, velocity(0.5), 0, 1, RECORD_FIRST)
    f.take(1100, 1, velocity(0.3), 0, 2, RECORD_FIRST)  # held; no word ever comes for either
    f.decide(3000)
    assert [(r[4], r[5]) for r in f.out] == [(1, RECORD_FIRST)]
    f.decide(1100 + f.give_up)
    assert [(r[4], r[5]) for r in f.out][1:] == [(1, RECORD_REFINE), (2, RECORD_FIRST), (2, RECORD_REFINE)]
    f.take(20000, 0, velocity(0.5), 0, 3, RECORD_FIRST)
    assert f.out[-1][4] == 3 and f.out[-1][5] == RECORD_FIRST


def test_config_print_shows_the_boards_calibration(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    board_table.save_audio(learned(), tmp_path / "config" / "dessins-de-planche" / "calibration.toml")
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "config", "--print"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert "#   [audio_board.channel.1]" in result.stdout and "#   [audio_board.bleed.1.2]" in result.stdout


def test_a_click_while_calibrating_is_no_strike_to_learn_bleed_from():
    """A click on every channel at once (a lost block, a knock on the interface) in a zone's step."""
    strikes, shifts, seconds = calibration_take(SimulatedAudioBoard(1))
    at = strikes[-1][0] + 0.5
    clicked = strikes + [(at, c, 0.016) for c in CHANNELS]
    cal = board_learn.learn_audio(clicked, shifts, seconds)
    assert cal.bleed[(1, 2)].ratio_max < 0.5 and cal.sensors[1].strike_min > 0.1
    assert any("left out" in w for w in cal.warnings)


def test_feet_together_on_a_fused_multi_channel_board_keep_each_sounds_own_heel_toe_and_velocity():
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, SOURCE_AUDIO, SOURCE_MIDI, TAP_DTYPE, merge_refinements
    from dessins_de_planche.inputs.fuse import Fuser

    # the right heel (zone 2) struck hard with the heel, the right toe (zone 3) softly with the toe, together;
    # each sensor's note 2 ms later, both handed over in the same JACK period
    sounds = np.array([(1.000, 1.004, 0.9, 11, 3, SOURCE_AUDIO, 2, KIND_HEEL, RECORD_FIRST, 0),
                       (1.000, 1.004, 0.5, 12, 4, SOURCE_AUDIO, 3, KIND_TOE, RECORD_FIRST, 0)], TAP_DTYPE)
    notes = np.array([(1.002, 1.003, 0.6, 1 << 30, 42, SOURCE_MIDI, 3, 0, RECORD_FIRST, 0),
                      (1.002, 1.003, 0.8, (1 << 30) + 1, 40, SOURCE_MIDI, 2, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    taps = merge_refinements(Fuser().fuse(sounds, notes, 1.01))
    drawn = {int(t["zone"]): (int(t["kind"]), round(float(t["velocity"]), 2)) for t in taps}
    assert drawn == {2: (KIND_HEEL, 0.9), 3: (KIND_TOE, 0.5)}


def test_feet_together_whose_second_sound_comes_late_are_uncrossed():
    """As through JACK: the board holds the second strike's sound for its word, so the first note to come
    joins the one sound there is (the other foot's); when the second sound then joins the note left, the
    two joins mirror each other and each tap moves to its own sound's zone, heel/toe and velocity kept."""
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, SOURCE_AUDIO, SOURCE_MIDI, TAP_DTYPE, merge_refinements
    from dessins_de_planche.inputs.fuse import Fuser

    heel = np.array([(1.000, 1.004, 0.9, 11, 3, SOURCE_AUDIO, 2, KIND_HEEL, RECORD_FIRST, 0)], TAP_DTYPE)
    toe_note = np.array([(1.006, 1.007, 0.6, 1 << 30, 42, SOURCE_MIDI, 3, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    heel_note = np.array([(1.008, 1.009, 0.8, (1 << 30) + 1, 40, SOURCE_MIDI, 2, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    toe = np.array([(1.001, 1.020, 0.5, 12, 4, SOURCE_AUDIO, 3, KIND_TOE, RECORD_FIRST, 0)], TAP_DTYPE)
    fuser = Fuser()
    empty = np.zeros(0, TAP_DTYPE)
    out = [fuser.fuse(heel, empty, 1.005), fuser.fuse(empty, toe_note, 1.007),
           fuser.fuse(empty, heel_note, 1.009), fuser.fuse(toe, empty, 1.021)]
    taps = merge_refinements(np.concatenate(out))
    drawn = {int(t["zone"]): (int(t["kind"]), round(float(t["velocity"]), 2)) for t in taps}
    assert drawn == {2: (KIND_HEEL, 0.9), 3: (KIND_TOE, 0.5)}
    assert fuser.fused == 2 and fuser.uncrossed == 1


def test_feet_together_whose_first_sound_the_board_moves_to_its_own_zone_are_uncrossed():
    """As through JACK under load: the board's filter first names a sound by the channel that heard its
    bleed first (zone 0) and moves it with its word; meanwhile that sound took the other foot's note (the
    two notes tie). When the second sound then joins the note left, the joins mirror each other by the
    sounds' own zones as they stand: each tap moves to its own sound's zone."""
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, SOURCE_AUDIO, SOURCE_MIDI, TAP_DTYPE, merge_refinements
    from dessins_de_planche.inputs.fuse import Fuser

    first = np.array([(2.9986, 3.0006, 0.9, 44, 1, SOURCE_AUDIO, 0, KIND_HEEL, RECORD_FIRST, 0)], TAP_DTYPE)
    notes = np.array([(3.0054, 3.0060, 0.6, 1 << 30, 40, SOURCE_MIDI, 2, 0, RECORD_FIRST, 0),
                      (3.0054, 3.0060, 0.8, (1 << 30) + 1, 38, SOURCE_MIDI, 1, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    word_and_second = np.array([(2.9986, 3.0190, 0.9, 44, 1, SOURCE_AUDIO, 1, KIND_HEEL, RECORD_REFINE, 0),
                                (2.9973, 3.0190, 0.5, 43, 2, SOURCE_AUDIO, 2, KIND_TOE, RECORD_FIRST, 0),
                                (2.9973, 3.0190, 0.5, 43, 2, SOURCE_AUDIO, 2, KIND_TOE, RECORD_REFINE, 0)], TAP_DTYPE)
    fuser = Fuser()
    empty = np.zeros(0, TAP_DTYPE)
    out = [fuser.fuse(first, empty, 3.001), fuser.fuse(empty, notes, 3.007), fuser.fuse(word_and_second, empty, 3.020)]
    taps = merge_refinements(np.concatenate(out))
    drawn = {int(t["tap_id"]): (int(t["zone"]), int(t["kind"])) for t in taps}
    assert drawn == {44: (1, KIND_HEEL), 43: (2, KIND_TOE)}
    assert fuser.fused == 2 and fuser.uncrossed == 1


def test_a_single_mic_s_sounds_keep_the_note_nearest_in_time():
    """A board's one mic hears every zone on one channel: its sounds take the note nearest in time and are
    never moved to the mic's own zone, even when two strikes' joins land within the window."""
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, SOURCE_AUDIO, SOURCE_MIDI, TAP_DTYPE, merge_refinements
    from dessins_de_planche.inputs.fuse import Fuser

    sounds = np.array([(1.000, 1.004, 0.9, 11, 1, SOURCE_AUDIO, 0, KIND_HEEL, RECORD_FIRST, 0),
                       (1.012, 1.016, 0.5, 12, 1, SOURCE_AUDIO, 0, KIND_TOE, RECORD_FIRST, 0)], TAP_DTYPE)
    notes = np.array([(1.001, 1.002, 0.6, 1 << 30, 42, SOURCE_MIDI, 1, 0, RECORD_FIRST, 0),
                      (1.013, 1.014, 0.8, (1 << 30) + 1, 40, SOURCE_MIDI, 2, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    fuser = Fuser()
    taps = merge_refinements(fuser.fuse(sounds, notes, 1.02))
    drawn = {int(t["tap_id"]): int(t["zone"]) for t in taps}
    assert drawn == {11: 1, 12: 2} and fuser.uncrossed == 0


def test_joins_whose_notes_lie_apart_are_not_uncrossed():
    """A sound joined to another zone's note is moved to its own zone only when the other join truly
    mirrors it: each note within the window of the other sound. Two sounds 12 ms apart whose notes lie
    18 ms before the first and 18 ms after the second (30 ms from the other sound) are no mirror."""
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, SOURCE_AUDIO, SOURCE_MIDI, TAP_DTYPE, merge_refinements
    from dessins_de_planche.inputs.fuse import Fuser

    empty = np.zeros(0, TAP_DTYPE)
    fuser = Fuser()
    note3 = np.array([(0.982, 0.983, 0.7, 1 << 30, 44, SOURCE_MIDI, 3, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    first = np.array([(1.000, 1.004, 0.9, 11, 3, SOURCE_AUDIO, 2, KIND_HEEL, RECORD_FIRST, 0)], TAP_DTYPE)
    later = np.array([(1.012, 1.016, 0.5, 12, 4, SOURCE_AUDIO, 3, KIND_TOE, RECORD_FIRST, 0)], TAP_DTYPE)
    note2 = np.array([(1.030, 1.031, 0.8, (1 << 30) + 1, 40, SOURCE_MIDI, 2, 0, RECORD_FIRST, 0)], TAP_DTYPE)
    out = [fuser.fuse(empty, note3, 0.99), fuser.fuse(first, empty, 1.005), fuser.fuse(later, empty, 1.017),
           fuser.fuse(empty, note2, 1.032)]
    taps = merge_refinements(np.concatenate(out))
    assert {int(t["tap_id"]): int(t["zone"]) for t in taps} == {11: 3, 12: 2}
    assert fuser.uncrossed == 0
