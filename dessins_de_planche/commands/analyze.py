"""`analyze`: the taps the live path finds in a recording."""

from __future__ import annotations

import json
import sys

from dessins_de_planche import options as opt
from dessins_de_planche.config import DEFAULT_BLOCK_SIZE

NAME = "analyze"
ORDER = 30
HELP = "find the taps in a recording with the live detector"
DESCRIPTION = ("Feed a recording block by block through the same detector the live path uses, "
               "and report the taps and the tempo.")


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="a WAV/FLAC/OGG recording")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--channels", type=opt.channels, metavar="1,2", help="channels to analyse (default: all)")
    parser.add_argument("--block-size", type=opt.bounded(int, *opt.BLOCK_SIZE, "frames"),
                        default=DEFAULT_BLOCK_SIZE)
    parser.add_argument("--bar-beats", type=opt.bounded(int, 1, 16), default=2,
                        help="beats in a bar (2 for a reel; 1..16, as in a preset)")
    parser.add_argument("--no-board-calibration", action="store_true",
                        help="several channels: ignore the multi-channel board's calibration (the detector's own "
                             "crosstalk rule decides: one strike heard on several channels is one tap, on the loudest)")


def main(args) -> int:
    opt.check_readable(args.file)
    from dessins_de_planche.inputs.analyze import analyze_file

    result = analyze_file(args.file, block_size=args.block_size, channels=args.channels, bar_beats=args.bar_beats,
                          board=False if args.no_board_calibration else None)
    report = result.to_json()
    for line in opt.take_warnings(args.file, len(report["taps"]), result.nonfinite_blocks):
        print(line, file=sys.stderr)
    if args.json:
        print(json.dumps(report))
        return 0
    tempo = f"{report['tempo_bpm']:.1f} BPM" if report["tempo_bpm"] else "unknown"
    print(f"{args.file}: {len(report['taps'])} taps in {report['duration']:.1f} s, tempo {tempo} "
          f"({report['withdrawn']} withdrawn, {report['detector']})")
    if report["board"] is not None:
        counts = report["board"].values()
        print(f"  the board's calibration: {sum(c['strikes'] for c in counts)} strikes, "
              f"{sum(c['bleed'] for c in counts)} bleed suppressed, "
              f"{sum(c['weight_shifts'] for c in counts)} weight shifts ignored")
    if report["soundcheck"]:
        print("  the soundcheck's bar (calibrate --music): " + ", ".join(
            f"ch{channel} {bar:.2f}" for channel, bar in report["soundcheck"].items())
              + " of a foot for a hit off the beat")
    for tap in report["taps"]:
        print(f"  {tap['time']:9.4f} s  ch{tap['channel']} {tap['zone']:<8} {tap['kind']:<7} "
              f"velocity {tap['velocity']:.2f}")
    return 0
