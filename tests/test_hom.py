"""Fig. 3b's Hong–Ou–Mandel g⁽²⁾ (metroqnet.physics.hom, metroqnet.experiments.hom_fig3b).

Sources: the closed forms are checked against an independent Monte Carlo over the fields' complex
amplitudes (a thermal field is a circular complex Gaussian amplitude, a coherent pulse a fixed
amplitude with a random phase), with the modes' overlap integrated numerically on a time grid rather
than taken from the closed form; statistical checks are seeded and two-sided at 5σ (batch means).
The textbook limits: two single photons (1 − V)/2 (Hong, Ou & Mandel 1987), two coherent pulses 1/2,
thermal + coherent 2/3 at n_thermal = n_coherent/2.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import Override, load_preset
from metroqnet.experiments.hom_fig3b import (
    fig3b_table,
    fit_gaussian_dip,
    gaussian_dip,
    hom_setup,
    plot_fig3b,
    run_fig3b,
    simulate_points,
)
from metroqnet.physics.hom import (
    dip_width_mhz,
    hom_g2,
    hom_visibility,
    interference_limit,
    no_interference_g2,
    optimal_ratio,
    temporal_overlap,
    threshold_click_probabilities,
    threshold_hom_g2,
)
from metroqnet.physics.mapping import read_efficiency

BATCHES = 40
PER_BATCH = 50_000


def mode_overlap_numeric(detuning_mhz: float, duration_rms_ns: float, mode_overlap: float) -> complex:
    """⟨f|g⟩ on a time grid: f Gaussian of intensity rms τ, g = √M f e^{−i2πδt} (+ an orthogonal part)."""
    t_ns = np.linspace(-12.0 * duration_rms_ns, 12.0 * duration_rms_ns, 20_001)
    f = np.exp(-(t_ns**2) / (4.0 * duration_rms_ns**2))
    f /= math.sqrt(np.trapezoid(np.abs(f) ** 2, t_ns))
    g = math.sqrt(mode_overlap) * f * np.exp(-2j * math.pi * detuning_mhz * 1e-3 * t_ns)
    return complex(np.trapezoid(np.conj(f) * g, t_ns))


def field_a(rng, size, *, mean, coherent_fraction=0.0):
    """A phase-randomized field: coherent part of mean f·n plus a thermal part (1 − f)·n."""
    thermal = (rng.normal(size=size) + 1j * rng.normal(size=size)) * math.sqrt((1 - coherent_fraction) * mean / 2)
    return thermal + math.sqrt(coherent_fraction * mean) * np.exp(2j * math.pi * rng.random(size))


def output_intensities(a, b, overlap: complex, noise_mean: float = 0.0):
    """I_c, I_d behind the 50:50 beamsplitter: |b|²'s part outside a's mode adds without interfering."""
    v = abs(overlap) ** 2
    cross = 2.0 * np.real(np.conj(a) * b * overlap)
    common = np.abs(a) ** 2 + np.abs(b) ** 2
    return 0.5 * (common + cross) + noise_mean, 0.5 * (common - cross) + noise_mean, v


def monte_carlo_g2(seed, *, mean_a, mean_b, overlap, coherent_fraction=0.0, noise_mean=0.0):
    """⟨I_c I_d⟩/(⟨I_c⟩⟨I_d⟩) per batch; (mean, standard error) over the batches."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(BATCHES):
        a = field_a(rng, PER_BATCH, mean=mean_a, coherent_fraction=coherent_fraction)
        b = math.sqrt(mean_b) * np.exp(2j * math.pi * rng.random(PER_BATCH))
        i_c, i_d, _ = output_intensities(a, b, overlap, noise_mean)
        values.append(np.mean(i_c * i_d) / (np.mean(i_c) * np.mean(i_d)))
    values = np.array(values)
    return values.mean(), values.std(ddof=1) / math.sqrt(BATCHES)


# --------------------------------------------------------------------------- the closed forms


@pytest.mark.parametrize("detuning_mhz", [0.0, 2.0, 4.5, 9.0])
def test_temporal_overlap_matches_the_integral_on_a_grid(detuning_mhz):
    numeric = abs(mode_overlap_numeric(detuning_mhz, 25.0, 0.9)) ** 2
    assert hom_visibility(detuning_mhz, duration_rms_ns=25.0, mode_overlap=0.9) == pytest.approx(numeric, rel=1e-9)


def test_dip_width_is_where_the_overlap_falls_to_exp_minus_half():
    width = dip_width_mhz(duration_rms_ns=25.0)
    assert width == pytest.approx(4.5016, rel=1e-4)
    assert temporal_overlap(width, duration_rms_ns=25.0) == pytest.approx(math.exp(-0.5), rel=1e-12)


@pytest.mark.parametrize(
    "case",
    [
        dict(mean_a=0.5, mean_b=1.0, detuning_mhz=0.0, coherent_fraction=0.0, noise_mean=0.0),  # the 2/3 point
        dict(mean_a=0.1, mean_b=1.0, detuning_mhz=3.0, coherent_fraction=0.0, noise_mean=0.0),
        dict(mean_a=2.0, mean_b=0.5, detuning_mhz=20.0, coherent_fraction=0.0, noise_mean=0.0),  # far detuned
        dict(mean_a=0.7, mean_b=1.0, detuning_mhz=1.0, coherent_fraction=0.4, noise_mean=0.0),  # g2_a = 1.84
        dict(mean_a=0.3, mean_b=0.6, detuning_mhz=0.0, coherent_fraction=0.0, noise_mean=0.05),  # with noise
    ],
)
def test_closed_form_matches_a_monte_carlo_over_the_amplitudes(case):
    overlap = mode_overlap_numeric(case["detuning_mhz"], 25.0, 0.9)
    f = case["coherent_fraction"]
    g2_a = 2.0 - f**2  # coherent part f·n plus thermal (1 − f)·n: 1 + (2 f (1 − f) + (1 − f)²)
    seed = np.random.SeedSequence(20241105, spawn_key=(int(case["detuning_mhz"] * 10), int(f * 10)))
    mc, error = monte_carlo_g2(seed, mean_a=case["mean_a"], mean_b=case["mean_b"], overlap=overlap,
                               coherent_fraction=f, noise_mean=case["noise_mean"])
    closed = hom_g2(mean_a=case["mean_a"], mean_b=case["mean_b"], g2_a=g2_a, noise_mean=case["noise_mean"],
                    visibility=hom_visibility(case["detuning_mhz"], duration_rms_ns=25.0, mode_overlap=0.9))
    assert error < 0.01  # the check has teeth
    assert abs(mc - closed) < 5.0 * error, (mc, closed, error)


def test_threshold_clicks_match_photon_counting_monte_carlo():
    """Clicks: Poisson photon numbers at the classical output intensities, plus independent noise clicks."""
    rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(3,)))
    mean_a, mean_b, p0 = 0.6, 1.1, 0.02
    overlap = mode_overlap_numeric(2.0, 25.0, 0.9)
    n = 2_000_000
    a = field_a(rng, n, mean=mean_a)
    b = math.sqrt(mean_b) * np.exp(2j * math.pi * rng.random(n))
    i_c, i_d, v = output_intensities(a, b, overlap)
    c = (rng.poisson(i_c) > 0) | (rng.random(n) < p0)
    d = (rng.poisson(i_d) > 0) | (rng.random(n) < p0)
    exact = threshold_click_probabilities(mean_thermal=mean_a, mean_coherent=mean_b, visibility=v,
                                          noise_probability=p0)
    for observed, p in zip((c.mean(), d.mean(), (c & d).mean()), exact):
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(observed - p) < 5.0 * sigma, (observed, p, sigma)


def test_threshold_form_tends_to_the_moment_form_for_weak_fields():
    for v in (0.0, 0.5, 1.0):
        weak = threshold_hom_g2(mean_thermal=1e-5, mean_coherent=2e-5, visibility=v)
        assert weak == pytest.approx(hom_g2(mean_a=1e-5, mean_b=2e-5, visibility=v), rel=1e-4)


# --------------------------------------------------------------------------- the limits


def test_the_thermal_coherent_limit_is_two_thirds_at_half_the_coherent_intensity():
    assert interference_limit() == pytest.approx(2.0 / 3.0, abs=1e-15)
    assert optimal_ratio() == 0.5
    assert hom_g2(mean_a=0.5, mean_b=1.0, visibility=1.0) == pytest.approx(2.0 / 3.0, abs=1e-15)
    ratios = np.geomspace(1e-3, 1e3, 2001)
    grid = hom_g2(mean_a=ratios[:, None], mean_b=1.0, visibility=np.linspace(0, 1, 11)[None, :])
    assert grid.min() >= 2.0 / 3.0 - 1e-12  # nothing below it, at any intensities and overlap


def test_textbook_limits_of_other_fields():
    assert hom_g2(mean_a=1.0, mean_b=1.0, g2_a=1.0, visibility=1.0) == pytest.approx(0.5)  # two coherent
    assert interference_limit(g2_a=1.0, g2_b=1.0) == pytest.approx(0.5)
    assert interference_limit(g2_a=2.0, g2_b=2.0) == pytest.approx(1.0)  # two thermal fields
    for v in (0.0, 0.3, 1.0):  # two single photons: (1 − V)/2
        assert hom_g2(mean_a=1.0, mean_b=1.0, g2_a=0.0, g2_b=0.0, visibility=v) == pytest.approx((1 - v) / 2)


def test_far_detuned_is_the_no_interference_value():
    width = dip_width_mhz(duration_rms_ns=25.0)
    v = hom_visibility(10.0 * width, duration_rms_ns=25.0, mode_overlap=0.9)
    assert v < 1e-20
    far = hom_g2(mean_a=0.2, mean_b=1.0, visibility=v)
    assert far == pytest.approx(no_interference_g2(ratio=0.2), rel=1e-15)
    assert far == pytest.approx((2 * 0.04 + 1 + 0.4) / 1.44, rel=1e-15)


def test_refusals_name_the_input():
    with pytest.raises(ConfigError, match="visibility"):
        hom_g2(mean_a=1.0, mean_b=1.0, visibility=1.5)
    with pytest.raises(ConfigError, match="duration_rms_ns"):
        temporal_overlap(1.0, duration_rms_ns=0.0)
    with pytest.raises(ValueError, match="undefined"):
        hom_g2(mean_a=0.0, mean_b=0.0, visibility=0.5)


# --------------------------------------------------------------------------- the fit


def test_fit_recovers_the_width_of_synthetic_data():
    rng = np.random.default_rng(np.random.SeedSequence(33))
    x = np.linspace(-18.0, 18.0, 25)
    truth = (1.01, 0.17, 0.4, 4.5)
    error = np.full_like(x, 0.01)
    fits = [fit_gaussian_dip(x, gaussian_dip(x, *truth) + rng.normal(scale=error), error) for _ in range(40)]
    for fit in fits:  # each fit within 5σ of the truth, in every parameter
        assert np.all(np.abs(fit.values - truth) < 5.0 * fit.errors), (fit.values, fit.errors)
    widths = np.array([fit.values[3] for fit in fits])
    # the fit's stated error is the scatter of its estimates (40 repeats: the std within ±40% at 5σ-ish)
    assert 0.6 < widths.std(ddof=1) / np.mean([fit.errors[3] for fit in fits]) < 1.5


def test_fit_to_simulated_points_recovers_the_pulse_bandwidth():
    setup = hom_setup(load_preset("hefei2024"), node="alice")
    points = simulate_points(setup, setup.scan_mhz(25), pulses=10**9, seed=5)
    fit = fit_gaussian_dip(points.detuning_mhz, points.g2, points.g2_error)
    assert abs(fit.values[3] - setup.width_mhz) < 5.0 * fit.errors[3]
    assert fit.errors[3] < 0.1 * setup.width_mhz
    resonant = setup.g2(0.0)
    assert abs(fit(0.0) - resonant) < 5.0 * math.hypot(fit.errors[0], fit.errors[1])


# --------------------------------------------------------------------------- the experiment


def test_setup_comes_from_the_node_hardware():
    network = load_preset("hefei2024")
    setup = hom_setup(network, node="bob")
    node = network.nodes["bob"]
    chi = node.excitation_probability
    assert setup.storage_us == network.experiments["storage_5us"].storage_us
    assert setup.mean_readout == pytest.approx(chi / (1 - chi) * read_efficiency(node, storage_us=5.0), rel=1e-12)
    assert setup.mean_probe == node.probe_mean_photon_number
    assert setup.mode_overlap == node.probe_mode_overlap and setup.duration_rms_ns == node.readout_duration_rms_ns
    assert setup.perfect_overlap_g2 < setup.g2(0.0) < setup.far_detuned_g2  # the dip, above the run's floor
    assert setup.g2(0.0) > 2.0 / 3.0
    later = hom_setup(network, node="bob", experiment="storage_107us")
    assert later.mean_readout < setup.mean_readout


def test_a_node_without_a_duration_or_a_wrong_experiment_is_refused():
    network = load_preset("hefei2024")
    bare = network.nodes["alice"].replace(readout_duration_rms_ns=None)
    stripped = dataclasses.replace(network, nodes={**network.nodes, "alice": bare})
    with pytest.raises(ConfigError, match="readout_duration_rms_ns"):
        hom_setup(stripped, node="alice")
    with pytest.raises(ConfigError, match="link experiment"):
        hom_setup(network, node="alice", experiment="fig2")
    with pytest.raises(ConfigError, match="seed"):
        run_fig3b(network, node="alice", pulses=100)


def test_runs_replay_from_their_seed_and_write_a_figure(tmp_path):
    network = load_preset("hefei2024", overrides=[Override(key="nodes.alice.readout_duration_rms_ns", value=40.0)])
    first = run_fig3b(network, node="alice", pulses=10**6, seed=9, points=11)
    again = run_fig3b(network, node="alice", pulses=10**6, seed=9, points=11)
    assert np.array_equal(first.points.coincidences, again.points.coincidences)
    assert first.setup.width_mhz == pytest.approx(dip_width_mhz(duration_rms_ns=40.0))
    assert first.summary()["thermal_coherent_limit"] == pytest.approx(2.0 / 3.0)
    table = fig3b_table(first)
    assert table.splitlines()[0].startswith("detuning_mhz,") and len(table.splitlines()) == 12
    pytest.importorskip("matplotlib")
    path = plot_fig3b(first, tmp_path / "fig3b.png")
    assert path.stat().st_size > 10_000
