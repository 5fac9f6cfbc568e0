#!/bin/bash
# Issue 19's GPU checks in one call on a lent GPU machine with no display and no sound card
# (python3 with numpy there; nothing can be downloaded): the app's packages come as wheels
# (.whl/), the GL loaders as Debian packages (.gl/, unpacked over /), JACK and PortAudio as
# Debian packages (.jack/, unpacked under a private prefix, never over /). See bench/README.md.
#
#   bash bench/gpu_run.sh [STEP ...]      # steps: looks stress scale photon pictures cost loop (default: the first five)
#
# Prepared here by `bash bench/gpu_carry.sh`; on the device tool: run with carry [".whl", ".gl", ".jack"],
# command `bash bench/gpu_run.sh 2>&1 | tee $OUT/run.log`, timeout_s 580 (each step's limit below adds up
# to 540 s; the steps' own time on an H200 is expected near 4 minutes). The summary is printed last.
#
# Each step has its own time limit and writes its log under $OUT; a step that fails does not stop
# the others. Environment: SIZES (gpu_looks), SCALE_SIZE, SCALE_SECONDS, PHOTON_SIZES, PHOTON_SECONDS,
# LOOKS_ARGS (more arguments for gpu_looks.py).
set -u
OUT=${OUT:-/tmp/ddp-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
STEPS=${*:-looks stress scale photon pictures}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

# SETUP=0: use this machine as it is (a trial of the steps on a development machine); SETUP=wheels: install
# only the carried wheels (a trial of them with another python3 on PATH)
SETUP=${SETUP:-1}
# OpenGL through EGL on the vendor's driver (glvnd loaders)
if [ "$SETUP" = 1 ] && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
fi
NV=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$NV" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$NV
# JACK (dummy driver) and PortAudio under /tmp/ddp-jack; found by ldconfig after the system's own
J=/tmp/ddp-jack
if [ "$SETUP" = 1 ] && ls .jack/*.deb >/dev/null 2>&1; then
    mkdir -p $J
    for f in .jack/*.deb; do dpkg -x "$f" $J; done
    printf '%s\n' $J/usr/lib/x86_64-linux-gnu $J/lib/x86_64-linux-gnu > /etc/ld.so.conf.d/zz-ddp-jack.conf
    export PATH=$J/usr/bin:$PATH JACK_DRIVER_DIR=$J/usr/lib/x86_64-linux-gnu/jack
    # without its configuration PortAudio's ALSA host API aborts the process (an assertion in BuildDeviceList)
    [ -f /usr/share/alsa/alsa.conf ] || export ALSA_CONFIG_PATH=$J/usr/share/alsa/alsa.conf
fi
[ "$SETUP" = 1 ] && ldconfig
if [ "$SETUP" != 0 ] && ls .whl/*.whl >/dev/null 2>&1; then
    rm -rf /tmp/ddp-site
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/ddp-site \
        .whl/*.whl || { echo "wheels did not install"; exit 1; }
    export PYTHONPATH=/tmp/ddp-site:$ROOT
else
    export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
fi
# real-time scheduling for jackd and the app's audio process: a cgroup without a real-time budget
# refuses it even to root (docs/performance.md), so move to the root cgroup where there is one
[ "$SETUP" = 1 ] && { echo $$ > /sys/fs/cgroup/cgroup.procs 2>/dev/null || true; }
say "set up: $(python3 --version), $(nvidia-smi -L 2>/dev/null | head -1)"
python3 -c "import moderngl; c = moderngl.create_standalone_context(backend='egl', require=330); \
print('GL:', c.info['GL_RENDERER'], c.info['GL_VERSION'])" 2>&1 | tail -2

step() {  # step NAME SECONDS COMMAND...: one check, its log in $OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    case " $STEPS " in *" $name "*) ;; *) return ;; esac
    say "== $name (at most $limit s): $*"
    timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    local code=$?
    say "== $name exit $code"
}

SIZES=${SIZES:-1280x720,1920x1080,3840x2160}
step looks 120 python3 bench/gpu_looks.py --sizes "$SIZES" --json "$OUT/looks.json" ${LOOKS_ARGS:-}
step stress 90 python3 bench/gpu_looks.py --sizes "$SIZES" --stress-only --frames 30 --pass-frames 8 \
    --json "$OUT/stress.json" ${LOOKS_ARGS:-}
step scale 150 python3 bench/render_scale.py --offscreen --size "${SCALE_SIZE:-3840x2160}" --modes 1 \
    --seconds "${SCALE_SECONDS:-5}"
step photon 120 python3 bench/tap_to_photon.py --offscreen --sizes "${PHOTON_SIZES:-1920x1080}" --seconds "${PHOTON_SECONDS:-15}" \
    --pixel-seconds 6
step pictures 60 python3 -m pytest -q -p no:cacheprovider tests/test_look_references.py
# against another checkout's code carried as AGAINST (default .old/, e.g. `git archive REV dessins_de_planche presets
# shaders bench tests/rig.py pyproject.toml | tar -x -C .old`): the tap frame's cost and the live loop, in the same run
AGAINST=${AGAINST:-$ROOT/.old}
step cost 150 python3 bench/taps_cost.py --against "$AGAINST" --minutes 5 --rounds 3 --clock cpu
step loop 150 python3 bench/loop.py --size 1920x1080 --preset sparks --seconds 5 --passes 2 --against "$AGAINST"
say "done"
for name in $STEPS; do
    [ -f "$OUT/$name.log" ] || continue
    echo
    echo "######## $name"
    case $name in
        looks|stress) grep -v "^\s*$" "$OUT/$name.log" | tail -80 ;;
        *) tail -40 "$OUT/$name.log" ;;
    esac
done
