"""SVG export: the marks of a performance as clean vector paths, sized in millimetres.

For a pen plotter or a laser cutter (engrave a performance into the board itself):
every mark a vector layer drew becomes one `<path>` (outlined, no fill), placed
where the canvas's drift had carried it by the end, in the mark's colour so a
plotter can take one pen per colour. Marks that are light rather than ink
(particles, the figure, custom shaders) and canvases that bleed or warp have no
vector form: `check_vector` says so before anything is rendered.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from dessins_de_planche.preset.layer_kinds import LAYER_KINDS
from dessins_de_planche.preset.shapes import NAME_OF_CODE, SHAPES
from dessins_de_planche.render.marks import NO_TAP

DEFAULT_WIDTH_MM = 420.0  # A3 landscape


class NoVectorForm(ValueError):
    """A preset whose picture is light, not lines: it cannot be an SVG."""


def check_vector(preset) -> None:
    vector_kinds = sorted(k for k, model in LAYER_KINDS.items() if getattr(model, "vector", False))
    if not preset.vector_layers:
        kinds = ", ".join(sorted({layer.kind for layer in preset.layers}))
        raise NoVectorForm(f"preset {preset.name!r} has no vector form: its layers ({kinds}) are light, not lines. "
                           f"SVG export needs a layer of kind {', '.join(vector_kinds)} "
                           "(in the gallery: rosette, thread, lanes, constellation, weave); render a .png instead")
    if preset.canvas.effects:
        raise NoVectorForm(f"preset {preset.name!r} has no vector form: its canvas bleeds, warps or shifts hue "
                           "(canvas.blur, canvas.warp, canvas.hue); render a .png instead")


class Drawing:
    """Every mark drawn, by layer and tap (a refined tap's marks replace its earlier ones; a withdrawn
    tap's go)."""

    def __init__(self):
        self.layers: dict[int, dict[int, list[np.ndarray]]] = {}
        self.extra: dict[int, list[np.ndarray]] = {}  # marks no tap made (beat lines)

    def add(self, layer: int, marks: np.ndarray, ids: np.ndarray, replace: bool = False) -> None:
        by_tap = self.layers.setdefault(layer, {})
        if replace:
            for tap_id in np.unique(ids).tolist():
                by_tap.pop(int(tap_id), None)
        tapless = ids == NO_TAP
        if tapless.any():
            self.extra.setdefault(layer, []).append(marks[tapless].copy())
        for tap_id in np.unique(ids[~tapless]).tolist():
            by_tap.setdefault(int(tap_id), []).append(marks[ids == tap_id].copy())

    def remove(self, tap_ids) -> None:
        """Withdrawn taps: their marks leave every layer."""
        for by_tap in self.layers.values():
            for tap_id in np.asarray(tap_ids).tolist():
                by_tap.pop(int(tap_id), None)

    def taps(self, layer: int) -> int:
        return len(self.layers.get(layer, {}))


def _drifted(marks: np.ndarray, end: float, drift) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the canvas had carried each mark by `end` (same motion as marks.vert.glsl)."""
    age = np.maximum(end - marks["t_tap"].astype(np.float64), 0.0)
    scale = drift.zoom ** age
    turn = np.radians(drift.rotate) * age
    c, s = np.cos(turn), np.sin(turn)
    shift = np.asarray(drift.shift, np.float64)

    def move(p):
        p = p.astype(np.float64)
        x = scale * (c * p[:, 0] + s * p[:, 1])
        y = scale * (-s * p[:, 0] + c * p[:, 1])
        return np.stack([x, y], axis=1) + shift * age[:, None]

    return move(marks["p0"]), move(marks["p1"]), marks["width"] * scale


def _polygon(points) -> str:
    first, *rest = points
    return f"M{first[0]:.2f},{first[1]:.2f} " + " ".join(f"L{x:.2f},{y:.2f}" for x, y in rest) + " Z"


def _circle(cx, cy, r) -> str:
    return (f"M{cx - r:.2f},{cy:.2f} A{r:.2f},{r:.2f} 0 1,0 {cx + r:.2f},{cy:.2f} "
            f"A{r:.2f},{r:.2f} 0 1,0 {cx - r:.2f},{cy:.2f} Z")


def _glyph_points(centre, up, width, radius_of) -> list:
    angles = np.linspace(0.0, math.tau, 60, endpoint=False)
    right = np.array([up[1], -up[0]])
    r = radius_of(angles)
    return [tuple(centre + right * (ri * math.sin(a)) + up * (ri * math.cos(a))) for a, ri in zip(angles, r)]


def mark_path(p0, p1, width, shape: float) -> str:
    """One mark (in mm, y down) as SVG path data: its outline, or a line where it is a thin stroke."""
    axis = p1 - p0
    length = float(np.hypot(*axis))
    up = axis / length if length > 1e-9 else np.array([0.0, -1.0])
    centre = 0.5 * (p0 + p1)
    if shape == SHAPES["ring"]:
        return _circle(*centre, width * 0.78)
    if shape == SHAPES["petal"]:
        t = np.linspace(0.0, 1.0, 12)
        radius = width * (0.3 + 0.7 * np.sqrt(t))
        across = np.array([-up[1], up[0]])
        spine = p0 + np.outer(t, axis)
        left = spine + across * radius[:, None]
        tip = [tuple(p1 + width * (math.cos(a) * across + math.sin(a) * up)) for a in np.linspace(0, math.pi, 7)]
        right = (spine - across * radius[:, None])[::-1]
        return _polygon([tuple(p) for p in left] + tip[1:-1] + [tuple(p) for p in right])
    if shape == SHAPES["splat"]:
        seed = math.modf(abs(math.sin(float(np.dot(p0, (12.9898, 78.233)))) * 43758.5453))[0] * math.tau
        return _polygon(_glyph_points(centre, up, width, lambda a: width * (
            1.0 + 0.13 * np.sin(3 * a + seed) + 0.09 * np.sin(5 * a - 2 * seed) + 0.05 * np.sin(11 * a + 3 * seed))))
    if shape == SHAPES["star"]:
        return _polygon(_glyph_points(centre, up, width,
                                      lambda a: width * (0.38 + 0.87 * np.abs(np.cos(2.5 * a)) ** 3)))
    if shape == SHAPES["cross"]:
        d = width * 0.70710678
        right = np.array([up[1], -up[0]])
        a, b = centre + (up + right) * d, centre - (up + right) * d
        c, e = centre + (up - right) * d, centre - (up - right) * d
        return f"M{a[0]:.2f},{a[1]:.2f} L{b[0]:.2f},{b[1]:.2f} M{c[0]:.2f},{c[1]:.2f} L{e[0]:.2f},{e[1]:.2f}"
    if shape == SHAPES["diamond"]:
        right = np.array([up[1], -up[0]])
        return _polygon([tuple(centre + up * width), tuple(centre + right * width),
                         tuple(centre - up * width), tuple(centre - right * width)])
    if length < 1e-9:
        return _circle(*centre, width)
    if width < 0.4:  # a thin stroke: the pen's own line, not an outline
        return f"M{p0[0]:.2f},{p0[1]:.2f} L{p1[0]:.2f},{p1[1]:.2f}"
    across = np.array([-up[1], up[0]]) * width
    a, b, c, d = p0 + across, p1 + across, p1 - across, p0 - across
    return (f"M{a[0]:.2f},{a[1]:.2f} L{b[0]:.2f},{b[1]:.2f} A{width:.2f},{width:.2f} 0 0,0 {c[0]:.2f},{c[1]:.2f} "
            f"L{d[0]:.2f},{d[1]:.2f} A{width:.2f},{width:.2f} 0 0,0 {a[0]:.2f},{a[1]:.2f} Z")


def _hex(colour) -> str:
    r, g, b = (int(round(min(max(float(c), 0.0), 1.0) * 255)) for c in colour[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def svg_text(drawing: Drawing, preset, aspect: float, end: float, width_mm: float = DEFAULT_WIDTH_MM) -> str:
    """The SVG document: one group per vector layer, one path per mark that is still on the page."""
    height_mm = width_mm / aspect
    unit = height_mm / 2.0  # mm per scene unit (1 = half the height)

    def to_mm(p):
        return np.stack([(p[:, 0] + aspect) * unit, (1.0 - p[:, 1]) * unit], axis=1)

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm:.1f}mm" height="{height_mm:.1f}mm" '
        f'viewBox="0 0 {width_mm:.2f} {height_mm:.2f}">',
        f"  <title>{preset.name}</title>",
        f"  <desc>{quoteattr(preset.description)[1:-1]}</desc>",
    ]
    for index in preset.vector_layers:
        layer = preset.layers[index]
        lines.append(f'  <g id="layer-{index}-{layer.kind}" fill="none" stroke-linecap="round" '
                     'stroke-linejoin="round" stroke-width="0.3">')
        groups = [("tap", tap_id, np.concatenate(chunks)) for tap_id, chunks in
                  sorted(drawing.layers.get(index, {}).items())]
        groups += [("grid", None, chunk) for chunk in drawing.extra.get(index, [])]
        for role, tap_id, marks in groups:
            p0, p1, width = _drifted(marks, end, preset.canvas.drift)
            p0, p1, width = to_mm(p0), to_mm(p1), width * unit
            inside = ((np.maximum(p0[:, 0], p1[:, 0]) >= 0) & (np.minimum(p0[:, 0], p1[:, 0]) <= width_mm)
                      & (np.maximum(p0[:, 1], p1[:, 1]) >= 0) & (np.minimum(p0[:, 1], p1[:, 1]) <= height_mm))
            visible = inside & (marks["color"][:, 3] > 0.02)
            if not visible.any():
                continue
            if role == "grid":
                for i in np.flatnonzero(visible):
                    lines.append(f'    <path class="grid" stroke="{_hex(marks["color"][i])}" '
                                 f'd="{mark_path(p0[i], p1[i], float(width[i]), float(marks["shape"][i]))}"/>')
                continue
            data = " ".join(mark_path(p0[i], p1[i], float(width[i]), float(marks["shape"][i]))
                            for i in np.flatnonzero(visible))
            shape = NAME_OF_CODE.get(float(marks["shape"][np.flatnonzero(visible)[-1]]), "mark")
            colour = _hex(marks["color"][np.flatnonzero(visible)[-1]])
            lines.append(f'    <path class="tap {shape}" data-tap="{tap_id}" stroke="{colour}" d="{data}"/>')
        lines.append("  </g>")
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def write_svg(drawing: Drawing, scene, out_path, width_mm: float = DEFAULT_WIDTH_MM) -> str:
    text = svg_text(drawing, scene.preset, scene.canvas.aspect, scene.time or 0.0, width_mm)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(text, encoding="utf-8")
    return text

