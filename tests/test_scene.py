"""The scene, with real GL (EGL on Mesa llvmpipe): feed known taps, read the pixels back."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, KIND_UNKNOWN, TAP_DTYPE
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.preset.palettes import palette_array
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.render.canvas import release_framebuffer
from dessins_de_planche.render.scene import Scene

pytestmark = pytest.mark.gl

SIZE = (640, 360)
STEP = 1 / 30


class SteadyRhythm:
    """Stand-in for the tempo tracker: a fixed tempo, bar 0 starting at t = 0."""

    def __init__(self, bpm=120.0, bar_beats=2):
        self.bpm, self.bar_beats = bpm, bar_beats

    def beat_phase(self, t):
        return (t * self.bpm / 60.0) % 1.0

    def bar_phase(self, t):
        return (t * self.bpm / 60.0 / self.bar_beats) % 1.0


def taps(*rows):
    """Rows of (time, kind[, velocity[, tap_id[, refine[, detected_at]]]])."""
    records = []
    for i, row in enumerate(rows):
        time, kind = row[0], row[1]
        velocity = row[2] if len(row) > 2 else 0.8
        tap_id = row[3] if len(row) > 3 else i
        refine = row[4] if len(row) > 4 else 0
        detected = row[5] if len(row) > 5 else time + 0.012
        records.append((time, detected, velocity, tap_id, 1, 0, 0, kind, refine, 0))
    return np.array(records, TAP_DTYPE)


def play(scene, records, target, start, end, step=STEP, rhythm=None, frames=None):
    """Step the clock from start to end, handing each record over once its detected_at has passed."""
    rhythm = rhythm or SteadyRhythm()
    fed = 0
    times = frames if frames is not None else start + step * np.arange(1, int(round((end - start) / step)) + 1)
    for now in times:
        upto = int(np.searchsorted(records["detected_at"], now, side="right"))
        if upto > fed:
            scene.add_taps(records[fed:upto], rhythm)
            fed = upto
        scene.render(float(now), target)


@pytest.fixture(scope="module")
def gallery():
    return load_gallery(presets_dir())


@pytest.fixture
def target(ctx):
    fbo = ctx.simple_framebuffer(SIZE)
    yield fbo
    release_framebuffer(ctx, fbo)  # it may be the bound one: never leave a released framebuffer bound


def background_of(preset):
    return np.array([int(preset.canvas.background[i : i + 2], 16) for i in (1, 3, 5)], float)


def ink(picture, preset, threshold=40):
    """Where the picture differs from the preset's background."""
    return np.abs(picture.astype(float) - background_of(preset)).sum(axis=2) > threshold


def centroid(mask):
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing drawn"
    return xs.mean(), ys.mean()


def linear(mapping, value):
    low, high = mapping.domain
    out_low, out_high = mapping.range
    return out_low + (out_high - out_low) * (value - low) / (high - low)


def test_rosette_places_taps_by_bar_phase_and_colours_heel_and_toe_apart(ctx, target, gallery):
    rosette = gallery["rosette"]
    layer = rosette.layers[0]
    scene = Scene(ctx, rosette, SIZE)
    # bar = 1 s at 120 BPM, 2 beats: 10.25 s is a quarter into the bar, 10.75 s three quarters
    play(scene, taps((10.25, KIND_HEEL), (10.75, KIND_TOE)), target, 10.0, 11.5)
    picture = scene.read_canvas()
    drawn = ink(picture, rosette)
    width, height = SIZE
    for phase, side, kind_slot in ((0.25, slice(width // 2, None), 0), (0.75, slice(None, width // 2), 1)):
        tune_time = phase - 0.25  # the first tap starts the tune
        angle = math.radians(linear(layer.map.angle, phase) + layer.spin * tune_time)
        radius = linear(layer.map.radius, tune_time)
        expected_x = width / 2 + math.sin(angle) * radius * height / 2
        expected_y = height / 2 - math.cos(angle) * radius * height / 2
        half = np.zeros_like(drawn)
        half[:, side] = drawn[:, side]
        x, y = centroid(half)
        assert abs(x - expected_x) < 3 and abs(y - expected_y) < 3, (phase, (x, y), (expected_x, expected_y))
        colour = picture[half].astype(float).mean(axis=0)
        heel_or_toe = palette_array(layer.palette)[kind_slot][:3] * 255
        other = palette_array(layer.palette)[1 - kind_slot][:3] * 255
        assert np.linalg.norm(colour - heel_or_toe) < np.linalg.norm(colour - other)
    heel_colour = picture[drawn & (np.arange(width) >= width // 2)[None, :]].mean(axis=0)
    toe_colour = picture[drawn & (np.arange(width) < width // 2)[None, :]].mean(axis=0)
    assert heel_colour[0] > heel_colour[2] and toe_colour[2] > toe_colour[0]  # warm heel, cool toe


def test_same_events_and_step_give_the_same_picture(ctx, target, gallery):
    records = taps(*[(1.0 + 0.13 * i, KIND_HEEL if i % 3 else KIND_TOE, 0.5 + 0.05 * (i % 7)) for i in range(30)])
    pictures = []
    for _ in range(2):
        scene = Scene(ctx, gallery["thread"], SIZE)
        play(scene, records, target, 0.5, 5.5)
        pictures.append(scene.read_canvas())
        scene.release()
    assert ink(pictures[0], gallery["thread"]).sum() > 200
    assert np.array_equal(pictures[0], pictures[1])


def test_a_mark_drawn_late_lands_where_it_would_have_on_time(ctx, target, gallery):
    thread = gallery["thread"]  # the preset that drifts: the hardest case
    records = taps(*[(2.0 + 0.25 * i, KIND_TOE if i % 2 else KIND_HEEL) for i in range(8)])
    on_time = Scene(ctx, thread, SIZE)
    play(on_time, records, target, 1.0, 5.0)
    late = Scene(ctx, thread, SIZE)
    frames = list(1.0 + STEP * np.arange(1, int(4.0 / STEP) + 1))
    # the frame after the last tap's arrival comes 50 ms late
    last_seen = records["detected_at"][-1]
    frames = [t for t in frames if not (last_seen - 0.01 < t < last_seen + 0.05)]
    play(late, records, target, 1.0, 5.0, frames=np.array(sorted(frames + [last_seen + 0.05])))
    a, b = on_time.read_canvas(), late.read_canvas()
    xa, ya = centroid(ink(a, thread))
    xb, yb = centroid(ink(b, thread))
    assert abs(xa - xb) < 0.5 and abs(ya - yb) < 0.5
    assert np.abs(a.astype(int) - b.astype(int)).max() < 24  # the same marks, give or take rounding


def test_switching_preset_changes_the_picture_and_keeps_the_drawing(ctx, target, gallery):
    rosette, thread = gallery["rosette"], gallery["thread"]
    first = taps(*[(1.0 + 0.25 * i, KIND_HEEL if i % 2 else KIND_TOE) for i in range(8)])
    later = taps(*[(4.0 + 0.25 * i, KIND_HEEL if i % 2 else KIND_TOE, 0.8, 100 + i) for i in range(8)])
    kept = Scene(ctx, rosette, SIZE)
    play(kept, first, target, 0.5, 3.5)
    before = ink(kept.read_canvas(), rosette)
    kept.set_preset(thread)
    play(kept, later, target, 3.5, 6.5)
    switched = kept.read_canvas()
    stayed = Scene(ctx, rosette, SIZE)
    play(stayed, first, target, 0.5, 3.5)
    play(stayed, later, target, 3.5, 6.5)
    unswitched = stayed.read_canvas()
    assert np.abs(switched.astype(int) - unswitched.astype(int)).sum(axis=2).max() > 100
    # the rosette's petals are still there after the switch (faded a little, not gone)
    assert ink(switched, rosette, threshold=20)[before].mean() > 0.8


def test_resize_keeps_the_drawing_in_place(ctx, target, gallery):
    rosette = gallery["rosette"]
    scene = Scene(ctx, rosette, SIZE)
    play(scene, taps((1.25, KIND_HEEL), (1.6, KIND_TOE)), target, 1.0, 2.5)
    x, y = centroid(ink(scene.read_canvas(), rosette))
    scene.resize((960, 540))
    bigger = scene.read_canvas()
    assert bigger.shape == (540, 960, 3)
    x2, y2 = centroid(ink(bigger, rosette))
    assert abs(x2 - x * 1.5) < 2 and abs(y2 - y * 1.5) < 2
    scene.resize((400, 360))  # narrower: same height, same place from the centre
    narrow = scene.read_canvas()
    x3, y3 = centroid(ink(narrow, rosette))
    assert abs((x3 - 200) - (x - 320)) < 2 and abs(y3 - y) < 2


def test_a_refine_record_changes_the_kind_colour(ctx, target, gallery):
    rosette = gallery["rosette"]
    refined = taps((1.25, KIND_UNKNOWN, 0.8, 7, 0, 1.26), (1.25, KIND_TOE, 0.8, 7, 1, 1.275))
    direct = taps((1.25, KIND_TOE, 0.8, 7, 0, 1.26))
    unknown = taps((1.25, KIND_UNKNOWN, 0.8, 7, 0, 1.26))
    pictures = []
    for records in (refined, direct, unknown):
        scene = Scene(ctx, rosette, SIZE)
        play(scene, records, target, 1.0, 2.0)
        pictures.append(scene.read_canvas())
    assert np.array_equal(pictures[0], pictures[1])
    assert not np.array_equal(pictures[0], pictures[2])


def test_a_refine_record_moves_a_tap_to_the_zone_that_heard_it_loudest(ctx, target, gallery):
    """One strike heard by two sensors (a MIDI board's crosstalk): the tap is drawn on the louder zone."""
    lanes = gallery["lanes"]

    def on_zone(records, zones):
        records["zone"] = zones
        return records

    refined = on_zone(taps((1.25, KIND_HEEL, 0.5, 7, 0, 1.25), (1.25, KIND_HEEL, 0.9, 7, 1, 1.252)), [0, 1])
    direct = on_zone(taps((1.25, KIND_HEEL, 0.9, 7, 0, 1.25)), [1])
    first_zone = on_zone(taps((1.25, KIND_HEEL, 0.5, 7, 0, 1.25)), [0])
    pictures = []
    for records in (refined, direct, first_zone, taps()):
        scene = Scene(ctx, lanes, SIZE)
        play(scene, records, target, 1.0, 1.6)
        pictures.append(scene.read_canvas().astype(float))
    assert np.array_equal(pictures[0], pictures[1])
    empty = pictures[3]

    def mark(picture):
        return np.abs(picture - empty).sum(axis=2) > 40

    moved = centroid(mark(pictures[0]))[1] - centroid(mark(pictures[2]))[1]
    assert abs(moved) > SIZE[1] / 8, "the mark sits in the other zone's lane"


def test_clear_empties_the_canvas_and_a_clean_preset_starts_blank(ctx, target, gallery):
    rosette = gallery["rosette"]
    scene = Scene(ctx, rosette, SIZE)
    play(scene, taps((1.25, KIND_HEEL)), target, 1.0, 2.0)
    assert ink(scene.read_canvas(), rosette).any()
    scene.clear()
    scene.render(2.1, target)
    assert not ink(scene.read_canvas(), rosette, threshold=3).any()
    play(scene, taps((3.25, KIND_HEEL)), target, 3.0, 4.0)
    scene.set_preset(rosette.model_copy(update={"canvas": rosette.canvas.model_copy(update={"clean": True})}))
    scene.render(4.1, target)
    assert not ink(scene.read_canvas(), rosette, threshold=3).any()


def test_a_broken_shader_is_reported_at_its_file_and_line(ctx, tmp_path):
    from dessins_de_planche.render.glsl import ProgramCache, ShaderError

    (tmp_path / "shared.glsl").write_text("float half_of(float v) { return v * 0.5; }\n")
    (tmp_path / "ok.vert.glsl").write_text("#version 330 core\nvoid main() { gl_Position = vec4(0.0); }\n")
    (tmp_path / "bad.frag.glsl").write_text(
        '#version 330 core\n#include "shared.glsl"\nout vec4 frag;\nvoid main() {\n    frag = vec4(half_of(1.0) oops);\n}\n'
    )
    with pytest.raises(ShaderError) as caught:
        ProgramCache(ctx, tmp_path).get("ok.vert.glsl", "bad.frag.glsl")
    assert f"{tmp_path / 'bad.frag.glsl'}:5:" in str(caught.value)


def test_a_knob_tunes_the_look_and_the_thread_goes_on_from_where_it_is(ctx, target, gallery):
    thread = gallery["thread"]
    steps = taps(*[(1.0 + 0.25 * i, KIND_HEEL if i % 3 else KIND_TOE, 0.8, i) for i in range(12)])
    first, second = steps[:6], steps[6:]

    def run(change):
        scene = Scene(ctx, thread, SIZE)
        play(scene, first, target, 0.5, 2.5)
        change(scene)
        play(scene, second, target, 2.5, 5.0)
        return ink(scene.read_canvas(), thread)

    untouched = run(lambda scene: None)
    tuned = run(lambda scene: scene.tune(thread.controlled(1, 127)))  # fade turned all the way up
    rebuilt = run(lambda scene: scene.set_preset(thread.controlled(1, 127)))  # a switch restarts the thread
    faded = untouched & ~tuned
    assert faded.sum() > 50  # the knob took effect: older strokes faded faster
    assert tuned.sum() < untouched.sum()
    # the later steps land where they would have without the knob, unlike after a rebuild
    assert (tuned & untouched).sum() > 0.5 * tuned.sum()
    assert (rebuilt & untouched).sum() < (tuned & untouched).sum()


# ---- switching, the canvas's effects and the new layer kinds ------------------------------------

def test_a_crossfade_starts_from_the_old_picture_and_ends_on_the_new_look(ctx, target, gallery):
    rosette, lanes = gallery["rosette"], gallery["lanes"]
    scene = Scene(ctx, rosette, SIZE)
    play(scene, taps(*[(1.0 + 0.2 * i, KIND_HEEL if i % 2 else KIND_TOE) for i in range(10)]), target, 0.5, 3.5)
    before = scene.read_canvas().astype(int)
    scene.set_preset(lanes, fade=1.0)
    scene.render(3.5 + 1 / 60, target)
    during = scene.read_canvas().astype(int)
    assert np.abs(during - before).mean() < 6  # the switch itself does not jump
    play(scene, taps(), target, 3.5, 4.7)
    after = scene.read_canvas().astype(int)
    assert np.abs(after - before).mean() > 10  # the new look has taken over
    assert np.abs(after[SIZE[1] // 2, 4] - background_of(lanes)).max() < 30
    cut = Scene(ctx, rosette, SIZE)
    play(cut, taps((1.0, KIND_HEEL)), target, 0.5, 1.5)
    cut.set_preset(lanes, fade=0.0)
    cut.render(1.5 + 1 / 60, target)
    assert np.abs(cut.read_canvas()[SIZE[1] // 2, 4].astype(int) - background_of(lanes)).max() < 30  # a hard cut
    scene.release()
    cut.release()


def test_a_shader_that_does_not_compile_leaves_the_running_look(ctx, target, gallery, tmp_path):
    from dessins_de_planche.preset import load_preset
    from dessins_de_planche.render.glsl import ShaderError

    (tmp_path / "bad.frag.glsl").write_text('#version 330 core\n#include "layer.glsl"\nvoid main() { frag = oops; }\n')
    (tmp_path / "bad.toml").write_text('format = 1\n[[layers]]\nkind = "shader"\nfile = "bad.frag.glsl"\n')
    broken = load_preset(tmp_path / "bad.toml")
    scene = Scene(ctx, gallery["rosette"], SIZE)
    with pytest.raises(ShaderError) as caught:
        scene.set_preset(broken)
    assert f"{tmp_path / 'bad.frag.glsl'}:3:" in str(caught.value) and "frag = oops" in str(caught.value)
    assert scene.preset is gallery["rosette"]
    play(scene, taps((1.0, KIND_HEEL)), target, 0.5, 1.5)
    assert ink(scene.read_canvas(), gallery["rosette"]).sum() > 20
    scene.release()


def test_a_sliding_canvas_moves_marks_by_whole_pixels_without_blurring_them(ctx, target, gallery):
    lanes = gallery["lanes"]
    quiet = [layer.model_copy(update={"beat_lines": 0.0, "bar_lines": 0.0}) if layer.kind == "lanes" else layer
             for layer in lanes.layers]
    lanes = lanes.model_copy(update={"layers": quiet})  # the tap's mark alone
    scene = Scene(ctx, lanes, SIZE)
    play(scene, taps((1.0, KIND_HEEL, 1.0)), target, 0.5, 1.2)
    first = ink(scene.canvas.read(), lanes)
    peak = np.abs(scene.canvas.read().astype(int) - background_of(lanes)).sum(axis=2).max()
    play(scene, taps(), target, 1.2, 2.2)
    later = scene.canvas.read()
    moved = ink(later, lanes)
    shift = centroid(first)[0] - centroid(moved)[0]
    expected = -lanes.canvas.drift.shift[0] * 1.0 * SIZE[1] / 2
    assert abs(shift - expected) < 2  # it slid left by the preset's speed
    assert np.abs(later.astype(int) - background_of(lanes)).sum(axis=2).max() >= peak - 3  # still crisp
    scene.release()


def test_blur_and_warp_keep_the_paper_clean(ctx, target, gallery):
    ink_preset = gallery["ink"]
    scene = Scene(ctx, ink_preset, SIZE)
    play(scene, taps(*[(1.0 + 0.15 * i, KIND_HEEL) for i in range(6)]), target, 0.5, 6.0, step=1 / 20)
    canvas = scene.canvas.read().astype(int)
    corner = canvas[-20:, -40:]  # no ink fell here: it must still be paper after many passes
    assert np.abs(corner - background_of(ink_preset)).max() <= 2
    scene.release()


def test_the_figure_dances_on_top_of_the_canvas(ctx, target, gallery):
    figure = gallery["figure"]
    scene = Scene(ctx, figure, SIZE)
    play(scene, taps(*[(1.0 + 0.2 * i, KIND_HEEL if i % 2 else KIND_TOE) for i in range(6)]), target, 0.5, 2.3)
    picture = scene.read_canvas()
    body = np.abs(picture.astype(int) - np.array([0xEC, 0xE4, 0xD4])).max(axis=2) < 40
    assert body.sum() > 100  # the silhouette is drawn...
    assert not (np.abs(scene.canvas.read().astype(int) - np.array([0xEC, 0xE4, 0xD4])).max(axis=2) < 40).any()
    # ...over the picture, never into the canvas; the prints are in the canvas
    assert ink(scene.canvas.read(), figure).sum() > 10
    scene.release()


def test_a_refine_redraws_its_taps_marks_in_their_layer_and_a_late_one_leaves_stamped_marks(ctx, target, gallery):
    """The detector's word on a tap: the burst it gets is the one the final kind would have given at
    once, and nothing else in the store moves; a word that comes after the stamp changes nothing."""
    sparks = gallery["sparks"]
    firsts = taps((1.25, KIND_UNKNOWN, 0.6, 3, 0, 1.26), (1.50, KIND_UNKNOWN, 0.9, 4, 0, 1.51))
    refine = taps((1.25, KIND_HEEL, 0.6, 3, 1, 1.272))
    direct = taps((1.25, KIND_HEEL, 0.6, 3, 0, 1.26), (1.50, KIND_UNKNOWN, 0.9, 4, 0, 1.51))

    def store_after(records, late=None):
        scene = Scene(ctx, sparks, SIZE)
        scene.render(1.2, target)
        scene.add_taps(records, SteadyRhythm())
        if late is not None:
            scene.render(1.4, target)  # tap 3's marks are stamped by now
            before = scene.store.live.copy()
            scene.add_taps(late, SteadyRhythm())
            assert np.array_equal(scene.store.live, before)
        store = scene.store
        rows = {int(t): store.live[store.tap_id[: store.count] == t] for t in (3, 4)}
        layers = set(store.layer[: store.count].tolist())
        scene.release()
        return rows, layers

    _, layers = store_after(firsts)
    scene = Scene(ctx, sparks, SIZE)
    scene.add_taps(firsts, SteadyRhythm())
    before = {int(t): scene.store.live[scene.store.tap_id[: scene.store.count] == t].copy() for t in (3, 4)}
    scene.add_taps(refine, SteadyRhythm())
    after = {int(t): scene.store.live[scene.store.tap_id[: scene.store.count] == t] for t in (3, 4)}
    wanted, _ = store_after(direct)
    for name in ("p0", "p1", "width", "color", "life"):
        assert np.array_equal(after[3][name], wanted[3][name]), name
        assert np.array_equal(after[4][name], before[4][name]), name
    assert not np.array_equal(after[3]["color"], before[3]["color"])
    assert len(layers) == 1  # only the particles layer draws marks
    scene.release()
    store_after(firsts[:1], late=refine)


def test_a_word_that_changes_nothing_a_layer_reads_leaves_its_marks_as_they_are(ctx, target, gallery):
    """The detector's word confirms a tap; where it changes nothing the look maps from (the same kind
    and velocity, another zone where no layer reads the zone) the tap's marks stay as they were drawn
    and only show, and they are the marks the word's values would have given at once."""
    sparks = gallery["sparks"]
    first = taps((1.25, KIND_HEEL, 0.6, 3, 0, 1.26))
    word = taps((1.25, KIND_HEEL, 0.6, 3, 1, 1.272))
    word["zone"] = 2
    scene = Scene(ctx, sparks, SIZE)
    scene.render(1.2, target)
    scene.add_taps(first, SteadyRhythm())
    before = scene.store.live.copy()
    scene.add_taps(word, SteadyRhythm())
    after = scene.store.live
    assert len(after) == len(before) == sparks.layers[1].count
    for name in ("p0", "p1", "width", "color", "life", "t_tap"):
        assert np.array_equal(after[name], before[name]), name
    assert (before["t_show"] > 1e8).all() and (after["t_show"] < 2.0).all()  # held, then shown
    direct = Scene(ctx, sparks, SIZE)
    direct.render(1.2, target)
    at_once = first.copy()
    at_once["zone"] = 2
    direct.add_taps(at_once, SteadyRhythm())
    for name in ("p0", "p1", "width", "color", "life"):
        assert np.array_equal(direct.store.live[name], after[name]), name
    direct.release()
    scene.release()
