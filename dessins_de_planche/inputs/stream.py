"""The live audio input: a PortAudio stream whose callback feeds the block handler.

Runs in the input process only (PortAudio can abort the process that holds a
stream when its audio server vanishes; the render process must not be it).
"""

from __future__ import annotations

import logging
import threading

import sounddevice as sd

from dessins_de_planche.clock import master_time
from dessins_de_planche.config import InputSpec
from dessins_de_planche.inputs.devices import DeviceNotFound, find_audio_device, list_audio_inputs, rescan_audio
from dessins_de_planche.inputs.sources import LatenessMeter

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class LiveAudio:
    """Keeps an input stream open on the named device; waits and retries while it is missing.

    `state` is 'waiting for device' until the stream runs, then 'listening'.
    `lost` is set when a running stream stops by itself (device unplugged, audio
    server gone): PortAudio cannot always close such a stream (JACK: close hangs,
    exit aborts), so the input process ends there and the render process starts
    a fresh one, which waits for the device.
    """

    def __init__(self, spec: InputSpec, channels: tuple[int, ...], make_handler):
        self.spec = spec
        self.channels = channels
        self.make_handler = make_handler  # (sample_rate, block_size) -> BlockHandler
        self.state = "waiting for device"
        self.device_name = str(spec.audio_device)
        self.sample_rate = spec.sample_rate
        self.block_size = spec.block_size
        self.error = ""
        self.lost = False
        self.overflows = 0
        self.lateness = LatenessMeter()
        self.handler = None
        self.stream = None
        self._failure = None

    @property
    def blocks(self) -> int:
        return self.lateness.count

    def callback(self, indata, frames, time, status) -> None:
        """Runs on PortAudio's audio thread.

        Real-time rules: no allocation beyond CPython's small objects, no I/O, no
        print, no lock, never a wait. Overflows are only counted here; the status
        thread reports them.
        """
        now = master_time()
        handler = self.handler
        if status.input_overflow:
            self.overflows += 1
            # blocks were lost, so frames counted no longer match time: re-anchor the stream clock
            handler.clock.resync()
        try:
            handler.handle(indata, now)
        except Exception as error:  # kept for the status thread; the stream stops and is reopened
            self._failure = error
            raise sd.CallbackAbort from error
        # lateness: callback entry minus when the block's last frame arrived, per the stream clock
        self.lateness.record(now - handler.clock.to_master(handler.frames))

    def run(self, stop: threading.Event) -> None:
        """The watcher thread: open, watch, and give up the process if the stream dies."""
        while not stop.is_set():
            if self.stream is None:
                try:
                    self._open()
                except (DeviceNotFound, sd.PortAudioError, ValueError) as error:
                    self._wait(str(error))
                    if stop.wait(RETRY_SECONDS):
                        return
                    rescan_audio()
                    continue
            elif not self.stream.active:
                failure = self._failure
                self.error = (f"the audio stream on {self.device_name!r} failed: {failure!r}" if failure
                              else f"the audio stream on {self.device_name!r} stopped (device unplugged or "
                                   "audio server gone)")
                log.warning("%s", self.error)
                self.state = "waiting for device"
                self.lost = True
                return
            stop.wait(0.1)

    def _wait(self, message: str) -> None:
        if message != self.error:
            log.warning("waiting for the audio device: %s", message)
        self.state = "waiting for device"
        self.error = message

    def _open(self) -> None:
        inputs = list_audio_inputs()
        index = find_audio_device(self.spec.audio_device, inputs)
        device = next(d for d in inputs if d.index == index)
        needed = max(self.channels)
        if needed > device.channels:
            raise DeviceNotFound(f"audio device {device.name!r} has {device.channels} input channels; "
                                 f"channel {needed} was asked for")
        rates = [self.spec.sample_rate]
        if device.default_rate and int(device.default_rate) != self.spec.sample_rate:
            rates.append(int(device.default_rate))  # e.g. a JACK server running at another rate
        for attempt, rate in enumerate(rates):
            self.handler = self.make_handler(rate, self.spec.block_size)
            try:
                stream = sd.InputStream(device=index, channels=needed, samplerate=rate,
                                        blocksize=self.spec.block_size, dtype="float32", callback=self.callback)
                break
            except sd.PortAudioError:
                if attempt == len(rates) - 1:
                    raise
        self.device_name = f"{device.name} ({device.host_api})"
        self.sample_rate = rate
        self.block_size = self.spec.block_size
        self._failure = None
        stream.start()
        self.stream = stream
        self.state = "listening"
        self.error = ""
        log.info("listening to %s, channels %s, %d Hz, %d-frame blocks", self.device_name,
                 ",".join(map(str, self.channels)), rate, self.block_size)

    def close(self) -> None:
        """Close the stream (only while its device is alive; see `lost`)."""
        if self.stream is not None and not self.lost:
            self.stream.close()
        self.stream = None
