"""JACK fixtures: a dummy-driver JACK server per test session, and a client that plays audio and MIDI into the app."""
