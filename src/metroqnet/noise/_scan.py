"""The first-order linear recurrence y_k = y_{k-1} / g_k + d_k, vectorized and split-invariant.

An Ornstein–Uhlenbeck process sampled at times t_k obeys exactly
y_k = e^{-Δt_k/τ} y_{k-1} + d_k (d_k Gaussian), a recurrence with a varying
coefficient. Writing it with the growth factor g_k = e^{Δt_k/τ} >= 1, a group
of ``GROUP`` steps is solved at once with prefix products and sums:

    y_j = (y_start + Σ_{i<=j} d_i P_i) / P_j,    P_j = g_1 ··· g_j  (within the group),

which never divides by a small number (P_j >= 1) and stays finite because each
growth is capped at e^{MAX_STEP_DECAY} (so P_j <= e^{640}). The cap changes a
value by less than e^{-40} ≈ 4·10⁻¹⁸ of the value it decays, below rounding.
Groups of groups are solved the same way (``LEVELS`` levels), and the blocks of
``ALIGN_SAMPLES = GROUP**LEVELS`` samples are chained in order by a short
Python loop over blocks (one iteration per 4096 samples).

Every value depends only on its own block's inputs and the value that ends the
previous block, computed by the same floating-point operations whether the
block was reached in this call or carried in from a previous call. So
splitting a sequence into calls whose lengths are multiples of
``ALIGN_SAMPLES`` gives bit-for-bit the same values as one call; other splits
agree to rounding (≈ 1e-15 relative). Padding (growth 1, drive 0) only ever
follows the real samples, so it never changes them.

The prefix products of the first level depend on the growths only; a caller
whose growths repeat (a periodic time grid) computes them once with
:func:`growth_factors` and passes them again. Work arrays are reused from call
to call: fresh large arrays cost more in page faults than the arithmetic.
"""

from __future__ import annotations

import math
import threading

import numpy as np

GROUP = 16
LEVELS = 3
ALIGN_SAMPLES = GROUP**LEVELS
#: Largest decay of one step, in units of the correlation time (see module docstring).
MAX_STEP_DECAY = 40.0
MAX_GROWTH = math.exp(MAX_STEP_DECAY)
#: Samples a process solves at a time (whole blocks): work arrays stay in cache, memory stays bounded.
SLICE_SAMPLES = 16 * ALIGN_SAMPLES

_WORK = threading.local()


def step_growth(decay: np.ndarray) -> np.ndarray:
    """g = e^{min(decay, MAX_STEP_DECAY)} for decays Δt/τ >= 0."""
    return np.exp(np.minimum(decay, MAX_STEP_DECAY))


def growth_factors(growth: np.ndarray, *, reuse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Prefix products P and 1/P of the first level, shape (rows, GROUP); fresh arrays unless ``reuse``."""
    g = _padded(growth, 1.0)
    rows = g.size // GROUP
    product = np.cumprod(g.reshape(rows, GROUP), axis=1, out=_buffer("product", rows) if reuse else None)
    decay = np.divide(1.0, product, out=_buffer("decay", rows) if reuse else None)
    return product, decay


def decaying_sum(
    growth: np.ndarray, drive: np.ndarray, start: float, factors: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """y_k = y_{k-1} / growth_k + drive_k for k = 0..n-1, with y_{-1} = ``start`` (float64 arrays).

    ``factors``: :func:`growth_factors` of ``growth``, when the caller keeps them.
    """
    n = drive.size
    if n == 0:
        return np.zeros(0)
    product, decay = factors if factors is not None else growth_factors(growth, reuse=True)
    local = []  # per level: (L, r) of shape (rows, GROUP); L local value with zero carry, r decay from row start
    d = _padded(drive, 0.0)
    for level in range(LEVELS):
        rows = product.shape[0]
        value = np.multiply(d.reshape(rows, GROUP), product, out=_buffer(f"value{level}", rows))
        np.cumsum(value, axis=1, out=value)
        value *= decay
        local.append((value, decay))
        if level + 1 < LEVELS:
            product, decay = growth_factors(np.minimum(product[:, -1], MAX_GROWTH))
            d = _padded(np.ascontiguousarray(value[:, -1]), 0.0)
    carry = _block_carries(local, local[-1][0].shape[0], float(start))
    # Down the levels: the carry into every row, then the values.
    for level in range(LEVELS - 1, 0, -1):
        value, decay = local[level]
        into = np.empty_like(value)
        into[:, 0] = carry
        np.multiply(decay[:, :-1], carry[:, None], out=into[:, 1:])
        into[:, 1:] += value[:, :-1]
        carry = into.reshape(-1)[: local[level - 1][0].shape[0]]
    value, decay = local[0]
    out = decay * carry[:, None]
    out += value
    return out.reshape(-1)[:n]


def _padded(values: np.ndarray, fill: float) -> np.ndarray:
    extra = -values.size % GROUP
    if not extra:
        return values
    return np.concatenate([values, np.full(extra, fill)])


def _buffer(name: str, rows: int) -> np.ndarray:
    """A reusable (rows, GROUP) float64 work array of this thread (contents undefined)."""
    pool = _WORK.__dict__.setdefault("arrays", {})
    array = pool.get(name)
    if array is None or array.shape[0] < rows:
        array = pool[name] = np.empty((max(rows, SLICE_SAMPLES // GROUP), GROUP))
    return array[:rows]


def _block_carries(local: list[tuple[np.ndarray, np.ndarray]], blocks: int, start: float) -> np.ndarray:
    """The value entering each block: the last value of the previous block, by the same operations."""
    carries = np.empty(blocks)
    carries[0] = start
    if blocks == 1:
        return carries
    path = []  # (L, r) along the path to the last sample of each block, top level first
    for level in range(LEVELS - 1, -1, -1):
        value, decay = local[level]
        rows_per_block = GROUP ** (LEVELS - 1 - level)
        last_rows = np.arange(1, blocks) * rows_per_block - 1
        column = GROUP - 1 if level == 0 else GROUP - 2
        path.append((value[last_rows, column].tolist(), decay[last_rows, column].tolist()))
    c = start
    for block in range(blocks - 1):
        for values, decays in path:
            c = values[block] + decays[block] * c
        carries[block + 1] = c
    return carries
