"""Files that cannot be read: a preset that is a folder, a FIFO, or refused by permissions never stops the
show; the error names the file and the rest of the gallery loads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app_process import App, wait_for
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset.loader import PresetError, load_gallery, load_preset
from dessins_de_planche.record.session import EVENTS, load_session


def gallery_with(tmp_path: Path) -> Path:
    folder = tmp_path / "presets"
    folder.mkdir()
    for source in presets_dir().glob("*.toml"):
        (folder / source.name).write_bytes(source.read_bytes())
    return folder


def test_a_preset_path_that_is_a_folder_is_a_named_error_and_the_gallery_loads(tmp_path):
    folder = gallery_with(tmp_path)
    (folder / "broken.toml").mkdir()
    with pytest.raises(PresetError, match="broken.toml"):
        load_preset(folder / "broken.toml")
    errors = []
    gallery = load_gallery(folder, errors)
    assert len(gallery) == len(list(presets_dir().glob("*.toml")))


def test_a_preset_refused_by_permissions_is_a_named_error(tmp_path, monkeypatch):
    folder = gallery_with(tmp_path)
    target = next(folder.glob("*.toml"))
    real = Path.read_bytes

    def refuse(self):  # tests run as root, who reads anything: refuse the way the kernel would
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(PresetError, match=target.name):
        load_preset(target)
    errors = []
    gallery = load_gallery(folder, errors)
    assert target.stem not in gallery and len(gallery) == len(list(folder.glob("*.toml"))) - 1
    assert any(target.name in str(e) and "Permission denied" in str(e) for e in errors)


def test_a_fifo_in_the_preset_folder_does_not_hang_the_gallery(tmp_path):
    folder = gallery_with(tmp_path)
    os.mkfifo(folder / "stuck.toml")  # nobody will ever write to it: reading it would wait forever
    script = textwrap.dedent(f"""
        from dessins_de_planche.preset.loader import load_gallery
        errors = []
        gallery = load_gallery({str(folder)!r}, errors)
        print(len(gallery), [str(e) for e in errors])
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    count, _, errors = result.stdout.partition(" ")
    assert int(count) == len(list(presets_dir().glob("*.toml")))
    assert "stuck.toml" in errors


# ---- the disk full while recording ---------------------------------------------------------------

@pytest.fixture
def small_disk():
    """A 256 kB file system, mounted for the test: the input audio fills it in about a second."""
    folder = Path(tempfile.mkdtemp(prefix="ddp-small-disk-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0777", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a small tmpfs to fill up (needs root or CAP_SYS_ADMIN): "
                    f"{mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        folder.rmdir()


@pytest.mark.window
def test_the_disk_filling_up_stops_the_recording_cleanly_and_the_show_goes_on(tmp_path, x_display, small_disk):
    session = small_disk / "show"
    app = App(x_display, tmp_path, "--size", "320x180", "--generate", "--bpm", "200", "--taps-per-beat", "4",
              "--seconds", "12", "--record", str(session), "--record-audio", env={"PYTHONUNBUFFERED": "1"})
    try:
        # the events writer hits the full disk: the health file says so, and frames keep coming after it
        stopped = app.wait_state(lambda s: s.get("recording", {}).get("error"), 60, "the recording to stop")
        assert "No space left on device" in stopped["recording"]["error"] and not stopped["recording"]["active"]
        assert str(session / EVENTS) in stopped["recording"]["error"]
        later = app.wait_state(lambda s: s["frames"] > stopped["frames"] + 30 and s["taps"] > stopped["taps"],
                               60, "frames and taps after the recording stopped")
        assert later["preset"] == stopped["preset"]
        assert app.process.wait(60) == 0, app.output()[-3000:]  # quits at --seconds, as asked
    finally:
        app.stop()
    output = app.log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    said = [line for line in output.splitlines() if "recording stopped" in line]
    assert any("No space left on device" in line and str(session / EVENTS) in line for line in said), output[-3000:]
    assert any("audio recording stopped: No space left on device" in line and str(session / "audio.wav") in line
               for line in said), said

    # what was written before the disk filled up is whole: every line of events.jsonl parses, the session replays
    lines = (session / EVENTS).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["type"] == "session" and len(records) > 5
    assert len(load_session(session).taps) == len(records) - 1 - sum(r["type"] != "tap" for r in records[1:])
    # ... and the WAV's header matches its samples
    import soundfile

    audio, rate = soundfile.read(session / "audio.wav", dtype="float32")
    assert rate == 48_000 and len(audio) > 4_800 and np.isfinite(audio).all()
    for sidecar in session.glob("*.json"):  # a note that could not be written whole is not left behind
        json.loads(sidecar.read_text())


# ---- a configuration file that cannot be read --------------------------------------------------------

NOBODY = 65534


@pytest.fixture
def ordinary_user(tmp_path):
    """(command prefix, work folder, environment) to run the app as an ordinary user, for whom a file
    with mode 000 really cannot be read (the tests run as root, who reads anything)."""
    if os.geteuid() != 0:
        yield [], tmp_path, {**os.environ, "LANGUAGE": "en"}
        return
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to run the app as an ordinary user")
    folder = Path(tempfile.mkdtemp(prefix="ddp-user-"))  # pytest's tmp_path is root's alone (0700)
    folder.chmod(0o777)
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    env = {**os.environ, "HOME": str(folder), "LANGUAGE": "en", "PYTHONUNBUFFERED": "1",
           **{name: str(folder / name.lower()) for name in
              ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR")}}
    probe = subprocess.run([*prefix, sys.executable, "-c", "import dessins_de_planche"], env=env,
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot run the app as an ordinary user here: {probe.stderr.strip()[-300:]}")
    try:
        yield prefix, folder, env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def unreadable(kind: str, path: Path) -> Path:
    """A config or preset file nobody can read: no permission, a folder, a pipe with no writer."""
    if kind == "permissions":
        path.write_text('size = "320x180"\n')
        path.chmod(0)
    elif kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind, said", [("permissions", "Permission denied"), ("folder", "not a regular file"),
                                        ("pipe", "not a regular file")])
def test_a_config_file_that_cannot_be_read_is_one_clear_line_and_a_non_zero_exit(ordinary_user, kind, said):
    prefix, folder, env = ordinary_user
    config = unreadable(kind, folder / "config.toml")
    result = subprocess.run([*prefix, sys.executable, "-m", "dessins_de_planche", "run", "--config", str(config)],
                            env=env, capture_output=True, text=True, timeout=60)  # a pipe must not hang it
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"dessins-de-planche: {config}: {said}"
                                                   + ("" if kind == "permissions" else
                                                      " (a folder, pipe or device); the configuration is a "
                                                      ".toml text file")]


def test_kiosk_mode_runs_on_the_defaults_when_its_config_cannot_be_read(tmp_path, monkeypatch):
    """Nobody is at the keyboard of an installation: drawing on the defaults beats a black screen.
    The supervisor and the app both go on, and keep the reason for the log."""
    from dessins_de_planche import settings
    from dessins_de_planche.commands import build_parser

    config = unreadable("pipe", tmp_path / "config.toml")
    for argv in (["run", "--kiosk", "--config", str(config)], ["kiosk", "--config", str(config)]):
        args = settings.parse_args(build_parser()[0], argv)
        assert str(config) in args.config_error and "running on the defaults" in args.config_error
        assert args.config_file is None
    with pytest.raises(SystemExit) as stopped:
        settings.parse_args(build_parser()[0], ["run", "--config", str(config)])
    assert stopped.value.code == 2

    config = tmp_path / "typo.toml"  # a mistake half-way down the file sets nothing at all
    config.write_text('size = "320x180"\nhud = true\n[supervisor]\nheartbeat = 3\n')
    args = settings.parse_args(build_parser()[0], ["run", "--kiosk", "--config", str(config)])
    assert "[supervisor] heartbeat: no such option" in args.config_error
    assert args.size != (320, 180) and not args.hud


@pytest.mark.window
def test_a_kiosk_whose_config_cannot_be_read_draws_on_the_defaults_and_logs_why(tmp_path, x_display):
    # a pipe with no writer: root cannot read it either, and opening it would wait forever
    config = unreadable("pipe", tmp_path / "config.toml")
    log_file = tmp_path / "kiosk.log"
    app = App(x_display, tmp_path, "--kiosk", "--config", str(config), "--generate", "--seconds", "4",
              "--log-file", str(log_file), env={"PYTHONUNBUFFERED": "1"})
    try:
        assert app.process.wait(120) == 0, app.output()[-3000:]
    finally:
        app.stop()
    output = app.log.read_text(errors="replace")
    assert f"{config}: not a regular file" in output and "kiosk mode: running on the defaults" in output, output
    assert "Traceback" not in output
    assert "kiosk mode: running on the defaults" in log_file.read_text()  # where the installation's log is kept
    state = app.state()
    assert state["frames"] > 10 and state["kiosk"]


def test_a_config_file_refused_by_permissions_is_a_named_error(tmp_path, monkeypatch):
    from dessins_de_planche import settings

    config = tmp_path / "config.toml"
    config.write_text('size = "320x180"\n')

    def refuse(path, *args, **kwargs):  # as the kernel refuses an ordinary user a file of mode 000
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(settings, "open", refuse, raising=False)
    with pytest.raises(settings.ConfigError, match=f"{config}: Permission denied"):
        settings.load(config)


# ---- a preset that cannot be read while the show runs --------------------------------------------------

LOOK = """\
format = 1
name = "mine"
[canvas]
background = "{background}"
[[layers]]
kind = "marks"
"""


def test_a_preset_refused_by_permissions_while_the_show_runs_keeps_the_look_and_names_the_file(
        ctx, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from dessins_de_planche.preset.deck import Deck
    from dessins_de_planche.render.canvas import release_framebuffer
    from dessins_de_planche.render.live_edit import LiveEditing
    from dessins_de_planche.render.scene import Scene
    from dessins_de_planche.render.text import TextOverlay

    file = tmp_path / "mine.toml"
    file.write_text(LOOK.format(background="#204060"))
    live = LiveEditing([tmp_path], TextOverlay(ctx), shader_folders=[], interval=0.0)
    stage = Deck(live.presets(), rhythm=SimpleNamespace(bar_beats=2))
    stage.show_on(Scene(ctx, stage.preset, (64, 36)), stage.rhythm)
    live.attach(stage)
    target = ctx.simple_framebuffer((64, 36))
    real = Path.read_bytes

    def refuse(self):  # root reads anything: refuse the way the kernel refuses an ordinary user
        if self == file:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    try:
        running = stage.scene.preset
        monkeypatch.setattr(Path, "read_bytes", refuse)
        file.write_text(LOOK.format(background="#a03010"))
        os.utime(file, ns=(10**18, 10**18))
        assert live.poll() == [("error", file)]
        stage.scene.render(1.0, target)
        assert stage.scene.preset is running and stage.presets == (running,)
        report = " ".join(" ".join(live.overlay.lines()).split())  # as on screen, unwrapped
        assert f"Not loaded: {file}" in report and "cannot read the preset (Permission denied)" in report
        picture = np.frombuffer(target.read(components=3), np.uint8).reshape(36, 64, 3)
        assert np.abs(picture[18, 32].astype(int) - (0x20, 0x40, 0x60)).max() <= 3  # the old background
        monkeypatch.undo()  # readable again: the new look comes
        os.utime(file, ns=(2 * 10**18, 2 * 10**18))
        assert live.poll() == [("reloaded", file)] and not live.overlay.visible
    finally:
        stage.scene.release()
        release_framebuffer(ctx, target)


def health(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@pytest.mark.window
def test_a_preset_file_made_unreadable_while_the_app_runs_keeps_the_look_on_screen(tmp_path, x_display):
    folder = tmp_path / "presets"
    folder.mkdir()
    file = folder / "mine.toml"
    file.write_text(LOOK.format(background="#204060"))
    app = App(x_display, tmp_path, "--presets", str(folder), "--preset", "mine", "--size", "320x180", "--generate",
              "--seconds", "60", env={"PYTHONUNBUFFERED": "1"})
    try:
        app.frames_advance(60)

        def logged(*words):
            return wait_for(lambda: any(all(w in line for w in words) for line in app.output().splitlines()),
                            30, f"a log line with {words}")

        for make, said in [(os.mkfifo, "not a regular file"),  # a pipe with no writer: reading it would hang
                           (Path.mkdir, "not a regular file")]:  # root cannot read these either
            file.rmdir() if file.is_dir() else file.unlink()
            make(file)
            logged("not loaded (the running look stays)", str(file), said)
            state = app.frames_advance(30)  # the frame loop never waited on the file
            assert state["preset"] == "mine"
            # the last good look stays on screen, under the report (which covers up to half the small window)
            assert background_share(x_display, (0x20, 0x40, 0x60)) > 0.25
        file.rmdir()
        file.write_text(LOOK.format(background="#a03010"))  # fixed: the new look comes (the check can fail)
        logged("preset reloaded: mine", str(file))
        wait_for(lambda: background_share(x_display, (0xA0, 0x30, 0x10)) > 0.5, 30, "the new look on screen")
        assert background_share(x_display, (0x20, 0x40, 0x60)) < 0.01
    finally:
        app.stop()
    assert "Traceback" not in app.log.read_text(errors="replace")


def background_share(display: str, colour) -> float:
    """The share of the app's window (320x180, the first window on an empty screen) in `colour`."""
    import io

    import pygame

    shot = subprocess.run(f"xwd -root -silent -display {display} | /usr/bin/convert xwd:- png:-", shell=True,
                          capture_output=True, timeout=30)
    assert shot.returncode == 0, shot.stderr[-500:]
    pixels = pygame.surfarray.array3d(pygame.image.load(io.BytesIO(shot.stdout), "shot.png")).astype(int)
    close = (np.abs(pixels - np.array(colour)).max(axis=2) <= 4).sum()
    return close / (320 * 180)
