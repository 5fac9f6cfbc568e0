"""The preset model: one look = a canvas and a stack of layers, each mapping tap attributes to visuals.

One pydantic model validates the TOML files, gives the designer's error messages
and can emit a JSON Schema (`Preset.model_json_schema(by_alias=True)`). New
layer kinds register a model in `LAYER_KINDS` (see `register_layer_kind`) and a
renderer in `render/layers.py`.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Literal, Union

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator,
                      model_validator)

from dessins_de_planche.preset.palettes import PALETTES, parse_colour

FORMAT = 1

# What a tap offers, with the domain a mapping uses when the preset does not say.
TAP_ATTRIBUTES: dict[str, tuple[float, float]] = {
    "bar_phase": (0.0, 1.0),  # where in the bar the tap fell, 0..1
    "beat_phase": (0.0, 1.0),  # where in the beat, 0..1
    "tune_time": (0.0, 120.0),  # seconds since the first tap of the tune
    "velocity": (0.0, 1.0),  # how hard, 0..1
    "kind": (0.0, 2.0),  # 0 unknown, 1 heel, 2 toe
    "zone": (0.0, 7.0),  # which zone of the board (audio channel or MIDI zone), 0-based
    "interval": (0.08, 0.5),  # seconds since the previous tap
    "tempo": (60.0, 180.0),  # beats per minute, as the tempo tracker hears it
}
TapAttribute = Literal["bar_phase", "beat_phase", "tune_time", "velocity", "kind", "zone", "interval", "tempo"]


def _colour(text: str) -> str:
    parse_colour(text)
    return text


Colour = Annotated[str, AfterValidator(_colour)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# ---- mappings ------------------------------------------------------------------------------

class KindValues(_Strict):
    heel: float = 0.0
    toe: float = 0.0
    unknown: float = 0.0


Curve = Literal["linear", "ease", "exp"]


class Mapping(_Strict):
    """`from` a tap attribute over `domain`, shaped by `curve`, onto `range` — or a value `by_kind`."""

    source: TapAttribute | None = Field(None, alias="from")
    domain: tuple[float, float] | None = None
    range: tuple[float, float] = (0.0, 1.0)
    curve: Curve = "linear"
    by_kind: KindValues | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.source is None) == (self.by_kind is None):
            raise ValueError("a mapping needs either from = \"<tap attribute>\" or by_kind = { heel = .., toe = .. }")
        if self.domain is not None and self.domain[0] == self.domain[1]:
            raise ValueError("domain must span something: its two ends are equal")
        return self

    def input_domain(self) -> tuple[float, float]:
        return self.domain if self.domain is not None else TAP_ATTRIBUTES[self.source]


class ColourMapping(_Strict):
    """Colour `from` kind (palette's heel, toe, unknown) or from a number (position along the palette)."""

    source: TapAttribute = Field("kind", alias="from")
    domain: tuple[float, float] | None = None
    range: tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]] = (0.0, 1.0)
    curve: Curve = "linear"

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


# visual attribute -> (lowest, highest, default output range); units in the preset docs
VISUALS = {
    "angle": (None, None, (0.0, 360.0)),  # degrees, 0 = top, clockwise (a clock face)
    "radius": (0.0, 4.0, (0.0, 0.9)),  # distance from the centre, 1 = half the screen height
    "x": (-4.0, 4.0, (-1.0, 1.0)),  # 1 = half the screen height right of centre
    "y": (-4.0, 4.0, (-1.0, 1.0)),  # 1 = half the screen height above centre
    "size": (0.0005, 1.0, (0.01, 0.05)),  # mark diameter as a share of the screen height
    "opacity": (0.0, 1.0, (0.2, 1.0)),
    "life": (0.01, 30.0, (0.2, 1.0)),  # seconds the arrival glow lasts
    "turn": (-360.0, 360.0, (-45.0, 45.0)),  # path: degrees the heading turns at this step
    "length": (0.0, 2.0, (0.02, 0.2)),  # path: step length, in half screen heights
}
MAPPINGS = {attr: _mapping_for(attr, *spec) for attr, spec in VISUALS.items()}


def _map_model(name: str, attrs: tuple[str, ...]):
    fields = {attr: (MAPPINGS[attr] | None, None) for attr in attrs}
    fields["color"] = (ColourMapping | None, None)
    return create_model(name, __base__=_Strict, **fields)


MarksMap = _map_model("MarksMap", ("angle", "radius", "x", "y", "size", "opacity", "life"))
PathMap = _map_model("PathMap", ("turn", "length", "size", "opacity", "life"))


# ---- layers --------------------------------------------------------------------------------

class LayerBase(_Strict):
    """What every layer has: a palette, constant defaults for unmapped visuals, and mappings."""

    kind: str
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


class MarksLayer(LayerBase):
    """One mark per tap, placed by angle/radius around the centre plus x/y."""

    kind: Literal["marks"]
    shape: Literal["dot", "ring", "petal"] = "dot"
    stretch: float = Field(2.5, ge=1, le=20)  # petal length in mark sizes
    angle: float = 0.0
    spin: float = Field(0.0, ge=-360, le=360)  # degrees per second of tune_time added to the angle
    radius: float = Field(0.0, ge=0, le=4)
    x: float = Field(0.0, ge=-4, le=4)
    y: float = Field(0.0, ge=-4, le=4)
    map: MarksMap = Field(default_factory=MarksMap)


class PathLayer(LayerBase):
    """A thread: each tap turns the heading and steps forward, drawing the segment."""

    kind: Literal["path"]
    turn: float = Field(30.0, ge=-360, le=360)
    length: float = Field(0.08, ge=0, le=2)
    heading: float = 0.0  # degrees, the direction of the first step (0 = up)
    beads: float = Field(1.8, ge=0, le=10)  # a dot at each step, in line widths (0 = none)
    bounds: Literal["steer", "wrap"] = "steer"
    reach: float = Field(0.75, gt=0, le=4)  # steer: the thread curls back beyond this radius
    map: PathMap = Field(default_factory=PathMap)


LAYER_KINDS: dict[str, type[LayerBase]] = {"marks": MarksLayer, "path": PathLayer}


def _layer_union():
    kinds = tuple(LAYER_KINDS.values())
    return Annotated[Union[kinds], Field(discriminator="kind")]  # noqa: UP007


# ---- canvas and preset ---------------------------------------------------------------------

class Drift(_Strict):
    """The feedback's slow motion: the whole drawing zooms and turns, per second."""

    zoom: float = Field(1.0, ge=0.5, le=2.0)  # scale per second (1.02 = grows 2 % a second)
    rotate: float = Field(0.0, ge=-90, le=90)  # degrees per second, clockwise


class Canvas(_Strict):
    background: Colour = "#0b0a12"
    decay: float = Field(0.1, ge=0, le=1)  # share of the drawing that fades away each second
    drift: Drift = Field(default_factory=Drift)
    clean: bool = False  # true: start from a blank canvas when switched to


class Control(_Strict):
    """A live parameter: a MIDI controller's 0..127 sets `set` (a number in this preset) across `range`."""

    target: str = Field(alias="set", pattern=r"^(canvas(\.drift)?|layers\[\d+\])\.[a-z_]+$")
    range: tuple[float, float]


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
    bar_beats: int = Field(2, ge=1, le=16)
    canvas: Canvas = Field(default_factory=Canvas)
    layers: list[_layer_union()] = Field(min_length=1, max_length=16)  # type: ignore[valid-type]
    # MIDI control change -> live parameter, keyed "cc1" .. "cc127"
    controls: dict[Annotated[str, Field(pattern=r"^cc([0-9]|[1-9][0-9]|1[01][0-9]|12[0-7])$")], Control] = {}

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


def register_layer_kind(name: str, model: type[LayerBase]) -> None:
    """Add a layer kind and rebuild the Preset model so files may use it."""
    LAYER_KINDS[name] = model
    Preset.model_fields["layers"].annotation = list[_layer_union()]
    Preset.model_rebuild(force=True)
