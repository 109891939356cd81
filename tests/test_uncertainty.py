"""Standard errors of the figures from counts (metroqnet.analysis.uncertainty).

(a) On hand-made counts the delta-method errors equal closed forms derived by
    hand: a proportion of n multinomial events has Var = p(1-p)/n; a
    correlator E = (N++ + N-- - N+- - N-+)/M over M single-click events is a
    mean of M ±1 values, so Var = (1-E²)/M; F = (1 - ZZ + s XX + s YY)/4 over
    independent tables has Var = (Var ZZ + Var XX + Var YY)/16. A function h of
    the four p_ij of a Z table of n events has Var = (Σ p_ij h_ij² − (Σ p_ij h_ij)²)/n
    with h_ij = ∂h/∂p_ij; for the general bound's g = √(p01 p10) + √(p00 p11)
    this is (1/4 − g²)/n, and d_general = |E| g adds g² Var E. The errors are
    evaluated at the Jeffreys-regularized fractions (every one of a table's 16
    cells + 1/2, total n + 8), so p and E in these formulas are those fractions,
    and M = n · (regularized single-click fraction).
(b) Coverage: 400 multinomial samples (seeded) of the exact outcome
    probabilities of metroqnet.link.fock_engine at the Hefei-like point of
    tests/conftest.py. The spread of each estimate over the samples must match
    the mean reported standard error within 20% (two-sided), and the mean
    estimate must lie within 5 standard errors of the mean of the exact value.
    The general-bound figures are checked the same way at an unbalanced point
    (read efficiencies 0.5/0.15), where they differ from the paper's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from metroqnet.analysis.estimators import UndefinedEstimate, entanglement_figures
from metroqnet.analysis.outcomes import BASES, BOTH, HERALD_SIGNS, MINUS_ONLY, NO_CLICK, PLUS_ONLY
from metroqnet.analysis.records import COUNT_SHAPE, CountRecord
from metroqnet.analysis.uncertainty import analyze_counts, density_matrix
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.link.evaluate import evaluate_link
from metroqnet.link.fock_engine import joint_tables
from tests.conftest import HEFEI_LIKE

N, P, M = NO_CLICK, PLUS_ONLY, MINUS_ONLY
#: Plus-herald Z table: p00 = 640/1000, p01 = 165/1000, p10 = 180/1000, p11 = 15/1000;
#: its single-click block (++ 5, -- 40, +- 30, -+ 25) gives <ZZ> = -0.1 over 100 events.
Z_CELLS = {(N, N): 600, (N, P): 140, (P, N): 150, (BOTH, P): 10, (P, M): 30, (M, P): 25, (P, P): 5, (M, M): 40}
#: X: ++ 300, -- 250, +- 60, -+ 40 over M = 650, plus 500 events without one click per node.
X_CELLS = {(P, P): 300, (M, M): 250, (P, M): 60, (M, P): 40, (N, N): 500}
#: Y: ++ 200, -- 220, +- 50, -+ 30 over M = 500, plus 300 others.
Y_CELLS = {(P, P): 200, (M, M): 220, (P, M): 50, (M, P): 30, (N, BOTH): 300}
TRIALS = 1_000_000


def hand_record(**settings) -> CountRecord:
    counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
    for basis, cells in enumerate((Z_CELLS, X_CELLS, Y_CELLS)):
        for (a, b), n in cells.items():
            counts[0, basis, a, b] = n
    return CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3, **settings)


HALF = 0.5  # Jeffreys pseudocount per cell


def correlator_and_error(cells) -> tuple[float, float]:
    """E from the raw counts; its error from the regularized fractions (each cell + 1/2)."""
    same = cells.get((P, P), 0) + cells.get((M, M), 0)
    different = cells.get((P, M), 0) + cells.get((M, P), 0)
    n = sum(cells.values())
    e = (same - different) / (same + different)
    e_regularized = (same - different) / (same + different + 4 * HALF)
    m_effective = n * (same + different + 4 * HALF) / (n + 16 * HALF)
    return e, math.sqrt((1 - e_regularized**2) / m_effective)


def test_proportion_errors_are_binomial():
    analysis = analyze_counts(hand_record())
    for name, k in (("p10", 180), ("p11", 15), ("p00", 640)):
        p = k / 1000
        p_regularized = (k + 4 * HALF) / (1000 + 16 * HALF)  # each p_ij gathers 4 of the 16 cells
        value, error = analysis.estimate(name, "plus")
        assert value == pytest.approx(p, rel=1e-12)
        assert error == pytest.approx(math.sqrt(p_regularized * (1 - p_regularized) / 1000), rel=1e-6)


def test_correlator_errors_are_those_of_a_mean_of_signs():
    analysis = analyze_counts(hand_record())
    for name, cells in (("zz", Z_CELLS), ("xx", X_CELLS), ("E", X_CELLS), ("yy", Y_CELLS)):
        e, error = correlator_and_error(cells)
        assert analysis.estimate(name, "plus") == pytest.approx((e, error), rel=1e-6)


def test_fidelity_and_pme_errors_combine_independent_tables():
    analysis = analyze_counts(hand_record())
    (zz, s_zz), (xx, s_xx), (yy, s_yy) = (correlator_and_error(c) for c in (Z_CELLS, X_CELLS, Y_CELLS))
    fidelity, error = analysis.estimate("fidelity", "plus")
    assert fidelity == pytest.approx((1 - zz + xx + yy) / 4, rel=1e-12)
    assert error == pytest.approx(math.sqrt(s_zz**2 + s_xx**2 + s_yy**2) / 4, rel=1e-6)
    # pme_probability: mean over bases of single-click fractions q_b = M_b / n_b.
    fractions = [(100, 1000), (650, 1150), (500, 800)]
    q = [m / n for m, n in fractions]
    q_regularized = [(m + 4 * HALF) / (n + 16 * HALF) for m, n in fractions]
    variance = sum(qb * (1 - qb) / n for qb, (_, n) in zip(q_regularized, fractions)) / 9
    assert analysis.estimate("pme_probability", "plus") == pytest.approx((sum(q) / 3, math.sqrt(variance)), rel=1e-6)


def test_herald_probability_and_rates():
    rate = 2760.0
    analysis = analyze_counts(hand_record(repetition_rate_hz=rate))
    heralds, trials = 1000 + 1150 + 800, 3 * TRIALS
    p = heralds / trials
    binomial = math.sqrt(p * (1 - p) / trials)
    assert analysis.estimate("herald_probability") == pytest.approx((p, binomial), rel=1e-6)
    assert analysis.estimate("herald_probability_plus") == pytest.approx((p, binomial), rel=1e-6)
    assert analysis.estimate("herald_probability_minus") == (0.0, 0.0)
    assert analysis.estimate("entangling_rate_hz") == pytest.approx((p * rate, binomial * rate), rel=1e-6)
    pme, pme_error = analysis.estimate("pme_probability", "plus")
    # Only plus heralds: PME rate = R p pme, the two factors independent to first order.
    expected = rate * math.sqrt((pme * binomial) ** 2 + (p * pme_error) ** 2)
    assert analysis.estimate("pme_rate_hz") == pytest.approx((rate * p * pme, expected), rel=1e-6)
    assert analysis.counts == {"plus": heralds, "minus": 0}
    assert analysis.figures["minus"] == {}
    assert any(note.startswith("minus: no heralded events") for note in analysis.notes)


def test_values_are_the_estimators_values():
    record = hand_record(read_efficiency_x=0.5, read_efficiency_y=0.4)
    analysis = analyze_counts(record)
    tables = {basis: record.table("plus", basis) for basis in BASES}
    expected = entanglement_figures(tables, sign="plus", read_efficiency_x=0.5, read_efficiency_y=0.4)
    assert dict(analysis.figures["plus"]) == expected.as_dict()


def test_without_read_efficiencies_atomic_concurrence_is_omitted_with_a_note():
    analysis = analyze_counts(hand_record())
    assert "atomic_concurrence" not in analysis.figures["plus"]
    assert "atomic_concurrence" not in analysis.as_dict()["plus"]
    assert "atomic_concurrence_general" not in analysis.figures["plus"]
    assert "concurrence_general" in analysis.figures["plus"] and "d_general" in analysis.figures["plus"]
    assert any("atomic_concurrence and atomic_concurrence_general omitted" in note and "read_efficiency" in note
               for note in analysis.notes)
    assert any("no repetition_rate_hz" in note for note in analysis.notes)


def test_a_basis_without_events_leaves_out_what_needs_it():
    record = hand_record()
    counts = record.counts.copy()
    counts[:, 2] = 0  # no Y events
    analysis = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS, TRIALS, 0]))
    plus = analysis.figures["plus"]
    assert {"p00", "p01", "p10", "p11", "E", "d", "concurrence", "zz", "xx"} <= set(plus)
    assert not {"yy", "fidelity", "pme_probability"} & set(plus)
    assert any(note.startswith("plus: Y basis") for note in analysis.notes)


def test_clipped_concurrence_reports_the_error_of_the_unclipped_value():
    # Weak X correlation: 2|d| < 2 sqrt(p00 p11), so C = max(0, .) = 0.
    weak_x = {(P, P): 170, (M, M): 160, (P, M): 150, (M, P): 140}
    record = hand_record()
    counts = record.counts.copy()
    counts[0, 1] = 0
    for (a, b), n in weak_x.items():
        counts[0, 1, a, b] = n
    analysis = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3))
    value, error = analysis.estimate("concurrence", "plus")
    plus = analysis.figures["plus"]
    unclipped = 2 * plus["d"] - 2 * math.sqrt(plus["p00"] * plus["p11"])
    assert unclipped < 0 and value == 0.0 and error > 0
    assert any("concurrence = 0" in note and f"{unclipped:.6g}" in note for note in analysis.notes)
    # The general bound's C is clipped too, and carries the closed-form error of its unclipped value.
    value, error = analysis.estimate("concurrence_general", "plus")
    unclipped = 2 * plus["d_general"] - 2 * math.sqrt(plus["p00"] * plus["p11"])
    assert unclipped < 0 and value == 0.0
    assert error == pytest.approx(general_concurrence_error(weak_x), rel=1e-6)
    assert any(note.startswith("plus: concurrence_general = 0") and f"{unclipped:.6g}" in note
               for note in analysis.notes)


def regularized_populations(cells) -> dict[str, float]:
    """p_ij of Z_CELLS-like counts at the regularized fractions (each p_ij gathers 4 cells + 1/2)."""
    n = sum(cells.values())
    h_clicked = (P, BOTH)
    counts = {"p00": 0, "p01": 0, "p10": 0, "p11": 0}
    for (a, b), k in cells.items():
        counts[f"p{int(a in h_clicked)}{int(b in h_clicked)}"] += k
    return {name: (k + 4 * HALF) / (n + 16 * HALF) for name, k in counts.items()}


def general_concurrence_error(x_cells) -> float:
    """Closed-form stderr of 2|E| g - 2√(p00 p11) for Z_CELLS and the given X table (docstring (a))."""
    p = regularized_populations(Z_CELLS)
    _, s_e = correlator_and_error(x_cells)
    same = x_cells.get((P, P), 0) + x_cells.get((M, M), 0)
    different = x_cells.get((P, M), 0) + x_cells.get((M, P), 0)
    e = abs(same - different) / (same + different + 4 * HALF)
    g = math.sqrt(p["p01"] * p["p10"]) + math.sqrt(p["p00"] * p["p11"])
    h = 2 * e * g - 2 * math.sqrt(p["p00"] * p["p11"])
    # h_01 = E √(p10/p01), h_00 = (E - 1) √(p11/p00), ...: Σ p h_ij² = E²(p01 + p10) + (E - 1)²(p00 + p11), Σ p h_ij = h.
    variance_z = (e**2 * (p["p01"] + p["p10"]) + (e - 1) ** 2 * (p["p00"] + p["p11"]) - h**2) / 1000
    return math.sqrt((2 * g * s_e) ** 2 + variance_z)


def test_general_bound_errors_have_closed_forms():
    analysis = analyze_counts(hand_record())
    e, s_e = correlator_and_error(X_CELLS)
    e_regularized = (550 - 100) / (650 + 4 * HALF)  # ++ and -- 550, +- and -+ 100
    p = regularized_populations(Z_CELLS)
    g = math.sqrt(p["p01"] * p["p10"]) + math.sqrt(p["p00"] * p["p11"])
    d_general = e * (math.sqrt(0.165 * 0.18) + math.sqrt(0.64 * 0.015))
    error = math.sqrt((g * s_e) ** 2 + e_regularized**2 * (0.25 - g**2) / 1000)
    assert analysis.estimate("d_general", "plus") == pytest.approx((d_general, error), rel=1e-6)
    concurrence = 2 * d_general - 2 * math.sqrt(0.64 * 0.015)
    assert concurrence > 0
    assert analysis.estimate("concurrence_general", "plus") == pytest.approx(
        (concurrence, general_concurrence_error(X_CELLS)), rel=1e-6)


def test_concurrence_errors_at_e_zero_include_the_error_of_e():
    # E = 0 exactly sits on the |E| kink: both C's are clipped at 0, and the stderr of the unclipped
    # 2|E| g - 2√(p00 p11) must still carry 2 g · stderr(E) (|E| taken on the + side, not a flat |.|).
    zero_x = {(P, P): 150, (M, M): 150, (P, M): 150, (M, P): 150}
    counts = hand_record().counts.copy()
    counts[0, 1] = 0
    for (a, b), n in zero_x.items():
        counts[0, 1, a, b] = n
    analysis = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3))
    assert analysis.figures["plus"]["E"] == 0.0
    assert analysis.estimate("concurrence_general", "plus") == pytest.approx((0.0, general_concurrence_error(zero_x)),
                                                                             rel=1e-6)
    # The paper's C: the same with g replaced by (p01 + p10 + 2√(p00 p11))/2 (at E = 0 the Z part is alike).
    p = regularized_populations(Z_CELLS)
    _, s_e = correlator_and_error(zero_x)
    bound = (p["p01"] + p["p10"] + 2 * math.sqrt(p["p00"] * p["p11"])) / 2
    variance_z = (p["p00"] + p["p11"] - 4 * p["p00"] * p["p11"]) / 1000
    expected = math.sqrt((2 * bound * s_e) ** 2 + variance_z)
    assert analysis.estimate("concurrence", "plus") == pytest.approx((0.0, expected), rel=1e-6)


def test_general_bound_errors_do_not_depend_on_the_sign_of_e():
    # |E| is differentiated on the side of E's observed sign: mirroring E leaves values and errors as they are.
    record = hand_record(read_efficiency_x=0.5, read_efficiency_y=0.4)
    counts = record.counts.copy()
    counts[0, 1] = counts[0, 1][:, [0, 2, 1, 3]]  # swap Y's + and - ports in X: E changes sign
    mirrored = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3,
                                          read_efficiency_x=0.5, read_efficiency_y=0.4))
    analysis = analyze_counts(record)
    assert mirrored.figures["plus"]["E"] == pytest.approx(-analysis.figures["plus"]["E"])
    for name in ("d_general", "concurrence_general", "atomic_concurrence_general"):
        value, error = analysis.estimate(name, "plus")
        assert value > 0 and error > 0
        assert mirrored.estimate(name, "plus") == pytest.approx((value, error), rel=1e-9)


def test_no_p01_events_is_flagged():
    counts = hand_record().counts.copy()
    counts[0, 0, N, P] = counts[0, 0, M, P] = 0  # the p01 cells of Z_CELLS
    analysis = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3))
    assert analysis.figures["plus"]["p01"] == 0.0
    assert analysis.figures["plus"]["d_general"] == pytest.approx(
        analysis.figures["plus"]["E"] * math.sqrt(analysis.figures["plus"]["p00"] * analysis.figures["plus"]["p11"]))
    assert any(note.startswith("plus: p01 or p10 = 0") for note in analysis.notes)


def test_no_p11_events_is_flagged():
    counts = hand_record().counts.copy()
    counts[0, 0, BOTH, P] = counts[0, 0, P, P] = 0
    analysis = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3))
    assert analysis.figures["plus"]["p11"] == 0.0
    assert any(note.startswith("plus: p11 = 0") for note in analysis.notes)


def test_density_matrix():
    record = hand_record(read_efficiency_x=0.5, read_efficiency_y=0.5)
    analysis = analyze_counts(record)
    plus = analysis.figures["plus"]
    rho = density_matrix(record, "plus")
    assert np.allclose(np.diag(rho), [0.64, 0.165, 0.18, 0.015], rtol=0, atol=1e-15)
    assert rho[1, 2] == rho[2, 1] == pytest.approx(plus["d"]) and plus["E"] > 0
    assert np.count_nonzero(rho) == 6
    atomic = density_matrix(analysis, "plus", atomic=True)
    # Loss map inverted by hand at η = 0.5: P11 = p11/η², P10 = (p10 - η(1-η)P11)/η, D = d/η.
    p11 = 0.015 / 0.25
    p10, p01 = (0.18 - 0.25 * p11) / 0.5, (0.165 - 0.25 * p11) / 0.5
    assert np.diag(atomic) == pytest.approx([1 - p01 - p10 - p11, p01, p10, p11])
    assert atomic[1, 2] == pytest.approx(plus["d"] / 0.5)
    with pytest.raises(UndefinedEstimate):
        density_matrix(analysis, "minus")
    with pytest.raises(UndefinedEstimate, match="read_efficiency"):
        density_matrix(hand_record(), "plus", atomic=True)


def test_density_matrix_coherence_follows_the_sign_of_e():
    counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
    counts[1] = hand_record().counts[0]
    counts[1, 1] = counts[1, 1].T[[0, 2, 1, 3]]  # swap Y's + and - ports in X: E changes sign
    analysis = analyze_counts(CountRecord(link="ab", counts=counts, trials_per_basis=[TRIALS] * 3))
    rho = density_matrix(analysis, "minus")
    assert analysis.figures["minus"]["E"] < 0
    assert rho[1, 2] == pytest.approx(-analysis.figures["minus"]["d"])


# --- (b) coverage ---------------------------------------------------------------------------

SAMPLES = 400
TRIALS_PER_BASIS = 10**9  # ~4e5 heralds per sign and basis, ~200 in p11's cells
CHECKED = ("fidelity", "concurrence", "E", "p11", "atomic_concurrence")
RATE_HZ = 2760.0


def assert_covered(label, values, errors, exact):
    values = np.asarray(values)
    spread = values.std(ddof=1)
    reported = float(np.mean(errors))
    assert 0.8 < spread / reported < 1.2, f"{label}: spread {spread:.4g}, mean stderr {reported:.4g}"
    offset = values.mean() - exact
    assert abs(offset) < 5 * spread / math.sqrt(len(values)), f"{label}: mean off the exact value by {offset:.3g}"


def seeded_estimates(params: LinkParameters, keys, seed: int) -> dict:
    """(values, errors) of each (sign, name) over SAMPLES multinomial samples of the exact tables."""
    tables = joint_tables(params).tables
    cells = {basis: np.concatenate([tables[sign][basis].ravel() for sign in HERALD_SIGNS]) for basis in BASES}
    rng = np.random.default_rng(seed)
    estimates = {key: ([], []) for key in keys}
    for _ in range(SAMPLES):
        counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
        for index, basis in enumerate(BASES):
            draw = rng.multinomial(TRIALS_PER_BASIS, np.append(cells[basis], 1.0 - cells[basis].sum()))
            counts[:, index] = draw[:-1].reshape(len(HERALD_SIGNS), 4, 4)
        record = CountRecord(
            link="ab", counts=counts, trials_per_basis=[TRIALS_PER_BASIS] * 3, repetition_rate_hz=RATE_HZ,
            read_efficiency_x=params.read_efficiency_x, read_efficiency_y=params.read_efficiency_y,
        )
        analysis = analyze_counts(record)
        for sign, name in keys:
            value, error = analysis.estimate(name, sign)
            estimates[sign, name][0].append(value)
            estimates[sign, name][1].append(error)
    return estimates


def test_standard_errors_cover_the_spread_of_seeded_samples():
    params = LinkParameters.from_mapping({**HEFEI_LIKE, "repetition_rate_hz": RATE_HZ})
    exact = evaluate_link(params)
    keys = [(sign, name) for sign in HERALD_SIGNS for name in CHECKED] + [(None, "herald_probability"),
                                                                          (None, "pme_rate_hz")]
    estimates = seeded_estimates(params, keys, seed=20240503)
    exact_values = {key: getattr(exact.figures[key[0]], key[1]) for key in keys if key[0] is not None}
    exact_values[None, "herald_probability"] = exact.herald_probability
    exact_values[None, "pme_rate_hz"] = exact.pme_rate_hz
    for key in keys:
        assert_covered(f"{key[0] or 'link'} {key[1]}", *estimates[key], exact_values[key])


def test_general_bound_errors_cover_the_spread_on_an_unbalanced_link():
    # Read efficiencies 0.5/0.15 (p10 ≈ 3.3 p01): the general bound's figures differ from the paper's
    # (C~ 0.56 against 0.66), so their own errors are checked, well away from the max(0, ·) kink.
    params = LinkParameters.from_mapping({**HEFEI_LIKE, "repetition_rate_hz": RATE_HZ}).replace(
        read_efficiency_x=0.5, read_efficiency_y=0.15, probe_mean_photon_number_x=0.05,
        probe_mean_photon_number_y=0.015,
    )
    exact = evaluate_link(params)
    for figures in exact.figures.values():
        assert figures.p10 > 3 * figures.p01
        assert figures.atomic_concurrence_general < figures.atomic_concurrence - 0.05
    names = ("d_general", "concurrence_general", "atomic_concurrence_general")
    keys = [(sign, name) for sign in HERALD_SIGNS for name in names]
    estimates = seeded_estimates(params, keys, seed=20240504)
    for sign, name in keys:
        errors = estimates[sign, name][1]
        assert getattr(exact.figures[sign], name) > 10 * np.mean(errors)  # far from the kink
        assert_covered(f"{sign} {name}", *estimates[sign, name], getattr(exact.figures[sign], name))


def test_background_run_gives_noise_fraction_and_snr():
    # Independent binomials: P_h = h/T, P_bg = b/T_bg; SNR = (P_h - P_bg)/P_bg,
    # Var(SNR) = (Var P_h)/P_bg² + (P_h/P_bg²)² Var P_bg (first order, by hand).
    record = hand_record()
    background_counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
    background_counts[0, 0, N, N] = 700
    background = CountRecord(link="ab", counts=background_counts, trials_per_basis=[TRIALS] * 3)
    analysis = analyze_counts(record, background=background)
    p, b = 2950 / (3 * TRIALS), 700 / (3 * TRIALS)
    var_p, var_b = p * (1 - p) / (3 * TRIALS), b * (1 - b) / (3 * TRIALS)
    snr_error = math.sqrt(var_p / b**2 + (p / b**2) ** 2 * var_b)
    assert analysis.estimate("snr") == pytest.approx(((p - b) / b, snr_error), rel=1e-6)
    fraction_error = math.sqrt(var_b / p**2 + (b / p**2) ** 2 * var_p)
    assert analysis.estimate("noise_herald_fraction") == pytest.approx((b / p, fraction_error), rel=1e-6)
    assert "snr" in analysis.as_dict() and "snr" not in analyze_counts(record).as_dict()
    empty = CountRecord(link="ab", counts=np.zeros(COUNT_SHAPE, dtype=np.int64), trials_per_basis=[10, 10, 10])
    with pytest.raises(ValueError, match="background"):
        analyze_counts(record, background=empty)
