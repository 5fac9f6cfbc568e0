"""The deck: the one owner of the presets on stage (projectM's playlist idea).

Every change to the list of looks or to which one is current goes through here —
a key or OSC choosing one, a MIDI program change, a knob tuning the current look,
a live edit swapping in a rebuilt file, a look whose shader will not compile
dropped at start, a playlist's timing. So two of them in one frame (an edit of the
current look and a program change, say) cannot leave the list, the index and the
picture disagreeing: the scene always shows `deck.preset`.

The deck never builds anything: whoever brings a new look builds it first (see
`render/live_edit.py`) and hands the deck only what built (build, then swap). It
needs of its `scene` only `set_preset` and `tune`, and of its `rhythm` only
`bar_beats`, so it lives below the renderer and tests drive it with stand-ins.
"""

from __future__ import annotations

import logging
import os

from dessins_de_planche.preset.loader import IDLE_PRESET, PresetError, load_preset

log = logging.getLogger("dessins_de_planche.deck")


class Deck:
    def __init__(self, presets, index: int = 0, scene=None, rhythm=None):
        self._presets = list(presets) or [IDLE_PRESET]  # with nothing loaded, the idle look shows
        self.index = index % len(self._presets)
        self.scene, self.rhythm = scene, rhythm
        self.playlist = None

    @classmethod
    def starting_at(cls, presets, start: str | None) -> "Deck":
        """The library's looks, the current one named by `--preset` (a name, or a file put first)."""
        presets = list(presets)
        if not start:
            return cls(presets)
        if start.endswith(".toml") or os.sep in start:
            return cls([load_preset(start), *presets])
        names = [p.name for p in presets]
        if start not in names:
            raise PresetError(f"no preset named {start!r}; the gallery has: {', '.join(names)}")
        return cls(presets, names.index(start))

    def show_on(self, scene, rhythm=None) -> None:
        """The scene (and rhythm) that follow the current look from now on."""
        self.scene, self.rhythm = scene, rhythm

    # -- reading ----------------------------------------------------------------------------------
    @property
    def presets(self) -> tuple:
        """The looks in order; a tuple, because only the deck changes them."""
        return tuple(self._presets)

    @property
    def preset(self):
        return self._presets[self.index]

    def names(self) -> list[str]:
        return [p.name for p in self._presets]

    def __len__(self) -> int:
        return len(self._presets)

    # -- choosing ---------------------------------------------------------------------------------
    def select(self, index: int, fade: float | None = None) -> None:
        """The look at `index` (wrapped around), faded in as its preset says (or over `fade` s)."""
        index %= len(self._presets)
        if index != self.index:
            self.index = index
            self._staged(fade)
            log.info("preset: %s", self.preset.name)

    def select_name(self, name: str) -> bool:
        names = self.names()
        if name not in names:
            log.warning("no preset named %r", name)
            return False
        self.select(names.index(name))
        return True

    def follow(self, playlist, now: float) -> None:
        """From now on next/previous step through `playlist`, and its timing changes the look."""
        self.playlist = playlist
        self.select_name(playlist.start(now))

    def step(self, now: float, by: int = 1) -> None:
        """Next (or previous) look: the playlist's entry when one runs, else the next in the list."""
        if self.playlist is None:
            self.select(self.index + by)
            return
        name = self.playlist.step(now, by)
        if name:
            self.select_name(name)

    def tick(self, now: float) -> None:
        """A frame went by: a timed playlist entry may be over."""
        if self.playlist is not None:
            name = self.playlist.tick(now)
            if name:
                self.select_name(name)

    # -- changing the current look ------------------------------------------------------------------
    def control_change(self, number: int, value: int) -> None:
        """A knob or pedal: the current preset's [controls] say which number it sets."""
        tuned = self.preset.controlled(number, value)
        if tuned is None:
            log.debug("CC %d = %d: not mapped by %s", number, value, self.preset.name)
            return
        self._tune(tuned)
        target = tuned.controls[f"cc{number}"].target
        log.info("control: %s = %.3g (CC %d)", target, tuned.value(target), number)

    def set_parameter(self, target: str, value: float) -> bool:
        """One value of the current look (an OSC message, a mapped knob); a refused one changes nothing."""
        try:
            tuned = self.preset.with_value(target, value)
        except Exception as error:  # a wrong path or an out-of-range number: say it, keep the look
            log.warning("parameter %s = %g refused by %s: %s", target, value, self.preset.name, error)
            return False
        self._tune(tuned)
        return True

    def _tune(self, tuned) -> None:
        self._presets[self.index] = tuned
        if self.scene is not None:
            self.scene.tune(tuned)

    # -- live edits (already built by the caller) ---------------------------------------------------
    def put(self, preset, layers=None, previous_name: str | None = None) -> None:
        """An edited file's look, built and timed: it replaces the look of the same (or its former)
        name, or joins the deck; on stage it shows at once, tuned in place when only numbers moved."""
        names = self.names()
        if names == [IDLE_PRESET.name] and self._presets[0] is IDLE_PRESET:
            self._presets[:] = [preset]
            self.index = where = 0
        elif preset.name in names or previous_name in names:
            where = names.index(preset.name if preset.name in names else previous_name)
            self._presets[where] = preset
        else:
            self._presets.append(preset)
            where = len(self._presets) - 1
        if where != self.index or self.scene is None:
            return
        scene = self.scene
        same_kinds = [layer.kind for layer in preset.layers] == [layer.kind for layer in scene.preset.layers]
        if same_kinds and not preset.shader_files:
            scene.tune(preset)  # same layers, new numbers: the thread goes on where it is
        else:
            scene.set_preset(preset, fade=0.0, layers=layers)
        if self.rhythm is not None:
            self.rhythm.bar_beats = preset.bar_beats

    def restage(self, layers_by_name: dict) -> None:
        """Shaders were rebuilt: the current look, if among them, shows its new layers at once."""
        if self.scene is not None and self.preset.name in layers_by_name:
            self.scene.set_preset(self.preset, fade=0.0, layers=layers_by_name[self.preset.name])

    def drop(self, preset) -> None:
        """A look that cannot be drawn leaves the deck (the idle look comes if none is left); the
        current look stays current unless it is the one dropped."""
        current = self.preset
        self._presets = [p for p in self._presets if p is not preset]
        if not self._presets:
            self._presets.append(IDLE_PRESET)
        self.index = next((i for i, p in enumerate(self._presets) if p is current), 0)
        if current is preset and self.scene is not None:
            self.scene.set_preset(self.preset, fade=0.0)

    def holds(self, preset) -> bool:
        return any(p is preset for p in self._presets)

    def _staged(self, fade: float | None = None) -> None:
        if self.scene is not None:
            self.scene.set_preset(self.preset) if fade is None else self.scene.set_preset(self.preset, fade=fade)
        if self.rhythm is not None:
            self.rhythm.bar_beats = self.preset.bar_beats
