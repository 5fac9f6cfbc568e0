"""Muting what C libraries print on stderr, for a moment."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def quiet_stderr():
    """Silence C libraries (libjack prints several lines per failed connection) for a moment.

    Used around device scans that retry every second while a server is away, so a
    kiosk's log is not filled with the same complaint. Anything else written to
    stderr meanwhile is muted too, which is why the input process logs through a
    copy of its stderr (`process.log_to_stderr`).
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
