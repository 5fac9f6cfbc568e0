"""The console: the performer's and the installation's controls around the show, and the
outputs the picture goes to.

The window hands it events and each frame's input batch and asks it to draw; it owns the
show (`app/show.py`) and hands the show what is left of the batch, so the window never
talks to the show. It holds the parts, each with one job elsewhere: the action table
(`actions.py`), OSC routes (`osc_routes.py`), the MIDI control map and learn
(`midi_learn.py`), the HUD's words (`hud_text.py`), the output (flip, rotate, dimmer,
blackout, freeze: `output.py`), the canvas history, recording, attract mode, the
operator screen and the health file.
"""

from __future__ import annotations

import collections
import logging
import signal
from pathlib import Path

import numpy as np

from dessins_de_planche.app import hud_text, osc_routes
from dessins_de_planche.app.actions import perform
from dessins_de_planche.clock import master_time
from dessins_de_planche.locale import _

log = logging.getLogger("dessins_de_planche.app")


class Console:
    def __init__(self, ctx, show, window, inputs, args):
        from dessins_de_planche.app.history import CanvasHistory, default_autosave_dir
        from dessins_de_planche.app.hud import Overlays
        from dessins_de_planche.app.keys import KeyTable, parse_chord
        from dessins_de_planche.app.output import Output
        from dessins_de_planche.inputs.handle import InputProcess

        self.ctx, self.show, self.window, self.inputs, self.args = ctx, show, window, inputs, args
        self.kiosk = bool(getattr(args, "kiosk", False))
        self.output = Output(ctx, window.size, flip=getattr(args, "flip", "none"),
                             rotate=getattr(args, "rotate", 0), dimmer=getattr(args, "dimmer", 1.0))
        self.corner_pin = self._corner_pin(args)
        self.picture_out = self._picture_out(args, window.size)  # the projected picture, live: a file, a camera
        self.operator = None
        if getattr(args, "operator", False) and not self.kiosk:  # a kiosk keeps one window
            from dessins_de_planche.app.operator import OperatorLink

            self.operator = OperatorLink(ctx, display=getattr(args, "operator_display", 0) or 0,
                                         lang=getattr(args, "lang", None), preset_folders=show.live.folders)
            show.overlays = False  # the projector shows the drawing only; the rest goes to the operator
        self.fit_show()
        self.keys = KeyTable()
        self.chord = parse_chord(getattr(args, "quit_chord", None) or "ctrl+alt+q")
        self.overlays = Overlays(ctx)
        self.show_hud = bool(getattr(args, "hud", False))
        self.show_help = False
        autosave = None if getattr(args, "no_autosave", False) else (
            getattr(args, "autosave_dir", None) or default_autosave_dir())
        self.history = CanvasHistory(ctx, autosave)
        self.taps_since_clear = 0
        self.zone_names = list(getattr(inputs, "zone_names", ()) or ())
        self.quit_requested = False
        self.notices = hud_text.Notices()
        self._tap_times: collections.deque = collections.deque(maxlen=256)
        self._frame_times: collections.deque = collections.deque(maxlen=120)
        self.epoch = master_time()
        self._setup_control(args)
        if not isinstance(inputs, InputProcess):  # a session or OSC: not the demo, whatever the spec says
            show.notice = ()
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "quit_requested", True))
        if self.kiosk or getattr(args, "hide_cursor", False):
            import pygame

            pygame.mouse.set_visible(False)

    # -- parts ---------------------------------------------------------------------------
    def _picture_out(self, args, size) -> list:
        from dessins_de_planche.app import video_record

        taps = []
        if getattr(args, "record_video", None):
            taps.append(video_record.video_recorder(self.ctx, args.record_video, size))
        if getattr(args, "virtual_camera", False):
            try:
                taps.append(video_record.virtual_camera(self.ctx, size))
            except video_record.VirtualCameraUnavailable as error:
                if not self.kiosk:
                    raise
                log.error("%s; the show goes on without it", error)
        return taps

    def _corner_pin(self, args):
        """The warp of `--warp FILE`, else of this display's own file (if either exists yet)."""
        from dessins_de_planche.app import warp as warps
        from dessins_de_planche.app.corner_pin import CornerPinSetup

        path = Path(getattr(args, "warp", None) or warps.default_path(getattr(args, "display", 0) or 0))
        if path.exists():
            try:
                self.output.set_warp(warps.load(path))
            except warps.WarpError as error:
                if not self.kiosk:
                    raise
                log.error("%s; showing the picture unwarped", error)  # an installation keeps drawing
        return CornerPinSetup(self.output, path)

    def _setup_control(self, args) -> None:
        from dessins_de_planche.app.actions import TapTempo, midi_functions
        from dessins_de_planche.app.attract import Attract
        from dessins_de_planche.app.midi_learn import MidiControls
        from dessins_de_planche.control import midimap, playlist
        from dessins_de_planche.control.osc import OscIn, OscOut, parse_address

        now = master_time()
        self.tap_tempo = TapTempo()
        path = getattr(args, "midi_control", None) or midimap.default_path()
        self.midi = MidiControls(midimap.load(path, midi_functions()), self.notices)
        names = self.show.deck.names()
        if getattr(args, "playlist", None):
            self.show.deck.follow(playlist.load(args.playlist, names), now)
        elif getattr(args, "rotate_presets", None):
            self.show.deck.follow(playlist.rotation(names, args.rotate_presets), now)
        listen = getattr(args, "listen_osc", False)
        osc_in = getattr(args, "osc_in", None) or (listen and "7400")
        self.osc_in = OscIn(*parse_address(osc_in)) if osc_in else None
        self.osc_taps = osc_routes.OscTaps(bool(listen), self.zone_names)
        self.osc_complaints = osc_routes.Complaints()
        targets = [parse_address(t) for t in (getattr(args, "osc_send", None) or [])]
        self.osc_out = OscOut(targets) if targets else None
        self.rhythm_out = osc_routes.RhythmSender(self.osc_out) if self.osc_out is not None else None
        self.recorder = None
        if getattr(args, "record", None):
            from dessins_de_planche.record.session import SessionWriter

            start = getattr(self.inputs, "session_start", None) or now
            self.recorder = SessionWriter(args.record, self.zone_names, start, self.show.preset.name)
        attract_minutes = getattr(args, "attract_after", None)
        if attract_minutes is None and self.kiosk:
            attract_minutes = 3.0
        self.attract = Attract(attract_minutes * 60.0 if attract_minutes is not None else None)
        self.health = None
        if getattr(args, "health_file", None):
            from dessins_de_planche.app.health import HealthFile

            self.health = HealthFile(args.health_file)

    def fit_show(self) -> None:
        """The show draws at the output's picture size (a turned or scaled output changes it)."""
        size = self.output.picture_size
        if tuple(self.show.size) != size:
            self.show.size = size
            self.show.scene.resize(size)

    def do(self, action: str, value=None) -> None:
        """Run one named action (from a key, a MIDI button, OSC): see `actions.py`."""
        perform(self, action, value)

    # -- events ----------------------------------------------------------------------------
    def handle(self, event) -> bool:
        """Act on a pygame event if it is ours (True), else leave it to the window (False)."""
        import pygame

        from dessins_de_planche.app.keys import chord_pressed

        if event.type == pygame.QUIT:
            if not self.kiosk:  # in kiosk mode only the chord or a signal ends the show
                self.quit_requested = True
            return True
        if self.corner_pin.active and self.corner_pin.handle(event):
            return True
        if event.type != pygame.KEYDOWN:
            return False
        if chord_pressed(event, self.chord):
            log.info("quit: the key chord %s", self.chord)
            self.quit_requested = True
            return True
        action = self.keys.action_for(event)
        if action is None:
            return False
        if not self.midi.key_pressed(action):  # MIDI learn takes the key that names an action
            self.do(action)
        return True

    def resize(self, size) -> None:
        self.output.resize(size)
        self.fit_show()

    # -- input, per frame ----------------------------------------------------------------------
    def take(self, batch):
        """One frame's input: add taps from OSC and attract mode, act on mapped controls, record
        and send; hand the rest to the show, and return what it was given."""
        now = master_time()
        if self.osc_in is not None:
            osc_routes.route(self, self.osc_in.drain(), now)
        taps = batch.taps
        extra = self.osc_taps.take()
        if extra:
            taps = np.concatenate([taps, *extra]) if len(taps) else np.concatenate(extra)
        controls = self.midi.apply(batch.controls, self)
        firsts = int((taps["refine"] == 0).sum()) if len(taps) else 0
        if firsts:
            self._tap_times.extend([now] * firsts)
            self.taps_since_clear += firsts
        if self.recorder is not None:
            self.recorder.add_taps(taps)
            self.recorder.add_controls(batch.controls)
        if self.osc_out is not None and len(taps):
            osc_routes.send_taps(self.osc_out, taps, self.zone_names, self.epoch)
        status = self.inputs.status
        waiting = getattr(status, "audio_state", "") == "waiting for device" or getattr(status, "midi_state", "") == "waiting"
        attract_taps, took_over = self.attract.update(now, firsts, waiting)
        if took_over:
            log.info("attract mode: a real tap takes over")
            self.show.scene.clear()
            self.show.rhythm.reset()
            self.taps_since_clear = firsts
        if len(attract_taps):
            taps = np.concatenate([taps, attract_taps]) if len(taps) else attract_taps
        if self.output.frozen:
            taps = taps[:0]
        self.show.deck.tick(now)
        if self.rhythm_out is not None:
            self.rhythm_out.send(self.show, now)
        batch = batch._replace(taps=taps, controls=controls)
        self.show.take(batch)
        return batch

    # -- frames --------------------------------------------------------------------------------
    def draw(self, now: float, status) -> None:
        ctx = self.ctx
        if self.operator is not None:
            self._operator_keys()
        target = self.output.picture_target(now, ctx.screen)
        if target is not None:  # None: a frozen picture is held
            self.show.draw(now, target, status)
        self.output.show_picture(ctx.screen)
        for out in self.picture_out:  # what the audience sees, before the performer's overlays
            out.capture(ctx.screen, now)
        screen = ctx.screen
        screen.use()
        ctx.viewport = (0, 0, *self.output.window_size)
        if self.corner_pin.active:
            self.corner_pin.draw(ctx, screen)
        if self.operator is not None:
            self.operator.publish(now, hud_text.operator_state(self, now, status), screen, self.output.window_size)
            ctx.viewport = (0, 0, *self.output.window_size)
        else:
            if self.show_hud:
                self.overlays.hud(screen, hud_text.hud_lines(self, now, status), hud_text.meters(self, now))
            notices = hud_text.notice_lines(self, now, status)
            if notices:
                self.overlays.notices(screen, notices)
            if self.show_help:
                self.overlays.help(screen, hud_text.help_rows(self), _("Keys"))
        self._frame_times.append(now)
        if self.health is not None:
            self.health.frame(lambda: hud_text.health_state(self, status))

    def _operator_keys(self) -> None:
        """Keys pressed on the operator screen go through the same key table as the projector's."""
        import pygame

        for key, mod, typed in self.operator.keys():
            self.handle(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=typed))

    def fps(self) -> float:
        times = self._frame_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def taps_per_second(self, now: float, window: float = 2.0) -> float:
        return sum(1 for t in self._tap_times if now - t <= window) / window

    def close(self) -> None:
        for part in (self.osc_in, self.osc_out, self.recorder, *self.picture_out, self.operator, self.health):
            if part is not None:
                try:
                    part.close()
                except Exception as error:  # closing must not hide why we stop
                    log.warning("closing %s: %s", type(part).__name__, error)
        self.history.release()
