"""The exact engine's sums, order by order, for a batch of points at one photon cutoff.

The maths is in :mod:`metroqnet.link.fock_engine`'s docstring. Every function
takes ``values`` (one array of shape ``(points,)`` per link parameter field) and
the cutoff N shared by the batch; orders k = -N..N are indexed ``k + N``.
"""

from __future__ import annotations

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.link.fock_operators import (
    herald_factors,
    herald_order_zero,
    local_pattern_operators,
    memory_weights,
    order_rows,
)

_Z, _X, _Y = (BASES.index(basis) for basis in ("Z", "X", "Y"))
#: The per-node parameters of the verification, in the order local_pattern_operators takes them.
LOCAL_FIELDS = ("read_efficiency", "probe_mean_photon_number", "probe_mode_overlap", "local_noise_probability")


def _order_factors(values: dict[str, np.ndarray], cutoff: int):
    """The pieces every table is summed from, for points at one photon ``cutoff``.

    Returns ``(zero, first_side, second_side, keep)``: the order-0 tables of Z and X
    ``zero[point, sign, basis, a, b]``; the X basis's factors of every order,
    ``first_side[point, sign, a, k, l] = (X_k F)[a, l]`` and
    ``second_side[point, sign, b, k, l] = (Y_k G)[b, k+l]``; and the herald's ``1 - q``.
    """
    v = values
    size, orders = cutoff + 1, 2 * cutoff + 1
    points, signs = v["herald_efficiency_x"].size, len(HERALD_SIGNS)
    q = v["herald_noise_probability"]
    first, second = herald_factors(
        v["herald_efficiency_x"], v["herald_efficiency_y"], v["herald_mode_overlap_x"], v["herald_mode_overlap_y"],
        cutoff,
    )  # [point, sign, n, l], [point, sign, m, i]
    herald_zero = herald_order_zero(first, second, v["herald_efficiency_x"], v["herald_efficiency_y"], q, cutoff)
    pairs = {base: np.array((v[f"{base}_x"], v[f"{base}_y"])) for base in (*LOCAL_FIELDS, "excitation_probability")}
    ops_z, ops_x = local_pattern_operators(*(pairs[base] for base in LOCAL_FIELDS), cutoff)  # [node, point, a, ...]
    weights = memory_weights(pairs["excitation_probability"], cutoff)  # [node, point, n]

    # Order 0 of both bases: Σ_{n,m} X_0[a, n] Π_0[n, m] Y_0[b, m], X_0[a, n] = E_x[a][n, n] c_n².
    square = np.square(weights)[:, :, None, :]
    zero_rows = np.concatenate([ops_z * square, np.diagonal(ops_x, axis1=-2, axis2=-1) * square], axis=2)
    blocks = np.matmul(np.matmul(zero_rows[0][:, None], herald_zero), np.swapaxes(zero_rows[1], -1, -2)[:, None])
    zero = np.stack([blocks[:, :, :4, :4], blocks[:, :, 4:, 4:]], axis=2)  # [point, sign, (Z, X), a, b]

    # X, every order: (X_k F)[a, l] and (Y_k G)[b, k+l].
    rows_x = order_rows(ops_x[0], weights[0], cutoff, +1)  # [point, a, k, n]
    rows_y = order_rows(ops_x[1], weights[1], cutoff, -1)  # [point, b, k, m]
    first_side = np.matmul(rows_x.reshape(points, 1, 4 * orders, size), first)  # [point, sign, (a, k), l]
    second_side = np.matmul(rows_y.reshape(points, 1, 4 * orders, size), second)  # [point, sign, (b, k), i]
    second_side = _skew(second_side.reshape(points, signs, 4, orders, size), cutoff)
    return zero, first_side.reshape(points, signs, 4, orders, size), second_side, 1.0 - q


def order_resolved_tables(values: dict[str, np.ndarray], cutoff: int) -> np.ndarray:
    """Fourier coefficients of the joint tables in δ, ``out[point, k + N, sign, basis, a, b]`` (real).

    ``values`` holds one array of shape ``(points,)`` per link parameter field;
    every point is computed at the same photon ``cutoff``. P(sign, basis, a, b | δ)
    is ``Σ_k out[..., k + N, ...] cos(kδ)`` (the coefficients of k and -k are equal).

    With ``X_k[a, n] = E_x[a][n+k, n] c_n c_(n+k)`` (and likewise ``Y_k`` at node Y) the
    order-k coefficient is ``Σ_{n,m} X_k[a, n] <n+k, m-k|Π|n, m> Y_k[b, m]``. Off order 0
    Π is (1-q) Γ(T) alone, whose elements factor as ``Σ_l F[n, l] G[m, k+l]``
    (:func:`~metroqnet.link.fock_operators.herald_factors`), so the sums run as
    ``(X_k F)[a, l] · (Y_k G)[b, k+l]``: no four-index array is formed. Order 0 carries
    the herald's subtraction and is summed from Π's elements themselves.
    """
    zero, first_side, second_side, keep = _order_factors(values, cutoff)
    out = np.zeros((zero.shape[0], 2 * cutoff + 1, len(HERALD_SIGNS), len(BASES), 4, 4))
    tables = np.einsum("psakl,psbkl->pksab", first_side, second_side)
    out[:, :, :, _X] = keep[:, None, None, None, None] * tables
    out[:, cutoff, :, _Z] = zero[:, :, 0]
    out[:, cutoff, :, _X] = zero[:, :, 1]
    out[:, :, :, _Y] = out[:, :, :, _X]
    return out


def phase_averaged_tables(
    values: dict[str, np.ndarray], cutoff: int, *, phase_offset_rad: np.ndarray | None = None
) -> np.ndarray:
    """Joint tables ``[point, sign, basis, a, b]`` averaged over δ ~ N(θ, σ²), σ = ``phase_noise_std_rad``.

    The sum of :func:`order_resolved_tables` with order k weighted by exp(-σ²k²/2),
    taken inside one matrix product per point and sign. ``phase_offset_rad`` (one θ per
    point; None: θ = 0, no extra operation) is a deterministic mean
    of δ, e.g. a local phase set at one node: the average of e^{ikδ} is e^{ikθ} e^{-σ²k²/2},
    and since the coefficients of k and -k are equal and real, order k is weighted by
    cos(kθ) e^{-σ²k²/2} (exact; docs/theta_scan.md).
    """
    zero, first_side, second_side, keep = _order_factors(values, cutoff)
    points, signs, _, orders, size = first_side.shape
    k = np.arange(-cutoff, cutoff + 1, dtype=float)
    order = np.square(k)
    with np.errstate(over="ignore", invalid="ignore"):  # a phase noise of 1e200 rad: every coherence is gone
        weights = np.exp(-0.5 * np.square(values["phase_noise_std_rad"])[:, None] * order)
    if phase_offset_rad is not None:
        weights = weights * np.cos(np.multiply.outer(np.asarray(phase_offset_rad, dtype=float), k))
    weights[:, cutoff] = 0.0  # order 0 comes from `zero`
    weighted = (first_side * weights[:, None, None, :, None]).reshape(points, signs, 4, orders * size)
    coherent = np.matmul(weighted, np.swapaxes(second_side.reshape(points, signs, 4, orders * size), -1, -2))
    out = np.empty((points, signs, len(BASES), 4, 4))
    out[:, :, _Z] = zero[:, :, 0]
    out[:, :, _X] = zero[:, :, 1] + keep[:, None, None, None] * coherent
    out[:, :, _Y] = out[:, :, _X]
    return out


def _skew(values: np.ndarray, cutoff: int) -> np.ndarray:
    """``out[..., k + N, l] = values[..., k + N, k + l]`` (zero where k + l leaves 0..N): a view into a padded copy.

    Padding the last axis with N zeros on each side to width W = 3N+1 and reading the
    flat buffer with row stride W+1 walks one column further per order.
    """
    *lead, orders, size = values.shape
    width = 3 * cutoff + 1
    buffer = np.zeros((*lead, orders * (width + 1)))
    buffer[..., : orders * width].reshape(*lead, orders, width)[..., cutoff : cutoff + size] = values
    return buffer.reshape(*lead, orders, width + 1)[..., :size]
