"""Stage B's two-stage DFT (`listen.dft`) against numpy's FFT, and its callback rule."""

import tracemalloc

import numpy as np
import pytest

from dessins_de_planche.listen.dft import RealDft


@pytest.mark.parametrize("size, rows", [(4, 1), (8, 2), (256, 8), (512, 1), (1024, 2), (2048, 1)])
def test_the_power_and_the_real_part_are_numpys(size, rows):
    rng = np.random.default_rng(size + rows)
    dft = RealDft(size, rows)
    signal = rng.standard_normal((rows, size)).astype(np.float32)
    dft.input[:] = signal
    expected = np.fft.rfft(signal.astype(np.float64), axis=1)
    power = np.zeros((rows, size // 2 + 1), np.float32)
    dft.power(power)
    np.testing.assert_allclose(power, np.abs(expected) ** 2, rtol=0, atol=1e-6 * float((np.abs(expected) ** 2).max()))
    real = np.zeros((rows, size // 2), np.float32)
    dft.real(real)
    np.testing.assert_allclose(real, expected.real[:, : size // 2], rtol=0, atol=1e-5 * np.sqrt(size))


def test_a_shorter_signal_is_padded_with_zeros():
    """Stage B's window (896 samples at 48 kHz) in a 1024-point DFT: the padding stays zero."""
    dft = RealDft(1024, 1)
    hit = np.hanning(898)[1:-1].astype(np.float32) * np.sin(np.arange(896) * 0.3).astype(np.float32)
    for _ in range(2):
        dft.input[0, :896] = hit
        power = np.zeros((1, 513), np.float32)
        dft.power(power)
    expected = np.abs(np.fft.rfft(hit.astype(np.float64), n=1024)) ** 2
    np.testing.assert_allclose(power[0], expected, rtol=0, atol=1e-6 * expected.max())


def test_sizes_that_are_not_a_power_of_two_are_refused():
    for size in (2, 100, 1000):
        with pytest.raises(ValueError, match="power of two"):
            RealDft(size, 1)


@pytest.mark.parametrize("rows", [1, 2, 8])
def test_a_transform_allocates_nothing_but_small_objects(rows):
    """The audio callback's rule: numpy's per-call objects only, never a buffer (a ufunc over a cut
    within the rows, or over a broadcast, allocates one of kilobytes)."""
    dft = RealDft(1024, rows)
    dft.input[:] = np.random.default_rng(0).standard_normal((rows, 1024)).astype(np.float32)
    power, real = np.zeros((rows, 513), np.float32), np.zeros((rows, 400), np.float32)
    dft.power(power)
    dft.real(real)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        dft.power(power)
        dft.real(real)
        used = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert used <= 1024, used
