"""The projected picture, live, out of the show without slowing it: to a file or a virtual camera.

`run --record-video FILE.mp4` records it as H.264; `run --virtual-camera` feeds it to
another program (OBS, a streaming setup, a VJ mixer) through a virtual camera
(Linux: v4l2loopback, through the optional `pyvirtualcam`).

Per frame the render loop only starts a read-back of the picture into a pixel-buffer
object (the GPU copies it while the frame goes on) and collects the one started on the
frame before, already done; a thread of its own hands those pixels on (PyAV lets go of
the GIL while it encodes). When that thread falls behind, frames are dropped and
counted, never waited for. Frames are stamped with their own time on the video's frame
grid, so a frame the loop was late for lands where it was shown.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import moderngl
import numpy as np

from dessins_de_planche.errors import UserError

log = logging.getLogger("dessins_de_planche.app")

QUEUE_FRAMES = 8  # frames waiting for the sink before the next one is dropped
# moderngl reads through GL_COLOR_ATTACHMENT0 + attachment; a window's own framebuffer has no
# attachments (GL_INVALID_OPERATION there), it has a back buffer: the frame about to be shown
SCREEN_BACK_BUFFER = 0x0405 - 0x8CE0  # GL_BACK - GL_COLOR_ATTACHMENT0


class VirtualCameraUnavailable(UserError):
    pass


class H264File:
    """Frames into an H.264 file (PyAV's own FFmpeg)."""

    def __init__(self, path, size, fps: int):
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), mode="w")
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.width, self._stream.height, self._stream.pix_fmt = size[0], size[1], "yuv420p"
        self._stream.options = {"preset": "veryfast", "crf": "20"}

    def __str__(self) -> str:
        return str(self.path)

    def write(self, image: np.ndarray, slot: int) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = slot
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()


class VirtualCamera:
    """Frames into a virtual camera that other programs open like a webcam."""

    def __init__(self, size, fps: int):
        try:
            import pyvirtualcam
        except ImportError:
            raise VirtualCameraUnavailable(
                "the virtual camera needs pyvirtualcam (pip install 'dessins-de-planche[camera]') and, on Linux, "
                "the v4l2loopback module (sudo modprobe v4l2loopback)") from None
        try:
            self._camera = pyvirtualcam.Camera(width=size[0], height=size[1], fps=fps)
        except Exception as error:  # no loopback device, no driver: say so in one line
            raise VirtualCameraUnavailable(f"no virtual camera could be opened ({error}); on Linux load "
                                           f"v4l2loopback: sudo modprobe v4l2loopback") from None

    def __str__(self) -> str:
        return f"the virtual camera {self._camera.device}"

    def write(self, image: np.ndarray, slot: int) -> None:
        self._camera.send(image)

    def close(self) -> None:
        self._camera.close()


class PictureTap:
    """Reads the projected picture back each frame, without waiting, for a sink on its own thread."""

    def __init__(self, ctx: moderngl.Context, sink_factory, window_size, fps: float = 60.0):
        self.ctx = ctx
        width, height = int(window_size[0]) // 2 * 2, int(window_size[1]) // 2 * 2  # H.264 wants even sizes
        self.size = (width, height)
        self.fps = round(fps)
        self.sink = sink_factory(self.size, self.fps)
        self.frames = 0  # handed to the sink
        self.dropped = 0  # the sink was behind: not recorded
        self.skipped = 0  # shown faster than the video's frame rate: a slot already taken
        self.error = ""
        self._buffers = [ctx.buffer(reserve=width * height * 3) for _ in range(2)]
        self._pending = None  # (buffer index, grid slot) of the read-back started last frame
        self._turn = 0
        self._start = None
        self._last_slot = -1
        self._queue: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._hand_on, name="picture-out", daemon=True)
        self._thread.start()
        log.info("the picture goes to %s (%dx%d, %d fps)", self.sink, width, height, self.fps)

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

    def _hand_on(self) -> None:
        width, height = self.size
        while True:
            item = self._queue.get()
            if item is None:
                break
            slot, pixels = item
            try:
                image = np.frombuffer(pixels, np.uint8).reshape(height, width, 3)[::-1]  # GL rows: bottom first
                self.sink.write(np.ascontiguousarray(image), slot)
                self.frames += 1
            except Exception as error:  # a full disk, a codec error: the show goes on without it
                if not self.error:
                    log.error("sending the picture to %s stopped: %s", self.sink, error)
                self.error = str(error)

    def close(self) -> None:
        if self._pending is not None:  # the last frame shown
            index, slot = self._pending
            self._queue.put((slot, self._buffers[index].read()))
            self._pending = None
        self._queue.put(None)
        self._thread.join(30.0)
        try:
            self.sink.close()
        except Exception as error:
            self.error = self.error or str(error)
        finally:
            for buffer in self._buffers:
                buffer.release()
        log.info("recorded %d frames of the picture to %s (%d dropped: the encoder was behind; %d faster than "
                 "%d fps)", self.frames, self.sink, self.dropped, self.skipped, self.fps)


def video_recorder(ctx, path, window_size, fps: float = 60.0) -> PictureTap:
    return PictureTap(ctx, lambda size, rate: H264File(path, size, rate), window_size, fps)


def virtual_camera(ctx, window_size, fps: float = 60.0) -> PictureTap:
    return PictureTap(ctx, VirtualCamera, window_size, fps)
