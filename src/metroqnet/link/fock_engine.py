"""Exact link engine: the link model of ``docs/link_model.md`` computed in the Fock basis of the two memories.

Why Fock and not phase space: every click probability here is a *positive*
sum over photon-number sectors, with one subtraction for the herald and one per
local detector pattern. Plain inclusion–exclusion over vacuum probabilities of
a Gaussian state cancels terms of order 1 to leave results of order 1e-15 at
weak settings; this formulation keeps ~1e-12 relative precision there in
double precision, and is fast (a few small tensor contractions per point).

Construction (all operators normally ordered, source modes only):

* Each node's write makes a TMSV ``Σ_n c_n |n>_a |n>_p`` with
  ``c_n = sqrt((1-χ) χ^n)``; the photon-number cutoff ``N`` is the smallest with
  ``χ^N <= tolerance`` (the truncated weight relative to the leading term of
  every figure), so the result is converged to ``tolerance``.
* A detector that sees modes ``b_j = Σ_i u_ji s_i`` (after loss, overlap split
  and beamsplitters) does not click with the operator ``:exp(-s† G s):`` with
  ``G = Σ_j u_j u_j†``. For the herald detectors
  ``G± = ½ [[η_x, ±g], [±g, η_y]]`` with ``g = sqrt(ov_x ov_y η_x η_y)``; the
  non-common (distinguishable) part enters only the diagonal. The identity
  ``:exp(-p† G p): = Γ(1 - G)`` (``Γ(T)`` acts as ``T`` on every photon) gives
  its Fock matrix elements in closed form.
* Herald ``plus`` (only D+ clicked) is ``(1-q)[Γ(1-G-) - (1-q) Γ(1-G+-G-)]``,
  applied to the photons; the memories are left in
  ``ρ[(n,m),(n',m')] = c_n c_m c_n' c_m' <n',m'|Π|n,m>``.
* Π conserves the total photon number, so ρ couples ``(n,m)`` only to
  ``(n+k, m-k)``. The phase error rotates Y's read-out ``a_y -> e^{iδ} a_y``,
  which multiplies that coherence by ``e^{ikδ}``: every probability is a Fourier
  series in δ whose order-k coefficient comes from the order-k coherences alone
  (:mod:`metroqnet.link.fock_orders`). The Gaussian average over δ weights order
  k by ``exp(-σ²k²/2)``, exactly; the sampler keeps the series.
* At a node, a set S of local detectors stays dark with
  ``Π(1-q_j) e^{-ν_j} :exp(-Σ_j |sqrt(e_j) a + β_j|²):``, where ``e_j`` is the
  read-out's efficiency onto detector j, ``β_j`` the interfering EP amplitude
  and ``ν_j`` the non-interfering EP mean; completing the square gives finite
  sums for its Fock matrix elements. Patterns follow by inclusion–exclusion over
  the node's two detectors.
* Two exact symmetries save work. In Z no EP light shares a port with the
  read-out, so Z's operators are diagonal and only order 0 contributes. Y's
  ports are X's with the EP amplitude turned by -π/2 at both nodes, i.e.
  ``E_Y = U E_X U†`` with ``U = e^{-iπ n/2}`` at each node; ρ commutes with the
  total number ``n_x + n_y``, so ``Tr[ρ (E_Y ⊗ E_Y)] = Tr[ρ (E_X ⊗ E_X)]`` at every
  δ: the Y tables are the X tables (and every coefficient is real).

Batches: every step carries a leading point axis. Points are grouped by their
photon cutoff (one array shape per group) and each group is cut into chunks of
bounded memory; a single point is a batch of one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.link.fock_operators import herald_factors, herald_order_zero, memory_weights
from metroqnet.link.fock_orders import order_resolved_tables, phase_averaged_tables
from metroqnet.link.points import LinkPoints

DEFAULT_TOLERANCE = 1e-14
MAX_CUTOFF = 60
#: A chunk holds about this many order-layout elements (2 signs x (2N+1) orders x (N+1)² per point, 2 MB of
#: float64) so its intermediates stay in cache, and at least MIN_CHUNK_POINTS points so the per-call cost is shared.
CHUNK_ELEMENTS = 1 << 18
MIN_CHUNK_POINTS = 16


#: How a batch names its input in refusals; a single point is named ``link parameters``.
BATCH_INPUT = "points"


def point_label(where: str, index: int) -> str:
    """``points[3]`` for a point of a batch, ``where`` itself for a single point."""
    return f"{where}[{index}]" if where == BATCH_INPUT else where


def photon_cutoff(excitation_probability: float, *, tolerance: float = DEFAULT_TOLERANCE) -> int:
    """Smallest ``N >= 1`` with ``χ^N <= tolerance``: the relative weight dropped by truncating at N."""
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"tolerance: {tolerance!r} is outside the allowed range (0, 1)")
    if excitation_probability <= 0.0:
        return 1
    cutoff = max(1, math.ceil(math.log(tolerance) / math.log(excitation_probability)))
    while cutoff > 1 and excitation_probability ** (cutoff - 1) <= tolerance:  # log rounding
        cutoff -= 1
    if cutoff > MAX_CUTOFF:
        raise ConfigError(
            f"excitation_probability: {excitation_probability!r} needs a photon cutoff of {cutoff} "
            f"(> {MAX_CUTOFF}) for tolerance {tolerance:g}; use a larger tolerance or a smaller χ"
        )
    return cutoff


def point_cutoffs(points: LinkPoints, *, tolerance: float = DEFAULT_TOLERANCE, where: str = BATCH_INPUT) -> np.ndarray:
    """Photon cutoff of every point (set by the larger χ of its two nodes), as :func:`photon_cutoff` gives it."""
    chi = np.maximum(points.values["excitation_probability_x"], points.values["excitation_probability_y"])
    unique, inverse = (chi, np.zeros(1, dtype=np.int64)) if chi.size == 1 else np.unique(chi, return_inverse=True)
    cutoffs = np.empty(unique.size, dtype=np.int64)
    for position, value in enumerate(unique):
        try:
            cutoffs[position] = photon_cutoff(float(value), tolerance=tolerance)
        except ConfigError as error:
            if where != BATCH_INPUT:
                raise
            index = int(np.flatnonzero(chi == value)[0])
            raise ConfigError(f"{point_label(where, index)}: {error}") from None
    return cutoffs[inverse.ravel()]


@dataclass(frozen=True)
class JointTables:
    """Joint probabilities ``tables[sign][basis][a, b]`` = P(herald sign, pattern a at X, pattern b at Y).

    Both nodes measure in ``basis``; patterns are indexed as in
    :mod:`metroqnet.analysis.outcomes`. ``tables[sign][basis].sum()`` is the
    herald probability of that sign for every basis.
    """

    tables: dict[str, dict[str, np.ndarray]]
    photon_cutoff: int

    def herald_probability(self, sign: str) -> float:
        return float(self.tables[sign]["Z"].sum())


@dataclass(frozen=True)
class PhaseResolvedTables:
    """Joint tables as a Fourier series in the phase error δ of Y's read-out.

    ``P(sign, basis, a, b | δ) = Re Σ_k coefficients[k, sign, basis, a, b] e^{i orders[k] δ}``,
    where ``orders[k] = m - m'`` is the difference of Y's excitation numbers in the
    coherence it comes from. Signs and bases are indexed as in
    :mod:`metroqnet.analysis.outcomes`. Exact (no phase average taken).
    """

    orders: np.ndarray
    coefficients: np.ndarray
    photon_cutoff: int

    def at_phase(self, phase_rad: np.ndarray) -> np.ndarray:
        """Tables ``[..., sign, basis, a, b]`` at each phase in ``phase_rad``."""
        rotation = np.exp(1j * np.multiply.outer(np.asarray(phase_rad, dtype=float), self.orders))
        return np.tensordot(rotation, self.coefficients, axes=(-1, 0)).real

    def gaussian_average(self, std_rad: float) -> np.ndarray:
        """Tables averaged over δ ~ N(0, std²): each order k weighted by exp(-k²σ²/2)."""
        weights = np.exp(-0.5 * std_rad**2 * self.orders.astype(float) ** 2)
        return np.tensordot(weights, self.coefficients, axes=(0, 0)).real


def _chunks(
    points: LinkPoints, tolerance: float, where: str
) -> Iterator[tuple[int, np.ndarray, dict[str, np.ndarray]]]:
    """(cutoff, point indices, their values) per chunk: points grouped by cutoff, groups cut to bounded memory."""
    cutoffs = point_cutoffs(points, tolerance=tolerance, where=where)
    one_group = bool((cutoffs == cutoffs[0]).all())
    for cutoff in [int(cutoffs[0])] if one_group else np.unique(cutoffs).tolist():
        members = np.arange(cutoffs.size) if one_group else np.flatnonzero(cutoffs == cutoff)
        per_chunk = max(MIN_CHUNK_POINTS, CHUNK_ELEMENTS // (len(HERALD_SIGNS) * (2 * cutoff + 1) * (cutoff + 1) ** 2))
        for start in range(0, members.size, per_chunk):
            indices = members[start:start + per_chunk]
            if indices.size == cutoffs.size:  # every point at once (e.g. a single point): no copies
                yield cutoff, indices, dict(points.values)
            else:
                yield cutoff, indices, {name: array[indices] for name, array in points.values.items()}


def _require_finite(values: np.ndarray, points: LinkPoints, indices: np.ndarray, where: str) -> np.ndarray:
    """Refuse overflowed probabilities instead of passing NaN on (e.g. an EP pulse of 1e60 photons)."""
    finite = np.isfinite(values.reshape(values.shape[0], -1)).all(axis=1)
    if not finite.all():
        index = int(indices[np.flatnonzero(~finite)[0]])
        mu = {suffix: float(points.values[f"probe_mean_photon_number_{suffix}"][index]) for suffix in ("x", "y")}
        label = point_label(where, index)
        raise ConfigError(
            f"{label}: the exact engine overflowed (non-finite probabilities) at "
            f"probe_mean_photon_number_x={mu['x']!r}, probe_mean_photon_number_y={mu['y']!r}; "
            "the weak-field verification needs a weak EP pulse"
        )
    return values


def joint_table_arrays(
    points: LinkPoints,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    where: str = BATCH_INPUT,
    phase_offset_rad: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Phase-averaged joint tables of every point, ``tables[point, sign, basis, a, b]``, and each point's cutoff.

    ``phase_offset_rad`` (one finite value per point, or None for 0) is the mean of each
    point's Gaussian phase error δ (:func:`~metroqnet.link.fock_orders.phase_averaged_tables`).
    """
    offsets = None if phase_offset_rad is None else phase_offsets(phase_offset_rad, len(points))
    tables = np.empty((len(points), len(HERALD_SIGNS), len(BASES), 4, 4))
    cutoffs = np.empty(len(points), dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, not warned about
        for cutoff, indices, values in _chunks(points, tolerance, where):
            offset = None if offsets is None else offsets[indices]
            tables[indices] = _require_finite(
                phase_averaged_tables(values, cutoff, phase_offset_rad=offset), points, indices, where
            )
            cutoffs[indices] = cutoff
    return tables, cutoffs


def phase_offsets(phase_offset_rad: object, points: int) -> np.ndarray:
    """``phase_offset_rad`` as one finite float per point (a scalar is every point's), or a refusal naming it."""
    try:
        offsets = np.broadcast_to(np.asarray(phase_offset_rad, dtype=float), (points,))
    except (TypeError, ValueError):
        raise ConfigError(
            f"phase_offset_rad: {phase_offset_rad!r} must be a number or one number per point ({points})"
        ) from None
    if not np.all(np.isfinite(offsets)):
        raise ConfigError(f"phase_offset_rad: {phase_offset_rad!r} must be finite")
    return offsets


def joint_tables(params: LinkParameters, *, tolerance: float = DEFAULT_TOLERANCE) -> JointTables:
    """Exact joint probabilities of herald sign and both nodes' click patterns, per basis."""
    tables, cutoffs = joint_table_arrays(LinkPoints.from_parameters([params]), tolerance=tolerance,
                                         where="link parameters")
    return JointTables(tables=table_dict(tables[0]), photon_cutoff=int(cutoffs[0]))


def table_dict(tables: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """``tables[sign, basis, a, b]`` as ``{sign: {basis: 4x4}}``."""
    return {sign: {basis: tables[s, b] for b, basis in enumerate(BASES)} for s, sign in enumerate(HERALD_SIGNS)}


def phase_resolved_tables_batch(
    points: Sequence[LinkParameters] | LinkPoints, *, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[PhaseResolvedTables, ...]:
    """:func:`phase_resolved_tables` of many points, in their order (computed in cutoff groups)."""
    points = LinkPoints.of(points)
    return _phase_resolved(points, tolerance, where=BATCH_INPUT)


def _phase_resolved(points: LinkPoints, tolerance: float, where: str) -> tuple[PhaseResolvedTables, ...]:
    out: list[PhaseResolvedTables | None] = [None] * len(points)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, not warned about
        for cutoff, indices, values in _chunks(points, tolerance, where):
            coefficients = _require_finite(order_resolved_tables(values, cutoff), points, indices, where)
            orders = np.arange(-cutoff, cutoff + 1)
            for position, index in enumerate(indices):
                out[index] = PhaseResolvedTables(
                    orders=orders, coefficients=coefficients[position].astype(complex), photon_cutoff=cutoff
                )
    return tuple(out)  # type: ignore[arg-type]


def phase_resolved_tables(params: LinkParameters, *, tolerance: float = DEFAULT_TOLERANCE) -> PhaseResolvedTables:
    """The exact joint tables as functions of a fixed phase error δ (``phase_noise_std_rad`` is ignored)."""
    return _phase_resolved(LinkPoints.from_parameters([params]), tolerance, where="link parameters")[0]


def heralded_memory_states(params: LinkParameters, cutoff: int, *, average_phase: bool = True) -> dict[str, np.ndarray]:
    """Unnormalized memory states ``ρ[n, m, n', m']`` left by each herald sign (dense, for inspection and tests).

    ``ρ[(n,m),(n',m')] = c_n c_m c_n' c_m' <n',m'|Π|n,m>``; the trace of each is the
    herald probability of that sign. With ``average_phase`` the Gaussian phase error
    of the parameters is averaged over (order k weighted by exp(-σ²k²/2)); without,
    the state is the one at δ = 0.
    """
    v = LinkPoints.from_parameters([params]).values
    first, second = herald_factors(
        v["herald_efficiency_x"], v["herald_efficiency_y"], v["herald_mode_overlap_x"], v["herald_mode_overlap_y"],
        cutoff,
    )
    herald_zero = herald_order_zero(
        first, second, v["herald_efficiency_x"], v["herald_efficiency_y"], v["herald_noise_probability"], cutoff
    )[0]
    first, second = first[0], second[0]  # [sign, n, l], [sign, m, i]
    c_x, c_y = (memory_weights(v[f"excitation_probability_{s}"], cutoff)[0] for s in ("x", "y"))
    std = params.phase_noise_std_rad if average_phase else 0.0
    size = cutoff + 1
    n = np.arange(size)
    lf = np.array([math.lgamma(j + 1) for j in range(size)])
    states = {sign: np.zeros((size, size, size, size)) for sign in HERALD_SIGNS}
    for k in range(-cutoff, cutoff + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            dephasing = 1.0 if k == 0 else float(np.exp(-0.5 * np.square(np.float64(std)) * k * k))
        n_in, m_in = n[(n + k >= 0) & (n + k <= cutoff)], n[(n - k >= 0) & (n - k <= cutoff)]
        for s, sign in enumerate(HERALD_SIGNS):
            if k == 0:
                element = herald_zero[s]
            else:
                shifted = np.zeros((size, size))  # [m, l] = G[m, k + l]
                valid = (k + n >= 0) & (k + n <= cutoff)
                shifted[:, valid] = second[s][:, k + n[valid]]
                scale = np.exp(0.5 * (lf[np.clip(n + k, 0, cutoff)] - lf)[:, None]
                               + 0.5 * (lf[np.clip(n - k, 0, cutoff)] - lf)[None, :])
                element = (1.0 - float(v["herald_noise_probability"][0])) * scale * (first[s] @ shifted.T)
            block = element[np.ix_(n_in, m_in)] * np.outer(c_x[n_in] * c_x[n_in + k], c_y[m_in] * c_y[m_in - k])
            states[sign][n_in[:, None], m_in[None, :], (n_in + k)[:, None], (m_in - k)[None, :]] = dephasing * block
    return states
