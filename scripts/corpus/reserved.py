"""Sources kept for independent scoring: the corpus never reads them, in any split.

Five Debian packages are reserved: a detector scored on them has never heard them. Every path
the corpus opens for a sample or a soundfont goes through `check(path)`, which refuses one that
a reserved package installs — by a list of their install paths (symlinks resolved, so
`default-GM.sf2` pointing at FluidR3 is refused too) and, where `dpkg` is at hand, by asking
it which package owns the file.

`hydrogen-data` installs its kits into the same folder as `hydrogen-drumkits`
(/usr/share/hydrogen/data/drumkits), so for that folder only the kits that `hydrogen-drumkits`
ships are allowed (`HYDROGEN_DRUMKITS`); everything else under /usr/share/hydrogen is refused.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

RESERVED_PACKAGES = ("sonic-pi-samples", "hydrogen-data", "lmms-common", "fluid-soundfont-gm",
                     "fluid-soundfont-gs")

# install paths of the reserved packages (files or folders; a path under a folder is refused)
RESERVED_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # fluid-soundfont-gm
    "/usr/share/sounds/sf2/FluidR3_GS.sf2",  # fluid-soundfont-gs
    "/usr/share/sounds/sf3/FluidR3_GM.sf3",
    "/usr/share/sounds/sf3/FluidR3_GS.sf3",
    "/usr/share/doc/fluid-soundfont-gm",
    "/usr/share/doc/fluid-soundfont-gs",
    "/usr/share/sonic-pi",  # sonic-pi-samples
    "/usr/lib/sonic-pi",
    "/usr/share/doc/sonic-pi-samples",
    "/usr/share/lmms",  # lmms-common (samples, presets, projects)
    "/usr/lib/lmms",
    "/usr/share/doc/lmms-common",
    "/usr/share/doc/hydrogen-data",
)

HYDROGEN_ROOT = "/usr/share/hydrogen"
HYDROGEN_KITS = "/usr/share/hydrogen/data/drumkits"
# the kits that the allowed package `hydrogen-drumkits` installs (its debian/copyright)
HYDROGEN_DRUMKITS = ("Audiophob", "BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit",
                     "ForzeeStereo", "Gimme A Hand 1.0", "HardElectro1", "Millo-Drums_v.1",
                     "Millo_MultiLayered2", "Millo_MultiLayered3", "The Black Pearl 1.0", "VariBreaks",
                     "circAfrique v4", "rumpf_kit_z01_h2", "belofilms_GuitarStrums")


class ReservedSource(RuntimeError):
    """A sample or soundfont that a reserved package installs: never read it."""


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@functools.lru_cache(maxsize=4096)
def _dpkg_owner(path: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    done = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return done.stdout.split(":", 1)[0].strip()


def reason(path) -> str | None:
    """Why `path` may not be read (a reserved package owns it), or None when it may."""
    given = os.path.abspath(os.fspath(path))
    for candidate in {given, os.path.realpath(given)}:
        for folder in RESERVED_PATHS:
            if _under(candidate, folder):
                return f"{path}: installed by a reserved package ({folder})"
        if _under(candidate, HYDROGEN_ROOT):
            inside = os.path.relpath(candidate, HYDROGEN_KITS)
            kit = inside.split(os.sep, 1)[0]
            if inside.startswith("..") or kit not in HYDROGEN_DRUMKITS:
                return f"{path}: under {HYDROGEN_ROOT} but not a hydrogen-drumkits kit (hydrogen-data is reserved)"
        owners = _dpkg_owner(candidate) if os.path.exists(candidate) else None
        if owners and any(owner.strip() in RESERVED_PACKAGES for owner in owners.split(",")):
            return f"{path}: dpkg says {owners} installs it, a reserved package"
    return None


def check(path):
    """`path` itself, or ReservedSource if a reserved package installs it."""
    why = reason(path)
    if why:
        raise ReservedSource(why + " — kept for independent scoring, never read by the corpus")
    return path
