"""Corner-pin: where each corner of the picture lands on the screen, for a projector off-axis.

A projector that is not square to the wall makes a trapezoid; pinning the picture's four
corners where they must land on the screen undoes it. The four points define a
homography (a plane seen in perspective), applied in the output pass to the
full-resolution picture, so marks stay sharp.

Corners are fractions of the screen from its top-left (x right, y down), as a mouse
reads them. A warp lives in a small TOML file: `--warp FILE`, else one per display in
the config folder (`warp-display-N.toml`), written when corner-pin setup ends.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import tomli_w

CORNERS = ("top_left", "top_right", "bottom_right", "bottom_left")  # the order setup walks them
_UNIT = {"top_left": (0.0, 0.0), "top_right": (1.0, 0.0), "bottom_right": (1.0, 1.0), "bottom_left": (0.0, 1.0)}
LIMIT = 1.0  # a corner may go this far off the screen (a projector zoomed beyond the wall)


class WarpError(ValueError):
    pass


@dataclass(frozen=True)
class Warp:
    CORNER_NAMES = CORNERS
    top_left: tuple[float, float] = _UNIT["top_left"]
    top_right: tuple[float, float] = _UNIT["top_right"]
    bottom_right: tuple[float, float] = _UNIT["bottom_right"]
    bottom_left: tuple[float, float] = _UNIT["bottom_left"]

    @property
    def identity(self) -> bool:
        return all(np.allclose(getattr(self, name), _UNIT[name], atol=1e-6) for name in CORNERS)

    def moved(self, corner: str, dx: float, dy: float) -> Warp:
        """This warp with one corner nudged (kept within LIMIT of the screen)."""
        x, y = getattr(self, corner)
        clamp = lambda v: min(max(v, -LIMIT), 1.0 + LIMIT)  # noqa: E731
        return replace(self, **{corner: (clamp(x + dx), clamp(y + dy))})

    def reset(self, corner: str) -> Warp:
        return replace(self, **{corner: _UNIT[corner]})

    def homography(self) -> np.ndarray:
        """3x3 matrix taking picture (u, v) in 0..1 from the top-left to screen (x, y), same frame."""
        rows, rhs = [], []
        for name in CORNERS:
            (u, v), (x, y) = _UNIT[name], getattr(self, name)
            rows.append([u, v, 1, 0, 0, 0, -u * x, -v * x])
            rows.append([0, 0, 0, u, v, 1, -u * y, -v * y])
            rhs += [x, y]
        try:
            h = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
        except np.linalg.LinAlgError:
            raise WarpError("the four corners must not lie on one line") from None
        return np.append(h, 1.0).reshape(3, 3)

    def screen_to_picture(self) -> np.ndarray:
        """The inverse: screen (x, y) -> picture (u, v); what the output pass samples with."""
        return np.linalg.inv(self.homography())

    def check(self) -> None:
        """A usable warp: corners in order around a convex quad (no bow tie, no fold)."""
        points = np.array([getattr(self, name) for name in CORNERS])
        edges = np.roll(points, -1, axis=0) - points
        turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
        if not (np.all(turns > 1e-9) or np.all(turns < -1e-9)):
            raise WarpError("the corners must go around the picture in order (top-left, top-right, "
                            "bottom-right, bottom-left) without crossing")
        self.homography()


def map_point(matrix: np.ndarray, point) -> tuple[float, float]:
    x, y, w = matrix @ np.array([point[0], point[1], 1.0])
    return float(x / w), float(y / w)


def load(path: Path) -> Warp:
    """A warp from its TOML file; WarpError naming the file and key when it is not one."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("warp")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise WarpError(f"{path}: cannot be read as a warp ({error})") from None
    if not isinstance(table, dict):
        raise WarpError(f"{path}: no [warp] table (corners {', '.join(CORNERS)})")
    unknown = sorted(set(table) - set(CORNERS))
    if unknown:
        raise WarpError(f"{path}: warp.{unknown[0]} is not a corner; the corners are {', '.join(CORNERS)}")
    corners = {}
    for name in CORNERS:
        value = table.get(name, list(_UNIT[name]))
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, (int, float)) and -LIMIT <= v <= 1 + LIMIT for v in value)):
            raise WarpError(f"{path}: warp.{name} must be [x, y], fractions of the screen from its top-left "
                            f"between {-LIMIT:g} and {1 + LIMIT:g} (got {value!r})")
        corners[name] = (float(value[0]), float(value[1]))
    warp = Warp(**corners)
    try:
        warp.check()
    except WarpError as error:
        raise WarpError(f"{path}: {error}") from None
    return warp


def save(warp: Warp, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"warp": {name: [round(v, 5) for v in getattr(warp, name)] for name in CORNERS}}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("# Corner-pin: where each corner of the picture lands, as fractions of the screen\n"
                   "# from its top-left (x right, y down). Written by the corner-pin setup (w).\n"
                   + tomli_w.dumps(body), encoding="utf-8")
    tmp.replace(path)


def default_path(display: int) -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("dessins-de-planche")) / f"warp-display-{int(display)}.toml"
