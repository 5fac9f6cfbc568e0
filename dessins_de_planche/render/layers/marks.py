"""The `marks` kind: a mark per tap on a clock face, optionally linked to the one before."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.preset.shapes import ELONGATED, SHAPES
from dessins_de_planche.render.layers.base import NO_IDS, NO_MARKS, LayerRenderer


class MarksLayerRenderer(LayerRenderer):
    """One mark per tap at (x, y) + radius in the direction of angle (0 = top, clockwise).

    `spin` turns the whole clock face with the tune's time, so marks at the same
    place in the bar wind into spiral arms instead of piling up on one spoke.
    `link` joins each tap's mark to the previous one (a constellation's lines).
    """

    RECENT = 64

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.last_id = None
        self.centre_of: dict[int, np.ndarray] = {}
        self.previous_of: dict[int, int | None] = {}

    def reads_itself(self):
        by_kind = () if isinstance(self.model.shape, str) else ("kind",)
        return frozenset(("tap_id", "time", "tune_time", *by_kind))

    def _shapes(self, attrs):
        shape = self.model.shape
        if isinstance(shape, str):
            return np.full(len(attrs), SHAPES[shape], np.float32), np.full(len(attrs), shape in ELONGATED)
        names = [shape.unknown, shape.heel, shape.toe]
        slot = np.clip(attrs["kind"].astype(np.intp), 0, 2)
        codes = np.array([SHAPES[n] for n in names], np.float32)[slot]
        long = np.array([n in ELONGATED for n in names])[slot]
        return codes, long

    def _marks(self, attrs, epoch, aspect):
        m = self.model
        marks = self._common(attrs, epoch, aspect)
        centre, direction = self._placed(attrs, aspect)
        codes, long = self._shapes(attrs)
        # petals and strokes reach along their direction; glyphs only take their turn from it
        reach = np.where(long, marks["width"] * m.stretch * 0.5, marks["width"] * 0.01)
        half = direction * reach[:, None]
        marks["p0"] = centre - half
        marks["p1"] = centre + half
        marks["shape"] = codes
        return marks, centre

    def _links(self, marks, centre, ids, previous_ids):
        m = self.model
        starts = [self.centre_of.get(p) if p is not None else None for p in previous_ids]
        keep = [i for i, s in enumerate(starts)
                if s is not None and float(np.hypot(*(centre[i] - s))) <= m.link_reach]
        if not keep:
            return NO_MARKS, NO_IDS
        links = marks[keep].copy()
        links["p0"] = np.array([starts[i] for i in keep], np.float32)
        links["p1"] = centre[keep]
        links["width"] *= m.link
        links["color"][:, 3] *= m.link_opacity
        links["shape"] = SHAPES["stroke"]
        links["glow"] = 0.0
        return links, ids[keep]

    def _remember(self, ids, centre, previous_ids):
        for tap_id, point, previous in zip(ids.tolist(), centre, previous_ids):
            self.centre_of[tap_id] = point.copy()
            self.previous_of[tap_id] = previous
        while len(self.centre_of) > self.RECENT:
            oldest = next(iter(self.centre_of))
            del self.centre_of[oldest]
            self.previous_of.pop(oldest, None)

    def marks_for(self, attrs, epoch, aspect):
        marks, centre = self._marks(attrs, epoch, aspect)
        ids = attrs["tap_id"].copy()
        if self.model.link <= 0:
            return marks, ids
        previous_ids = [self.last_id] + ids[:-1].tolist()
        links, link_ids = self._links(marks, centre, ids, previous_ids)
        self._remember(ids, centre, previous_ids)
        if len(ids):
            self.last_id = int(ids[-1])
        return np.concatenate([links, marks]), np.concatenate([link_ids, ids])

    def refine(self, attrs, epoch, aspect):
        marks, centre = self._marks(attrs, epoch, aspect)
        ids = attrs["tap_id"].copy()
        if self.model.link <= 0:
            return marks, ids
        previous_ids = [self.previous_of.get(int(i)) for i in ids]
        self._remember(ids, centre, previous_ids)
        links, link_ids = self._links(marks, centre, ids, previous_ids)
        return np.concatenate([links, marks]), np.concatenate([link_ids, ids])

    def withdraw(self, tap_ids, epoch, aspect):
        """The next tap links to the last one still standing."""
        gone = set(int(t) for t in tap_ids)
        while self.last_id in gone:
            self.last_id = self.previous_of.get(self.last_id)
        for tap_id in gone:
            self.centre_of.pop(tap_id, None)
            self.previous_of.pop(tap_id, None)
        return NO_MARKS, NO_IDS
