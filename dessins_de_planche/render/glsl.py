"""GLSL from `shaders/*.glsl`: a tiny `#include "name.glsl"`, errors that name file:line, programs compiled once.

Why our own include: GLSL 3.3 has none, and the driver's error lines count the
expanded source; we keep a map back to (file, line) so a designer's typo is
reported where they typed it, with the line itself and a "did you mean" when the
driver names an unknown identifier. Includes are looked up beside the including
file, then in the shader folder, and never outside those folders. A preset's shader
is untrusted: include paths are resolved before reading, each file is included
once, and the graph and the source are bounded (see `_Expansion`).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import moderngl

from dessins_de_planche.errors import UserError
from dessins_de_planche.paths import shaders_dir

_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$')
# Mesa: "0:12(7): error: ...", NVIDIA: "0(12) : error ...", ANGLE/others: "ERROR: 0:12: ..."
_DRIVER_LINE = re.compile(r"(?:^|\s)\d+[:(](\d+)\)?(?:\(\d+\))?\s*:?")
# An unknown name, as each driver says it. Mesa: "`u_levle' undeclared"; NVIDIA: 'undefined
# variable "u_levle"'; AMD/ANGLE: "'u_levle' : undeclared identifier"; others: "undeclared identifier 'x'".
_UNKNOWN_NAME = re.compile(r"[`'\"](?P<a>[A-Za-z_]\w*)['\"]? :? ?(?:undeclared|was not declared)"
                           r"|undeclared identifier [`'\"]?(?P<b>[A-Za-z_]\w*)"
                           r"|undefined (?:variable|function) [`'\"]?(?P<c>[A-Za-z_]\w*)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAIN = re.compile(r"\bvoid\s+main\s*\(")
_GLSL_WORDS = ("sin cos tan asin acos atan pow exp log exp2 log2 sqrt inversesqrt abs sign floor ceil fract mod min "
               "max clamp mix step smoothstep length distance dot cross normalize reflect texture texelFetch vec2 vec3 "
               "vec4 float int bool mat2 mat3 mat4 sampler2D uniform gl_FragCoord").split()

VERTEX = "fullscreen.vert.glsl"  # the vertex stage of every full-screen pass


class ShaderError(UserError, RuntimeError):
    """A shader that does not compile or link; the message names file:line and quotes the line."""


MAX_FILE_BYTES = 256 * 1024  # one shader file; the gallery's largest is a few kilobytes
MAX_SOURCE_BYTES = 512 * 1024  # one stage with its includes expanded
MAX_INCLUDE_FILES = 64  # distinct files one stage may include
MAX_INCLUDE_DEPTH = 16  # includes inside includes


def _locate(name: str, folder: Path, search: tuple[Path, ...], stack: tuple[str, ...]) -> Path:
    """The include's file, resolved (`sub/../x.glsl` is `x.glsl`), inside one of the folders."""
    if Path(name).is_absolute():
        if not stack:
            return Path(name).resolve()
        raise ShaderError(f"{stack[-1]}: #include \"{name}\": name a file beside it or in the shader folder, "
                          "not an absolute path")
    try:
        for root in (folder, *search):
            candidate = (root / name).resolve()
            try:
                candidate.relative_to(root.resolve())
            except ValueError:
                raise ShaderError(f"{stack[-1] if stack else name}: #include \"{name}\" is outside the shader "
                                  f"folders ({', '.join(str(r) for r in (folder, *search))})") from None
            if candidate.is_file() or not stack:
                return candidate
    except (OSError, RuntimeError) as error:  # a name too long, a symlink loop
        raise ShaderError(f"{stack[-1] if stack else name}: #include \"{name[:80]}\" cannot be looked up "
                          f"({getattr(error, 'strerror', None) or error})") from None
    return (folder / name).resolve()


class _Expansion:
    """One stage's include graph, walked once: every path resolved before it is read, each file
    read and expanded at most once (a second `#include` of it is skipped, as with `#pragma once`),
    so a diamond costs one copy and an include "bomb" (each file including the next twice) grows
    by one file per level, not by doubling; a cycle, and a graph or source over the limits above,
    is an error that names the file."""

    def __init__(self, search: tuple[Path, ...]):
        self.search = search
        self.seen: set[str] = set()
        self.size = 0

    def expand(self, name: str, folder: Path, stack: tuple[str, ...],
               at: int = 0) -> tuple[list[str], list[tuple[str, int]]]:
        path = _locate(name, folder, self.search, stack)
        key = str(path)
        if key in stack:
            chain = " -> ".join((*stack, key))
            raise ShaderError(f"{stack[-1]}: #include \"{name}\" is {path.name} itself, a cycle ({chain})")
        if key in self.seen:
            return [f"// #include \"{name}\": already included above"], [(stack[-1], at)]
        where = f"{stack[-1]}: " if stack else ""
        if len(stack) >= MAX_INCLUDE_DEPTH:
            raise ShaderError(f"{where}#include \"{name}\" nests more than {MAX_INCLUDE_DEPTH} levels deep")
        if len(self.seen) >= MAX_INCLUDE_FILES:
            raise ShaderError(f"{where}#include \"{name}\": more than {MAX_INCLUDE_FILES} files in one shader")
        self.seen.add(key)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ShaderError(f"{where}shader {path} is {path.stat().st_size // 1024} KiB; "
                                  f"a shader file is at most {MAX_FILE_BYTES // 1024} KiB")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or error
            raise ShaderError(f"{where}cannot read shader {path} ({reason})") from None
        self.size += len(text)
        if self.size > MAX_SOURCE_BYTES:
            raise ShaderError(f"{where}shader {path}: with its includes the source passes "
                              f"{MAX_SOURCE_BYTES // 1024} KiB")
        out: list[str] = []
        origin: list[tuple[str, int]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            match = _INCLUDE.match(line) if "#include" in line else None
            if match:
                sub_text, sub_origin = self.expand(match.group(1), path.parent, stack + (key,), number)
                out.extend(sub_text)
                origin.extend(sub_origin)
            else:
                out.append(line)
                origin.append((key, number))
        return out, origin


def expand(name: str, folder: Path | None = None, search: tuple[Path, ...] = ()) -> tuple[str, list[tuple[str, int]]]:
    """The source of `name` with includes expanded, and for each output line its (file path, line)."""
    folder = folder or shaders_dir()
    search = tuple(search) or ((shaders_dir(),) if folder != shaders_dir() else ())
    out, origin = _Expansion(search).expand(name, folder, ())
    return "\n".join(out) + "\n", origin


def _with_defines(source: str, defines: dict[str, object] | None) -> tuple[str, int]:
    """Insert `#define`s after the #version line; returns the source and how many lines were added."""
    if not defines:
        return source, 0
    head, _, rest = source.partition("\n")
    lines = [f"#define {key} {value}" for key, value in defines.items()]
    return head + "\n" + "\n".join(lines) + "\n" + rest, len(lines)


def _hint(raw: str, source: str) -> str:
    match = _UNKNOWN_NAME.search(raw)
    if not match:
        return ""
    name = match.group("a") or match.group("b") or match.group("c")
    known = set(_WORD.findall(source)) | set(_GLSL_WORDS)
    known.discard(name)
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _explain(error: Exception, origins: dict[str, list[tuple[str, int]]], shift: int,
             sources: dict[str, str], program_file: str = "") -> str:
    """Rewrite driver line numbers into file:line of the shader files, quoting each line."""
    text = str(error)
    stage = next(iter(origins))
    for name in origins:
        if name in text:
            stage = name
    stage_origin = origins[stage]
    lines = sources[stage].splitlines()
    messages = []
    for raw in text.splitlines():
        match = _DRIVER_LINE.search(raw)
        if match and "error" in raw.lower():
            index = int(match.group(1)) - 1 - shift
            if 0 <= index < len(stage_origin):
                file, line = stage_origin[index]
                quoted = lines[index + shift].strip() if 0 <= index + shift < len(lines) else ""
                said = raw[match.end():].strip(" :")
                messages.append(f"{file}:{line}: {said}{_hint(said, sources[stage])}"
                                + (f"\n    {line} | {quoted}" if quoted else ""))
    if messages:
        return "\n".join(messages)
    where = program_file or (stage_origin[-1][0] if stage_origin else stage)  # no line to point at: name the program's file
    return f"{where}: {text.strip()}"


class ProgramCache:
    """Programs by (vertex, fragment, defines): each compiled once, so preset switches never stall.

    `files(key)` says which files a program was built from, so a live edit of any of
    them (an include too) can rebuild just the programs that use it.
    """

    def __init__(self, ctx: moderngl.Context, folder: Path | None = None):
        self.ctx = ctx
        self.folder = folder
        self._programs: dict[tuple, moderngl.Program] = {}
        self._files: dict[tuple, set[Path]] = {}

    def get(self, vertex: str, fragment: str, defines: dict[str, object] | None = None) -> moderngl.Program:
        key = (vertex, str(fragment), tuple(sorted((defines or {}).items())))
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = self.compile(vertex, fragment, defines, key)
        return program

    def get_file(self, fragment: Path, defines: dict[str, object] | None = None) -> moderngl.Program:
        """A full-screen pass whose fragment shader is a designer's file (an absolute path)."""
        return self.get(VERTEX, str(Path(fragment).resolve()), defines)

    def compile(self, vertex: str, fragment: str, defines=None, key=None) -> moderngl.Program:
        folder = self.folder or shaders_dir()
        search = (shaders_dir(),) if self.folder is not None and self.folder != shaders_dir() else ()
        vs, vs_origin = expand(vertex, folder, search=search)
        if Path(fragment).is_absolute():
            fs, fs_origin = expand(fragment, Path(fragment).parent, search=(folder,))
        else:
            fs, fs_origin = expand(fragment, folder, search=search)
        vs, shift = _with_defines(vs, defines)
        fs, _ = _with_defines(fs, defines)
        if key is not None:
            self._files[key] = {Path(f) for f, _ in vs_origin + fs_origin}
        for source, name in ((vs, vertex), (fs, fragment)):
            if not _MAIN.search(source):  # some drivers link a stage with no main and draw garbage
                state = "is empty" if not source.strip() else "has no `void main()`"
                raise ShaderError(f"{name}: the shader {state} (saved half-way?)")
        try:
            return self.ctx.program(vertex_shader=vs, fragment_shader=fs)
        except Exception as error:  # moderngl raises a plain Error carrying the driver's log
            origins = {"fragment_shader": fs_origin, "vertex_shader": vs_origin}
            sources = {"fragment_shader": fs, "vertex_shader": vs}
            raise ShaderError(_explain(error, origins, shift, sources, str(fragment))) from None

    def files(self) -> set[Path]:
        """Every file some cached program was built from."""
        return set().union(*self._files.values()) if self._files else set()

    def forget(self, changed) -> dict:
        """Drop the designer-file programs built from any of `changed`, so the next `get` compiles
        the new source; returns what was dropped, for `restore` if the new source does not compile.
        The built-in programs (marks, canvas) are compiled once per run."""
        changed = {Path(p).resolve() for p in changed}
        dropped = {}
        for key, files in list(self._files.items()):
            if Path(key[1]).is_absolute() and {f.resolve() for f in files} & changed:
                dropped[key] = (self._programs.pop(key, None), self._files.pop(key))
        return dropped

    def restore(self, dropped: dict) -> None:
        """Put back programs `forget` dropped (the new source failed): the running look keeps them."""
        for key, (program, files) in dropped.items():
            if program is not None and key not in self._programs:
                self._programs[key], self._files[key] = program, files

    def release(self) -> None:
        for program in self._programs.values():
            program.release()
        self._programs.clear()
        self._files.clear()
