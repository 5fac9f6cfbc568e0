"""Video out: a performance re-rendered frame by frame as H.264, with its sound when it has some.

The same replay as the PNG render (`render.offline.replay`), stepped at the video's own
frame rate, each step's picture (canvas and live marks) read back and encoded. PyAV
carries its own FFmpeg (libx264, AAC) in its wheel, so no system FFmpeg is needed and
the result does not depend on what the machine has installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
AUDIO_RATE = 48_000


def is_video(path) -> bool:
    return Path(str(path)).suffix.lower() in VIDEO_SUFFIXES


def render_video(take, preset, size, out_path, fps: float = 60.0, audio_path=None, progress=None,
                 tracker_factory=None, tail: float = 0.5, crf: int = 18) -> int:
    """Write `out_path` (H.264, yuv420p) from `take` (.taps, .duration); `audio_path` (a WAV/FLAC)
    adds its sound as AAC. Returns the number of video frames written."""
    import av
    import moderngl

    from dessins_de_planche.render.offline import replay

    width, height = int(size[0]), int(size[1])
    if width % 2 or height % 2:
        raise ValueError(f"a video's width and height must be even (got {width}x{height})")
    if not 1 <= fps <= 240:
        raise ValueError(f"--fps must be between 1 and 240 (got {fps:g})")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    container = av.open(str(out_path), mode="w")
    try:
        video = container.add_stream("libx264", rate=round(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": "veryfast"}
        sound = None
        if audio_path is not None and Path(str(audio_path)).suffix.lower() in AUDIO_SUFFIXES:
            sound = _read_audio(audio_path)  # every stream is declared before the first frame is written
            audio = container.add_stream("aac", rate=AUDIO_RATE, layout=sound[2])
        written = []

        def encode(index, now, scene):
            frame = av.VideoFrame.from_ndarray(scene.read_canvas(), format="rgb24")
            frame.pts = index - 1
            container.mux(video.encode(frame))
            written.append(index)

        scene = replay(ctx, take.taps, getattr(take, "duration", 0.0), preset, (width, height), 1.0 / round(fps),
                       progress, tracker_factory, tail, on_step=encode)
        scene.release()
        container.mux(video.encode(None))
        if sound is not None:
            _encode_audio(container, audio, *sound)
        return len(written)
    finally:
        container.close()
        ctx.release()


def _read_audio(audio_path):
    """(samples, rate, layout): the take's sound, mixed to at most two channels."""
    import soundfile

    samples, rate = soundfile.read(str(audio_path), dtype="float32", always_2d=True)
    if samples.shape[1] > 2:  # a board of several channels: heard as one
        samples = samples.mean(axis=1, keepdims=True)
    samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return samples, rate, "stereo" if samples.shape[1] == 2 else "mono"


def _encode_audio(container, stream, samples, rate, layout) -> None:
    """As AAC at 48 kHz."""
    import av

    resampler = av.AudioResampler(format="fltp", layout=layout, rate=AUDIO_RATE)
    chunk = 4096
    for start in range(0, len(samples), chunk):
        block = np.ascontiguousarray(samples[start:start + chunk].T)  # planar: channels x frames
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = rate
        for resampled in resampler.resample(frame):
            container.mux(stream.encode(resampled))
    for resampled in resampler.resample(None):
        container.mux(stream.encode(resampled))
    container.mux(stream.encode(None))
