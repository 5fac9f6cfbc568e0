"""Files that cannot be read: a preset that is a folder, a FIFO, or refused by permissions never stops the
show; the error names the file and the rest of the gallery loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app_process import App
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
