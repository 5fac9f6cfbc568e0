"""A simulated sensor board on a JACK server, calibrated with `calibrate --midi-port`, then played into the show.

The board (sim_board.py: a known bleed matrix, delays, velocity spread, weight-shift noise) is a
JACK MIDI client of its own; `calibrate` runs as the player would run it, and the board answers its
prompts; the show's input process then hears a dance with feet landing together, and a player
standing and shifting weight for simulated minutes played faster than real time.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import KIND_NAMES, merge_refinements
from dessins_de_planche.inputs import board
from dessins_de_planche.inputs.process import InputProcess
from fixtures_jack import wait_for
from sim_board import MAPPING, NOTES, Note, SimulatedBoard, score

pytestmark = pytest.mark.jack

PORT = "ddp-sim-board"
MAP_TEXT = ",".join(f"{n}={t.zone}:{t.kind}" for n, t in MAPPING.items())
MARKER = 60  # a note on no sensor: every note before it has been heard once its tap is in
COMPRESSION = 20  # weight shifts: simulated seconds per real second


class Player:
    """Plays notes into the board's JACK MIDI port at their times (seconds from `play`'s call,
    divided by `speed`), on a thread of its own; keeps when each note actually went out."""

    def __init__(self, sender):
        self.sender = sender
        self.sent: list = []
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def play(self, notes, speed: float = 1.0, lead: float = 0.3) -> None:
        self._queue.put((list(notes), speed, lead))

    def done(self) -> threading.Event:
        finished = threading.Event()
        self._queue.put(finished)
        return finished

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            notes, speed, lead = item
            if not notes:
                continue
            origin, first = master_time() + lead, notes[0].time
            for n in notes:
                due = origin + (n.time - first) / speed
                while (ahead := due - master_time()) > 0:  # pacing a performance, not waiting on an event
                    time.sleep(min(ahead, 0.0005))
                self.sender.send(0x90, n.note, n.velocity)
                self.sent.append(dataclasses.replace(n, time=master_time()))


def calibrate(tmp_path, player: Player, sim: SimulatedBoard):
    """`calibrate --midi-port` as the player runs it; the board strikes the zone each prompt names."""
    output = tmp_path / "calibration.toml"
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    process = subprocess.Popen(
        [sys.executable, "-m", "dessins_de_planche", "calibrate", "--midi-port", PORT, "--midi-map", MAP_TEXT,
         "--yes", "--taps", "6", "--shift-seconds", "4", "--timeout", "40", "--output", str(output)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    said = []

    def answer():
        for line in process.stderr:
            said.append(line)
            if line.startswith("Strike "):
                zone = line.split()[1]
                sensors = [i for i, n in enumerate(NOTES) if MAPPING[n].zone.upper() == zone]
                strikes = []
                for k in range(6):  # heel, toe, heel, ...
                    strikes += sim.strikes_alone(sensors[k % len(sensors)], 1, 0.6 * k, 0.6)
                player.play(strikes)
            elif "SHIFT" in line:
                player.play(sim.weight_shifts(0.0, 3.5), lead=0.2)

    listening = threading.Thread(target=answer, daemon=True)
    listening.start()
    try:
        process.wait(timeout=120)
        listening.join(5)
        out = process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(said)
    assert "calibration saved" in out
    return board.load(output), out


def heard_until_marker(inputs: InputProcess, player: Player):
    """Every tap of what the player played, the marker's excepted (the marker goes out last)."""
    player.play([Note(0.0, MARKER, 100, "marker")], lead=0.05)
    midi_zone = inputs.zone_names.index("midi")
    got = []

    def marker_in():
        got.extend(inputs.poll().taps)
        return any(t["zone"] == midi_zone for t in got)

    wait_for(marker_in, deadline=30, what="the marker note after the performance")
    taps = merge_refinements(np.array(got))
    return taps[taps["zone"] != midi_zone]


def test_a_simulated_board_calibrated_and_played_through_jack(jack_server, midi_sender, tmp_path):
    sender = midi_sender(PORT)
    player = Player(sender)
    sim = SimulatedBoard(seed=11)
    learned, said = calibrate(tmp_path, player, sim)
    print("\n" + said)  # what calibration learned on the simulated board (docs/boards.md quotes it)
    assert learned is not None and set(learned.sensors) == set(NOTES)
    assert all(learned.sensors[n].strikes >= 2 for n in NOTES), said
    assert len(learned.bleed) >= 10, said  # a strike on each sensor reaches most others

    note_of = {(t.zone, t.kind): n for n, t in MAPPING.items()}
    with InputProcess(InputSpec(midi_port=PORT, midi_notes=MAPPING, midi_board=learned)) as inputs:
        wait_for(lambda: inputs.status.midi_state == "listening", what="the board's port to open")
        # a dance: 200 strikes 80 ms apart, 40 % of them two sensors at once
        player.sent.clear()
        player.play(sim.performance(200, start=0.0, gap=0.08, together=0.4))
        taps = heard_until_marker(inputs, player)
        played = [n for n in player.sent if n.truth != "marker"]
        heard = score(played, taps, lambda t: note_of[inputs.zone_names[t["zone"]], KIND_NAMES[t["kind"]]],
                      tolerance=0.02)
        counted = lambda: sum(sum(z[1:]) for z in inputs.status.midi_zones)  # noqa: E731
        wait_for(lambda: counted() == len(player.sent), what="the status block to count every note of the dance")
        assert inputs.status.midi_calibrated
        dance_status = inputs.status
        # then the player stands and shifts weight: three simulated minutes, 20 times faster
        minutes = 3
        player.sent.clear()
        player.play(sim.weight_shifts(0.0, 60.0 * minutes), speed=COMPRESSION)
        false_taps = heard_until_marker(inputs, player)
        shifts_played = len(player.sent) - 1

    bleed_suppressed = 1 - heard["false_taps"] / heard["bleed"]
    together_kept = heard["together_kept"] / heard["together"]
    print(f"\nsimulated board through JACK: bleed suppressed {bleed_suppressed:.1%} of {heard['bleed']}, "
          f"simultaneous hits kept {together_kept:.1%} of {heard['together']}, strikes kept "
          f"{heard['kept']}/{heard['strikes']}, weight-shift false taps {len(false_taps) / minutes:.2f} a minute "
          f"({shifts_played} notes in {minutes} simulated minutes)")
    assert heard["bleed"] > 200 and heard["together"] > 100
    assert bleed_suppressed >= 0.99, heard
    assert together_kept >= 0.95, heard
    assert heard["kept"] >= 0.95 * heard["strikes"], heard
    assert len(false_taps) <= 1 * minutes, f"{len(false_taps)} false taps in {minutes} simulated minutes"
    assert shifts_played > 100 * minutes
    # the sound check's counts: hits on both feet, bleed suppressed, weight shifts ignored
    zones = {zone: (hits, bleed, shifts) for zone, hits, bleed, shifts in dance_status.midi_zones}
    assert zones["left"][0] > 0 and zones["right"][0] > 0
    assert sum(b for _, b, _ in zones.values()) >= 0.9 * heard["bleed"]
