"""Exact link engine: the link model of ``docs/link_model.md`` computed in the Fock basis of the two memories.

Why Fock and not phase space: every click probability here is a *positive*
sum over photon-number sectors, with one subtraction for the herald and one per
local detector pattern. Plain inclusion–exclusion over vacuum probabilities of
a Gaussian state cancels terms of order 1 to leave results of order 1e-15 at
weak settings; this formulation keeps ~1e-12 relative precision there in
double precision, and is fast (one evaluation is a few small tensor contractions).

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
* The phase error rotates Y's read-out ``a_y -> e^{iδ} a_y``; its Gaussian
  average multiplies the coherence between ``m`` and ``m'`` excitations by
  ``exp(-σ²(m-m')²/2)`` exactly.
* At a node, a set S of local detectors stays dark with
  ``Π(1-q_j) e^{-ν_j} :exp(-Σ_j |sqrt(e_j) a + β_j|²):``, where ``e_j`` is the
  read-out's efficiency onto detector j, ``β_j`` the interfering EP amplitude
  and ``ν_j`` the non-interfering EP mean; completing the square gives finite
  sums for its Fock matrix elements. Patterns follow by inclusion–exclusion over
  the node's two detectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.physics.probe import probe_interfering_amplitude, probe_non_interfering_mean

DEFAULT_TOLERANCE = 1e-14
MAX_CUTOFF = 60


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


# --- Fock-space building blocks ---------------------------------------------------------


@lru_cache(maxsize=8)
def _log_factorials(cutoff: int) -> np.ndarray:
    return np.array([math.lgamma(k + 1) for k in range(2 * cutoff + 2)])


@lru_cache(maxsize=8)
def _binomial_table(cutoff: int) -> np.ndarray:
    """``table[n, j] = C(n, j)`` for 0 <= j <= n <= cutoff."""
    return np.array([[math.comb(n, j) for j in range(cutoff + 1)] for n in range(cutoff + 1)], dtype=float)


@lru_cache(maxsize=8)
def _convolution_gather(cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """Index ``n'-j`` (clipped) and mask for the sum over ``j`` in :func:`second_quantized`."""
    k = np.arange(cutoff + 1)
    steps = k[:, None] - k[None, :]  # [n', j]
    valid = steps >= 0
    return np.where(valid, steps, 0), valid


def second_quantized(transfer: np.ndarray, cutoff: int) -> np.ndarray:
    """Fock matrix elements of Γ(T) on two modes: ``out[n', m', n, m] = <n',m'|Γ(T)|n,m>``.

    Γ(T) maps ``(a1†)^n (a2†)^m |0>`` to ``(T11 a1† + T21 a2†)^n (T12 a1† + T22 a2†)^m |0>``,
    so it conserves photon number. The coefficient of ``a1†^n' a2†^m'`` is a product of
    two binomial expansions, summed over how the ``n'`` photons in mode 1 split:
    ``Σ_j C(n,j) T11^j T21^(n-j) · C(m,n'-j) T12^(n'-j) T22^(m-n'+j)``.
    Indices are truncated at ``cutoff`` per mode.
    """
    size = cutoff + 1
    k = np.arange(size)
    binomial = _binomial_table(cutoff)
    upper = k[None, :] <= k[:, None]
    exponent_rest = np.where(upper, k[:, None] - k[None, :], 0)
    # first[n, j]: photons of mode 1 that stay in mode 1 (j) or move to mode 2 (n - j).
    first = np.where(upper, binomial * np.power(transfer[0, 0], k[None, :]) * np.power(transfer[1, 0], exponent_rest), 0.0)
    second = np.where(upper, binomial * np.power(transfer[0, 1], k[None, :]) * np.power(transfer[1, 1], exponent_rest), 0.0)
    steps, valid = _convolution_gather(cutoff)
    gathered = np.where(valid[None, :, :], second[:, steps], 0.0)  # [m, n', j] = second[m, n'-j]
    coefficient = np.einsum("nj,mNj->nmN", first, gathered)  # [n, m, n']
    lf = _log_factorials(cutoff)
    n, m, n2 = np.meshgrid(k, k, k, indexing="ij")
    m2 = n + m - n2
    inside = (m2 >= 0) & (m2 <= cutoff)
    m2_safe = np.where(inside, m2, 0)
    scale = np.exp(0.5 * (lf[n2] + lf[m2_safe] - lf[n] - lf[m]))
    out = np.zeros((size, size, size, size))
    n_idx, m_idx, n2_idx = np.nonzero(inside)
    out[n2_idx, m2_safe[inside], n_idx, m_idx] = (coefficient * scale)[inside]
    return out


def herald_operators(params: LinkParameters, cutoff: int) -> dict[str, np.ndarray]:
    """Herald POVM elements on the two write-out photons, ``op[n', m', n, m]``, per sign."""
    eta_x, eta_y = params.herald_efficiency_x, params.herald_efficiency_y
    cross = math.sqrt(params.herald_mode_overlap_x * params.herald_mode_overlap_y * eta_x * eta_y)
    q = params.herald_noise_probability
    dark_both = second_quantized(np.diag([1.0 - eta_x, 1.0 - eta_y]), cutoff)
    operators = {}
    for sign, silent_sign in (("plus", -1.0), ("minus", +1.0)):
        # No photon at the *other* detector: T = 1 - G_other.
        transfer_other = np.array(
            [[1.0 - 0.5 * eta_x, -0.5 * silent_sign * cross], [-0.5 * silent_sign * cross, 1.0 - 0.5 * eta_y]]
        )
        silent_other = second_quantized(transfer_other, cutoff)
        operators[sign] = (1.0 - q) * (silent_other - (1.0 - q) * dark_both)
    return operators


def memory_weights(excitation_probability: float, cutoff: int) -> np.ndarray:
    """TMSV amplitudes ``c_n = sqrt((1-χ) χ^n)`` for n = 0..cutoff."""
    n = np.arange(cutoff + 1)
    return np.sqrt((1.0 - excitation_probability) * np.power(excitation_probability, n))


def heralded_memory_states(params: LinkParameters, cutoff: int, *, average_phase: bool = True) -> dict[str, np.ndarray]:
    """Unnormalized memory states ``ρ[n, m, n', m']`` left by each herald sign.

    The trace of each is the herald probability of that sign. With
    ``average_phase`` the Gaussian phase error of the parameters is averaged
    over; without, the state is the one at δ = 0.
    """
    c_x = memory_weights(params.excitation_probability_x, cutoff)
    c_y = memory_weights(params.excitation_probability_y, cutoff)
    amplitude = np.einsum("n,m->nm", c_x, c_y)
    weights = np.einsum("nm,NM->nmNM", amplitude, amplitude)
    m = np.arange(cutoff + 1)
    std = params.phase_noise_std_rad if average_phase else 0.0
    order = (m[:, None] - m[None, :]) ** 2  # [m, m']
    with np.errstate(over="ignore", invalid="ignore"):  # a phase noise of 1e200 rad: every coherence is gone
        dephasing = np.where(order == 0, 1.0, np.exp(-0.5 * np.square(np.float64(std)) * order))
    states = {}
    for sign, operator in herald_operators(params, cutoff).items():
        # ρ[(n,m),(n',m')] = c.. <n',m'|Π|n,m>; operator is indexed [n', m', n, m].
        rho = weights * np.transpose(operator, (2, 3, 0, 1))
        states[sign] = rho * dephasing[None, :, None, :]
    return states


@lru_cache(maxsize=8)
def _displacement_grid(cutoff: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponents ``k'-l``, log-coefficients and mask of ``<k'|e^{x a†}|l> = x^{k'-l} sqrt(k'!/l!)/(k'-l)!``."""
    k = np.arange(cutoff + 1)
    lf = _log_factorials(cutoff)
    steps = k[:, None] - k[None, :]
    lower = steps >= 0
    safe = np.where(lower, steps, 0)
    log_coefficient = 0.5 * (lf[k][:, None] - lf[k][None, :]) - lf[safe]
    return safe, np.where(lower, np.exp(log_coefficient), 0.0), lower


def silent_operators(gain: np.ndarray, shift: np.ndarray, prefactor: np.ndarray, cutoff: int) -> np.ndarray:
    """Batch of ``prefactor · exp(-γ a†) (1-g)^n exp(-γ* a)`` in the Fock basis, ``out[i, k', k]``.

    This is ``:exp(-(g a†a + γ a† + γ* a)):`` — a set of detectors at one node staying
    dark, once the constant ``Σ|β_j|²`` is moved into ``prefactor``.
    """
    steps, coefficient, lower = _displacement_grid(cutoff)
    rows = np.where(lower, np.power(-shift[:, None, None], steps) * coefficient, 0.0)  # [i, k', l]
    diagonal = np.power(1.0 - gain[:, None], np.arange(cutoff + 1))  # [i, l]
    return prefactor[:, None, None] * np.matmul(rows * diagonal[:, None, :], np.conj(np.swapaxes(rows, 1, 2)))


def _port_couplings(params: LinkParameters, suffix: str, basis: str) -> list[tuple[float, complex, float]]:
    """(read-out efficiency onto port, interfering EP amplitude, non-interfering EP mean) for ports +1, -1."""
    eta = params.node("read_efficiency", suffix)
    mu = params.node("probe_mean_photon_number", suffix)
    overlap = params.node("probe_mode_overlap", suffix)
    alpha = probe_interfering_amplitude(mu, mode_overlap=overlap)
    stray = probe_non_interfering_mean(mu, mode_overlap=overlap)
    if basis == "Z":
        return [(eta, 0.0, 0.0), (0.0, alpha, stray)]
    # Port with polarization (1, e_V)/√2 sees (a_H + conj(e_V) a_V)/√2.
    phase = {"X": (1.0, -1.0), "Y": (-1j, 1j)}[basis]
    return [(0.5 * eta, phase[0] * alpha / math.sqrt(2.0), 0.5 * stray),
            (0.5 * eta, phase[1] * alpha / math.sqrt(2.0), 0.5 * stray)]


def local_pattern_operators(params: LinkParameters, suffix: str, basis: str, cutoff: int) -> np.ndarray:
    """POVM elements ``E[pattern, k', k]`` of one node's two detectors in one basis."""
    noise = params.node("local_noise_probability", suffix)
    ports = _port_couplings(params, suffix, basis)
    subsets = ((0,), (1,), (0, 1))  # +1 port dark, -1 port dark, both dark
    gain = np.array([sum(ports[i][0] for i in sub) for sub in subsets])
    shift = np.array([sum(math.sqrt(ports[i][0]) * ports[i][1] for i in sub) for sub in subsets], dtype=complex)
    # Σ|β|² + Σν: the EP light must also be absent for the detectors to stay dark.
    intensity = np.array([sum(abs(ports[i][1]) ** 2 + ports[i][2] for i in sub) for sub in subsets])
    prefactor = (1.0 - noise) ** np.array([len(sub) for sub in subsets]) * np.exp(-intensity)
    silent_plus, silent_minus, silent_both = silent_operators(gain, shift, prefactor, cutoff)
    identity = np.eye(cutoff + 1, dtype=complex)
    return np.stack(
        [
            silent_both,
            silent_minus - silent_both,
            silent_plus - silent_both,
            identity - silent_plus - silent_minus + silent_both,
        ]
    )


def _cutoff(params: LinkParameters, tolerance: float) -> int:
    return photon_cutoff(max(params.excitation_probability_x, params.excitation_probability_y), tolerance=tolerance)


def _require_finite(values: np.ndarray, params: LinkParameters) -> np.ndarray:
    """Refuse overflowed probabilities instead of passing NaN on (e.g. an EP pulse of 1e60 photons)."""
    if not np.all(np.isfinite(values)):
        raise ConfigError(
            "link parameters: the exact engine overflowed (non-finite probabilities) at "
            f"probe_mean_photon_number_x={params.probe_mean_photon_number_x!r}, "
            f"probe_mean_photon_number_y={params.probe_mean_photon_number_y!r}; "
            "the weak-field verification needs a weak EP pulse"
        )
    return values


def _pattern_contractions(params: LinkParameters, cutoff: int, *, average_phase: bool):
    """Yield ``(sign, basis, partial, ops_y)`` with ``partial[a, m, m'] = Σ ρ[n,m,n',m'] E_x[a][n',n]``."""
    states = heralded_memory_states(params, cutoff, average_phase=average_phase)
    for basis in BASES:
        ops_x = local_pattern_operators(params, "x", basis, cutoff)
        ops_y = local_pattern_operators(params, "y", basis, cutoff)
        for sign in HERALD_SIGNS:
            yield sign, basis, np.einsum("nmNM,aNn->amM", states[sign], ops_x, optimize=True), ops_y


def joint_tables(params: LinkParameters, *, tolerance: float = DEFAULT_TOLERANCE) -> JointTables:
    """Exact joint probabilities of herald sign and both nodes' click patterns, per basis."""
    cutoff = _cutoff(params, tolerance)
    tables: dict[str, dict[str, np.ndarray]] = {sign: {} for sign in HERALD_SIGNS}
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, not warned about
        for sign, basis, partial, ops_y in _pattern_contractions(params, cutoff, average_phase=True):
            # P(a, b) = Σ ρ[n,m,n',m'] E_x[a][n',n] E_y[b][m',m]
            table = np.einsum("amM,bMm->ab", partial, ops_y, optimize=True).real
            tables[sign][basis] = _require_finite(table, params)
    return JointTables(tables=tables, photon_cutoff=cutoff)


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


def phase_resolved_tables(params: LinkParameters, *, tolerance: float = DEFAULT_TOLERANCE) -> PhaseResolvedTables:
    """The exact joint tables as functions of a fixed phase error δ (``phase_noise_std_rad`` is ignored)."""
    cutoff = _cutoff(params, tolerance)
    orders = np.arange(-cutoff, cutoff + 1)
    size = cutoff + 1
    m = np.arange(size)
    order_of = (m[:, None] - m[None, :]) + cutoff  # [m, m'] -> index into orders
    coefficients = np.zeros((orders.size, len(HERALD_SIGNS), len(BASES), 4, 4), dtype=complex)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, not warned about
        for sign, basis, partial, ops_y in _pattern_contractions(params, cutoff, average_phase=False):
            terms = np.einsum("amM,bMm->abmM", partial, ops_y, optimize=True).reshape(4, 4, -1)
            resolved = np.zeros((orders.size, 4, 4), dtype=complex)
            np.add.at(resolved, order_of.ravel(), np.moveaxis(terms, -1, 0))
            coefficients[:, HERALD_SIGNS.index(sign), BASES.index(basis)] = resolved
    return PhaseResolvedTables(orders=orders, coefficients=_require_finite(coefficients, params), photon_cutoff=cutoff)
