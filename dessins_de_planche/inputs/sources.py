"""Simulated live inputs: a recording replayed, or the demo's synthesized podorhythm.

Both hand their blocks to the same `BlockHandler` a sound card's callback uses,
paced in real time by an ordinary thread and stamped with the master-clock time
each block would have been captured, so a replay looks to the show exactly like
a performance.
"""

from __future__ import annotations

import logging
import queue
import threading

import numpy as np

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import GeneratorSpec, InputSpec

log = logging.getLogger(__name__)

RESYNC_SECONDS = 2.0  # further behind than this (a suspended machine): jump to now instead of racing


def audio_source_kind(spec: InputSpec) -> str | None:
    """Which audio source a spec asks for: 'replay', 'demo', 'live' or None (MIDI only)."""
    if spec.input_file:
        return "replay"
    if spec.generator is not None or spec.is_demo:
        return "demo"
    if spec.audio_device is not None:
        return "live"
    return None


def audio_channels(spec: InputSpec) -> tuple[int, ...]:
    """The 1-based channels the audio source delivers to the detector (one zone each)."""
    kind = audio_source_kind(spec)
    if kind is None:
        return ()
    if kind == "demo":
        return (1,)  # the generator is mono
    if spec.channels:
        return tuple(spec.channels)
    if kind == "replay":
        import soundfile

        return tuple(range(1, soundfile.info(spec.input_file).channels + 1))
    return (1,)


class LatenessMeter:
    """(Every source, live ones too.) How late each block was handled, kept for the last few seconds in a preallocated ring.

    `record` runs in the audio callback (one float store); `summary` runs in the
    status thread, which may allocate.
    """

    def __init__(self, size: int = 2048):
        self.values = np.zeros(size, np.float64)
        self.count = 0
        self._mask = size - 1

    def record(self, seconds: float) -> None:
        self.values[self.count & self._mask] = seconds
        self.count += 1

    def summary(self) -> tuple[float, float, float]:
        """Median, 99th percentile (linear, as `np.percentile`) and maximum, in milliseconds (zeros
        before the first block). Sorted by hand: `np.percentile`'s first call imports `numpy.ma`,
        7 ms with the GIL held, which cost the audio callback a JACK cycle at every stream start."""
        ordered = np.sort(self.values[: min(self.count, self.values.size)])
        if not ordered.size:
            return 0.0, 0.0, 0.0
        return _quantile(ordered, 0.5) * 1e3, _quantile(ordered, 0.99) * 1e3, float(ordered[-1]) * 1e3


def _quantile(ordered: np.ndarray, q: float) -> float:
    position = q * (ordered.size - 1)
    below = int(position)
    above = min(below + 1, ordered.size - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


class PacedSource:
    """Blocks from `read(frames)` handed on at the pace of a sound card.

    `read` returns (frames, channels) float32, or fewer frames at the end.
    """

    def __init__(self, read, state: str, name: str, sample_rate: int, block_size: int, make_handler):
        self.read = read
        self.state = state
        self.device_name = name
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.handler = make_handler(sample_rate, block_size)
        self.error = ""
        self.lost = False
        self.overflows = 0  # here: times the thread fell so far behind that it skipped ahead
        self.lateness = LatenessMeter()

    @property
    def blocks(self) -> int:
        return self.lateness.count

    def run(self, stop: threading.Event) -> None:
        period = self.block_size / self.sample_rate
        start, count = master_time(), 0
        while not stop.is_set():
            block = self.read(self.block_size)
            if block is None or not len(block):
                self.state = "off"
                log.info("%s: end of input", self.device_name)
                return
            if len(block) < self.block_size:
                block = np.concatenate((block, np.zeros((self.block_size - len(block), block.shape[1]), block.dtype)))
            due = start + (count + 1) * period  # when the block's last frame would have been captured
            wait = due - master_time()
            if wait > 0 and stop.wait(wait):
                return
            now = master_time()
            if now - due > RESYNC_SECONDS:
                self.overflows += 1
                start = now - (count + 1) * period
                due = now
                self.handler.clock.resync()
            self.handler.handle(block, due)
            self.lateness.record(now - due)
            count += 1

    def close(self) -> None:
        pass


class FileReplay(PacedSource):
    """A recording, replayed in real time (looping at its end if the spec says so)."""

    def __init__(self, spec: InputSpec, make_handler):
        import soundfile

        self.file = soundfile.SoundFile(spec.input_file)
        wanted = max(spec.channels or (1,))
        if wanted > self.file.channels:  # the command line checks first; a config or a replaced file may not
            count = self.file.channels
            self.file.close()
            raise ValueError(f"{spec.input_file}: channel {wanted} does not exist; the file has {count} "
                             f"channel{'s' if count != 1 else ''}")
        self.loop = spec.loop
        super().__init__(self._read, "replay", spec.input_file, self.file.samplerate, spec.block_size, make_handler)

    def _read(self, frames: int):
        block = self.file.read(frames, dtype="float32", always_2d=True)
        if len(block) < frames and self.loop and self.file.frames > 0:
            parts = [block]
            filled = len(block)
            while filled < frames:
                self.file.seek(0)
                part = self.file.read(frames - filled, dtype="float32", always_2d=True)
                parts.append(part)
                filled += len(part)
            block = np.concatenate(parts)
        return block

    def close(self) -> None:
        self.file.close()


class ReadAhead:
    """Reads blocks on its own thread, well ahead of the pace.

    The synthesizer renders seconds at a time; read in line, each chunk would hold
    the paced thread up for a long moment and every block behind it would be late.
    """

    def __init__(self, read, frames: int, blocks_ahead: int):
        self._read = read
        self._frames = frames
        self._blocks = queue.Queue(maxsize=blocks_ahead)
        self._stopped = False
        self._thread = threading.Thread(target=self._fill, name="input-read-ahead", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        while not self._stopped:
            block = self._read(self._frames)
            while not self._stopped:
                try:
                    self._blocks.put(block, timeout=0.2)
                    break
                except queue.Full:
                    continue

    def read(self, frames: int):
        return self._blocks.get(timeout=10.0)

    def close(self) -> None:
        self._stopped = True
        self._thread.join(1.0)


class GeneratorSource(PacedSource):
    """The synthesized podorhythm over music: the demo, or `--generate`."""

    def __init__(self, spec: InputSpec, make_handler):
        from dessins_de_planche.listen.synth import PatternStream

        generator = spec.generator or GeneratorSpec()
        if not (20.0 <= generator.bpm <= 400.0 and 1 <= generator.taps_per_beat <= 8 and 16 <= spec.block_size <= 8192):
            raise ValueError(f"generator: {generator.bpm:g} BPM, {generator.taps_per_beat} taps a beat, "
                             f"{spec.block_size}-frame blocks is out of range (20..400 BPM, 1..8, 16..8192)")
        stream = PatternStream(generator, spec.sample_rate)
        chunk_blocks = int(stream.CHUNK_S * spec.sample_rate / spec.block_size)
        self.ahead = ReadAhead(stream.read, spec.block_size, blocks_ahead=chunk_blocks + 64)
        name = "demo" if spec.generator is None else f"generator {generator.bpm:g} bpm"
        super().__init__(self.ahead.read, "demo", name, spec.sample_rate, spec.block_size, make_handler)

    def close(self) -> None:
        self.ahead.close()
