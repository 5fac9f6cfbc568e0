"""The words and numbers the performer reads: the HUD's lines, the notices, the help rows, and
the same state as plain values for the operator screen and the health file.

Only reading here: each function looks at the console and the input status and returns
text or a dict, so the projector, the operator's window and a watchdog all say the same.
`app/hud.py` draws the lines.
"""

from __future__ import annotations

from dessins_de_planche.clock import master_time
from dessins_de_planche.locale import _

NOTICE_SECONDS = 6.0


class Notices:
    """Short messages by key (a later one with the same key replaces it), each for a while."""

    def __init__(self):
        self._shown: dict[str, tuple[str, float]] = {}

    def say(self, key: str, text: str, seconds: float = NOTICE_SECONDS) -> None:
        self._shown[key] = (text, master_time() + seconds)

    def drop(self, key: str) -> None:
        self._shown.pop(key, None)

    def lines(self, now: float) -> list[str]:
        for key, (_text, until) in list(self._shown.items()):
            if now > until:
                del self._shown[key]
        return [text for text, _until in self._shown.values()]


def hud_lines(console, now: float, status) -> list[str]:
    from dessins_de_planche.app.hud import format_pattern
    from dessins_de_planche.render.soundcheck import board_summary

    show, out, deck = console.show, console.output, console.show.deck
    lines = [f"{show.preset.name}  ({deck.index + 1}/{len(deck)})"]
    if deck.playlist is not None:
        left = deck.playlist.remaining(now)
        entry = _("playlist {n}/{total}").format(n=deck.playlist.position + 1, total=len(deck.playlist.entries))
        lines[0] += f"  · {entry}" + (f"  {int(left // 60)}:{int(left % 60):02d}" if left is not None else
                                     "  " + _("on cue"))
    bpm = show.rhythm.bpm
    tempo = f"{bpm:.0f} BPM" if bpm else "–"
    lines.append(_("Tempo: {tempo}   Pattern: {pattern}").format(
        tempo=tempo, pattern=format_pattern(show.rhythm.pattern)))
    lines.append(_("Taps/s: {rate:.1f}   taps: {count}").format(rate=console.taps_per_second(now),
                                                                count=show.taps_seen))
    if show.taps_withdrawn:  # the detector took these back: not feet (a piano's attack, a clap)
        lines[-1] += "   " + _("withdrawn: {count}").format(count=show.taps_withdrawn)
    dropped = sum(getattr(status, "dropped", {}).values()) if status is not None else 0
    late = getattr(status, "lateness_ms", (0.0, 0.0, 0.0))
    lines.append(_("FPS: {fps:.0f}   dropped: {dropped}   overflows: {overflows}").format(
        fps=console.fps(), dropped=dropped, overflows=getattr(status, "overflows", 0)))
    lines[-1] += "   " + _("render scale: {scale:.2f}").format(scale=out.render_scale)  # app/governor.py
    lines.append(_("Callback lateness: {median:.1f} / {p99:.1f} / {max:.1f} ms").format(
        median=late[0], p99=late[1], max=late[2]))
    if status is not None:
        audio = _(status.audio_state) + (f" ({status.device_name})" if status.device_name else "")
        lines.append(_("Audio: {audio}   MIDI: {midi}").format(audio=audio, midi=_(status.midi_state)))
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
    if console.osc_in is not None:
        extras.append(_("OSC in {host}:{port}").format(host=console.osc_in.address[0], port=console.osc_in.address[1]))
    if console.osc_out is not None:
        extras.append(_("OSC out: {count}").format(count=len(console.osc_out.targets)))
    if console.recorder is not None:
        extras.append(_("recording: {lines} events").format(lines=console.recorder.lines) if console.recorder.active
                      else _("recording stopped"))
    if console.attract.active:
        extras.append(_("attract mode"))
    if extras:
        lines.append("   ".join(extras))
    return lines


def meters(console, now: float):
    show = console.show
    return [(str(c), show.levels[c][0], now - show.last_tap.get((c, 0), -1e9)) for c in sorted(show.levels)]


def notice_lines(console, now: float, status) -> list[str]:
    lines = [console.corner_pin.notice()] if console.corner_pin.active else []
    lines += console.notices.lines(now)
    if status is not None:
        if status.audio_state == "waiting for device" and status.restarts:
            lines.append(_("Audio input lost: reconnecting…"))
        if status.midi_state == "waiting":
            lines.append(_("MIDI port lost: reconnecting…") if status.midi_port else _("Waiting for the MIDI port…"))
        elif not status.running and status.restarts:
            lines.append(_("Input restarting…"))
        if status.stalls and now - status.stalled_at < NOTICE_SECONDS:
            lines.append(_("The input stopped answering: restarted"))
    if console.recorder is not None and console.recorder.error:
        lines.append(_("Recording stopped (see the log); the show goes on."))
    return lines


def help_rows(console) -> list[tuple[str, str]]:
    from dessins_de_planche.app.actions import ACTIONS, KIOSK_ESCAPE
    from dessins_de_planche.app.keys import key_label

    rows, seen = [], set()
    for key, action in console.keys.bindings:
        if action in seen:
            continue
        seen.add(action)
        if action.startswith("preset"):
            if action != "preset1":
                continue
            keys = "1–9"
        else:
            keys = " / ".join(key_label(k) for k in console.keys.keys_for(action))
        text = _(KIOSK_ESCAPE) if action == "escape" and console.kiosk else _(ACTIONS[action].help)
        rows.append((keys, text))
    rows.append((str(console.chord), _("quit")))
    return rows


def operator_state(console, now: float, status) -> dict:
    """What the operator screen shows (a plain value: it crosses to the operator's process)."""
    show = console.show
    errors = show.live.overlay.lines() if show.live.overlay is not None and show.live.overlay.visible else []
    return {"hud": hud_lines(console, now, status), "notices": list(show.notice) + notice_lines(console, now, status),
            "presets": show.deck.names(), "current": show.deck.index,
            "meters": [[name, float(level), float(since)] for name, level, since in meters(console, now)],
            "errors": errors}


def health_state(console, status) -> dict:
    """What the health file says (see app/health.py): a watchdog reads it."""
    show, out = console.show, console.output
    state = {"preset": show.preset.name, "fps": round(console.fps(), 1), "taps": show.taps_seen,
             "render_scale": out.render_scale,
             "withdrawn": show.taps_withdrawn,
             "attract": console.attract.active, "kiosk": console.kiosk,
             "notices": notice_lines(console, master_time(), status),
             "output": {"flip": out.flip, "rotate": out.rotate, "dimmer": out.dimmer,
                        "blackout": out.blackout, "frozen": out.frozen,
                        "warp": None if out.warp is None else {
                            name: list(getattr(out.warp, name)) for name in out.warp.CORNER_NAMES}}}
    if status is not None:
        state["input"] = {"audio": status.audio_state, "device": status.device_name, "midi": status.midi_state,
                          "running": status.running, "restarts": status.restarts, "stalls": status.stalls,
                          "last_error": status.last_error, "overflows": status.overflows}
    if console.recorder is not None:
        state["recording"] = {"active": console.recorder.active, "error": console.recorder.error}
    if console.picture_out:
        state["picture_out"] = [{"to": str(sink.sink), "frames": sink.frames, "dropped": sink.dropped,
                                 "skipped": sink.skipped, "error": sink.error} for sink in console.picture_out]
    return state
