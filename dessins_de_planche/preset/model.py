"""The preset model: one look = a canvas and a stack of layers, each mapping tap attributes to visuals.

One pydantic model validates the TOML files, gives the designer's error messages
and can emit a JSON Schema (`Preset.model_json_schema(by_alias=True)`). New
layer kinds register a model in `LAYER_KINDS` (see `register_layer_kind`) and a
renderer in `render/layers/` (a module per kind).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model,
                      field_validator, model_validator)

from dessins_de_planche.preset.expr import ExpressionError, parse_expression
from dessins_de_planche.preset.palettes import PALETTES, parse_colour
from dessins_de_planche.preset.shapes import ShapeName

FORMAT = 1

# What a tap offers, with the domain a mapping uses when the preset does not say. The one table of the
# tap attributes: the names a mapping or an expression accepts and the scene's per-tap record
# (`preset.mapping.TAP_ATTRS_DTYPE`) are made from it; the scene computes each one (`render/scene.py`).
TAP_ATTRIBUTES: dict[str, tuple[float, float]] = {
    "bar_phase": (0.0, 1.0),  # where in the bar the tap fell, 0..1
    "beat_phase": (0.0, 1.0),  # where in the beat, 0..1
    "tune_time": (0.0, 120.0),  # seconds since the first tap of the tune
    "tune_fraction": (0.0, 1.0),  # how far through the performance, 0 at its first tap, 1 at its last
    "velocity": (0.0, 1.0),  # how hard, 0..1
    "kind": (0.0, 2.0),  # 0 unknown, 1 heel, 2 toe
    "zone": (0.0, 7.0),  # which zone of the board (audio channel or MIDI zone), 0-based
    "interval": (0.08, 0.5),  # seconds since the previous tap
    "tempo": (60.0, 180.0),  # beats per minute, as the tempo tracker hears it
    "beat": (0.0, 64.0),  # beats counted since the tune began (0, 1, 2 ...)
    "beats": (0.0, 64.0),  # beats since the tune began, with the fraction (beat + beat_phase)
    "bar": (0.0, 32.0),  # bars counted since the tune began
    "index": (0.0, 256.0),  # taps counted since the tune began
    "in_bar": (0.0, 8.0),  # the n-th tap of its bar (0 = the first)
    "pattern": (0.0, 8.0),  # the tap's slot on the tap grid within its beat (0 = on the beat)
    "level": (0.0, 1.0),  # the room's loudness when the tap landed (audio level, 0..1)
    "brightness": (0.0, 1.0),  # how bright (high-pitched) the sound was then, 0..1
    "random": (0.0, 1.0),  # a repeatable random number per tap, 0..1
}
TapAttribute = Literal[tuple(TAP_ATTRIBUTES)]  # type: ignore[valid-type]
# names an expression may use besides the tap attributes (set by the renderer)
EXPRESSION_EXTRAS = ("aspect",)
EXPRESSION_NAMES = frozenset(TAP_ATTRIBUTES) | frozenset(EXPRESSION_EXTRAS)


def _colour(text: str) -> str:
    parse_colour(text)
    return text


Colour = Annotated[str, AfterValidator(_colour)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)


def _check_expression(text: str | None) -> str | None:
    if text is not None:
        try:
            parse_expression(text, EXPRESSION_NAMES)
        except ExpressionError as error:
            raise ValueError(str(error)) from None
        except Exception as error:  # whatever a hostile text finds next: refused, never a crash
            raise ValueError(f"expression cannot be used ({type(error).__name__}: {error})") from None
    return text


ExpressionText = Annotated[str, Field(min_length=1, max_length=400), AfterValidator(_check_expression)]


# ---- mappings ------------------------------------------------------------------------------

class KindValues(_Strict):
    heel: float = 0.0
    toe: float = 0.0
    unknown: float = 0.0


Curve = Literal["linear", "ease", "exp", "smooth", "sqrt", "pulse"]


class Mapping(_Strict):
    """`from` a tap attribute over `domain`, shaped by `curve`, onto `range` — or a value `by_kind`,
    or an `expr`ession of the tap attributes (its value is the visual's value, clamped to what it takes)."""

    source: TapAttribute | None = Field(None, alias="from")
    domain: tuple[float, float] | None = None
    range: tuple[float, float] = (0.0, 1.0)
    curve: Curve = "linear"
    by_kind: KindValues | None = None
    expr: ExpressionText | None = None

    @model_validator(mode="after")
    def _one_source(self):
        given = sum(x is not None for x in (self.source, self.by_kind, self.expr))
        if given != 1:
            raise ValueError("a mapping needs exactly one of: from = \"<tap attribute>\", "
                             "by_kind = { heel = .., toe = .. } or expr = \"<expression>\"")
        if self.domain is not None and self.domain[0] == self.domain[1]:
            raise ValueError("domain must span something: its two ends are equal")
        return self

    def input_domain(self) -> tuple[float, float]:
        return self.domain if self.domain is not None else TAP_ATTRIBUTES[self.source]


class ColourMapping(_Strict):
    """Colour `from` kind (palette's heel, toe, unknown) or from a number (position along the palette),
    or an `expr`ession giving the position along the palette (0..1)."""

    source: TapAttribute = Field("kind", alias="from")
    domain: tuple[float, float] | None = None
    range: tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]] = (0.0, 1.0)
    curve: Curve = "linear"
    expr: ExpressionText | None = None

    def input_domain(self) -> tuple[float, float]:
        return self.domain if self.domain is not None else TAP_ATTRIBUTES[self.source]


def _mapping_for(attr: str, low: float | None, high: float | None, default_range: tuple[float, float]):
    """A Mapping whose output range is checked against what the visual attribute can take."""
    bound = Annotated[float, Field(ge=low, le=high)]
    by_kind = create_model(
        f"{attr.title()}ByKind", __base__=KindValues,
        heel=(bound, 0.0 if low is None else max(low, 0.0)),
        toe=(bound, 0.0 if low is None else max(low, 0.0)),
        unknown=(bound, 0.0 if low is None else max(low, 0.0)),
    )
    return create_model(
        f"{attr.title()}Mapping", __base__=Mapping,
        range=(tuple[bound, bound], default_range),
        by_kind=(by_kind | None, None),
    )


# visual attribute -> (lowest, highest, default output range); units in docs/presets.md
VISUALS = {
    "angle": (None, None, (0.0, 360.0)),  # degrees, 0 = top, clockwise (a clock face)
    "radius": (0.0, 4.0, (0.0, 0.9)),  # distance from the centre, 1 = half the screen height
    "x": (-4.0, 4.0, (-1.0, 1.0)),  # 1 = half the screen height right of centre
    "y": (-4.0, 4.0, (-1.0, 1.0)),  # 1 = half the screen height above centre
    "size": (0.0005, 1.0, (0.01, 0.05)),  # mark diameter as a share of the screen height
    "opacity": (0.0, 1.0, (0.2, 1.0)),
    "life": (0.01, 30.0, (0.2, 1.0)),  # seconds the arrival glow lasts
    "tilt": (None, None, (-90.0, 90.0)),  # degrees an elongated mark turns from pointing outward
    "turn": (-360.0, 360.0, (-45.0, 45.0)),  # path: degrees the heading turns at this step
    "length": (0.0, 2.0, (0.02, 0.2)),  # path: step length; particles: streak length (half heights)
}
MAPPINGS = {attr: _mapping_for(attr, *spec) for attr, spec in VISUALS.items()}


def _map_model(name: str, attrs: tuple[str, ...]):
    fields = {attr: (MAPPINGS[attr] | None, None) for attr in attrs}
    fields["color"] = (ColourMapping | None, None)
    return create_model(name, __base__=_Strict, **fields)


_PLACE = ("angle", "radius", "x", "y")
MarksMap = _map_model("MarksMap", _PLACE + ("size", "opacity", "life", "tilt"))
PathMap = _map_model("PathMap", ("turn", "length", "size", "opacity", "life"))
ParticlesMap = _map_model("ParticlesMap", _PLACE + ("size", "opacity", "life", "tilt", "length"))
LanesMap = _map_model("LanesMap", ("size", "opacity", "life", "length"))
FigureMap = _map_model("FigureMap", ("size", "opacity", "life"))


# ---- layers --------------------------------------------------------------------------------

class Layer(_Strict):
    """What every layer has: its kind (the registry key)."""

    kind: str
    vector: ClassVar[bool] = False  # has a vector form (SVG export)


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


class ShapeByKind(_Strict):
    heel: ShapeName = "dot"
    toe: ShapeName = "dot"
    unknown: ShapeName = "dot"


class Placed(_Strict):
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


def kind_of(model: type[Layer]) -> str:
    """The name a preset gives this layer model (the one value its `kind` field takes)."""
    (name,) = get_args(model.model_fields["kind"].annotation)
    return name


# The one table of the layer kinds, by the name each model's `kind` field spells; the renderers
# (`render/layers/`) are registered against the models.
LAYER_KINDS: dict[str, type[Layer]] = {kind_of(model): model for model in (
    BackgroundLayer, MarksLayer, PathLayer, ParticlesLayer, LanesLayer, FigureLayer, ShaderLayer)}


def _layer_union():
    kinds = tuple(LAYER_KINDS.values())
    return Annotated[Union[kinds], Field(discriminator="kind")]  # noqa: UP007


# ---- canvas and preset ---------------------------------------------------------------------

class Drift(_Strict):
    """The feedback's slow motion: the whole drawing zooms, turns and slides, per second."""

    zoom: float = Field(1.0, ge=0.5, le=2.0)  # scale per second (1.02 = grows 2 % a second)
    rotate: float = Field(0.0, ge=-90, le=90)  # degrees per second, clockwise
    shift: tuple[Annotated[float, Field(ge=-2, le=2)], Annotated[float, Field(ge=-2, le=2)]] = (0.0, 0.0)

    @property
    def still(self) -> bool:
        return self.zoom == 1.0 and self.rotate == 0.0 and self.shift == (0.0, 0.0)


class Canvas(_Strict):
    background: Colour = "#0b0a12"
    decay: float = Field(0.1, ge=0, le=1)  # share of the drawing that fades away each second
    drift: Drift = Field(default_factory=Drift)
    blur: float = Field(0.0, ge=0, le=1)  # how fast the drawing softens and bleeds (ink in paper)
    warp: float = Field(0.0, ge=0, le=1)  # a slow flowing displacement of the drawing (smoke, water)
    warp_scale: float = Field(3.0, gt=0, le=32)  # the size of the flow's swirls: larger = smaller swirls
    hue: float = Field(0.0, ge=-180, le=180)  # degrees per second the drawing's colours turn
    clean: bool = False  # true: start from a blank canvas when switched to

    @property
    def effects(self) -> bool:
        """True when the feedback does more than fade and drift (no vector form, a pass every frame)."""
        return self.blur > 0 or self.warp > 0 or self.hue != 0


class Control(_Strict):
    """A live parameter: a MIDI controller's 0..127 sets `set` (a number in this preset) across `range`."""

    target: str = Field(alias="set", pattern=r"^(canvas(\.drift)?|layers\[\d+\])\.[a-z_]+$")
    range: tuple[float, float]


Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class Print(_Strict):
    """How the look wants to be printed (`render --print`): every tap is kept and the drawing is fitted
    to the page; these keys say what else changes on paper."""

    margin: float = Field(0.06, ge=0, le=0.4)  # empty border on each side, as a share of the page height
    fit: bool = True  # scale and centre the drawing's extent onto the page (false: the live framing)
    rows: int = Field(0, ge=0, le=64)  # a sliding canvas (drift.shift) laid out in rows, like lines of a
    #                                    score, oldest at the top; 0: as many as fill the page best
    overlays: bool = True  # draw what layers show over each frame (the figure, the lane dividers)
    drift: bool = False  # keep the canvas's zoom and turn: each mark moved as far as its age says (a thread's
    #                      old loops sink inward instead of lying under the new ones)
    skip: list[Annotated[int, Field(ge=0, le=15)]] = []  # layers left out of the print (by index)
    background: Colour | None = None  # the page's colour (default: the canvas background)
    caption: Corner = "bottom-right"  # where a caption goes, when one is asked for
    # numbers or mappings of this preset that are otherwise on paper, e.g. {"layers[1].map.y" = {expr = ...}}
    set: dict[Annotated[str, Field(pattern=r"^(canvas(\.drift)?|layers\[\d+\](\.map)?)\.[a-z_]+$")], Any] = {}


def _path_parts(target: str) -> list[str | int]:
    """`layers[1].size` -> ["layers", 1, "size"]"""
    parts: list[str | int] = []
    for piece in target.split("."):
        if piece.endswith("]"):
            name, index = piece[:-1].split("[")
            parts += [name, int(index)]
        else:
            parts.append(piece)
    return parts


def _replace(node, parts, value):
    head, *rest = parts
    if isinstance(node, list):
        items = list(node)
        items[head] = _replace(items[head], rest, value)
        return items
    if not rest:  # the model that holds the number checks it (its range, its type)
        return type(node).model_validate({**node.model_dump(), head: value})
    return node.model_copy(update={head: _replace(getattr(node, head), rest, value)})


class Preset(_Strict):
    format: Literal[1]
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    order: int = Field(100, ge=0, le=10000)  # place in the gallery (number keys 1-9 follow it), then by name
    bar_beats: int = Field(2, ge=1, le=16)
    canvas: Canvas = Field(default_factory=Canvas)
    fade: float | None = Field(None, ge=0, le=10)  # crossfade seconds when switched to (0 = a cut; unset: the app's)
    layers: list[_layer_union()] = Field(min_length=1, max_length=16)  # type: ignore[valid-type]
    # MIDI control change -> live parameter, keyed "cc1" .. "cc127"
    controls: dict[Annotated[str, Field(pattern=r"^cc([0-9]|[1-9][0-9]|1[01][0-9]|12[0-7])$")], Control] = {}
    print: Print = Field(default_factory=Print)  # how it is printed: `render --print`

    @model_validator(mode="after")
    def _controls_name_numbers(self):
        for key, control in self.controls.items():
            try:
                value = self.value(control.target)
            except (IndexError, AttributeError):
                value = None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"controls.{key}: {control.target!r} is not a number in this preset "
                                 "(e.g. canvas.decay, canvas.drift.rotate, layers[0].size)")
            for end in control.range:  # the ends must be values the key itself accepts
                try:
                    self.with_value(control.target, end)
                except ValidationError as error:
                    reason = error.errors()[0]["msg"].lower()
                    raise ValueError(f"controls.{key}.range: {end:g} is not a valid {control.target} ({reason})")
        return self

    @model_validator(mode="after")
    def _print_names_its_own_layers(self):
        for index in self.print.skip:
            if index >= len(self.layers):
                raise ValueError(f"print.skip: there is no layer {index} (this preset has layers 0 to "
                                 f"{len(self.layers) - 1})")
        self.printed()  # every key of print.set names something here and takes its value
        return self

    def printed(self) -> "Preset":
        """This preset with its `print.set` values in place (what `render --print` draws from)."""
        preset = self
        for key, value in self.print.set.items():
            try:
                self.value(key)
            except (IndexError, AttributeError):
                raise ValueError(f"print.set: {key!r} is not a key of this preset "
                                 "(e.g. canvas.blur, layers[0].size, layers[1].map.y)") from None
            try:
                preset = preset.with_value(key, value)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                reason = first["msg"].removeprefix("Value error, ")
                raise ValueError(f"print.set.{key!r}: {value!r} cannot be used here "
                                 f"({where + ': ' if where else ''}{reason})") from None
        return preset

    _folder: object = PrivateAttr(default=None)  # the folder the file came from (its shaders may sit beside it)

    @property
    def folder(self):
        return self._folder

    @property
    def vector_layers(self) -> list[int]:
        """Indexes of the layers that have a vector form (SVG)."""
        return [i for i, layer in enumerate(self.layers) if type(layer).vector]

    def value(self, target: str):
        """The number at `target`, e.g. `canvas.decay` or `layers[0].size`."""
        node = self
        for part in _path_parts(target):
            node = node[part] if isinstance(part, int) else getattr(node, part)
        return node

    def with_value(self, target: str, value: float) -> "Preset":
        """A copy with one number changed (a CC turned, say); only the model holding it is re-validated."""
        return _replace(self, _path_parts(target), value)

    def controlled(self, number: int, value: int) -> "Preset | None":
        """This preset with MIDI controller `number` at `value` (0..127), or None if it maps no such CC."""
        control = self.controls.get(f"cc{number}")
        if control is None:
            return None
        low, high = control.range
        return self.with_value(control.target, low + (high - low) * min(max(value, 0), 127) / 127)


def register_layer_kind(name: str, model: type[Layer]) -> None:
    """Add a layer kind and rebuild the Preset model so files may use it."""
    LAYER_KINDS[name] = model
    Preset.model_fields["layers"].annotation = list[_layer_union()]
    Preset.model_rebuild(force=True)
