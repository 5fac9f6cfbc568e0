"""The performer's and the installation's layer around the show.

The window loop hands this object its events, its input batches and its frames;
it answers with actions from one registry — the same names serve keys, MIDI
buttons, MIDI learn and OSC — and owns the parts that each do one job: the
output (flip, rotate, dimmer, blackout, freeze), the HUD and help, the canvas
history (undo, auto-save), OSC, the MIDI control map, playlists, recording,
attract mode and the health file.
"""

from __future__ import annotations

import collections
import logging
import signal
from pathlib import Path

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.control.osc import integer, number, text
from dessins_de_planche.events import (CONTROL_CC, CONTROL_PROGRAM, KIND_NAMES, RECORD_WITHDRAW, SOURCE_NAMES,
                                       TAP_DTYPE, ZONE_UNCHANGED, tap_id_space)
from dessins_de_planche.locale import N_, _

log = logging.getLogger("dessins_de_planche.app")

ACTIONS = {  # name -> what it does, as the help overlay says it
    "next": N_("next preset (next playlist entry)"),
    "previous": N_("previous preset"),
    **{f"preset{n}": N_("preset by number") for n in range(1, 10)},
    "clear": N_("clear the canvas (the drawing is saved first)"),
    "undo": N_("undo the last clear"),
    "freeze": N_("freeze the picture"),
    "blackout": N_("blackout: fade to black, and back"),
    "tap_tempo": N_("tap tempo"),
    "dimmer_down": N_("dimmer down"),
    "dimmer_up": N_("dimmer up"),
    "mirror": N_("mirror the output (rear projection)"),
    "rotate": N_("turn the output by 90°"),
    "hud": N_("show or hide the HUD"),
    "help": N_("show or hide this help"),
    "soundcheck": N_("sound-check view"),
    "learn": N_("MIDI learn: press a key, then move a knob"),
    "fullscreen": N_("full screen"),
    "warp": N_("corner-pin setup (a projector off-axis); w again saves"),
    "escape": N_("close an overlay, else quit"),
}
KIOSK_ESCAPE = N_("close an overlay (quit: the key chord)")
DIMMER_STEP = 0.1
TAP_TEMPO_RESET_S = 2.0
MAX_ZONES = ZONE_UNCHANGED  # zone indices 0..254 fit a tap record; 255 means "unchanged"
OSC_COMPLAINT_S = 10.0  # a refused OSC message is logged once per address in this long
NOTICE_SECONDS = 6.0


def osc_tap_id(remote: int) -> int:
    """A tap id another instance sent, folded into OSC's own range (events.TAP_ID_SPACES)."""
    first, span, _ = tap_id_space("osc")
    return first + int(remote) % span


class Stage:
    def __init__(self, ctx, show, window, inputs, args):
        from dessins_de_planche.app.history import CanvasHistory, default_autosave_dir
        from dessins_de_planche.app.hud import Overlays
        from dessins_de_planche.app.keys import KeyTable, parse_chord
        from dessins_de_planche.app.output import Output

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
        self._fit_show()
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
        self.learning: str | None = None  # None, "key" (waiting for a key) or the action waiting for a knob
        self._notices: dict[str, tuple[str, float]] = {}
        self._tap_times: collections.deque = collections.deque(maxlen=256)
        self._frame_times: collections.deque = collections.deque(maxlen=120)
        self._tempo_presses: list[float] = []
        self._last_beat = None
        self._last_tempo_sent = 0.0
        self._last_preset = None
        self.epoch = master_time()
        self._extra_taps: list = []
        self._osc_complaints: dict[str, list] = {}  # address -> [last logged, refused since]
        self._extra_keys: dict = {}
        self._setup_control(args)
        if type(inputs).__name__ != "InputProcess":  # a session or OSC: not the demo, whatever the spec says
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
        from dessins_de_planche.app.attract import Attract
        from dessins_de_planche.control import midimap, playlist
        from dessins_de_planche.control.osc import OscIn, OscOut, parse_address

        now = master_time()
        functions = [name for name in ACTIONS if name not in ("escape", "learn", "help")] + ["dimmer", "cue"]
        path = getattr(args, "midi_control", None) or midimap.default_path()
        self.midi = midimap.load(path, functions)
        names = self.show.deck.names()
        if getattr(args, "playlist", None):
            self.show.deck.follow(playlist.load(args.playlist, names), now)
        elif getattr(args, "rotate_presets", None):
            self.show.deck.follow(playlist.rotation(names, args.rotate_presets), now)
        listen = getattr(args, "listen_osc", False)
        osc_in = getattr(args, "osc_in", None) or (listen and "7400")
        self.listen_osc = bool(listen)
        self.osc_in = OscIn(*parse_address(osc_in)) if osc_in else None
        targets = [parse_address(t) for t in (getattr(args, "osc_send", None) or [])]
        self.osc_out = OscOut(targets) if targets else None
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

    def adopt_keys(self, actions: dict) -> None:
        """Keys the window binds itself (pygame key -> function) and the table does not: kept, and listed."""
        import pygame

        for key, function in actions.items():
            name = pygame.key.name(key).lower()
            if name not in self.keys:
                action = f"extra:{name}"
                self.keys.bind(name, action)
                doc = (getattr(function, "__doc__", None) or getattr(function, "__name__", name)).strip()
                self._extra_keys[action] = (function, doc.splitlines()[0])

    def _fit_show(self) -> None:
        size = self.output.picture_size
        if tuple(self.show.size) != size:
            self.show.size = size
            self.show.scene.resize(size)

    def notice(self, key: str, text: str, seconds: float = NOTICE_SECONDS) -> None:
        self._notices[key] = (text, master_time() + seconds)

    # -- actions ---------------------------------------------------------------------------
    def do(self, action: str, value=None) -> None:
        """Run one named action (from a key, a MIDI button, OSC)."""
        if action.startswith("preset") and action[6:].isdigit():
            self.show.deck.select(int(action[6:]) - 1)
            return
        if action in self._extra_keys:
            self._extra_keys[action][0]()
            return
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            log.warning("no action %r", action)
            return
        handler(value) if value is not None else handler()

    def _do_next(self):
        self.show.deck.step(master_time())

    def _do_previous(self):
        self.show.deck.step(master_time(), -1)

    _do_cue = _do_next

    def _do_clear(self):
        self.history.before_clear(self.show.scene, self.show.preset.name, self.taps_since_clear > 0)
        self.show.scene.clear()
        self.taps_since_clear = 0

    def _do_undo(self):
        if not self.history.undo(self.show.scene):
            self.notice("undo", _("Nothing to undo."), 2.0)

    def _do_freeze(self, value=None):
        if value is None or bool(value) != self.output.frozen:
            self.output.toggle_freeze()

    def _do_blackout(self, value=None):
        if value is None or bool(value) != self.output.blackout:
            self.output.toggle_blackout()

    def _do_dimmer(self, value):
        self.output.set_dimmer(value)

    def _do_dimmer_down(self):
        self.output.set_dimmer(round(self.output.dimmer - DIMMER_STEP, 3))

    def _do_dimmer_up(self):
        self.output.set_dimmer(round(self.output.dimmer + DIMMER_STEP, 3))

    def _do_mirror(self):
        self.output.next_flip()

    def _do_rotate(self):
        self.output.next_rotation()
        self._fit_show()

    def _do_tap_tempo(self):
        now = master_time()
        presses = [t for t in self._tempo_presses if now - t < TAP_TEMPO_RESET_S] + [now]
        self._tempo_presses = presses[-6:]
        if len(presses) >= 2:
            bpm = 60.0 / float(np.median(np.diff(self._tempo_presses)))
            if 30.0 <= bpm <= 300.0:
                self.show.rhythm.set_tempo(bpm, now)
                self.notice("tempo", _("Tempo: {bpm:.0f} BPM").format(bpm=bpm), 2.0)

    def _do_hud(self, value=None):
        self.show_hud = (not self.show_hud) if value is None else bool(value)

    def _do_help(self):
        self.show_help = not self.show_help

    def _do_soundcheck(self):
        self.show.show_soundcheck = not self.show.show_soundcheck

    def _do_fullscreen(self):
        if not self.kiosk:
            self.window.toggle_fullscreen()

    def _do_warp(self):
        said = self.corner_pin.toggle()
        if said:
            self.notice("warp", said, 4.0)

    def _do_learn(self):
        if self.learning is not None:
            self.learning = None
            self._notices.pop("learn", None)
            return
        self.learning = "key"
        self.notice("learn", _("MIDI learn: press the key of a function (Esc: cancel)"), 3600)

    def _do_escape(self):
        if self.corner_pin.active:
            self._do_warp()
        elif self.learning is not None:
            self._do_learn()
        elif self.show_help:
            self.show_help = False
        elif self.show_hud:
            self.show_hud = False
        elif self.show.show_soundcheck:
            self.show.show_soundcheck = False
        elif not self.kiosk:
            self.quit_requested = True

    # -- events ----------------------------------------------------------------------------
    def handle(self, event) -> bool:
        """Take a pygame event if it is ours (True) or leave it to the window (False)."""
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
        if self.learning == "key" and action not in ("learn", "escape"):
            self.learning = action
            self.notice("learn", _("MIDI learn: now move a knob or press a pad for “{action}”").format(
                action=_(ACTIONS.get(action, action))), 3600)
            return True
        self.do(action)
        return True

    def resize(self, size) -> None:
        self.output.resize(size)
        self._fit_show()

    # -- input, per frame ----------------------------------------------------------------------
    def take(self, batch):
        """Add taps from OSC and attract mode, act on mapped controls, record and send; return
        what the show should draw."""
        now = master_time()
        if self.osc_in is not None:
            self._route_osc(self.osc_in.drain(), now)
        taps = batch.taps
        if self._extra_taps:
            taps = np.concatenate([taps, *self._extra_taps]) if len(taps) else np.concatenate(self._extra_taps)
            self._extra_taps = []
        controls = self._apply_controls(batch.controls)
        firsts = int((taps["refine"] == 0).sum()) if len(taps) else 0
        if firsts:
            self._tap_times.extend([now] * firsts)
            self.taps_since_clear += firsts
        if self.recorder is not None:
            self.recorder.add_taps(taps)
            self.recorder.add_controls(batch.controls)
        if self.osc_out is not None and len(taps):
            self._send_taps(taps)
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
        self._send_rhythm(now)
        return batch._replace(taps=taps, controls=controls)

    def _apply_controls(self, controls):
        """MIDI controls the control map names act here; the rest go on to the show."""
        from dessins_de_planche.control.midimap import CONTINUOUS, ParameterControl

        if not len(controls):
            return controls
        keep = np.ones(len(controls), bool)
        for i, control in enumerate(controls):
            kind, number, value = int(control["type"]), int(control["number"]), int(control["value"])
            if kind == CONTROL_CC and self.learning not in (None, "key"):
                self.midi.learn(number, self.learning)
                where = f" ({self.midi.path})" if self.midi.path else ""
                self.notice("learn", _("CC {number} → {action}, saved").format(
                    number=number, action=_(ACTIONS.get(self.learning, self.learning))) + where, 4.0)
                log.info("MIDI learn: CC %d -> %s%s", number, self.learning, where)
                self.learning = None
                keep[i] = False
            elif kind == CONTROL_CC and number in self.midi.cc:
                keep[i] = False
                target = self.midi.cc[number]
                if isinstance(target, ParameterControl):
                    low, high = target.range
                    self.show.deck.set_parameter(target.target, low + (high - low) * value / 127.0)
                elif target in CONTINUOUS:
                    self.do(target, value / 127.0)
                elif self.midi.button(number, value):
                    self.do(target)
            elif kind == CONTROL_PROGRAM and number in self.midi.program:
                keep[i] = False
                self.show.deck.select_name(self.midi.program[number])
        return controls[keep]

    # -- OSC ---------------------------------------------------------------------------------
    def _route_osc(self, messages, now: float) -> None:
        for address, args in messages:
            route = OSC_ROUTES.get(address)
            if route is None:
                log.debug("OSC: no address %s", address)
                continue
            try:
                route(self, now, *args)
            except Exception as error:  # every message is untrusted: refused alone, the show goes on
                self._osc_refused(address, args, error)

    def _osc_refused(self, address: str, args, error: Exception) -> None:
        """Log a refused message once per address every OSC_COMPLAINT_S, with how many were refused since."""
        seen = self._osc_complaints.setdefault(address, [-OSC_COMPLAINT_S, 0])
        seen[1] += 1
        now = master_time()
        if now - seen[0] < OSC_COMPLAINT_S:
            return
        shown = repr(list(args))
        more = f" ({seen[1] - 1} more refused in the last {OSC_COMPLAINT_S:.0f} s)" if seen[1] > 1 else ""
        reason = str(error) if isinstance(error, (TypeError, ValueError)) else f"{type(error).__name__}: {error}"
        log.warning("OSC %s %s: %s (see docs/osc.md)%s", address, shown[:200], reason[:200], more)
        seen[0], seen[1] = now, 0

    def _osc_preset(self, now, which):
        if isinstance(which, str) and not which.strip().isdigit():
            self.show.deck.select_name(text(which, "preset name"))
        else:
            which = int(which) if isinstance(which, str) else which  # "3": as on the keys
            self.show.deck.select(integer(which, 1, len(self.show.deck), "preset number") - 1)

    def _osc_tempo(self, now, bpm):
        self.show.rhythm.set_tempo(number(bpm, 20.0, 400.0, "tempo (BPM)"), now)

    def _osc_tap(self, now, time, zone, kind, velocity, latency=0.0, source="audio", channel=1, tap_id=0):
        if not self.listen_osc:
            return
        number(time, -1e12, 1e12, "tap time")
        record = np.zeros(1, TAP_DTYPE)
        record["time"] = now - number(latency, 0.0, 60.0, "latency (s)")
        record["detected_at"] = now
        record["velocity"] = number(velocity, 0.0, 1.0, "velocity")
        record["kind"] = KIND_NAMES.index(kind) if kind in KIND_NAMES else 0
        record["source"] = SOURCE_NAMES.index(source) if source in SOURCE_NAMES else 0
        record["channel"] = integer(channel, 0, np.iinfo(TAP_DTYPE["channel"]).max, "channel")
        record["tap_id"] = osc_tap_id(integer(tap_id, 0, 2**53, "tap id"))
        record["zone"] = self._zone_index(zone)  # last: a zone is added only for a tap that is taken
        self._extra_taps.append(record)

    def _zone_index(self, zone) -> int:
        """A zone another instance names, added to ours the first time it is heard (MAX_ZONES at most)."""
        zone = text(str(zone) if isinstance(zone, (int, float)) else zone, "zone name")
        if zone not in self.zone_names:
            if len(self.zone_names) >= MAX_ZONES:
                raise ValueError(f"zone {zone[:40]!r}: this show already has {MAX_ZONES} zones")
            self.zone_names.append(zone)
        return self.zone_names.index(zone)

    def _osc_refine(self, now, tap_id, kind, velocity, zone=None):
        if not self.listen_osc:
            return
        record = np.zeros(1, TAP_DTYPE)
        record["time"] = record["detected_at"] = now
        record["tap_id"] = osc_tap_id(integer(tap_id, 0, 2**53, "tap id"))
        record["kind"] = KIND_NAMES.index(kind) if kind in KIND_NAMES else 0
        record["velocity"] = number(velocity, 0.0, 1.0, "velocity")
        record["zone"] = self._zone_index(zone) if zone is not None else ZONE_UNCHANGED
        record["refine"] = 1
        self._extra_taps.append(record)

    def _osc_withdraw(self, now, tap_id):
        """Another instance's detector took a tap back: it goes from our drawing too."""
        if not self.listen_osc:
            return
        record = np.zeros(1, TAP_DTYPE)
        record["time"] = record["detected_at"] = now
        record["tap_id"] = osc_tap_id(integer(tap_id, 0, 2**53, "tap id"))
        record["zone"] = ZONE_UNCHANGED
        record["refine"] = RECORD_WITHDRAW
        self._extra_taps.append(record)

    def _send_taps(self, taps) -> None:
        names = self.zone_names
        for tap in taps:
            zone = int(tap["zone"])
            zone_name = names[zone] if zone < len(names) else str(zone)
            kind = KIND_NAMES[int(tap["kind"])]
            if tap["refine"] == RECORD_WITHDRAW:
                self.osc_out.send("/ddp/tap/withdraw", int(tap["tap_id"]))
            elif tap["refine"]:
                self.osc_out.send("/ddp/tap/refine", int(tap["tap_id"]), kind, float(tap["velocity"]), zone_name)
            else:
                self.osc_out.send("/ddp/tap", float(tap["time"]) - self.epoch, zone_name, kind,
                                  float(tap["velocity"]), float(tap["detected_at"] - tap["time"]),
                                  SOURCE_NAMES[int(tap["source"])], int(tap["channel"]), int(tap["tap_id"]))

    def _send_rhythm(self, now: float) -> None:
        if self.osc_out is None:
            return
        show = self.show
        if show.preset.name != self._last_preset:
            self._last_preset = show.preset.name
            self.osc_out.send("/ddp/preset", show.deck.index + 1, show.preset.name)
        rhythm = show.rhythm
        bpm = getattr(rhythm, "bpm", None)
        if not bpm:
            return
        beat = rhythm.beat_number(now)
        if self._last_beat is None or beat != self._last_beat:
            if self._last_beat is not None and beat > self._last_beat:
                bar_beat = int((rhythm.bar_phase(now) * rhythm.bar_beats)) + 1
                self.osc_out.send("/ddp/beat", int(beat), float(bpm), bar_beat)
            self._last_beat = beat
        if now - self._last_tempo_sent >= 1.0:
            self._last_tempo_sent = now
            self.osc_out.send("/ddp/tempo", float(bpm))

    # -- frames --------------------------------------------------------------------------------
    def draw(self, now: float, status) -> None:
        ctx = self.ctx
        if self.operator is not None:
            self._operator_keys()
        self.output.present(now, lambda target: self.show.draw(now, target, status), ctx.screen)
        for out in self.picture_out:  # what the audience sees, before the performer's overlays
            out.capture(ctx.screen, now)
        screen = ctx.screen
        screen.use()
        ctx.viewport = (0, 0, *self.output.window_size)
        if self.corner_pin.active:
            self.corner_pin.draw(ctx, screen)
        if self.operator is not None:
            self.operator.publish(now, self.operator_state(now, status), screen, self.output.window_size)
            ctx.viewport = (0, 0, *self.output.window_size)
            self._frame_times.append(now)
            if self.health is not None:
                self.health.frame(lambda: self.health_state(status))
            return
        if self.show_hud:
            self.overlays.hud(screen, self.hud_lines(now, status), self.meters(now))
        notices = self.notice_lines(now, status)
        if notices:
            self.overlays.notices(screen, notices)
        if self.show_help:
            self.overlays.help(screen, self.help_rows(), _("Keys"))
        self._frame_times.append(now)
        if self.health is not None:
            self.health.frame(lambda: self.health_state(status))

    def operator_state(self, now: float, status) -> dict:
        """What the operator screen shows (a plain value: it crosses to the operator's process)."""
        show = self.show
        errors = show.live.overlay.lines() if show.live.overlay is not None and show.live.overlay.visible else []
        return {"hud": self.hud_lines(now, status), "notices": list(show.notice) + self.notice_lines(now, status),
                "presets": show.deck.names(), "current": show.deck.index,
                "meters": [[name, float(level), float(since)] for name, level, since in self.meters(now)],
                "errors": errors}

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

    def hud_lines(self, now: float, status) -> list[str]:
        show, out = self.show, self.output
        deck = show.deck
        lines = [f"{show.preset.name}  ({deck.index + 1}/{len(deck)})"]
        if deck.playlist is not None:
            left = deck.playlist.remaining(now)
            entry = _("playlist {n}/{total}").format(n=deck.playlist.position + 1, total=len(deck.playlist.entries))
            lines[0] += f"  · {entry}" + (f"  {int(left // 60)}:{int(left % 60):02d}" if left is not None else
                                         "  " + _("on cue"))
        from dessins_de_planche.app.hud import format_pattern

        bpm = getattr(show.rhythm, "bpm", None)
        tempo = f"{bpm:.0f} BPM" if bpm else "–"
        lines.append(_("Tempo: {tempo}   Pattern: {pattern}").format(
            tempo=tempo, pattern=format_pattern(getattr(show.rhythm, "pattern", None))))
        lines.append(_("Taps/s: {rate:.1f}   taps: {count}").format(rate=self.taps_per_second(now),
                                                                    count=show.taps_seen))
        if show.taps_withdrawn:  # the detector took these back: not feet (a piano's attack, a clap)
            lines[-1] += "   " + _("withdrawn: {count}").format(count=show.taps_withdrawn)
        dropped = sum(getattr(status, "dropped", {}).values()) if status is not None else 0
        late = getattr(status, "lateness_ms", (0.0, 0.0, 0.0))
        lines.append(_("FPS: {fps:.0f}   dropped: {dropped}   overflows: {overflows}").format(
            fps=self.fps(), dropped=dropped, overflows=getattr(status, "overflows", 0)))
        lines[-1] += "   " + _("render scale: {scale:.2f}").format(scale=out.render_scale)  # app/governor.py
        lines.append(_("Callback lateness: {median:.1f} / {p99:.1f} / {max:.1f} ms").format(
            median=late[0], p99=late[1], max=late[2]))
        if status is not None:
            audio = _(status.audio_state) + (f" ({status.device_name})" if status.device_name else "")
            lines.append(_("Audio: {audio}   MIDI: {midi}").format(audio=audio, midi=_(status.midi_state)))
            from dessins_de_planche.render.soundcheck import board_summary

            board = board_summary(status)  # a sensor board: what it heard, what was taken for bleed or weight
            if board:
                lines.append(board)
        flags = [_("mirror: {flip}").format(flip=_(out.flip)), _("turn: {deg}°").format(deg=out.rotate),
                 _("dimmer: {pct:.0f}%").format(pct=out.dimmer * 100)]
        if out.frozen:
            flags.append(_("FROZEN"))
        if out.blackout:
            flags.append(_("BLACKOUT"))
        lines.append("   ".join(flags))
        extras = []
        if self.osc_in is not None:
            extras.append(_("OSC in {host}:{port}").format(host=self.osc_in.address[0], port=self.osc_in.address[1]))
        if self.osc_out is not None:
            extras.append(_("OSC out: {count}").format(count=len(self.osc_out.targets)))
        if self.recorder is not None:
            extras.append(_("recording: {lines} events").format(lines=self.recorder.lines) if self.recorder.active
                          else _("recording stopped"))
        if self.attract.active:
            extras.append(_("attract mode"))
        if extras:
            lines.append("   ".join(extras))
        return lines

    def meters(self, now: float):
        show = self.show
        return [(str(c), show.levels[c][0], now - show.last_tap.get((c, 0), -1e9)) for c in sorted(show.levels)]

    def notice_lines(self, now: float, status) -> list[str]:
        lines = [self.corner_pin.notice()] if self.corner_pin.active else []
        for key, (text, until) in list(self._notices.items()):
            if now > until:
                del self._notices[key]
            else:
                lines.append(text)
        if status is not None:
            if status.audio_state == "waiting for device" and status.restarts:
                lines.append(_("Audio input lost: reconnecting…"))
            if status.midi_state == "waiting":
                lines.append(_("MIDI port lost: reconnecting…") if status.midi_port else _("Waiting for the MIDI port…"))
            elif not status.running and status.restarts:
                lines.append(_("Input restarting…"))
            if status.stalls and now - status.stalled_at < NOTICE_SECONDS:
                lines.append(_("The input stopped answering: restarted"))
        if self.recorder is not None and self.recorder.error:
            lines.append(_("Recording stopped (see the log); the show goes on."))
        return lines

    def help_rows(self) -> list[tuple[str, str]]:
        from dessins_de_planche.app.keys import key_label

        rows, seen = [], set()
        for key, action in self.keys.bindings:
            if action in seen:
                continue
            seen.add(action)
            if action.startswith("preset"):
                if action != "preset1":
                    continue
                keys = "1–9"
            else:
                keys = " / ".join(key_label(k) for k in self.keys.keys_for(action))
            if action in self._extra_keys:
                text = _(self._extra_keys[action][1])  # the window's own keys: their docstring, translated
            elif action == "escape" and self.kiosk:
                text = _(KIOSK_ESCAPE)
            else:
                text = _(ACTIONS[action])
            rows.append((keys, text))
        rows.append((str(self.chord), _("quit")))
        return rows

    def health_state(self, status) -> dict:
        state = {"preset": self.show.preset.name, "fps": round(self.fps(), 1), "taps": self.show.taps_seen,
                 "render_scale": self.output.render_scale,
                 "withdrawn": self.show.taps_withdrawn,
                 "attract": self.attract.active, "kiosk": self.kiosk,
                 "notices": self.notice_lines(master_time(), status),
                 "output": {"flip": self.output.flip, "rotate": self.output.rotate, "dimmer": self.output.dimmer,
                            "blackout": self.output.blackout, "frozen": self.output.frozen,
                            "warp": None if self.output.warp is None else {
                                name: list(getattr(self.output.warp, name)) for name in self.output.warp.CORNER_NAMES}}}
        if status is not None:
            state["input"] = {"audio": status.audio_state, "device": status.device_name, "midi": status.midi_state,
                              "running": status.running, "restarts": status.restarts, "stalls": status.stalls,
                              "last_error": status.last_error, "overflows": status.overflows}
        if self.recorder is not None:
            state["recording"] = {"active": self.recorder.active, "error": self.recorder.error}
        if self.picture_out:
            state["picture_out"] = [{"to": str(out.sink), "frames": out.frames, "dropped": out.dropped,
                                     "skipped": out.skipped, "error": out.error} for out in self.picture_out]
        return state

    def close(self) -> None:
        for part in (self.osc_in, self.osc_out, self.recorder, *self.picture_out, self.operator, self.health):
            if part is not None:
                try:
                    part.close()
                except Exception as error:  # closing must not hide why we stop
                    log.warning("closing %s: %s", type(part).__name__, error)
        self.history.release()


OSC_ROUTES = {
    "/ddp/preset/select": Stage._osc_preset,
    "/ddp/preset/next": lambda stage, now: stage.do("next"),
    "/ddp/preset/previous": lambda stage, now: stage.do("previous"),
    "/ddp/cue": lambda stage, now: stage.do("cue"),
    "/ddp/param": lambda stage, now, target, value: stage.show.deck.set_parameter(
        text(target, "parameter path"), number(value, -1e9, 1e9, "parameter value")),
    "/ddp/clear": lambda stage, now, *_: stage.do("clear"),
    "/ddp/undo": lambda stage, now, *_: stage.do("undo"),
    "/ddp/blackout": lambda stage, now, *on: stage.do("blackout", bool(on[0]) if on else None),
    "/ddp/freeze": lambda stage, now, *on: stage.do("freeze", bool(on[0]) if on else None),
    "/ddp/hud": lambda stage, now, *on: stage.do("hud", bool(on[0]) if on else None),
    "/ddp/dimmer": lambda stage, now, value: stage.do("dimmer", number(value, 0.0, 1.0, "dimmer")),
    "/ddp/tempo": Stage._osc_tempo,
    "/ddp/tap": Stage._osc_tap,
    "/ddp/tap/refine": Stage._osc_refine,
    "/ddp/tap/withdraw": Stage._osc_withdraw,
}
