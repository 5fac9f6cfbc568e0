"""The show: what is on stage and draws the picture — the deck of looks, the scene, the
rhythm, live editing, and the tallies of what the inputs heard (levels, taps).

It takes one frame's input batch (already routed by the console: OSC taps added, mapped
controls taken out) and draws the picture into a target; it knows nothing of keys,
windows or outputs, so benches and tests drive it offscreen.
"""

from __future__ import annotations

import logging

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import CONTROL_CC, CONTROL_PROGRAM, RECORD_FIRST, RECORD_WITHDRAW, TapSettler
from dessins_de_planche.locale import _

log = logging.getLogger("dessins_de_planche.app")

DEMO_NOTICE = (
    "Demo input: no board or mic chosen.",
    "List inputs with `dessins-de-planche devices`, then run with --audio-device NAME or --midi-port NAME.",
)


class Show:
    """The picture and what feeds it: the deck, the scene, the rhythm, the input tallies."""

    def __init__(self, ctx, size, spec: InputSpec, start_preset: str | None, soundcheck: bool,
                 preset_dirs=(), fade: float = 1.0):
        from dessins_de_planche.listen.tempo import TempoTracker
        from dessins_de_planche.preset.deck import Deck
        from dessins_de_planche.preset.library import preset_folders
        from dessins_de_planche.render.live_edit import LiveEditing
        from dessins_de_planche.render.scene import Scene
        from dessins_de_planche.render.soundcheck import SoundCheck
        from dessins_de_planche.render.text import TextOverlay

        self.ctx = ctx
        self.size = size
        self.text = TextOverlay(ctx)
        self.live = LiveEditing(preset_folders(preset_dirs), self.text)  # gallery, user folder, --presets
        self.deck = Deck.starting_at(self.live.presets(), start_preset)  # the one owner of the looks
        self.rhythm = TempoTracker(bar_beats=self.preset.bar_beats)
        self.scene = Scene(ctx, self.preset, size)
        self.scene.default_fade = fade  # a preset's own `fade` wins; 0 is a hard cut
        self.deck.show_on(self.scene, self.rhythm)
        self.live.attach(self.deck, defer=True)  # this look now, the others one a frame: the first frame comes sooner
        self.soundcheck = SoundCheck(ctx)
        self.show_soundcheck = soundcheck
        self.spec = spec
        self.notice = tuple(_(line) for line in DEMO_NOTICE) if spec.is_demo else ()
        self.overlays = True  # notices, preset errors and the sound check drawn on the picture
        self.levels = {}
        self.last_tap = {}
        self.taps_seen = 0  # taps that stood: first emissions less the ones the detector withdrew
        self.taps_withdrawn = 0
        self.settler = TapSettler()  # the tempo hears a tap once it stands (never one the detector withdrew)
        log.info("preset: %s", self.preset.name)

    @property
    def preset(self):
        return self.deck.preset

    def take(self, batch) -> None:
        """Hand one frame's worth of input records to the rhythm and the scene."""
        taps = batch.taps
        for tap in self.settler.settle(taps, master_time()):
            self.rhythm.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
        if len(taps):
            for tap in taps[taps["refine"] == RECORD_FIRST]:  # the sound check's lights: at once
                self.last_tap[int(tap["channel"]), int(tap["source"])] = float(tap["time"])
            withdrawn = int((taps["refine"] == RECORD_WITHDRAW).sum())
            self.taps_seen += int((taps["refine"] == RECORD_FIRST).sum()) - withdrawn
            self.taps_withdrawn += withdrawn
            self.scene.add_taps(taps, self.rhythm)
        features = batch.features
        if len(features):
            for channel in np.unique(features["channel"]):
                mine = features[features["channel"] == channel]
                self.levels[int(channel)] = (float(mine["level"].max()), float(mine["peak"].max()))
            self.scene.set_levels(float(features["level"].mean()), float(features["brightness"].mean()))
        for control in batch.controls:
            if control["type"] == CONTROL_PROGRAM:
                self.deck.select(int(control["number"]))
            elif control["type"] == CONTROL_CC:
                self.deck.control_change(int(control["number"]), int(control["value"]))

    def draw(self, now: float, screen, status) -> None:
        self.live.poll()  # an edited preset or shader shows from this frame on
        self.scene.render(now, screen)
        if not self.overlays:  # an operator screen shows the rest
            return
        self.live.draw(screen)
        width, height = self.size
        lines = list(self.notice)
        if status is not None and getattr(status, "audio_state", "") == "waiting for device":
            lines.append(_("Waiting for {device}…").format(device=status.device_name or _("the audio device")))
        if lines:
            self.text.draw(lines, screen, position=(16, height - 16 - 22 * len(lines)), size_px=18,
                           color=(0.85, 0.85, 0.85, 0.9))
        if self.show_soundcheck:
            channels = sorted(self.levels)
            levels = np.array([self.levels[c][0] for c in channels], np.float32)
            lights = np.array([now - self.last_tap.get((c, 0), -1e9) for c in channels], np.float32)
            from dessins_de_planche.render.soundcheck import zone_lines

            self.soundcheck.draw(screen, channels, levels, lights, zones=zone_lines(status))

