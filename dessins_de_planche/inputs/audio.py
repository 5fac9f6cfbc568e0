"""Audio blocks -> tap and feature records: the one path every audio source shares.

A live stream's callback, a file replayed in real time, the demo generator and
`analyze` all hand their blocks to `BlockHandler.handle`, so what `analyze`
reports is exactly what a show sees.

Real-time rules (this runs in the audio callback thread): no allocation beyond
CPython's small objects, no I/O, no print, no lock, never a wait. Rings drop and
count when full.
"""

from __future__ import annotations

import numpy as np

from dessins_de_planche.events import SOURCE_AUDIO, tap_id_space


class BlockHandler:
    def __init__(self, detector, clock, tap_ring, feature_ring, channel_numbers, zone_indices, generation=0,
                 board=None):
        """`channel_numbers`: the 1-based device channel of each detector channel;
        `zone_indices`: its index in the zone table; `generation`: which start of the input
        process this is (tap ids move on with it, see `events.TAP_ID_SPACES`); `board`: a
        multi-channel board's `inputs.board.AudioBoardFilter` (the detector's crosstalk rule off),
        which decides which taps are strikes, bleed or weight shifts."""
        self.board = board
        self.detector = detector
        self.clock = clock
        self.taps = tap_ring
        self.features = feature_ring
        self.channel_numbers = tuple(int(c) for c in channel_numbers)
        self.zone_indices = tuple(int(z) for z in zone_indices)
        self.frames = 0  # frames handled since the stream started: the stream clock
        self.nonfinite_blocks = 0  # blocks that held NaN or infinity (heard as silence there)
        self._id_first, self._id_span, self._id_offset = tap_id_space("audio", generation)

    def handle(self, block: np.ndarray, now: float) -> None:
        """One block of shape (frames, device channels), float32, captured by master time `now`."""
        frames = block.shape[0]
        if not np.isfinite(np.add.reduce(block, axis=None, dtype=np.float64)):  # NaN or inf anywhere
            block = self._finite(block)
        start = self.frames
        self.frames = end = start + frames
        self.clock.observe(end, now)
        detector = self.detector
        count = detector.process(block, start)
        to_master = self.clock.to_master
        detected_at = to_master(end)
        push = self.taps.push
        first, span, offset = self._id_first, self._id_span, self._id_offset
        if self.board is not None:
            self._board(count, end, detected_at)
            count = 0
        for i in range(count):
            channel = detector.out_channel[i]
            push(
                to_master(detector.out_onset[i]),
                detected_at,
                detector.out_velocity[i],
                first + (offset + int(detector.out_tap_id[i])) % span,
                self.channel_numbers[channel],
                SOURCE_AUDIO,
                self.zone_indices[channel],
                detector.out_kind[i],
                detector.out_refine[i],
            )
        if self.features is not None:
            push = self.features.push
            for channel, number in enumerate(self.channel_numbers):
                push(detected_at, detector.level[channel], detector.peak[channel],
                     detector.brightness[channel], number)

    def _board(self, count: int, end: int, detected_at: float) -> None:
        """The detector's records through the board's filter; what it lets out, to the ring."""
        detector, board = self.detector, self.board
        for i in range(count):
            board.take(detector.out_onset[i], int(detector.out_channel[i]), float(detector.out_velocity[i]),
                       int(detector.out_kind[i]), int(detector.out_tap_id[i]), int(detector.out_refine[i]))
        board.decide(end)
        if not board.out:
            return
        to_master, push = self.clock.to_master, self.taps.push
        first, span, offset = self._id_first, self._id_span, self._id_offset
        for onset, channel, velocity, kind, tap_id, record, zone in board.out:
            push(to_master(onset), detected_at, velocity, first + (offset + tap_id) % span,
                 self.channel_numbers[channel], SOURCE_AUDIO, self.zone_indices[zone], kind, record)
        board.out.clear()

    def _finite(self, block: np.ndarray) -> np.ndarray:
        """A block with NaN or infinity (a broken file or driver): those samples become silence, so
        the detector's filters are never poisoned for the rest of the stream. The rare path: it may
        allocate."""
        self.nonfinite_blocks += 1
        return np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
