"""A recording of an audio input, made by PortAudio in a process of its own, into shared memory.

For the commands that listen in the foreground (`calibrate`). A JACK client that stalls for half
a second (a loaded machine) is dropped by the server, and PortAudio's close of its stream then
waits ten minutes; closing can also crash. Here the stream lives in a spawned child that writes
every block into shared memory, so the recording is the caller's the moment it arrives: a child
that hangs on closing is killed, one that crashes mid-recording becomes a sentence.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from multiprocessing import shared_memory

import numpy as np

from dessins_de_planche.inputs.probe import AudioSystemFailed, await_reply, crash_text, send_reply
from dessins_de_planche.inputs.shm import SEGMENT_PREFIX, remove_stale_segments
from dessins_de_planche.ring import attach_untracked

_HEADER = 64  # int64 slots: frames written, the stream stopped by itself, stop asked
_FRAMES, _STOPPED, _STOP = 0, 1, 2
CLOSE_WAIT_S = 2.0  # what a healthy close takes, with room; then the child is killed
OPEN_TIMEOUT_S = 20.0


def _views(shm, frames: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    header = np.ndarray((_HEADER // 8,), np.int64, shm.buf)
    return header, np.ndarray((frames, channels), np.float32, shm.buf, offset=_HEADER)


class AudioCapture:
    """Records `channels` input channels of `device` for up to `seconds`, from the moment it is
    made until `close`. `frames`, `buffer` and `since` read what has arrived so far."""

    def __init__(self, device, channels: int, sample_rate: int, block_size: int, seconds: float):
        remove_stale_segments()
        length = int(seconds * sample_rate)
        self._shm = shared_memory.SharedMemory(
            create=True, size=_HEADER + length * channels * 4,
            name=f"{SEGMENT_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-capture")
        self._shm.buf[:_HEADER] = bytes(_HEADER)
        self._header, self.buffer = _views(self._shm, length, channels)
        self.sample_rate = sample_rate
        self._closed = False
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        self._child = context.Process(
            target=_record, name="ddp-capture", daemon=True,
            args=(self._shm.name, device, channels, sample_rate, block_size, length, sender, os.getpid()))
        self._child.start()
        sender.close()
        try:
            self.device_name = await_reply(receiver, self._child, OPEN_TIMEOUT_S, "the audio input")
        except BaseException:
            self.close()
            raise
        finally:
            receiver.close()

    @property
    def frames(self) -> int:
        """Frames recorded so far. Raises `AudioSystemFailed` once no more can come: the stream
        stopped by itself (device unplugged, server gone) or the recording process died."""
        if self._closed:
            return int(self._header[_FRAMES])
        if self._header[_STOPPED]:
            raise AudioSystemFailed(f"the audio stream on {self.device_name} stopped while recording "
                                    "(device unplugged or audio server gone)")
        if not self._child.is_alive():
            raise AudioSystemFailed(crash_text(self._child.exitcode, "a recording of the audio input",
                                               doing="making"))
        return int(self._header[_FRAMES])

    def since(self, frame: int) -> np.ndarray:
        """What was recorded from `frame` on (a view); raises as `frames` does, so a command
        polling its recording is told at once when no more will come."""
        return self.buffer[frame : self.frames]

    def close(self) -> None:
        """End the recording (what was recorded stays readable until the object goes), the child
        killed if its close does not end in `CLOSE_WAIT_S`."""
        if self._closed:
            return
        self._closed = True
        if self._child.pid is not None:
            self._header[_STOP] = 1  # a flag, not an Event: setting one waits on a sleeper that may be dead
            self._child.join(CLOSE_WAIT_S)
            if self._child.is_alive():
                self._child.kill()
                self._child.join(5)
        self.buffer = self.buffer.copy()  # the segment goes; the recording stays
        self._header = self._header.copy()
        try:
            self._shm.close()
        except BufferError:  # a caller still holds a view of it: the mapping goes with that view
            pass
        self._shm.unlink()

    def __enter__(self) -> "AudioCapture":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _record(name, device, channels, sample_rate, block_size, length, sender, parent_pid) -> None:
    """The child: open the stream, write each block into the segment, until told to stop or the
    parent is gone."""
    shm = attach_untracked(name)
    header, buffer = _views(shm, length, channels)
    try:
        import sounddevice as sd

        from dessins_de_planche.errors import DeviceNotFound
        from dessins_de_planche.inputs.devices import find_audio_device, list_audio_inputs

        inputs = list_audio_inputs()
        index = find_audio_device(device, inputs)
        info = next(d for d in inputs if d.index == index)
        if channels > info.channels:
            raise DeviceNotFound(f"audio device {info.name!r} has {info.channels} input channels; "
                                 f"channel {channels} was asked for")

        def callback(indata, frames, time_info, status) -> None:
            start = int(header[_FRAMES])
            end = min(start + frames, length)
            buffer[start:end] = indata[: end - start]
            header[_FRAMES] = end  # after the copy: the reader never sees frames not yet written

        stream = sd.InputStream(device=index, channels=channels, samplerate=sample_rate, blocksize=block_size,
                                dtype="float32", callback=callback)
        stream.start()
    except Exception as error:
        send_reply(sender, False, error)
        os._exit(0)
    send_reply(sender, True, f"{info.name} ({info.host_api})")
    while not header[_STOP] and os.getppid() == parent_pid:
        time.sleep(0.05)
        if not stream.active:
            header[_STOPPED] = 1
            os._exit(0)  # closing a stream whose server vanished hangs or crashes
    stream.close()
    os._exit(0)  # nothing left to flush; PortAudio's exit handler can hang like its close
