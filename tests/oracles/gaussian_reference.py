"""Independent high-precision Gaussian-state (phase-space) reference for the SPEC §2 link.

This module cross-checks the exact Fock-space engine. It shares nothing with it
but :class:`LinkParameters` and the outcome conventions: every mode and optical
element of SPEC §2 is built explicitly here.

Modes
    Four source modes, in this order: a_x, p_x, a_y, p_y (atom and write-out
    photon of each node), quadratures (x, p) with ħ = 1 and vacuum covariance
    I/2. Each node is a two-mode squeezed vacuum with P(n) = (1-χ)χⁿ,
    n̄ = χ/(1-χ), s = √(n̄(n̄+1)) = ⟨a p⟩ > 0. Its *excess* (normally ordered)
    covariance Σ = V - I/2 is [[n̄ I, s Zm], [s Zm, n̄ I]], Zm = diag(1, -1)
    (⟨x_a x_p⟩ = Re⟨ap⟩ = s, ⟨p_a p_p⟩ = -Re⟨ap⟩ = -s).

    Every detector sees output modes b = Σ_j u_j m_j + (vacuum) + β, with
    m_j the source annihilators, u_j complex (Heisenberg picture) and β a
    coherent amplitude; b's real transfer block for m_j is
    [[Re u, -Im u], [Im u, Re u]] and its mean is r = √2 (Re β, Im β).

    * Herald: p_k passes pure loss η_h,k; amplitude √ov_k goes to a common
      mode c_k, the rest √(1-ov_k) to a private mode o_k. D± see
      (c_x ± c_y)/√2 and one half of each o_k (its own mode per detector).
    * Read: √η_r,k a_k (times e^{iδ} at node y) in H; in V the EP pulse's
      interfering part, coherent √(ov_p,k μ_k) real positive. A port with
      polarization e sees conj(e_H) a_H + conj(e_V) a_V; the non-interfering
      EP intensity (1-ov_p,k) μ_k reaches it with weight |e_V|² as a separate
      coherent mode, i.e. a factor exp(-|e_V|²(1-ov_p,k)μ_k) on its vacuum
      probability.
    * Noise: detector j also clicks independently with probability q_j.

Formulas
    For a set S of detectors, P(no click in S) = Π_{j∈S}(1-q_j)
    · exp(-Σ non-interfering intensities)
    · det(I + Σ_S)^{-1/2} exp(-½ r_Sᵀ (I + Σ_S)^{-1} r_S), Σ_S = T_S Σ T_Sᵀ.
    With A = T_Sᵀ T_S and g = T_Sᵀ r_S (sums of per-detector pieces) this is
    computed in 8x8 form: det(I + Σ_S) = det(I + Σ A) (Sylvester) and
    r_Sᵀ(I + Σ_S)^{-1} r_S = r_Sᵀ r_S - gᵀ (I + Σ A)^{-1} Σ g (Woodbury and
    push-through). A click pattern (K click, C silent) has probability
    Σ_{T⊆K} (-1)^{|T|} P(no click in C ∪ T). The phase error δ ~ N(0, σ²)
    is averaged with probabilists' Gauss–Hermite quadrature.

Precision
    The parameters (float64) are converted exactly to mpmath; every derived
    optical coefficient (square roots, 1/√2, e^{iδ}, 1 - overlap), the
    products A, g, Σ A, the LU factorization, the determinant, the solve, the
    exponentials and the inclusion–exclusion are done at ``dps`` digits. This
    matters because at weak settings the alternating sums cancel terms of order
    1 down to results of order 1e-15; forming the coefficients in float64
    instead breaks the unitarity of the beamsplitters at 1e-16, which shows
    up as errors of ~1e-22 absolute (e.g. an exactly-zero probability of
    -1e-22). The δ nodes themselves are float64 and shared by all subsets. The
    δ average of the (non-negative) pattern probabilities is taken after the
    inclusion–exclusion; results are returned as float64, values negative only
    within the working precision (≥ -10^(3-dps)) set to 0.

Cost
    2^6 detector subsets, of which the 48 involving a herald detector are
    evaluated: once for Z (δ-independent), and per δ node for X and Y (the 12
    without node-Y detectors once). About 2 s at dps=30, 32 nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np

from metroqnet.analysis.outcomes import BASES, BOTH, HERALD_SIGNS, MINUS_ONLY, NO_CLICK, PLUS_ONLY
from metroqnet.config.link_parameters import LinkParameters

__all__ = ["gaussian_joint_probabilities"]

#: Source modes; mode m owns quadrature columns (2m, 2m + 1) = (x, p).
_N_SOURCE = 4
_DIM = 2 * _N_SOURCE
_A_X, _P_X, _A_Y, _P_Y = range(_N_SOURCE)
_NODE_MODES = {"x": (_A_X, _P_X), "y": (_A_Y, _P_Y)}

#: Detector indices: bit positions in a subset mask.
_D_PLUS, _D_MINUS, _X_PLUS, _X_MINUS, _Y_PLUS, _Y_MINUS = range(6)
_N_DETECTORS = 6
_LOCAL_PORTS = {"x": (_X_PLUS, _X_MINUS), "y": (_Y_PLUS, _Y_MINUS)}
#: Detectors whose modes depend on the phase error δ (node Y's read-out).
_DELTA_MASK = (1 << _Y_PLUS) | (1 << _Y_MINUS)

#: Which local ports click (and which stay silent) in each node pattern.
_PATTERN_CLICKS = {
    NO_CLICK: ((), (0, 1)),
    PLUS_ONLY: ((0,), (1,)),
    MINUS_ONLY: ((1,), (0,)),
    BOTH: ((0, 1), ()),
}
#: Herald sign -> (detector that clicks, detector that stays silent).
_HERALD_CLICKS = {"plus": (_D_PLUS, _D_MINUS), "minus": (_D_MINUS, _D_PLUS)}


class _Piece:
    """A detector's (or a subset's) part of the no-click formula, in mpmath.

    ``A`` = TᵀT and ``g`` = Tᵀr (8x8 and 8), ``rr`` = rᵀr, ``log_factor`` = minus the
    coherent intensity in modes orthogonal to every source, ``factor`` = Π(1 - q).
    A subset's piece is the sum (product for ``factor``) of its detectors' pieces.
    """

    def __init__(self) -> None:
        zero = mpmath.mpf(0)
        self.A = [[zero] * _DIM for _ in range(_DIM)]
        self.g = [zero] * _DIM
        self.rr = zero
        self.log_factor = zero
        self.factor = mpmath.mpf(1)

    def plus(self, other: _Piece) -> _Piece:
        total = _Piece()
        total.A = [[a + b for a, b in zip(ra, rb)] for ra, rb in zip(self.A, other.A)]
        total.g = [a + b for a, b in zip(self.g, other.g)]
        total.rr = self.rr + other.rr
        total.log_factor = self.log_factor + other.log_factor
        total.factor = self.factor * other.factor
        return total


def _detector_piece(
    modes: Sequence[tuple[dict[int, mpmath.mpc], mpmath.mpc]], noise: float, dark_intensity: mpmath.mpf
) -> _Piece:
    """Piece of one threshold detector seeing ``modes`` = [(coefficients {source mode: u}, coherent β)].

    Each output mode b = Σ u_j m_j + β contributes two rows to T (block
    [[Re u, -Im u], [Im u, Re u]] in the columns of m_j) and r = √2 (Re β, Im β).
    """
    T = []
    r = []
    zero = mpmath.mpf(0)
    root2 = mpmath.sqrt(2)
    for coefficients, beta in modes:
        row_x = [zero] * _DIM
        row_p = [zero] * _DIM
        for mode, u in coefficients.items():
            u = mpmath.mpc(u)
            row_x[2 * mode], row_x[2 * mode + 1] = u.real, -u.imag
            row_p[2 * mode], row_p[2 * mode + 1] = u.imag, u.real
        T += [row_x, row_p]
        beta = mpmath.mpc(beta)
        r += [root2 * beta.real, root2 * beta.imag]
    piece = _Piece()
    piece.A = [[mpmath.fsum(row[i] * row[j] for row in T) for j in range(_DIM)] for i in range(_DIM)]
    piece.g = [mpmath.fsum(row[i] * rk for row, rk in zip(T, r)) for i in range(_DIM)]
    piece.rr = mpmath.fsum(rk * rk for rk in r)
    piece.log_factor = -dark_intensity
    piece.factor = 1 - mpmath.mpf(noise)
    return piece


def _validate(dps: int, phase_nodes: int) -> None:
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < 20:
        raise ValueError(f"dps must be an integer >= 20, got {dps!r}")
    if isinstance(phase_nodes, bool) or not isinstance(phase_nodes, int) or phase_nodes < 1:
        raise ValueError(f"phase_nodes must be an integer >= 1, got {phase_nodes!r}")


def _source_excess_covariance(params: LinkParameters) -> list[tuple[mpmath.mpf, mpmath.mpf]]:
    """(n̄, s) of each node's two-mode squeezed vacuum, x then y, in mpmath."""
    result = []
    for k in ("x", "y"):
        chi = mpmath.mpf(params.node("excitation_probability", k))
        nbar = chi / (1 - chi)
        result.append((nbar, mpmath.sqrt(nbar * (nbar + 1))))
    return result


def _herald_pieces(params: LinkParameters) -> list[_Piece]:
    """D+ and D-: the common modes (c_x ± c_y)/√2 and half of each private mode o_k."""
    half = mpmath.mpf(1) / 2
    common = {}
    private = {}
    for k in ("x", "y"):
        eta = mpmath.mpf(params.node("herald_efficiency", k))
        overlap = mpmath.mpf(params.node("herald_mode_overlap", k))
        common[k] = mpmath.sqrt(eta * overlap * half)
        private[k] = mpmath.sqrt(eta * (1 - overlap) * half)
    pieces = []
    for sign in (+1, -1):
        modes = [
            ({_P_X: common["x"], _P_Y: sign * common["y"]}, 0),
            ({_P_X: private["x"]}, 0),
            ({_P_Y: private["y"]}, 0),
        ]
        pieces.append(_detector_piece(modes, params.herald_noise_probability, mpmath.mpf(0)))
    return pieces


def _port_polarizations(basis: str) -> tuple[tuple[mpmath.mpc, mpmath.mpc], ...]:
    """Polarization vectors (e_H, e_V) of the (+1, -1) ports of ``basis``."""
    r = mpmath.sqrt(mpmath.mpf(1) / 2)
    i = mpmath.mpc(0, 1)
    vectors = {
        "Z": ((1, 0), (0, 1)),
        "X": ((r, r), (r, -r)),
        "Y": ((r, i * r), (r, -i * r)),
    }[basis]
    return tuple((mpmath.mpc(h), mpmath.mpc(v)) for h, v in vectors)


def _local_pieces(params: LinkParameters, node: str, basis: str, delta: float) -> list[_Piece]:
    """The (+1, -1) port detectors of one node; node y's read-out carries e^{iδ}.

    A port with polarization e sees conj(e_H)·(read-out) + conj(e_V)·(EP part in
    the read-out's mode), plus |e_V|² of the non-interfering EP intensity.
    """
    atom = _NODE_MODES[node][0]
    eta = mpmath.mpf(params.node("read_efficiency", node))
    mu = mpmath.mpf(params.node("probe_mean_photon_number", node))
    overlap = mpmath.mpf(params.node("probe_mode_overlap", node))
    phase = mpmath.expj(mpmath.mpf(delta)) if node == "y" else mpmath.mpc(1)
    readout = mpmath.sqrt(eta) * phase
    probe = mpmath.sqrt(overlap * mu)
    pieces = []
    for e_h, e_v in _port_polarizations(basis):
        mode = ({atom: mpmath.conj(e_h) * readout}, mpmath.conj(e_v) * probe)
        dark = abs(e_v) ** 2 * (1 - overlap) * mu
        pieces.append(_detector_piece([mode], params.node("local_noise_probability", node), dark))
    return pieces


def _subset_pieces(pieces: Sequence[_Piece]) -> list[_Piece]:
    """The summed piece of every subset mask of the detectors (index = mask)."""
    subsets = [_Piece()]
    for mask in range(1, 1 << len(pieces)):
        low = mask & -mask
        subsets.append(subsets[mask ^ low].plus(pieces[low.bit_length() - 1]))
    return subsets


def _no_click_probability(piece: _Piece, source: Sequence[tuple[mpmath.mpf, mpmath.mpf]]) -> mpmath.mpf:
    """Π(1-q)·exp(-dark)·det(I + ΣA)^{-1/2}·exp(-½(rᵀr - gᵀ(I + ΣA)^{-1}Σg)) for one subset."""
    A, g = piece.A, piece.g
    # Σ row i: n̄ on the diagonal, ±s on the same quadrature of the node's other mode (index i ^ 2).
    M = []
    sigma_g = []
    for i in range(_DIM):
        nbar, s = source[i >> 2]
        s = s if i % 2 == 0 else -s
        partner = i ^ 2
        row = [nbar * a + s * b for a, b in zip(A[i], A[partner])]
        row[i] += 1
        M.append(row)
        sigma_g.append(nbar * g[i] + s * g[partner])
    det, solution = _lu_det_solve(M, sigma_g)
    quadratic = piece.rr - mpmath.fsum(gi * ui for gi, ui in zip(g, solution))
    return piece.factor * mpmath.exp(piece.log_factor - quadratic / 2) / mpmath.sqrt(det)


def _lu_det_solve(M: list[list[mpmath.mpf]], b: list[mpmath.mpf]) -> tuple[mpmath.mpf, list[mpmath.mpf]]:
    """Determinant of M and the solution of M u = b (Gaussian elimination, partial pivoting)."""
    n = len(M)
    rows = [row + [bi] for row, bi in zip(M, b)]
    det = mpmath.mpf(1)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if pivot != col:
            rows[col], rows[pivot] = rows[pivot], rows[col]
            det = -det
        head = rows[col]
        p = head[col]
        det *= p
        for r in range(col + 1, n):
            row = rows[r]
            if row[col]:
                f = row[col] / p
                for c in range(col + 1, n + 1):
                    row[c] -= f * head[c]
    solution = [mpmath.mpf(0)] * n
    for r in range(n - 1, -1, -1):
        row = rows[r]
        acc = row[n] - mpmath.fsum(row[c] * solution[c] for c in range(r + 1, n))
        solution[r] = acc / row[r]
    return det, solution


def _needed_masks() -> list[int]:
    """Subsets that appear in some inclusion–exclusion: every one silences or clicks a herald detector."""
    herald = (1 << _D_PLUS) | (1 << _D_MINUS)
    return [mask for mask in range(1, 1 << _N_DETECTORS) if mask & herald]


def _pattern_tables(p0: dict[int, mpmath.mpf]) -> dict[str, list[list[mpmath.mpf]]]:
    """Inclusion–exclusion: P(herald sign, pattern a at x, pattern b at y) from no-click probabilities."""
    tables = {}
    for sign in HERALD_SIGNS:
        click_h, silent_h = _HERALD_CLICKS[sign]
        table = [[mpmath.mpf(0)] * 4 for _ in range(4)]
        for a, (click_a, silent_a) in _PATTERN_CLICKS.items():
            for b, (click_b, silent_b) in _PATTERN_CLICKS.items():
                click = (1 << click_h) | _port_mask("x", click_a) | _port_mask("y", click_b)
                silent = (1 << silent_h) | _port_mask("x", silent_a) | _port_mask("y", silent_b)
                table[a][b] = _inclusion_exclusion(click, silent, p0)
        tables[sign] = table
    return tables


def _port_mask(node: str, ports: Sequence[int]) -> int:
    mask = 0
    for port in ports:
        mask |= 1 << _LOCAL_PORTS[node][port]
    return mask


def _inclusion_exclusion(click: int, silent: int, p0: dict[int, mpmath.mpf]) -> mpmath.mpf:
    """P(every detector in ``click`` clicks and every one in ``silent`` does not)."""
    terms = []
    sub = click
    while True:
        sign = -1 if bin(sub).count("1") % 2 else 1
        terms.append(sign * p0[silent | sub])
        if sub == 0:
            break
        sub = (sub - 1) & click
    return mpmath.fsum(terms)


def _phase_quadrature(sigma: float, nodes: int) -> list[tuple[float, mpmath.mpf]]:
    """(δ, weight) pairs averaging over δ ~ N(0, σ²); a single δ = 0 when σ = 0."""
    if sigma == 0.0:
        return [(0.0, mpmath.mpf(1))]
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    total = mpmath.fsum(mpmath.mpf(float(wi)) for wi in w)
    return [(sigma * float(xi), mpmath.mpf(float(wi)) / total) for xi, wi in zip(x, w)]


def _basis_tables(
    params: LinkParameters,
    basis: str,
    herald: list[_Piece],
    source: list[tuple[mpmath.mpf, mpmath.mpf]],
    quadrature: list[tuple[float, mpmath.mpf]],
) -> dict[str, list[list[mpmath.mpf]]]:
    """δ-averaged pattern tables of one basis for both herald signs."""
    x_pieces = _local_pieces(params, "x", basis, 0.0)
    masks = _needed_masks()
    static: dict[int, mpmath.mpf] = {}
    averaged = {sign: [[mpmath.mpf(0)] * 4 for _ in range(4)] for sign in HERALD_SIGNS}
    for delta, weight in quadrature:
        y_pieces = _local_pieces(params, "y", basis, delta)
        subsets = _subset_pieces(herald + x_pieces + y_pieces)
        p0 = {}
        for mask in masks:
            if not mask & _DELTA_MASK and mask in static:
                p0[mask] = static[mask]
                continue
            p0[mask] = _no_click_probability(subsets[mask], source)
            if not mask & _DELTA_MASK:
                static[mask] = p0[mask]
        for sign, table in _pattern_tables(p0).items():
            for a in range(4):
                for b in range(4):
                    averaged[sign][a][b] += weight * table[a][b]
    return averaged


def gaussian_joint_probabilities(
    params: LinkParameters, *, dps: int = 30, phase_nodes: int = 32
) -> dict[str, dict[str, np.ndarray]]:
    """Joint probabilities of the SPEC §2 link from an independent Gaussian-state calculation.

    Returns ``{sign: {basis: table}}`` for sign in ("plus", "minus") and basis in
    ("Z", "X", "Y"); ``table[a, b]`` (4x4 float64) is P(herald ``sign``, node-X
    pattern ``a``, node-Y pattern ``b``) with both nodes measured in ``basis``
    (patterns as in :mod:`metroqnet.analysis.outcomes`). ``table.sum()`` is the
    herald probability of that sign. ``dps`` is the mpmath working precision
    (>= 20); ``phase_nodes`` the number of Gauss–Hermite nodes for the phase
    average (>= 1; one evaluation when ``phase_noise_std_rad`` is 0; the Z basis
    is phase-independent and evaluated once).
    """
    _validate(dps, phase_nodes)
    with mpmath.workdps(dps):
        source = _source_excess_covariance(params)
        herald = _herald_pieces(params)
        phase_average = _phase_quadrature(float(params.phase_noise_std_rad), phase_nodes)
        result: dict[str, dict[str, np.ndarray]] = {sign: {} for sign in HERALD_SIGNS}
        for basis in BASES:
            quadrature = [(0.0, mpmath.mpf(1))] if basis == "Z" else phase_average
            tables = _basis_tables(params, basis, herald, source, quadrature)
            for sign in HERALD_SIGNS:
                result[sign][basis] = _to_float_table(tables[sign], dps)
    return result


def _to_float_table(table: list[list[mpmath.mpf]], dps: int) -> np.ndarray:
    """float64 table; a value negative only within the working precision (an exact zero) becomes 0.

    Terms of the alternating sums are at most of order 1, so their rounding is
    ~10^-dps absolute; larger negative values are returned as they are.
    """
    floor = -(10.0 ** (3 - dps))
    values = [[float(v) for v in row] for row in table]
    return np.array([[0.0 if floor < v < 0.0 else v for v in row] for row in values], dtype=np.float64)
