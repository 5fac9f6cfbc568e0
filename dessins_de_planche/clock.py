"""One master clock for every process, and the map from audio frames onto it.

The master clock is ``time.monotonic()``: system-wide, so the input process
and the render process read the same time line. Audio time is frames counted
since the stream started; `StreamClock` maps frames onto the master clock with a
drift-corrected linear fit, because PortAudio's ADC timestamps are not
trustworthy everywhere (Debian's 19.6 reports the callback's entry time).
"""

from __future__ import annotations

import time

master_time = time.monotonic


class StreamClock:
    """Frames -> master seconds, from (frames captured, callback entry time) pairs.

    Callback entry is late by a jittery amount and never early, so the offset
    follows the *lower* envelope of the observed lateness (it jumps down at once
    and creeps up slowly), while the rate is a slow fit of the sample-rate drift.
    Only floats are touched: safe to call from the audio callback.
    """

    def __init__(self, sample_rate: float, creep_per_second: float = 0.0005):
        self.sample_rate = float(sample_rate)
        self.rate = float(sample_rate)  # estimated frames per master second
        self.origin = None  # master time of frame 0
        self._creep = creep_per_second
        self._first_time = 0.0
        self._first_frames = 0
        self._last_time = 0.0

    def observe(self, frames_captured: int, now: float) -> None:
        """Record that `frames_captured` frames had arrived by master time `now`."""
        if self.origin is None:
            self.origin = now - frames_captured / self.rate
            self._first_time, self._first_frames, self._last_time = now, frames_captured, now
            return
        elapsed = now - self._first_time
        if elapsed > 10.0:  # long enough to estimate drift of the device's crystal
            measured = (frames_captured - self._first_frames) / elapsed
            if abs(measured / self.sample_rate - 1.0) < 0.01:
                self.rate += (measured - self.rate) * 0.01
        predicted = self.origin + frames_captured / self.rate
        if now < predicted:  # earlier than ever: this is the new envelope
            self.origin -= predicted - now
        else:  # drift towards later arrivals slowly, so jitter does not move it
            self.origin += min(now - predicted, self._creep * (now - self._last_time))
        self._last_time = now

    def resync(self) -> None:
        """Forget the offset after lost blocks (an overflow): the next observation anchors it again."""
        self.origin = None

    def to_master(self, frame: float) -> float:
        """Master time of a frame position (may be fractional)."""
        if self.origin is None:
            return frame / self.rate
        return self.origin + frame / self.rate


class FileClock:
    """Frames -> seconds from the start of a file: the clock of `analyze` and offline renders."""

    def __init__(self, sample_rate: float, origin: float = 0.0):
        self.sample_rate = float(sample_rate)
        self.origin = origin

    def observe(self, frames_captured: int, now: float) -> None:
        pass

    def to_master(self, frame: float) -> float:
        return self.origin + frame / self.sample_rate
