"""The gallery's pictures: every preset drawn from the same bundled demo performance.

The demo is synthesized (`listen.synth`, deterministic): a tune on a two-zone
board, first "en trois" (heel, toe, toe: three taps a beat), then "en quatre"
(heel, toe, heel, toe), over fiddle and piano; it goes through the real detector
(`analyze`), so the thumbnails show what the live app would draw.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

THUMBNAIL_SIZE = (480, 270)
SAMPLE_RATE = 48_000
PART_SECONDS = 16.0


def demo_audio(part_seconds: float = PART_SECONDS) -> np.ndarray:
    """Two parts of one tune: en trois, then en quatre, on a two-zone board (channels 1 and 2)."""
    from dessins_de_planche.listen.synth import podorhythm

    trois, _ = podorhythm(seconds=part_seconds, sample_rate=SAMPLE_RATE, bpm=112.0, taps_per_beat=3,
                          pattern=("heel", "toe", "toe"), seed=11, channels=2, taps_from=0.5)
    quatre, _ = podorhythm(seconds=part_seconds, sample_rate=SAMPLE_RATE, bpm=112.0, taps_per_beat=4,
                           pattern=("heel", "toe", "heel", "toe"), seed=12, channels=2, taps_from=0.0)
    return np.concatenate([trois, quatre])


def demo_performance(part_seconds: float = PART_SECONDS):
    """The demo through the live detector path: an `Analysis` with .taps and .duration."""
    import soundfile

    from dessins_de_planche.inputs.analyze import analyze_file

    with tempfile.TemporaryDirectory(prefix="dessins-demo-") as folder:
        path = Path(folder) / "demo.wav"
        soundfile.write(str(path), demo_audio(part_seconds), SAMPLE_RATE, subtype="PCM_16")
        return analyze_file(str(path))


def render_gallery(presets, out_dir, size=THUMBNAIL_SIZE, performance=None, progress=None,
                   print_mode: bool = False) -> list[Path]:
    """One PNG per preset, `out_dir/NAME.png`, all from the same performance: the live look's last frame,
    or with `print_mode` the whole performance fitted to the page (`render/printing.py`)."""
    import moderngl

    from dessins_de_planche.render import printing
    from dessins_de_planche.render.offline import replay, write_png

    performance = performance or demo_performance()
    out_dir = Path(out_dir)
    written = []
    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    try:
        for number, preset in enumerate(presets, start=1):
            path = out_dir / f"{preset.name}.png"
            if print_mode:
                write_png(printing.draw_print(ctx, printing.plan(ctx, performance, preset, size)), path)
            else:
                scene = replay(ctx, performance.taps, performance.duration, preset, size)
                write_png(scene.read_canvas(), path)
                scene.release()
            written.append(path)
            if progress is not None:
                progress(preset.name, number, len(presets))
    finally:
        ctx.release()
    return written

