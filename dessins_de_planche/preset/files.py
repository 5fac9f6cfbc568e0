"""Which files a preset may read: only inside its own folder and the shader folders.

A preset is a file someone may hand you; it must not reach `/etc/passwd` or a
home folder through `file = "../../..."`. Names are resolved (links followed)
and must land inside an allowed root, or the preset is refused with a message
that says where files may live.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from dessins_de_planche.paths import shaders_dir


class OutsideFolders(ValueError):
    """A file name that points outside the preset and shader folders, or to nothing."""


def shader_roots(preset_folder: str | Path | None) -> list[Path]:
    roots = [Path(preset_folder)] if preset_folder is not None else []
    roots.append(shaders_dir())
    return roots


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def resolve_shader(name: str, preset_folder: str | Path | None) -> Path:
    """The shader file `name` beside the preset, else in the shader folder; never outside them."""
    roots = shader_roots(preset_folder)
    where = " or ".join(str(r) for r in roots)
    if "\x00" in name or Path(name).is_absolute() or Path(name).drive:
        raise OutsideFolders(f"{name!r} is an absolute path; name a shader file inside {where}")
    for root in roots:
        candidate = root / name
        if not _inside(candidate, root):
            raise OutsideFolders(f"{name!r} is outside the preset and shader folders; "
                                 f"a preset may only read files inside {where}")
        if candidate.is_file():
            return candidate.resolve()
    known = sorted({p.name for root in roots if root.is_dir() for p in root.glob("*.glsl")})
    hint = difflib.get_close_matches(Path(name).name, known, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise OutsideFolders(f"no shader file {name!r} in {where}{extra}")
