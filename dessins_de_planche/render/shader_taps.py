"""The newest taps as custom shaders see them (`u_taps`, `u_tap_pos` in `shaders/layer.glsl`).

A fixed number of rows, newest first: the tap's time, kind, velocity and zone, where its first
mark landed, and whether it may show (a tap held back until the detector confirms it, or one
withdrawn, does not). Shaders read the first `count` rows, so the rows that may show come first.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.render.live import among


class ShaderTaps:
    """Rows of (time, kind, velocity, zone, x, y, valid), newest valid ones first."""

    def __init__(self, size: int):
        self.rows = np.zeros((size, 7), np.float64)

    def clear(self) -> None:
        self.rows[:, 6] = 0

    def note(self, attrs, marks, ids, hidden) -> None:
        """The newest taps and where their first mark landed, for custom shaders' u_taps/u_tap_pos."""
        rows = np.zeros((len(attrs), 7), np.float64)
        rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3] = attrs["time"], attrs["kind"], attrs["velocity"], attrs["zone"]
        rows[:, 6] = 1.0
        if hidden:  # held back from custom shaders too, until confirmed
            rows[among(attrs["tap_id"], hidden), 6] = 0.0
        if marks is not None:
            centres = 0.5 * (marks["p0"] + marks["p1"])
            unique, first = np.unique(ids, return_index=True)
            where = np.searchsorted(unique, attrs["tap_id"])
            found = (where < len(unique)) & (unique[np.minimum(where, len(unique) - 1)] == attrs["tap_id"])
            rows[found, 4:6] = centres[first[where[found]]]
        self.rows = np.concatenate([rows[::-1], self.rows])[:len(self.rows)]
        self._sort()

    def _sort(self) -> None:
        """The taps custom shaders see first (they read `count` rows), newest first."""
        rows = self.rows
        self.rows = rows[np.lexsort((-rows[:, 0], -rows[:, 6]))]

    def set_valid(self, times, valid: float) -> None:
        """The taps at these times show to custom shaders (1.0: confirmed) or not (0.0: withdrawn)."""
        rows = self.rows
        for time in np.atleast_1d(times):
            rows[np.abs(rows[:, 0] - time) < 1e-9, 6] = valid
        self._sort()

    def recent(self, now: float):
        """(N x 4: age, kind, velocity, zone), (N x 2: x, y), how many are real."""
        rows = self.rows
        count = int(rows[:, 6].sum())
        taps = rows[:, :4].copy()
        taps[:, 0] = np.where(rows[:, 6] > 0, now - rows[:, 0], 1e6)
        return taps.astype(np.float32), rows[:, 4:6].astype(np.float32), count

    def rekind(self, refines: np.ndarray) -> None:
        """Refine records: their taps' kinds as the detector heard them at last."""
        rows = self.rows
        for record in refines:
            rows[np.abs(rows[:, 0] - record["time"]) < 1e-9, 1] = record["kind"]
