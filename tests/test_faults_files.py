"""Files that cannot be read: a preset that is a folder, a FIFO, or refused by permissions never stops the
show; the error names the file and the rest of the gallery loads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dessins_de_planche.paths import presets_dir
from dessins_de_planche.preset.loader import PresetError, load_gallery, load_preset


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
