"""`analyze` on real files: written with soundfile, read back through the live path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile

from dessins_de_planche.events import (KIND_HEEL, KIND_TOE, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW,
                                       TAP_DTYPE)
from dessins_de_planche.inputs.analyze import Analysis, analyze_file
from dessins_de_planche.listen.detector_settings import DETECTOR_VERSION
from dessins_de_planche.listen.synth import match_onsets, podorhythm
from struck_notes import struck_note


def write(tmp_path, name, audio, sample_rate):
    path = tmp_path / name
    soundfile.write(path, audio, sample_rate, subtype="PCM_24")
    return path


def test_a_reel_file_gives_its_taps_and_tempo(tmp_path):
    audio, truth = podorhythm(10.0, 48_000, 112, 2, ("heel", "toe"), seed=11, level_db=-10.0)
    result = analyze_file(write(tmp_path, "reel.wav", audio, 48_000))
    final = result.final_taps
    _, precision, recall = match_onsets(final["time"], truth["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95
    assert result.tempo_bpm == pytest.approx(112, rel=0.03)
    assert result.sample_rate == 48_000 and result.duration == pytest.approx(10.0, abs=1e-3)
    assert result.channels == (1,) and result.zone_names[0] == "board"
    # raw records include the follow-ups, each after its tap: one per tap, a refine or a withdraw
    assert (result.taps["refine"] != 0).sum() == len(final) + result.withdrawn
    assert np.all(final["detected_at"] >= final["time"])

    report = json.loads(json.dumps(result.to_json()))
    assert set(report) >= {"file", "sample_rate", "duration", "channels", "taps", "tempo_bpm", "tempo_track",
                           "withdrawn", "detector"}
    assert report["detector"] == DETECTOR_VERSION and report["withdrawn"] == result.withdrawn
    tap = report["taps"][0]
    assert set(tap) >= {"time", "detected_at", "velocity", "kind", "channel", "zone", "source"}
    assert tap["source"] == "audio" and tap["zone"] == "board" and tap["channel"] == 1
    assert {t["kind"] for t in report["taps"]} == {"heel", "toe"}


def test_a_44k1_jig_file(tmp_path):
    audio, truth = podorhythm(10.0, 44_100, 120, 3, ("Heel", "toe", "toe"), seed=12, level_db=-20.0)
    result = analyze_file(write(tmp_path, "jig.flac", audio, 44_100))
    _, precision, recall = match_onsets(result.final_taps["time"], truth["time"], 0.025)
    assert precision >= 0.95 and recall >= 0.95
    assert result.sample_rate == 44_100
    assert result.tempo_bpm == pytest.approx(120, rel=0.03)


def test_a_stereo_file_puts_the_taps_on_their_channel(tmp_path):
    """Left: the band and the room; right: the board too. Every tap comes out on the right; the
    left, hearing only the band, gets a stray onset of the band now and then (one where it falls
    on the beat the feet set), and next to none heard alone. Over eight tunes, not one."""
    seconds, beside_the_feet, alone = 0.0, 0, 0
    for seed in range(13, 21):
        mix, truth = podorhythm(6.0, 48_000, 112, 2, ("heel", "toe"), seed=seed, level_db=-12.0)
        dry, _ = podorhythm(6.0, 48_000, 112, 2, ("heel", "toe"), seed=seed, level_db=-12.0, music=False,
                            noise_db=None)
        path = write(tmp_path, f"stereo-{seed}.wav", np.concatenate([mix - dry, mix], axis=1), 48_000)
        result = analyze_file(path)
        final = result.final_taps
        assert result.channels == (1, 2) and result.zone_names[:2] == ("left", "right")
        _, precision, recall = match_onsets(final[final["channel"] == 2]["time"], truth["time"], 0.025)
        assert precision >= 0.95 and recall >= 0.95, seed
        only_left = analyze_file(path, channels=[1])
        assert only_left.channels == (1,)
        seconds += 6.0
        beside_the_feet += int((final["channel"] == 1).sum())
        alone += len(only_left.final_taps)
    # a minute of the band alone: the bar is 5 false taps; beside the feet, whose beat
    # asks less of an onset, 12 (the weights of stop 31 drew 12.5 and 15 here)
    assert 60 * alone / seconds <= 5 and 60 * beside_the_feet / seconds <= 12, (alone, beside_the_feet)


def test_block_size_does_not_change_the_taps(tmp_path):
    audio, _ = podorhythm(5.0, 48_000, 112, 2, ("heel", "toe"), seed=14, level_db=-15.0)
    path = write(tmp_path, "blocks.wav", audio, 48_000)
    small, large = analyze_file(path, block_size=128).final_taps, analyze_file(path, block_size=1000).final_taps
    assert len(small) == len(large) > 10
    assert np.allclose(small["time"], large["time"], atol=1e-9)
    assert np.array_equal(small["kind"], large["kind"])


def test_missing_and_unreadable_files_say_so_in_one_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        analyze_file(tmp_path / "nothing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"\0not audio at all" * 10)
    with pytest.raises(ValueError) as error:
        analyze_file(junk)
    assert "junk.wav" in str(error.value) and "\n" not in str(error.value)
    audio, _ = podorhythm(1.5, 48_000, seed=1)
    path = write(tmp_path, "mono.wav", audio, 48_000)
    with pytest.raises(ValueError, match="channel 3 does not exist"):
        analyze_file(path, channels=[3])


def test_withdrawn_taps_are_counted_not_listed(capsys, monkeypatch):
    """Records as the two-stage detector emits them: each tap at once, then confirmed or withdrawn."""
    rows = [(1.000, 1.004, 0.5, 1, 1, 0, 0, KIND_HEEL, RECORD_FIRST, 0),
            (1.250, 1.254, 0.5, 2, 1, 0, 0, KIND_HEEL, RECORD_FIRST, 0),
            (1.000, 1.020, 0.7, 1, 1, 0, 0, KIND_TOE, RECORD_REFINE, 0),
            (1.250, 1.272, 0.5, 2, 1, 0, 0, KIND_HEEL, RECORD_WITHDRAW, 0),
            (1.500, 1.504, 0.5, 3, 1, 0, 0, KIND_HEEL, RECORD_FIRST, 0),
            (1.500, 1.519, 0.9, 3, 1, 0, 0, KIND_HEEL, RECORD_REFINE, 0)]
    result = Analysis("board.wav", 48_000, 2.0, (1,), ("board",), np.array(rows, TAP_DTYPE), None)
    report = json.loads(json.dumps(result.to_json()))
    assert report["withdrawn"] == 1 and report["detector"] == DETECTOR_VERSION
    assert [(t["time"], t["detected_at"], t["kind"]) for t in report["taps"]] == [(1.0, 1.004, "toe"),
                                                                                  (1.5, 1.504, "heel")]

    from dessins_de_planche.commands import analyze as command
    from dessins_de_planche.inputs import analyze as listen

    monkeypatch.setattr(listen, "analyze_file", lambda *args, **kwargs: result)
    monkeypatch.setattr(command.opt, "check_readable", lambda path: None)
    args = type("Args", (), {"file": "board.wav", "block_size": 128, "channels": None, "bar_beats": 2,
                             "no_board_calibration": False})
    for as_json in (True, False):
        args.json = as_json
        assert command.main(args) == 0
        out = capsys.readouterr().out
        if as_json:
            assert json.loads(out)["withdrawn"] == 1
        else:
            assert "2 taps" in out and "1 withdrawn" in out and DETECTOR_VERSION in out


def test_a_soundcheck_in_the_calibration_is_heard_and_reported(tmp_path, capsys, monkeypatch):
    """`calibrate --music`'s bar reaches `analyze`: fewer of the band's onsets drawn before the feet
    come in, every tap after, and the report says which bar it used. The band: synthetic
    struck-string notes (a piano's hard, pitched attacks; not in stage B's training set) twice a
    beat, off the feet's."""
    from dessins_de_planche.commands import analyze as command
    from dessins_de_planche.listen import calibration
    from dessins_de_planche.listen.calibration import ChannelCalibration

    def tune(seed):  # 19 s of the band alone, then taps over it, 6 dB over the band (RMS)
        taps, truth = podorhythm(40.0, 48_000, 112, 2, ("heel", "toe"), seed=seed, level_db=-18.0, music=False,
                                 taps_from=20.0)
        rng = np.random.default_rng(seed)
        band = np.zeros(len(taps) + 48_000)
        for at in np.arange(0.0, 40.0, 60 / 112 / 2) + 0.13:
            note = struck_note("piano", rng, 440 * 2 ** (int(rng.integers(-24, 12)) / 12), 48_000)
            band[int(at * 48_000) : int(at * 48_000) + len(note)] += note * rng.uniform(0.3, 1.0)
        band = band[: len(taps)] * np.sqrt(np.mean(taps[20 * 48_000 :].astype(np.float64) ** 2)
                                         / np.mean(band[: len(taps)] ** 2)) / 2
        return (taps + band[:, None]).astype(np.float32), truth

    soundcheck, _ = tune(5)
    feet = calibration.music_feet(soundcheck[: 19 * 48_000], 48_000, (1,))
    tuned = ChannelCalibration(foot_bar=calibration.foot_bar(feet[0], None), music_onsets=len(feet[0]))
    show, truth = tune(15)
    path = write(tmp_path, "show.wav", show, 48_000)
    plain, checked = analyze_file(path, calibration={}), analyze_file(path, calibration={1: tuned})
    assert plain.to_json()["soundcheck"] is None and checked.to_json()["soundcheck"] == {"1": tuned.foot_bar}
    before, after = (r.final_taps["time"] for r in (plain, checked))
    assert (before < 19.5).sum() >= 10 and (after < 19.5).sum() <= (before < 19.5).sum() / 3
    _, precision, recall = match_onsets(after[after >= 19.5], truth["time"], 0.025)
    _, precision_before, _ = match_onsets(before[before >= 19.5], truth["time"], 0.025)
    # the piano's onsets among the feet are the plain detector's to withdraw (0.66 with stop 34's weights;
    # the strict xfail tests/test_detector.py::test_stage_b_withdraws_pitched_attacks_that_stage_a_fired_on):
    # the soundcheck loses no tap there and draws nothing more
    assert recall == 1.0 and precision >= precision_before >= 0.6

    from dessins_de_planche.inputs import analyze as listen

    real = listen.analyze_file  # as if `calibrate --music` had written this bar to the user's file
    monkeypatch.setattr(listen, "analyze_file",
                        lambda *args, **kwargs: real(*args, **{**kwargs, "calibration": {1: tuned}}))
    args = type("Args", (), {"file": str(path), "block_size": 128, "channels": None, "bar_beats": 2,
                             "no_board_calibration": False, "json": False})
    assert command.main(args) == 0
    assert f"the soundcheck's bar (calibrate --music): ch1 {tuned.foot_bar:.2f}" in capsys.readouterr().out
