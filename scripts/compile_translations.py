#!/usr/bin/env python3
"""Compile the on-screen text's catalogues: each `.po` beside dessins_de_planche/locale to its `.mo`.

    .venv/bin/python scripts/compile_translations.py    # after editing a .po (Babel: the test extra)
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "dessins_de_planche" / "locale"


def compile_catalogue(po: Path, mo: Path) -> None:
    """Write `mo` from `po` (fuzzy entries left out, as msgfmt does)."""
    with open(po, "rb") as file:
        catalogue = read_po(file, locale=po.parent.parent.name)
    tmp = mo.with_suffix(".mo.tmp")
    with open(tmp, "wb") as file:
        write_mo(file, catalogue)
    tmp.replace(mo)


def main() -> int:
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
        compile_catalogue(po, po.with_suffix(".mo"))
        print(f"{po.relative_to(LOCALE_DIR)} -> {po.with_suffix('.mo').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
