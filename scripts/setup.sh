#!/usr/bin/env bash
# Sets up Dessins de Planche on Debian/Ubuntu: system packages, then a virtual
# environment in .venv with the app (editable) installed. Safe to run again.
# Usage: scripts/setup.sh [run|test]   (test adds the headless test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"

# OpenGL through Mesa (EGL/GLX), PortAudio for sounddevice, Python's venv.
packages=(libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri libglx-mesa0 libgbm1 libportaudio2 libjack-jackd2-0)
if [ "$purpose" = test ]; then
  # A real X server in memory and screenshots; a JACK server with its dummy driver for audio and MIDI.
  packages+=(xvfb xauth x11-utils x11-apps xdotool imagemagick jackd2 libxfixes3)  # XFixes: the kiosk cursor test
  packages+=(mount util-linux)  # a tiny tmpfs for the disk-full test; setpriv to run the app as an ordinary user
  packages+=(procps)  # pgrep: the benches leave jackd's shared registry alone while a server runs
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv python3-pip)
fi

as_root() {  # run a command as root: directly when we are root, through sudo otherwise
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "Installing system packages needs root: run this as root or install sudo." >&2; return 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${missing[*]}"
    # jackd2 asks about real-time priority otherwise; passed through sudo with env, not -E
    # (sudoers may refuse -E, and as root there is no sudo at all)
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Not a Debian/Ubuntu system: install the equivalents of ${missing[*]} yourself." >&2
  fi
fi

python3 - <<'PY' || { echo "Dessins de Planche needs Python 3.11 or newer (python3 is older)." >&2; exit 1; }
import sys
sys.exit(sys.version_info < (3, 11))
PY

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$purpose" = test ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
