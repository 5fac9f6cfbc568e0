#!/usr/bin/env bash
# One command to set up and run the whole test suite (real OpenGL, real JACK audio/MIDI,
# a real window under Xvfb), after checking the gallery presets. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
bash scripts/setup.sh test
cleanup() { rm -rf /dev/shm/jack-* /dev/shm/jack_* 2>/dev/null || true; }
trap cleanup EXIT
.venv/bin/dessins-de-planche validate presets/*.toml  # the gallery loads and its shaders compile
.venv/bin/python -m pytest -ra "$@"
