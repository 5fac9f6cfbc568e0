"""Kiosk mode in a real X server: full screen, no cursor, Esc does not quit, the key chord does."""

import re
import shutil
import subprocess

import pytest

from app_process import App, wait_for
from xcursor import cursor_alpha_pixels

pytestmark = pytest.mark.window


def window_geometry(display: str) -> tuple[int, int, int, int] | None:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          env={"DISPLAY": display}).stdout
    match = re.search(r'"Dessins de Planche".*?\s(\d+)x(\d+)\+(-?\d+)\+(-?\d+)', tree)
    return tuple(int(v) for v in match.groups()) if match else None


def xdotool(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, env={"DISPLAY": display}, timeout=10)


def test_kiosk_is_fullscreen_hides_the_cursor_ignores_esc_and_quits_on_the_chord(tmp_path, x_display):
    for tool in ("xdotool", "xwininfo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (scripts/setup.sh test installs it)")
    xdotool(x_display, "mousemove", "640", "360")
    assert cursor_alpha_pixels(x_display) > 0  # the check can see a cursor: the server's own
    log_file = tmp_path / "kiosk.log"
    app = App(x_display, tmp_path, "--kiosk", "--size", "320x180", "--generate", "--log-file", str(log_file))
    try:
        app.frames_advance(60)
        assert window_geometry(x_display) == (1280, 720, 0, 0)  # the whole screen, whatever --size says
        xdotool(x_display, "mousemove", "600", "300")
        xdotool(x_display, "mousemove", "640", "360")
        wait_for(lambda: cursor_alpha_pixels(x_display) == 0, 20, "the cursor to be hidden over the kiosk")

        xdotool(x_display, "key", "Escape")
        before = app.state()["frames"]
        app.wait_state(lambda s: s["frames"] > before + 30, 30, "frames after Esc")
        assert app.process.poll() is None  # Esc did not quit

        xdotool(x_display, "key", "ctrl+f")  # only the key table acts on keys: Ctrl+F is not in it
        before = app.state()["frames"]
        app.wait_state(lambda s: s["frames"] > before + 30, 30, "frames after Ctrl+F")
        assert window_geometry(x_display) == (1280, 720, 0, 0), "Ctrl+F left full screen in kiosk mode"

        xdotool(x_display, "key", "ctrl+alt+q")
        assert app.process.wait(30) == 0
        assert "quit: the key chord ctrl+alt+q" in app.output()
        assert "Traceback" not in app.output()
        assert "quit: the key chord" in log_file.read_text()  # the rotating log file has it too
    finally:
        app.stop()
