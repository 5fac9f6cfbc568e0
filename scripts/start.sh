#!/usr/bin/env bash
# One command to set up and start Dessins de Planche. Extra arguments go to `run`,
# e.g. scripts/start.sh --audio-device "USB Audio" --channels 1,2
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
exec .venv/bin/dessins-de-planche run "$@"
