#!/usr/bin/env bash
# Sets up Dessins de Planche on Debian/Ubuntu: system packages, then a virtual environment in
# .venv with the app (editable) installed. Safe to run again, as root or as a user with sudo.
# Once set up, it does nothing that needs the network: a stamp in .venv records what was
# installed, and pip runs again only when pyproject.toml, this script or the Python changed.
# Usage: scripts/setup.sh [run|test] [--system-only]
#   test           adds the headless test tools (Xvfb, a JACK server, ...)
#   --system-only  installs the system packages and stops (a kiosk image, a check)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=run
system_only=0
for arg in "$@"; do
  case "$arg" in
    run | test) purpose="$arg" ;;
    --system-only) system_only=1 ;;
    *) echo "usage: scripts/setup.sh [run|test] [--system-only]" >&2; exit 2 ;;
  esac
done

# Every system package the app and its tests use, in one place.
# Run: OpenGL through Mesa (EGL/GLX), PortAudio for sounddevice, JACK's client library, and a C
# compiler that builds the tap detector's kernels once (dessins_de_planche/listen/hop_kernels.c).
run_packages=(libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri libglx-mesa0 libgbm1 libportaudio2 libjack-jackd2-0 gcc libc6-dev)
# Test: a real X server in memory and screenshots (XFixes: the kiosk cursor test), a JACK server
# with its dummy driver for audio and MIDI, a tiny tmpfs for the disk-full test and setpriv to run
# the app as an ordinary user, pgrep for the benches.
test_packages=(xvfb xauth x11-utils x11-apps xdotool imagemagick jackd2 libxfixes3 mount util-linux procps)
# Python 3.13 and newer: python-rtmidi has no wheel there and builds from source.
midi_build_packages=(g++ pkg-config libasound2-dev libjack-jackd2-dev python3-dev)
# Python's venv and pip, where the system Python comes without them.
venv_packages=(python3-venv python3-pip)

python=python3
say() { echo "setup: $*"; }
fail() { echo "setup: $*" >&2; exit 1; }

as_root() {  # a command as root: directly when we are root, through sudo otherwise
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else fail "installing system packages needs root: run this as root, or install sudo."
  fi
}

install_missing() {  # the Debian packages named that are not installed yet, in one apt-get run
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 \
    || fail "not a Debian/Ubuntu system: install the equivalents of ${missing[*]} yourself."
  say "installing system packages: ${missing[*]}"
  as_root apt-get update -qq \
    || fail "apt-get could not update its package lists (no network?); needed: ${missing[*]}"
  # jackd2 asks about real-time priority unless told not to; env passes that through sudo,
  # which may refuse -E
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || fail "apt-get could not install ${missing[*]} (no network?)"
}

# a minimal image may have no Python at all: it comes first, the rest depends on its version
command -v "$python" >/dev/null 2>&1 || install_missing python3 "${venv_packages[@]}"
command -v "$python" >/dev/null 2>&1 || fail "python3 is not installed (apt-get install python3)."
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "Dessins de Planche needs Python 3.11 or newer; python3 is $("$python" -V 2>&1)."
new_python=0
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 13))' && new_python=1

packages=("${run_packages[@]}")
[ "$purpose" = test ] && packages+=("${test_packages[@]}")
[ "$new_python" = 1 ] && packages+=("${midi_build_packages[@]}")
"$python" -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=("${venv_packages[@]}")

install_missing "${packages[@]}"
[ "$system_only" = 1 ] && exit 0

# What this install is made of: when it matches the stamp, nothing needs the package index.
stamp=.venv/.setup-stamp
fingerprint="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16) $("$python" -V 2>&1)"
installed=$(cat "$stamp" 2>/dev/null || true)
if [ -x .venv/bin/python ] && .venv/bin/python -c '' 2>/dev/null; then
  case "$installed" in
    "test $fingerprint") exit 0 ;;  # the test install holds everything the app needs
    "run $fingerprint") [ "$purpose" = run ] && exit 0 ;;
  esac
else
  "$python" -m venv --clear .venv || fail "could not create the virtual environment in .venv"
fi

log=.venv/setup.log
target=.
[ "$purpose" = test ] && target='.[test,corpus]'  # the corpus's own tests (tests/test_corpus.py) are part of the suite
say "installing the Python packages into .venv (log: $log)"
.venv/bin/python -m pip install -q -e "$target" >"$log" 2>&1 \
  || fail "pip could not install the app's Python packages (see $log): the first setup needs the network (PyPI)."
if [ "$new_python" = 1 ] && ! .venv/bin/python -c 'import rtmidi' 2>/dev/null; then
  # built from source here; audio works without it, MIDI boards need it
  .venv/bin/python -m pip install -q 'python-rtmidi>=1.5' >>"$log" 2>&1 \
    || say "python-rtmidi did not build for $("$python" -V 2>&1) (see $log): MIDI boards are unavailable, audio works."
fi
# the tap detector's kernels, built once for this machine: the first show loads them at once
say "building the tap detector for this machine"
.venv/bin/python -c 'import dessins_de_planche.listen.hop_kernels' >>"$log" 2>&1 \
  || fail "the tap detector could not be built (see $log)."
echo "$purpose $fingerprint" >"$stamp"
