"""The subcommands of `dessins-de-planche`, one module each.

A command module defines `NAME`, `HELP`, `DESCRIPTION`, `add_arguments(parser)` and
`main(args) -> int`; `ORDER` places it in `--help`. Adding a command is adding a
module here: `cli.py` finds it.
"""

from __future__ import annotations

import importlib
import pkgutil


def command_modules() -> list:
    modules = [importlib.import_module(f"{__name__}.{info.name}")
               for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.NAME))
