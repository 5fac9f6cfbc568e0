"""`render --print`: a whole 3-minute take on one page, every tap kept, the drawing fitted within the margin."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dessins_de_planche.preset import PresetError
from dessins_de_planche.preset.loader import load_gallery, parse_preset
from dessins_de_planche.render import caption, printing
from dessins_de_planche.render.steady import steady_taps

pytestmark = pytest.mark.gl

PRESETS = Path(__file__).resolve().parent.parent / "presets"
GALLERY = load_gallery(PRESETS)
TAKE_SECONDS = 180.0
PAGE = (480, 270)
INK = 30  # a pixel that differs by more than this (largest channel, of 255) shows something


class Hiding(printing.Layout):
    """The print's own layout, with the marks of taps between `start` and `end` (scene s) left transparent:
    every other mark lands exactly where it did, so the difference is what those taps show on the page."""

    def __init__(self, layout: printing.Layout, start: float, end: float):
        super().__init__(**{f.name: getattr(layout, f.name) for f in dataclasses.fields(layout)})
        object.__setattr__(self, "window", (start, end))

    def place(self, marks):
        placed = super().place(marks)
        start, end = self.window
        placed["color"][:, 3] *= ~((marks["t_tap"] >= start) & (marks["t_tap"] <= end))
        return placed


def hiding(job, start, end):
    return dataclasses.replace(job, layout=Hiding(job.layout, start, end))


def shows(a, b) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > INK


def fast_step(job):
    """The step a 4K print of a 3-minute take gets, on this small page (what the speed target rests on)."""
    return printing.effect_step((3840, 2160), TAKE_SECONDS) if printing.needs_frames(job.preset) else None


@pytest.fixture(scope="module")
def take():
    return SimpleNamespace(taps=steady_taps(TAKE_SECONDS), duration=TAKE_SECONDS)


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_a_print_keeps_the_first_and_the_last_ten_seconds_and_fills_the_page_within_its_margin(ctx, take, name):
    job = printing.plan(ctx, take, GALLERY[name], PAGE)
    step = fast_step(job)
    page = printing.draw_print(ctx, job, step)
    first, last = job.span
    assert last - first > TAKE_SECONDS - 2
    early = shows(page, printing.draw_print(ctx, hiding(job, first - 1, first + 10), step))
    late = shows(page, printing.draw_print(ctx, hiding(job, last - 10, job.end + 1), step))
    assert early.sum() > 60, f"{name}: the first ten seconds do not show ({early.sum()} pixels)"
    assert late.sum() > 60, f"{name}: the last ten seconds do not show ({late.sum()} pixels)"

    drawn = shows(page, printing.draw_print(ctx, hiding(job, -1e9, 1e9), step))  # every mark, not the light
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    width, height = PAGE
    margin = job.preset.print.margin * height / 2  # pixels: margin is a share of the page height, each side
    slack = 0.02 * height
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    assert left >= margin - slack and top >= margin - slack, (name, left, top, margin)
    assert right <= width - margin + slack and bottom <= height - margin + slack, (name, right, bottom, margin)
    fills_width = left <= margin + 3 * slack and right >= width - margin - 3 * slack
    fills_height = top <= margin + 3 * slack and bottom >= height - margin - 3 * slack
    assert fills_width or fills_height, f"{name}: the drawing ({left}..{right} x {top}..{bottom}) is not fitted"


def test_the_live_look_loses_the_tune_that_the_print_keeps(ctx, take):
    """Why a print: the rosette's last live frame has faded the first minute to nothing."""
    from dessins_de_planche.render.offline import replay

    rosette = GALLERY["rosette"]
    job = printing.plan(ctx, take, rosette, PAGE)
    printed = printing.draw_print(ctx, job)
    assert shows(printed, printing.draw_print(ctx, hiding(job, -1, 60))).sum() > 500
    scene = replay(ctx, take.taps, take.duration, rosette, PAGE)
    live = scene.read_canvas()
    scene.release()
    background = np.array([int(rosette.canvas.background[i: i + 2], 16) for i in (1, 3, 5)])
    inner = np.hypot(*np.mgrid[-PAGE[1] / 2:PAGE[1] / 2, -PAGE[0] / 2:PAGE[0] / 2]) < 0.2 * PAGE[1]
    # the live look's centre (the first 20 s of petals) has faded to the background
    assert (np.abs(live[inner].astype(int) - background).max(axis=1) > INK).mean() < 0.02


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_a_print_stepped_as_the_look_needs_matches_the_full_rate_print(ctx, name):
    take = SimpleNamespace(taps=steady_taps(40.0), duration=40.0)
    job = printing.plan(ctx, take, GALLERY[name], (320, 180))
    fast = printing.draw_print(ctx, job, fast_step(job)).astype(int)
    full = printing.draw_print(ctx, job, 1.0 / 60.0).astype(int)
    difference = np.abs(fast - full).max(axis=2)
    assert difference.mean() < 1.0, (name, difference.mean())
    assert (difference > 16).mean() < 0.002, (name, (difference > 16).mean())
    assert shows(full, printing.draw_print(ctx, hiding(job, -1e9, 1e9), 1.0 / 60.0)).sum() > 200  # not empty


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_a_caption_is_set_in_the_corner_asked_in_the_look_s_palette(ctx, corner):
    take = SimpleNamespace(taps=steady_taps(20.0), duration=20.0)
    job = printing.plan(ctx, take, GALLERY["rosette"], PAGE)
    plain = printing.draw_print(ctx, job)
    captioned = printing.draw_print(ctx, job, caption="Reel de la planche · Lise · Québec · 2026-12-04",
                                    corner=corner)
    changed = shows(captioned, plain)
    rows, cols = np.nonzero(changed)
    assert changed.sum() > 80
    width, height = PAGE
    if corner == "top-left":
        assert rows.max() < height * 0.2 and cols.max() < width * 0.75
    else:
        assert rows.min() > height * 0.8 and cols.min() > width * 0.25
    margin = job.preset.print.margin * height / 2
    assert min(rows.min(), height - 1 - rows.max()) >= margin - 2  # inside the page's margin
    colour = np.array(caption.caption_colour(job.preset)) * 255
    brightest = captioned[changed].astype(int)[np.argmax(captioned[changed].sum(axis=1))]
    assert np.abs(brightest - colour).max() < 40, (brightest, colour)


def test_the_caption_comes_from_the_options_or_a_session_s_metadata():
    header = {"type": "session", "date": "2026-12-04T21:30:00", "performer": "Lise"}
    assert caption.caption_text(title="Reel", header=header) == "Reel · Lise · 2026-12-04"
    assert caption.caption_text("As written", title="Reel") == "As written"
    assert caption.caption_text(header={}) == ""


def test_tune_fraction_runs_over_the_take_and_time_mappings_follow_it(ctx):
    from dessins_de_planche.render.scene import Scene
    from dessins_de_planche.render.svg import Drawing
    from dessins_de_planche.render.tune import TUNE_SECONDS

    rosette = GALLERY["rosette"]
    printed = printing.print_preset(rosette)
    radius = printed.layers[0].map.radius
    assert rosette.layers[0].map.radius.source == "tune_time"
    assert radius.source == "tune_fraction" and radius.domain == (0.0, 1.0)
    assert printed.canvas.decay == 0.0 and printed.layers[0].glow == 0.0
    across = parse_preset(b'format = 1\n[[layers]]\nkind = "marks"\nmap = { x = { from = "tune_fraction", '
                          b'range = [-1.0, 1.0] } }\n', Path("across.toml"))
    taps = steady_taps(30.0, refine=False)

    def xs(take):
        scene = Scene(ctx, across, (64, 36))
        try:
            scene.take = take
            scene.drawing = Drawing()
            scene.add_taps(taps, None)
            marks = [chunks[0] for _, chunks in sorted(scene.drawing.layers[0].items())]
            return np.array([float(m["p0"][0][0]) for m in marks])
        finally:
            scene.release()

    over_the_take = xs((float(taps["time"].min()), float(taps["time"].max())))
    assert over_the_take[0] == pytest.approx(-1.0) and over_the_take[-1] == pytest.approx(1.0)
    assert np.all(np.diff(over_the_take) >= 0)
    live = xs(None)  # live: over TUNE_SECONDS of the tune
    tune_time = float(taps["time"].max() - taps["time"].min())
    assert live[-1] == pytest.approx(-1.0 + 2.0 * tune_time / TUNE_SECONDS, abs=1e-4)


def _with_print(table: str) -> bytes:
    return (PRESETS / "rosette.toml").read_bytes() + b"\n" + table.encode()


@pytest.mark.parametrize("table, said", [
    ("[print]\nmargn = 0.1\n", "print.margn: unknown key 'margn' in print; did you mean 'margin'?"),
    ("[print]\nmargin = 0.9\n", "print.margin: input should be less than or equal to 0.4"),
    ("[print]\nskip = [3]\n", "print.skip: there is no layer 3"),
    ("[print]\ncaption = \"middle\"\n", "print.caption:"),
    ("[print.set]\n\"layers[0].sizee\" = 0.1\n", "'layers[0].sizee' is not a key of this preset"),
    ("[print.set]\n\"layers[0].size\" = 7\n", "size: Input should be less than or equal to 1"),
    ("[print.set]\n\"layers[0].map.radius\" = { from = \"tune_fractoin\" }\n", "'tune_fraction'"),
    ("[print.set]\n\"layer[0].size\" = 0.1\n", "(got 'layer[0].size')"),
])
def test_a_print_table_is_checked_like_the_rest_and_errors_name_file_and_key(table, said):
    with pytest.raises(PresetError) as caught:
        parse_preset(_with_print(table), Path("my/rosette.toml"))
    message = str(caught.value)
    assert message.startswith("my/rosette.toml: ") and said in message, message


def test_print_set_changes_the_printed_look_only():
    preset = parse_preset(_with_print('[print]\nmargin = 0.1\n[print.set]\n"layers[0].size" = 0.05\n'),
                          Path("rosette.toml"))
    assert preset.layers[0].size != 0.05
    assert printing.print_preset(preset).layers[0].size == 0.05


def test_render_print_from_the_command_line_writes_the_page_and_an_svg(tmp_path):
    import pygame

    taps = steady_taps(20.0)
    rows = [{"time": float(t["time"]), "detected_at": float(t["detected_at"]), "velocity": float(t["velocity"]),
             "kind": ("unknown", "heel", "toe")[int(t["kind"])], "zone": str(int(t["zone"]))}
            for t in taps[taps["refine"] == 1]]
    take = tmp_path / "take.json"
    take.write_text(json.dumps({"duration": 20.0, "taps": rows}))

    def render(*args):
        return subprocess.run([sys.executable, "-m", "dessins_de_planche", "render", "--input", str(take), *args],
                              capture_output=True, text=True, timeout=300)

    done = render("--preset", "rosette", "--out", str(tmp_path / "page.png"), "--size", "320x180", "--print",
                  "--title", "Reel", "--performer", "Lise", "--caption-at", "top-right")
    assert done.returncode == 0, done.stderr
    assert pygame.image.load(str(tmp_path / "page.png")).get_size() == (320, 180)
    done = render("--preset", "rosette", "--out", str(tmp_path / "page.svg"), "--size", "320x180", "--mm", "300",
                  "--caption", "Reel & co")
    assert done.returncode == 0, done.stderr
    svg = (tmp_path / "page.svg").read_text()
    assert 'text-anchor="end"' in svg and ">Reel &amp; co</text>" in svg  # bottom-right, the preset's default
    numbers = [float(v) for d in re.findall(r' d="([^"]+)"', svg) for v in re.findall(r"-?\d+\.\d+", d)]
    assert len(numbers) > 1000 and min(numbers) >= 0 and max(numbers) <= 300  # on the page (the default print)
    done = render("--preset", "rosette", "--out", str(tmp_path / "show.mp4"), "--print")
    assert done.returncode != 0 and "--print makes a picture" in done.stderr
