"""The `figure` kind: a step dancer whose feet strike with the taps."""

from __future__ import annotations

import math

import numpy as np

from dessins_de_planche.preset.palettes import parse_colour
from dessins_de_planche.preset.shapes import SHAPES
from dessins_de_planche.render.layers.base import NO_IDS, NO_MARKS, LayerRenderer, beat_clock
from dessins_de_planche.render.marks import MARK_DTYPE, NO_TAP


class FigureLayerRenderer(LayerRenderer):
    """A step dancer in profile (facing right) whose feet strike with the taps.

    A heel tap plants the heel with the toe raised; a toe tap the toe with the heel
    raised; the foot then lifts a little and settles. The body dips on each beat.
    Each strike leaves a print on the floor (heel: a wide bar, toe: a small dot),
    which the canvas's drift carries away behind the dancer.
    """

    STRIKES = 4  # kept per foot: a strike still held back (its tap may be withdrawn) shows the one before

    def __init__(self, model, scene=None, folder=None):
        super().__init__(model, scene, folder)
        self.body = np.array(parse_colour(model.body), np.float32)
        self.scene = scene
        self.reset()

    def retune(self, model) -> None:
        super().retune(model)
        self.body = np.array(parse_colour(model.body), np.float32)

    def reads_itself(self):
        return frozenset(("tap_id", "time", "zone", "kind"))  # a strike keeps its tap's kind (the dance)

    def reset(self) -> None:
        # per foot, oldest first: master time of a strike, its kind, its colour, its tap
        self.strikes = [[(-1e9, 1, np.zeros(4, np.float32), int(NO_TAP))],
                        [(-1e9, 2, np.zeros(4, np.float32), int(NO_TAP))]]
        self.count = 0
        self.counted: list[int] = []  # the last taps that took a turn of the feet, in order

    def _strike(self, foot: int):
        """The foot's last strike that may show (a tap held back until it is confirmed does not move it)."""
        for strike in reversed(self.strikes[foot]):
            if strike[3] == NO_TAP or self.scene is None or self.scene.shown(strike[3]):
                return strike
        return self.strikes[foot][0]

    def _geometry(self):
        m = self.model
        h = m.height
        return h, 0.13 * h, 0.095 * h  # height, foot length, hip spacing

    def _foot_x(self, foot: int) -> float:
        h, foot_len, spacing = self._geometry()
        return self.model.x + (foot - 0.5) * spacing * 1.6

    def marks_for(self, attrs, epoch, aspect):
        m = self.model
        common = self._common(attrs, epoch, aspect)
        feet = np.zeros(len(attrs), np.intp)
        for i in range(len(attrs)):  # a frame brings a handful of taps
            foot = int(attrs["zone"][i]) % 2 if m.feet == "zone" else self.count % 2
            self.count += 1
            self.counted = [*self.counted[-7:], int(attrs["tap_id"][i])]
            feet[i] = foot
            strikes = self.strikes[foot]
            strikes.append((float(attrs["time"][i]), int(attrs["kind"][i]), common["color"][i].copy(),
                            int(attrs["tap_id"][i])))
            del strikes[: -self.STRIKES]
        return self._prints(common, attrs, feet), attrs["tap_id"].copy()

    def refine(self, attrs, epoch, aspect):
        common = self._common(attrs, epoch, aspect)
        feet = np.zeros(len(attrs), np.intp)
        for i in range(len(attrs)):
            for foot, strikes in enumerate(self.strikes):
                for k, (when, _, _, tap_id) in enumerate(strikes):
                    if tap_id == int(attrs["tap_id"][i]):
                        feet[i] = foot
                        strikes[k] = (when, int(attrs["kind"][i]), common["color"][i].copy(), tap_id)
        return self._prints(common, attrs, feet), attrs["tap_id"].copy()

    def withdraw(self, tap_ids, epoch, aspect):
        """The feet forget the strike (the figure never moved for it), and the next tap takes its turn."""
        gone = set(int(t) for t in tap_ids)
        for foot, strikes in enumerate(self.strikes):
            kept = [strike for strike in strikes if strike[3] not in gone]
            self.strikes[foot] = kept or [(-1e9, foot + 1, np.zeros(4, np.float32), int(NO_TAP))]
        while self.counted and self.counted[-1] in gone:
            self.counted.pop()
            self.count -= 1
        self.counted = [tap_id for tap_id in self.counted if tap_id not in gone]
        return NO_MARKS, NO_IDS

    def _prints(self, common, attrs, feet):
        m = self.model
        if m.prints <= 0:
            return NO_MARKS
        h, foot_len, _ = self._geometry()
        x = np.array([self._foot_x(f) for f in feet], np.float32)
        heel = attrs["kind"] == 1
        # a heel leaves a broad bar under the heel, a toe a round dot under the toes
        x += np.where(heel, 0.0, foot_len * 0.9)
        half = np.where(heel, 0.04 * h * m.prints, 0.0)
        y = m.floor - 0.035 * h
        prints = common.copy()
        prints["p0"] = np.stack([x - half, np.full(len(x), y)], axis=1)
        prints["p1"] = np.stack([x + half, np.full(len(x), y)], axis=1)
        prints["width"] *= m.prints
        prints["shape"] = SHAPES["stroke"]
        return prints

    def overlay(self, frame):
        m = self.model
        h, foot_len, spacing = self._geometry()
        now = frame.epoch + frame.time
        clock = beat_clock(frame.rhythm)
        beat = (clock[0](now) % 1.0) if clock else 0.0
        dip = 0.035 * h * math.exp(-5.0 * beat)
        hip_y = m.floor + 0.5 * h - dip
        segments: list[tuple[tuple, tuple, float, np.ndarray]] = []
        limb = 0.032 * h
        for foot in (0, 1):
            when, kind, colour, _ = self._strike(foot)
            age = now - when
            hip = (m.x + (foot - 0.5) * spacing * 0.5, hip_y)
            heel_x = self._foot_x(foot)
            settle = math.exp(-max(age, 0.0) / 0.09)
            lift = 0.05 * h * math.sin(math.pi * min(max((age - 0.08) / 0.32, 0.0), 1.0))
            tilt = (0.45 if kind == 1 else -0.55) * settle  # radians: toe up after a heel, heel up after a toe
            if kind == 1 or tilt >= 0:
                heel = (heel_x, m.floor + lift)
                toe = (heel_x + foot_len * math.cos(tilt), m.floor + lift + foot_len * math.sin(tilt))
            else:
                toe = (heel_x + foot_len, m.floor + lift)
                heel = (toe[0] - foot_len * math.cos(tilt), toe[1] + foot_len * math.sin(-tilt))
            ankle = (heel[0] + 0.15 * (toe[0] - heel[0]), heel[1] + 0.06 * h)
            knee = _knee(hip, ankle, 0.25 * h, 0.25 * h)
            shade = self.body * (0.8 if foot == 0 else 1.0)
            segments += [(hip, knee, limb, shade), (knee, ankle, limb * 0.9, shade), (heel, toe, limb * 0.8, shade)]
            if age < 1.0:  # the strike's flash where the foot met the floor
                flash = math.exp(-age / 0.18)
                contact = heel if kind == 1 else toe
                light = colour.copy()
                light[3] = flash
                segments.append((contact, contact, limb * (1.2 + 1.5 * (1 - flash)), light))
        neck = (m.x + 0.02 * h, hip_y + 0.33 * h)
        segments.append(((m.x, hip_y), neck, limb * 1.5, self.body))
        swing = 0.25 * math.sin(math.pi * (clock[0](now) if clock else 0.0))
        for side in (-1, 1):
            elbow = (neck[0] + side * 0.04 * h * math.sin(swing) + 0.02 * h, neck[1] - 0.15 * h)
            hand = (elbow[0] + 0.06 * h * side * math.sin(swing) + 0.03 * h, elbow[1] - 0.13 * h)
            shade = self.body * (0.8 if side < 0 else 1.0)
            segments += [(neck, elbow, limb * 0.8, shade), (elbow, hand, limb * 0.7, shade)]
        head = (neck[0] + 0.01 * h, neck[1] + 0.1 * h)
        segments.append((head, head, 0.065 * h, self.body))
        marks = np.zeros(len(segments), MARK_DTYPE)
        for i, (a, b, width, colour) in enumerate(segments):
            marks[i]["p0"], marks[i]["p1"], marks[i]["width"] = a, b, width
            marks[i]["color"] = colour if len(colour) == 4 else (*colour[:3], 1.0)
        marks["color"][:, 3] *= m.opacity
        marks["t_tap"] = frame.time
        return marks


def _knee(hip, ankle, thigh, shin):
    """Two-bone reach: the knee bends forward (to the right, where the dancer faces)."""
    dx, dy = ankle[0] - hip[0], ankle[1] - hip[1]
    distance = max(min(math.hypot(dx, dy), thigh + shin - 1e-6), 1e-6)
    along = (thigh**2 - shin**2 + distance**2) / (2 * distance)
    across = math.sqrt(max(thigh**2 - along**2, 0.0))
    ux, uy = dx / distance, dy / distance
    return hip[0] + ux * along - uy * across * -1, hip[1] + uy * along + ux * across * -1
