"""Fock matrix elements of the link's operators, for a batch of parameter points at once.

Every function takes arrays with leading batch axes (one entry per parameter
point) and a common photon cutoff ``N`` (indices 0..N per mode, S = N+1), and
returns arrays with those axes first. The maths is in
:mod:`metroqnet.link.fock_engine`'s docstring; this module only evaluates it.

**Orders.** The herald operators conserve the total photon number:
``<n',m'|Γ(T)|n,m>`` vanishes unless ``n'-n = m-m' =: k``, the *order* (the
Fourier order of the phase error δ on Y's read-out). Arrays over orders are
indexed ``k + N`` for k = -N..N.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from metroqnet.physics.probe import probe_interfering_amplitude, probe_non_interfering_mean


@lru_cache(maxsize=16)
def _log_factorials(cutoff: int) -> np.ndarray:
    return np.array([math.lgamma(k + 1) for k in range(2 * cutoff + 2)])


@lru_cache(maxsize=16)
def _binomial_table(cutoff: int) -> np.ndarray:
    """``table[n, j] = C(n, j)`` for 0 <= j <= n <= cutoff, else 0."""
    return np.array([[math.comb(n, j) for j in range(cutoff + 1)] for n in range(cutoff + 1)], dtype=float)


@lru_cache(maxsize=16)
def _lower_triangle(cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """Exponent grids ``j`` and ``n - j`` of an S x S table (0 above the diagonal, where C(n, j) = 0)."""
    k = np.arange(cutoff + 1)
    lower = k[None, :] <= k[:, None]
    return np.where(lower, k[None, :], 0), np.where(lower, k[:, None] - k[None, :], 0)


def powers(base: np.ndarray, cutoff: int) -> np.ndarray:
    """``base[..., None] ** (0..cutoff)``, one ``pow`` per element (so 0**0 = 1)."""
    return np.power(np.asarray(base, dtype=float)[..., None], np.arange(cutoff + 1))


@lru_cache(maxsize=16)
def _sign_flips(cutoff: int) -> np.ndarray:
    """``[sign, j] = (±1)^j``: plus keeps ``move^j``, minus flips it to ``(-move)^j`` (exact in floating point)."""
    return np.array([np.ones(cutoff + 1), (-1.0) ** np.arange(cutoff + 1)])


def herald_factors(
    herald_efficiency_x: np.ndarray,
    herald_efficiency_y: np.ndarray,
    herald_mode_overlap_x: np.ndarray,
    herald_mode_overlap_y: np.ndarray,
    cutoff: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The binomial factors ``F[point, sign, n, l]``, ``G[point, sign, m, i]`` of Γ(T) for each herald sign.

    The detector that must stay silent (D- for plus, D+ for minus) has
    ``T = 1 - G∓ = [[1 - η_x/2, ±g/2], [±g/2, 1 - η_y/2]]``, ``g = sqrt(ov_x ov_y η_x η_y)``.
    Γ(T) maps ``(a1†)^n (a2†)^m |0>`` to ``(T11 a1† + T21 a2†)^n (T12 a1† + T22 a2†)^m |0>``.
    If ``l`` of mode 1's photons move to mode 2 (``F = C(n,l) T11^(n-l) T21^l``) and ``i``
    of mode 2's move to mode 1 (``G = C(m,i) T22^(m-i) T12^i``), the order is ``k = i - l``, so

        ``<n+k, m-k|Γ(T)|n,m> = sqrt((n+k)! (m-k)! / (n! m!)) Σ_l F[n, l] G[m, k+l]``.
    """
    eta_x, eta_y = herald_efficiency_x, herald_efficiency_y
    cross = np.sqrt(herald_mode_overlap_x * herald_mode_overlap_y * eta_x * eta_y)
    exponent, rest = _lower_triangle(cutoff)
    table = powers(np.array((1.0 - 0.5 * eta_x, 1.0 - 0.5 * eta_y, 0.5 * cross)), cutoff)  # [base, point, e]
    moved = table[2][:, None, :] * _sign_flips(cutoff)  # [point, sign, e]: T21 = T12 = ±g/2
    binomial = _binomial_table(cutoff)  # C(n, j) = 0 for j > n
    first = binomial * table[0][:, None, rest] * moved[..., exponent]
    second = binomial * table[1][:, None, rest] * moved[..., exponent]
    return first, second


def herald_order_zero(
    first: np.ndarray,
    second: np.ndarray,
    herald_efficiency_x: np.ndarray,
    herald_efficiency_y: np.ndarray,
    herald_noise_probability: np.ndarray,
    cutoff: int,
) -> np.ndarray:
    """Order 0 of the herald POVM elements, ``Π_0[point, sign, n, m] = <n,m|Π|n,m>``.

    Only D± clicking is ``(1-q)[Γ(1-G∓) - (1-q) Γ(1-G+-G-)]``; ``Γ(1-G+-G-)`` is
    diagonal, so the subtraction lives in order 0 alone and is done here, element by
    element, where it cancels least (at weak settings both terms are ≈ 1).
    """
    silent = np.matmul(first, np.swapaxes(second, -1, -2))  # Σ_l F[n, l] G[m, l]; the factorials cancel at k = 0
    q = herald_noise_probability[:, None, None, None]
    dark_both = (powers(1.0 - herald_efficiency_x, cutoff)[:, :, None]
                 * powers(1.0 - herald_efficiency_y, cutoff)[:, None, :])
    return (1.0 - q) * (silent - (1.0 - q) * dark_both[:, None])


def memory_weights(excitation_probability: np.ndarray, cutoff: int) -> np.ndarray:
    """TMSV amplitudes ``c_n = sqrt((1-χ) χ^n)``, ``out[..., n]`` for n = 0..cutoff."""
    chi = np.asarray(excitation_probability, dtype=float)
    return np.sqrt((1.0 - chi)[..., None] * powers(chi, cutoff))


@lru_cache(maxsize=32)
def order_grid(cutoff: int, direction: int) -> tuple[np.ndarray, np.ndarray]:
    """``[k + N, n]`` grids: the partner index ``n + d·k`` (clipped) and ``sqrt((n+d·k)!/n!)`` (0 outside 0..N)."""
    k = np.arange(-cutoff, cutoff + 1)[:, None]
    n = np.arange(cutoff + 1)[None, :]
    partner = n + direction * k
    inside = (partner >= 0) & (partner <= cutoff)
    partner = np.clip(partner, 0, cutoff)
    lf = _log_factorials(cutoff)
    scale = np.where(inside, np.exp(0.5 * (lf[partner] - lf[n])), 0.0)
    scale[cutoff] = 1.0  # order 0: exactly 1
    return partner, scale


def order_rows(operators: np.ndarray, weights: np.ndarray, cutoff: int, direction: int) -> np.ndarray:
    """``out[..., pattern, k + N, n] = E[pattern][n+dk, n] · c_n c_(n+dk) · sqrt((n+dk)!/n!)``, d = ``direction``.

    A node's operators along each order, with its TMSV amplitudes and the Fock
    normalization of that order folded in (zero where ``n + d·k`` leaves 0..N).
    ``operators`` is ``[..., pattern, k', k]``; ``weights`` (the ``c_n``) is ``[..., n]``.
    Node X reads ``E[n+k, n]`` (d = +1), node Y ``E[m-k, m]`` (d = -1).
    """
    partner, scale = order_grid(cutoff, direction)
    diagonals = operators[..., partner, np.arange(cutoff + 1)]  # [..., pattern, k, n]
    amplitude = weights[..., None, :] * weights[..., partner] * scale  # [..., k, n]
    return diagonals * amplitude[..., None, :, :]


@lru_cache(maxsize=16)
def _displacement_grid(cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """Exponents ``k'-l`` and coefficients of ``<k'|e^{x a†}|l> = x^{k'-l} sqrt(k'!/l!)/(k'-l)!`` (0 for k' < l)."""
    k = np.arange(cutoff + 1)
    lf = _log_factorials(cutoff)
    steps = k[:, None] - k[None, :]
    lower = steps >= 0
    safe = np.where(lower, steps, 0)
    log_coefficient = 0.5 * (lf[k][:, None] - lf[k][None, :]) - lf[safe]
    return safe, np.where(lower, np.exp(log_coefficient), 0.0)


def silent_operators(gain: np.ndarray, shift: np.ndarray, prefactor: np.ndarray, cutoff: int) -> np.ndarray:
    """``prefactor · exp(-γ a†) (1-g)^n exp(-γ a)`` in the Fock basis, ``out[..., k', k]``, for real γ.

    This is ``:exp(-(g a†a + γ a† + γ a)):`` — a set of detectors at one node staying
    dark, once the constant ``Σ|β_j|²`` is moved into ``prefactor``. γ is real here:
    the EP amplitude is real in the Z and X bases (Y follows from X, see fock_engine).
    With γ = 0 it is diagonal, ``prefactor · (1-g)^n`` (:func:`silent_diagonal`).
    """
    steps, coefficient = _displacement_grid(cutoff)
    rows = powers(-shift, cutoff)[..., steps] * coefficient  # [..., k', l]; coefficient is 0 above the diagonal
    diagonal = powers(1.0 - gain, cutoff)  # [..., l]
    return prefactor[..., None, None] * np.matmul(rows * diagonal[..., None, :], np.swapaxes(rows, -1, -2))


def silent_diagonal(gain: np.ndarray, prefactor: np.ndarray, cutoff: int) -> np.ndarray:
    """:func:`silent_operators` for γ = 0 (no interfering EP light on those detectors): ``prefactor · (1-g)^n``."""
    return prefactor[..., None] * powers(1.0 - gain, cutoff)


@lru_cache(maxsize=16)
def _parity(cutoff: int) -> np.ndarray:
    """``(-1)^(k'+k)``: turns the +1 port's X-basis operator into the -1 port's (EP amplitude of opposite sign)."""
    k = np.arange(cutoff + 1)
    return np.where((k[:, None] + k[None, :]) % 2 == 0, 1.0, -1.0)


def _port_terms(read_efficiency, mean_photon_number, mode_overlap, local_noise_probability):
    """Gains, the X basis's EP shift and prefactors of the sets of dark ports at one node, in both bases.

    A port with polarization (1, e_V)/√2 sees (a_H + conj(e_V) a_V)/√2: in Z the
    read-out (H) meets the +1 port and the EP pulse (V) the -1 port, so no port has
    both (γ = 0 everywhere); in X (e_V = ±1) each port sees half of each, the EP
    amplitude +α/√2 on +1 and -α/√2 on -1, which cancel when both stay dark. A set
    of ports stays dark only if the EP light misses it too: the prefactor is
    ``Π(1-q_j) exp(-Σ_j (|β_j|² + ν_j))`` (β interfering amplitude, ν non-interfering mean).
    """
    eta = np.asarray(read_efficiency, dtype=float)
    alpha = np.asarray(probe_interfering_amplitude(mean_photon_number, mode_overlap=mode_overlap))
    stray = np.asarray(probe_non_interfering_mean(mean_photon_number, mode_overlap=mode_overlap))
    silent = 1.0 - np.asarray(local_noise_probability, dtype=float)
    light_z = np.square(alpha) + stray  # the EP pulse, all on the -1 port
    half_eta = 0.5 * eta
    light_x = np.square(alpha / math.sqrt(2.0)) + 0.5 * stray  # half the EP pulse on each port
    return {
        # Z: sets +1 dark, -1 dark, both dark (gain, prefactor).
        "Z": (np.stack([eta, np.zeros_like(eta), eta], axis=-1),
              np.stack([silent, silent * np.exp(-light_z), silent**2 * np.exp(-light_z)], axis=-1)),
        # X: the +1 port dark (gain, γ, prefactor) and both dark (gain, prefactor).
        "X+": (half_eta, np.sqrt(half_eta) * (alpha / math.sqrt(2.0)), silent * np.exp(-light_x)),
        "X both": (half_eta + half_eta, silent**2 * np.exp(-(light_x + light_x))),
    }


def local_pattern_operators(
    read_efficiency: np.ndarray,
    probe_mean_photon_number: np.ndarray,
    probe_mode_overlap: np.ndarray,
    local_noise_probability: np.ndarray,
    cutoff: int,
) -> tuple[np.ndarray, np.ndarray]:
    """POVM elements of a node's two detectors: Z's (diagonal) ``[..., pattern, k]`` and X's ``[..., pattern, k', k]``.

    Patterns follow :mod:`metroqnet.analysis.outcomes`, by inclusion–exclusion over
    which ports stay dark (E_+, E_-: that port dark; E_both: both), subtracted at
    operator level, where it cancels least: none = E_both, +1 only = E_- - E_both,
    -1 only = E_+ - E_both, both clicked = ((1 - E_+) - E_-) + E_both.
    """
    terms = _port_terms(read_efficiency, probe_mean_photon_number, probe_mode_overlap, local_noise_probability)
    dark_z = silent_diagonal(*terms["Z"], cutoff)  # [..., set, k]
    plus, minus, both = dark_z[..., 0, :], dark_z[..., 1, :], dark_z[..., 2, :]
    z = np.stack([both, minus - both, plus - both, ((1.0 - plus) - minus) + both], axis=-2)
    plus = silent_operators(*terms["X+"], cutoff)
    minus = plus * _parity(cutoff)
    both = silent_diagonal(*terms["X both"], cutoff)
    x = np.empty(plus.shape[:-2] + (4,) + plus.shape[-2:])
    x[..., 0, :, :] = 0.0
    diagonal = np.arange(cutoff + 1)
    x[..., 0, diagonal, diagonal] = both
    np.subtract(minus, x[..., 0, :, :], out=x[..., 1, :, :])
    np.subtract(plus, x[..., 0, :, :], out=x[..., 2, :, :])
    x[..., 3, :, :] = ((np.eye(cutoff + 1) - plus) - minus) + x[..., 0, :, :]
    return z, x
