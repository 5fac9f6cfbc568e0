"""`render`: the drawing a recorded performance makes, offline, at any size."""

from __future__ import annotations

import logging
import sys

from dessins_de_planche.commands import _options as opt

NAME = "render"
ORDER = 40
HELP = "render a performance offline to a PNG"
DESCRIPTION = "Render, headless, the drawing a recorded performance makes."

log = logging.getLogger("dessins_de_planche")


def add_arguments(parser) -> None:
    parser.add_argument("--input", required=True, metavar="FILE.wav",
                        help="the recorded performance (or a session folder from `run --record`)")
    parser.add_argument("--preset", default="rosette", metavar="NAME", help="preset name or .toml file")
    parser.add_argument("--out", required=True, metavar="FILE.png", help="where to write the picture")
    parser.add_argument("--size", type=opt.size, default=(1920, 1080), metavar="WxH")


def main(args) -> int:
    from dessins_de_planche.record.session import is_session, load_session

    session = is_session(args.input)  # a folder recorded with `run --record DIR`
    if not session:
        opt.check_readable(args.input)
    from dessins_de_planche.render.offline import preset_by_name, render_performance

    preset = preset_by_name(args.preset)
    render_performance(args.input, preset, args.size, args.out, progress=_progress_bar(f"rendering {args.out}"),
                       **({"analyze": load_session} if session else {}))
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
