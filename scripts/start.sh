#!/usr/bin/env bash
# One command to set up and start Dessins de Planche. The first time it installs what the app
# needs (network needed); after that it starts at once, offline.
#   scripts/start.sh                                   the show (the demo, until a device is named)
#   scripts/start.sh --audio-device "USB Audio"        the show, listening to a mic (channel 1)
#   scripts/start.sh devices | calibrate ... | analyze take.wav | ...   any other command
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  exec .venv/bin/dessins-de-planche "$@"  # a command: devices, calibrate, render, ...
fi
exec .venv/bin/dessins-de-planche run "$@"
