"""The estimators of docs/link_model.md: from per-basis outcome tables of one herald sign to entanglement figures.

A table is ``table[a, b]`` over the click patterns of node X (a) and node Y (b)
(see :mod:`metroqnet.analysis.outcomes`). Tables may hold probabilities or
counts: every estimator is a ratio within one basis, so only proportions
matter. A stack of tables (shape ``(..., 4, 4)``) gives an array per figure
(error propagation evaluates many perturbed tables at once). This module never
imports a simulator, so it runs on a lab's counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGN_VALUE, HERALD_SIGNS, PLUS_PORT_CLICKED, SINGLE_CLICK_SIGN


class UndefinedEstimate(ValueError):
    """An estimator's denominator is empty (e.g. no event with one click at each node)."""


@dataclass(frozen=True)
class EntanglementFigures:
    """Figures of one herald sign (the estimators of docs/link_model.md); names match the JSON output.

    ``d``, ``concurrence`` and ``atomic_concurrence`` use the paper's coherence bound, which
    assumes p01 ≈ p10 and overstates the coherence on unbalanced links (C̃ can exceed 1);
    ``d_general``, ``concurrence_general`` and ``atomic_concurrence_general`` use the bound
    that always holds (equal to the paper's when p01 = p10). The atomic figures are None
    where the read-out loss cannot be deducted (a read efficiency of 0: nothing comes
    back from the memory).
    """

    p00: float
    p01: float
    p10: float
    p11: float
    E: float
    d: float
    concurrence: float
    atomic_concurrence: float | None
    d_general: float
    concurrence_general: float
    atomic_concurrence_general: float | None
    zz: float
    xx: float
    yy: float
    fidelity: float
    pme_probability: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


# Index sets of the 4x4 tables, built once (the estimators run thousands of times in error propagation).
_H_CLICKED = np.isin(np.arange(4), PLUS_PORT_CLICKED)
_Z_CELLS = {
    "p00": (..., *np.ix_(~_H_CLICKED, ~_H_CLICKED)),
    "p01": (..., *np.ix_(~_H_CLICKED, _H_CLICKED)),
    "p10": (..., *np.ix_(_H_CLICKED, ~_H_CLICKED)),
    "p11": (..., *np.ix_(_H_CLICKED, _H_CLICKED)),
}
_SINGLE_PATTERNS = list(SINGLE_CLICK_SIGN)
_SINGLE_BLOCK = (..., *np.ix_(_SINGLE_PATTERNS, _SINGLE_PATTERNS))
_SIGN_PRODUCTS = np.outer(list(SINGLE_CLICK_SIGN.values()), list(SINGLE_CLICK_SIGN.values())).astype(float)
_CELLS = (-2, -1)


def _value(x):
    """A float for one table, an array for a stack of tables."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)


def z_populations(table: np.ndarray) -> dict[str, float]:
    """p_ij from the Z table: i (j) = 1 when X's (Y's) H detector clicked; V detectors ignored."""
    table = np.asarray(table, dtype=float)
    total = table.sum(axis=_CELLS)
    if np.any(total <= 0):
        raise UndefinedEstimate("Z basis: no heralded trials, p_ij undefined")
    return {name: _value(table[cells].sum(axis=_CELLS) / total) for name, cells in _Z_CELLS.items()}


def single_click_correlator(table: np.ndarray, basis: str) -> float:
    """Mean product of port signs over events with exactly one click at each node."""
    block = np.asarray(table, dtype=float)[_SINGLE_BLOCK]
    total = block.sum(axis=_CELLS)
    if np.any(total <= 0):
        raise UndefinedEstimate(f"{basis} basis: no event with exactly one click at each node, <{basis}{basis}> undefined")
    return _value((_SIGN_PRODUCTS * block).sum(axis=_CELLS) / total)


def single_click_probability(table: np.ndarray) -> float:
    """Fraction of events with exactly one click at each node (the PME event)."""
    table = np.asarray(table, dtype=float)
    total = table.sum(axis=_CELLS)
    if np.any(total <= 0):
        raise UndefinedEstimate("no heralded events in this basis, P(one click per node) undefined")
    return _value(table[_SINGLE_BLOCK].sum(axis=_CELLS) / total)


def pme_probability(tables: Mapping[str, np.ndarray]) -> float:
    """P(exactly one click at each node | herald), the equal-weight mean over the Z, X and Y tables."""
    empty = [basis for basis in BASES if np.any(np.asarray(tables[basis]).sum(axis=_CELLS) <= 0)]
    if empty:
        raise UndefinedEstimate(f"basis {', '.join(empty)}: no heralded events, pme_probability undefined")
    return sum(single_click_probability(tables[basis]) for basis in BASES) / len(BASES)


def coherence_bound(populations: Mapping[str, float], correlation: float) -> float:
    """|d| >= (p01 + p10 + 2 sqrt(p00 p11)) |E| / 2: the paper's bound (it assumes p01 ≈ p10)."""
    p = populations
    return _value(0.5 * (p["p01"] + p["p10"] + 2.0 * np.sqrt(p["p00"] * p["p11"])) * np.abs(correlation))


def general_coherence_bound(populations: Mapping[str, float], correlation: float) -> float:
    """|d| >= |E| (sqrt(p01 p10) + sqrt(p00 p11)): holds on unbalanced links too.

    Equal to :func:`coherence_bound` when p01 = p10 and never larger (√(p01 p10) ≤ (p01 + p10)/2).
    """
    p = populations
    return _value((np.sqrt(p["p01"] * p["p10"]) + np.sqrt(p["p00"] * p["p11"])) * np.abs(correlation))


def unclipped_concurrence(populations: Mapping[str, float], coherence: float, *, unfold: bool = False) -> float:
    """2|d| - 2 sqrt(p00 p11): the concurrence before the max(0, ·) (negative: no entanglement shown).

    ``unfold=True`` takes ``coherence`` as |d| already unfolded on one side of the |E| kink
    (for differentiation; at E = 0 a central difference of |d| would see no slope in E).
    """
    magnitude = coherence if unfold else np.abs(coherence)
    return _value(2.0 * magnitude - 2.0 * np.sqrt(populations["p00"] * populations["p11"]))


def concurrence(populations: Mapping[str, float], coherence: float) -> float:
    """C = max(0, 2|d| - 2 sqrt(p00 p11))."""
    return _value(np.maximum(0.0, unclipped_concurrence(populations, coherence)))


def _read_efficiencies(eta_x: float, eta_y: float) -> tuple[float, float]:
    """The read efficiencies, refused where deducting the loss would divide by zero.

    Both must be > 0 and so must their product: efficiencies that are positive but
    tiny (e.g. 1e-200 after a long storage) underflow η_X·η_Y to 0.
    """
    if not (eta_x > 0 and eta_y > 0 and eta_x * eta_y > 0):
        raise UndefinedEstimate(
            f"read efficiencies ({eta_x!r}, {eta_y!r}) must be > 0 (and their product representable) "
            "to deduct read-out loss"
        )
    return eta_x, eta_y


def atomic_populations(
    populations: Mapping[str, float], *, read_efficiency_x: float, read_efficiency_y: float
) -> dict[str, float]:
    """P_ij of the atoms: the read-out loss map (docs/link_model.md) inverted with the known read efficiencies."""
    eta_x, eta_y = _read_efficiencies(read_efficiency_x, read_efficiency_y)
    p = populations
    big_p11 = p["p11"] / (eta_x * eta_y)
    big_p10 = (p["p10"] - eta_x * (1.0 - eta_y) * big_p11) / eta_x
    big_p01 = (p["p01"] - eta_y * (1.0 - eta_x) * big_p11) / eta_y
    big_p00 = 1.0 - big_p01 - big_p10 - big_p11
    return {"p00": big_p00, "p01": big_p01, "p10": big_p10, "p11": big_p11}


def atomic_coherence(coherence: float, *, read_efficiency_x: float, read_efficiency_y: float) -> float:
    """D = d / sqrt(η_X η_Y)."""
    eta_x, eta_y = _read_efficiencies(read_efficiency_x, read_efficiency_y)
    return coherence / math.sqrt(eta_x * eta_y)


def unclipped_atomic_concurrence(
    populations: Mapping[str, float],
    coherence: float,
    *,
    read_efficiency_x: float,
    read_efficiency_y: float,
    unfold: bool = False,
) -> float:
    """2|D| - 2 sqrt(max(P00, 0) max(P11, 0)): C̃ before the max(0, ·).

    ``unfold`` as in :func:`unclipped_concurrence`.
    """
    etas = {"read_efficiency_x": read_efficiency_x, "read_efficiency_y": read_efficiency_y}
    big_p = atomic_populations(populations, **etas)
    big_d = atomic_coherence(coherence, **etas)
    magnitude = big_d if unfold else np.abs(big_d)
    return _value(2.0 * magnitude - 2.0 * np.sqrt(np.maximum(big_p["p00"], 0.0) * np.maximum(big_p["p11"], 0.0)))


def atomic_concurrence(
    populations: Mapping[str, float], coherence: float, *, read_efficiency_x: float, read_efficiency_y: float
) -> float:
    """C̃: invert the read-out loss map with the known read efficiencies (docs/link_model.md, estimators).

    ``coherence`` is d of either bound: ``d`` gives ``atomic_concurrence``, ``d_general``
    gives ``atomic_concurrence_general``.
    """
    return _value(
        np.maximum(
            0.0,
            unclipped_atomic_concurrence(
                populations, coherence, read_efficiency_x=read_efficiency_x, read_efficiency_y=read_efficiency_y
            ),
        )
    )


def pme_fidelity(zz: float, xx: float, yy: float, *, sign: str) -> float:
    """F = (1 - <ZZ> + s<XX> + s<YY>)/4, s = +1 for Ψ+ (plus herald), -1 for Ψ-."""
    s = HERALD_SIGN_VALUE[sign]
    return (1.0 - zz + s * xx + s * yy) / 4.0


def entanglement_figures(
    tables: Mapping[str, np.ndarray], *, sign: str, read_efficiency_x: float, read_efficiency_y: float
) -> EntanglementFigures:
    """All figures of one herald sign (the estimators of docs/link_model.md) from its Z, X and Y tables.

    ``pme_probability`` is the probability, given the herald, of exactly one
    click at each node, averaged over the three bases with equal weight (a run
    that measures each basis a third of the time).
    """
    missing = [basis for basis in BASES if basis not in tables]
    if missing:
        raise UndefinedEstimate(f"tables for basis {', '.join(missing)} missing; need Z, X and Y")
    populations = z_populations(tables["Z"])
    zz, xx, yy = (single_click_correlator(tables[b], b) for b in BASES)
    d = coherence_bound(populations, xx)
    d_general = general_coherence_bound(populations, xx)
    etas = {"read_efficiency_x": read_efficiency_x, "read_efficiency_y": read_efficiency_y}

    def atomic(coherence: float) -> float | None:
        try:
            return atomic_concurrence(populations, coherence, **etas)
        except UndefinedEstimate:  # a read efficiency of 0: no loss to deduct from
            return None

    return EntanglementFigures(
        **populations,
        E=xx,
        d=d,
        concurrence=concurrence(populations, d),
        atomic_concurrence=atomic(d),
        d_general=d_general,
        concurrence_general=concurrence(populations, d_general),
        atomic_concurrence_general=atomic(d_general),
        zz=zz,
        xx=xx,
        yy=yy,
        fidelity=pme_fidelity(zz, xx, yy, sign=sign),
        pme_probability=pme_probability(tables),
    )


def pme_per_trial(herald_probability: Mapping[str, float], pme_probability: Mapping[str, float]) -> float:
    """P(PME event) per trial = Σ_sign P(herald sign) · P(one click per node | herald sign)."""
    return sum(herald_probability[sign] * pme_probability[sign] for sign in HERALD_SIGNS)
