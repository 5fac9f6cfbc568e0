"""Reference pictures of the gallery's looks, to keep the pictures while the render gets cheaper.

Each look replays the same exact taps (`steady_taps`, 8 s, en trois then en quatre) at a fixed
1/60 s step, as live, and is read back twice: mid-tune (4.3 s) and at the end. The PNGs in
`tests/data/looks/` were written by this script from the code before the render work of issue 19
(frame cost independent of the drawing's age, full-screen passes at the resolution they need);
`tests/test_look_references.py` draws the same and compares. A deliberate change of a look's
picture (its preset, its shader) writes them again:

    .venv/bin/python tests/look_references.py            # every look
    .venv/bin/python tests/look_references.py sparks ink # some
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SIZE = (256, 144)
SECONDS = 8.0
STEP = 1 / 60
MIDDLE = 4.3  # s: a moment mid-tune (rings of light, glows and fresh marks on screen)
FOLDER = Path(__file__).resolve().parent / "data" / "looks"


def render_look(ctx, preset, size=SIZE) -> dict[str, np.ndarray]:
    """The look's picture mid-tune and at the end (HxWx3 uint8, top row first)."""
    from dessins_de_planche.render.steady import steady_taps
    from dessins_de_planche.render.offline import replay

    pictures = {}
    middle_step = round(MIDDLE / STEP)

    def at_step(index, now, scene):
        if index == middle_step:
            pictures["middle"] = scene.read_canvas()

    scene = replay(ctx, steady_taps(SECONDS), SECONDS, preset, size, step=STEP, on_step=at_step)
    pictures["end"] = scene.read_canvas()
    scene.release()
    return pictures


def path_for(name: str, moment: str) -> Path:
    return FOLDER / f"{name}-{moment}.png"


def read_png(path) -> np.ndarray:
    import pygame

    surface = pygame.image.load(str(path))
    return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)).copy()


def main(names) -> None:
    import moderngl

    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.offline import write_png

    gallery = load_gallery(presets_dir())
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    try:
        for name, preset in sorted(gallery.items()):
            if names and name not in names:
                continue
            for moment, picture in render_look(ctx, preset).items():
                path = path_for(name, moment)
                write_png(picture, path)
                print(f"{path.relative_to(FOLDER.parent.parent.parent)}: {path.stat().st_size // 1024} KB")
    finally:
        ctx.release()


if __name__ == "__main__":
    main(sys.argv[1:])
