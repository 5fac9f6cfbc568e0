"""What the performer can do, as one table: keys, MIDI buttons and knobs, and OSC messages all
name an action here, and the help overlay lists each one with its text.

An action is its help text (None: reached by MIDI or OSC only, so not on the help and
bound to no key), whether the MIDI control map may name it, and a function of the
console, with a value for the continuous ones (0..1, or on/off). Keys are bound to these
names in one place, `app/keys.py`; nothing else acts on a key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.locale import N_, _

log = logging.getLogger("dessins_de_planche.app")

DIMMER_STEP = 0.1
TAP_TEMPO_RESET_S = 2.0


@dataclass(frozen=True)
class Action:
    help: str | None
    run: Callable
    midi: bool = True  # the MIDI control map may name it (see control/midimap.py)


class TapTempo:
    """The tap-tempo key: the median of the last presses, started over after a pause."""

    def __init__(self):
        self.presses: list[float] = []

    def press(self, now: float) -> float | None:
        presses = [t for t in self.presses if now - t < TAP_TEMPO_RESET_S] + [now]
        self.presses = presses[-6:]
        if len(presses) < 2:
            return None
        bpm = 60.0 / float(np.median(np.diff(self.presses)))
        return bpm if 30.0 <= bpm <= 300.0 else None


def _clear(console):
    show = console.show
    console.history.before_clear(show.scene, show.preset.name, console.taps_since_clear > 0)
    show.scene.clear()
    console.taps_since_clear = 0


def _undo(console):
    if not console.history.undo(console.show.scene):
        console.notices.say("undo", _("Nothing to undo."), 2.0)


def _toggle(is_on: Callable, toggle: Callable):
    """An on/off action: pressed, it toggles; given a value (OSC, a MIDI button), it sets."""
    def run(console, value=None):
        if value is None or bool(value) != is_on(console):
            toggle(console)
    return run


def _tap_tempo(console):
    now = master_time()
    bpm = console.tap_tempo.press(now)
    if bpm is not None:
        console.show.rhythm.set_tempo(bpm, now)
        console.notices.say("tempo", _("Tempo: {bpm:.0f} BPM").format(bpm=bpm), 2.0)


def _rotate(console):
    console.output.next_rotation()
    console.fit_show()


def _hud(console, value=None):
    console.show_hud = (not console.show_hud) if value is None else bool(value)


def _help(console):
    console.show_help = not console.show_help


def _soundcheck(console):
    console.show.show_soundcheck = not console.show.show_soundcheck


def _fullscreen(console):
    if not console.kiosk:
        console.window.toggle_fullscreen()


def _warp(console):
    said = console.corner_pin.toggle()
    if said:
        console.notices.say("warp", said, 4.0)


def _escape(console):
    """Close the topmost overlay; with none open, quit (not in kiosk mode: there the chord quits)."""
    if console.corner_pin.active:
        _warp(console)
    elif console.midi.learning is not None:
        console.midi.toggle_learn()
    elif console.show_help:
        console.show_help = False
    elif console.show_hud:
        console.show_hud = False
    elif console.show.show_soundcheck:
        console.show.show_soundcheck = False
    elif not console.kiosk:
        console.quit_requested = True


def _save_picture(console):
    from dessins_de_planche.render.export import save_picture

    save_picture(console.show.scene)  # logged with its path


def _step(by: int):
    return lambda console: console.show.deck.step(master_time(), by)


def _preset(number: int):
    return lambda console: console.show.deck.select(number - 1)


ACTIONS: dict[str, Action] = {
    "next": Action(N_("next preset (next playlist entry)"), _step(1)),
    "previous": Action(N_("previous preset"), _step(-1)),
    **{f"preset{n}": Action(N_("preset by number"), _preset(n)) for n in range(1, 10)},
    "clear": Action(N_("clear the canvas (the drawing is saved first)"), _clear),
    "undo": Action(N_("undo the last clear"), _undo),
    "freeze": Action(N_("freeze the picture"),
                     _toggle(lambda c: c.output.frozen, lambda c: c.output.toggle_freeze())),
    "blackout": Action(N_("blackout: fade to black, and back"),
                       _toggle(lambda c: c.output.blackout, lambda c: c.output.toggle_blackout())),
    "tap_tempo": Action(N_("tap tempo"), _tap_tempo),
    "dimmer_down": Action(N_("dimmer down"),
                          lambda c: c.output.set_dimmer(round(c.output.dimmer - DIMMER_STEP, 3))),
    "dimmer_up": Action(N_("dimmer up"), lambda c: c.output.set_dimmer(round(c.output.dimmer + DIMMER_STEP, 3))),
    "mirror": Action(N_("mirror the output (rear projection)"), lambda c: c.output.next_flip()),
    "rotate": Action(N_("turn the output by 90°"), _rotate),
    "hud": Action(N_("show or hide the HUD"), _hud),
    "help": Action(N_("show or hide this help"), _help, midi=False),
    "soundcheck": Action(N_("sound-check view"), _soundcheck),
    "learn": Action(N_("MIDI learn: press a key, then move a knob"), lambda c: c.midi.toggle_learn(), midi=False),
    "fullscreen": Action(N_("full screen"), _fullscreen),
    "warp": Action(N_("corner-pin setup (a projector off-axis); w again saves"), _warp),
    "save_picture": Action(N_("save the picture as a PNG (pictures folder)"), _save_picture, midi=False),
    "dismiss_errors": Action(N_("hide the preset error report"), lambda c: c.show.live.dismiss(), midi=False),
    "escape": Action(N_("close an overlay, else quit"), _escape, midi=False),
    # MIDI and OSC only: a knob's position, a cue button
    "dimmer": Action(None, lambda c, value: c.output.set_dimmer(value)),
    "cue": Action(None, _step(1)),
}
KIOSK_ESCAPE = N_("close an overlay (quit: the key chord)")


def midi_functions() -> list[str]:
    """The names a MIDI control map may use."""
    return [name for name, action in ACTIONS.items() if action.midi]


def perform(console, name: str, value=None) -> None:
    """Run one named action (from a key, a MIDI button or knob, OSC)."""
    action = ACTIONS.get(name)
    if action is None:
        log.warning("no action %r", name)
        return
    action.run(console, value) if value is not None else action.run(console)
