#!/bin/sh
# The whole X session of a kiosk: black background, no blanking, the supervised app.
# When the app restarts the screen stays black: nothing else runs on this X server.
xsetroot -solid black 2>/dev/null
xset s off s noblank -dpms 2>/dev/null
exec "$HOME/dessins-de-planche/.venv/bin/dessins-de-planche" kiosk --supervisor-log "$HOME/.local/state/dessins-de-planche/supervisor.log"
