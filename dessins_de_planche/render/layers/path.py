"""The `path` kind: a thread that each tap turns and steps forward."""

from __future__ import annotations

import math

import numpy as np

from dessins_de_planche.preset.mapping import evaluate
from dessins_de_planche.render.layers.base import LayerRenderer
from dessins_de_planche.render.marks import MARK_DTYPE


class PathLayerRenderer(LayerRenderer):
    """A thread: each tap turns the heading (by `turn`) and steps forward (by `length`).

    Its state (head position, heading) runs through the taps in order; the state
    before each recent tap is kept so a refine record (heel became toe) can replay
    the last steps with the corrected turn.
    """

    HISTORY = 32

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.head = np.zeros(2)
        self.heading = self.model.heading
        self.history: list[tuple[int, np.ndarray, float, np.void]] = []  # tap_id, head, heading, attrs

    def reads_itself(self):
        return frozenset(("tap_id", "time", "tune_time", "interval"))

    def _step(self, turn: float, length: float, aspect: float) -> tuple[np.ndarray, np.ndarray]:
        """Move the head; returns the segment drawn (equal ends when the thread jumped)."""
        m = self.model
        start = self.head.copy()
        distance = float(np.hypot(*start))
        heading = self.heading + turn
        if m.bounds == "steer" and distance > m.reach:
            # beyond its reach the thread curls back toward the centre, more the farther out
            home = math.degrees(math.atan2(-start[0], -start[1]))
            off = (home - heading + 180.0) % 360.0 - 180.0
            heading += off * min(1.0, (distance - m.reach) / (0.25 * m.reach))
        self.heading = heading % 360.0
        rad = math.radians(self.heading)
        end = start + length * np.array([math.sin(rad), math.cos(rad)])
        limit = np.array([aspect, 1.0]) * 0.97
        if np.any(np.abs(end) > limit):  # off the screen: come back in on the other side
            end = np.where(np.abs(end) > limit, end - np.sign(end) * 2 * limit, end)
            start = end
        self.head = end
        return start, end

    def _walk(self, attrs, epoch, aspect):
        m = self.model
        common = self._common(attrs, epoch, aspect)
        turns = evaluate(m.map.turn, attrs, m.turn, {"aspect": aspect}, "turn")
        lengths = evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        segments = np.zeros(len(attrs), MARK_DTYPE)
        for i in range(len(attrs)):  # sequential by nature; a frame brings a handful of taps
            self.history.append((int(attrs["tap_id"][i]), self.head.copy(), self.heading, attrs[i].copy()))
            first = attrs["tune_time"][i] == 0.0 and attrs["interval"][i] == 0.0
            start, end = self._step(float(turns[i]), 0.0 if first else float(lengths[i]), aspect)
            segments[i] = common[i]
            segments[i]["p0"], segments[i]["p1"] = start, end
        del self.history[: -self.HISTORY]
        index = attrs["tap_id"].copy()
        if m.beads <= 0:
            return segments, index
        beads = segments.copy()
        beads["p0"] = beads["p1"]
        beads["width"] *= m.beads
        beads["glow"] *= 1.5
        return np.concatenate([segments, beads]), np.concatenate([index, index])

    def marks_for(self, attrs, epoch, aspect):
        return self._walk(attrs, epoch, aspect)

    def refine(self, attrs, epoch, aspect):
        """Replay the thread from the first refined tap: returns marks for it and every later step."""
        ids = [entry[0] for entry in self.history]
        changed = {int(t): a for t, a in zip(attrs["tap_id"], attrs)}
        starts = [i for i, tap_id in enumerate(ids) if tap_id in changed]
        if not starts:
            return np.zeros(0, MARK_DTYPE), np.zeros(0, np.uint32)
        first = starts[0]
        replay = self.history[first:]
        _, self.head, self.heading, _ = replay[0]
        self.head = self.head.copy()
        del self.history[first:]
        records = np.array([changed.get(tap_id, old) for tap_id, _, _, old in replay], dtype=attrs.dtype)
        return self._walk(records, epoch, aspect)

    def withdraw(self, tap_ids, epoch, aspect):
        """Replay the thread from where the first withdrawn tap took its step, without it: the head
        goes back, and the later steps (if any came already) are drawn again from there."""
        gone = set(int(t) for t in tap_ids)
        ids = [entry[0] for entry in self.history]
        starts = [i for i, tap_id in enumerate(ids) if tap_id in gone]
        if not starts:
            return np.zeros(0, MARK_DTYPE), np.zeros(0, np.uint32)
        replay = self.history[starts[0]:]
        _, head, self.heading, _ = replay[0]
        self.head = head.copy()
        del self.history[starts[0]:]
        later = [old for tap_id, _, _, old in replay if tap_id not in gone]
        if not later:
            return np.zeros(0, MARK_DTYPE), np.zeros(0, np.uint32)
        return self._walk(np.array(later, dtype=replay[0][3].dtype), epoch, aspect)
