"""Evaluating a preset's mappings over a batch of taps: numpy in, numpy out, no per-tap Python."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dessins_de_planche.preset.expr import Expression, parse_expression
from dessins_de_planche.preset.maps import EXPRESSION_NAMES, TAP_ATTRIBUTES, VISUALS, ColourMapping, Mapping
from dessins_de_planche.preset.palettes import colours_along, colours_by_kind

# Per-tap attributes the scene computes once and every layer maps from: which tap, then one float
# per tap attribute of the model's table.
TAP_ATTRS_DTYPE = np.dtype([("time", "<f8"), ("detected_at", "<f8"), ("tap_id", "<u4")]
                           + [(name, "<f4") for name in TAP_ATTRIBUTES])

_EXP_K = 4.0


def _curve(t: np.ndarray, curve: str) -> np.ndarray:
    if curve in ("ease", "smooth"):
        return t * t * (3.0 - 2.0 * t)
    if curve == "exp":
        return np.expm1(_EXP_K * t) / np.expm1(_EXP_K)
    if curve == "sqrt":  # fast then slow: small inputs already count
        return np.sqrt(t)
    if curve == "pulse":  # up and back down: the middle of the domain is the peak
        return np.sin(np.pi * t)
    return t


def shape(values: np.ndarray, domain: tuple[float, float], curve: str) -> np.ndarray:
    """Domain -> 0..1 (clamped), then bent by the curve (linear, ease, exp, sqrt, pulse)."""
    low, high = domain
    with np.errstate(all="ignore"):  # a domain of extreme numbers clamps, it does not warn every frame
        t = np.clip((values.astype(np.float64) - low) / (high - low), 0.0, 1.0)
    return _curve(np.nan_to_num(t), curve).astype(np.float32)


@lru_cache(maxsize=256)
def expression(text: str) -> Expression:
    """Parsed once per text (the model already checked it when the file loaded)."""
    return parse_expression(text, EXPRESSION_NAMES)


def run_expression(text: str, attrs: np.ndarray, env: dict | None = None) -> np.ndarray:
    compiled = expression(text)
    names = {name: attrs[name].astype(np.float64) for name in compiled.names if name in attrs.dtype.names}
    for name in compiled.names - set(names):
        names[name] = (env or {}).get(name, 0.0)
    return np.broadcast_to(compiled.evaluate(names), (len(attrs),)).astype(np.float32)


def evaluate(mapping: Mapping | None, attrs: np.ndarray, constant: float, env: dict | None = None,
             visual: str | None = None) -> np.ndarray:
    """One visual attribute for each tap: the mapping's value, or the layer's constant when unmapped."""
    if mapping is None:
        return np.full(len(attrs), constant, dtype=np.float32)
    if mapping.by_kind is not None:
        table = np.array([mapping.by_kind.unknown, mapping.by_kind.heel, mapping.by_kind.toe], dtype=np.float32)
        return table[np.clip(attrs["kind"].astype(np.intp), 0, 2)]
    if mapping.expr is not None:
        values = run_expression(mapping.expr, attrs, env)
        low, high = (VISUALS[visual][:2] if visual in VISUALS else (None, None))
        if low is not None or high is not None:
            values = np.clip(values, low, high)
        return values.astype(np.float32)
    low, high = mapping.range
    t = shape(attrs[mapping.source], mapping.input_domain(), mapping.curve)
    return (low + (high - low) * t).astype(np.float32)


def evaluate_colour(mapping: ColourMapping | None, attrs: np.ndarray, palette: np.ndarray,
                    env: dict | None = None) -> np.ndarray:
    """RGBA per tap: by kind (heel, toe, unknown = palette slots 0, 1, 2) or along the palette."""
    if mapping is None:
        return np.repeat(palette[:1], len(attrs), axis=0)
    if mapping.expr is not None:
        return colours_along(palette, np.clip(run_expression(mapping.expr, attrs, env), 0.0, 1.0))
    if mapping.source == "kind":
        return colours_by_kind(palette, attrs["kind"])
    low, high = mapping.range
    t = shape(attrs[mapping.source], mapping.input_domain(), mapping.curve)
    return colours_along(palette, low + (high - low) * t)
