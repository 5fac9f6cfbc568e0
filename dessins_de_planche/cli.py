"""The `dessins-de-planche` command. Each subcommand lives in `commands/`.

Every error a user can cause ends in one line on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from dessins_de_planche import __version__
from dessins_de_planche.errors import UserError

log = logging.getLogger("dessins_de_planche")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # our log says what matters



def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    from dessins_de_planche.commands import command_modules
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


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    from dessins_de_planche import settings

    args = settings.parse_args(parser, argv)  # the config file's values, under the command line's
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return commands[args.command].main(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the one place errors become one line for the user
        if args.log_level == "debug":
            log.exception("failed")
        print(f"dessins-de-planche {args.command}: {_user_message(error)}", file=sys.stderr)
        return 1


def _user_message(error: Exception) -> str:
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"{error.filename}: no such file"
    text = str(error) or type(error).__name__
    if isinstance(error, (UserError, ValueError, OSError)):
        return text
    return f"{type(error).__name__}: {text} (run with --log-level debug for details)"
