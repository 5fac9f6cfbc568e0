"""A steady performance: fixed, exact taps (no detector), the same every time.

The scene warms a look with them before it goes on stage, the shader probe times a look
with them, and tests and benches draw from them wherever the same events must give the
same picture. It sits below the scene (it needs only the tap record) so that the scene can
use it without reaching up into the gallery or the offline render.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import KIND_HEEL, KIND_TOE, KIND_UNKNOWN, TAP_DTYPE


def steady_taps(seconds: float = 8.0, bpm: float = 112.0, zones: int = 2, refine: bool = True) -> np.ndarray:
    """A fixed, exact performance (no detector): en trois for the first half, en quatre after,
    zones taking turns, each tap's kind sent 12 ms after it (as the live detector refines).
    For tests and benches, where the same events must give the same picture."""
    beat = 60.0 / bpm
    trois = (KIND_HEEL, KIND_TOE, KIND_TOE)
    quatre = (KIND_HEEL, KIND_TOE, KIND_HEEL, KIND_TOE)
    records, tap_id, t = [], 0, 0.5
    while t < seconds:
        pattern = trois if t < seconds / 2 else quatre
        for step, kind in enumerate(pattern):
            time = t + step * beat / len(pattern)
            velocity = 0.95 if step == 0 else 0.6 + 0.1 * (step % 2)
            zone = tap_id % zones
            first_kind = KIND_UNKNOWN if refine else kind
            records.append((time, time + 0.010, velocity, tap_id, zone + 1, 0, zone, first_kind, 0, 0))
            if refine:
                records.append((time, time + 0.022, velocity, tap_id, zone + 1, 0, zone, kind, 1, 0))
            tap_id += 1
        t += beat
    taps = np.array(records, TAP_DTYPE)
    return taps[np.argsort(taps["detected_at"], kind="stable")]
