"""Children that die and are started again: the wait before the next start, and why one ended.

Shared by the two places that keep a child alive: the render process's handle on the input
process (`inputs/handle.py`) and the kiosk supervisor's handle on the app (`app/supervisor.py`).
"""

from __future__ import annotations

import signal


class Backoff:
    """The wait before restarting a child that failed: `shortest` after a healthy life, doubling
    with each quick failure in a row, never more than `longest`. Its owner says what healthy
    means (`reset`); `failures` counts the quick failures since."""

    def __init__(self, shortest: float, longest: float):
        self.shortest, self.longest = shortest, longest
        self.failures = 0
        self._next = shortest  # doubled rather than computed from `failures`: no overflow in a long crash loop

    def reset(self) -> None:
        """The child was healthy: the next failure waits `shortest` again."""
        self.failures = 0
        self._next = self.shortest

    def failed(self) -> float:
        """Count a failure; the wait before the next start."""
        self.failures += 1
        delay, self._next = self._next, min(self._next * 2, self.longest)
        return delay


def describe_exit(code: int | None) -> str:
    """Why a child process ended, to follow its name: "the app killed by SIGKILL",
    "the input process exited with code 1"."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"
