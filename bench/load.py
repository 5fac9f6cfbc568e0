"""Load: 20 taps/s on each of four audio channels plus 20 MIDI taps/s, under the heaviest gallery preset.

Two passes play the same taps through JACK (dummy driver, 48 kHz, 128-frame periods):

1. **audio alone** (the baseline): the input process with nothing rendering, its rings
   drained by a sleeping loop;
2. **the show**: the app in a real window (Xvfb) with the heaviest preset, audio and
   MIDI together, writing its telemetry.

Targets: no dropped events (ring drops; taps seen in the show = taps seen by the
baseline; every MIDI tap seen), no audio overflows beyond the baseline's, no frame
longer than two frame intervals (the p99 frame time is reported).

    .venv/bin/python bench/load.py [--seconds 20] [--size 640x360] [--rate 20] [--passes 1]

Overflows are rare on this machine even with audio alone (about one a half-minute),
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
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stage import SAMPLE_RATE, App, Board, Jack, MidiBoard, heaviest_preset, percentile, start_xvfb, wait_for  # noqa: E402

CHANNELS = 4
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


def audio_alone(jack, signal) -> dict:
    from dessins_de_planche.config import InputSpec
    from dessins_de_planche.inputs.process import InputProcess

    spec = InputSpec(audio_device="system", channels=tuple(range(1, CHANNELS + 1)))
    seen = np.zeros(CHANNELS, int)
    with InputProcess(spec) as inputs:
        wait_for(lambda: inputs.status.audio_state == "listening", 30.0, "the baseline's audio stream")
        board = Board(jack, CHANNELS, name="ddp-load-board")
        try:
            board.load(signal)
            board.connect()
            time.sleep(1.0)
            before = inputs.status.overflows
            machine = Machine(jack)
            board.play()
            while not board.finished():
                taps = inputs.poll().taps
                taps = taps[taps["refine"] == 0]
                np.add.at(seen, taps["channel"].astype(int) - 1, 1)
                time.sleep(0.01)
            time.sleep(STATUS_LAG)
            taps = inputs.poll().taps
            taps = taps[taps["refine"] == 0]
            np.add.at(seen, taps["channel"].astype(int) - 1, 1)
            status = inputs.status
            machine.stop()
        finally:
            board.close()
    return {"seen": seen, "overflows": status.overflows - before, "dropped": sum(status.dropped.values()),
            "machine": machine}


def show(jack, display, preset, size, signal, seconds, rate) -> dict:
    app = App(display, "--audio-device", "system", "--channels", ",".join(map(str, range(1, CHANNELS + 1))),
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
        time.sleep(1.5)
        start = time.monotonic()
        measuring_from = start
        machine = Machine(jack)
        board.play(lead_seconds=0.3)
        next_at = start + 0.3 + 0.2 + 0.025
        while not board.finished() or time.monotonic() < next_at:
            now = time.monotonic()
            if now >= next_at and now < start + 0.3 + seconds - 0.4:
                midi.send(0x90, 36 + sent % 4, 1 + sent % 127)
                midi.send(0x80, 36 + sent % 4, 0)
                sent += 1
                next_at += 1.0 / rate
            elif now >= start + 0.3 + seconds - 0.4:
                break
            time.sleep(0.001)
        wait_for(board.finished, 60.0, "the taps to be played")
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
    swaps = np.array([f["swap"] for f in frames if measuring_from <= f["swap"] <= measuring_until])
    intervals = np.diff(swaps) * 1e3
    first = [s for s in statuses if s["time"] <= measuring_from][-1:]
    last = [s for s in statuses if s["time"] >= measuring_until + STATUS_LAG][:1]
    overflows = last[0]["overflows"] - first[0]["overflows"] if first and last else -1
    end = statuses[-1] if statuses else {}
    return {"seen": seen, "midi_seen": midi_seen, "midi_sent": sent, "intervals": intervals,
            "overflows": overflows, "dropped": sum(end.get("dropped", {}).values()), "exit": code,
            "restarts": end.get("restarts", -1), "log_errors": log.count("Traceback"), "machine": machine}


class Machine:
    """What happened around the app during a measurement window: the JACK clients jackd saw
    late (whose the overflows are: JACK tells every client of any late cycle, and PortAudio
    reports each as an input overflow) and the CPU time the hypervisor took (steal)."""

    def __init__(self, jack):
        self.jack = jack
        self._xruns, self._steal = jack.xruns(), self.steal_seconds()
        self.late: dict[str, int] = {}
        self.steal_ms = 0.0

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

    def __str__(self) -> str:
        late = ", ".join(f"{client} {count}" for client, count in sorted(self.late.items())) or "none"
        return f"late JACK clients (jackd) {late}; steal {self.steal_ms:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--rate", type=float, default=20.0, help="taps a second on each channel and on MIDI")
    parser.add_argument("--preset", help="instead of the heaviest gallery preset")
    parser.add_argument("--passes", type=int, default=1,
                        help="baseline and show this many times, interleaved: the overflow counts are rare "
                             "events, so compare their totals over several passes")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(3)
    signal, played = load_signal(args.seconds, args.rate, rng)

    jack = Jack(capture=CHANNELS).start()
    xvfb, display = start_xvfb()
    try:
        preset = args.preset or heaviest_preset(size)[0]
        print(f"load: {args.rate:g} taps/s on each of {CHANNELS} channels + {args.rate:g} MIDI taps/s, "
              f"{args.seconds:g} s, {size[0]}x{size[1]}, preset {preset!r}; played {sum(played)} audio taps")
        totals = {"base_overflows": 0, "show_overflows": 0, "lost": 0, "midi_lost": 0, "dropped": 0, "long": 0,
                  "base_late": {}, "show_late": {}}
        all_intervals = []
        for number in range(1, args.passes + 1):
            label = f"pass {number}/{args.passes}: " if args.passes > 1 else ""
            base = audio_alone(jack, signal)
            print(f"  {label}audio alone (baseline): {base['seen'].sum()} taps seen per channel "
                  f"{base['seen'].tolist()}, {base['overflows']} overflows, {base['dropped']} ring drops; "
                  f"{base['machine']}")
            result = show(jack, display, preset, size, signal, args.seconds, args.rate)
            intervals = result["intervals"]
            long_frames = int((intervals > 2 * percentile(intervals, 50)).sum())
            lost = int(np.maximum(base["seen"] - result["seen"], 0).sum())
            print(f"  {label}show: {result['seen'].sum()} audio taps seen per channel {result['seen'].tolist()}, "
                  f"MIDI {result['midi_seen']} of {result['midi_sent']}, {result['overflows']} overflows, "
                  f"{result['dropped']} ring drops, input restarts {result['restarts']}, exit code {result['exit']}; "
                  f"{result['machine']}")
            totals["base_overflows"] += base["overflows"]
            totals["show_overflows"] += result["overflows"]
            totals["lost"] += lost
            totals["midi_lost"] += result["midi_sent"] - result["midi_seen"]
            totals["dropped"] += result["dropped"] + base["dropped"]
            totals["long"] += long_frames
            for key, part in (("base_late", base), ("show_late", result)):
                for client, count in part["machine"].late.items():
                    totals[key][client] = totals[key].get(client, 0) + count
            all_intervals.append(intervals)
        intervals = np.concatenate(all_intervals)
        interval = percentile(intervals, 50)
        extra_overflows = totals["show_overflows"] - totals["base_overflows"]
        over = f" over {args.passes} interleaved passes" if args.passes > 1 else ""
        print(f"  audio taps lost against the baseline{over}: {totals['lost']} (target 0)  "
              f"{'ok' if totals['lost'] == 0 else 'MISSED'}")
        print(f"  MIDI taps lost: {totals['midi_lost']} (target 0)  {'ok' if totals['midi_lost'] == 0 else 'MISSED'}")
        print(f"  ring drops: {totals['dropped']} (target 0)  {'ok' if totals['dropped'] == 0 else 'MISSED'}")
        print(f"  overflows: baseline {totals['base_overflows']}, show {totals['show_overflows']}; beyond the "
              f"baseline: {extra_overflows} (target <= 0)  {'ok' if extra_overflows <= 0 else 'MISSED'}")
        for key, what in (("base_late", "baseline"), ("show_late", "show")):
            late = ", ".join(f"{client} {count}" for client, count in sorted(totals[key].items())) or "none"
            print(f"  late JACK clients in the {what} windows (jackd): {late}")
        print(f"  frames: {len(intervals) + args.passes}, median {interval:.1f} ms, p99 "
              f"{percentile(intervals, 99):.1f} ms, max {intervals.max():.1f} ms; longer than two intervals: "
              f"{totals['long']} (target 0)  {'ok' if totals['long'] == 0 else 'MISSED'}")
    finally:
        xvfb.terminate()
        xvfb.wait(10)
        jack.stop()
        Jack.remove_shared_memory()


if __name__ == "__main__":
    main()
