"""`new-preset NAME`: a commented starting file in your presets folder, ready to edit live."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from dessins_de_planche import options as opt
from dessins_de_planche.preset.shapes import SHAPES

NAME = "new-preset"
ORDER = 62
HELP = "write a commented starting preset file"
DESCRIPTION = ("Write NAME.toml, a small working preset with every part commented, into your presets folder "
               "(or --out). Run the app, then edit and save it: the window shows each change.")

log = logging.getLogger("dessins_de_planche")

TEMPLATE = '''\
# {name} — a new look for Dessins de Planche.
#
# Save this file while the app runs and the window shows the change at once; a
# mistake shows on screen (and in the log) and the running look stays.
# The whole vocabulary is in docs/presets.md; `dessins-de-planche validate` checks it.

format = 1                    # the preset format version (always 1 for now)
name = "{name}"
description = "What the audience sees, in a sentence."
bar_beats = 2                 # beats to the bar until the downbeat is heard (2 for a reel)
fade = 1.0                    # crossfade, in seconds, when the show switches to this look (0 = a cut)

[canvas]
background = "#0b0a12"        # '#rrggbb'
decay = 0.05                  # share of the drawing that fades away each second
drift = {{ zoom = 1.0, rotate = 0.0, shift = [0.0, 0.0] }}   # the drawing's slow motion, per second
blur = 0.0                    # ink bleeding (0..1)
warp = 0.0                    # a slow swirling flow (0..1)
hue = 0.0                     # degrees per second the colours turn
clean = false                 # true: start from a blank canvas when switched to

[[layers]]
kind = "background"           # light behind the drawing
top = "#14122a"
vignette = 0.3

[[layers]]
kind = "marks"                # one mark per tap
shape = {{ heel = "petal", toe = "dot" }}   # {shapes}
palette = "hearth"            # a named palette, or a list: ["#ff8a3d", "#5cc8ff", "#b8aea0"] (heel, toe, other)
size = 0.02                   # share of the screen height
opacity = 0.9
glow = 1.0                    # the flash when a mark lands
life = 0.5                    # seconds the flash lasts

[layers.map]
# from what the feet do (a tap attribute) to what is drawn, with a domain, a range and a curve
angle = {{ from = "bar_phase", range = [0, 360] }}           # place in the bar -> round the clock
radius = {{ from = "tune_time", domain = [0, 60], range = [0.15, 0.9], curve = "ease" }}
size = {{ from = "velocity", domain = [0.1, 1.0], range = [0.008, 0.025] }}
color = {{ from = "kind" }}                                   # the palette's heel / toe colours
# an expression where a mapping is not enough (see docs/presets.md, "Expressions"):
# opacity = {{ expr = "0.5 + 0.5 * (kind == heel)" }}

# A MIDI knob sets a number live:
# [controls]
# cc1 = {{ set = "canvas.decay", range = [0.0, 0.5] }}
'''


def add_arguments(parser) -> None:
    parser.add_argument("name", help="the preset's name (letters, digits, - and _)")
    parser.add_argument("--out", metavar="FILE.toml", help="where to write it (default: your presets folder)")
    parser.add_argument("--force", action="store_true", help="replace a file that exists")


def main(args) -> int:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", args.name):
        raise opt.UsageError(f"{args.name!r}: a preset name is letters, digits, - and _ (up to 64)")
    if args.out:
        path = Path(args.out)
    else:
        from dessins_de_planche.preset.library import user_presets_dir

        path = user_presets_dir() / f"{args.name}.toml"
    if path.exists() and not args.force:
        raise opt.UsageError(f"{path}: exists already; choose another name or add --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(name=args.name, shapes=", ".join(SHAPES)), encoding="utf-8")
    print(path)
    log.info("wrote %s: edit it while `dessins-de-planche run` shows it (press its number key or → to reach it)",
             path)
    return 0
