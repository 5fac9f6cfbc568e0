"""OSC at the console: what each address does (one table), taps heard from other instances,
and what this show tells others (its taps, its preset, its beat).

Every message is untrusted: it is checked by `control/osc.py`'s validators, refused alone
(logged once per address every OSC_COMPLAINT_S), and the show goes on. Actions go through
the console's action table, presets through the deck, like a key or a MIDI button.
"""

from __future__ import annotations

import logging

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.control.osc import integer, number, text
from dessins_de_planche.events import (KIND_NAMES, RECORD_WITHDRAW, SOURCE_NAMES, TAP_DTYPE, ZONE_UNCHANGED,
                                       tap_id_space)

log = logging.getLogger("dessins_de_planche.app")

MAX_ZONES = ZONE_UNCHANGED  # zone indices 0..254 fit a tap record; 255 means "unchanged"
OSC_COMPLAINT_S = 10.0  # a refused OSC message is logged once per address in this long


def osc_tap_id(remote: int) -> int:
    """A tap id another instance sent, folded into OSC's own range (events.TAP_ID_SPACES)."""
    first, span, _ = tap_id_space("osc")
    return first + int(remote) % span


class OscTaps:
    """Taps, refinements and withdrawals other instances sent, as tap records for this frame."""

    def __init__(self, listen: bool, zone_names: list):
        self.listen = listen
        self.zone_names = zone_names  # the console's list: a zone heard here joins it
        self.pending: list = []

    def take(self) -> list:
        pending, self.pending = self.pending, []
        return pending

    def zone_index(self, zone) -> int:
        """A zone another instance names, added to ours the first time it is heard (MAX_ZONES at most)."""
        zone = text(str(zone) if isinstance(zone, (int, float)) else zone, "zone name")
        if zone not in self.zone_names:
            if len(self.zone_names) >= MAX_ZONES:
                raise ValueError(f"zone {zone[:40]!r}: this show already has {MAX_ZONES} zones")
            self.zone_names.append(zone)
        return self.zone_names.index(zone)

    def tap(self, now, time, zone, kind, velocity, latency=0.0, source="audio", channel=1, tap_id=0):
        if not self.listen:
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
        record["zone"] = self.zone_index(zone)  # last: a zone is added only for a tap that is taken
        self.pending.append(record)

    def refine(self, now, tap_id, kind, velocity, zone=None):
        if not self.listen:
            return
        record = np.zeros(1, TAP_DTYPE)
        record["time"] = record["detected_at"] = now
        record["tap_id"] = osc_tap_id(integer(tap_id, 0, 2**53, "tap id"))
        record["kind"] = KIND_NAMES.index(kind) if kind in KIND_NAMES else 0
        record["velocity"] = number(velocity, 0.0, 1.0, "velocity")
        record["zone"] = self.zone_index(zone) if zone is not None else ZONE_UNCHANGED
        record["refine"] = 1
        self.pending.append(record)

    def withdraw(self, now, tap_id):
        """Another instance's detector took a tap back: it goes from our drawing too."""
        if not self.listen:
            return
        record = np.zeros(1, TAP_DTYPE)
        record["time"] = record["detected_at"] = now
        record["tap_id"] = osc_tap_id(integer(tap_id, 0, 2**53, "tap id"))
        record["zone"] = ZONE_UNCHANGED
        record["refine"] = RECORD_WITHDRAW
        self.pending.append(record)


def _select(console, now, which):
    deck = console.show.deck
    if isinstance(which, str) and not which.strip().isdigit():
        deck.select_name(text(which, "preset name"))
    else:
        which = int(which) if isinstance(which, str) else which  # "3": as on the keys
        deck.select(integer(which, 1, len(deck), "preset number") - 1)


def _on_off(action):
    return lambda console, now, *on: console.do(action, bool(on[0]) if on else None)


OSC_ROUTES = {  # address -> function of (console, now, *arguments)
    "/ddp/preset/select": _select,
    "/ddp/preset/next": lambda console, now: console.do("next"),
    "/ddp/preset/previous": lambda console, now: console.do("previous"),
    "/ddp/cue": lambda console, now: console.do("cue"),
    "/ddp/param": lambda console, now, target, value: console.show.deck.set_parameter(
        text(target, "parameter path"), number(value, -1e9, 1e9, "parameter value")),
    "/ddp/clear": lambda console, now, *_: console.do("clear"),
    "/ddp/undo": lambda console, now, *_: console.do("undo"),
    "/ddp/blackout": _on_off("blackout"),
    "/ddp/freeze": _on_off("freeze"),
    "/ddp/hud": _on_off("hud"),
    "/ddp/dimmer": lambda console, now, value: console.do("dimmer", number(value, 0.0, 1.0, "dimmer")),
    "/ddp/tempo": lambda console, now, bpm: console.show.rhythm.set_tempo(number(bpm, 20.0, 400.0, "tempo (BPM)"),
                                                                          now),
    "/ddp/tap": lambda console, now, *args: console.osc_taps.tap(now, *args),
    "/ddp/tap/refine": lambda console, now, *args: console.osc_taps.refine(now, *args),
    "/ddp/tap/withdraw": lambda console, now, *args: console.osc_taps.withdraw(now, *args),
}


class Complaints:
    """A refused message logged once per address every OSC_COMPLAINT_S, with how many were refused since."""

    def __init__(self):
        self._seen: dict[str, list] = {}  # address -> [last logged, refused since]

    def refused(self, address: str, args, error: Exception) -> None:
        seen = self._seen.setdefault(address, [-OSC_COMPLAINT_S, 0])
        seen[1] += 1
        now = master_time()
        if now - seen[0] < OSC_COMPLAINT_S:
            return
        shown = repr(list(args))
        more = f" ({seen[1] - 1} more refused in the last {OSC_COMPLAINT_S:.0f} s)" if seen[1] > 1 else ""
        reason = str(error) if isinstance(error, (TypeError, ValueError)) else f"{type(error).__name__}: {error}"
        log.warning("OSC %s %s: %s (see docs/osc.md)%s", address, shown[:200], reason[:200], more)
        seen[0], seen[1] = now, 0


def route(console, messages, now: float) -> None:
    for address, args in messages:
        handler = OSC_ROUTES.get(address)
        if handler is None:
            log.debug("OSC: no address %s", address)
            continue
        try:
            handler(console, now, *args)
        except Exception as error:  # every message is untrusted: refused alone, the show goes on
            console.osc_complaints.refused(address, args, error)


def send_taps(osc_out, taps, zone_names, epoch: float) -> None:
    for tap in taps:
        zone = int(tap["zone"])
        zone_name = zone_names[zone] if zone < len(zone_names) else str(zone)
        kind = KIND_NAMES[int(tap["kind"])]
        if tap["refine"] == RECORD_WITHDRAW:
            osc_out.send("/ddp/tap/withdraw", int(tap["tap_id"]))
        elif tap["refine"]:
            osc_out.send("/ddp/tap/refine", int(tap["tap_id"]), kind, float(tap["velocity"]), zone_name)
        else:
            osc_out.send("/ddp/tap", float(tap["time"]) - epoch, zone_name, kind,
                         float(tap["velocity"]), float(tap["detected_at"] - tap["time"]),
                         SOURCE_NAMES[int(tap["source"])], int(tap["channel"]), int(tap["tap_id"]))


class RhythmSender:
    """The show's preset when it changes, each beat, and the tempo once a second, to OSC listeners."""

    def __init__(self, osc_out):
        self.osc_out = osc_out
        self._last_beat = None
        self._last_tempo_sent = 0.0
        self._last_preset = None

    def send(self, show, now: float) -> None:
        out = self.osc_out
        if show.preset.name != self._last_preset:
            self._last_preset = show.preset.name
            out.send("/ddp/preset", show.deck.index + 1, show.preset.name)
        rhythm = show.rhythm
        bpm = rhythm.bpm
        if not bpm:
            return
        beat = rhythm.beat_number(now)
        if self._last_beat is None or beat != self._last_beat:
            if self._last_beat is not None and beat > self._last_beat:
                bar_beat = int((rhythm.bar_phase(now) * rhythm.bar_beats)) + 1
                out.send("/ddp/beat", int(beat), float(bpm), bar_beat)
            self._last_beat = beat
        if now - self._last_tempo_sent >= 1.0:
            self._last_tempo_sent = now
            out.send("/ddp/tempo", float(bpm))
