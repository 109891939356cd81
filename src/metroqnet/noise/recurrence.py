"""The first-order linear recurrence y_k = a_k y_{k−1} + d_k, compiled.

An Ornstein–Uhlenbeck process sampled at times t_k obeys exactly y_k = e^{−Δt_k/τ} y_{k−1} + d_k
(d_k Gaussian): a recurrence with a varying coefficient. It is sequential, so it is a plain loop
compiled with numba; every value depends only on the previous one and its own inputs, so a
sequence split into calls of any lengths (the last value carried as ``start``) gives bit for bit
the values of one call.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["decaying_sum"]


@numba.njit(cache=True)
def _decaying_sum(decay: np.ndarray, drive: np.ndarray, start: float, out: np.ndarray) -> None:
    value = start
    for k in range(drive.size):
        value = decay[k] * value + drive[k]
        out[k] = value


def decaying_sum(decay: np.ndarray, drive: np.ndarray, start: float) -> np.ndarray:
    """y_k = ``decay``_k · y_{k−1} + ``drive``_k for k = 0 … n−1, with y_{−1} = ``start`` (a fresh array)."""
    out = np.empty(drive.size)
    _decaying_sum(np.ascontiguousarray(decay, dtype=float), np.ascontiguousarray(drive, dtype=float), float(start),
                  out)
    return out
