"""A multi-channel audio board's calibration used where `run` is not the one listening: `analyze` of a
board's recording, and `calibrate`'s own heel and toe steps, decide bleed, weight shifts and strikes
with the board's filter as the live path does (inputs/board.py `AudioBoardFilter`).

The simulated board (sim_audio_board.py) is rendered to a four-channel file; test_audio_board.py
tests the filter itself, test_audio_board_jack.py plays the board through JACK into `calibrate`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from dessins_de_planche.inputs import board_table
from dessins_de_planche.listen import calibration
from dessins_de_planche.inputs.analyze import analyze_file
from sim_audio_board import CHANNELS, SimulatedAudioBoard, events, listen, score
from test_audio_board import learned, zone_channel

SR = 48_000


@pytest.fixture(scope="module")
def board() -> board_table.BoardCalibration:
    return learned()


def a_dance(tmp_path, seed: int = 7, strikes: int = 60):
    sim = SimulatedAudioBoard(seed=seed)
    dance = sim.performance(strikes, start=0.5, gap=0.15, together=0.4)
    audio = sim.render(dance, 0.5 + strikes * 0.15 + 1.0)
    path = tmp_path / "board.wav"
    soundfile.write(path, audio, SR, subtype="FLOAT")
    return path, audio, dance


def taps_of(records) -> list:
    return sorted((round(float(t["time"]), 6), int(t["zone"]), int(t["kind"]), round(float(t["velocity"]), 5))
                  for t in records)


def test_analyze_hears_a_board_recording_with_its_calibration_as_run_does(tmp_path, board):
    path, audio, dance = a_dance(tmp_path)
    result = analyze_file(path, calibration={}, board=board)
    live, heard_by = listen(audio, board)  # the show's audio path, block by block (BlockHandler and the filter)
    assert taps_of(result.final_taps) == taps_of(live)
    assert result.board == [list(c) for c in heard_by.counts]
    heard = score(events(dance), result.final_taps, zone_channel, tolerance=0.02)
    assert heard["false_taps"] <= 0.01 * heard["bleed"], heard
    assert heard["together_kept"] >= 0.95 * heard["together"], heard

    own_rule = analyze_file(path, calibration={}, board=False)  # `--no-board-calibration`
    assert own_rule.board is None
    by_own_rule = score(events(dance), own_rule.final_taps, zone_channel, tolerance=0.02)
    print("\nanalyze of the simulated board's recording (strikes kept, of them feet together, bleed drawn): "
          + "; ".join(f"{what} {h['kept']}/{h['strikes']}, {h['together_kept']}/{h['together']}, "
                      f"{h['false_taps']} of {h['bleed']}" for what, h in (("with the board's calibration", heard),
                                                                            ("--no-board-calibration", by_own_rule))))
    heard = by_own_rule
    assert heard["false_taps"] > 0.05 * heard["bleed"] and heard["together_kept"] < 0.8 * heard["together"], heard


def test_the_last_strike_of_a_recording_is_decided(tmp_path, board):
    """The board waits for a strike's word; the file ends 10 ms after the last strike."""
    sim = SimulatedAudioBoard(seed=4)
    parts = sim.strikes_alone(1, 3, 0.3, 0.4)
    path = tmp_path / "short.wav"
    soundfile.write(path, sim.render(parts, 0.3 + 2 * 0.4 + 0.01), SR, subtype="FLOAT")
    final = analyze_file(path, calibration={}, board=board).final_taps
    assert len(final) == 3 and set(final["zone"].tolist()) == {1}, final
    assert (analyze_file(path, calibration={}, board=board).taps["refine"] == 1).sum() == 3


def test_a_board_that_does_not_know_a_channel_is_not_used(tmp_path, board):
    path, _audio, _dance = a_dance(tmp_path, strikes=10)
    partial = board_table.BoardCalibration(sensors={c: s for c, s in board.sensors.items() if c != 4},
                                           bleed={k: b for k, b in board.bleed.items() if 4 not in k})
    assert analyze_file(path, calibration={}, board=partial).board is None
    known = analyze_file(path, channels=[1, 2, 3], calibration={}, board=partial).board
    assert known is not None and len(known) == 3, known  # the channels it knows: heard through it, counted each
    assert analyze_file(path, channels=[2], calibration={}, board=board).board is None  # one channel: no board


def test_the_analyze_command_reads_calibrates_file_and_can_ignore_it(tmp_path, board):
    path, _audio, dance = a_dance(tmp_path, seed=8)
    config = tmp_path / "config"
    board_table.save_audio(board, config / "dessins-de-planche" / "calibration.toml")
    env = dict(os.environ, XDG_CONFIG_HOME=str(config))

    def analyze(*extra):
        done = subprocess.run([sys.executable, "-m", "dessins_de_planche", "analyze", str(path), *extra],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    report = json.loads(analyze("--json"))
    strikes = [e for e in events(dance) if e.truth == "strike"]
    assert sum(c["strikes"] for c in report["board"].values()) == len(report["taps"])
    assert sum(c["bleed"] for c in report["board"].values()) > 0.5 * sum(e.truth == "bleed" for e in events(dance))
    assert len(report["taps"]) == pytest.approx(len(strikes), abs=2)
    assert "the board's calibration:" in analyze()
    ignored = json.loads(analyze("--json", "--no-board-calibration"))
    assert ignored["board"] is None and len(ignored["taps"]) != len(report["taps"])


def test_calibrates_heel_and_toe_steps_hear_each_channel_through_the_board_just_learned(board):
    """Heel taps on the left heel's channel, toe taps on the right heel's: their bleed, 5 ms late on the
    other channels, is no tap of those channels once the board's bleed is known."""
    from dessins_de_planche.commands.calibrate import board_filter

    sim = SimulatedAudioBoard(seed=5)
    heels = sim.render(sim.strikes_alone(0, 6, 0.3, 0.6), 4.5)
    toes = sim.render(sim.strikes_alone(2, 6, 0.3, 0.6), 4.5)
    quiet = sim.render([], 1.5)
    strikes_only = board_filter(board, CHANNELS, SR)
    heard = calibration.heard_taps(heels, SR, CHANNELS)
    assert {c for c, *_ in heard} == {0, 2}  # the detector's own rule: channel 3 hears channel 1's strikes
    assert [c for c, *_ in calibration.heard_taps(heels, SR, CHANNELS, board_filter=strikes_only)] == [0] * 6
    assert calibration.count_taps(heels, SR, CHANNELS) == 6  # strikes, while the step runs

    by_own_rule = calibration.measure(quiet, heels, toes, SR, CHANNELS)
    by_board = calibration.measure(quiet, heels, toes, SR, CHANNELS, board_filter=strikes_only)
    for what, table in (("the detector's own rule", by_own_rule), ("the board just learned", by_board)):
        print(f"\ncalibrate's heel and toe steps by {what}: " + "; ".join(
            f"channel {c}: {t.taps} taps, stage B shift {t.heel_bias}, split {t.heel_low_share}"
            for c, t in sorted(table.items())))
    assert by_own_rule[1].taps > 6 and by_own_rule[3].taps > 6  # each also counts (most of) the other's late bleed
    assert by_board[1].taps == by_board[3].taps == 6 and by_board[2].taps == by_board[4].taps == 0
    assert by_board[1].toe_share is None and by_board[3].heel_share is None  # no bleed taken for a heel or a toe


def test_without_a_known_board_calibrate_hears_as_before(board):
    from dessins_de_planche.commands.calibrate import board_filter

    partial = board_table.BoardCalibration(sensors={1: board.sensors[1]})
    assert board_filter(partial, CHANNELS, SR) is None
    sim = SimulatedAudioBoard(seed=6)
    one = sim.render(sim.strikes_alone(0, 3, 0.3, 0.5), 2.0)[:, :1]
    assert calibration.count_taps(one, SR, (1,)) == len(calibration.heard_taps(one, SR, (1,))) == 3
    assert np.isfinite([v for _c, v, _s, _h in calibration.heard_taps(one, SR, (1,))]).all()


def test_calibrate_with_no_board_hears_the_steps_through_the_board_kept_from_before(tmp_path, board):
    """`calibrate --no-board` with several channels: the board an earlier calibration learned (the
    file's [audio_board] table) filters the heel and toe steps, as `run` would; one channel, or no
    table: the detector's own rule."""
    from dessins_de_planche.commands.calibrate import board_filter, kept_board

    output = tmp_path / "calibration.toml"
    assert kept_board(CHANNELS, output) is None  # nothing kept yet
    board_table.save_audio(board, output)
    kept = kept_board(CHANNELS, output)
    assert kept is not None and kept_board((1,), output) is None
    sim = SimulatedAudioBoard(seed=5)
    heels = sim.render(sim.strikes_alone(0, 6, 0.3, 0.6), 4.5)
    heard = calibration.heard_taps(heels, SR, CHANNELS, board_filter=board_filter(kept, CHANNELS, SR))
    assert [c for c, *_ in heard] == [0] * 6  # channel 1's strikes only, no bleed on channel 3
