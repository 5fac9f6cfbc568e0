"""Recording the input audio of a session (only when asked: `run --record DIR --record-audio`).

Runs in the input process. The audio callback copies each block into a
preallocated ring (one numpy slice copy, no allocation, no I/O, no lock); a
writer thread moves what has arrived into a WAV file. A full disk, or a writer
that falls seconds behind, ends the recording (said once in the log); the
callback and the detection never wait for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

RING_SECONDS = 8.0
WRITE_EVERY = 0.2


def next_path(folder) -> Path:
    """audio.wav, then audio-2.wav ... (a restarted input process starts a new file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path, number = folder / "audio.wav", 1
    while path.exists():
        number += 1
        path = folder / f"audio-{number}.wav"
    return path


class AudioRecorder:
    def __init__(self, folder, sample_rate: int, channels: int):
        import soundfile

        self.path = next_path(folder)
        self.sample_rate = sample_rate
        size = 1 << int(np.ceil(np.log2(RING_SECONDS * sample_rate)))
        self._ring = np.zeros((size, channels), np.float32)
        self._mask = size - 1
        self._written = 0  # frames the callback has put in the ring
        self._saved = 0  # frames the writer has put in the file
        self.error = ""
        self.first_time = None
        self._file = soundfile.SoundFile(self.path, "w", samplerate=sample_rate, channels=channels, subtype="FLOAT")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audio-recorder", daemon=True)
        self._thread.start()
        log.info("recording the input audio to %s", self.path)

    def write(self, block: np.ndarray, now: float) -> None:
        """In the audio callback: copy the block into the ring (a whole block at most)."""
        if self.error:
            return
        frames = block.shape[0]
        start = self._written & self._mask
        end = start + frames
        if self.first_time is None:
            self.first_time = now - frames / self.sample_rate
        if end <= self._ring.shape[0]:
            self._ring[start:end] = block
        else:
            split = self._ring.shape[0] - start
            self._ring[start:] = block[:split]
            self._ring[: frames - split] = block[split:]
        self._written += frames  # published after the copy: the writer reads up to here

    def _run(self) -> None:
        while not self._stop.wait(WRITE_EVERY):
            self._drain()
        self._drain()
        self._close()

    def _drain(self) -> None:
        if self.error or self._file is None:
            return
        written = self._written
        if written - self._saved > self._ring.shape[0]:
            self._fail("the writer fell behind (a slow disk)")
            return
        try:
            while self._saved < written:
                start = self._saved & self._mask
                count = min(written - self._saved, self._ring.shape[0] - start)
                self._file.write(self._ring[start:start + count])
                self._saved += count
            self._file.flush()  # the WAV header stays right even if the process is killed
        except (OSError, RuntimeError) as error:  # soundfile reports a full disk as RuntimeError
            self._fail(_reason(error))

    def _fail(self, why: str) -> None:
        self.error = f"audio recording stopped: {why} ({self.path})"
        log.error("%s; the show goes on", self.error)
        self._close()

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        sidecar = self.path.with_suffix(".json")
        try:
            file.close()
            sidecar.write_text(json.dumps({"file": self.path.name, "first_frame_time": self.first_time,
                                           "sample_rate": self.sample_rate, "frames": self._saved}))
        except (OSError, RuntimeError) as error:
            if not self.error:
                self.error = f"audio recording stopped: {error} ({self.path})"
            log.warning("audio recording: %s not written (%s); the WAV's own header gives its length",
                        sidecar, error)
            with contextlib.suppress(OSError):
                sidecar.unlink(missing_ok=True)  # half a note (a full disk) would only mislead

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)


def _reason(error: Exception) -> str:
    """libsndfile says only "System error." when a write fails: the OS's errno (read at once, in the
    writing thread) says which, e.g. "No space left on device"."""
    if isinstance(error, OSError):
        return error.strerror or str(error)
    import soundfile

    code = getattr(getattr(soundfile, "_ffi", None), "errno", 0)
    return os.strerror(code) if code else str(error)


class RecordingHandler:
    """A block handler that also records each block: the same `handle(block, now)` face."""

    def __init__(self, handler, recorder: AudioRecorder):
        self.handler = handler
        self.recorder = recorder

    def handle(self, block, now) -> None:
        self.handler.handle(block, now)
        self.recorder.write(block, now)

    def __getattr__(self, name):  # clock, frames ...: the wrapped handler's
        return getattr(self.handler, name)


_OPEN: list[AudioRecorder] = []


def recording_handler(handler, folder, sample_rate: int):
    """Wrap a block handler so that it also records (a recorder per audio stream the process opens)."""

    class Lazy(RecordingHandler):
        """Opens the file at the first block, when the device's channel count is known."""

        failed = False

        def handle(self, block, now):
            if self.recorder is None and not self.failed:
                try:  # once, at the first block; a folder that cannot be written ends only the recording
                    self.recorder = AudioRecorder(folder, sample_rate, block.shape[1])
                    _OPEN.append(self.recorder)
                except (OSError, RuntimeError) as error:
                    self.failed = True
                    log.error("audio recording not started: %s; the show goes on", error)
            if self.recorder is None:
                self.handler.handle(block, now)
            else:
                RecordingHandler.handle(self, block, now)

    return Lazy(handler, None)


def close_recorders() -> None:
    while _OPEN:
        _OPEN.pop().close()
