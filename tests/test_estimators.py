"""The estimators of docs/link_model.md on hand-built outcome tables (independent of any engine)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metroqnet.analysis.estimators import (
    UndefinedEstimate,
    atomic_concurrence,
    entanglement_figures,
    z_populations,
)
from metroqnet.analysis.outcomes import BOTH, MINUS_ONLY, NO_CLICK, PLUS_ONLY


def table(entries: dict[tuple[int, int], float]) -> np.ndarray:
    out = np.zeros((4, 4))
    for (a, b), value in entries.items():
        out[a, b] = value
    return out


def ideal_psi_tables(sign: int) -> dict[str, np.ndarray]:
    """Counts of an ideal Ψ± PME state: anti-correlated in Z, (anti-)correlated in X and Y."""
    z = table({(PLUS_ONLY, MINUS_ONLY): 50, (MINUS_ONLY, PLUS_ONLY): 50})
    same = {(PLUS_ONLY, PLUS_ONLY): 50, (MINUS_ONLY, MINUS_ONLY): 50}
    opposite = {(PLUS_ONLY, MINUS_ONLY): 50, (MINUS_ONLY, PLUS_ONLY): 50}
    xy = table(same if sign > 0 else opposite)
    return {"Z": z, "X": xy, "Y": xy.copy()}


@pytest.mark.parametrize("sign, name", [(1, "plus"), (-1, "minus")])
def test_ideal_state_gives_unit_figures(sign, name):
    figures = entanglement_figures(ideal_psi_tables(sign), sign=name, read_efficiency_x=1.0, read_efficiency_y=1.0)
    assert (figures.p01, figures.p10, figures.p00, figures.p11) == (0.5, 0.5, 0.0, 0.0)
    assert figures.zz == -1.0 and figures.xx == sign and figures.E == sign
    assert figures.d == 0.5 and figures.concurrence == 1.0 and figures.atomic_concurrence == 1.0
    assert figures.d_general == 0.5 and figures.concurrence_general == 1.0 and figures.atomic_concurrence_general == 1.0
    assert figures.fidelity == 1.0 and figures.pme_probability == 1.0


def test_z_populations_use_only_the_h_detector():
    # V clicks (pattern MINUS_ONLY) count as "no H click"; BOTH counts as an H click.
    z = table({(NO_CLICK, NO_CLICK): 6, (MINUS_ONLY, BOTH): 2, (PLUS_ONLY, NO_CLICK): 1, (BOTH, PLUS_ONLY): 1})
    assert z_populations(z) == {"p00": 0.6, "p01": 0.2, "p10": 0.1, "p11": 0.1}


def test_concurrence_formula_on_a_vacuum_heavy_state():
    # Written out from SPEC §2.6: |d| >= (p01 + p10 + 2 sqrt(p00 p11)) |E| / 2, C = max(0, 2|d| - 2 sqrt(p00 p11)).
    z = table({(NO_CLICK, NO_CLICK): 0.70, (NO_CLICK, PLUS_ONLY): 0.14, (PLUS_ONLY, NO_CLICK): 0.14, (PLUS_ONLY, PLUS_ONLY): 0.02})
    x = table({(PLUS_ONLY, PLUS_ONLY): 0.375, (MINUS_ONLY, MINUS_ONLY): 0.375, (PLUS_ONLY, MINUS_ONLY): 0.125, (MINUS_ONLY, PLUS_ONLY): 0.125})
    figures = entanglement_figures({"Z": z, "X": x, "Y": x}, sign="plus", read_efficiency_x=0.5, read_efficiency_y=0.5)
    assert figures.E == pytest.approx(0.5)
    d = (0.14 + 0.14 + 2 * math.sqrt(0.70 * 0.02)) * 0.5 / 2
    assert figures.d == pytest.approx(d)
    assert figures.concurrence == pytest.approx(2 * d - 2 * math.sqrt(0.70 * 0.02))
    # Z table has no single-click-per-node event with a V click, only H-H: <ZZ> = +1.
    assert figures.zz == pytest.approx(1.0)
    assert figures.fidelity == pytest.approx((1 - 1 + 0.5 + 0.5) / 4)


def unbalanced_tables() -> dict[str, np.ndarray]:
    """p00 = 0.50, p01 = 0.10, p10 = 0.35, p11 = 0.05 (p10 = 3.5 p01); X and Y: E = 0.8."""
    z = table({(NO_CLICK, NO_CLICK): 0.50, (NO_CLICK, PLUS_ONLY): 0.10, (PLUS_ONLY, NO_CLICK): 0.35, (PLUS_ONLY, PLUS_ONLY): 0.05})
    x = table({(PLUS_ONLY, PLUS_ONLY): 0.45, (MINUS_ONLY, MINUS_ONLY): 0.45, (PLUS_ONLY, MINUS_ONLY): 0.05, (MINUS_ONLY, PLUS_ONLY): 0.05})
    return {"Z": z, "X": x, "Y": x}


def test_general_bound_on_an_unbalanced_state():
    # Written out from docs/link_model.md: |d| >= |E| (sqrt(p01 p10) + sqrt(p00 p11)), C_g = max(0, 2|d_g| - 2 sqrt(p00 p11)).
    figures = entanglement_figures(unbalanced_tables(), sign="plus", read_efficiency_x=1.0, read_efficiency_y=1.0)
    assert figures.E == pytest.approx(0.8)
    d_general = 0.8 * (math.sqrt(0.10 * 0.35) + math.sqrt(0.50 * 0.05))
    assert figures.d_general == pytest.approx(d_general, rel=1e-12)
    assert figures.concurrence_general == pytest.approx(2 * d_general - 2 * math.sqrt(0.50 * 0.05), rel=1e-12)
    # The paper's figures are unchanged beside them, and larger here (0.225 > sqrt(0.035) = 0.187).
    d = (0.10 + 0.35 + 2 * math.sqrt(0.50 * 0.05)) * 0.8 / 2
    assert figures.d == pytest.approx(d, rel=1e-12)
    assert figures.concurrence == pytest.approx(2 * d - 2 * math.sqrt(0.50 * 0.05), rel=1e-12)
    assert figures.d_general < figures.d
    # With η = 1 nothing is deducted: the atomic figures equal the detected ones.
    assert figures.atomic_concurrence_general == pytest.approx(figures.concurrence_general, rel=1e-12)
    assert figures.atomic_concurrence == pytest.approx(figures.concurrence, rel=1e-12)


def test_general_bound_uses_the_magnitude_of_e():
    # A minus herald's E < 0: d_general >= 0 from |E|.
    tables = unbalanced_tables()
    tables["X"] = tables["X"][:, [0, 2, 1, 3]]  # swap Y's + and - ports: E = -0.8
    figures = entanglement_figures(tables, sign="minus", read_efficiency_x=1.0, read_efficiency_y=1.0)
    assert figures.E == pytest.approx(-0.8)
    assert figures.d_general == pytest.approx(0.8 * (math.sqrt(0.10 * 0.35) + math.sqrt(0.50 * 0.05)), rel=1e-12)


def test_atomic_concurrence_general_inverts_the_read_loss_map():
    # Loss map inverted by hand with D = d_general / sqrt(η_X η_Y), as for atomic_concurrence.
    eta_x, eta_y = 0.6, 0.4
    figures = entanglement_figures(unbalanced_tables(), sign="plus", read_efficiency_x=eta_x, read_efficiency_y=eta_y)
    P11 = 0.05 / (eta_x * eta_y)
    P10 = (0.35 - eta_x * (1 - eta_y) * P11) / eta_x
    P01 = (0.10 - eta_y * (1 - eta_x) * P11) / eta_y
    P00 = 1 - P01 - P10 - P11
    D_general = 0.8 * (math.sqrt(0.10 * 0.35) + math.sqrt(0.50 * 0.05)) / math.sqrt(eta_x * eta_y)
    expected = 2 * D_general - 2 * math.sqrt(max(P00, 0) * max(P11, 0))
    assert expected > 0
    assert figures.atomic_concurrence_general == pytest.approx(expected, rel=1e-12)
    D = (0.10 + 0.35 + 2 * math.sqrt(0.50 * 0.05)) * 0.8 / 2 / math.sqrt(eta_x * eta_y)
    assert figures.atomic_concurrence == pytest.approx(2 * D - 2 * math.sqrt(P00 * P11), rel=1e-12)


def test_general_concurrence_is_clipped_at_zero():
    # E = 0.2: 2|d_g| = 0.4 (sqrt(0.035) + sqrt(0.025)) = 0.138 < 2 sqrt(p00 p11) = 0.316.
    tables = unbalanced_tables()
    tables["X"] = table({(PLUS_ONLY, PLUS_ONLY): 0.3, (MINUS_ONLY, MINUS_ONLY): 0.3, (PLUS_ONLY, MINUS_ONLY): 0.2, (MINUS_ONLY, PLUS_ONLY): 0.2})
    figures = entanglement_figures(tables, sign="plus", read_efficiency_x=1.0, read_efficiency_y=1.0)
    assert figures.E == pytest.approx(0.2)
    assert figures.d_general == pytest.approx(0.2 * (math.sqrt(0.10 * 0.35) + math.sqrt(0.50 * 0.05)), rel=1e-12)
    assert figures.concurrence_general == 0.0 and figures.atomic_concurrence_general == 0.0


def test_concurrence_is_clipped_at_zero():
    z = table({(NO_CLICK, NO_CLICK): 0.5, (PLUS_ONLY, PLUS_ONLY): 0.5})
    x = table({(PLUS_ONLY, PLUS_ONLY): 1.0, (MINUS_ONLY, MINUS_ONLY): 1.0, (PLUS_ONLY, MINUS_ONLY): 1.0})
    figures = entanglement_figures({"Z": z, "X": x, "Y": x}, sign="plus", read_efficiency_x=1.0, read_efficiency_y=1.0)
    assert figures.concurrence == 0.0


def test_atomic_concurrence_inverts_the_read_loss_map():
    # Forward model (pure loss on each memory's read-out) applied to a chosen atomic state.
    P00, P01, P10, P11, D = 0.55, 0.2, 0.2, 0.05, 0.18
    eta_x, eta_y = 0.3, 0.6
    populations = {
        "p11": eta_x * eta_y * P11,
        "p10": eta_x * (P10 + (1 - eta_y) * P11),
        "p01": eta_y * (P01 + (1 - eta_x) * P11),
    }
    populations["p00"] = 1 - sum(populations.values())
    d = math.sqrt(eta_x * eta_y) * D
    expected = 2 * D - 2 * math.sqrt(P00 * P11)
    assert atomic_concurrence(populations, d, read_efficiency_x=eta_x, read_efficiency_y=eta_y) == pytest.approx(expected)


def test_undefined_estimates_are_refused():
    tables = ideal_psi_tables(1)
    tables["X"] = table({(NO_CLICK, NO_CLICK): 10})
    with pytest.raises(UndefinedEstimate, match="X basis"):
        entanglement_figures(tables, sign="plus", read_efficiency_x=1.0, read_efficiency_y=1.0)
    with pytest.raises(UndefinedEstimate, match="read efficiencies"):
        atomic_concurrence(z_populations(tables["Z"]), 0.5, read_efficiency_x=0.0, read_efficiency_y=1.0)
    with pytest.raises(UndefinedEstimate, match="missing"):
        entanglement_figures({"Z": tables["Z"]}, sign="plus", read_efficiency_x=1.0, read_efficiency_y=1.0)


@pytest.mark.parametrize("etas", [(0.0, 1.0), (1e-170, 1e-170)])
def test_read_efficiencies_that_leave_nothing_to_deduct_give_no_atomic_figures(etas):
    # η = 0, or each > 0 with η_X·η_Y = 0 in double precision: the loss cannot be deducted (no
    # ZeroDivisionError); the atomic figures are None and every other figure is still given.
    tables = ideal_psi_tables(1)
    with pytest.raises(UndefinedEstimate, match="read efficiencies"):
        atomic_concurrence(z_populations(tables["Z"]), 0.5, read_efficiency_x=etas[0], read_efficiency_y=etas[1])
    figures = entanglement_figures(tables, sign="plus", read_efficiency_x=etas[0], read_efficiency_y=etas[1])
    assert figures.atomic_concurrence is None and figures.atomic_concurrence_general is None
    assert figures.fidelity == entanglement_figures(tables, sign="plus", read_efficiency_x=1.0,
                                                    read_efficiency_y=1.0).fidelity
