"""The subcommands of `dessins-de-planche`, one module each.

A command module defines `NAME`, `HELP`, `DESCRIPTION`, `add_arguments(parser)` and
`main(args) -> int`; `ORDER` places it in `--help`. Adding a command is adding a
module here: `build_parser` finds it (`cli.py` runs it; `config --print` reads every
command's options from it).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil

from dessins_de_planche import __version__


def command_modules() -> list:
    modules = [importlib.import_module(f"{__name__}.{info.name}")
               for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.NAME))


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    from dessins_de_planche.settings import Parser

    parser = Parser(  # an ArgumentParser that lists its options, for the configuration file
        prog="dessins-de-planche",
        description="Live drawings from podorhythm: foot taps heard by a board mic or a MIDI trigger board.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="how much to log on stderr (default: info)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for module in command_modules():
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(sub)
        commands[module.NAME] = module
    return parser, commands
