"""The command line as a user meets it: help, and one clear line for every mistake."""

import subprocess
import sys

import pytest

from dessins_de_planche.cli import main


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "dessins_de_planche", *args], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_module_entry_point_lists_every_subcommand():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "devices", "analyze", "render"):
        assert command in result.stdout


@pytest.mark.parametrize("command", ["run", "devices", "analyze", "render"])
def test_each_subcommand_has_useful_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: dessins-de-planche {command}" in text
    assert len(text.splitlines()) > 3


@pytest.mark.parametrize(
    "args, expected",
    [
        (["analyze", "/no/such/take.wav"], "/no/such/take.wav: no such file"),
        (["render", "--input", "/no/such/take.wav", "--out", "x.png"], "/no/such/take.wav: no such file"),
        (["run", "--input", "/no/such/take.wav"], "/no/such/take.wav: no such file"),
    ],
)
def test_missing_file_is_one_clear_line(args, expected):
    result = run_cli(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "--size", "big"], "expected WIDTHxHEIGHT"),
        (["run", "--channels", "0"], "channel numbers start at 1"),
        (["run", "--midi-map", "36=left:ankle"], "bad MIDI mapping"),
        (["run", "--pattern", "heel,shuffle"], "a pattern is heel/toe steps"),
        (["analyze"], "the following arguments are required: FILE"),
    ],
)
def test_bad_option_is_named(args, expected):
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expected in result.stderr


def test_unreadable_audio_file_is_one_line(tmp_path):
    bogus = tmp_path / "take.wav"
    bogus.write_bytes(b"this is not audio")
    result = run_cli("analyze", str(bogus))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(bogus) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
