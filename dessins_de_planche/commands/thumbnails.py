"""`thumbnails`: every gallery preset drawn from the bundled demo performance, as small PNGs."""

from __future__ import annotations

import logging
import sys

from dessins_de_planche import options as opt

NAME = "thumbnails"
ORDER = 64
HELP = "draw each preset from the demo performance to docs/presets/NAME.png"
DESCRIPTION = ("Synthesize the demo performance (en trois, then en quatre, on a two-zone board), run it through "
               "the detector, and draw it with every preset, headless: one PNG per preset.")

log = logging.getLogger("dessins_de_planche")


def add_arguments(parser) -> None:
    parser.add_argument("presets", nargs="*", metavar="NAME", help="presets to draw (default: the whole gallery)")
    parser.add_argument("--out", metavar="DIR", help="folder for NAME.png (default docs/presets, with --print "
                                                     "docs/presets/print)")
    parser.add_argument("--print", action="store_true", dest="print_mode",
                        help="the whole demo performance fitted to the page, as `render --print` draws it")
    parser.add_argument("--size", type=opt.size, default=(480, 270), metavar="WxH")


def main(args) -> int:
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset.loader import load_gallery, preset_by_name
    from dessins_de_planche.render.gallery import render_gallery

    if args.presets:
        presets = [preset_by_name(name) for name in args.presets]
    else:
        gallery = load_gallery(presets_dir())
        presets = sorted(gallery.values(), key=lambda p: (p.order, p.name))
    log.info("synthesizing the demo performance and listening to it…")

    def progress(name, number, total):
        print(f"[{number}/{total}] {name}", file=sys.stderr, flush=True)

    out = args.out or ("docs/presets/print" if args.print_mode else "docs/presets")
    for path in render_gallery(presets, out, args.size, progress=progress, print_mode=args.print_mode):
        print(path)
    _tell_costs(presets)
    return 0


def _tell_costs(presets) -> None:
    """What each look costs a frame at the stage size on this machine (`render/probe.py`), on stderr."""
    import moderngl

    from dessins_de_planche.render.probe import COST_SIZE, frame_cost_ms

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    try:
        for preset in presets:
            ms = frame_cost_ms(ctx, preset)
            print(f"{preset.name}: {ms:.1f} ms a frame at {COST_SIZE[0]}×{COST_SIZE[1]} on this machine"
                  f"{'' if ms <= 1000 / 60 else ' (over a 60 fps frame: the show lowers its render scale)'}",
                  file=sys.stderr, flush=True)
    finally:
        ctx.release()
