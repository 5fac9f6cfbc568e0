"""Dessins de Planche: foot taps on a podorhythm board, heard and drawn live.

Data flow, one package each: ``inputs`` (audio/MIDI/demo, in their own process)
-> ``ring`` (shared-memory SPSC rings of ``events`` records) -> ``listen``
(tap detector, tempo) -> ``preset`` (validated looks) -> ``render`` (GL scene)
-> ``app`` (window loop) and ``cli``.
"""

__version__ = "0.1.0"
