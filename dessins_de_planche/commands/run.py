"""`run`: the live window."""

from __future__ import annotations

from dessins_de_planche import options as opt
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
    source.add_argument("--midi-crosstalk-ms", type=opt.non_negative(float), default=5.0, metavar="MS",
                        help="note-ons closer than this are one strike heard by several sensors: one tap, on "
                             "the loudest (default: 5; 0: every note-on is a tap); a board calibrated with "
                             "`calibrate --midi-port` uses what was learned instead")
    source.add_argument("--no-midi-calibration", action="store_true",
                        help="ignore the sensor board's calibration: the --midi-crosstalk-ms window decides")
    source.add_argument("--no-board-calibration", action="store_true",
                        help="several --channels: ignore the multi-channel board's calibration (the detector's own "
                             "crosstalk rule decides: one strike heard on several channels is one tap, on the loudest)")
    source.add_argument("--fuse", action="store_true",
                        help="the board's mic (--audio-device) and its sensors (--midi-port) as one: each strike one "
                             "tap, its zone from the sensor, its time, heel/toe and velocity from the mic (automatic "
                             "when both are given; --input with --midi-port needs it)")
    source.add_argument("--no-fuse", action="store_true",
                        help="--audio-device and --midi-port are not one board: every tap from each, unfused")
    source.add_argument("--input", metavar="FILE.wav", help="replay a recording through the detector, in real time")
    source.add_argument("--generate", action="store_true",
                        help="play a generated pattern (see --bpm, --taps-per-beat, --pattern, --jitter-ms)")
    source.add_argument("--bpm", type=opt.bounded(float, *opt.BPM, "BPM"), default=GeneratorSpec.bpm,
                        help="generator tempo (20..400)")
    source.add_argument("--taps-per-beat", type=opt.bounded(int, *opt.TAPS_PER_BEAT),
                        default=GeneratorSpec.taps_per_beat, help="generator taps per beat (2, 3 or 4; at most 8)")
    source.add_argument("--pattern", type=opt.pattern, default=GeneratorSpec.pattern, metavar="heel,toe",
                        help="generator heel/toe steps, cycled")
    source.add_argument("--jitter-ms", type=opt.bounded(float, *opt.JITTER_MS, "ms"), default=GeneratorSpec.jitter_ms,
                        help="generator human timing jitter")
    source.add_argument("--no-loop", action="store_true", help="stop replaying --input at its end")
    audio = run.add_argument_group("audio stream")
    audio.add_argument("--sample-rate", type=opt.bounded(int, *opt.SAMPLE_RATE, "Hz"), default=DEFAULT_SAMPLE_RATE)
    audio.add_argument("--block-size", type=opt.bounded(int, *opt.BLOCK_SIZE, "frames"), default=DEFAULT_BLOCK_SIZE)
    look = run.add_argument_group("picture")
    look.add_argument("--preset", default=None, metavar="NAME", help="preset to start with (name or .toml file)")
    look.add_argument("--presets", action="append", default=[], metavar="DIR",
                      help="a folder of your own presets, watched and reloaded live (may be repeated)")
    look.add_argument("--fade", type=opt.bounded(float, 0.0, 60.0, "s"), default=1.0, metavar="SECONDS",
                      help="crossfade between presets when a preset does not set its own (0: a hard cut)")
    look.add_argument("--size", type=opt.size, default=(1280, 720), metavar="WxH", help="window size")
    look.add_argument("--fullscreen", action="store_true", help="start in full screen (F11 or f toggles)")
    look.add_argument("--max-fps", type=opt.positive(float), default=None,
                      help="cap the frame rate (default: the display's vsync, or 60 where vsync is unavailable)")
    look.add_argument("--render-scale", type=_render_scale, default=None, metavar="auto|0.5..1",
                      help="draw at this share of the screen's resolution, sampled up (default auto: lowered "
                           "when frames run long, raised when there is headroom; 1 turns that off)")
    look.add_argument("--soundcheck", action="store_true", help="start with the sound-check view shown")
    add_stage_arguments(run)
    scripted = run.add_argument_group("scripted runs (tests, demos)")
    scripted.add_argument("--frames", type=opt.positive(int), help="quit after this many frames")
    scripted.add_argument("--seconds", type=opt.positive(float), help="quit after this many seconds")
    scripted.add_argument("--screenshot", metavar="FILE.png", help="save the last frame to this PNG on exit")
    scripted.add_argument("--telemetry", metavar="FILE.jsonl",
                          help="write each frame's timing and the taps it first drew (see app/telemetry.py)")
    scripted.add_argument("--telemetry-pixels", action="store_true",
                          help="with --telemetry: read every frame back and count newly bright pixels (slower)")
    scripted.add_argument("--gl-debug", action="store_true", help="check for GL errors after every frame and log them")


def _render_scale(text: str):
    import argparse

    from dessins_de_planche.app.governor import parse_render_scale

    try:
        return parse_render_scale(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).replace("could not convert string to float: ",
                                                            "not a number or auto: ")) from None


def add_stage_arguments(run) -> None:
    """The performer's and the installation's options (app/console.py, app/kiosk.py)."""
    from dessins_de_planche.app.output import FLIPS, ROTATIONS

    window = run.add_argument_group("window and projector")
    window.add_argument("--display", type=int, default=0, metavar="N", help="the screen to open on (0: the first)")
    window.add_argument("--position", type=opt.position, metavar="X,Y", help="window position on the screen")
    window.add_argument("--flip", choices=FLIPS, default="none", help="mirror the output (rear projection: horizontal)")
    window.add_argument("--rotate", type=int, choices=ROTATIONS, default=0, help="turn the output clockwise (degrees)")
    window.add_argument("--operator", action="store_true",
                        help="a second window for the performer (HUD, sound check, presets, errors, a view of "
                             "the projection); the projector shows the drawing only")
    window.add_argument("--operator-display", type=int, default=0, metavar="N",
                        help="the screen for the operator window (default 0)")
    window.add_argument("--warp", metavar="FILE.toml",
                        help="corner-pin of the output (the w key sets it up live and saves here; default: "
                             "the display's own file in the config folder)")
    window.add_argument("--dimmer", type=opt.fraction, default=1.0, metavar="0..1", help="master dimmer")
    window.add_argument("--hide-cursor", action="store_true", help="hide the mouse cursor over the window")
    performer = run.add_argument_group("performer")
    performer.add_argument("--hud", action="store_true", help="start with the HUD shown (h toggles; ? lists the keys)")
    performer.add_argument("--lang", choices=("auto", "en", "fr"), default="auto",
                           help="language of on-screen text (default: from the locale)")
    performer.add_argument("--midi-control", metavar="FILE.toml",
                           help="MIDI control map: notes -> zones, CC -> functions or preset numbers, "
                                "program -> preset; MIDI learn saves here (default: midi.toml in the config folder)")
    performer.add_argument("--playlist", metavar="FILE.toml", help="presets in order, each for a time or until the cue")
    performer.add_argument("--rotate-presets", type=opt.positive(float), metavar="MINUTES",
                           help="change to the next preset every MINUTES")
    performer.add_argument("--autosave-dir", metavar="DIR", help="where drawings are saved before a clear "
                           "(default: drawings/ in the user data folder)")
    performer.add_argument("--no-autosave", action="store_true", help="do not save drawings before a clear")
    network = run.add_argument_group("OSC and recording")
    network.add_argument("--osc-in", metavar="[HOST:]PORT",
                         help="receive OSC control (docs/osc.md) on this address (host default 127.0.0.1)")
    network.add_argument("--osc-send", action="append", metavar="HOST:PORT",
                         help="send every tap, the tempo and the beat over OSC here (repeat for several)")
    network.add_argument("--listen-osc", action="store_true",
                         help="draw the taps another instance sends (on --osc-in, default 127.0.0.1:7400)")
    network.add_argument("--record", metavar="DIR", help="record the session's events to DIR/events.jsonl")
    network.add_argument("--virtual-camera", action="store_true",
                         help="send the projected picture to a virtual camera that OBS or a VJ mixer opens like a "
                              "webcam (Linux: v4l2loopback; pip install 'dessins-de-planche[camera]')")
    network.add_argument("--record-video", metavar="FILE.mp4",
                         help="record the projected picture as H.264 while the show runs (frames the encoder "
                              "cannot keep up with are dropped and counted, never waited for)")
    network.add_argument("--record-audio", action="store_true",
                         help="with --record: also the input audio (DIR/audio.wav); never by default")
    install = run.add_argument_group("installation")
    install.add_argument("--kiosk", action="store_true",
                         help="full screen, no cursor, Esc ignored, quit only by --quit-chord or a signal; "
                              "waits for missing devices; logs to a size-capped file")
    install.add_argument("--quit-chord", default="ctrl+alt+q", metavar="KEYS", help="the keys that quit (kiosk too)")
    install.add_argument("--attract-after", type=opt.positive(float), metavar="MINUTES",
                         help="after MINUTES without taps the wall draws by itself (kiosk default: 3)")
    install.add_argument("--health-file", metavar="FILE.json",
                         help="write the last frame time and input state here about once a second")
    install.add_argument("--log-file", metavar="FILE", help="also log to this rotating file (kiosk: a default one)")
    install.add_argument("--log-max-kb", type=opt.positive(int), default=1024, help="size cap of each log file")


def input_spec_from_args(args) -> InputSpec:
    from dessins_de_planche.record.session import is_session

    if args.input and args.generate:
        raise opt.UsageError("choose one simulated input: --input FILE or --generate, not both")
    session = bool(args.input) and is_session(args.input)
    if args.record_audio and not args.record:
        raise opt.UsageError("--record-audio records into the --record DIR folder: give --record DIR too")
    if args.input and not session:
        opt.check_readable(args.input)
        opt.check_channels(args.input, args.channels)
    elif args.channels and args.audio_device is None and args.channels != (1,):
        raise opt.UsageError("--channels chooses channels of --audio-device or --input; the demo and --generate "
                             "are one channel")
    _check_osc(args)
    generator = None
    if args.generate:
        generator = GeneratorSpec(bpm=args.bpm, taps_per_beat=args.taps_per_beat,
                                  pattern=args.pattern, jitter_ms=args.jitter_ms)
    channels = args.channels
    if channels is None and args.audio_device is not None:
        channels = (1,)
    return InputSpec(
        audio_device=args.audio_device, channels=channels, sample_rate=args.sample_rate,
        block_size=args.block_size, midi_port=args.midi_port, input_file=None if session else args.input,
        generator=generator, loop=not args.no_loop, zones=args.zones or (),
        midi_notes={**_mapped_notes(args), **args.midi_map}, midi_crosstalk_s=args.midi_crosstalk_ms / 1000,
        midi_board=_board_calibration(args), audio_board=_audio_board(args, channels), fuse=_fuse(args),
        record_audio=args.record if args.record and args.record_audio else None,
    )


def _check_osc(args) -> None:
    """The OSC addresses, before any window opens or input process starts."""
    from dessins_de_planche.control.osc import parse_address

    for text in [getattr(args, "osc_in", None), *(getattr(args, "osc_send", None) or [])]:
        if text:
            try:
                parse_address(text)
            except ValueError as error:
                raise opt.UsageError(str(error)) from None


def _fuse(args) -> bool:
    """A board's mic and its sensors heard as one: asked for (--fuse), or both a live audio device and
    a MIDI port (not a 'virtual' one, which any program may play into) in one run: the same board."""
    asked, refused = getattr(args, "fuse", False), getattr(args, "no_fuse", False)
    if asked and refused:
        raise opt.UsageError("--fuse and --no-fuse: choose one")
    if refused:
        return False
    if not asked:
        return (args.audio_device is not None and args.midi_port is not None
                and args.midi_port.strip().lower() != "virtual")
    if args.midi_port is None or (args.audio_device is None and not args.input):
        raise opt.UsageError("--fuse hears a board's mic and its sensors as one: give both --audio-device (the mic) "
                             "and --midi-port (the sensors)")
    return True


def _audio_board(args, channels):
    """A multi-channel audio board's calibration (`calibrate --audio-device --channels 1,2,...`) when
    several channels are listened to; a broken table is said once and the detector's own rule decides."""
    if (args.audio_device is None and not args.input) or not channels or len(channels) < 2 \
            or getattr(args, "no_board_calibration", False):
        return None
    import logging

    from dessins_de_planche.inputs import board_table

    try:
        return board_table.load_audio()
    except ValueError as error:
        logging.getLogger(__name__).warning("%s; the detector's own crosstalk rule decides instead", error)
        return None


def _board_calibration(args):
    """The sensor board's calibration (`calibrate --midi-port`) when MIDI is listened to; a broken
    file is said once and the crosstalk window decides."""
    if args.midi_port is None or getattr(args, "no_midi_calibration", False):
        return None
    import logging

    from dessins_de_planche.inputs import board_table

    try:
        return board_table.load()
    except ValueError as error:
        logging.getLogger(__name__).warning("%s; MIDI notes merged by the --midi-crosstalk-ms window instead", error)
        return None


def _mapped_notes(args) -> dict:
    """Notes of the MIDI control map (the command line's --midi-map wins)."""
    from dessins_de_planche.control import midimap

    path = args.midi_control or midimap.default_path()
    return midimap.load(path).notes if midimap.Path(path).exists() else {}


def main(args) -> int:
    from dessins_de_planche import locale
    from dessins_de_planche.app import kiosk

    spec = input_spec_from_args(args)
    kiosk.prepare(args)  # log file, screen blanking, window placement, stale shared memory
    locale.install(args.lang)
    if not args.kiosk:  # a kiosk waits for its devices, drawing on attract mode meanwhile
        from dessins_de_planche.app.preflight import check_devices_exist

        check_devices_exist(spec)  # one clear line naming what does exist, before any window opens
    from dessins_de_planche.app.window import run_window

    if not args.kiosk:
        return run_window(spec, args)
    try:
        return run_window(spec, args)
    except Exception:  # the traceback goes to the log file, never to the screen; the supervisor restarts us
        kiosk.log.exception("the show stopped")
        raise
