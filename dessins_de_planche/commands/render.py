"""`render`: the drawing a recorded performance makes, offline, at any size."""

from __future__ import annotations

import logging
import sys

from dessins_de_planche import options as opt

NAME = "render"
ORDER = 40
HELP = "render a performance offline to a PNG (any size), an SVG (pen plotter) or a video"
DESCRIPTION = ("Render, headless, the drawing a recorded performance makes: a PNG at any size (7680x4320 for "
               "print), or with --out drawing.svg the marks as vector paths in millimetres, for a pen plotter "
               "or a laser cutter (presets with a vector form: rosette, thread, lanes, constellation, weave), "
               "or with --out show.mp4 (.mkv, .mov) the whole show as H.264 video, with the take's sound. "
               "--print draws the whole tune fitted to the page (every tap kept, nothing faded): the default "
               "for an SVG and for pages over 4K (--live for the live look's last frame instead).")

log = logging.getLogger("dessins_de_planche")


def add_arguments(parser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE.wav",
                        help="the recorded performance: a WAV, an `analyze --json` file, or a session folder "
                             "from `run --record`")
    parser.add_argument("--preset", default="rosette", metavar="NAME", help="preset name or .toml file")
    parser.add_argument("--out", required=True, metavar="FILE.png|FILE.svg|FILE.mp4", help="where to write it")
    parser.add_argument("--fps", type=opt.positive(float), default=60.0, help="video: frames a second (default 60)")
    parser.add_argument("--mm", type=opt.positive(float), default=420.0, metavar="WIDTH",
                        help="SVG: the drawing's width in millimetres (default 420, A3 landscape)")
    parser.add_argument("--size", type=opt.size, default=(1920, 1080), metavar="WxH")
    framing = parser.add_mutually_exclusive_group()
    framing.add_argument("--print", action="store_true", dest="print_mode",
                         help="the whole tune on the page: every tap kept (no fade), time mappings over the take's "
                              "length, the drawing fitted to the page with a margin (default for .svg and over 4K)")
    framing.add_argument("--live", action="store_true",
                         help="the live look's last frame, as the screen showed it (default for PNGs up to 4K)")
    parser.add_argument("--caption", metavar="TEXT", help="print: a line set small in a corner of the page")
    for name in ("title", "performer", "place", "date"):
        parser.add_argument(f"--{name}", metavar=name.upper(),
                            help=f"print: the caption's {name} (a recorded session gives its own where it has one)")
    parser.add_argument("--caption-at", choices=("top-left", "top-right", "bottom-left", "bottom-right"),
                        help="print: the caption's corner (default: the preset's print.caption, else bottom-right); "
                             "alone, it asks for the caption a recorded session's metadata gives")
    parser.add_argument("--strict", action="store_true",
                        help="exit non-zero, writing nothing, when the take has no taps or non-finite samples")


def main(args) -> int:
    from dessins_de_planche.record.session import is_session, load_session

    session = is_session(args.input)  # a folder recorded with `run --record DIR`
    if not session:
        opt.check_readable(args.input)
    from dessins_de_planche.events import merge_refinements
    from dessins_de_planche.render.offline import load_performance, preset_by_name, render_performance

    preset = preset_by_name(args.preset)
    take = load_performance(args.input, load_session if session else None)  # analysed once, checked, drawn
    said = opt.take_warnings(args.input, len(merge_refinements(take.taps)), getattr(take, "nonfinite_blocks", 0))
    for line in said:
        print(line, file=sys.stderr)
    if said and args.strict:
        print(f"dessins-de-planche render: --strict: {args.out} not written", file=sys.stderr)
        return 1
    from dessins_de_planche.render.video import is_video, render_video

    if is_video(args.out):
        if args.print_mode:
            raise opt.UsageError("render: --print makes a picture (.png or .svg), not a video")
        frames = render_video(take, preset, args.size, args.out, fps=args.fps,
                              audio_path=None if session else args.input,
                              progress=_progress_bar(f"rendering {args.out}"))
        log.info("wrote %s (%dx%d, %d frames at %g fps)", args.out, *args.size, frames, args.fps)
        return 0
    from dessins_de_planche.render.caption import caption_text
    from dessins_de_planche.render.printing import PRINT_ABOVE

    big = args.size[0] * args.size[1] > PRINT_ABOVE
    print_mode = args.print_mode or (not args.live and (str(args.out).lower().endswith(".svg") or big))
    asked = any((args.caption, args.title, args.performer, args.place, args.date, args.caption_at))  # off unless asked
    caption = caption_text(args.caption, args.title, args.performer, args.place, args.date,
                           getattr(take, "header", None)) if asked else ""
    if caption and not print_mode:
        print("dessins-de-planche render: the caption is for prints (--print); not drawn", file=sys.stderr)
    render_performance(args.input, preset, args.size, args.out, progress=_progress_bar(f"rendering {args.out}"),
                       width_mm=args.mm, analyze=lambda _path: take, print_mode=print_mode,
                       caption=caption if print_mode else None, corner=args.caption_at)
    log.info("wrote %s (%dx%d%s)", args.out, *args.size, ", the whole tune" if print_mode else "")
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
