"""A real DFT of one power-of-two size, in preallocated buffers: for stage B's longer window in
the audio callback, where numpy's FFT would allocate its scratch and a dense DFT matrix streams
megabytes from memory for every candidate (1024 points: 4 MB of cosines and sines).

Two stages of small matrix products (Cooley-Tukey, size = n1 * n2): n2 DFTs of n1 points, a
twiddle, n1 DFTs of n2 points; a few dozen kilobytes of matrices, a dozen numpy calls.
"""

from __future__ import annotations

import numpy as np


class RealDft:
    """The DFT of `rows` real rows of `size` samples each: write them into `input` (its samples
    past a shorter signal stay zero, the padding), then `power` or `real`."""

    def __init__(self, size: int, rows: int):
        if size < 4 or size & (size - 1):
            raise ValueError(f"a DFT of {size} points: a power of two from 4 is needed")
        n1 = 1 << (size.bit_length() - 1) // 2
        n2 = size // n1
        self.size, self.rows, self._n1, self._n2 = size, rows, n1, n2
        self.input = np.zeros((rows, size), np.float32)
        # sample n = n2 * a + b sits at [a, b]; bin k = c + n1 * d comes out at [c, d]
        self._x = self.input.reshape(rows, n1, n2)
        a = np.arange(n1)
        first = 2 * np.pi * np.outer(a, a) / n1
        # (every array is (2, rows, n1, n2), a real part then a minus imaginary one, so that each
        # half is one block: numpy iterates over those without a buffer of its own, where a
        # broadcast or a cut within the rows allocates one)
        self._first = np.stack([np.cos(first), np.sin(first)]).astype(np.float32)[:, None]  # (2, 1, n1, n1)
        twiddle = 2 * np.pi * np.outer(a, np.arange(n2)) / size  # (bin c, sample b)
        cos, sin = np.cos(twiddle), np.sin(twiddle)
        self._tw_same = np.ascontiguousarray(np.broadcast_to(np.stack([cos, sin])[:, None], (2, rows, n1, n2)),
                                             np.float32)
        self._tw_swap = np.ascontiguousarray(np.broadcast_to(np.stack([sin, cos])[:, None], (2, rows, n1, n2)),
                                             np.float32)
        b = np.arange(n2)
        second = 2 * np.pi * np.outer(b, b) / n2
        self._cos2, self._sin2 = np.cos(second).astype(np.float32), np.sin(second).astype(np.float32)
        self._a, self._m, self._b, self._yc, self._ys, self._z = (np.zeros((2, rows, n1, n2), np.float32)
                                                                 for _ in range(6))
        self._sum = np.zeros((rows, n1, n2), np.float32)
        k = np.arange(size)
        self._order = (k % n1) * n2 + k // n1  # bin k's place in the result's grid

    def _transform(self) -> None:
        a, m, b, yc, ys, z = self._a, self._m, self._b, self._yc, self._ys, self._z
        np.matmul(self._first, self._x, out=a)  # [ar, as]: x's DFT over a is ar - i as
        # twiddled by cos - i sin: br = ar cos - as sin, bs = ar sin + as cos
        np.multiply(a, self._tw_same, out=m)
        np.subtract(m[0], m[1], out=b[0])
        np.multiply(a, self._tw_swap, out=m)
        np.add(m[0], m[1], out=b[1])
        np.matmul(b, self._cos2, out=yc)  # [br cos, bs cos]
        np.matmul(b, self._sin2, out=ys)  # [br sin, bs sin]
        np.subtract(yc[0], ys[1], out=z[0])  # br cos - bs sin
        np.add(ys[0], yc[1], out=z[1])  # br sin + bs cos

    def power(self, out: np.ndarray) -> np.ndarray:
        """|X[k]|^2 for k = 0 .. size / 2, into `out` (rows, size // 2 + 1)."""
        self._transform()
        z = self._z
        np.multiply(z, z, out=z)
        np.add(z[0], z[1], out=self._sum)
        return self._bins(self._sum, out)

    def real(self, out: np.ndarray) -> np.ndarray:
        """The real part of X[k] for k = 0 .. out's length - 1 (rows, count), into `out`."""
        self._transform()
        return self._bins(self._z[0], out)

    def _bins(self, grid: np.ndarray, out: np.ndarray) -> np.ndarray:
        # (mode "clip": with "raise", numpy buffers the output; the places are all in range)
        grid.reshape(self.rows, self.size).take(self._order[: out.shape[1]], axis=1, out=out, mode="clip")
        return out
