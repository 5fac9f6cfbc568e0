"""Audio faults through the block path every source shares: after each, taps are still heard at their times.

NaN, Inf, DC, full-scale clipping, minutes of silence, another sample rate, blocks
of odd sizes. Each feeds `BlockHandler` (the code the audio callback runs) and then
plays taps: the taps must come out at their onsets, every record finite, and the
fault itself must not be heard as a shower of taps.
"""

from __future__ import annotations

import numpy as np
import pytest

from dessins_de_planche.clock import FileClock
from dessins_de_planche.inputs.audio import BlockHandler
from dessins_de_planche.listen.detector import TapDetector
from dessins_de_planche.listen.synth import heel_sound, toe_sound, true_onset

RATE = 48_000
BLOCK = 128


class Collect:
    """Stands in for a ring: keeps what is pushed."""

    def __init__(self):
        self.records = []

    def push(self, *fields):
        self.records.append(fields)
        return True


def taps_after(seconds: float, rate: int = RATE, count: int = 4, seed: int = 0, gain: float = 0.5):
    """`count` taps (heel, toe alternating) 0.3 s apart starting 0.25 s in; the signal and true onsets (s)."""
    rng = np.random.default_rng(seed)
    signal = np.zeros(int(seconds * rate), np.float32)
    onsets = []
    for i in range(count):
        hit = gain * (heel_sound if i % 2 == 0 else toe_sound)(rng, rate)
        hit[-min(240, len(hit) // 4):] *= np.linspace(1.0, 0.0, min(240, len(hit) // 4))
        start = int((0.25 + 0.3 * i) * rate)
        signal[start: start + len(hit)] += hit
        onsets.append((start + true_onset(hit)) / rate)
    return signal, np.array(onsets)


def run_blocks(signal: np.ndarray, rate: int = RATE, sizes=None) -> tuple[np.ndarray, np.ndarray]:
    """Feed `signal` block by block; (first tap records, feature records) as arrays of fields."""
    taps, features = Collect(), Collect()
    detector = TapDetector(rate, [0], block_size=BLOCK)
    handler = BlockHandler(detector, FileClock(rate), taps, features, (1,), (0,))
    block = signal.reshape(-1, 1)
    position = 0
    sizes = iter(sizes) if sizes is not None else None
    while position < len(block):
        size = next(sizes) if sizes is not None else BLOCK
        handler.handle(block[position: position + size], position / rate)
        position += size
    tap_array = np.array([r for r in taps.records if r[8] == 0], float).reshape(-1, 9)
    return tap_array, np.array(features.records, float).reshape(-1, 5)


def assert_heard(taps: np.ndarray, onsets: np.ndarray, offset: float, extra_allowed: int = 0):
    times = taps[:, 0]
    expected = onsets + offset
    errors = np.array([np.min(np.abs(times - t)) if len(times) else np.inf for t in expected])
    assert (errors <= 0.003).all(), f"taps after the fault: errors {np.round(errors * 1e3, 2)} ms, heard {times}"
    assert len(times) <= len(expected) + extra_allowed, f"{len(times)} taps heard for {len(expected)} played: {times}"
    assert np.isfinite(taps).all(), "a tap record carries NaN or Inf"
    assert ((taps[:, 2] >= 0) & (taps[:, 2] <= 1)).all(), f"velocities outside 0..1: {taps[:, 2]}"


def with_fault(fault: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Half a second of the fault, then the taps; the taps' onsets are shifted by the fault's length."""
    after, onsets = taps_after(1.6, seed=seed)
    return np.concatenate([fault.astype(np.float32), after]), onsets, len(fault) / RATE


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_samples_are_ignored_and_taps_after_them_are_heard(value):
    fault = np.zeros(RATE // 2, np.float32)
    fault[1000:1000 + BLOCK * 3] = value  # whole blocks of it
    fault[9000::997] = value  # and scattered samples
    signal, onsets, offset = with_fault(fault)
    taps, features = run_blocks(signal)
    assert_heard(taps, onsets, offset)
    assert np.isfinite(features).all(), "a level, peak or brightness went non-finite: the scene would draw NaN"


def test_a_dc_offset_is_not_a_stream_of_taps_and_taps_on_top_of_it_are_heard():
    fault = np.full(RATE // 2, 0.4, np.float32)
    signal, onsets, offset = with_fault(fault)
    signal[len(fault):] += 0.4  # the taps ride on the offset
    taps, features = run_blocks(signal)
    assert_heard(taps, onsets, offset, extra_allowed=1)  # the step into the offset is one click at most
    assert np.isfinite(features).all()


def test_full_scale_clipping_still_gives_one_tap_per_hit_with_velocity_at_most_one():
    signal, onsets = taps_after(1.6, gain=6.0)
    clipped = np.clip(signal, -1.0, 1.0)
    taps, _ = run_blocks(clipped)
    assert_heard(taps, onsets, 0.0)
    assert taps[:, 2].max() > 0.5  # loud hits are loud


def test_minutes_of_silence_leave_the_detector_neither_deaf_nor_jumpy():
    silence = np.zeros(3 * 60 * RATE, np.float32)  # three minutes, fed block by block as fast as it goes
    signal, onsets, offset = with_fault(silence)
    taps, features = run_blocks(signal)
    assert_heard(taps, onsets, offset)
    assert (taps[:, 0] > offset).all(), "silence was heard as a tap"
    assert np.isfinite(features).all()


def test_near_silence_with_a_faint_hum_for_minutes_is_not_heard_as_taps():
    t = np.arange(2 * 60 * RATE) / RATE
    hum = (1e-4 * np.sin(2 * np.pi * 60 * t) + 1e-5 * np.random.default_rng(1).standard_normal(len(t)))
    signal, onsets, offset = with_fault(hum.astype(np.float32))
    taps, _ = run_blocks(signal)
    assert_heard(taps, onsets, offset)


@pytest.mark.parametrize("rate", [44_100, 96_000, 22_050])
def test_another_sample_rate_hears_the_same_taps_at_the_same_times(rate):
    signal, onsets = taps_after(1.6, rate=rate)
    taps, _ = run_blocks(signal, rate=rate)
    assert_heard(taps, onsets, 0.0)


@pytest.mark.parametrize("kind", ["random", "tiny", "huge"])
def test_blocks_of_the_wrong_size_give_the_same_taps(kind):
    signal, onsets = taps_after(1.6)
    rng = np.random.default_rng(5)
    sizes = {"random": lambda: rng.integers(1, 1500, size=10_000),
             "tiny": lambda: rng.integers(1, 8, size=len(signal)),
             "huge": lambda: np.full(100, 8192)}[kind]()
    taps, _ = run_blocks(signal, sizes=[int(s) for s in sizes])
    reference, _ = run_blocks(signal)
    assert_heard(taps, onsets, 0.0)
    assert len(taps) == len(reference)
    np.testing.assert_allclose(taps[:, 0], reference[:, 0], atol=0.002)


def test_a_16_bit_recording_is_heard_as_the_sound_it_holds():
    """Heels over digital silence in a 16-bit file: each hit's tail ends in its last bits,
    about 90 dB down, far under anything a foot makes. The taps are the float signal's, at its
    times (those last bits once read as rises out of silence: heels heard up to 2.6 ms late,
    or not at all)."""
    signal = np.zeros(int(1.9 * RATE), np.float32)
    onsets = []
    for i, at in enumerate(np.arange(0.1, 1.5, 0.25)):
        hit = 0.5 * heel_sound(np.random.default_rng(i), RATE)
        hit[-480:] *= np.linspace(1.0, 0.0, 480)
        start = int(at * RATE)
        signal[start: start + len(hit)] = hit
        onsets.append((start + true_onset(hit)) / RATE)
    whole = (np.round(signal * 32768.0) / 32768.0).astype(np.float32)
    taps, _ = run_blocks(whole)
    reference, _ = run_blocks(signal)
    assert_heard(reference, np.array(onsets), 0.0)
    assert len(taps) == len(reference) == len(onsets), (taps[:, 0], reference[:, 0])
    np.testing.assert_allclose(taps[:, 0], reference[:, 0], atol=0.0005)


def test_any_block_sizes_give_the_same_samples_and_spectra_over_a_drifting_dc():
    """The DC estimate moves on the stream's grid, not on block edges: what stage A and stage
    B read is the same, bit for bit, whatever blocks the device delivers (a DC ramp that turned at block
    edges once made a heel after digital silence heard or not by where the blocks ended)."""
    signal, _ = taps_after(1.6)
    t = np.arange(len(signal)) / RATE
    signal = signal + (0.1 + 0.05 * t + 0.002 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    signal[: RATE // 10] = 0.0  # digital silence first, then the DC comes in
    rng = np.random.default_rng(11)

    def listen(sizes):
        detector = TapDetector(RATE, [0], block_size=BLOCK)
        front, samples, levels, position = detector.front, [], [], 0
        for size in sizes:
            block = signal[position: position + size].reshape(-1, 1)
            if not len(block):
                break
            front.begin(block, position)
            _, hops = front.spectra(position, len(block))
            if hops is not None:
                levels.append(hops[:, 0].copy())
            samples.append(front.clean[: len(block), 0].copy())
            front.finish(len(block), None)
            position += len(block)
        return np.concatenate(samples), np.concatenate(levels)

    samples, levels = listen([BLOCK] * (len(signal) // BLOCK + 1))
    for sizes in (rng.integers(1, 1500, size=10_000), rng.integers(1, 8, size=len(signal)), [8192] * 20):
        other_samples, other_levels = listen([int(s) for s in sizes])
        np.testing.assert_array_equal(other_samples, samples)
        # each hop's spectrum is its own sum, in one order, whatever the count of hops in a block
        np.testing.assert_array_equal(other_levels, levels)
    # the DC there is about 0.18 and rising; the estimate follows it within dc_s (0.5 s)
    assert abs(samples[-RATE // 4:].mean()) < 0.05, "the DC is not removed"
