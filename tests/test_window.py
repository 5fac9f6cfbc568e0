"""The real app in a real window (Xvfb): the demo draws, says it is a demo, and quits cleanly."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.window


def run_app(display, *args, timeout=120):
    command = [sys.executable, "-m", "dessins_de_planche", "run", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DISPLAY": display})


def load_png(path):
    import pygame

    surface = pygame.image.load(str(path))
    return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2))


def test_demo_runs_in_a_real_window_and_draws(tmp_path, x_display):
    shot = tmp_path / "shot.png"
    result = run_app(x_display, "--size", "640x360", "--seconds", "8", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "demo" in result.stderr.lower()  # the log says it runs on the demo input
    image = load_png(shot)
    assert image.shape == (360, 640, 3)
    taps = int(result.stderr.rsplit(" taps", 1)[0].rsplit(", ", 1)[1])
    assert taps >= 10  # ~8 s of a 112 BPM pattern with two taps a beat is ~25 taps
    # Marks: saturated pixels away from the notice at the bottom.
    drawing = image[: 360 - 70].astype(int)
    saturation = drawing.max(axis=2) - drawing.min(axis=2)
    assert (saturation > 60).sum() > 200
    # The notice: light grey text in the bottom band.
    notice = image[360 - 60 :].astype(int)
    grey = (notice.min(axis=2) > 150) & ((notice.max(axis=2) - notice.min(axis=2)) < 30)
    assert grey.sum() > 100


def test_the_p_key_saves_the_picture_at_window_size(tmp_path, x_display):
    """A performer presses P: the drawing (no HUD, no notices) lands as a PNG in the pictures folder."""
    import shutil

    from app_process import App, wait_for

    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed (scripts/setup.sh test installs it)")
    pictures = tmp_path / "pictures"
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_PICTURES_DIR": str(pictures)}
    app = App(x_display, tmp_path, "--size", "640x360", "--generate", "--bpm", "140", "--preset", "rosette",
              env=env)
    try:
        app.wait_state(lambda s: s.get("taps", 0) >= 6, 60, "a few taps drawn")
        # no window manager: the keyboard goes to the window under the pointer
        subprocess.run(["xdotool", "mousemove", "320", "180", "key", "p"], check=True,
                       env={"DISPLAY": x_display}, timeout=10)
        saved = wait_for(lambda: list(pictures.glob("Dessins de Planche/rosette_*.png")), 20, "the saved picture")
        wait_for(lambda: "picture saved" in app.output(), 10, "the log to name the file")
    finally:
        assert app.stop() == 0
    image = load_png(saved[0])
    assert image.shape == (360, 640, 3)
    saturation = image.max(axis=2).astype(int) - image.min(axis=2)
    assert (saturation > 60).sum() > 100, "the marks are in the picture"
    assert str(saved[0]) in app.log.read_text()  # the log names the file


def test_pygame_loads_without_pkg_resources_and_still_finds_its_font():
    """setuptools' pkg_resources costs every start ~0.1 s; pygame's font must still load without it."""
    code = """
import sys
from dessins_de_planche.app.window import import_pygame_without_pkg_resources
import_pygame_without_pkg_resources()
import pygame
print("pkg_resources loaded:", "pkg_resources" in sys.modules)
pygame.font.init()
text = pygame.font.Font(None, 24).render("Planche", True, (255, 255, 255))
print("text width:", text.get_width())
import importlib.util
print("still importable:", importlib.util.find_spec("setuptools") is None or importlib.util.find_spec("pkg_resources") is not None)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pkg_resources loaded: False" in result.stdout
    assert int(result.stdout.split("text width:")[1].split()[0]) > 40
    assert "still importable: True" in result.stdout


def test_a_driver_that_accepts_vsync_but_does_not_wait_gets_paced_by_a_timer(tmp_path):
    """SDL's offscreen driver (EGL, no display) says yes to vsync and never waits: unpaced, the
    loop would draw hundreds of frames a second and take a core from the input process."""
    telemetry = tmp_path / "frames.jsonl"
    command = [sys.executable, "-m", "dessins_de_planche", "run", "--size", "320x180", "--generate", "--seconds", "5",
               "--telemetry", str(telemetry)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SDL_VIDEODRIVER": "offscreen"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "paced by a timer at 60 fps" in result.stderr
    with open(telemetry) as f:
        swaps = np.array([json.loads(line)["swap"] for line in f if line.startswith('{"frame"')])
    settled = np.diff(swaps[swaps > swaps[-1] - 2.5])  # the last 2.5 s: long after the check
    assert 0.014 < np.median(settled) < 0.020, f"median frame interval {np.median(settled) * 1e3:.1f} ms"


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.ticks = []

    def monotonic(self):
        return self.now

    def tick(self, fps):
        self.ticks.append(fps)
        self.now += 1 / fps  # a timer-paced frame lasts its interval


def paced_window(monkeypatch, clock):
    import pygame

    from dessins_de_planche.app import window

    monkeypatch.setattr(window, "_open_window", lambda *args: ((320, 180), True))  # vsync accepted
    monkeypatch.setattr(window.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(pygame.time, "Clock", lambda: clock)
    return window.Window((320, 180), False, None)


def run_frames(shown, clock, seconds: float, unpaced_frame: float) -> list:
    """Frames for `seconds`: one the timer does not hold lasts `unpaced_frame` (what vsync lets
    through); the timer's fps of each frame it paced."""
    ticks, end = len(clock.ticks), clock.now + seconds
    while clock.now < end:
        before = len(clock.ticks)
        shown.pace()
        if len(clock.ticks) == before:
            clock.now += unpaced_frame
    return clock.ticks[ticks:]


def test_vsync_that_does_not_hold_is_replaced_by_a_timer_and_tried_again_later(monkeypatch):
    from dessins_de_planche.app import window

    clock = FakeClock()
    shown = paced_window(monkeypatch, clock)
    run_frames(shown, clock, 0.2, unpaced_frame=0.002)  # vsync holds nothing back: 500 fps
    ticks = run_frames(shown, clock, 5.0, unpaced_frame=0.002)
    assert set(ticks) == {60} and abs(len(ticks) - 300) <= 1, "every frame paced by the timer at 60 fps"
    # the window comes back onto a 60 Hz display: within two tries, vsync paces alone again
    run_frames(shown, clock, 2 * window.VSYNC_RECHECK_SECONDS, unpaced_frame=1 / 60)
    assert run_frames(shown, clock, 5.0, unpaced_frame=1 / 60) == []


def test_vsync_that_holds_is_left_alone(monkeypatch):
    clock = FakeClock()
    shown = paced_window(monkeypatch, clock)
    for _ in range(600):  # a 144 Hz display
        shown.pace()
        clock.now += 1 / 144
    assert clock.ticks == []


def _marks_on_screen(display: str) -> int:
    shot = subprocess.run(f"xwd -root -silent -display {display} | /usr/bin/convert xwd:- png:-", shell=True,
                          capture_output=True, check=True, timeout=30).stdout
    import io

    import pygame

    image = np.transpose(pygame.surfarray.array3d(pygame.image.load(io.BytesIO(shot))), (1, 0, 2)).astype(int)
    picture = image[:360 - 70, :640]  # the window at the top left, above the notice band
    return int(((picture.max(axis=2) - picture.min(axis=2)) > 60).sum())


def test_ctrl_c_does_not_clear_only_c_does_and_saves_first(tmp_path, x_display):
    """Keys held with Ctrl are not the performer's: Ctrl+C (a reflex in a terminal) must not wipe
    the drawing, above all not without the save that a clear makes first."""
    import shutil

    import soundfile

    from app_process import App, wait_for
    from dessins_de_planche.listen.synth import podorhythm

    for tool in ("xdotool", "xwd"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup.sh test installs it)")
    audio, truth = podorhythm(3.0, 48_000, 120, 2, ("heel", "toe"), seed=3, level_db=-12.0)
    take = tmp_path / "take.wav"
    soundfile.write(take, np.concatenate([audio, np.zeros((48_000 * 60, audio.shape[1]), audio.dtype)]), 48_000)
    saved = tmp_path / "saved"
    app = App(x_display, tmp_path, "--size", "640x360", "--input", str(take), "--no-loop", "--preset", "weave",
              "--autosave-dir", str(saved), env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    try:
        app.wait_state(lambda s: s.get("taps", 0) >= len(truth) - 2, 60, "the take's taps drawn")
        subprocess.run(["xdotool", "mousemove", "320", "180"], check=True, env={"DISPLAY": x_display}, timeout=10)
        drawn = wait_for(lambda: _marks_on_screen(x_display), 20, "marks on screen")
        assert drawn > 100
        subprocess.run(["xdotool", "key", "ctrl+c"], check=True, env={"DISPLAY": x_display}, timeout=10)
        before = app.state()["frames"]
        app.wait_state(lambda s: s["frames"] > before + 30, 30, "frames after Ctrl+C")
        assert _marks_on_screen(x_display) > 0.7 * drawn, "Ctrl+C cleared the drawing"
        assert not saved.exists() or not list(saved.rglob("*.png"))

        subprocess.run(["xdotool", "key", "c"], check=True, env={"DISPLAY": x_display}, timeout=10)
        wait_for(lambda: list(saved.rglob("*.png")), 20, "the drawing saved before the clear")
        wait_for(lambda: _marks_on_screen(x_display) < 0.2 * drawn, 20, "the canvas cleared by c")
    finally:
        assert app.stop() == 0


def _window_id(display: str, title: str) -> str | None:
    """The X id of the top-level window with this exact title, or None."""
    import re

    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          env={"DISPLAY": display, "LC_ALL": "C.UTF-8"}).stdout
    match = re.search(r'(0x[0-9a-f]+) "' + re.escape(title) + r'"', tree)
    return match.group(1) if match else None


def _window_shot(display: str, title: str):
    """A screenshot of one top-level window, found by its exact title."""
    import io

    import pygame

    window = _window_id(display, title)
    assert window, f"no window {title!r}"
    shot = subprocess.run(f"xwd -id {window} -silent -display {display} | /usr/bin/convert xwd:- png:-",
                          shell=True, capture_output=True, check=True, timeout=30).stdout
    return np.transpose(pygame.surfarray.array3d(pygame.image.load(io.BytesIO(shot))), (1, 0, 2)).astype(int)


def _text_pixels(image) -> int:
    """Light grey and white pixels: the HUD's and notices' text (the looks draw in colour)."""
    return int(((image.min(axis=2) > 170) & ((image.max(axis=2) - image.min(axis=2)) < 40)).sum())


def test_with_an_operator_screen_the_projector_shows_the_drawing_only(tmp_path, x_display):
    """`--operator`: the HUD, notices and presets in the operator's window, none on the projection;
    a key pressed on the operator's window acts on the show."""
    import shutil

    from app_process import App, wait_for

    for tool in ("xdotool", "xwd", "xwininfo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup.sh test installs it)")
    app = App(x_display, tmp_path, "--size", "640x360", "--position", "0,0", "--generate", "--bpm", "140",
              "--hud", "--operator")
    try:
        app.wait_state(lambda s: s.get("taps", 0) >= 6, 60, "a few taps drawn")
        wid = wait_for(lambda: _window_id(x_display, "Dessins de Planche — operator"), 30, "the operator window")
        wait_for(lambda: _text_pixels(_window_shot(x_display, "Dessins de Planche — operator")) > 500, 30,
                 "the HUD in the operator window")
        operator = _window_shot(x_display, "Dessins de Planche — operator")
        projector = _window_shot(x_display, "Dessins de Planche")
        assert projector.shape[:2] == (360, 640) and operator.shape[1] >= 600
        assert _text_pixels(projector) < 30, "no HUD or notice on the projection"
        marks = np.abs(projector - np.median(projector.reshape(-1, 3), axis=0)).max(axis=2) > 40
        assert marks.sum() > 50, "the drawing is on the projection"
        before = app.state()["preset"]
        subprocess.run(["xdotool", "windowfocus", "--sync", str(int(wid, 16)), "key", "Right"], check=True,
                       env={"DISPLAY": x_display}, timeout=10)
        app.wait_state(lambda s: s["preset"] != before, 20, "the next preset, chosen on the operator screen")
    finally:
        assert app.stop() == 0

    plain = App(x_display, tmp_path, "--size", "640x360", "--position", "0,0", "--generate", "--hud")
    try:  # the same check sees the HUD when there is no operator screen: it can fail
        plain.frames_advance(60)
        wait_for(lambda: _text_pixels(_window_shot(x_display, "Dessins de Planche")) > 200, 20, "the HUD")
    finally:
        assert plain.stop() == 0
