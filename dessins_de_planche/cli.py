"""The `dessins-de-planche` command: run, devices, analyze, render.

Every error a user can cause ends in one line on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from dessins_de_planche import __version__
from dessins_de_planche.config import DEFAULT_BLOCK_SIZE, DEFAULT_SAMPLE_RATE, GeneratorSpec, InputSpec, MidiNote

log = logging.getLogger("dessins_de_planche")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # our log says what matters


class UsageError(Exception):
    """A mistake on the command line or in what it names: reported as one line."""


# -- option parsing helpers ---------------------------------------------------
def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"size {text!r} is out of range (16..16384 per side)")
    return width, height


def _channels(text: str) -> tuple[int, ...]:
    try:
        channels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 1-based channel numbers such as 1,2, got {text!r}") from None
    if not channels or min(channels) < 1:
        raise argparse.ArgumentTypeError(f"channel numbers start at 1, got {text!r}")
    return channels


def _device(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def _pattern(text: str) -> tuple[str, ...]:
    steps = tuple(step.strip().lower() for step in text.split(",") if step.strip())
    bad = [s for s in steps if s not in ("heel", "toe", "h", "t")]
    if not steps or bad:
        raise argparse.ArgumentTypeError(f"a pattern is heel/toe steps such as heel,toe,toe (got {text!r})")
    return tuple("heel" if s in ("heel", "h") else "toe" for s in steps)


def _midi_map(text: str) -> dict[int, MidiNote]:
    """`36=left:heel,38=left:toe` -> note 36 is a heel on the left zone, ..."""
    notes = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            note, target = item.split("=")
            zone, _, kind = target.partition(":")
            kind = kind or "unknown"
            if kind not in ("heel", "toe", "unknown") or not zone or not 0 <= int(note) <= 127:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad MIDI mapping {item!r}: write NOTE=ZONE[:heel|toe], e.g. 36=left:heel") from None
        notes[int(note)] = MidiNote(zone=zone, kind=kind)
    return notes


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


# -- the parser ---------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dessins-de-planche",
        description="Live drawings from podorhythm: foot taps heard by a board mic or a MIDI trigger board.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="how much to log on stderr (default: info)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="open the window and draw the feet live",
                              description="Open the window and draw. With no device named, runs the bundled "
                                          "demo (a synthesized podorhythm over music) and says so on screen.")
    source = run.add_argument_group("what to listen to")
    source.add_argument("--audio-device", type=_device, metavar="NAME_OR_INDEX",
                        help="audio input device (see `dessins-de-planche devices`)")
    source.add_argument("--channels", type=_channels, metavar="1,2",
                        help="input channels to listen to, one board zone each (default: 1)")
    source.add_argument("--zones", type=lambda t: tuple(z.strip() for z in t.split(",")), metavar="left,right",
                        help="names of the zones of --channels, in order (default: board, or left,right)")
    source.add_argument("--midi-port", metavar="NAME",
                        help="MIDI input port (part of its name), or 'virtual' to open a port others connect to")
    source.add_argument("--midi-map", type=_midi_map, default={}, metavar="36=left:heel,...",
                        help="MIDI notes to zones and heel/toe (default: any note is a tap)")
    source.add_argument("--input", metavar="FILE.wav", help="replay a recording through the detector, in real time")
    source.add_argument("--generate", action="store_true",
                        help="play a generated pattern (see --bpm, --taps-per-beat, --pattern, --jitter-ms)")
    source.add_argument("--bpm", type=_positive(float), default=GeneratorSpec.bpm, help="generator tempo")
    source.add_argument("--taps-per-beat", type=_positive(int), default=GeneratorSpec.taps_per_beat,
                        help="generator taps per beat (2, 3 or 4)")
    source.add_argument("--pattern", type=_pattern, default=GeneratorSpec.pattern, metavar="heel,toe",
                        help="generator heel/toe steps, cycled")
    source.add_argument("--jitter-ms", type=float, default=GeneratorSpec.jitter_ms,
                        help="generator human timing jitter")
    source.add_argument("--no-loop", action="store_true", help="stop replaying --input at its end")
    audio = run.add_argument_group("audio stream")
    audio.add_argument("--sample-rate", type=_positive(int), default=DEFAULT_SAMPLE_RATE)
    audio.add_argument("--block-size", type=_positive(int), default=DEFAULT_BLOCK_SIZE)
    look = run.add_argument_group("picture")
    look.add_argument("--preset", default=None, metavar="NAME", help="preset to start with (name or .toml file)")
    look.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH", help="window size")
    look.add_argument("--fullscreen", action="store_true", help="start in full screen (F11 or f toggles)")
    look.add_argument("--max-fps", type=_positive(float), default=None,
                      help="cap the frame rate (default: the display's vsync, or 60 where vsync is unavailable)")
    look.add_argument("--soundcheck", action="store_true", help="start with the sound-check view shown")
    test = run.add_argument_group("scripted runs (tests, demos)")
    test.add_argument("--frames", type=_positive(int), help="quit after this many frames")
    test.add_argument("--seconds", type=_positive(float), help="quit after this many seconds")
    test.add_argument("--screenshot", metavar="FILE.png", help="save the last frame to this PNG on exit")

    commands.add_parser("devices", help="list audio inputs and MIDI ports",
                        description="List audio input devices (with host API and channels) and MIDI input ports.")

    analyze = commands.add_parser(
        "analyze", help="find the taps in a recording with the live detector",
        description="Feed a recording block by block through the same detector the live path uses, "
                    "and report the taps and the tempo.")
    analyze.add_argument("file", metavar="FILE", help="a WAV/FLAC/OGG recording")
    analyze.add_argument("--json", action="store_true", help="print one JSON object")
    analyze.add_argument("--channels", type=_channels, metavar="1,2", help="channels to analyse (default: all)")
    analyze.add_argument("--block-size", type=_positive(int), default=DEFAULT_BLOCK_SIZE)
    analyze.add_argument("--bar-beats", type=_positive(int), default=2, help="beats in a bar (2 for a reel)")

    render = commands.add_parser("render", help="render a performance offline to a PNG",
                                 description="Render, headless, the drawing a recorded performance makes.")
    render.add_argument("--input", required=True, metavar="FILE.wav", help="the recorded performance")
    render.add_argument("--preset", default="rosette", metavar="NAME", help="preset name or .toml file")
    render.add_argument("--out", required=True, metavar="FILE.png", help="where to write the picture")
    render.add_argument("--size", type=_size, default=(1920, 1080), metavar="WxH")
    return parser


# -- commands -----------------------------------------------------------------
def input_spec_from_args(args) -> InputSpec:
    generator = None
    if args.generate:
        generator = GeneratorSpec(bpm=args.bpm, taps_per_beat=args.taps_per_beat,
                                  pattern=args.pattern, jitter_ms=args.jitter_ms)
    if args.input and args.generate:
        raise UsageError("choose one simulated input: --input FILE or --generate, not both")
    if args.input:
        _check_readable(args.input)
    channels = args.channels
    if channels is None and args.audio_device is not None:
        channels = (1,)
    return InputSpec(
        audio_device=args.audio_device, channels=channels, sample_rate=args.sample_rate,
        block_size=args.block_size, midi_port=args.midi_port, input_file=args.input,
        generator=generator, loop=not args.no_loop, zones=args.zones or (), midi_notes=args.midi_map,
    )


def _check_readable(path: str) -> None:
    import os

    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise UsageError(f"{path}: not a readable file")


def cmd_run(args) -> int:
    spec = input_spec_from_args(args)
    from dessins_de_planche.app.preflight import check_devices_exist

    check_devices_exist(spec)  # one clear line naming what does exist, before any window opens
    from dessins_de_planche.app.window import run_window

    return run_window(spec, args)


def cmd_devices(args) -> int:
    from dessins_de_planche.inputs.devices import format_devices

    print(format_devices())
    return 0


def cmd_analyze(args) -> int:
    _check_readable(args.file)
    from dessins_de_planche.listen.analyze import analyze_file

    result = analyze_file(args.file, block_size=args.block_size, channels=args.channels, bar_beats=args.bar_beats)
    report = result.to_json()
    if args.json:
        print(json.dumps(report))
        return 0
    tempo = f"{report['tempo_bpm']:.1f} BPM" if report["tempo_bpm"] else "unknown"
    print(f"{args.file}: {len(report['taps'])} taps in {report['duration']:.1f} s, tempo {tempo}")
    for tap in report["taps"]:
        print(f"  {tap['time']:9.4f} s  ch{tap['channel']} {tap['zone']:<8} {tap['kind']:<7} "
              f"velocity {tap['velocity']:.2f}")
    return 0


def cmd_render(args) -> int:
    _check_readable(args.input)
    from dessins_de_planche.render.offline import preset_by_name, render_performance

    preset = preset_by_name(args.preset)
    render_performance(args.input, preset, args.size, args.out, progress=_progress_bar(f"rendering {args.out}"))
    log.info("wrote %s (%dx%d)", args.out, *args.size)
    return 0


def _progress_bar(label: str):
    if not sys.stderr.isatty():
        return None

    def show(fraction: float) -> None:
        filled = int(fraction * 30)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}")
        if fraction >= 1:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


COMMANDS = {"run": cmd_run, "devices": cmd_devices, "analyze": cmd_analyze, "render": cmd_render}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the one place errors become one line for the user
        if args.log_level == "debug":
            log.exception("failed")
        message = _user_message(error)
        print(f"dessins-de-planche {args.command}: {message}", file=sys.stderr)
        return 1


def _user_message(error: Exception) -> str:
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"{error.filename}: no such file"
    text = str(error) or type(error).__name__
    known = ("UsageError", "DeviceNotFound", "PresetError", "AnalysisError", "ShaderError")
    if type(error).__name__ in known or isinstance(error, (ValueError, OSError)):
        return text
    return f"{type(error).__name__}: {text} (run with --log-level debug for details)"
