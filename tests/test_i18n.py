"""On-screen text in French and English through gettext: every message the code shows is translated."""

import gettext
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from dessins_de_planche import locale
from dessins_de_planche.app.output import FLIPS
from dessins_de_planche.app.actions import ACTIONS
from dessins_de_planche.inputs.status import AUDIO_STATES, MIDI_STATES

PACKAGE = Path(locale.__file__).resolve().parent.parent
PO = Path(locale.__file__).resolve().parent / "fr" / "LC_MESSAGES" / "dessins-de-planche.po"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import compile_translations  # noqa: E402


def french() -> dict[str, str]:
    with open(PO, "rb") as file:
        return {m.id: m.string for m in read_po(file, locale="fr") if m.id}


def shown_messages() -> set[str]:
    """Every literal passed to _() or N_() in the package, and the states the HUD translates."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for match in re.finditer(r'\bN?_\("((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8")):
            found.add(match.group(1).encode().decode("unicode_escape").encode("latin-1").decode("utf-8"))
    from dessins_de_planche.app.show import DEMO_NOTICE

    return found | set(DEMO_NOTICE) | {action.help for action in ACTIONS.values() if action.help} | set(AUDIO_STATES) | set(MIDI_STATES) | set(FLIPS)


def test_every_message_has_a_french_translation():
    translated = french()
    missing = sorted(m for m in shown_messages() if not translated.get(m))
    assert not missing, f"no French for: {missing}"


def test_placeholders_survive_translation():
    for english, translated in french().items():
        assert set(re.findall(r"\{[^}]*\}", english)) == set(re.findall(r"\{[^}]*\}", translated)), english


def test_the_shipped_catalogue_is_compiled_from_the_po(tmp_path):
    mo = tmp_path / "fr.mo"
    compile_translations.compile_catalogue(PO, mo)
    catalogues = []
    for path in (mo, PO.with_suffix(".mo")):
        with open(path, "rb") as file:
            catalogues.append(gettext.GNUTranslations(file)._catalog)
    fresh, shipped = catalogues
    assert fresh["Keys"] == "Touches"
    assert shipped == fresh, "the shipped .mo is older than the .po: run scripts/compile_translations.py"


def test_language_from_flag_and_from_the_locale(monkeypatch):
    try:
        assert locale.install("fr") == "fr" and locale._("Keys") == "Touches"
        assert locale.install("en") == "en" and locale._("Keys") == "Keys"
        for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("LANG", "fr_CA.UTF-8")
        assert locale.install(None) == "fr" and locale._("heel") == "talon"
        monkeypatch.setenv("LANG", "de_DE.UTF-8")
        assert locale.install("auto") == "en" and locale._("heel") == "heel"  # no German: English
    finally:
        locale.install("en")
