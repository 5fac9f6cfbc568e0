"""Hostile command lines and files: each either works or ends in one clear line, never a traceback,
a spin or a silent wrong answer.

Part of the hostile-input suite: CLI values at and beyond their limits; WAVs with NaN, DC,
silence, 1–8 channels, 8–192 kHz; a non-UTF-8 configuration; early exits that must free the
input process's shared memory.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dessins_de_planche import options as opt
from dessins_de_planche.inputs.analyze import analyze_file
from dessins_de_planche.listen.synth import match_onsets, podorhythm

ENV = {**os.environ, "LANGUAGE": "en"}


def cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "dessins_de_planche", *args], capture_output=True, text=True,
                          env={**ENV, **(env or {})}, timeout=timeout)


def one_clear_line(run) -> str:
    """The last line of stderr, the only one that is not argparse's usage or our log; no traceback."""
    assert "Traceback" not in run.stderr and "BufferError" not in run.stderr, run.stderr[-2000:]
    assert "leaked shared_memory" not in run.stderr, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines, "nothing said"
    return lines[-1]


# -- option values at and beyond their limits (parsed in-process: fast) ---------------------------
def parse_run(*args):
    from dessins_de_planche.commands import build_parser

    parser, _ = build_parser()
    return parser.parse_args(["run", *args])


LIMITS = [  # option, values that must be accepted, values that must be refused
    ("--bpm", ["20", "112", "400"], ["19.9", "401", "1e9", "nan", "inf", "-120", "0", "fast"]),
    ("--taps-per-beat", ["1", "4", "8"], ["0", "9", "1000000", "2.5"]),
    ("--jitter-ms", ["0", "6", "100"], ["-1", "101", "nan", "inf"]),
    ("--block-size", ["16", "128", "8192"], ["0", "15", "8193", "100000000", "-128", "1e3"]),
    ("--sample-rate", ["8000", "48000", "384000"], ["7999", "384001", "0", "-48000", "1e12"]),
    ("--fade", ["0", "1.5", "60"], ["-1", "61", "nan", "inf"]),
    ("--max-fps", ["1", "240"], ["0", "inf", "nan", "-60"]),
    ("--channels", ["1", "1,2", "256"], ["0", "257", "99999999999999999999", "1,x", ""]),
    ("--size", ["16x16", "1280x720"], ["15x15", "16385x720", "0x0", "axb"]),
    ("--dimmer", ["0", "1"], ["-0.1", "1.1", "nan"]),
]
ACCEPTED = [(option, value) for option, good, _ in LIMITS for value in good]
REFUSED = [(option, value) for option, _, bad in LIMITS for value in bad]


@pytest.mark.parametrize("option,value", ACCEPTED)
def test_values_within_the_limits_are_taken(option, value):
    parse_run(option, value)


@pytest.mark.parametrize("option,value", REFUSED)
def test_values_beyond_the_limits_are_refused_naming_the_option(option, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_run(option, value)
    assert exit_.value.code == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert option in said and "Traceback" not in said


@pytest.mark.parametrize("args", [
    ["--bpm", "1e9", "--generate"], ["--block-size", "100000000", "--generate"], ["--channels", "99"],
    ["--channels", "1,2", "--generate"], ["--osc-in", "nope"], ["--osc-send", "127.0.0.1:99999"],
    ["--osc-send", "no-port"], ["--record-audio"],
])
def test_the_run_command_refuses_absurd_values_in_one_line_before_any_window(args):
    run = cli("run", *args, env={"DISPLAY": ""})
    assert run.returncode != 0
    line = one_clear_line(run)
    assert line.startswith("dessins-de-planche")


@pytest.mark.parametrize("args", [["--bar-beats", "1000000000"], ["--bar-beats", "0"], ["--block-size", "1e9"],
                                  ["--channels", "0"]])
def test_analyze_refuses_absurd_values_in_one_line(tmp_path, args):
    soundfile.write(tmp_path / "take.wav", np.zeros(4800, np.float32), 48_000)
    run = cli("analyze", str(tmp_path / "take.wav"), *args)
    assert run.returncode == 2 and args[0] in one_clear_line(run)


def test_channels_beyond_the_file_are_one_line(tmp_path):
    soundfile.write(tmp_path / "mono.wav", np.zeros(4800, np.float32), 48_000)
    run = cli("run", "--input", str(tmp_path / "mono.wav"), "--channels", "99", env={"DISPLAY": ""})
    assert run.returncode == 1
    assert "channel 99 does not exist; the file has 1 channel" in one_clear_line(run)
    analyzed = cli("analyze", str(tmp_path / "mono.wav"), "--channels", "3")
    assert analyzed.returncode == 1 and "channel 3 does not exist" in one_clear_line(analyzed)


def test_a_file_that_is_not_audio_is_one_line(tmp_path):
    (tmp_path / "take.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 3)
    run = cli("run", "--input", str(tmp_path / "take.wav"), env={"DISPLAY": ""})
    assert run.returncode == 1 and "not a readable audio file" in one_clear_line(run)


def test_a_device_with_fewer_channels_is_named_in_one_line(monkeypatch):
    from dessins_de_planche.app import preflight
    from dessins_de_planche.config import InputSpec
    from dessins_de_planche.inputs import devices

    board = devices.AudioInput(3, "USB board", "ALSA", 2, 48_000.0)
    monkeypatch.setattr(devices, "list_audio_inputs", lambda: [board])
    said = preflight._lookup(InputSpec(audio_device="USB", channels=(1, 5)))
    assert said == "audio device 'USB board' has 2 input channels; --channels asks for channel 5"
    assert preflight._lookup(InputSpec(audio_device="USB", channels=(1, 2))) is None


def test_an_audio_system_that_crashes_is_one_line_not_a_start_that_never_comes(tmp_path):
    """Without ALSA's configuration PortAudio aborts the process that loads it (an assertion): the
    device lookup asked for by `run` and `devices` must say so, not hang or die with "Aborted"."""
    broken = {"ALSA_CONFIG_PATH": str(tmp_path / "alsa.conf"), "SDL_VIDEODRIVER": "offscreen"}
    run = cli("run", "--audio-device", "system", "--seconds", "5", env=broken, timeout=60)
    said = one_clear_line(run)
    assert run.returncode == 1 and "crashed" in said and "alsa.conf is missing" in said, said
    listed = cli("devices", env=broken, timeout=60)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "audio unavailable" in listed.stdout and "libasound2-data" in listed.stdout, listed.stdout
    assert "MIDI inputs" in listed.stdout  # the rest of the list is still given


def test_a_child_that_hangs_or_raises_is_reported_by_the_probe():
    from dessins_de_planche.inputs import probe

    with pytest.raises(probe.AudioSystemFailed, match="did not answer within 0.5 s"):
        probe.ask(time_sleep, 30, timeout=0.5)
    with pytest.raises(ValueError, match="could not convert"):
        probe.ask(float, "ten")
    assert probe.ask(float, "10") == 10.0


def time_sleep(seconds):  # module level: the probe's spawned child imports it by name
    import time

    time.sleep(seconds)


def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_bytes(b'bpm = 120\npreset = "caf\xe9"\n')  # Latin-1, as an old editor saves it
    run = cli("run", "--config", str(config), "--frames", "1", env={"DISPLAY": ""})
    assert run.returncode == 2
    line = one_clear_line(run)
    assert str(config) in line and "UTF-8" in line


def test_a_config_with_an_absurd_value_is_one_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("bpm = 1e9\n")
    run = cli("run", "--config", str(config), "--frames", "1", env={"DISPLAY": ""})
    assert run.returncode == 2 and "bpm" in one_clear_line(run)


@pytest.mark.window
@pytest.mark.parametrize("args,said", [
    (["--record", "/proc/no-such-place/take"], "no-such-place"),
])
def test_an_early_exit_after_the_inputs_started_frees_the_shared_memory(tmp_path, x_display, args, said):
    app = subprocess.Popen([sys.executable, "-m", "dessins_de_planche", "run", "--size", "160x90", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**ENV, "DISPLAY": x_display})
    out, err = app.communicate(timeout=120)
    run = subprocess.CompletedProcess(app.args, app.returncode, out, err)
    assert run.returncode == 1
    assert said in one_clear_line(run)
    left = [n for n in os.listdir("/dev/shm") if n.startswith(f"ddp-in-{app.pid}-")]  # its own segments
    assert not left


# -- hostile WAVs through analyze ------------------------------------------------------------------
def taps_and_truth(seconds, rate, seed=3):
    audio, truth = podorhythm(seconds, rate, 120, 2, ("heel", "toe"), seed=seed, level_db=-10.0, music=False)
    return audio[:, 0].astype(np.float32), truth["time"]


def test_a_nan_burst_is_silence_and_the_taps_after_it_are_still_heard(tmp_path):
    audio, truth = taps_and_truth(6.0, 48_000)
    audio[48_000 * 2: 48_000 * 2 + 500] = np.nan  # a glitch in the file at 2 s
    audio[48_000 * 3: 48_000 * 3 + 3] = np.inf
    path = tmp_path / "glitch.wav"
    soundfile.write(path, audio, 48_000, subtype="FLOAT")
    result = analyze_file(path, calibration={})
    assert result.nonfinite_blocks >= 2
    after = truth[truth > 3.2]
    found = result.final_taps["time"]
    _, _, recall = match_onsets(found[found > 3.2], after, 0.025)
    assert recall >= 0.95  # the detector was not poisoned
    run = cli("analyze", str(path))
    assert run.returncode == 0 and "non-finite samples" in run.stderr and "Traceback" not in run.stderr


def test_silence_and_dc_say_no_taps_and_render_strict_fails(tmp_path):
    for name, value in (("silence", 0.0), ("dc", 0.5)):
        path = tmp_path / f"{name}.wav"
        soundfile.write(path, np.full(48_000 * 2, value, np.float32), 48_000)
        result = analyze_file(path, calibration={})
        assert len(result.final_taps) == 0, name
        said = cli("analyze", str(path))
        assert said.returncode == 0 and "no taps found" in said.stderr
    out = tmp_path / "blank.png"
    strict = cli("render", "--input", str(tmp_path / "silence.wav"), "--out", str(out), "--size", "64x36", "--strict")
    assert strict.returncode == 1 and not out.exists()
    assert "no taps found" in strict.stderr and "Traceback" not in strict.stderr


RATES = [8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rate=st.sampled_from(RATES), channels=st.integers(1, 8), kind=st.sampled_from(
    ["taps", "nan", "inf", "dc", "silence", "full-scale", "denormal"]), block=st.sampled_from([16, 128, 1000, 8192]))
def test_any_wav_analyzes_or_says_why_in_one_line(tmp_path_factory, rate, channels, kind, block):
    seconds = 1.5
    n = int(seconds * rate)
    audio = np.zeros((n, channels), np.float32)
    if kind == "taps":
        mono, _ = taps_and_truth(seconds, rate)
        audio[:, channels - 1] = mono[:n]
    elif kind in ("nan", "inf"):
        audio[n // 3: n // 3 + 64, :] = np.nan if kind == "nan" else -np.inf
    elif kind == "dc":
        audio[:] = 0.25
    elif kind == "full-scale":
        audio[::2] = 1.0
        audio[1::2] = -1.0
    elif kind == "denormal":
        audio[:] = 1e-40
    path = tmp_path_factory.mktemp("wav") / f"{kind}.wav"
    soundfile.write(path, audio, rate, subtype="FLOAT")
    try:
        result = analyze_file(path, block_size=block, calibration={})
    except ValueError as error:  # a refusal must be one line naming the file
        assert str(path) in str(error) and "\n" not in str(error)
        return
    final = result.final_taps
    assert result.sample_rate == rate and result.channels == tuple(range(1, channels + 1))
    assert np.all(np.isfinite(final["time"])) and np.all((final["time"] >= 0) & (final["time"] <= seconds + 0.1))
    assert np.all((final["velocity"] >= 0) & (final["velocity"] <= 1))
    if kind in ("nan", "inf"):
        assert result.nonfinite_blocks >= 1
    if kind in ("silence", "dc", "denormal", "nan", "inf"):
        assert len(final) == 0, f"{kind}: {len(final)} taps from no taps"


def test_the_take_warnings_speak_of_what_was_found():
    assert opt.take_warnings("a.wav", 12, 0) == []
    said = opt.take_warnings("a.wav", 0, 3)
    assert len(said) == 2 and "3 blocks" in said[0] and "no taps" in said[1]


@pytest.mark.parametrize("tap", ['{"time": NaN}', '{"time": Infinity}', '{"time": 1e300}', '{"time": -5}',
                                 '{"time": "x"}', '{"time": 1, "velocity": 7}', '{"time": 1, "channel": 1e400}',
                                 '{"nothing": 1}', '[1, 2]', '3'])
def test_render_from_a_hostile_analyze_file_is_one_line(tmp_path, tap):
    take = tmp_path / "take.json"
    take.write_text('{"taps": [{"time": 0.5, "kind": "heel"}, ' + tap + '], "duration": 2}')
    out = tmp_path / "out.png"
    run = cli("render", "--input", str(take), "--out", str(out), "--size", "64x36")
    assert run.returncode == 1 and not out.exists()
    line = one_clear_line(run)
    assert "take.json" in line and "analyze --json" in line


def test_render_from_an_analyze_file_a_year_long_is_refused(tmp_path):
    take = tmp_path / "take.json"
    take.write_text('{"taps": [], "duration": 31536000}')
    run = cli("render", "--input", str(take), "--out", str(tmp_path / "out.png"), "--size", "64x36")
    assert run.returncode == 1 and "duration" in one_clear_line(run)


@pytest.mark.parametrize("line", ['{"type": "tap", "time": NaN, "zone": "board"}',
                                  '{"type": "tap", "time": 1e300, "zone": "board"}',
                                  '{"type": "tap", "time": 1, "zone": "board", "channel": 70000}',
                                  '{"type": "control", "time": "x"}', '{"type": "control", "time": Infinity}'])
def test_render_from_a_hostile_session_is_one_line(tmp_path, line):
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "events.jsonl").write_text('{"type": "tap", "time": 0.5, "zone": "board"}\n' + line + "\n")
    out = tmp_path / "out.png"
    run = cli("render", "--input", str(folder), "--out", str(out), "--size", "64x36", timeout=60)
    assert run.returncode == 1 and not out.exists()
    assert "events.jsonl" in one_clear_line(run)


@pytest.mark.parametrize("body", ["minutes = inf", "minutes = nan", "minutes = 1e300", "seconds = -1",
                                  "minutes = true", 'minutes = "4"'])
def test_a_playlist_with_an_absurd_duration_is_one_line(tmp_path, body):
    from dessins_de_planche.control import playlist

    path = tmp_path / "set.toml"
    path.write_text(f'[[entry]]\npreset = "rosette"\n{body}\n')
    with pytest.raises(playlist.PlaylistError) as refused:
        playlist.load(path, ["rosette"])
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("raw", [b'[[entry]]\npreset = "caf\xe9"\n', b"entry = 3\n", b"entry = [1, 2]\n"])
def test_a_playlist_that_is_not_one_is_one_line(tmp_path, raw):
    from dessins_de_planche.control import playlist

    path = tmp_path / "set.toml"
    path.write_bytes(raw)
    with pytest.raises(playlist.PlaylistError) as refused:
        playlist.load(path, ["rosette"])
    assert str(path) in str(refused.value)
