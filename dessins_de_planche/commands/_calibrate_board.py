"""`calibrate --midi-port`: a sensor board's bleed and weight-shift noise, learned from the player.

The player strikes each zone alone (heel and toe), then stands on the board and shifts weight
without tapping; `inputs/board_learn.py` learns from the notes heard. The notes are read through the
show's own input process and MIDI listener (same API choice, same port matching, same timing of
each note), with every note a tap of its own zone so nothing is merged before it is learned from.

The flow takes its notes, clock and prompts from outside, so a test plays a scripted board
through it without a MIDI system or a wait.
"""

from __future__ import annotations

import time

from dessins_de_planche import options as opt
from dessins_de_planche.inputs import board_learn, board_table

SETTLE_S = 0.4  # after the last strike asked for, so its latest bleed is heard
POLL_S = 0.05  # a foreground command reading its own notes, not a test
READY_S = 10.0  # seconds to wait for the port to open


class NoteSource:
    """The board's note-ons as (time, note, velocity 0..1), heard by the show's own input process:
    RtMidi lives in a child, as in the show, so a MIDI system that hangs or crashes on closing takes
    the child with it, never the command."""

    def __init__(self, port: str):
        from dessins_de_planche.config import InputSpec, MidiNote
        from dessins_de_planche.inputs.handle import InputProcess

        spec = InputSpec(midi_port=port, midi_notes={n: MidiNote(f"note{n}") for n in range(128)},
                         midi_crosstalk_s=0.0, client_name="dessins-de-planche-calibrate")
        self.inputs = InputProcess(spec).start()
        self.note_of = [int(name[4:]) if name.startswith("note") else -1 for name in self.inputs.zone_names]

    def wait_ready(self, seconds: float) -> str:
        """The port's name once it is open; UsageError naming why not after `seconds`."""
        end = time.monotonic() + seconds
        while (status := self.inputs.status).midi_state != "listening":
            if time.monotonic() > end:
                raise opt.UsageError(status.last_error or f"the MIDI port did not open in {seconds:.0f} s")
            self.inputs.poll()  # (a child that died is started again, as in the show)
            time.sleep(POLL_S)
        return status.midi_port

    def read(self) -> list[tuple[float, int, float]]:
        records = self.inputs.poll().taps
        return [(float(r["time"]), self.note_of[int(r["zone"])], float(r["velocity"])) for r in records]

    def close(self) -> None:
        self.inputs.stop()


def steps_for(notes: dict, sensors: int) -> list[tuple[str, tuple[int, ...]]]:
    """(what to strike, its notes) per step: each mapped zone, or `sensors` unnamed ones."""
    if notes:
        zones: dict[str, list[int]] = {}
        for note, target in sorted(notes.items()):
            zones.setdefault(target.zone, []).append(int(note))
        return [(f"{zone.upper()} (note{'s' if len(ns) > 1 else ''} {', '.join(map(str, ns))})", tuple(ns))
                for zone, ns in zones.items()]
    if sensors < 1:
        raise opt.UsageError("say which zones the board has: --midi-map 36=left:heel,38=left:toe,... "
                             "(or how many, with --sensors N)")
    return [(f"ZONE {i + 1} of {sensors}", ()) for i in range(sensors)]


def record(source, steps, taps: int, shift_seconds: float, timeout: float, say, wait_enter,
           clock=time.monotonic, sleep=time.sleep):
    """Prompt and listen: each zone struck alone `taps` times, then weight shifts for
    `shift_seconds`. Returns (strike notes, shift notes), each [(time, note, velocity)]."""
    strikes = []
    source.read()  # what came before the first prompt is nobody's
    for label, notes in steps:
        wait_enter(f"strike {label}")
        say(f"Strike {label} ALONE, heel and toe, {taps} times, about once a second ...")
        heard, deadline, enough_at = [], clock() + timeout, None
        while clock() < deadline:
            sleep(POLL_S)
            heard += source.read()
            count = len(board_learn.group_strikes(heard))
            if count >= taps:
                enough_at = enough_at or clock()
                if clock() - enough_at >= SETTLE_S:
                    break
        groups = board_learn.group_strikes(heard)
        if len(groups) < 2:
            raise opt.UsageError(f"heard {len(groups)} strikes on {label} in {timeout:.0f} s: check --midi-port and "
                                 "that the board sends note-ons (`dessins-de-planche devices` lists the ports)")
        loudest = [max(g, key=lambda n: n[2])[1] for g in groups]
        elsewhere = [n for n in loudest if notes and n not in notes]
        say(f"  heard {len(groups)} strikes" + (f" ({len(elsewhere)} loudest on another zone's note "
                                                f"{', '.join(map(str, sorted(set(elsewhere))))}: kept for that zone)"
                                                if elsewhere else ""))
        strikes += heard
    wait_enter("stand on the board")
    say(f"Stand on the board and SHIFT your weight from foot to foot, without tapping, for {shift_seconds:.0f} s ...")
    shifts, end = [], clock() + shift_seconds
    while clock() < end:
        sleep(POLL_S)
        shifts += source.read()
    say(f"  heard {len(shifts)} notes while you stood")
    return strikes, shifts


def main(args, say, wait_enter) -> int:
    """`calibrate --midi-port NAME`: record, learn, save beside the audio calibration, and say what was learned."""
    from dessins_de_planche.control import midimap

    notes = dict(args.midi_map)
    if not notes and midimap.default_path().exists():
        notes = dict(midimap.load(midimap.default_path()).notes)
    steps = steps_for(notes, args.sensors or 0)
    source = NoteSource(args.midi_port)
    try:
        port = source.wait_ready(READY_S)
        say(f"Calibrating the sensor board on {port}: {len(steps)} zone(s), then weight shifts.")
        strikes, shifts = record(source, steps, args.taps, args.shift_seconds, args.timeout, say, wait_enter)
    finally:
        source.close()
    learned = board_learn.learn(strikes, shifts, args.shift_seconds, {n: t.zone for n, t in notes.items()}, port=port)
    save_and_report(learned, board_table.MIDI, args.output, "calibration")
    return 0


def save_and_report(learned: board_table.BoardCalibration, kind: board_table.BoardKind, output, what: str) -> None:
    """Save a learned board as its kind's table in `calibrate`'s file (`output`, or the usual one) and
    print where, what was learned and what to mend."""
    path = kind.save(learned, output)
    print(f"{what} saved to {path} ([{kind.table}])")
    for line in kind.describe(learned):
        print(line)
    for warning in learned.warnings:
        print(f"  warning: {warning}")
