"""The mark shapes: the one table of the names a preset's `shape` takes and the code each is drawn as.

Everything else is made from it: the names `preset/layer_kinds.py` accepts, the `shape` value a
layer writes into a mark record (`render/layers/`), the SVG outline chosen for a code and
its class (`render/svg.py`), and the `SHAPE_<NAME>` constants of `shaders/marks.frag.glsl`
(`GLSL_DEFINES`, injected as `#define`s when the marks program is compiled). A new shape is
a row here plus its drawing in the shader and in `render/svg.py`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Shape(NamedTuple):
    name: str  # as a preset writes it
    code: int  # the mark record's `shape` (a float on the GPU) and the shader's SHAPE_<NAME>
    elongated: bool  # drawn from p0 to p1 along the tap's direction; the others sit at the middle, turned by it


# Dot and stroke are one drawing, a capsule from p0 to p1 (a dot's ends almost meet); a code that
# several names share is called by the last of them (an SVG path's class: "stroke").
TABLE: tuple[Shape, ...] = (
    Shape("dot", 0, False),
    Shape("ring", 1, False),
    Shape("petal", 2, True),  # slim at p0, full and round at p1
    Shape("stroke", 0, True),
    Shape("splat", 3, False),  # the first glyph: a blot with a ragged edge
    Shape("star", 4, False),
    Shape("cross", 5, False),
    Shape("diamond", 6, False),
)

SHAPES: dict[str, float] = {shape.name: float(shape.code) for shape in TABLE}  # name -> the mark record's value
ELONGATED = frozenset(shape.name for shape in TABLE if shape.elongated)
NAME_OF_CODE: dict[float, str] = {float(shape.code): shape.name for shape in TABLE}
ShapeName = Literal[tuple(SHAPES)]  # type: ignore[valid-type]
GLYPHS_FROM = SHAPES["splat"]  # codes from here on are glyphs: drawn around the middle, larger than a dot
# The shader's constants, as float literals (the instance attribute is a float): `SHAPE_RING` -> 1.0
GLSL_DEFINES: dict[str, str] = {f"SHAPE_{shape.name.upper()}": f"{float(shape.code):.1f}" for shape in TABLE}
