"""A sensor board heard with and without its calibration: bleed suppressed, feet landing together
kept, weight-shift false taps a minute; then the same for a multi-channel audio board.

The simulated four-sensor board of the tests (tests/sim_board.py: a known bleed matrix, delays,
velocity spread, weight-shift noise) is calibrated as `calibrate --midi-port` would hear it, then a
dance (a share of the strikes on two sensors at once) and minutes of weight shifts are played
straight into the MIDI listener's parser, each note at its own time (no MIDI system: the figures
do not depend on this machine). tests/test_board_jack.py plays the same board through JACK.

The multi-channel audio board (tests/sim_audio_board.py: four piezos, a known bleed matrix of
amplitude ratios and delays, weight-shift swells and creaks) is rendered to audio, calibrated as
`calibrate --audio-device --channels 1,2,3,4` hears it, and played through the show's audio path
(BlockHandler, the detector, the board's filter) block by block, offline.

    .venv/bin/python bench/board.py [--strikes 3000] [--minutes 30] [--seeds 5]
        [--audio-strikes 1000] [--audio-minutes 5] [--audio-seeds 3]   (--audio-seeds 0: sensors only)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sim_board import MAPPING, NOTES, SimulatedBoard, score  # noqa: E402

from dessins_de_planche.config import InputSpec  # noqa: E402
from dessins_de_planche.events import CONTROL_DTYPE, KIND_NAMES, TAP_DTYPE, merge_refinements  # noqa: E402
from dessins_de_planche.inputs import board_learn, board_table  # noqa: E402
from dessins_de_planche.inputs.midi import MidiListener  # noqa: E402
from dessins_de_planche.ring import Ring  # noqa: E402

ZONES = ("midi", "left", "right")
NOTE_OF = {(t.zone, t.kind): n for n, t in MAPPING.items()}


def calibrate(seed: int) -> board_table.BoardCalibration:
    sim, notes, at = SimulatedBoard(seed), [], 1.0
    for i in range(len(NOTES)):
        notes += sim.strikes_alone(i, 6, at, gap=0.7)
        at += 6 * 0.7 + 1.0
    shifts = sim.weight_shifts(at, 6.0)
    tuples = lambda ns: [(n.time, n.note, n.velocity / 127) for n in ns]  # noqa: E731
    return board_learn.learn(tuples(notes), tuples(shifts), 6.0, {n: t.zone for n, t in MAPPING.items()})


CPU = {}  # mode -> [seconds, notes]: the listener's own time per note, window and calibrated alike


def play(calibrated, notes):
    taps, controls = Ring.create(TAP_DTYPE, 1 << 18), Ring.create(CONTROL_DTYPE, 64)
    try:
        listener = MidiListener(InputSpec(midi_port="sim", midi_notes=MAPPING, midi_board=calibrated),
                                ZONES, taps, controls)
        messages = [([0x90, n.note, n.velocity], n.time) for n in notes]
        started = time.perf_counter()
        for message, at in messages:
            listener.on_message(message, at)
        spent = CPU.setdefault(calibrated is not None, [0.0, 0])
        spent[0] += time.perf_counter() - started
        spent[1] += len(messages)
        return merge_refinements(taps.pop())
    finally:
        taps.close()
        controls.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strikes", type=int, default=3000)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--audio-strikes", type=int, default=1000)
    parser.add_argument("--audio-minutes", type=float, default=5.0)
    parser.add_argument("--audio-seeds", type=int, default=3)
    args = parser.parse_args()
    print(f"{'':14} {'bleed suppressed':>17} {'together kept':>14} {'strikes kept':>13} {'shift taps/min':>15}")
    for label, calibrated in (("window 5 ms", False), ("calibrated", True)):
        bleed = false = together = together_kept = strikes = kept = shift_taps = 0
        for seed in range(args.seeds):
            cal = calibrate(100 + seed) if calibrated else None
            sim = SimulatedBoard(200 + seed)
            dance = sim.performance(args.strikes, start=10.0, gap=0.15, together=0.4)
            heard = score(dance, play(cal, dance), lambda t: NOTE_OF[ZONES[t["zone"]], KIND_NAMES[t["kind"]]], 0.02)
            bleed += heard["bleed"]
            false += heard["false_taps"]
            together += heard["together"]
            together_kept += heard["together_kept"]
            strikes += heard["strikes"]
            kept += heard["kept"]
            shift_taps += len(play(cal, sim.weight_shifts(10.0, 60.0 * args.minutes)))
        print(f"{label:14} {1 - false / bleed:>16.2%} {together_kept / together:>14.2%} {kept / strikes:>13.2%} "
              f"{shift_taps / (args.minutes * args.seeds):>15.2f}")
    window, calibrated = (CPU[mode][0] / CPU[mode][1] * 1e6 for mode in (False, True))
    print(f"the listener's time per note-on, parsed and decided: {window:.1f} µs with the window, "
          f"{calibrated:.1f} µs calibrated (same run, same notes)")
    print(f"({args.seeds} boards calibrated anew, {args.strikes} strikes each, 40 % of them two sensors at once; "
          f"{args.minutes:g} minutes of weight shifts each)")
    if args.audio_seeds:
        audio_board(args)


def audio_board(args) -> None:
    import sim_audio_board as sab

    print(f"\nmulti-channel audio board\n{'':14} {'bleed suppressed':>17} {'together kept':>14} "
          f"{'strikes kept':>13} {'shift taps/min':>15}")
    spent = {}
    for label, calibrated in (("detector 2 ms", False), ("calibrated", True)):
        bleed = false = together = together_kept = strikes = kept = shift_taps = 0
        for seed in range(args.audio_seeds):
            cal = None
            if calibrated:
                sim, parts, at = sab.SimulatedAudioBoard(100 + seed), [], 0.5
                for i in range(len(sab.CHANNELS)):
                    parts += sim.strikes_alone(i, 6, at, gap=0.6)
                    at += 6 * 0.6 + 0.5
                shifts = sim.weight_shifts(0.2, 6.0)
                cal = board_learn.learn_audio(sab.detected_taps(sim.render(parts, at)),
                                        sab.detected_taps(sim.render(shifts, 6.4)), 6.0)
            sim = sab.SimulatedAudioBoard(200 + seed)
            dance = sim.performance(args.audio_strikes, start=0.5, gap=0.15, together=0.4)
            audio = sim.render(dance, 0.5 + args.audio_strikes * 0.15 + 1.0)
            started = time.process_time()
            taps, _ = sab.listen(audio, cal)
            used = spent.setdefault(label, [0.0, 0.0])
            used[0] += time.process_time() - started
            used[1] += len(audio) / sab.SAMPLE_RATE
            heard = sab.score(sab.events(dance), taps, lambda t: int(t["zone"]) + 1, 0.02)
            bleed += heard["bleed"]
            false += heard["false_taps"]
            together += heard["together"]
            together_kept += heard["together_kept"]
            strikes += heard["strikes"]
            kept += heard["kept"]
            seconds = 60.0 * args.audio_minutes
            shift_taps += len(sab.listen(sim.render(sim.weight_shifts(0.2, seconds), seconds + 0.5), cal)[0])
        print(f"{label:14} {1 - false / bleed:>16.2%} {together_kept / together:>14.2%} {kept / strikes:>13.2%} "
              f"{shift_taps / (args.audio_minutes * args.audio_seeds):>15.2f}")
    cpu = {label: used[0] / used[1] for label, used in spent.items()}
    print(f"CPU per audio second, detector and filter (this process, the dance): {cpu['detector 2 ms']:.3f} with the "
          f"detector's own rule, {cpu['calibrated']:.3f} calibrated")
    print(f"({args.audio_seeds} boards calibrated anew, {args.audio_strikes} strikes each, 40 % of them two zones at "
          f"once; {args.audio_minutes:g} minutes of weight shifts each; bleed counted per strike and channel it reaches, "
          f"heard by the detector or not)")


if __name__ == "__main__":
    main()
