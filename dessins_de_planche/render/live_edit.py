"""Live editing on stage: a saved preset or shader shows at once; a broken one never replaces the look.

Every frame (cheaply: see `preset/watch.py`) the preset and shader folders are
polled. A changed preset file is parsed, its programs compiled and its own shaders
timed on an offscreen test frame (`render/probe.py`) *before* anything on stage
changes (build, then swap); a changed shader recompiles the programs that use it,
and puts the old ones back if the new source fails or is too slow. Errors
go to the log and to an overlay naming the file and the key path or file:line.

What builds is handed to the deck (`preset/deck.py`), the one owner of the list
of looks and of which one is on stage; this module never changes the list itself.
The app's show only calls `poll`, `draw` and `dismiss`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dessins_de_planche.paths import shaders_dir
from dessins_de_planche.preset.library import PresetLibrary
from dessins_de_planche.preset.loader import IDLE_PRESET, PresetError
from dessins_de_planche.preset.watch import FileWatcher
from dessins_de_planche.render.error_overlay import ErrorOverlay
from dessins_de_planche.render.glsl import ShaderError
from dessins_de_planche.render.probe import check_frame_time

log = logging.getLogger("dessins_de_planche.live")


class LiveEditing:
    def __init__(self, folders, text=None, shader_folders=None, interval: float = 0.1):
        self.folders = [Path(f) for f in folders]
        self.library = PresetLibrary(self.folders)
        watched = self.folders + [Path(f) for f in (shader_folders if shader_folders is not None else [shaders_dir()])]
        self.watcher = FileWatcher(watched, interval=interval)
        self.overlay = ErrorOverlay(text) if text is not None else None
        self.deck = None
        self.reloads = 0  # looks swapped in by an edit (tests and benches watch it)
        self._cold: list = []  # presets whose programs are not compiled yet (see `attach`)
        for path, error in self.library.errors.items():
            self._report(path, error)

    # -- start -------------------------------------------------------------------------------
    def presets(self) -> list:
        """The library's presets in name order, or the built-in idle look when none loads."""
        return self.library.ordered() or [IDLE_PRESET]

    def attach(self, deck, defer: bool = False) -> None:
        """Compile every preset's programs, so switching never compiles on stage; a preset whose
        shader does not compile is reported and dropped from the deck (the idle look runs if
        nothing is left).

        `defer`: compile them one per frame from `poll` instead (the look on stage first), so the
        first frame is not kept waiting; a switch before they are all ready may cost one frame."""
        self.deck = deck
        current = deck.preset
        self._cold = [current] + [preset for preset in deck.presets if preset is not current]
        if not defer:
            while self._cold:
                self.warm_next()

    def warm_next(self) -> bool:
        """Compile the next preset not yet compiled; False when none is left."""
        if not self._cold:
            return False
        deck = self.deck
        preset = self._cold.pop(0)
        if not deck.holds(preset):
            return True  # replaced by an edit meanwhile, and compiled then
        try:
            deck.scene.warm(preset)
            check_frame_time(deck.scene, preset, self._file_of(preset))
        except ShaderError as error:
            self._report(self._file_of(preset), error)
            deck.drop(preset)
        return True

    # -- per frame -----------------------------------------------------------------------------
    def poll(self, force: bool = False) -> list[tuple[str, Path]]:
        """Look for edited files; swap in what builds, report what does not. Returns what happened."""
        if self.deck is not None:
            self.warm_next()  # the gallery's remaining looks, one a frame after the first
        changed = self.watcher.poll(force)
        if not changed or self.deck is None:
            return []
        events = []
        for path in sorted(p for p in changed if p.suffix == ".toml"):
            events.append(self._preset_file(path))
        shaders = {p for p in changed if p.suffix == ".glsl"}
        if shaders:
            events.append(self._shader_files(shaders))
        return [e for e in events if e is not None]

    def draw(self, target) -> None:
        if self.overlay is not None:
            self.overlay.draw(target)

    def dismiss(self) -> bool:
        """Hide the error overlay (True if one was shown)."""
        return self.overlay.dismiss() if self.overlay is not None else False

    # -- what an edit does ------------------------------------------------------------------------
    def _preset_file(self, path: Path):
        scene = self.deck.scene
        if not path.exists():
            name = self.library.forget(path)
            log.info("preset file removed: %s (%s stays on stage until another is chosen)", path, name)
            self._resolve(path)
            return ("removed", path)
        previous_name = self.library.name_at(path)
        result = self.library.reload(path)
        if isinstance(result, PresetError):
            self._report(path, result)
            return ("error", path)
        try:
            layers = scene.build(result)
            check_frame_time(scene, result, path)  # timed offscreen before it may go on stage
        except ShaderError as error:
            self._report(path, error)
            return ("error", path)
        self._resolve(path)
        self.deck.put(result, layers, previous_name)
        self.reloads += 1
        log.info("preset reloaded: %s (%s)", result.name, path)
        return ("reloaded", path)

    def _shader_files(self, paths: set[Path]):
        deck = self.deck
        programs = deck.scene.programs
        dropped = programs.forget(paths)
        if not dropped:
            return None
        rebuilt = {}
        for preset in deck.presets:
            if not preset.shader_files:
                continue
            try:
                rebuilt[preset.name] = deck.scene.build(preset)
                check_frame_time(deck.scene, preset, sorted(paths)[0])
            except ShaderError as error:
                programs.forget(paths)  # the new source's programs, if it compiled (too slow)
                programs.restore(dropped)
                self._report(sorted(paths)[0], error)
                return ("error", sorted(paths)[0])
        for path in paths:
            self._resolve(path)
        deck.restage(rebuilt)
        self.reloads += 1
        log.info("shader reloaded: %s", ", ".join(str(p) for p in sorted(paths)))
        return ("reloaded", sorted(paths)[0])

    # -- reports -----------------------------------------------------------------------------------
    def _file_of(self, preset) -> Path:
        return self.library.file_of.get(preset.name, Path(preset.name))

    def _report(self, path, error) -> None:
        message = str(error)
        if str(path) not in message:
            message = f"{path}: {message}"
        log.error("not loaded (the running look stays): %s", message)
        if self.overlay is not None:
            self.overlay.report(str(path), message)

    def _resolve(self, path) -> None:
        if self.overlay is not None:
            self.overlay.resolve(str(path))
