"""The performer's keys: a table from key to action name, and the kiosk's quit chord.

One table, so the help overlay lists every key and no key does two things in one
mode (a duplicate is refused when the table is built). Keys are matched by what
they type where that is a symbol (`?`, `+`), else by their name, so the table
reads the same on a French keyboard. Keys held with Ctrl or Alt are left to the
chord.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BINDINGS: tuple[tuple[str, str], ...] = (
    ("right", "next"), ("left", "previous"),
    *((str(n), f"preset{n}") for n in range(1, 10)),
    ("c", "clear"), ("u", "undo"),
    ("space", "freeze"), ("b", "blackout"), ("t", "tap_tempo"),
    ("-", "dimmer_down"), ("+", "dimmer_up"), ("=", "dimmer_up"),
    ("m", "mirror"), ("r", "rotate"),
    ("h", "hud"), ("?", "help"), ("f1", "help"), ("s", "soundcheck"), ("l", "learn"),
    ("f", "fullscreen"), ("f11", "fullscreen"), ("w", "warp"),
    ("escape", "escape"),
    ("p", "save_picture"), ("e", "dismiss_errors"),
)

SYMBOLS = set("?+-=*/!.,;:")
MODIFIERS = {"ctrl": "KMOD_CTRL", "control": "KMOD_CTRL", "alt": "KMOD_ALT", "shift": "KMOD_SHIFT",
             "meta": "KMOD_META", "super": "KMOD_GUI", "gui": "KMOD_GUI"}


class KeyTableError(ValueError):
    pass


@dataclass(frozen=True)
class Chord:
    modifiers: tuple[str, ...]
    key: str

    def __str__(self) -> str:
        return "+".join((*self.modifiers, self.key))


def parse_chord(text: str) -> Chord:
    """`ctrl+alt+q` -> Chord(("ctrl", "alt"), "q")."""
    parts = [p.strip().lower() for p in text.split("+") if p.strip()]
    if not parts:
        raise KeyTableError(f"a key chord is modifiers and a key, such as ctrl+alt+q (got {text!r})")
    *mods, key = parts
    unknown = [m for m in mods if m not in MODIFIERS]
    if unknown:
        raise KeyTableError(f"unknown modifier {unknown[0]!r} in {text!r}; use ctrl, alt, shift or super")
    return Chord(tuple(mods), key)


class KeyTable:
    def __init__(self, bindings=DEFAULT_BINDINGS):
        self.bindings: list[tuple[str, str]] = []
        self._by_key: dict[str, str] = {}
        for key, action in bindings:
            self.bind(key, action)

    def bind(self, key: str, action: str) -> None:
        key = key.lower()
        if key in self._by_key and self._by_key[key] != action:
            raise KeyTableError(f"key {key!r} is already {self._by_key[key]!r}; it cannot also be {action!r}")
        if key not in self._by_key:
            self._by_key[key] = action
            self.bindings.append((key, action))

    def __contains__(self, key: str) -> bool:
        return key.lower() in self._by_key

    def keys_for(self, action: str) -> list[str]:
        return [key for key, bound in self.bindings if bound == action]

    def action_for(self, event) -> str | None:
        """The action of a KEYDOWN event (None: not ours)."""
        import pygame

        if event.mod & (pygame.KMOD_CTRL | pygame.KMOD_ALT | pygame.KMOD_GUI):
            return None
        typed = getattr(event, "unicode", "") or ""
        if typed in SYMBOLS and typed in self._by_key:
            return self._by_key[typed]
        return self._by_key.get(pygame.key.name(event.key).lower())


def chord_pressed(event, chord: Chord) -> bool:
    import pygame

    if pygame.key.name(event.key).lower() != chord.key:
        return False
    return all(event.mod & getattr(pygame, MODIFIERS[m]) for m in chord.modifiers)


def key_label(key: str) -> str:
    """How a key is written on the help overlay."""
    from dessins_de_planche.locale import _

    names = {"right": _("Right"), "left": _("Left"), "space": _("Space"), "escape": _("Esc")}
    return names.get(key, key.upper() if len(key) > 1 else key)
