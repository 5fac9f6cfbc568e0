"""`config`: where the configuration file is, and what every option resolves to."""

from __future__ import annotations

import sys

NAME = "config"
ORDER = 70
HELP = "show the configuration file and the resolved options"
DESCRIPTION = ("Show the resolved configuration: the defaults, overridden by the configuration file "
               "(a TOML file with every option the command line has), as TOML that can be saved and edited.")


def add_arguments(parser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--print", action="store_true", dest="print_config",
                      help="print the resolved configuration as TOML (the default)")
    what.add_argument("--path", action="store_true", help="print the configuration file's path")


def resolved(parser) -> dict:
    """{command: {option: value}} for `run` (top level) and the commands with their own table."""
    from dessins_de_planche import settings

    tables = {}
    for name, sub in settings.subparsers(parser).items():
        if name == NAME:
            continue
        values = {}
        for option, action in settings.options(sub).items():
            value = settings.format_value(action, action.default)
            if value is not None and value != {} and value != []:
                values[option] = value
        if values:
            tables[settings.table_name(name) if name != settings.ROOT_COMMAND else name] = values
    return tables


def main(args) -> int:
    from dessins_de_planche import settings
    from dessins_de_planche.commands import build_parser

    path, _named = settings.resolved_path(sys.argv[1:])
    if args.config:
        path = settings.Path(args.config).expanduser()
    if args.path:
        print(path)
        return 0
    parser, _commands = build_parser()
    argv = ["--config", str(path)] if path.exists() else []
    settings.add_config_option(parser)
    used = settings.apply(parser, argv)
    tables = resolved(parser)
    print(f"# Dessins de Planche configuration, resolved: defaults < {used or f'{path} (not found)'} < command line")
    print("# top level: the options of `run`; [name]: the options of another command\n")
    print(settings.to_toml(tables.pop(settings.ROOT_COMMAND, {})))
    for name, values in tables.items():
        print(f"\n[{name}]")
        print(settings.to_toml(values))
    print_calibration()
    return 0


def print_calibration() -> None:
    """What `calibrate` measured (the audio channels, a sensor board's [midi]), as comments: it is
    no option, and the printed configuration stays a file `--config` reads."""
    from dessins_de_planche.listen import calibration

    path = calibration.config_path()
    if not path.exists():
        print(f"\n# calibration: none ({path} not found; `dessins-de-planche calibrate` measures it)")
        return
    print(f"\n# calibration, measured by `dessins-de-planche calibrate`: {path}")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip() and not line.startswith("# Dessins de Planche"):
            print(f"#   {line}")
