"""`run --record-video FILE.mp4`: the projected picture, recorded live without slowing the show.

Per frame the render loop only starts a read-back of the picture into a pixel-buffer
object (the GPU copies it while the frame goes on) and collects the one started on
the frame before, already done; a thread of its own turns those pixels into H.264
(PyAV releases the GIL while it encodes). When the encoder falls behind, frames are
dropped and counted, never waited for. Frames are stamped with their own time on the
video's frame grid, so a frame the loop was late for lands where it was shown.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import moderngl
import numpy as np

log = logging.getLogger("dessins_de_planche.app")

QUEUE_FRAMES = 8  # frames waiting for the encoder before the next one is dropped
# moderngl reads through GL_COLOR_ATTACHMENT0 + attachment; a window's own framebuffer has no
# attachments (GL_INVALID_OPERATION there), it has a back buffer: the frame about to be shown
SCREEN_BACK_BUFFER = 0x0405 - 0x8CE0  # GL_BACK - GL_COLOR_ATTACHMENT0


class VideoRecorder:
    def __init__(self, ctx: moderngl.Context, path, window_size, fps: float = 60.0):
        import av

        self.ctx = ctx
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        width, height = int(window_size[0]) // 2 * 2, int(window_size[1]) // 2 * 2  # H.264 wants even sizes
        self.size = (width, height)
        self.frames = 0  # encoded
        self.dropped = 0  # the encoder was behind: not recorded
        self.skipped = 0  # shown faster than the video's frame rate: a slot already taken
        self.error = ""
        self._container = av.open(str(self.path), mode="w")
        self.fps = round(fps)
        self._stream = self._container.add_stream("libx264", rate=self.fps)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
        self._stream.options = {"preset": "veryfast", "crf": "20"}
        self._buffers = [ctx.buffer(reserve=width * height * 3) for _ in range(2)]
        self._pending = None  # (buffer index, shown at) of the read-back started last frame
        self._turn = 0
        self._start = None
        self._last_slot = -1
        self._queue: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._encode, name="video-record", daemon=True)
        self._thread.start()
        log.info("recording the picture to %s (%dx%d)", self.path, width, height)

    def capture(self, framebuffer, now: float) -> None:
        """Per frame, after the picture is on `framebuffer`: start its read-back, hand on the last.
        A frame that falls in the same slot of the video's frame grid as the last one is not taken
        (a loop faster than the video's rate)."""
        if self._start is None:
            self._start = now
        slot = int(round((now - self._start) * self.fps))
        if slot <= self._last_slot:
            self.skipped += 1
            return
        self._last_slot = slot
        if self._pending is not None:
            index, pending_slot = self._pending
            pixels = self._buffers[index].read()  # started a frame ago: done by now
            try:
                self._queue.put_nowait((pending_slot, pixels))
            except queue.Full:
                self.dropped += 1
        index = self._turn
        self._turn ^= 1
        attachment = SCREEN_BACK_BUFFER if framebuffer is self.ctx.screen else 0
        framebuffer.read_into(self._buffers[index], viewport=(0, 0, *self.size), components=3, alignment=1,
                              attachment=attachment)
        self._pending = (index, slot)

    def _encode(self) -> None:
        import av

        width, height = self.size
        while True:
            item = self._queue.get()
            if item is None:
                break
            slot, pixels = item
            try:
                image = np.frombuffer(pixels, np.uint8).reshape(height, width, 3)[::-1]  # GL rows: bottom first
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts = slot  # the frame's own time on the video's grid: a late one lands where it was shown
                self._container.mux(self._stream.encode(frame))
                self.frames += 1
            except Exception as error:  # a full disk, a codec error: the show goes on without it
                if not self.error:
                    log.error("recording the picture stopped: %s", error)
                self.error = str(error)

    def close(self) -> None:
        if self._pending is not None:  # the last frame shown
            index, slot = self._pending
            self._queue.put((slot, self._buffers[index].read()))
            self._pending = None
        self._queue.put(None)
        self._thread.join(30.0)
        try:
            self._container.mux(self._stream.encode(None))
        except Exception as error:
            self.error = self.error or str(error)
        finally:
            self._container.close()
            for buffer in self._buffers:
                buffer.release()
        log.info("recorded %d frames of the picture to %s (%d dropped: the encoder was behind; %d faster than "
                 "%d fps)", self.frames, self.path, self.dropped, self.skipped, self.fps)
