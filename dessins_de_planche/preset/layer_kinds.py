"""The layer kinds' models: what each kind of layer takes in a preset, and the one table of the kinds.

A new kind is a model here (its `kind` field names it) registered in `LAYER_KINDS` (or later with
`model.register_layer_kind`), plus a renderer in `render/layers/`.
"""

from __future__ import annotations

import difflib
from typing import Annotated, ClassVar, Literal, Union, get_args

from pydantic import Field, field_validator

from dessins_de_planche.preset.fields import Colour, Strict
from dessins_de_planche.preset.maps import FigureMap, LanesMap, MarksMap, ParticlesMap, PathMap
from dessins_de_planche.preset.palettes import PALETTES
from dessins_de_planche.preset.shapes import ShapeName


class Layer(Strict):
    """What every layer has: its kind (the registry key)."""

    kind: str
    vector: ClassVar[bool] = False  # has a vector form (SVG export)

    @property
    def shader_files(self) -> tuple[str, ...]:
        """The designer's own shader files this layer draws with, as the preset names them (none: the
        built-in kinds draw with the app's shaders)."""
        return ()


class LayerBase(Layer):
    """A layer that draws per tap: a palette, constant defaults for unmapped visuals, and mappings."""

    palette: str | list[Colour] = "hearth"
    size: float = Field(0.03, gt=0, le=1)
    opacity: float = Field(0.9, ge=0, le=1)
    life: float = Field(0.5, gt=0, le=30)
    glow: float = Field(1.0, ge=0, le=4)  # brightness of the arrival flash

    @field_validator("palette")
    @classmethod
    def _known_palette(cls, value):
        if isinstance(value, str) and value not in PALETTES:
            hint = difflib.get_close_matches(value, PALETTES, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            raise ValueError(f"no palette named {value!r} (named ones: {', '.join(PALETTES)}){extra}")
        if isinstance(value, list) and not value:
            raise ValueError("an inline palette needs at least one colour")
        return value


class ShapeByKind(Strict):
    heel: ShapeName = "dot"
    toe: ShapeName = "dot"
    unknown: ShapeName = "dot"


class Placed(Strict):
    """Where a layer puts each tap: `radius` out from (x, y) in the direction of `angle` (0 = top,
    clockwise), the angle turned by `spin` with the tune's time; `tilt` turns the tap's direction (an
    elongated mark, a burst's fan) from pointing outward (or up, at the centre). The one list of the
    placement keys: marks and particles take them (read by `render/layers/base.py` `_placed`), and their maps
    the mappable ones (`_PLACE`, with `tilt`)."""

    angle: float = 0.0
    spin: float = Field(0.0, ge=-360, le=360)  # degrees per second of tune_time added to the angle
    radius: float = Field(0.0, ge=0, le=4)
    x: float = Field(0.0, ge=-4, le=4)
    y: float = Field(0.0, ge=-4, le=4)
    tilt: float = 0.0


class MarksLayer(Placed, LayerBase):
    """One mark per tap, placed by angle/radius around the centre plus x/y."""

    kind: Literal["marks"]
    vector: ClassVar[bool] = True
    shape: ShapeName | ShapeByKind = "dot"
    stretch: float = Field(2.5, ge=1, le=20)  # petal and stroke length in mark sizes
    link: float = Field(0.0, ge=0, le=1)  # a line from the previous tap's mark, this many mark sizes wide
    link_opacity: float = Field(0.35, ge=0, le=1)
    link_reach: float = Field(0.6, gt=0, le=8)  # no line between marks farther apart than this
    map: MarksMap = Field(default_factory=MarksMap)


class PathLayer(LayerBase):
    """A thread: each tap turns the heading and steps forward, drawing the segment."""

    kind: Literal["path"]
    vector: ClassVar[bool] = True
    turn: float = Field(30.0, ge=-360, le=360)
    length: float = Field(0.08, ge=0, le=2)
    heading: float = 0.0  # degrees, the direction of the first step (0 = up)
    beads: float = Field(1.8, ge=0, le=10)  # a dot at each step, in line widths (0 = none)
    bounds: Literal["steer", "wrap"] = "steer"
    reach: float = Field(0.75, gt=0, le=4)  # steer: the thread curls back beyond this radius
    map: PathMap = Field(default_factory=PathMap)


class ParticlesLayer(Placed, LayerBase):
    """A burst per tap: `count` streaks fly out from where the tap lands, `spread` degrees wide."""

    kind: Literal["particles"]
    count: int = Field(12, ge=1, le=64)
    spread: float = Field(360.0, ge=0, le=360)  # degrees of the fan around the direction
    length: float = Field(0.12, ge=0, le=2)  # how far the streaks reach, in half screen heights
    streak: float = Field(0.35, ge=0, le=1)  # share of the reach each streak covers (0 = sparks as dots)
    map: ParticlesMap = Field(default_factory=ParticlesMap)


class LanesLayer(LayerBase):
    """A scrolling score: a lane per zone, heel marks low and toe marks high in each, written at the
    playhead while the canvas's `drift.shift` carries them away; bar and beat lines across."""

    kind: Literal["lanes"]
    vector: ClassVar[bool] = True
    lanes: int = Field(2, ge=1, le=8)
    playhead: float = Field(0.8, ge=-4, le=4)  # x of the writing edge, in half screen heights
    height: float = Field(1.5, gt=0, le=2)  # total height of all lanes, in half screen heights
    length: float = Field(0.12, ge=0, le=2)  # mark length across its lane row (a tick)
    beat_lines: float = Field(0.25, ge=0, le=1)  # opacity of the beat lines (0 = none)
    bar_lines: float = Field(0.5, ge=0, le=1)  # opacity of the bar lines
    map: LanesMap = Field(default_factory=LanesMap)


class FigureLayer(LayerBase):
    """A dancing silhouette: its feet strike with the taps (heel or toe down), its body bobs on the beat,
    and each strike leaves a print on the floor."""

    kind: Literal["figure"]
    x: float = Field(0.0, ge=-4, le=4)  # where it stands
    floor: float = Field(-0.75, ge=-1, le=1)  # the floor's height
    height: float = Field(1.2, gt=0, le=2)  # the figure's height, in half screen heights
    body: Colour = "#e8e2d6"  # the silhouette's colour
    feet: Literal["alternate", "zone"] = "alternate"  # which foot strikes: every tap alternates, or zone parity
    prints: float = Field(1.0, ge=0, le=4)  # size of the floor prints (0 = none)
    map: FigureMap = Field(default_factory=FigureMap)


class BackgroundLayer(Layer):
    """A light behind the drawing: a vertical gradient and a vignette, added to the canvas's background."""

    kind: Literal["background"]
    top: Colour | None = None  # colour at the top edge (default: the canvas background)
    bottom: Colour | None = None  # colour at the bottom edge
    vignette: float = Field(0.0, ge=0, le=1)  # darkening toward the corners
    pulse: float = Field(0.0, ge=0, le=1)  # the background brightens with the room's level


class ShaderLayer(Layer):
    """A designer's own GLSL fragment shader (`file`), drawn over the picture or into the canvas."""

    kind: Literal["shader"]
    file: str = Field(min_length=1, max_length=255)  # beside the preset, or in shaders/
    target: Literal["over", "canvas"] = "over"  # over: drawn on top each frame; canvas: rewrites the canvas
    uniforms: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], float] = {}
    opacity: float = Field(1.0, ge=0, le=1)

    @field_validator("file")
    @classmethod
    def _a_glsl_file(cls, value: str) -> str:
        if not value.endswith(".glsl") or "\x00" in value:
            raise ValueError(f"a shader is a file whose name ends in .glsl, e.g. \"ripples.frag.glsl\" (got {value!r})")
        return value

    @property
    def shader_files(self) -> tuple[str, ...]:
        return (self.file,)


def kind_of(model: type[Layer]) -> str:
    """The name a preset gives this layer model (the one value its `kind` field takes)."""
    (name,) = get_args(model.model_fields["kind"].annotation)
    return name


# The one table of the layer kinds, by the name each model's `kind` field spells; the renderers
# (`render/layers/`) are registered against the models.
LAYER_KINDS: dict[str, type[Layer]] = {kind_of(model): model for model in (
    BackgroundLayer, MarksLayer, PathLayer, ParticlesLayer, LanesLayer, FigureLayer, ShaderLayer)}


def layer_union():
    """The type of a preset's `layers` item: one of the kinds in the table, picked by its `kind`."""
    kinds = tuple(LAYER_KINDS.values())
    return Annotated[Union[kinds], Field(discriminator="kind")]  # noqa: UP007
