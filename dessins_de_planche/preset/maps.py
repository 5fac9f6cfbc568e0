"""What a layer maps from and how: the table of the tap attributes and the mapping models.

A layer's `map` gives a visual (size, angle, colour ...) a `Mapping` from a tap attribute, by the
tap's kind, or by an expression; each visual's mapping checks its output range against what the
visual takes (`VISUALS`). The mappings are evaluated over batches of taps by `mapping.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, create_model, model_validator

from dessins_de_planche.preset.expr import ExpressionError, parse_expression
from dessins_de_planche.preset.fields import Strict


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

class KindValues(Strict):
    heel: float = 0.0
    toe: float = 0.0
    unknown: float = 0.0


Curve = Literal["linear", "ease", "exp", "smooth", "sqrt", "pulse"]


class Mapping(Strict):
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


class ColourMapping(Strict):
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
    return create_model(name, __base__=Strict, **fields)


_PLACE = ("angle", "radius", "x", "y")
MarksMap = _map_model("MarksMap", _PLACE + ("size", "opacity", "life", "tilt"))
PathMap = _map_model("PathMap", ("turn", "length", "size", "opacity", "life"))
ParticlesMap = _map_model("ParticlesMap", _PLACE + ("size", "opacity", "life", "tilt", "length"))
LanesMap = _map_model("LanesMap", ("size", "opacity", "life", "length"))
FigureMap = _map_model("FigureMap", ("size", "opacity", "life"))
