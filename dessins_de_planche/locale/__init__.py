"""On-screen text in French and English, through gettext.

The catalogues are `.po` files beside this module; their compiled `.mo` files ship
beside them, made by `scripts/compile_translations.py` (Babel) when a `.po` changes —
a test fails while a `.mo` is out of date, and nothing is written at run time.
The language comes from `--lang`, else the locale (LANGUAGE, LC_ALL,
LC_MESSAGES, LANG); English is the source text.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "dessins-de-planche"
LOCALE_DIR = Path(__file__).resolve().parent
LANGUAGES = ("en", "fr")

_translation: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    """The message in the chosen language (the English text where there is no translation)."""
    return _translation.gettext(message)


def _n(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for `count`, by the chosen language's own plural rule."""
    return _translation.ngettext(singular, plural, count)


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
    _translation = gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[code], fallback=True)
    return code
