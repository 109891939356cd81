"""Fig. 3c,d,f,g: density matrices from counts (metroqnet.analysis.density_matrix, experiments.fig3_density).

Sources: the estimators of docs/link_model.md (the matrix's C and C̃ must be theirs), the exact
engine (metroqnet.link.evaluate) through exact expected counts, and a seeded Monte Carlo run
(two-sided, 5σ of the delta-method errors).
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from metroqnet.analysis.density_matrix import BASIS_STATES, CSV_COLUMNS, ELEMENTS, density_matrices
from metroqnet.analysis.records import CountRecord
from metroqnet.analysis.uncertainty import analyze_counts
from metroqnet.config.presets import load_preset
from metroqnet.experiments.fig3_density import FIG3_CSV_COLUMNS, PANELS, fig3_density, write_fig3_density
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.experiments.simulation import simulate_link
from metroqnet.experiments.table1 import expected_record
from metroqnet.link.evaluate import evaluate_link

#: Expected counts of this many trials: rounding to whole counts moves each figure by < 1e-7 relative.
EXACT_TRIALS = 3 * 10**14
SIGNS = ("plus", "minus")


@pytest.fixture(scope="module")
def network():
    return load_preset("hefei2024")


@pytest.fixture(scope="module", params=["storage_5us", "storage_107us"])
def params(request, network):
    return experiment_link_parameters(network, request.param)


def wootters_concurrence(rho: np.ndarray) -> float:
    """Wootters' concurrence max(0, λ1 − λ2 − λ3 − λ4), λ the square roots of the eigenvalues of ρ ρ̃."""
    sigma_yy = np.fliplr(np.diag([-1.0, 1.0, 1.0, -1.0]))
    tilde = sigma_yy @ rho.conj() @ sigma_yy
    lambdas = np.sort(np.sqrt(np.clip(np.linalg.eigvals(rho @ tilde).real, 0.0, None)))[::-1]
    return max(0.0, lambdas[0] - lambdas[1:].sum())


def check_state(rho: np.ndarray) -> None:
    """Hermitian, trace 1 (no renormalisation: the populations partition the events), structural zeros."""
    assert np.array_equal(rho, rho.conj().T)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12) and np.trace(rho).imag == 0.0
    estimated = np.eye(4, dtype=bool)
    estimated[1, 2] = estimated[2, 1] = True
    assert np.all(rho[~estimated] == 0)


def test_exact_expected_counts_give_the_engines_figures(params):
    """Counts → ρ equals the exact engine's p_ij, d (with E's sign), C and C̃ to the rounding of the counts."""
    exact = evaluate_link(params).figures
    matrices = density_matrices(expected_record(params, trials=EXACT_TRIALS))
    for sign in SIGNS:
        figures = exact[sign]
        read_out, atomic = matrices.get(sign, "read_out"), matrices.get(sign, "atomic")
        for name in ELEMENTS[:4]:
            assert read_out.elements[name] == pytest.approx(getattr(figures, name), rel=1e-6)
        assert read_out.d == pytest.approx(figures.d, rel=1e-6)
        assert read_out.phase_rad == (0.0 if sign == "plus" else math.pi)  # Ψ+: ⟨XX⟩ > 0, Ψ−: ⟨XX⟩ < 0
        assert np.sign(read_out.elements["coherence"]) == np.sign(figures.E) == np.sign(figures.yy)
        assert read_out.concurrence() == pytest.approx(figures.concurrence, rel=1e-6)
        assert atomic.concurrence() == pytest.approx(figures.atomic_concurrence, rel=1e-6)
        for matrix in (read_out, atomic):
            check_state(matrix.matrix)
            assert matrix.minimum_eigenvalue >= 0  # balanced link: the paper's bound is a physical state
            assert wootters_concurrence(matrix.matrix) == pytest.approx(matrix.concurrence(), rel=1e-9)


def test_from_figures_reproduces_the_estimators_exactly(params):
    figures = evaluate_link(params).figures
    matrices = density_matrices(figures, read_efficiency_x=params.read_efficiency_x,
                                read_efficiency_y=params.read_efficiency_y)
    for sign in SIGNS:
        assert matrices.get(sign).concurrence() == pytest.approx(figures[sign].concurrence, rel=1e-13)
        assert matrices.get(sign, "atomic").concurrence() == pytest.approx(figures[sign].atomic_concurrence,
                                                                         rel=1e-13)
        eta = params.read_efficiency_x * params.read_efficiency_y
        assert matrices.get(sign, "atomic").d == pytest.approx(figures[sign].d / math.sqrt(eta), rel=1e-13)
        assert matrices.get(sign, "atomic").matrix.trace() == pytest.approx(1.0, abs=1e-14)


def test_unbalanced_link_general_bound(network):
    """On an unbalanced link C from ρ is concurrence_general with general=True (and C with the paper's bound)."""
    params = experiment_link_parameters(network, "storage_5us").replace(read_efficiency_x=0.75,
                                                                         read_efficiency_y=0.25)
    figures = evaluate_link(params).figures
    record = expected_record(params, trials=EXACT_TRIALS)
    for general, c_name, ct_name in ((False, "concurrence", "atomic_concurrence"),
                                     (True, "concurrence_general", "atomic_concurrence_general")):
        matrices = density_matrices(record, general=general)
        for sign in SIGNS:
            assert matrices.get(sign).concurrence() == pytest.approx(getattr(figures[sign], c_name), rel=1e-6)
            atomic = matrices.get(sign, "atomic")
            assert atomic.concurrence() == pytest.approx(getattr(figures[sign], ct_name), rel=1e-6)
            check_state(atomic.matrix)
            if general:  # |d_general|² ≤ p01 p10 (here, with E < 1): a physical X state, Wootters applies
                assert atomic.minimum_eigenvalue >= 0
                assert wootters_concurrence(atomic.matrix) == pytest.approx(atomic.concurrence(), rel=1e-9)


def test_errors_are_the_delta_method_of_analyze_counts(network):
    params = experiment_link_parameters(network, "storage_5us")
    record = expected_record(params, trials=10**9)
    analysis = analyze_counts(record)
    matrices = density_matrices(record)
    for sign in SIGNS:
        errors = analysis.figures_stderr[sign]
        read_out = matrices.get(sign)
        for name in ELEMENTS[:4]:
            assert read_out.stderr[name] == pytest.approx(errors[name], rel=1e-9)
        assert read_out.stderr["coherence"] == pytest.approx(errors["d"], rel=1e-9)
        # C's error by the chain rule on the elements' covariance (gradient at the fractions, not at the
        # regularized ones as analyze_counts takes it: equal to well under 1%).
        assert matrices.concurrence_stderr(sign) == pytest.approx(errors["concurrence"], rel=5e-3)
        assert matrices.concurrence_stderr(sign, "atomic") == pytest.approx(errors["atomic_concurrence"], rel=5e-3)
        atomic = matrices.get(sign, "atomic").stderr
        eta = params.read_efficiency_x * params.read_efficiency_y
        assert atomic["p11"] == pytest.approx(errors["p11"] / eta, rel=1e-6)  # P11 = p11/(η_Xη_Y)
        assert atomic["coherence"] == pytest.approx(errors["d"] / math.sqrt(eta), rel=1e-6)
        covariance = matrices.covariance[sign]
        assert covariance.shape == (10, 10) and np.allclose(covariance, covariance.T, rtol=0, atol=1e-18)
        assert math.sqrt(covariance[0, 0]) == pytest.approx(errors["p00"], rel=1e-9)


def test_sampled_run_within_five_sigma_of_exact(params):
    """Seeded Monte Carlo: every estimated element of both matrices within 5σ (two-sided) of the exact engine's."""
    exact = density_matrices(evaluate_link(params).figures, read_efficiency_x=params.read_efficiency_x,
                             read_efficiency_y=params.read_efficiency_y)
    run = simulate_link(params, trials=10**9, seed=20241205)
    sampled = density_matrices(run.record)
    assert not sampled.notes
    for sign in SIGNS:
        for state in ("read_out", "atomic"):
            got, want = sampled.get(sign, state), exact.get(sign, state)
            for name in ELEMENTS:
                error = got.stderr[name]
                assert error > 0
                assert abs(got.elements[name] - want.elements[name]) <= 5 * error, (sign, state, name)
            check_state(got.matrix)


def test_analysis_source_and_missing_read_efficiencies(network):
    params = experiment_link_parameters(network, "storage_5us")
    record = expected_record(params, trials=10**9)
    from_record = density_matrices(record)
    from_analysis = density_matrices(analyze_counts(record))
    for sign in SIGNS:
        for state in ("read_out", "atomic"):
            for name in ELEMENTS:
                assert from_analysis.get(sign, state).elements[name] == pytest.approx(
                    from_record.get(sign, state).elements[name], rel=1e-12)
        assert from_analysis.get(sign).stderr["coherence"] == pytest.approx(
            from_record.get(sign).stderr["coherence"], rel=1e-12)
        assert from_analysis.get(sign, "atomic").stderr is None
    assert any("atomic matrices carry no stderr" in note for note in from_analysis.notes)
    bare = density_matrices(CountRecord(link="ab", counts=record.counts, trials_per_basis=record.trials_per_basis))
    assert [m.state for m in bare.matrices] == ["read_out", "read_out"]
    assert any("atomic matrices omitted" in note for note in bare.notes)
    with pytest.raises(KeyError):
        bare.get("plus", "atomic")
    with pytest.raises(ValueError, match="carries its own read efficiencies"):
        density_matrices(record, read_efficiency_x=0.5, read_efficiency_y=0.5)


def test_csv_and_dict_round_trip(network):
    params = experiment_link_parameters(network, "storage_5us")
    matrices = density_matrices(simulate_link(params, trials=10**8, seed=7).record)
    rows = list(csv.DictReader(io.StringIO(matrices.to_csv())))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 4 * 16
    for matrix in matrices.matrices:
        mine = [r for r in rows if r["sign"] == matrix.sign and r["state"] == matrix.state]
        rho = np.zeros((4, 4))
        for r in mine:
            rho[BASIS_STATES.index(r["row"]), BASIS_STATES.index(r["column"])] = float(r["real"])
        assert np.array_equal(rho, matrix.matrix.real)
        coherence = next(r for r in mine if (r["row"], r["column"]) == ("01", "10"))
        assert float(coherence["stderr"]) == matrix.stderr["coherence"]
        assert sum(int(r["estimated"]) for r in mine) == 6
    data = json.loads(json.dumps(matrices.to_dict()))
    assert data["matrices"][0]["elements"] == dict(matrices.matrices[0].elements)
    assert len(data["covariance"]["plus"]) == 10


def test_fig3_density_experiment(network, tmp_path):
    exact_only = fig3_density(network)
    assert exact_only.sampled is None
    with pytest.raises(ValueError, match="trials and seed"):
        fig3_density(network, trials=10**6)
    result = fig3_density(network, trials=10**8, seed=2024)
    for letter, (experiment, sign) in PANELS.items():
        assert result.exact[experiment].get(sign).concurrence() == pytest.approx(
            evaluate_link(result.parameters[experiment]).figures[sign].concurrence, rel=1e-12)
        assert result.sampled[experiment].get(sign, "atomic").stderr is not None
    assert result.storage_us == {"storage_5us": 5.0, "storage_107us": 107.0}
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert tuple(rows[0]) == FIG3_CSV_COLUMNS and len(rows) == 2 * 2 * 4 * 16
    written, notes = write_fig3_density(result, tmp_path / "fig3")
    names = {path.name for path in written}
    assert {"fig3_density.csv", "fig3_density.json"} <= names
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert notes
    else:
        assert "fig3_density.png" in names and (tmp_path / "fig3" / "fig3_density.png").stat().st_size > 10_000
    summary = json.loads((tmp_path / "fig3" / "fig3_density.json").read_text())
    assert summary["trials"] == 10**8 and summary["storage_107us"]["sampled"]["matrices"]
