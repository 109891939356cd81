"""A local phase θ at one node (Fig. 4a,b of Liu et al. 2024): the engine's mean phase offset, the sampler's, the scan.

Sources of the expected values: the exact engine's own Fourier series in the phase error
(``phase_resolved_tables``, a separate code path from the phase-averaged tables), a
Gauss–Hermite average of it over δ ~ N(θ, σ²), and the closed forms of docs/theta_scan.md.
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.analysis.sinusoid import fit_sinusoid, phase_difference_rad
from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.presets import load_preset
from metroqnet.experiments.theta_scan import CSV_COLUMNS, offset_sign, theta_scan, write_theta_scan
from metroqnet.link.fock_engine import joint_table_arrays, phase_resolved_tables
from metroqnet.link.figures import evaluate_arrays
from metroqnet.link.points import LinkPoints
from metroqnet.sampling.phase_processes import GaussianPhase, OffsetPhase
from tests.conftest import HEFEI_LIKE

THETAS = np.linspace(0.0, 2.0 * math.pi, 13)
X = BASES.index("X")
#: Events with one click at each node in X: their sign products are ⟨XX⟩'s numerator, their count its denominator.
SINGLE = (1, 2)
SIGN_OF_PATTERN = {1: 1.0, 2: -1.0}


def _points(params: LinkParameters, count: int) -> LinkPoints:
    return LinkPoints.from_parameters([params] * count)


@pytest.fixture(scope="module")
def hefei() -> LinkParameters:
    return LinkParameters.from_mapping(HEFEI_LIKE)


@pytest.fixture(scope="module")
def network():
    return load_preset("hefei2024")


@pytest.fixture(scope="module")
def exact_scan(network):
    return theta_scan(network, thetas_rad=THETAS)


# --- the exact engine with a mean phase offset ----------------------------------------------------------------


def test_zero_offset_reproduces_the_engine_bit_for_bit(hefei):
    points = _points(hefei.replace(phase_noise_std_rad=0.4), 3)
    plain, _ = joint_table_arrays(points)
    zero, _ = joint_table_arrays(points, phase_offset_rad=np.zeros(3))
    assert np.array_equal(plain, zero)
    assert np.array_equal(evaluate_arrays(points)["figures"]["xx"],
                          evaluate_arrays(points, phase_offset_rad=0.0)["figures"]["xx"])


def test_offset_tables_are_the_fourier_series_weighted_by_cos_k_theta(hefei):
    """P(θ) = Σ_k C_k e^{-σ²k²/2} cos kθ with C_k from phase_resolved_tables (another code path), to 1e-12."""
    sigma = hefei.phase_noise_std_rad
    tables, _ = joint_table_arrays(_points(hefei, THETAS.size), phase_offset_rad=THETAS)
    resolved = phase_resolved_tables(hefei)
    k = resolved.orders.astype(float)
    weights = np.exp(-0.5 * sigma**2 * k**2) * np.cos(np.multiply.outer(THETAS, k))
    expected = np.tensordot(weights, resolved.coefficients.real, axes=(1, 0))
    scale = np.abs(expected).max()
    np.testing.assert_allclose(tables, expected, rtol=0, atol=1e-12 * scale)


def test_offset_is_the_mean_of_the_gaussian_phase_error(hefei):
    """Gauss–Hermite average of the tables at δ = θ + σx (the sampler's at_phase) over x ~ N(0, 1), to 1e-12."""
    sigma = hefei.phase_noise_std_rad
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    resolved = phase_resolved_tables(hefei)
    for theta in (0.3, 1.9, -2.4):
        averaged = np.tensordot(weights, resolved.at_phase(theta + sigma * nodes), axes=(0, 0))
        tables, _ = joint_table_arrays(_points(hefei, 1), phase_offset_rad=theta)
        np.testing.assert_allclose(tables[0], averaged, rtol=0, atol=1e-12 * np.abs(averaged).max())


def test_tables_are_even_in_the_offset_so_the_xy_term_vanishes(hefei):
    """C_k = C_-k and real: P(θ) = P(−θ) exactly, so ⟨XX⟩(θ) has no sin θ (⟨XY⟩) term at mean 0."""
    resolved = phase_resolved_tables(hefei)
    assert np.array_equal(resolved.coefficients, resolved.coefficients[::-1])
    plus, _ = joint_table_arrays(_points(hefei, THETAS.size), phase_offset_rad=THETAS)
    minus, _ = joint_table_arrays(_points(hefei, THETAS.size), phase_offset_rad=-THETAS)
    assert np.array_equal(plus, minus)
    # Y's tables are X's at every offset (the state commutes with the total number): ⟨YY⟩(θ) = ⟨XX⟩(θ).
    figures = evaluate_arrays(_points(hefei, THETAS.size), phase_offset_rad=THETAS)["figures"]
    assert np.array_equal(figures["yy"], figures["xx"])


def _xx_parts(coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """⟨XX⟩'s numerator and denominator per Fourier order: [order, sign]."""
    numerator = sum(SIGN_OF_PATTERN[a] * SIGN_OF_PATTERN[b] * coefficients[:, :, X, a, b]
                    for a in SINGLE for b in SINGLE)
    denominator = sum(coefficients[:, :, X, a, b] for a in SINGLE for b in SINGLE)
    return numerator, denominator


def test_xx_closed_form_odd_orders_over_even_orders(hefei):
    """⟨XX⟩(θ) = Σ_odd k n_k w_k cos kθ / Σ_even k d_k w_k cos kθ (docs/theta_scan.md), to 1e-12."""
    resolved = phase_resolved_tables(hefei)
    numerator, denominator = _xx_parts(resolved.coefficients.real)
    odd = resolved.orders % 2 == 1
    # Parity: the X observable's sign (E1 − E2) only has odd orders, its single-click total (E1 + E2) only even.
    assert np.abs(numerator[~odd]).max() <= 1e-15 * np.abs(numerator).max()
    assert np.abs(denominator[odd]).max() <= 1e-15 * np.abs(denominator).max()
    k = resolved.orders.astype(float)
    w = np.exp(-0.5 * hefei.phase_noise_std_rad**2 * k**2) * np.cos(np.multiply.outer(THETAS, k))  # [theta, k]
    closed = (w @ numerator) / (w @ denominator)  # [theta, sign]
    engine = evaluate_arrays(_points(hefei, THETAS.size), phase_offset_rad=THETAS)["figures"]["xx"]
    np.testing.assert_allclose(engine, closed, rtol=0, atol=1e-12)


def test_first_harmonic_law_and_its_size(hefei):
    """⟨XX⟩(θ) ≈ ⟨XX⟩(0) cos θ: off by 5.2e-8 (relative) at χ = 0.01, μ = 0.025, less at small χ, μ."""
    def deviation(params):
        xx = evaluate_arrays(_points(params, THETAS.size), phase_offset_rad=THETAS)["figures"]["xx"]
        return np.abs(xx - np.outer(np.cos(THETAS), xx[0])).max() / np.abs(xx[0]).min()

    at_hefei = deviation(hefei)
    assert 1e-9 < at_hefei < 1e-6
    weaker = hefei.replace(excitation_probability_x=1e-3, excitation_probability_y=1e-3,
                           probe_mean_photon_number_x=0.0025, probe_mean_photon_number_y=0.0025)
    assert deviation(weaker) < at_hefei / 20


def test_offset_refusals(hefei):
    with pytest.raises(ConfigError, match="phase_offset_rad"):
        joint_table_arrays(_points(hefei, 2), phase_offset_rad=[0.0, math.nan])
    with pytest.raises(ConfigError, match="phase_offset_rad"):
        joint_table_arrays(_points(hefei, 2), phase_offset_rad=[0.0, 1.0, 2.0])


# --- the sampler's offset -------------------------------------------------------------------------------------


def test_offset_phase_adds_its_offset_to_the_same_draws():
    base = GaussianPhase(std_rad=0.3)
    shifted = OffsetPhase(process=base, offset_rad=0.7)
    indices = np.arange(10, 30)
    args = dict(block_start=0, block_trials=100)
    plain = base.phases_at(indices, rng=np.random.default_rng(5), **args)
    moved = shifted.phases_at(indices, rng=np.random.default_rng(5), **args)
    assert np.array_equal(moved, plain + 0.7)
    for bad in (math.inf, "0.1", True):
        with pytest.raises(ConfigError, match="offset_rad"):
            OffsetPhase(process=base, offset_rad=bad)
    with pytest.raises(ConfigError, match="process"):
        OffsetPhase(process=object(), offset_rad=0.1)


# --- the sinusoid fit ------------------------------------------------------------------------------------------


def test_fit_recovers_a_synthetic_sinusoid_exactly():
    theta = np.linspace(0.0, 2.0 * math.pi, 9, endpoint=False)
    amplitude, phase, offset = 0.45, 1.1, -0.2
    fit = fit_sinusoid(theta, amplitude * np.cos(theta - phase) + offset)
    assert fit.amplitude == pytest.approx(amplitude, abs=1e-14)
    assert fit.phase_rad == pytest.approx(phase, abs=1e-14)
    assert fit.offset == pytest.approx(offset, abs=1e-14)
    assert fit.residual_rms < 1e-15
    assert fit.phase_stderr_rad is None


def test_fit_with_noise_is_within_five_sigma_and_flat_has_no_phase():
    rng = np.random.default_rng(11)
    theta = np.linspace(0.0, 2.0 * math.pi, 25)
    sigma = np.full(theta.size, 0.03)
    truth = 0.6 * np.cos(theta + 2.5)
    fit = fit_sinusoid(theta, truth + sigma * rng.standard_normal(theta.size), stderr=sigma)
    assert abs(phase_difference_rad(fit.phase_rad, -2.5)) < 5 * fit.phase_stderr_rad
    assert abs(fit.amplitude - 0.6) < 5 * fit.amplitude_stderr
    assert math.isnan(fit_sinusoid(theta, np.full(theta.size, 0.61)).phase_rad)
    assert math.isnan(phase_difference_rad(math.nan, 0.0))
    assert phase_difference_rad(3.0, -3.0) == pytest.approx(6.0 - 2 * math.pi)
    assert phase_difference_rad(-math.pi / 2, math.pi / 2) == pytest.approx(math.pi)
    with pytest.raises(ConfigError, match="three distinct angles"):
        fit_sinusoid([0.0, 2 * math.pi, 4 * math.pi], [1.0, 1.0, 1.0])


# --- the scan ------------------------------------------------------------------------------------------------


def test_scan_links_through_the_node_oscillate_the_others_are_flat(exact_scan):
    assert exact_scan.links == ("alice-bob", "alice-charlie", "bob-charlie")
    assert exact_scan.offset_signs == (0, 1, 1)
    assert exact_scan.node_links == ("alice-charlie", "bob-charlie")
    for s, sign in enumerate(HERALD_SIGNS):
        flat = exact_scan.exact_xx[0, s]
        assert np.abs(flat - flat[0]).max() <= 1e-12
        assert math.isnan(exact_scan.fit("alice-bob", sign).phase_rad)
        for link in exact_scan.node_links:
            curve = exact_scan.exact_xx[exact_scan.links.index(link), s]
            fit = exact_scan.fit(link, sign)
            # amplitude = |⟨XX⟩(0)| (first harmonic, docs/theta_scan.md), maximum at 0 (plus) or π (minus)
            assert fit.amplitude == pytest.approx(abs(curve[0]), rel=1e-6)
            assert abs(fit.offset) < 1e-6
            assert abs(phase_difference_rad(fit.phase_rad, 0.0 if sign == "plus" else math.pi)) < 1e-12
        # The model's AC − BC delay: 0, not the paper's π/2 (docs/theta_scan.md).
        assert exact_scan.node_phase_difference_rad(sign) == pytest.approx(0.0, abs=1e-12)


def test_scan_matches_the_engine_with_the_node_on_either_side(network, exact_scan):
    """Charlie as X (δ − θ) gives the same ⟨XX⟩ as Charlie as Y (δ + θ): the tables are even in the offset."""
    flipped = theta_scan(network, thetas_rad=THETAS, pairs=[("charlie", "alice")])
    assert flipped.offset_signs == (-1,)
    np.testing.assert_allclose(flipped.exact_xx[0], exact_scan.exact_xx[1], rtol=0, atol=1e-12)


def test_sampled_points_within_five_sigma_of_exact(network):
    thetas = np.linspace(0.0, 2.0 * math.pi, 5, endpoint=False)
    scan = theta_scan(network, thetas_rad=thetas, trials_per_point=100_000_000, seed=20241)
    z = (scan.sampled_xx - scan.exact_xx) / scan.sampled_xx_stderr
    assert np.all(np.isfinite(z))
    assert np.abs(z).max() < 5.0
    for sign in HERALD_SIGNS:
        difference = scan.node_phase_difference_rad(sign, sampled=True)
        first, second = (scan.fit(link, sign, sampled=True) for link in scan.node_links)
        assert abs(difference) < 5.0 * math.hypot(first.phase_stderr_rad, second.phase_stderr_rad)
    # Seeds by (link index, θ index): a scan of the first two angles replays those points exactly.
    again = theta_scan(network, thetas_rad=thetas[:2], trials_per_point=100_000_000, seed=20241)
    assert np.array_equal(again.sampled_xx, scan.sampled_xx[:, :, :2])
    assert scan.seed == {"entropy": 20241, "spawn_key": []}


def test_scan_data_files(tmp_path, exact_scan):
    rows = list(csv.DictReader(io.StringIO(exact_scan.to_csv())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 3 * len(HERALD_SIGNS) * THETAS.size
    first = rows[THETAS.size * len(HERALD_SIGNS) + 3]  # alice-charlie, plus, θ index 3
    assert (first["link"], first["sign"]) == ("alice-charlie", "plus")
    assert float(first["xx_exact"]) == exact_scan.exact_xx[1, 0, 3]
    assert float(first["phase_offset_rad"]) == THETAS[3]
    assert first["xx_sampled"] == ""
    data = json.loads(json.dumps(exact_scan.as_dict(), allow_nan=False))
    assert data["phase_difference"]["links"] == ["alice-charlie", "bob-charlie"]
    assert data["phase_difference"]["exact_rad"]["plus"] == pytest.approx(0.0, abs=1e-12)
    assert data["links"]["alice-bob"]["plus"]["fit_exact"]["phase_rad"] is None
    pytest.importorskip("matplotlib")
    written, notes = write_theta_scan(exact_scan, tmp_path / "scan")
    assert notes == []
    assert sorted(path.name for path in written) == ["theta_scan.csv", "theta_scan.json", "theta_scan.png"]
    assert (tmp_path / "scan" / "theta_scan.png").stat().st_size > 10_000


def test_scan_refusals(network):
    with pytest.raises(ConfigError, match="node"):
        theta_scan(network, node="dave", thetas_rad=THETAS)
    with pytest.raises(ConfigError, match="seed"):
        theta_scan(network, thetas_rad=THETAS, trials_per_point=10)
    with pytest.raises(ConfigError, match=r"pairs\[0\]"):
        theta_scan(network, thetas_rad=THETAS, pairs=[("alice", "alice")])
    with pytest.raises(ConfigError, match="thetas_rad"):
        theta_scan(network, thetas_rad=[0.0, math.inf])
    assert offset_sign(("alice", "bob"), "charlie") == 0


def test_scan_of_two_angles_has_data_but_no_fits(network):
    scan = theta_scan(network, thetas_rad=[0.0, 1.0])
    data = scan.as_dict()
    assert data["links"]["alice-charlie"]["plus"]["fit_exact"] is None
    assert data["phase_difference"]["exact_rad"] == {"plus": None, "minus": None}
    assert data["links"]["alice-charlie"]["plus"]["xx_exact"][1] == pytest.approx(
        math.cos(1.0) * data["links"]["alice-charlie"]["plus"]["xx_exact"][0], rel=1e-6)
