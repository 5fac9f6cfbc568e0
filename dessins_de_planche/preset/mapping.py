"""Evaluating a preset's mappings over a batch of taps: numpy in, numpy out, no per-tap Python."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.preset.model import ColourMapping, Mapping
from dessins_de_planche.preset.palettes import colours_along, colours_by_kind

# Per-tap attributes the scene computes once and every layer maps from.
TAP_ATTRS_DTYPE = np.dtype(
    [
        ("time", "<f8"),
        ("detected_at", "<f8"),
        ("tap_id", "<u4"),
        ("bar_phase", "<f4"),
        ("beat_phase", "<f4"),
        ("tune_time", "<f4"),
        ("velocity", "<f4"),
        ("kind", "<f4"),
        ("zone", "<f4"),
        ("interval", "<f4"),
        ("tempo", "<f4"),
    ]
)

_EXP_K = 4.0


def shape(values: np.ndarray, domain: tuple[float, float], curve: str) -> np.ndarray:
    """Domain -> 0..1 (clamped), then bent by the curve: linear, ease (smooth in and out), exp (slow then fast)."""
    low, high = domain
    t = np.clip((values.astype(np.float32) - low) / (high - low), 0.0, 1.0)
    if curve == "ease":
        return t * t * (3.0 - 2.0 * t)
    if curve == "exp":
        return np.expm1(_EXP_K * t) / np.expm1(_EXP_K)
    return t


def evaluate(mapping: Mapping | None, attrs: np.ndarray, constant: float) -> np.ndarray:
    """One visual attribute for each tap: the mapping's value, or the layer's constant when unmapped."""
    if mapping is None:
        return np.full(len(attrs), constant, dtype=np.float32)
    if mapping.by_kind is not None:
        table = np.array([mapping.by_kind.unknown, mapping.by_kind.heel, mapping.by_kind.toe], dtype=np.float32)
        return table[np.clip(attrs["kind"].astype(np.intp), 0, 2)]
    low, high = mapping.range
    t = shape(attrs[mapping.source], mapping.input_domain(), mapping.curve)
    return (low + (high - low) * t).astype(np.float32)


def evaluate_colour(mapping: ColourMapping | None, attrs: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """RGBA per tap: by kind (heel, toe, unknown = palette slots 0, 1, 2) or along the palette."""
    if mapping is None:
        return np.repeat(palette[:1], len(attrs), axis=0)
    if mapping.source == "kind":
        return colours_by_kind(palette, attrs["kind"])
    low, high = mapping.range
    t = shape(attrs[mapping.source], mapping.input_domain(), mapping.curve)
    return colours_along(palette, low + (high - low) * t)
