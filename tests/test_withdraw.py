"""A tap the detector takes back (a withdraw record) is gone from the drawing: in pixels, with real GL.

The detector emits a tap at once and, within 25 ms, either confirms it (a refine record) or
withdraws it. Frames are drawn every 4 ms (four times a 60 Hz loop's rate, so no moment of the
provisional mark is skipped) and each is compared with the same scene fed no tap at all.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

from dessins_de_planche.events import (KIND_HEEL, KIND_TOE, RECORD_FIRST, RECORD_REFINE, RECORD_WITHDRAW,
                                       SOURCE_MIDI, TAP_DTYPE, WORD_TIMEOUT, TapSettler, final_taps)
from dessins_de_planche.preset import load_gallery
from dessins_de_planche.paths import presets_dir
from dessins_de_planche.render.canvas import release_framebuffer
from dessins_de_planche.render.scene import Scene
from dessins_de_planche.ring import Ring

pytestmark = pytest.mark.gl

SIZE = (320, 180)
STEP = 0.004
VISIBLE = 3  # a pixel differs visibly when one channel is this many levels (of 255) off the blank picture
LOOKS = ("rosette", "constellation", "thread", "sparks", "ink", "weave", "lanes", "figure")


class SteadyRhythm:
    bpm, bar_beats = 120.0, 2

    def beat_phase(self, t):
        return (t * self.bpm / 60.0) % 1.0

    def bar_phase(self, t):
        return (t * self.bpm / 60.0 / self.bar_beats) % 1.0


def record(time, detected, kind=KIND_HEEL, follow=RECORD_FIRST, tap_id=7, velocity=0.9, source=0):
    return np.array([(time, detected, velocity, tap_id, 1, source, 0, kind, follow, 0)], TAP_DTYPE)


def tap_then(follow, after=0.020, source=0, tap_id=7):
    """A heel at 1.000 s emitted 5 ms later, then (unless follow is None) its follow-up `after` s later."""
    records = [record(1.0, 1.005, KIND_HEEL, RECORD_FIRST, tap_id, source=source)]
    if follow is not None:
        records.append(record(1.0, 1.005 + after, KIND_TOE, follow, tap_id, source=source))
    return np.concatenate(records)


@pytest.fixture(scope="module")
def gallery():
    return load_gallery(presets_dir())


@pytest.fixture
def target(ctx):
    fbo = ctx.simple_framebuffer(SIZE)
    yield fbo
    release_framebuffer(ctx, fbo)


def frames_of(ctx, target, preset, records, provisional="confirm", end=1.6):
    """Every frame's picture (HxWx3 int), records handed over once their detected_at has passed."""
    scene = Scene(ctx, preset, SIZE)
    scene.provisional = provisional
    scene.rhythm = SteadyRhythm()  # the tempo is known before the tap: the blank picture keeps the beat too
    pictures, fed = [], 0
    try:
        for now in 0.9 + STEP * np.arange(1, int(round((end - 0.9) / STEP)) + 1):
            upto = int(np.searchsorted(records["detected_at"], now, side="right"))
            if upto > fed:
                scene.add_taps(records[fed:upto], SteadyRhythm())
                fed = upto
            scene.render(float(now), target)
            pictures.append(np.frombuffer(target.read(components=3), np.uint8).reshape(SIZE[1], SIZE[0], 3)
                            .astype(int))
    finally:
        scene.release()
    return np.array(pictures)


def visible(frames, blank):
    """Per frame, how many pixels differ visibly from the blank picture of the same moment."""
    return (np.abs(frames - blank).max(axis=3) >= VISIBLE).sum(axis=(1, 2))


@pytest.mark.parametrize("look", LOOKS)
def test_a_tap_withdrawn_20_ms_later_never_shows_and_a_confirmed_one_does(ctx, target, gallery, look):
    preset = gallery[look]
    blank = frames_of(ctx, target, preset, np.zeros(0, TAP_DTYPE))
    withdrawn = visible(frames_of(ctx, target, preset, tap_then(RECORD_WITHDRAW)), blank)
    confirmed = visible(frames_of(ctx, target, preset, tap_then(RECORD_REFINE)), blank)
    assert withdrawn.max() == 0, f"{look}: a withdrawn tap showed in frames {np.flatnonzero(withdrawn).tolist()}"
    assert confirmed.max() > 0 and confirmed[-1] > 0, f"{look}: the confirmed tap leaves a mark"


def test_a_confirmed_tap_shows_at_its_confirmation_and_a_silent_one_after_the_stamp_delay(ctx, target, gallery):
    preset = gallery["rosette"]
    blank = frames_of(ctx, target, preset, np.zeros(0, TAP_DTYPE))
    times = 0.9 + STEP * np.arange(1, len(blank) + 1)
    refined = visible(frames_of(ctx, target, preset, tap_then(RECORD_REFINE, after=0.010)), blank)
    first = times[np.argmax(refined > 0)]
    assert 1.015 <= first < 1.015 + STEP + 1e-9, "drawn in the first frame after the refine record"
    silent = visible(frames_of(ctx, target, preset, tap_then(None)), blank)  # attract mode: no word follows
    first = times[np.argmax(silent > 0)]
    assert 1.035 <= first < 1.035 + STEP + 1e-9, "a tap no detector follows up stands after the stamp delay"
    assert silent[-1] > 0


def test_a_midi_tap_shows_at_once_and_is_not_held(ctx, target, gallery):
    preset = gallery["rosette"]
    blank = frames_of(ctx, target, preset, np.zeros(0, TAP_DTYPE))
    times = 0.9 + STEP * np.arange(1, len(blank) + 1)
    shown = visible(frames_of(ctx, target, preset, tap_then(None, source=SOURCE_MIDI)), blank)
    assert 1.005 <= times[np.argmax(shown > 0)] < 1.005 + STEP + 1e-9


def test_growing_in_shows_at_once_and_a_withdrawn_tap_is_never_stamped(ctx, target, gallery):
    """The other way to show a provisional mark: light at once, growing in over the confirmation
    window. A tap withdrawn at 20 ms leaves nothing from the frame after its withdrawal on (what
    showed before it is measured in docs/performance.md: most of a whole mark, hence "confirm")."""
    preset = gallery["rosette"]
    blank = frames_of(ctx, target, preset, np.zeros(0, TAP_DTYPE))
    times = 0.9 + STEP * np.arange(1, len(blank) + 1)
    withdrawn_frames = frames_of(ctx, target, preset, tap_then(RECORD_WITHDRAW), provisional="grow")
    confirmed_frames = frames_of(ctx, target, preset, tap_then(RECORD_REFINE), provisional="grow")
    withdrawn, confirmed = visible(withdrawn_frames, blank), visible(confirmed_frames, blank)
    assert times[np.argmax(confirmed > 0)] < 1.005 + 2 * STEP, "the first light comes at once"
    after = times >= 1.025
    assert withdrawn[after].max() == 0, "gone from the frame after the withdraw record"
    assert confirmed[-1] > 0 and withdrawn[~after].max() > 0


@pytest.mark.parametrize("look", LOOKS)
def test_after_a_withdrawn_tap_the_drawing_goes_on_as_if_it_had_never_come(ctx, target, gallery, look):
    """Every layer forgets it: the thread's head goes back (no kink), a constellation links the next
    star to the last one standing, the figure's next strike is on the foot whose turn it was."""
    preset = gallery[look]
    steps = np.concatenate([record(1.0, 1.005, tap_id=1), record(1.0, 1.015, follow=RECORD_REFINE, tap_id=1),
                            record(1.2, 1.205, tap_id=2), record(1.2, 1.225, follow=RECORD_WITHDRAW, tap_id=2),
                            record(1.4, 1.405, tap_id=3), record(1.4, 1.415, follow=RECORD_REFINE, tap_id=3)])
    without = np.concatenate([steps[:2], steps[4:]])
    with_withdraw = frames_of(ctx, target, preset, steps)[-1]
    never_there = frames_of(ctx, target, preset, without)[-1]
    kept = frames_of(ctx, target, preset, np.concatenate([steps[:3], steps[4:]]))[-1]
    assert (np.abs(with_withdraw - never_there).max(axis=2) >= VISIBLE).sum() == 0
    assert (np.abs(kept - never_there).max(axis=2) >= VISIBLE).sum() > 0, "the tap would have shown"


def test_final_taps_drops_withdrawn_taps_and_counts_them():
    records = np.concatenate([
        record(1.0, 1.005, KIND_HEEL, RECORD_FIRST, 1),
        record(1.2, 1.205, KIND_HEEL, RECORD_FIRST, 2),
        record(1.0, 1.015, KIND_TOE, RECORD_REFINE, 1, velocity=0.4),
        record(1.2, 1.222, KIND_HEEL, RECORD_WITHDRAW, 2),
        record(1.4, 1.405, KIND_HEEL, RECORD_FIRST, 3),
        record(1.4, 1.410, KIND_TOE, RECORD_REFINE, 3),
        record(1.4, 1.420, KIND_TOE, RECORD_WITHDRAW, 3),  # a withdraw is the last word, even after a refine
        record(0.5, 0.520, KIND_TOE, RECORD_WITHDRAW, 99),  # its tap is not among the records: ignored
    ])
    taps, withdrawn = final_taps(records)
    assert withdrawn == 2
    assert taps["tap_id"].tolist() == [1]
    assert taps["kind"][0] == KIND_TOE and abs(float(taps["velocity"][0]) - 0.4) < 1e-6
    assert float(taps["detected_at"][0]) == 1.005, "the delay counts from the first emission"
    none, zero = final_taps(records[:2])
    assert none["tap_id"].tolist() == [1, 2] and zero == 0


def test_a_withdrawn_tap_leaves_the_vector_drawing_too(ctx, target, gallery):
    from dessins_de_planche.render.svg import Drawing

    scene = Scene(ctx, gallery["rosette"], SIZE)
    scene.drawing = Drawing()
    records = np.concatenate([tap_then(RECORD_WITHDRAW, tap_id=7), tap_then(RECORD_REFINE, tap_id=8)])
    try:
        for batch in (records[[0, 2]], records[[1, 3]]):
            scene.add_taps(batch, SteadyRhythm())
            scene.render(float(batch["detected_at"].max()), target)
    finally:
        scene.release()
    drawn = {tap_id for layer in scene.drawing.layers.values() for tap_id in layer}
    assert drawn == {8}


def detect_like_the_two_stage_detector(name: str, taps: int) -> None:
    """The input process: taps 100 ms apart, each emitted at once and followed 20 ms later by a
    refine (even ids) or a withdraw (odd ids), pushed into the tap ring as they happen."""
    ring = Ring.attach(name, TAP_DTYPE)
    start = time.monotonic() + 0.1
    for k in range(taps):
        for follow, delay in ((RECORD_FIRST, 0.0), (RECORD_WITHDRAW if k % 2 else RECORD_REFINE, 0.020)):
            due = start + 0.1 * k + 0.004 + delay
            time.sleep(max(0.0, due - time.monotonic()))  # pacing: a tap every 100 ms
            now = time.monotonic()
            ring.push(start + 0.1 * k, now, 0.9, k, 1, 0, 0, KIND_TOE if follow else KIND_HEEL, follow)
    ring.close()


def test_across_processes_withdrawn_taps_never_show_in_a_live_loop(ctx, gallery):
    """The real ring between a producer process and a 60 Hz render loop: every frame of the live
    scene equals, in pixels, a scene that never heard of the withdrawn taps."""
    ring = Ring.create(TAP_DTYPE, 256)
    spawn = multiprocessing.get_context("spawn")
    producer = spawn.Process(target=detect_like_the_two_stage_detector, args=(ring.name, 8), daemon=True)
    live, reference = Scene(ctx, gallery["rosette"], SIZE), Scene(ctx, gallery["rosette"], SIZE)
    targets = [ctx.simple_framebuffer(SIZE), ctx.simple_framebuffer(SIZE)]
    drained, differing, frames = [], [], 0
    try:
        producer.start()
        deadline = time.monotonic() + 60.0  # generous: spawn imports numpy
        next_frame = time.monotonic()
        while time.monotonic() < deadline:
            batch = ring.pop()
            if len(batch):
                drained.append(batch)
                live.add_taps(batch, SteadyRhythm())
                kept = batch[batch["tap_id"] % 2 == 0]
                if len(kept):
                    reference.add_taps(kept, SteadyRhythm())
            now = time.monotonic()
            pictures = []
            for scene, target in zip((live, reference), targets):
                scene.render(now, target)
                pictures.append(np.frombuffer(target.read(components=3), np.uint8).astype(int))
            frames += 1
            if (np.abs(pictures[0] - pictures[1]) >= VISIBLE).any():
                differing.append(frames)
            if not producer.is_alive() and ring.available == 0 and drained:
                break
            next_frame += 1 / 60
            time.sleep(max(0.0, next_frame - time.monotonic()))  # pacing: the render loop's 60 Hz
        producer.join(timeout=5)
        assert producer.exitcode == 0, "producer process failed"
        blank = Scene(ctx, gallery["rosette"], SIZE)
        blank.render(now, targets[1])
        blank.release()
        empty = np.frombuffer(targets[1].read(components=3), np.uint8).astype(int)
    finally:
        if producer.is_alive():
            producer.kill()
        ring.close()
        live.release()
        reference.release()
        for target in targets:
            release_framebuffer(ctx, target)
    records = np.concatenate(drained)
    taps, withdrawn = final_taps(records)
    assert len(records) == 16 and withdrawn == 4 and taps["tap_id"].tolist() == [0, 2, 4, 6]
    assert not differing, f"the live picture differed from one without the withdrawn taps in frames {differing}"
    assert (np.abs(pictures[0] - empty) >= VISIBLE).sum() > 100, "the confirmed taps were drawn"


def test_the_settler_hands_on_taps_once_they_stand_in_the_order_they_came():
    """What the tempo tracker hears, live and offline: the taps that stood, in order, with final values."""
    settler = TapSettler()

    def ids(out):
        return out["tap_id"].tolist()

    midi = record(0.90, 0.901, tap_id=1, source=SOURCE_MIDI)
    assert ids(settler.settle(midi, 0.901)) == [1], "a MIDI tap is final at once"
    assert ids(settler.settle(record(1.0, 1.005, tap_id=2), 1.005)) == []
    assert ids(settler.settle(record(1.01, 1.011, tap_id=3, source=SOURCE_MIDI), 1.011)) == [], \
        "a final tap waits behind an earlier one still waiting"
    out = settler.settle(record(1.0, 1.020, KIND_TOE, RECORD_REFINE, tap_id=2, velocity=0.3), 1.020)
    assert ids(out) == [2, 3] and out["kind"][0] == KIND_TOE and abs(float(out["velocity"][0]) - 0.3) < 1e-6
    settler.settle(record(1.2, 1.205, tap_id=4), 1.205)
    assert ids(settler.settle(record(1.2, 1.222, follow=RECORD_WITHDRAW, tap_id=4), 1.222)) == []
    assert ids(settler.settle(np.zeros(0, TAP_DTYPE), 2.0)) == [], "a withdrawn tap never comes out"
    settler.settle(record(2.5, 2.505, tap_id=5), 2.505)  # attract mode: no word will come
    assert ids(settler.settle(np.zeros(0, TAP_DTYPE), 2.505 + WORD_TIMEOUT - 0.001)) == []
    assert ids(settler.settle(np.zeros(0, TAP_DTYPE), 2.505 + WORD_TIMEOUT + 1e-6)) == [5]
