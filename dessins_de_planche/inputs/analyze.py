"""`analyze`: the taps and tempo of a recording, heard through the live path.

The file is cut into blocks of `block_size` frames and handed to the same
`inputs.audio.BlockHandler` a live stream uses (with a `FileClock`, so times are
seconds from the start of the file), into real shared-memory rings drained after
every block. So what `analyze` reports is what a show would have drawn.

A recording of a multi-channel audio board (a piezo per channel) is heard as `run` hears the
board: with `calibrate`'s `[audio_board]` table, each channel on its own and the board's filter
(inputs/board.py `AudioBoardFilter`) deciding which taps are strikes, bleed or weight shifts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from dessins_de_planche.clock import FileClock
from dessins_de_planche.config import InputSpec
from dessins_de_planche.events import FEATURE_DTYPE, TAP_DTYPE, TapRecordsHeld, final_taps, tap_to_dict
from dessins_de_planche.inputs.audio import BlockHandler
from dessins_de_planche.inputs.board import A_BLEED, A_SHIFT, A_TAP, board_detector, usable_audio_board
from dessins_de_planche.listen.detector_settings import DETECTOR_VERSION
from dessins_de_planche.listen.tempo import TempoTracker
from dessins_de_planche.ring import Ring

TEMPO_SETTLE_S = 4.0  # `tempo_bpm` is the tempo heard after the first 4 s of taps


@dataclass
class Analysis(TapRecordsHeld):
    file: str
    sample_rate: int
    duration: float
    channels: tuple[int, ...]  # 1-based file channels analysed
    zone_names: tuple[str, ...]
    taps: np.ndarray  # every record in emission order (TAP_DTYPE), refine and withdraw records included
    tempo_bpm: float | None
    tempo_track: list = field(default_factory=list)  # [(time, bpm), ...]
    pattern: str | None = None  # the footwork named at the end: "en deux", "ti-galop", "jig 6/8"...
    downbeat: float | None = None  # time of a bar's first beat, when the taps mark it
    bar_period: float | None = None  # seconds per bar
    nonfinite_blocks: int = 0  # blocks that held NaN or infinity (heard as silence)
    board: list | None = None  # a calibrated multi-channel board: per channel [strikes, bleed, weight shifts]
    soundcheck: dict | None = None  # {1-based file channel: stage B's bar off the grid}, from `calibrate --music`

    def to_json(self) -> dict:
        final, withdrawn = final_taps(self.taps)
        return {
            "file": self.file,
            "sample_rate": self.sample_rate,
            "duration": round(self.duration, 6),
            "channels": list(self.channels),
            "detector": DETECTOR_VERSION,
            "taps": [tap_to_dict(tap, self.zone_names) for tap in final],
            "withdrawn": withdrawn,
            "tempo_bpm": None if self.tempo_bpm is None else round(self.tempo_bpm, 2),
            "tempo_track": [[round(t, 4), round(b, 2)] for t, b in self.tempo_track],
            "pattern": self.pattern,
            "downbeat": None if self.downbeat is None else round(self.downbeat, 4),
            "soundcheck": None if not self.soundcheck else {str(c): bar for c, bar in self.soundcheck.items()},
            "board": None if self.board is None else {
                str(channel): {"strikes": c[A_TAP], "bleed": c[A_BLEED], "weight_shifts": c[A_SHIFT]}
                for channel, c in zip(self.channels, self.board)},
        }


def _open(path: str):
    import soundfile

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a folder, expected an audio file (WAV, FLAC, OGG)")
    try:
        return soundfile.SoundFile(path)
    except (RuntimeError, soundfile.LibsndfileError) as error:
        reason = str(error).splitlines()[0] if str(error) else "unreadable"
        raise ValueError(f"{path}: not a readable audio file (WAV, FLAC, OGG): {reason}") from None


def analyze_file(path, block_size: int = 128, channels=None, bar_beats: int = 2, calibration=None,
                 board=None) -> Analysis:
    """Detect taps in an audio file exactly as the live input would, and estimate the tempo.
    `channels`: 1-based file channels to listen to (default: all). `calibration`: {1-based
    channel: ChannelCalibration}; None reads `calibrate`'s file like the live input (its channels'
    tables and its multi-channel board's), {} is none. `board`: a multi-channel board's calibration
    (inputs/board_table.py) to hear several channels with instead of the file's; False: none (the
    detector's own winner-take-all, as `run --no-board-calibration`). File channels are taken for
    the device's channels of the same numbers, as `run --record-audio` writes them."""
    path = os.fspath(path)
    if block_size < 1:
        raise ValueError(f"block size must be at least 1 frame, got {block_size}")
    with _open(path) as sound:
        sample_rate = int(sound.samplerate)
        file_channels = int(sound.channels)
        chosen = tuple(range(1, file_channels + 1)) if not channels else tuple(int(c) for c in channels)
        for number in chosen:
            if not 1 <= number <= file_channels:
                raise ValueError(f"{path}: channel {number} does not exist; the file has "
                                 f"{file_channels} channel{'s' if file_channels != 1 else ''} (1..{file_channels})")
        zone_names = InputSpec().zone_table(len(chosen))
        if calibration is None:
            from dessins_de_planche.inputs import board_table
            from dessins_de_planche.listen import calibration as calibration_file

            calibration = calibration_file.load()
            if board is None and len(chosen) > 1:
                board = board_table.load_audio()
        board = usable_audio_board(board or None, chosen)
        detector, board_filter = board_detector(sample_rate, chosen, block_size,
                                                [calibration.get(c) for c in chosen], board)
        tap_ring = Ring.create(TAP_DTYPE, 1 << 10)
        feature_ring = Ring.create(FEATURE_DTYPE, 1 << 8)
        try:
            handler = BlockHandler(detector, FileClock(sample_rate), tap_ring, feature_ring,
                                   chosen, range(len(chosen)), board=board_filter)
            batches = []
            frames = 0
            # decode in large chunks (a whole number of blocks), hand the detector block-sized views:
            # decoding 128 frames at a time costs more than the detection itself
            chunk = block_size * max(1, (1 << 16) // block_size)
            for piece in sound.blocks(blocksize=chunk, dtype="float32", always_2d=True):
                for start in range(0, len(piece), block_size):
                    block = piece[start : start + block_size]
                    handler.handle(block, frames / sample_rate)
                    frames += len(block)
                    if tap_ring.available:
                        batches.append(tap_ring.pop())
                    feature_ring.pop()
            if board_filter is not None:  # the board decides a strike once its taps' word is in, and the
                # live stream goes on: silence after the file, as long as the longest wait
                silence = np.zeros((block_size, sound.channels), np.float32)
                for at in range(frames, frames + int(board_filter.give_up) + block_size, block_size):
                    handler.handle(silence, at / sample_rate)
                    if tap_ring.available:
                        batches.append(tap_ring.pop())
                    feature_ring.pop()
            if tap_ring.dropped or detector.dropped_events:
                raise RuntimeError(f"{path}: {tap_ring.dropped + detector.dropped_events} taps were dropped")
        finally:
            tap_ring.close()
            feature_ring.close()
    taps = np.concatenate(batches) if batches else np.zeros(0, TAP_DTYPE)
    bpm, tracker = _tempo(final_taps(taps)[0], bar_beats)
    downbeat = bar_period = None
    if tracker.beat_period is not None:
        bar_period = tracker.beat_period * tracker.bar_beats
        if tracker.downbeat_found:
            last = float(taps["time"].max())
            downbeat = last - tracker.bar_phase(last) * bar_period
    bars = {c: calibration[c].foot_bar for c in chosen if calibration.get(c) is not None
            and calibration[c].foot_bar is not None}
    return Analysis(path, sample_rate, frames / sample_rate, chosen, zone_names, taps, bpm,
                    list(tracker.track), tracker.pattern, downbeat, bar_period, handler.nonfinite_blocks,
                    None if board_filter is None else [list(c) for c in board_filter.counts], bars or None)


def _tempo(final: np.ndarray, bar_beats: int):
    """Feed the taps in time order; the answer is the median estimate once 4 s of taps were heard."""
    tracker = TempoTracker(bar_beats=bar_beats)
    settled = []
    if len(final) == 0:
        return None, tracker
    order = np.argsort(final["time"], kind="stable")
    first = float(final["time"][order[0]])
    for tap in final[order]:
        tracker.add(float(tap["time"]), int(tap["kind"]), float(tap["velocity"]))
        if tracker.bpm is not None and tap["time"] >= first + TEMPO_SETTLE_S:
            settled.append(tracker.bpm)
    bpm = float(np.median(settled)) if settled else tracker.bpm
    return bpm, tracker
