"""GLSL from `shaders/*.glsl`: a tiny `#include "name.glsl"`, errors that name file:line, programs compiled once.

Why our own include: GLSL 3.3 has none, and the driver's error lines count the
expanded source; we keep a map back to (file, line) so a designer's typo is
reported where they typed it.
"""

from __future__ import annotations

import re
from pathlib import Path

import moderngl

from dessins_de_planche.paths import shaders_dir

_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$')
# Mesa: "0:12(7): error: ...", NVIDIA: "0(12) : error ...", ANGLE/others: "ERROR: 0:12: ..."
_DRIVER_LINE = re.compile(r"(?:^|\s)\d+[:(](\d+)[):(]")


class ShaderError(RuntimeError):
    """A shader that does not compile or link; the message names file:line."""


def expand(name: str, folder: Path | None = None, _stack: tuple[str, ...] = ()) -> tuple[str, list[tuple[str, int]]]:
    """The source of `name` with includes expanded, and for each output line its (file, line)."""
    folder = folder or shaders_dir()
    path = folder / name
    if name in _stack:
        raise ShaderError(f"{path}: includes itself (through {' -> '.join(_stack)})")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        where = f"{_stack[-1]}: " if _stack else ""
        raise ShaderError(f"{where}cannot read shader {path} ({error.strerror or error})") from None
    out: list[str] = []
    origin: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _INCLUDE.match(line)
        if match:
            sub_text, sub_origin = expand(match.group(1), folder, _stack + (name,))
            out.extend(sub_text.splitlines())
            origin.extend(sub_origin)
        else:
            out.append(line)
            origin.append((name, number))
    return "\n".join(out) + "\n", origin


def _with_defines(source: str, defines: dict[str, object] | None) -> tuple[str, int]:
    """Insert `#define`s after the #version line; returns the source and how many lines were added."""
    if not defines:
        return source, 0
    head, _, rest = source.partition("\n")
    lines = [f"#define {key} {value}" for key, value in defines.items()]
    return head + "\n" + "\n".join(lines) + "\n" + rest, len(lines)


def _explain(error: Exception, origins: dict[str, list[tuple[str, int]]], shift: int, folder: Path) -> str:
    """Rewrite driver line numbers into file:line of the shader files."""
    text = str(error)
    stage_origin = next(iter(origins.values()))
    for stage, origin in origins.items():
        if stage in text:
            stage_origin = origin
    messages = []
    for raw in text.splitlines():
        match = _DRIVER_LINE.search(raw)
        if match and "error" in raw.lower():
            index = int(match.group(1)) - 1 - shift
            if 0 <= index < len(stage_origin):
                file, line = stage_origin[index]
                messages.append(f"{folder / file}:{line}: {raw[match.end():].strip(' :')}")
    return "\n".join(messages) if messages else text


class ProgramCache:
    """Programs by (vertex, fragment, defines): each compiled once, so preset switches never stall."""

    def __init__(self, ctx: moderngl.Context, folder: Path | None = None):
        self.ctx = ctx
        self.folder = folder
        self._programs: dict[tuple, moderngl.Program] = {}

    def get(self, vertex: str, fragment: str, defines: dict[str, object] | None = None) -> moderngl.Program:
        key = (vertex, fragment, tuple(sorted((defines or {}).items())))
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = self.compile(vertex, fragment, defines)
        return program

    def compile(self, vertex: str, fragment: str, defines=None) -> moderngl.Program:
        vs, vs_origin = expand(vertex, self.folder)
        fs, fs_origin = expand(fragment, self.folder)
        vs, shift = _with_defines(vs, defines)
        fs, _ = _with_defines(fs, defines)
        try:
            return self.ctx.program(vertex_shader=vs, fragment_shader=fs)
        except Exception as error:  # moderngl raises a plain Error carrying the driver's log
            origins = {"vertex_shader": vs_origin, "fragment_shader": fs_origin}
            raise ShaderError(_explain(error, origins, shift, self.folder or shaders_dir())) from None

    def release(self) -> None:
        for program in self._programs.values():
            program.release()
        self._programs.clear()
