"""Ways to drive the show from outside: OSC, a MIDI control map, playlists."""
