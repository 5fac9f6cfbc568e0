"""A learned stage's weights file: named arrays in an `.npz`, with the `stamp` that says which
corpus and training made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load(path) -> dict | None:
    """The arrays as a dict (and `stamp` as str); None when the file is missing."""
    path = Path(path)
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        weights = {key: data[key] for key in data.files}
    weights["stamp"] = str(weights["stamp"])
    return weights
