"""On-screen text in French and English, through gettext.

The catalogues are `.po` files beside this module, compiled to `.mo` (shipped
too, and rebuilt here when a `.po` is newer), so a clone needs no `msgfmt`.
The language comes from `--lang`, else the locale (LANGUAGE, LC_ALL,
LC_MESSAGES, LANG); English is the source text.
"""

from __future__ import annotations

import ast
import gettext
import os
import struct
from pathlib import Path

DOMAIN = "dessins-de-planche"
LOCALE_DIR = Path(__file__).resolve().parent
LANGUAGES = ("en", "fr")

_translation: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    """The message in the chosen language (the English text where there is no translation)."""
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; `_` translates it where it is shown."""
    return message


def language_from_environment() -> str:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return value.split(":")[0].split("_")[0].split(".")[0].lower()
    return "en"


def install(lang: str | None = None) -> str:
    """Choose the language for on-screen text: 'fr', 'en' or None/'auto' (from the locale)."""
    global _translation
    code = (lang or "auto").lower()
    if code == "auto":
        code = language_from_environment()
    code = code.split("_")[0]
    if code not in LANGUAGES:
        code = "en"
    po = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        try:
            compile_po(po, mo)
        except OSError:  # a read-only install: the shipped .mo is used as it is
            pass
    _translation = gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[code], fallback=True)
    return code


def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the plain subset we write: no plurals, no contexts)."""
    messages: dict[str, str] = {}
    key = value = None
    target = None
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("msgid "):
                if key is not None:
                    messages[key] = value
                key, value, target = ast.literal_eval(line[6:]), "", "id"
            elif line.startswith("msgstr "):
                value, target = ast.literal_eval(line[7:]), "str"
            elif line.startswith('"'):
                if target == "id":
                    key += ast.literal_eval(line)
                else:
                    value += ast.literal_eval(line)
            else:
                raise ValueError(line)
        except (ValueError, SyntaxError):
            raise ValueError(f"{path}:{number}: not a line of a .po file: {raw!r}") from None
    if key is not None:
        messages[key] = value
    return messages


def compile_po(po: Path, mo: Path) -> None:
    """Write the GNU .mo file of a .po file (what `msgfmt` does, for our subset)."""
    messages = {k: v for k, v in read_po(po).items() if v or k == ""}
    keys = sorted(messages)
    ids = b"".join(k.encode() + b"\0" for k in keys)
    strs = b"".join(messages[k].encode() + b"\0" for k in keys)
    count = len(keys)
    header = 7 * 4
    ids_start = header + count * 16
    strs_start = ids_start + len(ids)
    id_table, str_table = [], []
    offset = 0
    for k in keys:
        length = len(k.encode())
        id_table += [length, ids_start + offset]
        offset += length + 1
    offset = 0
    for k in keys:
        length = len(messages[k].encode())
        str_table += [length, strs_start + offset]
        offset += length + 1
    data = struct.pack("Iiiiiii", 0x950412DE, 0, count, header, header + count * 8, 0, 0)
    data += struct.pack(f"{2 * count}i", *id_table) + struct.pack(f"{2 * count}i", *str_table) + ids + strs
    tmp = mo.with_suffix(".mo.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, mo)
