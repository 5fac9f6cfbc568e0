"""Named colour palettes and colour parsing.

A palette is a list of colours. Mapped from a number it is a gradient; mapped
from the tap's kind its first three colours are heel, toe and unknown — so
every palette here starts with two colours that read apart on a projector
(warm against cool) and a quiet third.
"""

from __future__ import annotations

import numpy as np

PALETTES: dict[str, list[str]] = {
    # heel: ember orange, toe: glacier blue, unknown: warm grey, then a dusk ramp
    "hearth": ["#ff8a3d", "#5cc8ff", "#b8aea0", "#ffd36e", "#ff5e7a"],
    # heel: rose, toe: mint, unknown: lilac, then gold and cream
    "fiddle": ["#ff4f7b", "#6ef2c4", "#b9a3ff", "#ffd97a", "#fff1d6"],
    # heel: deep teal, toe: coral, on paper-like light backgrounds
    "ink": ["#0f5e6b", "#e0553b", "#6b6b6b", "#2a2a3a", "#c99a2e"],
    # heel: gold, toe: electric cyan, unknown: white-hot, then orange and violet: sparks on black
    "forge": ["#ffb02e", "#38e8ff", "#fff4d6", "#ff6a1f", "#9b6bff"],
    # heel: madder red, toe: indigo, unknown: undyed linen, then saffron and walnut: a woven textile
    "loom": ["#c8372d", "#3c5aa6", "#d9cdb4", "#e8a93a", "#6b4a2f"],
    # heel: warm star white, toe: pale blue, unknown: faint violet, then a deep-sky ramp
    "night": ["#fff1c9", "#9ec9ff", "#b7a6ff", "#ffd08a", "#6fa8ff"],
    # heel: chalk yellow, toe: chalk cyan, unknown: chalk white: a blackboard score
    "chalk": ["#ffe27a", "#7fe3f0", "#eeeeee", "#ff9c8a", "#b6f27a"],
    # greys, for the idle preset and tests
    "mono": ["#f0f0f0", "#8c8c8c", "#505050"],
}

KIND_SLOTS = ("unknown", "heel", "toe")  # event kind codes 0, 1, 2 -> palette slots 2, 0, 1
_KIND_TO_SLOT = np.array([2, 0, 1], dtype=np.intp)


def parse_colour(text: str) -> tuple[float, float, float, float]:
    """'#rrggbb' or '#rrggbbaa' -> floats 0..1. Raises ValueError with the right form."""
    digits = text[1:] if text.startswith("#") else None
    if digits is None or len(digits) not in (6, 8):
        raise ValueError(f"{text!r} is not a colour; write '#rrggbb' or '#rrggbbaa', e.g. '#ff8a3d'")
    try:
        values = [int(digits[i : i + 2], 16) / 255.0 for i in range(0, len(digits), 2)]
    except ValueError:
        raise ValueError(f"{text!r} is not a colour; write '#rrggbb' or '#rrggbbaa', e.g. '#ff8a3d'") from None
    if len(values) == 3:
        values.append(1.0)
    return tuple(values)  # type: ignore[return-value]


def palette_array(palette: str | list[str]) -> np.ndarray:
    """A palette as an (N, 4) float32 array of RGBA."""
    colours = PALETTES[palette] if isinstance(palette, str) else palette
    return np.array([parse_colour(c) for c in colours], dtype=np.float32)


def colours_by_kind(palette: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Heel, toe, unknown -> the palette's first three colours (the last one repeats if short)."""
    slots = _KIND_TO_SLOT[np.clip(kinds.astype(np.intp), 0, 2)]
    return palette[np.minimum(slots, len(palette) - 1)]


def colours_along(palette: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Positions 0..1 along the palette as a gradient through all its colours."""
    if len(palette) == 1:
        return np.repeat(palette, len(position), axis=0)
    scaled = np.clip(position, 0.0, 1.0) * (len(palette) - 1)
    low = np.minimum(scaled.astype(np.intp), len(palette) - 2)
    frac = (scaled - low)[:, None].astype(np.float32)
    return palette[low] * (1.0 - frac) + palette[low + 1] * frac
