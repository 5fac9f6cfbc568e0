"""Two ways to show a tap the detector may still withdraw: what each costs in delay, and what it shows.

The detector emits a tap at once and, within 25 ms, confirms it (a refine record) or withdraws it.
A mark can be

    confirm  held back until the confirmation, then drawn whole (Dessins de Planche's way), or
    grow     drawn at once, growing in over the 25 ms window (a withdrawn one is removed mid-way).

Three measurements, none of which depends on this machine's speed:

1. The detector's word: how long after a tap's first emission its follow-up comes, on generated
   podorhythm through the live path (`analyze`), in stream samples.
2. The added delay of holding back, in a 60 Hz frame loop: a tap first shows in the frame that
   drains its first emission (grow) or its confirmation (confirm); frames at a random phase to the
   taps. Add the result to the first-emission tap-to-photon of `bench/tap_to_photon.py`, which
   also measures it end to end (its "held until confirmed" line).
3. What a withdrawn tap shows, in pixels (EGL): each gallery look, a tap withdrawn 10 and 20 ms
   after its emission, frames every 4 ms against the same scene fed no tap; the peak of the
   difference as a share of the same tap's when confirmed.

    .venv/bin/python bench/withdraw.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

FRAME = 1 / 60
STEP = 0.004
VISIBLE = 3  # levels of 255: a pixel off the blank picture by this much shows
LOOKS = ("rosette", "constellation", "thread", "sparks", "ink", "weave", "lanes", "figure")


class SteadyTempo:
    """A tempo known before the tap (lanes and the figure keep the beat with or without taps)."""

    bpm, bar_beats, beat_period = 120.0, 2, 0.5

    def beat_phase(self, t):
        return (t / self.beat_period) % 1.0

    def bar_phase(self, t):
        return (t / self.beat_period / self.bar_beats) % 1.0


def detector_word(seconds: float) -> tuple[str, np.ndarray, np.ndarray, int]:
    """(detector version, first emissions' detected_at, their follow-ups' detected_at, taps withdrawn)
    on a generated reel."""
    import soundfile

    from dessins_de_planche.events import RECORD_FIRST, RECORD_WITHDRAW
    from dessins_de_planche.inputs.analyze import analyze_file
    from dessins_de_planche.listen.detector_settings import DETECTOR_VERSION
    from dessins_de_planche.listen.synth import podorhythm

    audio, _ = podorhythm(seconds, 48_000, 112, 2, ("heel", "toe"), seed=21, level_db=-12.0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "reel.wav")
        soundfile.write(path, audio, 48_000, subtype="PCM_24")
        records = analyze_file(path).taps
    first = {int(r["tap_id"]): float(r["detected_at"]) for r in records if r["refine"] == RECORD_FIRST}
    pairs = [(first[int(r["tap_id"])], float(r["detected_at"])) for r in records
             if r["refine"] != RECORD_FIRST and int(r["tap_id"]) in first]
    pairs = np.array(pairs) if pairs else np.zeros((0, 2))
    return DETECTOR_VERSION, pairs[:, 0], pairs[:, 1], int((records["refine"] == RECORD_WITHDRAW).sum())


def added_delay(first: np.ndarray, word: np.ndarray, rng, draws: int = 64) -> np.ndarray:
    """ms between the frame that drains the first emission and the one that drains the word, frames
    every FRAME s at `draws` random phases per tap."""
    phase = rng.uniform(0, FRAME, (len(first), draws))
    shown_first = np.ceil((first[:, None] - phase) / FRAME) * FRAME + phase
    shown_word = np.ceil((word[:, None] - phase) / FRAME) * FRAME + phase
    return ((shown_word - shown_first) * 1e3).ravel()


def withdrawn_shows(ctx, gallery, look: str, provisional: str, after: float) -> tuple[float, int]:
    """(peak difference of a tap withdrawn `after` s after its emission, as a share of the same tap
    confirmed; frames in which it showed)."""
    from dessins_de_planche.events import RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW, TAP_DTYPE
    from dessins_de_planche.render.scene import Scene

    size = (320, 180)
    target = ctx.simple_framebuffer(size)

    def frames(records):
        scene = Scene(ctx, gallery[look], size)
        scene.provisional = provisional
        scene.rhythm = SteadyTempo()
        out, fed = [], 0
        for now in 0.9 + STEP * np.arange(1, 176):
            upto = int(np.searchsorted(records["detected_at"], now, side="right"))
            if upto > fed:
                scene.add_taps(records[fed:upto])
                fed = upto
            scene.render(float(now), target)
            out.append(np.frombuffer(target.read(components=3), np.uint8).astype(int))
        scene.release()
        return np.array(out)

    def tap(follow):
        return np.array([(1.0, 1.005, 0.9, 7, 1, 0, 0, 1, RECORD_FIRST, 0),
                         (1.0, 1.005 + after, 0.9, 7, 1, 0, 0, 1, follow, 0)], TAP_DTYPE)

    try:
        blank = frames(np.zeros(0, TAP_DTYPE))
        withdrawn = np.abs(frames(tap(RECORD_WITHDRAW)) - blank)
        confirmed = np.abs(frames(tap(RECORD_REFINE)) - blank)
    finally:
        target.release()
    share = float(withdrawn.sum(axis=1).max() / max(confirmed.sum(axis=1).max(), 1))
    return share, int(((withdrawn >= VISIBLE).any(axis=1)).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the generated reel")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    version, first, word, withdrawn = detector_word(args.seconds)
    latency = (word - first) * 1e3
    print(f"detector {version}: {len(first)} taps, {withdrawn} withdrawn; follow-up after the first emission: median "
          f"{np.median(latency):.1f} ms, p95 {np.percentile(latency, 95):.1f}, max {latency.max():.1f} ms")
    added = added_delay(first, word, np.random.default_rng(1))
    window = added_delay(first, first + 0.025, np.random.default_rng(1))
    print(f"added delay at 60 Hz, held until confirmed: mean {added.mean():.1f} ms, median {np.median(added):.1f}, "
          f"p99 {np.percentile(added, 99):.1f} ms (whole frames: a tap shows one frame later, or in the same one)")
    print(f"  a detector that always took the whole 25 ms window: mean {window.mean():.1f} ms, median "
          f"{np.median(window):.1f}, p99 {np.percentile(window, 99):.1f} ms")
    print("added delay, growing in: 0 ms to the first (faint) light; the whole mark 25 ms after the emission")

    import moderngl

    from dessins_de_planche.paths import presets_dir
    from dessins_de_planche.preset import load_gallery

    ctx = moderngl.create_standalone_context(backend="egl", require=330)
    gallery = load_gallery(presets_dir())
    print("\nwithdrawn tap, peak light shown as a share of the confirmed mark's (frames in which it showed, "
          "4 ms apart):")
    print(f"  {'look':<14} {'confirm, 10 ms':>16} {'confirm, 20 ms':>16} {'grow, 10 ms':>16} {'grow, 20 ms':>16}")
    for look in LOOKS:
        cells = []
        for provisional in ("confirm", "grow"):
            for after in (0.010, 0.020):
                share, shown = withdrawn_shows(ctx, gallery, look, provisional, after)
                cells.append(f"{share:6.2f} ({shown:2d})")
        print(f"  {look:<14} " + " ".join(f"{c:>16}" for c in cells))
    ctx.release()


if __name__ == "__main__":
    main()
