"""One configuration file with every option: the file sets, the command line wins, mistakes name file and key."""

import subprocess
import sys

import pytest

from dessins_de_planche import settings
from dessins_de_planche.commands import build_parser


def parse(tmp_path, text, *argv):
    path = tmp_path / "config.toml"
    path.write_text(text)
    parser, _ = build_parser()
    return settings.parse_args(parser, ["run", "--config", str(path), *argv])


def test_the_file_sets_options_and_the_command_line_wins(tmp_path):
    args = parse(tmp_path, 'size = "800x600"\nhud = true\nflip = "horizontal"\nosc-send = ["127.0.0.1:9000"]\n'
                           'midi_map = "36=left:heel"\nchannels = [1, 2]\n')
    assert args.size == (800, 600) and args.hud and args.flip == "horizontal"
    assert args.osc_send == ["127.0.0.1:9000"] and args.channels == (1, 2)
    assert args.midi_map[36].zone == "left"
    args = parse(tmp_path, 'size = "800x600"\nflip = "horizontal"\n', "--size", "640x360", "--flip", "none")
    assert args.size == (640, 360) and args.flip == "none"


def test_other_commands_read_their_own_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[supervisor]\nheartbeat-timeout = 4\n[render]\nsize = [640, 480]\n')
    parser, _ = build_parser()
    args = settings.parse_args(parser, ["kiosk", "--config", str(path)])
    assert args.heartbeat_timeout == 4.0


@pytest.mark.parametrize("text, message", [
    ('sise = "800x600"\n', "sise: no such option; did you mean 'size'?"),
    ('size = "800"\n', "size: expected WIDTHxHEIGHT"),
    ('hud = "yes"\n', "hud: expected true or false"),
    ('flip = "sideways"\n', "flip: 'sideways' is not one of"),
    ('[supervisor]\nheartbeat = 3\n', "[supervisor] heartbeat: no such option"),
    ('size = \n', "config.toml: "),
])
def test_mistakes_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "run", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert str(path) in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_config_print_shows_the_resolved_configuration_and_reads_back(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('size = "800x600"\nrotate = 90\nkiosk = true\n[supervisor]\nmax-failures = 4\n')
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "config", "--print", "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    printed = result.stdout
    assert 'size = "800x600"' in printed and "rotate = 90" in printed and "max-failures = 4" in printed
    assert 'quit-chord = "ctrl+alt+q"' in printed  # defaults are shown too
    again = tmp_path / "printed.toml"
    again.write_text(printed)  # what it prints is a valid configuration file
    args = parse(tmp_path, again.read_text())
    assert args.size == (800, 600) and args.rotate == 90 and args.kiosk


def test_a_named_file_that_is_missing_is_an_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "run", "--config",
                             str(tmp_path / "nope.toml")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no such configuration file" in result.stderr


def test_every_option_a_command_shows_in_its_usage_is_a_key_of_the_file():
    """The file's keys come from the parser's own list (options added in groups and exclusive groups too)."""
    import re

    parser, commands = build_parser()
    assert set(settings.subparsers(parser)) == set(commands)
    for name, sub in settings.subparsers(parser).items():
        shown = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", sub.format_usage())) - {"help", "config"}
        assert shown == set(settings.options(sub)), name
    run = settings.subparsers(parser)["run"]
    assert {"presets", "osc_send"} <= run.appending  # repeated on the command line: a list in the file
