"""First-order (delta-method) error propagation with finite-difference gradients.

The estimators are used as they are: no derivative is written by hand, so each
formula has one implementation. ``propagate`` takes independent blocks of
inputs, each with its covariance, and returns the outputs with theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Central-difference step relative to each input (inputs here are probabilities > 0);
#: truncation error ~ step², round-off ~ 1e-16 / step: both far below counting errors.
RELATIVE_STEP = 1e-5


def multinomial_covariance(probabilities: np.ndarray, size: int) -> np.ndarray:
    """Covariance of the cell fractions of a multinomial sample of ``size``: (diag(p) - p pᵀ) / n."""
    p = np.asarray(probabilities, dtype=float)
    if size <= 0:
        return np.zeros((p.size, p.size))
    return (np.diag(p) - np.outer(p, p)) / size


def propagate(
    function: Callable[[list[np.ndarray]], np.ndarray],
    points: Sequence[np.ndarray],
    covariances: Sequence[np.ndarray],
    *,
    relative_step: float = RELATIVE_STEP,
) -> tuple[np.ndarray, np.ndarray]:
    """``function`` at ``points`` and its covariance Σ_k J_k C_k J_kᵀ over independent input blocks k.

    ``function`` is vectorized: given one array per block, each of shape
    ``(batch, size_k)``, it returns ``(batch, outputs)``. It is called once, on
    the point and on both central-difference steps of every input with
    non-zero variance (an input that cannot move is not stepped: a zero cell
    must not go below zero). J_k is the Jacobian with respect to block k.
    """
    base = [np.asarray(point, dtype=float).ravel() for point in points]
    moving = [(k, i) for k, block in enumerate(covariances) for i in np.flatnonzero(np.diag(block) > 0)]
    batch = [np.repeat(point[None, :], 1 + 2 * len(moving), axis=0) for point in base]
    steps = np.array([relative_step * abs(base[k][i]) if base[k][i] != 0 else relative_step for k, i in moving])
    for row, ((k, i), step) in enumerate(zip(moving, steps)):
        batch[k][1 + 2 * row, i] += step
        batch[k][2 + 2 * row, i] -= step
    outputs = np.asarray(function(batch), dtype=float)
    value = outputs[0]
    jacobian = ((outputs[1::2] - outputs[2::2]) / (2.0 * steps[:, None])).T  # [output, moving input]
    covariance = np.zeros((value.size, value.size))
    for k, block in enumerate(covariances):
        columns = [row for row, (kk, _) in enumerate(moving) if kk == k]
        if columns:
            indices = [moving[row][1] for row in columns]
            covariance += jacobian[:, columns] @ block[np.ix_(indices, indices)] @ jacobian[:, columns].T
    return value, covariance
