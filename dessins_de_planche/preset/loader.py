"""Reading preset files: TOML -> validated `Preset`, or one clear line saying what is wrong where.

A broken preset never stops the show: `load_gallery` skips it (and reports it),
and `IDLE_PRESET` is what runs when nothing valid loads.
"""

from __future__ import annotations

import difflib
import logging
import tomllib
import types
import typing
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ValidationError

from dessins_de_planche.errors import UserError
from dessins_de_planche.preset.files import OutsideFolders, resolve_shader
from dessins_de_planche.preset.layer_kinds import LAYER_KINDS
from dessins_de_planche.preset.model import Preset

log = logging.getLogger(__name__)


class PresetError(UserError, ValueError):
    """A preset that cannot be used; the message names the file, the key path and what is wrong."""

    def __init__(self, message: str, path: str | Path | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.problems = problems or [message]


def load_preset(path: str | Path) -> Preset:
    path = Path(path)
    if path.exists() and not path.is_file():  # reading a pipe would wait forever; a folder cannot be read
        raise PresetError(f"{path}: not a regular file (a folder, pipe or device); a preset is a .toml text file",
                          path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PresetError(f"{path}: cannot read the preset ({error.strerror or error})", path) from None
    return parse_preset(raw, path)


def parse_preset(raw: bytes, path: Path) -> Preset:
    """Validate the bytes of one preset file; `path` names it in messages (and gives a default name)."""
    if not raw.strip():
        raise PresetError(f"{path}: empty file; a preset needs at least: format = 1 and [[layers]]", path)
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise PresetError(f"{path}:{line}: contains a NUL byte; a preset is plain UTF-8 text (is this a binary file?)", path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise PresetError(f"{path}:{line}: not UTF-8 text (byte {error.start}); save the file as UTF-8", path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PresetError(_toml_message(path, text, error), path) from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise PresetError(f"{path}: TOML nested too deeply (arrays or tables inside each other); "
                          "a preset needs only a few levels", path) from None
    data.setdefault("name", path.stem)
    try:
        preset = Preset.model_validate(data)
    except ValidationError as error:
        problems = _problems(error)
        shown = "; ".join(problems[:4]) + (f" (and {len(problems) - 4} more)" if len(problems) > 4 else "")
        raise PresetError(f"{path}: {shown}", path, problems) from None
    except RecursionError:  # a document nested thousands deep: pydantic gives up, so do we, politely
        raise PresetError(f"{path}: nested too deeply to be a preset", path) from None
    except Exception as error:  # a check that met something it did not expect: refuse the file, name it
        raise PresetError(f"{path}: cannot be used as a preset ({type(error).__name__}: {error})", path) from None
    preset.set_folder(path.parent)
    _check_files(preset, path)
    return preset


def _check_files(preset: Preset, path: Path) -> None:
    """Every file a layer names must be inside the preset's folder or the shader folder."""
    for index, layer in enumerate(preset.layers):
        name = getattr(layer, "file", None)
        if name is None:
            continue
        try:
            resolve_shader(name, path.parent)
        except OutsideFolders as error:
            key = f"layers[{index}].file"
            raise PresetError(f"{path}: {key}: {error}", path, [f"{key}: {error}"]) from None


def load_gallery(dirs: str | Path | Iterable[str | Path], errors: list[PresetError] | None = None) -> dict[str, Preset]:
    """Every valid `*.toml` in the folders, by preset name; later folders override earlier names.

    Broken files are skipped: each is logged as a warning and appended to `errors` when given.
    """
    if isinstance(dirs, (str, Path)):
        dirs = [dirs]
    gallery: dict[str, Preset] = {}
    for folder in dirs:
        for file in sorted(Path(folder).glob("*.toml")):
            try:
                preset = load_preset(file)
            except PresetError as error:
                log.warning("skipping preset: %s", error)
                if errors is not None:
                    errors.append(error)
                continue
            gallery[preset.name] = preset
    return gallery


def preset_by_name(name_or_path: str | Path, dirs: Iterable[str | Path] | None = None) -> Preset:
    """A gallery preset by name, or a preset file by path; the error lists the names there are."""
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return load_preset(text)
    if dirs is None:
        from dessins_de_planche.paths import presets_dir

        dirs = [presets_dir()]
    gallery = load_gallery(dirs)
    if text in gallery:
        return gallery[text]
    hint = difflib.get_close_matches(text, gallery, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    names = ", ".join(sorted(gallery)) or "(none)"
    raise PresetError(f"no preset named {text!r}{extra} The gallery has: {names}; or give a path to a .toml file")


# ---- messages ------------------------------------------------------------------------------

def _toml_message(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
    message = str(error)
    line = getattr(error, "lineno", None)
    if line is None and "(at line " in message:  # Python 3.11 keeps the place only in the text
        place = message.rsplit("(at line ", 1)[1].rstrip(")")
        line = int(place.split(",")[0])
    message = message.split(" (at line ")[0].split(" (at end of document")[0]
    if message.startswith("Cannot overwrite a value") or message.startswith("Cannot declare"):
        message = "this key or table is already set above (repeated key)"
    if line is None:
        return f"{path}: TOML syntax: {message}"
    lines = text.splitlines()
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    shown = shown.replace("\x00", "\\x00")
    return f"{path}:{line}: TOML syntax: {message}" + (f" — at `{shown[:60]}`" if shown else "")


_TYPE_SEGMENTS = {"str", "int", "float", "bool", "list", "dict", "tuple", "none"}


def _key_path(loc: tuple) -> tuple[str, list]:
    """Pydantic's location -> 'layers[1].map.size.range[0]', without union member names."""
    kept: list = []
    for i, part in enumerate(loc):
        if isinstance(part, str):
            after_layer_index = i >= 2 and loc[i - 2] == "layers" and isinstance(loc[i - 1], int)
            if (after_layer_index and part in LAYER_KINDS) or "[" in part or part.lower() in _TYPE_SEGMENTS:
                continue
        kept.append(part)
    text = ""
    for part in kept:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text, kept


def _problems(error: ValidationError) -> list[str]:
    chosen: dict[str, dict] = {}
    for item in error.errors():
        key, _ = _key_path(item["loc"])
        previous = chosen.get(key)
        # of a union's several complaints keep the specific one, not "should be a valid list"
        if previous is None or (previous["type"].endswith("_type") and not item["type"].endswith("_type")):
            chosen[key] = item
    # a union member's "should be a valid string" beside a complaint deeper inside says nothing
    for key in [k for k, item in chosen.items() if item["type"].endswith("_type")]:
        if any(other.startswith((key + "[", key + ".")) for other in chosen):
            del chosen[key]
    return [_describe(key, item) for key, item in chosen.items()]


def _describe(key: str, item: dict) -> str:
    kind, message, value = item["type"], item["msg"], item.get("input")
    where = key or "(top level)"
    if kind == "extra_forbidden":
        name = str(item["loc"][-1])
        known = _known_keys(item["loc"][:-1])
        hint = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        parent = _key_path(item["loc"][:-1])[0] or "the top level"
        suggestion = f"; did you mean {hint[0]!r}?" if hint else (f"; known keys: {', '.join(known)}" if known else "")
        return f"{where}: unknown key {name!r} in {parent}{suggestion}"
    if kind == "missing":
        return f"{where}: missing; this key is required"
    if kind == "union_tag_invalid":
        tag = value.get("kind") if isinstance(value, dict) else value
        hint = difflib.get_close_matches(str(tag), LAYER_KINDS, n=1)
        extra = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"{where}.kind: unknown layer kind {tag!r}{extra} (layer kinds: {', '.join(LAYER_KINDS)})"
    if kind == "union_tag_not_found":
        return f"{where}.kind: missing; say which layer kind (one of: {', '.join(LAYER_KINDS)})"
    if kind == "literal_error":
        return f"{where}: {message[0].lower()}{message[1:]} (got {value!r})"
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    got = f" (got {value!r})" if isinstance(value, (int, float, str, bool)) and kind != "value_error" else ""
    return f"{where}: {message[0].lower()}{message[1:]}{got}"


def _known_keys(loc: tuple) -> list[str]:
    """The keys the model at `loc` accepts (for "did you mean")."""
    model: typing.Any = Preset
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(part, str) and part in LAYER_KINDS and model is None:
            model = LAYER_KINDS[part]
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _model_in(annotation):
    """The BaseModel inside Optional[...] / list[...] / Annotated[...]; None for a layer union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(args[0])
    if origin is list:
        return _model_in(args[0])
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


# What shows when no preset file loads: quiet grey dots around a clock face, heel and toe apart.
IDLE_PRESET = Preset.model_validate(
    {
        "format": 1,
        "name": "idle",
        "description": "Built in: shown when no preset file could be loaded.",
        "canvas": {"background": "#0a0a0c", "decay": 0.25},
        "layers": [
            {
                "kind": "marks",
                "palette": "mono",
                "size": 0.025,
                "map": {
                    "angle": {"from": "bar_phase"},
                    "radius": {"by_kind": {"heel": 0.45, "toe": 0.6, "unknown": 0.52}},
                    "color": {"from": "kind"},
                },
            }
        ],
    }
)
