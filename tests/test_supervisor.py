"""The kiosk supervisor restarts an app that dies or hangs, backs off a crash loop, and gives up on it."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from app_process import App, wait_for


def supervise(tmp_path, *args):
    log = open(tmp_path / "supervisor.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "dessins_de_planche", "kiosk",
                                "--health-file", str(tmp_path / "health.json"), *args],
                               stdout=log, stderr=subprocess.STDOUT)
    return process, tmp_path / "supervisor.log"


def test_a_crash_loop_backs_off_and_the_supervisor_gives_up(tmp_path):
    process, log = supervise(tmp_path, "--app-command", f"{sys.executable} -c 'raise SystemExit(3)'",
                             "--backoff-min", "0.1", "--max-failures", "3")
    assert process.wait(60) == 1
    text = log.read_text()
    assert text.count("started the app") == 4
    delays = [float(d) for d in re.findall(r"exited with code 3 after [\d.]+ s; restarting in ([\d.]+) s", text)]
    assert delays == sorted(delays) and delays[-1] >= 2 * delays[0], text  # the back-off grows
    assert "3 quick failures in a row: giving up" in text


def test_an_app_that_stops_drawing_is_restarted_and_a_signal_stops_everything(tmp_path):
    stand_in = tmp_path / "hangs.py"
    stand_in.write_text(textwrap.dedent("""
        import os, pathlib, time
        health = pathlib.Path(os.environ["DDP_HEALTH_FILE"])
        for _ in range(3):
            health.write_text('{"frames": 1}')
            time.sleep(0.2)
        time.sleep(3600)  # hung: no more frames
    """))
    process, log = supervise(tmp_path, "--app-command", f"{sys.executable} {stand_in}",
                             "--heartbeat-timeout", "1", "--backoff-min", "0.1")
    try:
        wait_for(lambda: log.read_text().count("started the app") >= 2, 30, "a restart of the hung app")
        assert "stopped producing frames" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    pids = [int(p) for p in re.findall(r"started the app \(pid (\d+)", log.read_text())]
    for pid in pids:  # no child left behind
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


@pytest.mark.window
def test_a_killed_app_is_restarted(tmp_path, x_display):
    app = App(x_display, tmp_path, "--health-file", str(tmp_path / "health.json"), "--backoff-min", "0.5",
              "--", "--size", "320x180", "--generate", "--log-file", str(tmp_path / "app.log"), command="kiosk")
    app.health = tmp_path / "health.json"
    try:
        first = app.wait_state(lambda s: s.get("frames", 0) > 2, 60, "the app's first frames")
        os.kill(first["pid"], signal.SIGKILL)
        killed = time.monotonic()
        wait_for(lambda: app.output().count("started the app") >= 2, 30, "the supervisor to restart the app")
        restart_s = time.monotonic() - killed
        again = app.wait_state(lambda s: s["pid"] != first["pid"] and s.get("frames", 0) > 2, 60,
                               "frames from the restarted app")
        print(f"restarted {restart_s:.2f} s after the kill (target: within 3 s); drawing again")
        assert "killed by SIGKILL" in app.output()
        assert again["kiosk"] is True
    finally:
        assert app.stop() == 0
