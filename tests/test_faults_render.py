"""The real window pushed around while it draws: resized, minimised and restored, moved to a second
screen. With `--gl-debug` every frame is checked for GL errors; telemetry proves frames kept coming
and taps kept being drawn after each push.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from fixtures_jack import wait_for

pytestmark = [pytest.mark.window, pytest.mark.slow]


@pytest.fixture
def two_screens():
    """An Xvfb with two 640x400 screens side by side as one desktop (Xinerama)."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed (scripts/test.sh installs them)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "+xinerama", "-screen", "0", "640x400x24",
                               "-screen", "1", "640x400x24", "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    yield f":{number}"
    server.terminate()
    server.wait(10)


def frames(path) -> list[dict]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.startswith('{"frame"')]
    except (OSError, ValueError):
        return []


def test_resized_minimised_and_moved_between_screens_it_keeps_drawing_without_gl_errors(tmp_path, two_screens):
    display = two_screens
    telemetry = tmp_path / "frames.jsonl"
    shot = tmp_path / "last.png"
    log = tmp_path / "app.log"
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as err:
        app = subprocess.Popen([sys.executable, "-m", "dessins_de_planche", "run", "--size", "320x180", "--gl-debug",
                                "--telemetry", str(telemetry), "--seconds", "22", "--screenshot", str(shot)],
                               stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        def xdotool(*args):
            return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=10)

        def find_window():
            tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True).stdout
            return [line.split()[0] for line in tree.splitlines() if '"Dessins de Planche"' in line]

        window = wait_for(find_window, deadline=60, what="the app's window")[0]
        # No window manager here: minimising is what a WM does to the window, unmapping it, then mapping it back.
        steps = [("windowsize", window, "600", "340"), ("windowsize", window, "200", "120"),
                 ("windowunmap", window), ("windowmap", window),
                 ("windowmove", window, "700", "40"),  # onto the second screen
                 ("windowsize", window, "500", "300"), ("windowmove", window, "10", "10")]
        pushed = []
        for step in steps:
            xdotool(*step)
            pushed.append((step[0], time.monotonic()))
            # the app must go on drawing in each state: wait for a frame swapped after the push
            wait_for(lambda: app.poll() is not None or any(f["swap"] > pushed[-1][1] for f in frames(telemetry)[-5:]),
                     deadline=30, what=f"a frame after {step[0]}")
        code = app.wait(timeout=120)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert "GL error in frame" not in text, [line for line in text.splitlines() if "GL error" in line][:5]
    assert ", 0 GL errors" in text
    records = frames(telemetry)
    assert len(records) > 100
    swaps = [r["swap"] for r in records]
    gaps = [b - a for a, b in zip(swaps, swaps[1:])]
    assert max(gaps) < 5.0, f"the window stopped drawing for {max(gaps):.1f} s"
    tapped = [r["frame"] for r in records if r.get("taps")]
    assert tapped and tapped[-1] > len(records) * 0.8, "taps stopped being drawn after the window was pushed around"
    for name, at in pushed:
        assert any(r["swap"] > at for r in records), f"no frame after {name}"
    assert shot.exists() and shot.stat().st_size > 0
