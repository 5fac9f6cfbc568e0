"""The `lanes` kind: a score, one lane per zone, written at the playhead."""

from __future__ import annotations

import math

import numpy as np

from dessins_de_planche.preset.mapping import evaluate
from dessins_de_planche.preset.shapes import SHAPES
from dessins_de_planche.render.layers.base import NO_MARKS, LayerRenderer, beat_clock
from dessins_de_planche.render.marks import MARK_DTYPE


class LanesLayerRenderer(LayerRenderer):
    """A score: one lane per zone, heel low and toe high in it, written at the playhead.

    The canvas's `drift.shift` carries what is written away from the playhead, so the
    last bars scroll past like a piano roll; a line marks each beat, a stronger one each bar.
    """

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.reset()

    def reset(self) -> None:
        self.next_beat = None

    def reads_itself(self):
        return frozenset(("tap_id", "time", "zone", "kind"))

    def _rows(self, attrs):
        m = self.model
        lane_height = m.height / m.lanes
        lane = np.mod(attrs["zone"].astype(np.intp), m.lanes)
        centre = m.height / 2 - (lane + 0.5) * lane_height
        offset = np.array([0.0, -0.22, 0.22], np.float32)[np.clip(attrs["kind"].astype(np.intp), 0, 2)]
        return centre + offset * lane_height

    def marks_for(self, attrs, epoch, aspect):
        m = self.model
        marks = self._common(attrs, epoch, aspect)
        y = self._rows(attrs)
        half = 0.5 * evaluate(m.map.length, attrs, m.length, {"aspect": aspect}, "length")
        half = np.minimum(half, 0.2 * m.height / m.lanes)
        marks["p0"] = np.stack([np.full(len(attrs), m.playhead), y - half], axis=1)
        marks["p1"] = np.stack([np.full(len(attrs), m.playhead), y + half], axis=1)
        marks["shape"] = SHAPES["stroke"]
        return marks, attrs["tap_id"].copy()

    def tick(self, frame):
        m = self.model
        clock = beat_clock(frame.rhythm)
        if clock is None or (m.beat_lines <= 0 and m.bar_lines <= 0):
            return NO_MARKS
        position, period = clock
        now = frame.epoch + frame.time
        current = math.floor(position(now))
        if self.next_beat is None or self.next_beat > current + 1 or self.next_beat < current - 4:
            self.next_beat = current + 1
            return NO_MARKS
        beats = list(range(self.next_beat, current + 1))
        if not beats:
            return NO_MARKS
        self.next_beat = current + 1
        lines = np.zeros(len(beats), MARK_DTYPE)
        bar_phase = getattr(frame.rhythm, "bar_phase", None)
        for i, beat in enumerate(beats):
            when = now - (position(now) - beat) * period
            downbeat = bar_phase is not None and min(bar_phase(when), 1.0 - bar_phase(when)) < 0.05
            strength = m.bar_lines if downbeat else m.beat_lines
            lines[i]["p0"] = (m.playhead, -m.height / 2)
            lines[i]["p1"] = (m.playhead, m.height / 2)
            lines[i]["width"] = 0.0025 if downbeat else 0.0012
            lines[i]["color"] = (*self.palette[min(2, len(self.palette) - 1), :3], strength)
            lines[i]["t_tap"] = when - frame.epoch
            lines[i]["life"] = 0.01
        return lines[lines["color"][:, 3] > 0]

    def overlay(self, frame):
        """The lane dividers and the playhead: fixed on screen, so drawn each frame, not kept."""
        m = self.model
        edges = m.height / 2 - np.arange(m.lanes + 1) * (m.height / m.lanes)
        marks = np.zeros(len(edges) + 1, MARK_DTYPE)
        grey = self.palette[min(2, len(self.palette) - 1), :3]
        marks["p0"][:-1] = np.stack([np.full(len(edges), -frame.aspect), edges], axis=1)
        marks["p1"][:-1] = np.stack([np.full(len(edges), frame.aspect), edges], axis=1)
        marks["width"][:-1] = 0.0015
        marks["color"][:-1] = (*grey, 0.35)
        marks["p0"][-1] = (m.playhead + 0.02, -m.height / 2)
        marks["p1"][-1] = (m.playhead + 0.02, m.height / 2)
        marks["width"][-1] = 0.002
        marks["color"][-1] = (*grey, 0.25 + 0.5 * frame.level)
        marks["t_tap"] = frame.time
        return marks
