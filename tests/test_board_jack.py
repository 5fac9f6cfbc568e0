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
from dessins_de_planche.events import KIND_NAMES, RECORD_WITHDRAW, merge_refinements
from dessins_de_planche.inputs import board_table
from dessins_de_planche.inputs.fuse import FUSE_WINDOW_S
from dessins_de_planche.inputs.handle import InputProcess
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

    def __init__(self, sender, clock=master_time):
        self.sender = sender
        self.clock = clock  # what the notes' times are on (a JACK client's frames, to play along its audio)
        self.sent: list = []
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def play(self, notes, speed: float = 1.0, lead: float = 0.3, at: float | None = None) -> None:
        """From `lead` s on, or with `at`: each note at master time `at` + its time."""
        self._queue.put((list(notes), speed, lead, at))

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
            notes, speed, lead, at = item
            if not notes:
                continue
            origin, first = (self.clock() + lead, notes[0].time) if at is None else (at, 0.0)
            for n in notes:
                due = origin + (n.time - first) / speed
                while (ahead := due - self.clock()) > 0:  # pacing a performance, not waiting on an event
                    time.sleep(ahead)
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
    return board_table.load(output), out


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


def test_a_simulated_board_calibrated_and_played_through_jack(jack_server, midi_sender, jack_xruns, tmp_path):
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
        xruns_before = jack_xruns.count
        player.play(sim.performance(200, start=0.0, gap=0.08, together=0.4))
        taps = heard_until_marker(inputs, player)
        played = [n for n in player.sent if n.truth != "marker"]
        heard = score(played, taps, lambda t: note_of[inputs.zone_names[t["zone"]], KIND_NAMES[t["kind"]]],
                      tolerance=0.02)
        counted = lambda: sum(sum(z[1:]) for z in inputs.status.midi_zones)  # noqa: E731
        # every note the port received is counted; where the server had xruns meanwhile, JACK itself
        # dropped a few notes before they reached the port (a second JACK MIDI client listening beside
        # ours lost 1-8 of the 791 in the same runs, none in runs without an xrun)
        xruns = jack_xruns.count - xruns_before
        lost_to_xruns = max(2, len(player.sent) // 50) if xruns else 0
        wait_for(lambda: len(player.sent) - lost_to_xruns <= counted() <= len(player.sent),
                 what=f"the status block to count every note of the dance ({xruns} JACK xruns meanwhile)")
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


def test_calibrating_a_port_that_is_not_there_names_the_ports_that_are_and_leaves_nothing_running(
        jack_server, midi_sender, tmp_path):
    """The board's port listens; the player mistypes its name. `calibrate` listens through the show's
    input process (RtMidi in a child of its own): it says which ports there are, and no child of it
    outlives it."""
    midi_sender(PORT)
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    process = subprocess.Popen(
        [sys.executable, "-m", "dessins_de_planche", "calibrate", "--midi-port", "no-such-board", "--midi-map",
         MAP_TEXT, "--yes", "--output", str(tmp_path / "calibration.toml")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0, out + err
    assert "no MIDI input port matches 'no-such-board'" in err and PORT in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "calibration.toml").exists()
    session = subprocess.run(["ps", "-o", "pid=,stat=,args=", "--sid", str(process.pid)], capture_output=True,
                             text=True).stdout.splitlines()
    running = [line for line in session if line.split()[1][0] != "Z"]  # (an orphan's zombie is its reaper's to reap)
    assert running == [], f"processes of the command still running: {running}"


class CycleClock:
    """When each of a JACK client's cycles began on the master clock, so a frame's master time is read
    from the cycles around it (the dummy driver's clock drifts from the wall's over seconds)."""

    def __init__(self, player):
        self.frames = np.zeros(1 << 16, np.int64)
        self.times = np.zeros(1 << 16)
        self.count = 0
        client = player.client
        previous = player.process

        def process(frames):
            previous(frames)
            if self.count < len(self.frames):
                # the cycle's start: now, less how far into the cycle JACK says this callback runs
                self.frames[self.count] = client.last_frame_time
                self.times[self.count] = master_time() - client.frames_since_cycle_start / SAMPLE_RATE_HZ
                self.count += 1

        client.deactivate()
        client.set_process_callback(process)
        client.activate()

    def master(self, frame: int) -> float:
        frames, times = self.frames[: self.count], self.times[: self.count]
        near = np.abs(frames - frame) < 0.5 * SAMPLE_RATE_HZ
        return float(np.min(times[near] - frames[near] / SAMPLE_RATE_HZ)) + frame / SAMPLE_RATE_HZ


SAMPLE_RATE_HZ = 48_000


def test_a_boards_mic_and_sensors_fused_draw_each_strike_once_on_its_zone_at_the_mics_onset(
        jack_server, jack_player, midi_sender):
    """The board's contact mic (a JACK client playing heel and toe sounds into the app's input) and its
    sensors (notes from the simulated board, bleed included, 2 ms after each sound's onset), with `--fuse`."""
    from dessins_de_planche.events import KIND_HEEL, SOURCE_AUDIO
    from dessins_de_planche.listen.synth import heel_sound, toe_sound
    from fixtures_jack import PERIOD, SAMPLE_RATE
    from test_board_calibration import learned

    sender = midi_sender(PORT)
    sim, rng = SimulatedBoard(seed=21), np.random.default_rng(21)
    strikes, gap, lead = 24, 0.3, 0.5
    signal = np.zeros((int((lead + gap * strikes + 1.0) * SAMPLE_RATE), 1), np.float32)
    onsets, sensors, notes, direct = [], [], [], {}
    for k in range(strikes):
        at = lead + k * gap
        frame = int(at * SAMPLE_RATE)
        hit = (heel_sound if k % 2 == 0 else toe_sound)(rng, SAMPLE_RATE) * 0.4
        signal[frame : frame + len(hit), 0] += hit
        onsets.append(frame)
        if k % 6 == 5:  # now and then the mic alone hears it (a sensor that missed)
            sensors.append(None)
        else:
            sensor = int(rng.integers(len(NOTES)))
            sensors.append(sensor)
            struck = sim.strike(frame / SAMPLE_RATE + 0.002, {sensor: sim.velocity()})
            direct[k] = next(n for n in struck if n.truth == "strike")
            notes += struck
        if k % 4 == 2:  # a heavy weight shift between strikes: a sensor note over its floor, no sound
            notes.append(Note(at + gap / 2, NOTES[k % len(NOTES)], 60, "shift"))
    spec = InputSpec(audio_device="system", channels=(1,), midi_port=PORT, midi_notes=MAPPING,
                     midi_board=learned(), fuse=True)
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.audio_state == "listening" and inputs.status.midi_state == "listening",
                 what="the mic and the sensors to open")
        player = jack_player(channels=1, name="ddp-board-mic")
        cycles = CycleClock(player)
        player.connect()
        # the notes go out along the mic's frames: the dummy driver's clock need not keep the wall's
        midi = Player(sender, clock=lambda: player.client.frame_time / SAMPLE_RATE)
        player.play(signal)
        midi.play(sorted(notes, key=lambda n: n.time), at=player.start_frame / SAMPLE_RATE)
        got, sounds, notes_heard = [], [], []
        fuser = inputs.fuser
        fuse = fuser.fuse

        def heard(audio, midi, now, features):  # what the mic and the sensors heard, before fusion
            sounds.append(audio.copy())
            notes_heard.append(midi[midi["refine"] == 0].copy())
            return fuse(audio, midi, now, features)

        fuser.fuse = heard
        expected_events = strikes + sum(1 for n in notes if n.truth == "shift")

        end = player.start_frame + len(signal)

        def all_heard():  # the mic has listened to the end (its stream may lag on a busy machine), all settled
            got.append(inputs.poll().taps)
            # a sound the detector withdrew that no sensor note joined is settled too (and fails the count
            # of strikes drawn below, naming each strike, rather than this wait)
            withdrawn = sum(int((s["refine"] == RECORD_WITHDRAW).sum()) for s in sounds) - fuser.withdraws_ignored
            return (player.finished() and fuser.heard_until > cycles.master(end)
                    and fuser.fused + fuser.sound_only + fuser.weight_shifts + withdrawn >= expected_events)

        wait_for(all_heard, deadline=60, what="every strike and weight shift to be heard")
        overflows = inputs.status.overflows
        assert 0 < inputs.status.fused[0] <= fuser.fused  # the HUD's count (the status is re-read 10 times a second)
    taps = merge_refinements(np.concatenate(got))
    block = PERIOD / SAMPLE_RATE
    truth = [cycles.master(player.start_frame + onset) for onset in onsets]
    right = 0
    for t, sensor in zip(truth, sensors):
        near = taps[np.abs(taps["time"] - t) <= 0.03]
        # once, at the mic's onset: within a block plus the onset's own precision, as tests/test_audio_jack.py
        # (stage A's 1.33 ms grid and 2.7 ms window; the mic's taps here sit 3.6-3.7 ms early, at the old
        # bound's edge of a block plus 1 ms, so a tenth of a millisecond of clock decided the test)
        if len(near) != 1 or abs(near["time"][0] - t) > block + 0.0025:
            continue
        right += sensor is None or inputs.zone_names[near["zone"][0]] == MAPPING[NOTES[sensor]].zone
    report = []  # what each strike became: (its sensor's zone, [(ms from its onset, zone) per tap near it])
    for t, sensor in zip(truth, sensors):
        near = taps[np.abs(taps["time"] - t) <= 0.03]
        report.append((None if sensor is None else MAPPING[NOTES[sensor]].zone,
                       [(round(float(x - t) * 1000, 1), inputs.zone_names[z]) for x, z in zip(near["time"], near["zone"])]))
    shifts = [cycles.master(player.start_frame + int(n.time * SAMPLE_RATE)) for n in notes if n.truth == "shift"]
    drawn_on_shifts = sum(bool((np.abs(taps["time"] - t) <= 0.02).any()) for t in shifts)
    print(f"\nfused: {right}/{strikes} strikes drawn once on their zone at the mic's onset; {fuser.fused} heard by "
          f"both, {fuser.sound_only} by the mic alone, {fuser.weight_shifts} sensor notes with no sound dropped; "
          f"{len(taps)} taps; {overflows} blocks lost")
    assert (taps["source"] == SOURCE_AUDIO).all()
    # what fusion made of what each source heard: every sound a tap at its own onset, on the zone of the
    # sensor note with it if any; every sensor note without a sound, no tap
    mic, sensed = np.concatenate(sounds), np.concatenate(notes_heard)
    withdrawn = set(mic["tap_id"][mic["refine"] == 2].tolist())
    mic = mic[mic["refine"] == 0]
    assert set(taps["time"].tolist()) <= set(mic["time"].tolist()), "each tap at the mic's onset"
    for sound in mic:
        with_it = sensed[np.abs(sensed["time"] - sound["time"]) <= FUSE_WINDOW_S]
        tap = taps[taps["tap_id"] == sound["tap_id"]]
        if len(with_it):
            assert len(tap) == 1 and tap["zone"][0] in set(with_it["zone"].tolist()), (sound, with_it, tap)
        else:
            assert len(tap) == (0 if int(sound["tap_id"]) in withdrawn else 1)
    for n in sensed:
        if not (np.abs(mic["time"] - n["time"]) <= FUSE_WINDOW_S).any():
            assert not (np.abs(taps["time"] - n["time"]) <= FUSE_WINDOW_S).any(), "a note with no sound is no tap"
    # and against what was played: a block lost under a sound's onset (a busy machine) moves or splits
    # that strike's sound, or loses it: each lost block may cost one strike, as tests/test_audio_jack.py allows
    lost = overflows
    # the simulated board is a Python thread pacing notes on a busy machine: a strike whose note it sent
    # later than the join window allows is a late sensor, heard as a sound alone and a weight shift (the
    # checks above hold it to that); the app is not to blame for its zone
    sent_at = {(n.note, n.strike, n.truth): n.time for n in midi.sent}
    lateness = {k: sent_at[(n.note, n.strike, n.truth)] - cycles.master(player.start_frame + int(n.time * SAMPLE_RATE))
                for k, n in direct.items()}
    late = sum(1 for k, behind in lateness.items() if behind > FUSE_WINDOW_S - 0.005)
    # and the first note after the port opens has no gap to go by (RtMidi gives each message's time since the
    # one before): it is placed when it is read, late by as long as the read was held back (inputs/midi.py)
    first = min(direct)
    due = cycles.master(player.start_frame + int(direct[first].time * SAMPLE_RATE))
    heard = sensed[sensed["time"] >= due - FUSE_WINDOW_S]
    first_read_late = len(heard) > 0 and heard["time"].min() - due > FUSE_WINDOW_S and lateness[first] <= FUSE_WINDOW_S - 0.005
    late += first_read_late
    print(f"the board's notes went out up to {max(lateness.values()) * 1000:.1f} ms late; {late} past the window"
          + (" (the first note read late)" if first_read_late else ""))
    assert right >= strikes - lost - late, (f"{right} of {strikes} strikes drawn once, on their zone, at the mic's "
                                            f"onset ({overflows} blocks lost, {late} notes sent late): {report}")
    assert len(taps) <= strikes + lost, f"{len(taps)} taps drawn for {strikes} strikes"
    if not lost:  # a lost block shifts the mic's stream clock for the strikes after it, not for one alone:
        # then the checks above (each sound and each note against what the other source heard) are the test
        assert fuser.fused >= sum(s is not None for s in sensors) - late
    # (a lost block's click is a sound: by a weight shift's note it is one strike heard by both, as fusion should)
    assert drawn_on_shifts <= lost, "a sensor note with no sound is no tap"
    assert fuser.weight_shifts >= len(shifts) - lost, "a lost block's click may join a weight shift's note"
    heel_strikes = [i for i in range(strikes) if i % 2 == 0]
    heels = sum(1 for i in heel_strikes if (np.abs(taps["time"] - truth[i]) <= 0.03).any() and
                taps["kind"][np.argmin(np.abs(taps["time"] - truth[i]))] == KIND_HEEL)
    assert heels >= len(heel_strikes) - 1 - lost, "heel or toe from the mic"
