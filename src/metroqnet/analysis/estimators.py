"""SPEC §2.6 estimators: from per-basis outcome tables of one herald sign to entanglement figures.

A table is ``table[a, b]`` over the click patterns of node X (a) and node Y (b)
(see :mod:`metroqnet.analysis.outcomes`). Tables may hold probabilities or
counts: every estimator is a ratio within one basis, so only proportions
matter. This module never imports a simulator, so it runs on a lab's counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGN_VALUE, PLUS_PORT_CLICKED, SINGLE_CLICK_SIGN


class UndefinedEstimate(ValueError):
    """An estimator's denominator is empty (e.g. no event with one click at each node)."""


@dataclass(frozen=True)
class EntanglementFigures:
    """Figures of one herald sign (SPEC §2.6); names match the JSON output."""

    p00: float
    p01: float
    p10: float
    p11: float
    E: float
    d: float
    concurrence: float
    atomic_concurrence: float
    zz: float
    xx: float
    yy: float
    fidelity: float
    pme_probability: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def z_populations(table: np.ndarray) -> dict[str, float]:
    """p_ij from the Z table: i (j) = 1 when X's (Y's) H detector clicked; V detectors ignored."""
    table = np.asarray(table, dtype=float)
    total = table.sum()
    if total <= 0:
        raise UndefinedEstimate("Z basis: no heralded trials, p_ij undefined")
    h_x = np.zeros(4, dtype=bool)
    h_x[list(PLUS_PORT_CLICKED)] = True
    p11 = table[np.ix_(h_x, h_x)].sum() / total
    p10 = table[np.ix_(h_x, ~h_x)].sum() / total
    p01 = table[np.ix_(~h_x, h_x)].sum() / total
    p00 = table[np.ix_(~h_x, ~h_x)].sum() / total
    return {"p00": float(p00), "p01": float(p01), "p10": float(p10), "p11": float(p11)}


def single_click_correlator(table: np.ndarray, basis: str) -> float:
    """Mean product of port signs over events with exactly one click at each node."""
    table = np.asarray(table, dtype=float)
    patterns = list(SINGLE_CLICK_SIGN)
    signs = np.array([SINGLE_CLICK_SIGN[p] for p in patterns], dtype=float)
    block = table[np.ix_(patterns, patterns)]
    total = block.sum()
    if total <= 0:
        raise UndefinedEstimate(f"{basis} basis: no event with exactly one click at each node, <{basis}{basis}> undefined")
    return float((np.outer(signs, signs) * block).sum() / total)


def single_click_probability(table: np.ndarray) -> float:
    """Fraction of events with exactly one click at each node (the PME event)."""
    table = np.asarray(table, dtype=float)
    patterns = list(SINGLE_CLICK_SIGN)
    return float(table[np.ix_(patterns, patterns)].sum() / table.sum())


def coherence_bound(populations: Mapping[str, float], correlation: float) -> float:
    """|d| >= (p01 + p10 + 2 sqrt(p00 p11)) |E| / 2."""
    p = populations
    return 0.5 * (p["p01"] + p["p10"] + 2.0 * math.sqrt(p["p00"] * p["p11"])) * abs(correlation)


def concurrence(populations: Mapping[str, float], coherence: float) -> float:
    """C = max(0, 2|d| - 2 sqrt(p00 p11))."""
    return max(0.0, 2.0 * abs(coherence) - 2.0 * math.sqrt(populations["p00"] * populations["p11"]))


def atomic_concurrence(
    populations: Mapping[str, float], coherence: float, *, read_efficiency_x: float, read_efficiency_y: float
) -> float:
    """C̃: invert the read-out loss map with the known read efficiencies (SPEC §2.6)."""
    eta_x, eta_y = read_efficiency_x, read_efficiency_y
    if eta_x <= 0 or eta_y <= 0:
        raise UndefinedEstimate(
            f"read efficiencies ({eta_x!r}, {eta_y!r}) must be > 0 to deduct read-out loss"
        )
    p = populations
    big_p11 = p["p11"] / (eta_x * eta_y)
    big_p10 = (p["p10"] - eta_x * (1.0 - eta_y) * big_p11) / eta_x
    big_p01 = (p["p01"] - eta_y * (1.0 - eta_x) * big_p11) / eta_y
    big_p00 = 1.0 - big_p01 - big_p10 - big_p11
    big_d = coherence / math.sqrt(eta_x * eta_y)
    return max(0.0, 2.0 * abs(big_d) - 2.0 * math.sqrt(max(big_p00, 0.0) * max(big_p11, 0.0)))


def pme_fidelity(zz: float, xx: float, yy: float, *, sign: str) -> float:
    """F = (1 - <ZZ> + s<XX> + s<YY>)/4, s = +1 for Ψ+ (plus herald), -1 for Ψ-."""
    s = HERALD_SIGN_VALUE[sign]
    return (1.0 - zz + s * xx + s * yy) / 4.0


def entanglement_figures(
    tables: Mapping[str, np.ndarray], *, sign: str, read_efficiency_x: float, read_efficiency_y: float
) -> EntanglementFigures:
    """All SPEC §2.6 figures of one herald sign from its Z, X and Y tables.

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
    return EntanglementFigures(
        **populations,
        E=xx,
        d=d,
        concurrence=concurrence(populations, d),
        atomic_concurrence=atomic_concurrence(
            populations, d, read_efficiency_x=read_efficiency_x, read_efficiency_y=read_efficiency_y
        ),
        zz=zz,
        xx=xx,
        yy=yy,
        fidelity=pme_fidelity(zz, xx, yy, sign=sign),
        pme_probability=float(np.mean([single_click_probability(tables[b]) for b in BASES])),
    )
