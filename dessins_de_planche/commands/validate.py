"""`validate`: check preset files (and compile their shaders headless), for editors and CI."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

NAME = "validate"
ORDER = 60
HELP = "check preset files and compile their shaders"
DESCRIPTION = ("Check preset files: the TOML, every key and value, the files they name, and their shaders "
               "(compiled headless through EGL, and a few frames drawn). Exits non-zero if any fails.")

log = logging.getLogger("dessins_de_planche")
PROBE_SIZE = (1280, 720)  # a preset's own shaders are timed as at this size (see render/probe.py)


def add_arguments(parser) -> None:
    parser.add_argument("files", nargs="*", metavar="PRESET.toml",
                        help="preset files or folders, or preset names (default: the gallery and your presets "
                             "folder)")
    parser.add_argument("--no-gl", action="store_true", help="check the files only, do not compile shaders")


def _files(names) -> list[Path]:
    from dessins_de_planche.preset.library import preset_folders

    if not names:
        names = [f for f in preset_folders() if f.is_dir()]
    files: list[Path] = []
    for name in map(Path, names):
        files += sorted(name.glob("*.toml")) if name.is_dir() else [_in_library(name, preset_folders())]
    return files


def _in_library(name: Path, folders) -> Path:
    """A preset named as `run --preset` names it (`mylook`, `mylook.toml`) when no such file is here."""
    if name.exists() or len(name.parts) > 1:
        return name
    wanted = name.name if name.suffix == ".toml" else f"{name.name}.toml"
    for folder in folders:
        if (folder / wanted).is_file():
            return folder / wanted
    return name


def main(args) -> int:
    from dessins_de_planche.preset.loader import PresetError, load_preset

    files = _files(args.files)
    if not files:
        print("no preset files to check", file=sys.stderr)
        return 1
    presets, failed = [], 0
    for path in files:
        try:
            presets.append((path, load_preset(path)))
        except PresetError as error:
            failed += 1
            print(f"FAIL {error}", file=sys.stderr)
        except Exception as error:  # whatever one file raises, the others are still checked
            failed += 1
            print(f"FAIL {path}: cannot be checked ({type(error).__name__}: {error})", file=sys.stderr)
    drawn = {}  # path -> ms a frame at COST_SIZE here
    if presets and not args.no_gl:
        failed += _compile(presets, drawn)
    for path, preset in presets:
        if path in drawn:
            print(f"ok   {path} ({preset.name}; {_cost(drawn[path])})")
        elif args.no_gl:
            print(f"ok   {path} ({preset.name}, shaders not compiled)")
    print(f"{len(files) - failed} of {len(files)} presets are valid", file=sys.stderr)
    return 1 if failed else 0


def _cost(ms: float) -> str:
    from dessins_de_planche.render.probe import COST_SIZE

    fits = "a 60 fps frame" if ms <= 1000 / 60 else "over a 60 fps frame: the show lowers its render scale"
    return f"{ms:.1f} ms a frame at {COST_SIZE[0]}×{COST_SIZE[1]} on this machine, {fits}"


def _compile(presets, drawn: dict) -> int:
    """Build every preset's scene in one headless context and draw a few frames of taps; count failures."""
    import numpy as np

    from dessins_de_planche.render.glsl import ShaderError
    from dessins_de_planche.render.probe import check_frame_time, frame_cost_ms
    from dessins_de_planche.render.scene import Scene

    try:
        import moderngl

        ctx = moderngl.create_standalone_context(backend="egl", require=330)
    except Exception as error:  # no EGL here: say so, the file checks above still count
        print(f"note: shaders not compiled, no headless OpenGL ({error})", file=sys.stderr)
        return 0
    failed = 0
    try:
        target = ctx.simple_framebuffer((128, 72))
        for path, preset in presets:
            ctx.error  # noqa: B018  (reading clears it, so a GL error below is this preset's)
            try:
                scene = Scene(ctx, preset, (128, 72))
                scene.add_taps(_taps(np), _Steady())
                for frame in range(12):
                    scene.render(0.05 * frame, target)
                check_frame_time(scene, preset, path, size=PROBE_SIZE)  # compiles, but in time for a show?
                cost = frame_cost_ms(ctx, preset, programs=scene.programs)  # what it costs, told to its designer
                scene.release()
            except ShaderError as error:
                failed += 1
                print(f"FAIL {path}: shader: {error}", file=sys.stderr)
                continue
            except Exception as error:  # one preset's failure never stops the check of the next
                failed += 1
                print(f"FAIL {path}: drawing it failed ({type(error).__name__}: {error})", file=sys.stderr)
                continue
            error = ctx.error
            if error != "GL_NO_ERROR":
                failed += 1
                print(f"FAIL {path}: drawing it raised {error}", file=sys.stderr)
                continue
            drawn[path] = cost
    finally:
        ctx.release()
    return failed


class _Steady:
    bpm, bar_beats, beat_period = 120.0, 2, 0.5

    def beat_phase(self, t):
        return (t * 2.0) % 1.0

    def bar_phase(self, t):
        return t % 1.0


def _taps(np):
    from dessins_de_planche.events import KIND_HEEL, KIND_TOE, TAP_DTYPE

    taps = np.zeros(6, TAP_DTYPE)
    taps["time"] = np.arange(6) * 0.08
    taps["detected_at"] = taps["time"] + 0.01
    taps["velocity"] = 0.8
    taps["tap_id"] = np.arange(6)
    taps["kind"] = np.where(np.arange(6) % 3 == 0, KIND_HEEL, KIND_TOE)
    taps["zone"] = np.arange(6) % 2
    return taps
