"""The README's two commands on a machine we do not control: as root or as a user, with the
package servers unreachable after the first setup, and on a Python without python-rtmidi.

`apt-get`, `dpkg-query`, `sudo` and `id` are stand-ins that record what they were asked, so
these tests see what a fresh machine would be asked to install without installing anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _setup_packages(purpose: str) -> list[str]:
    """The package lists as setup.sh itself declares them (one place), read by bash."""
    arrays = "run_packages[@]" if purpose == "run" else "run_packages[@]} ${test_packages[@]"
    script = (REPO / "scripts/setup.sh").read_text()
    declarations = "\n".join(line for line in script.splitlines() if line.startswith(("run_packages=", "test_packages=")))
    out = subprocess.run(["bash", "-c", f"{declarations}\necho ${{{arrays}}}"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def _stand_ins(folder: Path, uid: int, installed: set[str], apt_fails: bool = False,
               python_from_apt: str | None = None) -> Path:
    """A bin folder of stand-ins; each appends its arguments (and DEBIAN_FRONTEND) to calls.log.
    `python_from_apt`: a Python that apt-get's install of python3 links into the folder."""
    folder.mkdir()
    log = folder / "calls.log"
    (folder / "id").write_text(f'#!/bin/sh\n[ "$1" = -u ] && echo {uid} && exit 0\nexec /usr/bin/id "$@"\n')
    (folder / "dpkg-query").write_text(
        "#!/bin/sh\nfor package; do :; done\n"  # the last argument
        f'for p in {" ".join(sorted(installed))}; do [ "$p" = "$package" ] && printf "install ok installed" && exit 0; done\n'
        "exit 1\n")
    (folder / "apt-get").write_text(
        f'#!/bin/sh\necho "apt-get DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> {log}\n'
        + ('[ "$1" = update ] && exit 100\n' if apt_fails else "")
        + (f'case " $* " in *" python3 "*) ln -sf {python_from_apt} {folder}/python3;; esac\n' if python_from_apt else "")
        + "exit 0\n")
    (folder / "sudo").write_text(f'#!/bin/sh\necho "sudo $*" >> {log}\ncase "$1" in -*) exit 1;; esac\nexec "$@"\n')
    for tool in folder.iterdir():
        tool.chmod(0o755)
    return log


def _run_setup(bin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("DEBIAN_FRONTEND", None)  # CI sets it; setup.sh must pass it to apt-get by itself
    return subprocess.run(["bash", str(REPO / "scripts/setup.sh"), *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("uid", [0, 1000], ids=["as root", "as a user"])
def test_setup_asks_for_every_missing_package_as_root_or_through_sudo(tmp_path, uid):
    wanted = _setup_packages("test")
    installed = set(wanted[::2])  # every other package is already there
    log = _stand_ins(tmp_path / "bin", uid, installed)
    result = _run_setup(tmp_path / "bin", "test", "--system-only")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    installs = [c for c in calls if c.startswith("apt-get") and " install " in c]
    assert len(installs) == 1, calls
    asked = installs[0].split("--no-install-recommends", 1)[1].split()
    assert sorted(asked) == sorted(p for p in wanted if p not in installed)
    assert "DEBIAN_FRONTEND=noninteractive" in installs[0], "jackd2's question would stop an unattended install"
    assert any(c.startswith("apt-get") and " update" in c for c in calls)
    assert not any(" -E" in c or c.startswith("-E") for c in calls), calls
    through_sudo = [c for c in calls if c.startswith("sudo ")]
    if uid == 0:
        assert not through_sudo, "root needs no sudo"
    else:
        assert len(through_sudo) == 2 and all("apt-get" in c for c in through_sudo), calls


def test_setup_on_a_machine_with_no_python_installs_it_first(tmp_path):
    """A minimal image has no python3 at all: setup installs it (with venv and pip) before anything that
    needs it, through sudo as a user, then goes on. Here apt-get's stand-in "installs" it by linking the
    Python running these tests, and the PATH holds the system's tools but no Python."""
    system = tmp_path / "system"
    system.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for tool in Path(folder).iterdir():
            if not tool.name.startswith("python") and not (system / tool.name).exists():
                (system / tool.name).symlink_to(tool)
    bin_dir = tmp_path / "bin"
    log = _stand_ins(bin_dir, 1000, set(_setup_packages("test")), python_from_apt=sys.executable)
    env = {"PATH": f"{bin_dir}:{system}", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    assert subprocess.run(["bash", "-c", "command -v python3"], env=env).returncode != 0, "no Python on the PATH"
    result = subprocess.run(["bash", str(REPO / "scripts/setup.sh"), "test", "--system-only"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    installs = [c for c in log.read_text().splitlines() if c.startswith("apt-get") and " install " in c]
    assert len(installs) == 1, installs  # every other package was there already
    asked = installs[0].split("--no-install-recommends", 1)[1].split()
    assert sorted(asked) == ["python3", "python3-pip", "python3-venv"]
    assert (bin_dir / "python3").exists(), "installed"


def test_setup_installs_nothing_when_every_package_is_there(tmp_path):
    log = _stand_ins(tmp_path / "bin", 0, set(_setup_packages("test")))
    result = _run_setup(tmp_path / "bin", "test", "--system-only")
    assert result.returncode == 0, result.stderr
    assert not log.exists() or not log.read_text(), "nothing to install: apt-get is not called"


def test_setup_says_in_one_line_when_the_package_servers_cannot_be_reached(tmp_path):
    _stand_ins(tmp_path / "bin", 0, set(), apt_fails=True)
    result = _run_setup(tmp_path / "bin", "run", "--system-only")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no network" in lines[0] and "libportaudio2" in lines[0], result.stderr


def _offline_env(bin_dir: Path) -> dict:
    """No package index (a port nothing listens on), no local wheels, apt-get refusing."""
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PIP_CONFIG_FILE": os.devnull,
           "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "",
           "PIP_RETRIES": "0", "PIP_DEFAULT_TIMEOUT": "5", "SDL_VIDEODRIVER": "offscreen", "LANGUAGE": "en"}
    env.pop("DISPLAY", None)
    return env


@pytest.mark.gl
def test_start_after_the_first_setup_starts_the_show_with_no_network(tmp_path):
    """CI's test command has just set up this clone; the run command must now need nothing more."""
    if not (REPO / ".venv/.setup-stamp").exists():
        pytest.skip("this clone was not set up by scripts/setup.sh")
    _stand_ins(tmp_path / "bin", 0, set(_setup_packages("test")), apt_fails=True)
    health = tmp_path / "health.json"
    result = subprocess.run(["bash", str(REPO / "scripts/start.sh"), "--seconds", "2", "--size", "320x180",
                             "--health-file", str(health)],
                            capture_output=True, text=True, env=_offline_env(tmp_path / "bin"), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "setup:" not in result.stdout + result.stderr, "nothing was installed"
    assert '"frames"' in health.read_text(), "the show drew frames"


def test_a_first_setup_with_no_network_fails_in_one_clear_line(tmp_path):
    """A fresh clone at a venue with no network: pip cannot reach the index; say so, once."""
    clone = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "pyproject.toml", "README.md", "scripts", "dessins_de_planche"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    _stand_ins(tmp_path / "bin", 0, set(_setup_packages("run")), apt_fails=True)
    result = subprocess.run(["bash", str(clone / "scripts/start.sh"), "--seconds", "1"], capture_output=True,
                            text=True, env=_offline_env(tmp_path / "bin"), timeout=300)
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "needs the network" in errors[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (clone / ".venv/.setup-stamp").exists(), "a failed install is not recorded as done"


@pytest.fixture
def without_rtmidi(tmp_path):
    """An interpreter where `import rtmidi` fails, as on a Python with no python-rtmidi build."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "rtmidi.py").write_text("raise ImportError('No module named rtmidi')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), str(REPO)]), "LANGUAGE": "en"}


def test_without_python_rtmidi_devices_says_midi_is_unavailable(without_rtmidi):
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "devices"], capture_output=True,
                            text=True, env=without_rtmidi, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "MIDI is unavailable: python-rtmidi is not installed" in result.stdout
    assert "Audio inputs" in result.stdout
    assert "Traceback" not in result.stderr


def test_without_python_rtmidi_a_midi_port_is_one_line_and_audio_still_runs(without_rtmidi, tmp_path):
    result = subprocess.run([sys.executable, "-m", "dessins_de_planche", "run", "--midi-port", "virtual",
                             "--seconds", "1"], capture_output=True, text=True, env=without_rtmidi, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "dessins-de-planche run: MIDI is unavailable: python-rtmidi is not installed for this Python "
        "(scripts/setup.sh builds it, or: pip install 'dessins-de-planche[midi]')"]
    health = tmp_path / "health.json"
    shown = subprocess.run([sys.executable, "-m", "dessins_de_planche", "run", "--seconds", "2", "--size", "320x180",
                            "--health-file", str(health)], capture_output=True, text=True,
                           env={**without_rtmidi, "SDL_VIDEODRIVER": "offscreen"}, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert '"frames"' in health.read_text(), "the demo drew frames without MIDI"
