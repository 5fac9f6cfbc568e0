"""The preset model: one look = a canvas and a stack of layers, each mapping tap attributes to visuals.

One pydantic model validates the TOML files, gives the designer's error messages
and can emit a JSON Schema (`Preset.model_json_schema(by_alias=True)`). Its parts sit
beside it: the tap attributes and mappings (`maps.py`), the layer kinds' models and their
table (`layer_kinds.py`, where a new kind registers a model; see `register_layer_kind`), with
a renderer in `render/layers/` (a module per kind).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from dessins_de_planche.preset.fields import Colour, Strict
from dessins_de_planche.preset.layer_kinds import LAYER_KINDS, Layer, layer_union

__all__ = ["FORMAT", "Canvas", "Control", "Drift", "Preset", "Print", "register_layer_kind"]

FORMAT = 1


class Drift(Strict):
    """The feedback's slow motion: the whole drawing zooms, turns and slides, per second."""

    zoom: float = Field(1.0, ge=0.5, le=2.0)  # scale per second (1.02 = grows 2 % a second)
    rotate: float = Field(0.0, ge=-90, le=90)  # degrees per second, clockwise
    shift: tuple[Annotated[float, Field(ge=-2, le=2)], Annotated[float, Field(ge=-2, le=2)]] = (0.0, 0.0)

    @property
    def still(self) -> bool:
        return self.zoom == 1.0 and self.rotate == 0.0 and self.shift == (0.0, 0.0)


class Canvas(Strict):
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


class Control(Strict):
    """A live parameter: a MIDI controller's 0..127 sets `set` (a number in this preset) across `range`."""

    target: str = Field(alias="set", pattern=r"^(canvas(\.drift)?|layers\[\d+\])\.[a-z_]+$")
    range: tuple[float, float]


Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class Print(Strict):
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


class Preset(Strict):
    format: Literal[1]
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    order: int = Field(100, ge=0, le=10000)  # place in the gallery (number keys 1-9 follow it), then by name
    bar_beats: int = Field(2, ge=1, le=16)
    canvas: Canvas = Field(default_factory=Canvas)
    fade: float | None = Field(None, ge=0, le=10)  # crossfade seconds when switched to (0 = a cut; unset: the app's)
    layers: list[layer_union()] = Field(min_length=1, max_length=16)  # type: ignore[valid-type]
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

    def set_folder(self, folder) -> None:
        """Where the look's own shaders are looked for (not a field: the document stays frozen and its
        equality ignores where it was read): the loader sets it; a copy made for a scene or a print keeps
        its source's."""
        self._folder = folder

    @property
    def shader_files(self) -> list[str]:
        """The designer's own shader files this look draws with, in layer order (none: only the app's
        shaders). A live edit of one rebuilds the look; the probe times it (`render/probe.py`)."""
        return [file for layer in self.layers for file in layer.shader_files]

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
    Preset.model_fields["layers"].annotation = list[layer_union()]
    Preset.model_rebuild(force=True)
