"""Tap identity: a follow-up record (refine, withdraw) names only its own source's tap, and a
restarted input process never reuses the ids of the taps still on screen from before."""

from __future__ import annotations

import numpy as np

from dessins_de_planche.clock import FileClock, master_time
from dessins_de_planche.config import InputSpec, MidiNote
from dessins_de_planche.events import (CONTROL_DTYPE, FEATURE_DTYPE, TAP_DTYPE, TAP_ID_SPACES, final_taps,
                                       tap_id_space)
from dessins_de_planche.inputs.audio import BlockHandler
from dessins_de_planche.inputs.midi import MidiListener
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.synth import podorhythm
from dessins_de_planche.ring import Ring

SR = 48_000


def audio_ids(generation: int) -> np.ndarray:
    audio, _ = podorhythm(3.0, SR, 120, 2, ("heel", "toe"), seed=2, level_db=-12.0)
    taps, features = Ring.create(TAP_DTYPE, 1024), Ring.create(FEATURE_DTYPE, 4096)
    try:
        handler = BlockHandler(TapDetector(SR, [0], 128), FileClock(SR), taps, features, (1,), (0,), generation)
        for start in range(0, len(audio), 128):
            handler.handle(audio[start:start + 128], 0.0)
            features.pop()
        return taps.pop()["tap_id"].astype(np.int64)
    finally:
        taps.close()
        features.close()


def midi_ids(generation: int, notes: int = 5) -> np.ndarray:
    taps, controls = Ring.create(TAP_DTYPE, 64), Ring.create(CONTROL_DTYPE, 64)
    try:
        spec = InputSpec(midi_port="board", midi_notes={36: MidiNote("left", "heel")}, midi_crosstalk_s=0.0)
        listener = MidiListener(spec, ("midi", "left"), taps, controls, generation)
        for _ in range(notes):
            listener.on_message([0x90, 36, 100], master_time())
        return taps.pop()["tap_id"].astype(np.int64)
    finally:
        taps.close()
        controls.close()


def test_audio_and_midi_taps_never_share_an_id():
    audio, midi = audio_ids(0), midi_ids(0)
    assert len(audio) > 6 and len(midi) == 5
    assert not set(audio) & set(midi), "a withdraw of audio tap N would remove MIDI tap N"
    for ids, source in ((audio, "audio"), (midi, "midi")):
        first, end = TAP_ID_SPACES[source]
        assert ((ids >= first) & (ids < end)).all(), source


def test_a_restarted_input_process_numbers_its_taps_anew():
    before, after = audio_ids(0), audio_ids(1)
    assert len(before) == len(after) and not set(before) & set(after)
    assert not set(midi_ids(0)) & set(midi_ids(1))


def test_a_follow_up_names_the_same_tap_as_its_first_record():
    """The detector's refine and withdraw records keep their tap's id through the mapping."""
    taps, features = Ring.create(TAP_DTYPE, 1024), Ring.create(FEATURE_DTYPE, 4096)
    try:
        audio, truth = podorhythm(3.0, SR, 120, 2, ("heel", "toe"), seed=2, level_db=-12.0)
        handler = BlockHandler(TapDetector(SR, [0], 128), FileClock(SR), taps, features, (1,), (0,), 7)
        records = []
        for start in range(0, len(audio), 128):
            handler.handle(audio[start:start + 128], 0.0)
            records.append(taps.pop())
            features.pop()
        records = np.concatenate(records)
        firsts = set(records["tap_id"][records["refine"] == 0])
        assert set(records["tap_id"][records["refine"] != 0]) <= firsts
        assert len(final_taps(records)[0]) >= len(truth) - 1
    finally:
        taps.close()
        features.close()


def test_every_space_fits_a_tap_record_and_none_overlap():
    spans = sorted(TAP_ID_SPACES.values())
    assert spans[0][0] >= 1 and spans[-1][1] <= 2 ** 32
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    first, span, offset = tap_id_space("audio", 5000)  # thousands of restarts: still in range
    assert 0 <= offset < span
