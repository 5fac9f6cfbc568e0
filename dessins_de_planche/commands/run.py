"""`run`: the live window."""

from __future__ import annotations

from dessins_de_planche.commands import _options as opt
from dessins_de_planche.config import DEFAULT_BLOCK_SIZE, DEFAULT_SAMPLE_RATE, GeneratorSpec, InputSpec

NAME = "run"
ORDER = 10
HELP = "open the window and draw the feet live"
DESCRIPTION = ("Open the window and draw. With no device named, runs the bundled demo "
               "(a synthesized podorhythm over music) and says so on screen.")


def add_arguments(run) -> None:
    source = run.add_argument_group("what to listen to")
    source.add_argument("--audio-device", type=opt.device, metavar="NAME_OR_INDEX",
                        help="audio input device (see `dessins-de-planche devices`)")
    source.add_argument("--channels", type=opt.channels, metavar="1,2",
                        help="input channels to listen to, one board zone each (default: 1)")
    source.add_argument("--zones", type=lambda t: tuple(z.strip() for z in t.split(",")), metavar="left,right",
                        help="names of the zones of --channels, in order (default: board, or left,right)")
    source.add_argument("--midi-port", metavar="NAME",
                        help="MIDI input port (part of its name), or 'virtual' to open a port others connect to")
    source.add_argument("--midi-map", type=opt.midi_map, default={}, metavar="36=left:heel,...",
                        help="MIDI notes to zones and heel/toe (default: any note is a tap)")
    source.add_argument("--input", metavar="FILE.wav", help="replay a recording through the detector, in real time")
    source.add_argument("--generate", action="store_true",
                        help="play a generated pattern (see --bpm, --taps-per-beat, --pattern, --jitter-ms)")
    source.add_argument("--bpm", type=opt.positive(float), default=GeneratorSpec.bpm, help="generator tempo")
    source.add_argument("--taps-per-beat", type=opt.positive(int), default=GeneratorSpec.taps_per_beat,
                        help="generator taps per beat (2, 3 or 4)")
    source.add_argument("--pattern", type=opt.pattern, default=GeneratorSpec.pattern, metavar="heel,toe",
                        help="generator heel/toe steps, cycled")
    source.add_argument("--jitter-ms", type=float, default=GeneratorSpec.jitter_ms,
                        help="generator human timing jitter")
    source.add_argument("--no-loop", action="store_true", help="stop replaying --input at its end")
    audio = run.add_argument_group("audio stream")
    audio.add_argument("--sample-rate", type=opt.positive(int), default=DEFAULT_SAMPLE_RATE)
    audio.add_argument("--block-size", type=opt.positive(int), default=DEFAULT_BLOCK_SIZE)
    look = run.add_argument_group("picture")
    look.add_argument("--preset", default=None, metavar="NAME", help="preset to start with (name or .toml file)")
    look.add_argument("--size", type=opt.size, default=(1280, 720), metavar="WxH", help="window size")
    look.add_argument("--fullscreen", action="store_true", help="start in full screen (F11 or f toggles)")
    look.add_argument("--max-fps", type=opt.positive(float), default=None,
                      help="cap the frame rate (default: the display's vsync, or 60 where vsync is unavailable)")
    look.add_argument("--soundcheck", action="store_true", help="start with the sound-check view shown")
    scripted = run.add_argument_group("scripted runs (tests, demos)")
    scripted.add_argument("--frames", type=opt.positive(int), help="quit after this many frames")
    scripted.add_argument("--seconds", type=opt.positive(float), help="quit after this many seconds")
    scripted.add_argument("--screenshot", metavar="FILE.png", help="save the last frame to this PNG on exit")
    scripted.add_argument("--telemetry", metavar="FILE.jsonl",
                          help="write each frame's timing and the taps it first drew (see app/telemetry.py)")
    scripted.add_argument("--telemetry-pixels", action="store_true",
                          help="with --telemetry: read every frame back and count newly bright pixels (slower)")
    scripted.add_argument("--gl-debug", action="store_true", help="check for GL errors after every frame and log them")


def input_spec_from_args(args) -> InputSpec:
    if args.input and args.generate:
        raise opt.UsageError("choose one simulated input: --input FILE or --generate, not both")
    if args.input:
        opt.check_readable(args.input)
    generator = None
    if args.generate:
        generator = GeneratorSpec(bpm=args.bpm, taps_per_beat=args.taps_per_beat,
                                  pattern=args.pattern, jitter_ms=args.jitter_ms)
    channels = args.channels
    if channels is None and args.audio_device is not None:
        channels = (1,)
    return InputSpec(
        audio_device=args.audio_device, channels=channels, sample_rate=args.sample_rate,
        block_size=args.block_size, midi_port=args.midi_port, input_file=args.input,
        generator=generator, loop=not args.no_loop, zones=args.zones or (), midi_notes=args.midi_map,
    )


def main(args) -> int:
    spec = input_spec_from_args(args)
    from dessins_de_planche.app.preflight import check_devices_exist

    check_devices_exist(spec)  # one clear line naming what does exist, before any window opens
    from dessins_de_planche.app.window import run_window

    return run_window(spec, args)
