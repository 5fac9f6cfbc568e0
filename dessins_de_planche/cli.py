"""The `dessins-de-planche` command. Each subcommand lives in `commands/`.

Every error a user can cause ends in one line on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys

from dessins_de_planche.errors import UserError

log = logging.getLogger("dessins_de_planche")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # our log says what matters


def main(argv: list[str] | None = None) -> int:
    from dessins_de_planche.commands import build_parser

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
