"""A non-editable install finds its shaders and presets from anywhere."""

import subprocess
import sys
import zipfile

import pytest

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, REPO],
                   check=True, capture_output=True)
    (path,) = out.glob("dessins_de_planche-*.whl")
    return path


def test_wheel_carries_the_gallery(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    repo_presets = sorted(p.name for p in (REPO / "presets").glob("*.toml"))
    repo_shaders = sorted(p.name for p in (REPO / "shaders").glob("*.glsl"))
    assert repo_presets and repo_shaders
    for name in repo_presets:
        assert f"dessins_de_planche/gallery/presets/{name}" in names
    for name in repo_shaders:
        assert f"dessins_de_planche/gallery/shaders/{name}" in names


def test_installed_wheel_loads_its_gallery_from_another_folder(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, wheel],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import dessins_de_planche, dessins_de_planche.paths as p\n"
        "from dessins_de_planche.preset.loader import load_gallery\n"
        "print(dessins_de_planche.__file__)\n"
        "print(sorted(load_gallery(p.presets_dir())))\n"
        "print(sorted(x.name for x in p.shaders_dir().glob('*.glsl')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, capture_output=True, text=True,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    module_file, presets, shaders = result.stdout.strip().splitlines()
    assert module_file.startswith(str(target))
    assert "rosette" in presets and "thread" in presets
    assert "[]" != shaders
