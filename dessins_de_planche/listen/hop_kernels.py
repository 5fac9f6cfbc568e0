"""Stage A's work on each block and hop, in C: the block into the history, the hops' band levels,
the band state moved on, the learned score's features and its perceptron (`hop_kernels.c`).

Why C: the detector sees 750 hops a second, and as numpy statements each block was some seventy
calls on arrays of 12 bands, each costing a microsecond or more whatever its size: most of the
detector's CPU (docs/corpus.md, attempts 56, 70 and 92). Each function does what those statements
did, in float32 (no fast-math, no fused multiply-add): the band state, the features and the
samples come out the same to the bit; the band levels, the low view and the score differ from
numpy's matrix products by float32 rounding only (their sums run in another order;
`tests/test_hop_kernels.py`). Every hop's spectrum is summed on its own, so any block size hears
the same, bit for bit.

Built once by the machine's C compiler into a shared library beside this module (or, where that
folder is read-only, in the user's cache), named by a hash of the source and flags, and loaded
through cffi's ABI mode (cffi comes with sounddevice): loading takes a millisecond, so an input
process started again after a lost device listens at once. `scripts/setup.sh` installs the
compiler and builds it.

Called from the audio callback (`listen.front_end`, `listen.onset`): the wrappers take the
caller's preallocated C-contiguous arrays and hand their memory over (`ffi.from_buffer`, no
copy); nothing is allocated in C.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from pathlib import Path

import cffi
import numpy as np
import platformdirs

from dessins_de_planche.errors import UserError

SOURCE = Path(__file__).with_suffix(".c")
FLAGS = ("-O3", "-fPIC", "-shared", "-std=c99", "-fno-fast-math", "-ffp-contract=off")
# this CPU's vector instructions where the compiler knows them (the sums keep their order: the
# same numbers, a third faster); the library's name carries the CPU's, so a copy of the folder
# on another machine builds its own
NATIVE = ("-march=native",)
BUILD_SECONDS = 120  # a compiler that hangs is told in one line, not waited on for ever

_DECLARATIONS = """
int64_t check_block(float *signal, int64_t frames, int64_t channels, float bad_level, float *peaks, uint8_t *bad);
void less_dc(const float *signal, float *clean, int64_t frames, int64_t channels, float *chunk_raw, int64_t at,
             const float *ramp, const float *dc_step, const float *dc_from);
void keep_block(const float *raw, const float *clean, int64_t frames, int64_t channels, float *history,
                int64_t mask, int64_t start, float *energy, float *diff_energy);
void band_levels(const float *history, int64_t mask, int64_t channels, int64_t first_end, int64_t hop,
                 int64_t hops, const float *dft, int64_t taps, int64_t columns, const int64_t *bin_band,
                 int64_t bands, float eps, const float *clamp, float *levels, float *samples, float *spectrum,
                 const float *low_taps, int64_t span, int64_t reads, float *low_energy);
void move_tails(float *ref, float *held, int64_t holds, int64_t cells, int64_t slot, const float *lagged,
                float decay);
void follow_floor(const float *level, float *smooth, float *bg, int64_t cells, float smooth_a, float down,
                  float up_and_down, float *kept);
void onset_features(float *x, int64_t row, int64_t stride, int64_t back, int64_t channels, int64_t bands,
                    const float *level, const float *ref, const float *bg, const float *floor, float near_db,
                    float cap_db, float *rises, float *loudest, float *past_row, const float *low,
                    int64_t low_stride, float *low_row);
void onset_scores(float *x, int64_t channels, int64_t row, int64_t width, const float *lowest,
                  const float *highest, const float *past, int64_t bands, const int64_t *window,
                  int64_t window_n, int64_t slot, float inverse, int64_t mean_at, const float *low_means,
                  int64_t low_rows, int64_t history, const float *low_past, float low_eps, int64_t low_at,
                  int64_t layers, const float *const *weights, const int64_t *inputs, const int64_t *outputs,
                  float *const *hidden);
"""


class KernelsUnavailable(UserError):
    """No built library and no C compiler to build one (a command says so in one line; the
    input process listens to MIDI without audio and shows it)."""


def _this_cpu() -> str:
    """The CPU's model and instruction sets, as Linux names them (elsewhere, its architecture)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    named = [line for line in lines if line.startswith(("model name", "flags", "Features", "CPU part"))]
    return platform.machine() + "\n" + "\n".join(dict.fromkeys(named))


def library_name() -> str:
    """The built library's file name: a hash of what it is built from, and for which CPU."""
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(FLAGS + NATIVE).encode() + _this_cpu().encode())
    return f"hop_kernels-{digest.hexdigest()[:16]}.so"


def _folders() -> list[Path]:
    return [Path(__file__).resolve().parent / "__pycache__",
            Path(platformdirs.user_cache_dir("dessins-de-planche")) / "kernels"]


def build() -> Path:
    """The built library: found where an earlier build left it, else built now (about a second)."""
    name = library_name()
    for folder in _folders():
        if (folder / name).is_file():
            return folder / name
    wanted = os.environ.get("CC")
    compiler = shutil.which(wanted) if wanted else shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise KernelsUnavailable("the tap detector is built once by a C compiler, and there is none"
                                 + (f" ({wanted}, from CC, was not found)" if wanted else "")
                                 + " (scripts/setup.sh installs one; or: apt-get install gcc libc6-dev)")
    errors = []
    for folder in _folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a read-only folder: the next one
            errors.append(f"{folder}: {error.strerror or error}")
            continue
        partial = folder / f".{name}.{os.getpid()}"
        for native in (NATIVE, ()):  # (a compiler that does not know this CPU: the plain build)
            try:
                done = subprocess.run([compiler, *FLAGS, *native, "-o", str(partial), str(SOURCE), "-lm"],
                                      capture_output=True, text=True, timeout=BUILD_SECONDS)
            except (OSError, subprocess.TimeoutExpired) as error:  # not runnable, or hung
                partial.unlink(missing_ok=True)
                said = f"gave no answer in {BUILD_SECONDS} s" if isinstance(error, subprocess.TimeoutExpired) \
                    else f"could not be run ({error.strerror or error})"
                raise KernelsUnavailable(f"{compiler} {said} while building the tap detector ({SOURCE.name})"
                                         " (scripts/setup.sh installs gcc; or set CC to a working compiler)") from None
            if done.returncode == 0:
                break
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            if not os.access(folder, os.W_OK):  # (the compiler could not write there: the next one)
                errors.append(f"{folder}: not writable")
                continue
            raise KernelsUnavailable(f"{compiler} could not build the tap detector ({SOURCE.name}): "
                                     + (done.stderr.strip().splitlines() or ["no message"])[-1])
        os.replace(partial, folder / name)  # whole or not at all, whoever builds it at the same time
        return folder / name
    raise KernelsUnavailable("no folder to build the tap detector in: " + "; ".join(errors))


ffi = cffi.FFI()
ffi.cdef(_DECLARATIONS)
lib = ffi.dlopen(str(build()))


def floats(array: np.ndarray):
    """The memory of a C-contiguous float32 array, for the kernels (no copy)."""
    return ffi.from_buffer("float[]", array)


def integers(array: np.ndarray):
    """The memory of a C-contiguous int64 array, for the kernels (no copy)."""
    return ffi.from_buffer("int64_t[]", array)
