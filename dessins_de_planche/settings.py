"""One configuration file (TOML) with every option the command line has; the command line wins.

Top-level keys are options of `run` (written as on the command line, without the
dashes: `audio-device = "USB Audio"`, `size = "1920x1080"`, `kiosk = true`);
a table named after another command holds that command's options (`[render]`;
the `kiosk` supervisor's are in `[supervisor]`, since `kiosk = true` is an option of `run`). The file is `config.toml` in the user's config folder, or the one
given with `--config`. Every mistake names the file and the key.
"""

from __future__ import annotations

import argparse
import difflib
import os
import tomllib
from pathlib import Path

from dessins_de_planche.errors import UserError

APP_NAME = "dessins-de-planche"
ROOT_COMMAND = "run"  # top-level keys belong to this command
TABLES = {"kiosk": "supervisor"}  # command -> its table, where the command's name is also an option of `run`


def table_name(command: str) -> str:
    return TABLES.get(command, command)


class ConfigError(UserError):
    """A mistake in the configuration file: names the file and the key."""


def default_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME)) / "config.toml"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that keeps its own list of the options and subcommands added to it.

    argparse offers no public way to list them, and the configuration file needs both: each
    long option (`--audio-device`) is a key of the file, each subcommand a table. Options added
    through an argument group or a mutually exclusive group are listed too; subcommands'
    parsers are of this class (argparse makes them of the parent's)."""

    def __init__(self, *args, **kwargs):
        self.declared: dict[str, argparse.Action] = {}  # long option without dashes -> its action
        self.appending: set[str] = set()  # dests of the options each use of which adds to a list
        self.commands: dict[str, Parser] = {}
        self._building = True  # argparse makes its own groups while it starts: those stay as they are
        super().__init__(*args, **kwargs)
        self._building = False

    def note(self, action: argparse.Action, kind=None) -> argparse.Action:
        long = [string for string in action.option_strings if string.startswith("--")]
        if long:  # the file writes an option by its first long name
            self.declared[long[0][2:]] = action
        if kind in ("append", "append_const", "extend"):
            self.appending.add(action.dest)
        return action

    def add_argument(self, *args, **kwargs):
        return self.note(super().add_argument(*args, **kwargs), kwargs.get("action"))

    def add_argument_group(self, *args, **kwargs):
        group = super().add_argument_group(*args, **kwargs)
        return group if self._building else _Noting(group, self)

    def add_mutually_exclusive_group(self, *args, **kwargs):
        return _Noting(super().add_mutually_exclusive_group(*args, **kwargs), self)

    def add_subparsers(self, **kwargs):
        return _Commands(super().add_subparsers(**kwargs), self)


class _Noting:
    """An argument group of a `Parser`: what is added to it is noted in the parser's list."""

    def __init__(self, group, parser: Parser):
        self.group, self.parser = group, parser

    def add_argument(self, *args, **kwargs):
        return self.parser.note(self.group.add_argument(*args, **kwargs), kwargs.get("action"))

    def add_argument_group(self, *args, **kwargs):
        return _Noting(self.group.add_argument_group(*args, **kwargs), self.parser)

    def add_mutually_exclusive_group(self, *args, **kwargs):
        return _Noting(self.group.add_mutually_exclusive_group(*args, **kwargs), self.parser)

    def __getattr__(self, name):
        return getattr(self.group, name)


class _Commands:
    """A `Parser`'s subcommands: each parser added is noted by its name (and aliases)."""

    def __init__(self, action, parser: Parser):
        self.action, self.parser = action, parser

    def add_parser(self, name: str, **kwargs) -> Parser:
        sub = self.action.add_parser(name, **kwargs)
        for called in (name, *kwargs.get("aliases", ())):
            self.parser.commands[called] = sub
        return sub

    def __getattr__(self, name):
        return getattr(self.action, name)


def subparsers(parser: Parser) -> dict[str, Parser]:
    return dict(parser.commands)


def options(parser: Parser) -> dict[str, argparse.Action]:
    """Option name as written in the file (`audio-device`) -> its argparse action."""
    return {name: action for name, action in parser.declared.items()
            if action.dest not in ("help", "version", "config")}


def _formatters():
    from dessins_de_planche import options as opt

    def midi_map(value):
        return ",".join(f"{note}={m.zone}:{m.kind}" for note, m in value.items())

    return {
        opt.size: lambda v: f"{v[0]}x{v[1]}",
        opt.channels: lambda v: ",".join(str(c) for c in v),
        opt.pattern: lambda v: ",".join(v),
        opt.midi_map: midi_map,
    }


def _is_flag(action: argparse.Action) -> bool:
    return action.nargs == 0


def _convert(action: argparse.Action, value, where: str, appending: bool = False):
    """A TOML value -> what the command line would have made of the same option."""
    if _is_flag(action):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return action.const if value else action.default
    if isinstance(value, bool) or isinstance(value, dict):
        raise ConfigError(f"{where}: expected {action.metavar or 'a value'}, got {value!r}")
    parse = action.type or str
    is_list_option = action.nargs in ("*", "+") or appending
    if is_list_option:
        items = value if isinstance(value, list) else [value]
        return [_convert_one(action, parse, item, where) for item in items]
    if isinstance(value, list):  # size = [1920, 1080], channels = [1, 2]
        from dessins_de_planche import options as opt

        value = ("x" if parse is opt.size else ",").join(str(v) for v in value)
    return _convert_one(action, parse, value, where)


def _convert_one(action, parse, value, where: str):
    try:
        converted = parse(str(value))
    except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
        raise ConfigError(f"{where}: {error}") from None
    if action.choices is not None and converted not in action.choices:
        choices = ", ".join(str(c) for c in action.choices)
        raise ConfigError(f"{where}: {value!r} is not one of {choices}")
    return converted


def load(path: Path) -> dict:
    if path.exists() and not path.is_file():  # opening a pipe would wait forever; a folder cannot be read
        raise ConfigError(f"{path}: not a regular file (a folder, pipe or device); the configuration is a "
                          ".toml text file")
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start}); save the file as UTF-8") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(f"{path}: TOML nested too deeply; the configuration needs only a few levels") from None
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None


def defaults_from(table: dict, parser: Parser, path: Path, section: str) -> dict:
    """The file's values for one command's parser, converted: dest -> value."""
    known = options(parser)
    values = {}
    for key, value in table.items():
        name = key.replace("_", "-")
        where = f"{path}: {section}{key}"
        action = known.get(name)
        if action is None:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: no such option{hint}")
        values[action.dest] = _convert(action, value, where, action.dest in parser.appending)
    return values


def resolved_path(argv: list[str]) -> tuple[Path, bool]:
    """The config file named by --config in argv, else the default (and whether it was named)."""
    for index, item in enumerate(argv):
        if item == "--config" and index + 1 < len(argv):
            return Path(argv[index + 1]).expanduser(), True
        if item.startswith("--config="):
            return Path(item.split("=", 1)[1]).expanduser(), True
    env = os.environ.get("DESSINS_DE_PLANCHE_CONFIG")
    if env:
        return Path(env).expanduser(), True
    return default_path(), False


def apply(parser: Parser, argv: list[str]) -> Path | None:
    """Make the config file's values the defaults of every command; returns the file used, if any."""
    path, named = resolved_path(argv)
    if not path.exists():
        if named:
            raise ConfigError(f"{path}: no such configuration file")
        return None
    data = load(path)
    commands = subparsers(parser)
    tables = {table_name(name) for name in commands}
    root_values = {k: v for k, v in data.items() if not (isinstance(v, dict) and k in tables)}
    found = []  # (parser, values): every mistake is found before anything is set, so a bad file sets nothing
    if ROOT_COMMAND in commands:
        global_names = options(parser)
        global_part = {k: v for k, v in root_values.items() if k.replace("_", "-") in global_names}
        run_part = {k: v for k, v in root_values.items() if k not in global_part}
        found.append((parser, defaults_from(global_part, parser, path, "")))
        found.append((commands[ROOT_COMMAND], defaults_from(run_part, commands[ROOT_COMMAND], path, "")))
    for name, sub in commands.items():
        table = data.get(table_name(name))
        if isinstance(table, dict) and name != ROOT_COMMAND:
            found.append((sub, defaults_from(table, sub, path, f"[{table_name(name)}] ")))
    for target, values in found:
        target.set_defaults(**values)
    return path


def add_config_option(parser: Parser) -> None:
    for sub in subparsers(parser).values():
        if "config" not in sub.declared:
            sub.add_argument("--config", metavar="FILE.toml",
                             help=f"configuration file (default: {default_path()}); the command line overrides it")


def parse_args(parser: Parser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line over the configuration file's values; a bad file is one line and exit 2.

    Except in kiosk mode (`run --kiosk` or the `kiosk` supervisor): an installation with nobody
    at the keyboard had better draw on defaults than stay black, so the error is kept in
    `args.config_error` for the log and the show starts without the file."""
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    add_config_option(parser)
    try:
        path, problem = apply(parser, argv), None
    except ConfigError as error:
        path, problem = None, error
    args = parser.parse_args(argv)
    if problem is not None and not (args.command == "kiosk" or getattr(args, "kiosk", False)):
        parser.exit(2, f"{parser.prog}: {problem}\n")
    args.config_file = str(path) if path else None
    args.config_error = f"{problem}; kiosk mode: running on the defaults" if problem is not None else None
    return args


def format_value(action: argparse.Action, value):
    """A resolved option as it would be written in the file (None: leave it out)."""
    if value is None:
        return None
    formatter = _formatters().get(action.type)
    if formatter is not None:
        return formatter(value)
    if isinstance(value, (list, tuple)):
        return [format_value(action, v) if not isinstance(v, (str, int, float, bool)) else v for v in value]
    return value


def to_toml(values: dict[str, object]) -> str:
    import tomli_w

    return tomli_w.dumps({key: list(value) if isinstance(value, tuple) else value for key, value in values.items()})
