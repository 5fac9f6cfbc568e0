"""Load: 20 taps/s on each of four audio channels plus 20 MIDI taps/s, under the heaviest gallery preset.

Two passes play the same taps through JACK (dummy driver, 48 kHz, 128-frame periods):

1. **inputs alone** (the baseline): the same input process (audio and MIDI) and the same
   JACK clients as the show, nothing rendering, its rings drained by a sleeping loop (with
   audio alone the show would have two JACK clients more, and each late client is an
   overflow flag to PortAudio);
2. **the show**: the app in a real window (Xvfb) with the heaviest preset, audio and
   MIDI together, writing its telemetry.

Targets: no dropped events (ring drops; taps seen in the show = taps seen by the
baseline; every MIDI tap seen), no audio overflows beyond the baseline's, no frame
longer than two frame intervals (the p99 frame time is reported).

    .venv/bin/python bench/load.py [--seconds 20] [--size 640x360] [--rate 20] [--passes 1]

Overflows are rare on this machine even with nothing rendering (about one a half-minute),
so one short pass says little either way: `--passes 5` interleaves five baseline and
show pairs and compares the totals.

Each window also says which JACK clients jackd saw late (`PortAudio` is the app's audio
input, `dessins-de-planche` its MIDI input, `ddp-*` the bench's own players, each in a
process of its own) and how much CPU time the hypervisor took meanwhile (steal, from
/proc/stat): JACK tells every client of any late cycle, and PortAudio counts each as an
input overflow, so the count alone does not say whose the late cycle was.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stage import (SAMPLE_RATE, App, Board, Jack, MidiBoard, Screen, WakeupProbe, heaviest_preset, percentile,  # noqa: E402
                   remove_jack_registry, say_if_real_time_refused, wait_for)

CHANNELS = 4
STALL_MS = 1.0  # a real-time wake-up this late is a stall of the machine
STATUS_LAG = 0.75  # s: an overflow reaches the bench within ~0.6 s (the child publishes every 0.25 s,
#                    the render process re-reads every 0.1 s, telemetry writes every 0.25 s)


def load_signal(seconds: float, rate: float, rng) -> tuple[np.ndarray, list[int]]:
    """`rate` taps a second on each channel, heel and toe alternating, channels staggered."""
    from dessins_de_planche.listen.synth import heel_sound, toe_sound

    signal = np.zeros((int(seconds * SAMPLE_RATE), CHANNELS), np.float32)
    played = [0] * CHANNELS
    for channel in range(CHANNELS):
        at = 0.2 + channel * 0.011
        step = 0
        while at < seconds - 0.4:
            hit = 0.5 * (heel_sound if step % 2 == 0 else toe_sound)(rng, SAMPLE_RATE)
            hit = hit[: int(0.9 / rate * SAMPLE_RATE)].copy()  # the next tap of this channel cuts it off
            hit[-240:] *= np.linspace(1.0, 0.0, 240)
            start = int(at * SAMPLE_RATE)
            end = min(start + len(hit), len(signal))
            signal[start:end, channel] += hit[: end - start]
            played[channel] += 1
            at += 1.0 / rate + rng.uniform(-0.004, 0.004)
            step += 1
    return signal, played


def play_with_midi(board, midi, seconds: float, rate: float, drain=lambda: None) -> int:
    """Play the loaded signal and send `rate` MIDI taps a second beside it, calling `drain`
    between sends (the baseline empties the rings); the MIDI taps sent."""
    start = time.monotonic()
    board.play(lead_seconds=0.3)
    next_at, last_at = start + 0.3 + 0.2 + 0.025, start + 0.3 + seconds - 0.4
    sent = 0
    while time.monotonic() < last_at:
        if time.monotonic() >= next_at:
            midi.send(0x90, 36 + sent % 4, 1 + sent % 127)
            midi.send(0x80, 36 + sent % 4, 0)
            sent += 1
            next_at += 1.0 / rate
        drain()
        time.sleep(min(max(next_at - time.monotonic(), 0.0), 0.01))  # the bench takes no CPU it need not
    wait_for(lambda: drain() or board.finished(), 60.0, "the taps to be played", interval=0.01)
    return sent


def inputs_alone(jack, signal, seconds: float, rate: float, probe: bool) -> dict:
    """The baseline: the same input process and JACK clients as the show (audio and MIDI in, the
    bench's two players), nothing rendering. With audio alone the show would have two JACK
    clients more, and every late client is an overflow flag to PortAudio."""
    from dessins_de_planche.config import InputSpec
    from dessins_de_planche.events import SOURCE_AUDIO
    from dessins_de_planche.inputs.handle import InputProcess

    spec = InputSpec(audio_device="system", channels=tuple(range(1, CHANNELS + 1)), midi_port="virtual")
    seen = np.zeros(CHANNELS, int)
    midi_seen = [0]

    def drain():
        taps = inputs.poll().taps
        taps = taps[taps["refine"] == 0]
        audio = taps["source"] == SOURCE_AUDIO
        np.add.at(seen, taps["channel"][audio].astype(int) - 1, 1)
        midi_seen[0] += int((~audio).sum())

    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.audio_state == "listening" and inputs.status.midi_state == "listening",
                 30.0, "the baseline's audio stream and MIDI port")
        board = midi = None
        try:
            midi = MidiBoard(jack)
            board = Board(jack, CHANNELS, name="ddp-load-board")
            board.load(signal)
            board.connect()
            machine = Machine(jack, board, probe)
            time.sleep(1.0)
            before = inputs.status.overflows
            machine.start()
            sent = play_with_midi(board, midi, seconds, rate, drain)
            time.sleep(STATUS_LAG)
            drain()
            status = inputs.status
            machine.stop()
        finally:
            for part in (board, midi):
                if part is not None:
                    part.close()
    return {"seen": seen, "midi_seen": midi_seen[0], "midi_sent": sent, "overflows": status.overflows - before,
            "dropped": sum(status.dropped.values()), "machine": machine}


def show(jack, screen, preset, size, signal, seconds, rate, probe: bool) -> dict:
    app = App(screen, "--audio-device", "system", "--channels", ",".join(map(str, range(1, CHANNELS + 1))),
              "--midi-port", "virtual", "--size", f"{size[0]}x{size[1]}", "--preset", preset,
              "--seconds", str(seconds + 120))
    board = midi = None
    sent = 0
    try:
        wait_for(lambda: app.saw("listening to"), 60.0, "the app's audio stream")
        wait_for(lambda: app.saw("MIDI listening"), 30.0, "the app's MIDI port")
        midi = MidiBoard(jack)
        board = Board(jack, CHANNELS, name="ddp-load-board")
        board.load(signal)
        board.connect()
        machine = Machine(jack, board, probe)
        time.sleep(1.5)
        measuring_from = time.monotonic()
        machine.start()
        sent = play_with_midi(board, midi, seconds, rate)
        measuring_until = time.monotonic()
        time.sleep(STATUS_LAG)  # the window's last overflows reach the telemetry,
        machine.stop()
        time.sleep(0.5)  # and its next status record is written before the players leave (a graph change)
    finally:
        for part in (board, midi):
            if part is not None:
                part.close()
        code = app.stop()
    frames, statuses = app.records()
    log = app.log_text()
    app.cleanup()
    seen = np.zeros(CHANNELS, int)
    midi_seen = 0
    for frame in frames:
        for tap in frame.get("taps", ()):
            if tap[1] == 0:
                seen[tap[2] - 1] += 1
            else:
                midi_seen += 1
    window = [f for f in frames if measuring_from <= f["swap"] <= measuring_until]
    swaps = np.array([f["swap"] for f in window])
    intervals = np.diff(swaps) * 1e3
    # each frame's phases after the swap before it: (→ drained, → drawn, → swapped), ms
    phases = np.array([(f["drained"] - s, f["drawn"] - f["drained"], f["swap"] - f["drawn"])
                       for s, f in zip(swaps, window[1:])]).reshape(-1, 3) * 1e3
    first = [s for s in statuses if s["time"] <= measuring_from][-1:]
    last = [s for s in statuses if s["time"] >= measuring_until + STATUS_LAG][:1]
    overflows = last[0]["overflows"] - first[0]["overflows"] if first and last else -1
    end = statuses[-1] if statuses else {}
    return {"seen": seen, "midi_seen": midi_seen, "midi_sent": sent, "intervals": intervals, "swaps": swaps,
            "phases": phases,
            "overflows": overflows, "dropped": sum(end.get("dropped", {}).values()), "exit": code,
            "restarts": end.get("restarts", -1), "log_errors": log.count("Traceback"), "machine": machine}


class Machine:
    """What happened around the app during a measurement window: the late cycles (JACK tells every
    client of any late cycle, and PortAudio counts each as an input overflow, so the count alone
    does not say whose it was), the clients jackd saw late, the CPU time the hypervisor took
    (steal) and, with `probe`, how late the machine woke a real-time thread outside JACK and
    the app: a late cycle while the probe also woke late is the machine's stall."""

    def __init__(self, jack, board, probe: bool):
        self.jack, self.board = jack, board
        self._probe = WakeupProbe() if probe else None  # its processes start now, before the window
        self._xruns, self._steal, self._from = {}, 0.0, 0.0
        self.late: dict[str, int] = {}
        self.steal_ms = 0.0
        self.cycles_late = 0  # late cycles jackd told the bench's player of, in the window
        self.wakeups = np.zeros((0, 2))  # the probe's (wake time, ms late)
        self.machine_stalls = 0  # late cycles the probe saw the machine stall for (0 without it)

    def start(self) -> None:
        self._xruns, self._steal, self._from = self.jack.xruns(), self.steal_seconds(), time.monotonic()
        if self._probe is not None:
            self._probe.start()

    @staticmethod
    def steal_seconds() -> float:
        try:
            with open("/proc/stat") as stat:
                return int(stat.readline().split()[8]) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> None:
        after = self.jack.xruns()
        self.late = {client: count - self._xruns.get(client, 0) for client, count in after.items()
                     if count > self._xruns.get(client, 0)}
        self.steal_ms = (self.steal_seconds() - self._steal) * 1e3
        xruns = self.board.xruns()
        xruns = xruns[xruns >= self._from]
        self.cycles_late = len(xruns)
        if self._probe is not None:
            self.wakeups = self._probe.stop()
            stalls = self.wakeups[self.wakeups[:, 1] > STALL_MS, 0]
            # jackd notices a late cycle at the next one and tells the clients from a thread that
            # is not real-time: the stall ends up to a few tens of milliseconds before the notice
            self.machine_stalls = sum(bool(((stalls > x - 0.03) & (stalls < x + 0.005)).any()) for x in xruns)

    def __str__(self) -> str:
        text = f"late cycles {self.cycles_late} (jackd blamed: {blamed(self.late)}); steal {self.steal_ms:.0f} ms"
        if self._probe is not None:
            text += (f"; of the late cycles, machine stalls {self.machine_stalls}; real-time wake-ups "
                     f"{wakeup_summary(self.wakeups[:, 1])}")
        return text


def blamed(late: dict[str, int]) -> str:
    return ", ".join(f"{client} {count}" for client, count in sorted(late.items())) or "none"


def describe_long_frame(result: dict, i: int) -> str:
    """A long frame's length, where it went, and with the probe the worst real-time wake-up meanwhile."""
    waited, drew, swapped = result["phases"][i]
    text = f"{result['intervals'][i]:.1f} ms (pacing and inputs {waited:.1f}, drawing {drew:.1f}, swap {swapped:.1f})"
    wakeups = result["machine"].wakeups
    if len(wakeups):
        inside = wakeups[(wakeups[:, 0] > result["swaps"][i]) & (wakeups[:, 0] <= result["swaps"][i + 1]), 1]
        text += f", worst real-time wake-up meanwhile {inside.max() if len(inside) else 0.0:.1f} ms late"
    return text


def chance_of_as_many(base: int, show: int) -> str:
    """Overflows are rare events, so a raw difference is mostly noise. The windows are equally
    long, so if the show lost blocks at the baseline's rate each overflow would be the show's
    with probability 1/2: the exact binomial chance of the show having this many or more. (They
    come in clusters, one stall flagging several, which only makes a gap look less like chance.)"""
    if base < 0 or show < 0:
        return "not measured (a status record was missing)"
    total = base + show
    if total == 0:
        return "none on either side"
    chance = sum(math.comb(total, k) for k in range(show, total + 1)) / 2 ** total
    verdict = "within chance of the baseline's rate" if chance > 0.05 else "more than the baseline's rate"
    return f"chance of {show} or more of the {total} at the baseline's rate: {chance:.2f} ({verdict})"


def wakeup_summary(late_ms: np.ndarray) -> str:
    if not len(late_ms):
        return "not measured"
    return (f"p99.9 {percentile(late_ms, 99.9):.2f} ms, max {late_ms.max():.1f} ms, "
            f"{int((late_ms > STALL_MS).sum())} over {STALL_MS:g} ms of {len(late_ms)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--rate", type=float, default=20.0, help="taps a second on each channel and on MIDI")
    parser.add_argument("--preset", help="instead of the heaviest gallery preset")
    parser.add_argument("--passes", type=int, default=1,
                        help="baseline and show this many times, interleaved: the overflow counts are rare "
                             "events, so compare their totals over several passes")
    parser.add_argument("--probe", action="store_true",
                        help="also run a real-time wake-up probe on each core, to tell the machine's stalls from the "
                             "app's late cycles (it wakes every core 1,000 times a second, which on a virtual machine "
                             "changes the noise it measures: off by default)")
    parser.add_argument("--offscreen", action="store_true",
                        help="draw with SDL's offscreen driver (EGL) instead of a window under Xvfb: "
                             "for a machine with a GPU and no display")
    args = parser.parse_args()
    say_if_real_time_refused()
    size = tuple(int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(3)
    signal, played = load_signal(args.seconds, args.rate, rng)

    jack = Jack(capture=CHANNELS).start()
    screen = Screen(args.offscreen)
    try:
        preset = args.preset or heaviest_preset(size)[0]
        print(f"load: {args.rate:g} taps/s on each of {CHANNELS} channels + {args.rate:g} MIDI taps/s, "
              f"{args.seconds:g} s, {size[0]}x{size[1]}, preset {preset!r}; played {sum(played)} audio taps")
        totals = {"base_overflows": 0, "show_overflows": 0, "midi_lost": 0, "dropped": 0, "long": 0,
                  "base_late": {}, "show_late": {}, "base_wakeups": [], "show_wakeups": [],
                  "base_cycles": 0, "show_cycles": 0, "base_stalls": 0, "show_stalls": 0}
        all_intervals = []
        bases, shows_seen = [], []
        for number in range(1, args.passes + 1):
            label = f"pass {number}/{args.passes}: " if args.passes > 1 else ""
            base = inputs_alone(jack, signal, args.seconds, args.rate, args.probe)
            print(f"  {label}inputs alone (baseline): {base['seen'].sum()} audio taps seen per channel "
                  f"{base['seen'].tolist()}, MIDI {base['midi_seen']} of {base['midi_sent']}, "
                  f"{base['overflows']} overflows, {base['dropped']} ring drops; "
                  f"{base['machine']}")
            result = show(jack, screen, preset, size, signal, args.seconds, args.rate, args.probe)
            intervals = result["intervals"]
            long_at = np.nonzero(intervals > 2 * percentile(intervals, 50))[0]
            long_frames = len(long_at)
            bases.append(base)
            shows_seen.append(result["seen"])
            print(f"  {label}show: {result['seen'].sum()} audio taps seen per channel {result['seen'].tolist()}, "
                  f"MIDI {result['midi_seen']} of {result['midi_sent']}, {result['overflows']} overflows, "
                  f"{result['dropped']} ring drops, input restarts {result['restarts']}, exit code {result['exit']}; "
                  f"{result['machine']}")
            if long_frames:
                print(f"  {label}show: frames longer than two intervals: "
                      + ", ".join(describe_long_frame(result, i) for i in long_at))
            totals["base_overflows"] += base["overflows"]
            totals["show_overflows"] += result["overflows"]
            totals["midi_lost"] += result["midi_sent"] - result["midi_seen"]
            totals["dropped"] += result["dropped"] + base["dropped"]
            totals["long"] += long_frames
            for key, part in (("base", base), ("show", result)):
                for client, count in part["machine"].late.items():
                    totals[f"{key}_late"][client] = totals[f"{key}_late"].get(client, 0) + count
                totals[f"{key}_wakeups"].append(part["machine"].wakeups[:, 1])
                totals[f"{key}_cycles"] += part["machine"].cycles_late
                totals[f"{key}_stalls"] += part["machine"].machine_stalls
            all_intervals.append(intervals)
        intervals = np.concatenate(all_intervals)
        interval = percentile(intervals, 50)
        extra_overflows = totals["show_overflows"] - totals["base_overflows"]
        over = f" over {args.passes} interleaved passes" if args.passes > 1 else ""
        # The same blocks give the same taps, so every baseline pass without an overflow sees the same
        # counts; a baseline pass that lost blocks itself is no reference.
        clean = [base["seen"] for base in bases if base["overflows"] == 0] or [base["seen"] for base in bases]
        reference = np.max(clean, axis=0)
        lost = int(sum(np.maximum(reference - seen, 0).sum() for seen in shows_seen))
        lost_alone = int(sum(np.maximum(reference - base["seen"], 0).sum() for base in bases))
        print(f"  audio taps lost{over}: baseline {lost_alone}, show {lost}; beyond the baseline: {lost - lost_alone} "
              f"(target <= 0)  {'ok' if lost <= lost_alone else 'MISSED'}  [against {int(reference.sum())} a pass, per "
              f"channel {reference.tolist()}: what {'the' if len(clean) == len(bases) else len(clean)} baseline "
              f"pass(es) without overflows saw]")
        print(f"  MIDI taps lost: {totals['midi_lost']} (target 0)  {'ok' if totals['midi_lost'] == 0 else 'MISSED'}")
        print(f"  ring drops: {totals['dropped']} (target 0)  {'ok' if totals['dropped'] == 0 else 'MISSED'}")
        print(f"  overflows: baseline {totals['base_overflows']}, show {totals['show_overflows']}; beyond the "
              f"baseline: {extra_overflows} (target <= 0)  {'ok' if extra_overflows <= 0 else 'MISSED'}; "
              f"{chance_of_as_many(totals['base_overflows'], totals['show_overflows'])}")
        for key, what in (("base", "baseline"), ("show", "show")):
            text = f"  {what} windows: late cycles {totals[f'{key}_cycles']} (jackd blamed: {blamed(totals[f'{key}_late'])})"
            if args.probe:
                text += (f", of which machine stalls {totals[f'{key}_stalls']}; real-time wake-ups "
                         f"{wakeup_summary(np.concatenate(totals[f'{key}_wakeups']))}")
            print(text)
        if args.probe:
            unexplained = (totals["show_cycles"] - totals["show_stalls"]) - (totals["base_cycles"] - totals["base_stalls"])
            print(f"  late cycles no machine stall explains, show beyond baseline: {unexplained} (target <= 0)  "
                  f"{'ok' if unexplained <= 0 else 'MISSED'}")
        print(f"  frames: {len(intervals) + args.passes}, median {interval:.1f} ms, p99 "
              f"{percentile(intervals, 99):.1f} ms, max {intervals.max():.1f} ms; longer than two intervals: "
              f"{totals['long']} (target 0)  {'ok' if totals['long'] == 0 else 'MISSED'}")
    finally:
        screen.close()
        jack.stop()
        remove_jack_registry()


if __name__ == "__main__":
    main()
