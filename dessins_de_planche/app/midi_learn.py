"""The MIDI control map at the console, and MIDI learn: which knob or pad runs which action.

A control the map names acts here (an action, a preset parameter, a preset by program)
and is taken out of the batch; the rest go on to the show, where the current preset's
own [controls] may use them. Learn mode: `l`, then the key of an action, then a knob —
the map is saved at once (control/midimap.py).
"""

from __future__ import annotations

import logging

import numpy as np

from dessins_de_planche.events import CONTROL_CC, CONTROL_PROGRAM
from dessins_de_planche.locale import _

log = logging.getLogger("dessins_de_planche.app")


class MidiControls:
    def __init__(self, control_map, notices):
        self.map = control_map
        self.notices = notices
        self.learning: str | None = None  # None, "key" (waiting for a key) or the action waiting for a knob

    def toggle_learn(self) -> None:
        if self.learning is not None:
            self.learning = None
            self.notices.drop("learn")
            return
        self.learning = "key"
        self.notices.say("learn", _("MIDI learn: press the key of a function (Esc: cancel)"), 3600)

    def key_pressed(self, action: str) -> bool:
        """While learning waits for a key, a key names the action to learn (True: taken)."""
        if self.learning != "key" or action in ("learn", "escape"):
            return False
        self.learning = action
        self.notices.say("learn", _("MIDI learn: now move a knob or press a pad for “{action}”").format(
            action=_(_help(action))), 3600)
        return True

    def apply(self, controls, console):
        """Act on the controls the map names (or learn one); return the others, for the show."""
        from dessins_de_planche.control.midimap import CONTINUOUS, ParameterControl

        if not len(controls):
            return controls
        keep = np.ones(len(controls), bool)
        for i, control in enumerate(controls):
            kind, number, value = int(control["type"]), int(control["number"]), int(control["value"])
            if kind == CONTROL_CC and self.learning not in (None, "key"):
                self._learned(number)
                keep[i] = False
            elif kind == CONTROL_CC and number in self.map.cc:
                keep[i] = False
                target = self.map.cc[number]
                if isinstance(target, ParameterControl):
                    low, high = target.range
                    console.show.deck.set_parameter(target.target, low + (high - low) * value / 127.0)
                elif target in CONTINUOUS:
                    console.do(target, value / 127.0)
                elif self.map.button(number, value):
                    console.do(target)
            elif kind == CONTROL_PROGRAM and number in self.map.program:
                keep[i] = False
                console.show.deck.select_name(self.map.program[number])
        return controls[keep]

    def _learned(self, number: int) -> None:
        self.map.learn(number, self.learning)
        where = f" ({self.map.path})" if self.map.path else ""
        self.notices.say("learn", _("CC {number} → {action}, saved").format(
            number=number, action=_(_help(self.learning))) + where, 4.0)
        log.info("MIDI learn: CC %d -> %s%s", number, self.learning, where)
        self.learning = None


def _help(action: str) -> str:
    from dessins_de_planche.app.actions import ACTIONS

    known = ACTIONS.get(action)
    return known.help if known is not None and known.help else action
