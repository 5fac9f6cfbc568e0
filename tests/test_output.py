"""The projector's side with real GL: mirror, turn, dimmer, blackout and freeze; clear, undo and auto-save."""

import numpy as np
import pytest

from dessins_de_planche.app.output import BLACKOUT_SECONDS, Output, screen_to_picture
from dessins_de_planche.render.canvas import release_framebuffer

pytestmark = pytest.mark.gl

W, H = 64, 32


def corner_picture(size):
    """A drawing function: black, with a red block in the picture's top-left corner."""
    calls = []

    def draw(target):
        calls.append(1)
        width, height = size
        target.clear(0.0, 0.0, 0.0, 1.0)
        target.clear(1.0, 0.0, 0.0, 1.0, viewport=(0, height - 8, 16, 8))  # GL counts rows from the bottom

    return draw, calls


def read(fbo, size):
    data = fbo.read(components=3, dtype="f1")
    return np.frombuffer(data, np.uint8).reshape(size[1], size[0], 3)[::-1]


def red_corner(image) -> str:
    height, width = image.shape[:2]
    corners = {"top-left": image[2, 2], "top-right": image[2, width - 3],
               "bottom-left": image[height - 3, 2], "bottom-right": image[height - 3, width - 3]}
    hot = [name for name, pixel in corners.items() if pixel[0] > 128]
    assert len(hot) == 1, corners
    return hot[0]


@pytest.fixture
def screen(ctx):
    fbo = ctx.simple_framebuffer((W, H), components=4)
    yield fbo
    release_framebuffer(ctx, fbo)


@pytest.mark.parametrize("flip, rotate, where", [
    ("none", 0, "top-left"), ("horizontal", 0, "top-right"), ("vertical", 0, "bottom-left"),
    ("both", 0, "bottom-right"), ("none", 180, "bottom-right"),
    ("none", 90, "top-right"),  # a projector on its side: the picture's top is the screen's right
    ("none", 270, "bottom-left"), ("horizontal", 90, "top-left"),
])
def test_mirror_and_turn_put_the_picture_where_the_projector_needs_it(ctx, screen, flip, rotate, where):
    output = Output(ctx, (W, H), flip=flip, rotate=rotate)
    draw, _ = corner_picture(output.picture_size)
    output.present(0.0, draw, screen)
    assert red_corner(read(screen, (W, H))) == where
    output.release()


def test_turned_pictures_are_drawn_portrait():
    from dessins_de_planche.app.output import picture_size

    assert picture_size((1920, 1080), 90) == (1080, 1920) and picture_size((1920, 1080), 180) == (1920, 1080)
    assert screen_to_picture("none", 0) == (1, 0, 0, 1)


def test_dimmer_blackout_and_freeze(ctx, screen):
    output = Output(ctx, (W, H), dimmer=0.5)
    draw, calls = corner_picture((W, H))
    output.present(0.0, draw, screen)
    assert int(read(screen, (W, H))[2, 2, 0]) == pytest.approx(128, abs=2)
    output.set_dimmer(1.0)
    output.toggle_blackout()
    output.present(BLACKOUT_SECONDS / 2, draw, screen)  # halfway through the fade (per second, not per frame)
    assert int(read(screen, (W, H))[2, 2, 0]) == pytest.approx(128, abs=8)
    for step in range(1, 6):
        output.present(BLACKOUT_SECONDS / 2 + step * 0.4, draw, screen)
    assert read(screen, (W, H)).max() == 0  # black
    output.toggle_blackout()
    for step in range(1, 6):
        output.present(BLACKOUT_SECONDS * 2 + step * 0.4, draw, screen)
    assert read(screen, (W, H))[2, 2, 0] == 255 and output.direct  # back, and no extra pass any more

    output.toggle_freeze()
    output.present(10.0, draw, screen)
    drawn = len(calls)
    for step in range(3):
        output.present(10.1 + step, draw, screen)
    assert len(calls) == drawn  # frozen: the show is not drawn again
    assert red_corner(read(screen, (W, H))) == "top-left"  # and the held picture is still shown
    output.toggle_freeze()
    output.present(20.0, draw, screen)
    assert len(calls) == drawn + 1
    output.release()


def test_clear_saves_the_drawing_and_undo_brings_it_back(ctx, tmp_path):
    from dessins_de_planche.app.history import CanvasHistory
    from dessins_de_planche.events import KIND_HEEL, TAP_DTYPE
    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery
    from dessins_de_planche.render.scene import Scene

    preset = load_gallery(presets_dir())["rosette"]
    scene = Scene(ctx, preset, (160, 90))
    taps = np.zeros(12, TAP_DTYPE)
    taps["time"] = np.arange(12) * 0.25
    taps["detected_at"] = taps["time"] + 0.005
    taps["velocity"] = 0.9
    taps["kind"] = KIND_HEEL
    taps["tap_id"] = np.arange(12)
    target = ctx.simple_framebuffer((160, 90), components=4)
    for now in np.arange(0.0, 4.0, 1 / 30):
        scene.add_taps(taps[(taps["detected_at"] <= now) & (taps["detected_at"] > now - 1 / 30)])
        scene.render(float(now), target)
    drawing = scene.canvas.read()
    assert (drawing.max(axis=2).astype(int) - drawing.min(axis=2) > 60).sum() > 5  # petals drawn

    history = CanvasHistory(ctx, tmp_path / "drawings")
    history.before_clear(scene, "rosette", worth_saving=True)
    scene.clear()
    assert (scene.canvas.read().astype(int) - drawing).any()  # cleared
    history.wait()
    saved = list((tmp_path / "drawings").glob("*_rosette.png"))
    assert len(saved) == 1
    import pygame

    image = np.transpose(pygame.surfarray.array3d(pygame.image.load(str(saved[0]))), (1, 0, 2))
    assert image.shape == (90, 160, 3) and (np.abs(image.astype(int) - drawing) <= 1).all()

    assert history.undo(scene)
    assert np.array_equal(scene.canvas.read(), drawing)  # the drawing is back, exactly
    assert not history.undo(scene)  # one level: nothing more to undo
    history.release()
    release_framebuffer(ctx, target)
    scene.release()


# -- corner-pin -------------------------------------------------------------------------------

TRAPEZOID = dict(top_left=(0.2, 0.1), top_right=(0.85, 0.0), bottom_right=(1.0, 1.0), bottom_left=(0.05, 0.9))


def dot_picture(size, at=(0.25, 0.25), background=0.5):
    """Grey, with a white dot (3x3 px) at `at`: fractions of the picture from its top-left."""
    def draw(target):
        width, height = size
        target.clear(background, background, background, 1.0)
        x, y = int(at[0] * width), int(at[1] * height)
        target.clear(1.0, 1.0, 1.0, 1.0, viewport=(x - 1, height - 1 - y - 1, 3, 3))
    return draw


def white_centroid(image):
    rows, cols = np.nonzero(image.min(axis=2) > 200)
    assert len(rows), "the dot is on the screen"
    return (cols.mean() + 0.5) / image.shape[1], (rows.mean() + 0.5) / image.shape[0]


def test_an_identity_warp_changes_nothing(ctx, screen):
    from dessins_de_planche.app.warp import Warp

    output = Output(ctx, (W, H), warp=Warp())
    assert output.direct  # no pass at all
    draw, _ = corner_picture(output.picture_size)
    output.present(0.0, draw, screen)
    assert red_corner(read(screen, (W, H))) == "top-left"
    output.release()


def test_a_corner_pin_moves_a_mark_where_the_homography_says(ctx):
    from dessins_de_planche.app.warp import Warp, map_point

    size = (320, 180)
    target = ctx.simple_framebuffer(size, components=4)
    warp = Warp(**TRAPEZOID)
    output = Output(ctx, size, warp=warp)
    assert not output.direct
    for at in ((0.25, 0.25), (0.7, 0.6), (0.5, 0.9)):
        output.present(0.0, dot_picture(size, at), target)
        image = read(target, size)
        expected = map_point(warp.homography(), at)
        got = white_centroid(image)
        assert abs(got[0] - expected[0]) * size[0] < 1.5 and abs(got[1] - expected[1]) * size[1] < 1.5, (at, got,
                                                                                                         expected)
        unwarped = (at[0], at[1])
        assert abs(got[0] - unwarped[0]) * size[0] > 3 or abs(got[1] - unwarped[1]) * size[1] > 3, "it moved"
    # outside the pinned quad: black; inside: the picture's grey
    assert image[2, 2].max() == 0 and image[170, 4].max() == 0
    assert abs(int(image[90, 160, 0]) - 128) <= 2
    output.release()
    release_framebuffer(ctx, target)


def test_dimmer_and_blackout_still_apply_through_the_warp(ctx):
    from dessins_de_planche.app.warp import Warp

    size = (160, 90)
    target = ctx.simple_framebuffer(size, components=4)
    output = Output(ctx, size, dimmer=0.5, warp=Warp(**TRAPEZOID))
    output.present(0.0, dot_picture(size, background=1.0), target)
    assert abs(int(read(target, size)[45, 80, 0]) - 128) <= 2
    output.toggle_blackout()
    for step in range(1, 8):
        output.present(step * 0.4, dot_picture(size, background=1.0), target)
    assert read(target, size).max() == 0
    output.release()
    release_framebuffer(ctx, target)


def test_warp_files_round_trip_and_bad_ones_name_file_and_key(tmp_path):
    from dessins_de_planche.app import warp as warps

    path = tmp_path / "warp.toml"
    pinned = warps.Warp(**TRAPEZOID).moved("top_left", 0.01, -0.02)
    warps.save(pinned, path)
    again = warps.load(path)
    assert np.allclose(again.homography(), pinned.homography(), atol=1e-4)
    path.write_text("[warp]\ntop_left = [0.1]\n")
    with pytest.raises(warps.WarpError, match=r"warp\.toml: warp\.top_left must be \[x, y\]"):
        warps.load(path)
    path.write_text("[warp]\ntop_lefft = [0.1, 0.1]\n")
    with pytest.raises(warps.WarpError, match="warp.top_lefft is not a corner"):
        warps.load(path)
    path.write_text("[warp]\ntop_left = [1.0, 0.0]\ntop_right = [0.0, 0.0]\n")  # a bow tie
    with pytest.raises(warps.WarpError, match="in order"):
        warps.load(path)
