"""The link's phase error at the write comes from the stabilization loop, run at the network's settings.

Sources: the paper's Fig. 2b (17°, read by an additional probe 5 µs after the feedback; the
preset states ±1°, the paper prints no error), the shot noise of one quadrature probe
1/(V√n) (closed form), and the loop's own Fig. 2 run (``residual_phase``) as the second route
to the same number.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

import metroqnet as mq
from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import Override, load_preset
from metroqnet.experiments.link_setup import (
    WRITE_RESIDUAL_SEED,
    WRITE_RESIDUAL_TRIALS,
    experiment_link_parameters,
    link_parameters_from_loop,
    loop_setup,
    write_residual_std_rad,
)
from metroqnet.experiments.phase_stabilization import residual_phase, stabilization_setup
from metroqnet.physics.mapping import link_parameters


@pytest.fixture(scope="module")
def hefei():
    return load_preset("hefei2024")


def test_the_links_residual_is_the_fig2_loops_at_the_write(hefei):
    # Fig. 2's experiment stabilizes Alice–Bob at 2.76 kHz: the same loop, seed and trials give the same σ.
    fig2 = residual_phase(stabilization_setup(hefei), trials=WRITE_RESIDUAL_TRIALS, seed=WRITE_RESIDUAL_SEED)
    # (equal to rounding: the Fig. 2 summary merges its moments chunk by chunk)
    assert write_residual_std_rad(hefei, "alice", "bob", repetition_rate_hz=2760.0) == pytest.approx(
        fig2.at_write.std_rad, rel=1e-12)


@pytest.fixture(scope="module")
def probe_run(hefei):
    """The link's loop (Alice–Bob at 2.76 kHz) read by Fig. 2b's additional probe."""
    return residual_phase(loop_setup(hefei, "alice", "bob"), trials=WRITE_RESIDUAL_TRIALS, seed=WRITE_RESIDUAL_SEED)


def test_the_additional_probe_adds_its_own_shot_noise():
    # The probe's shot noise is independent of the residual: σ_read² ≈ σ_write² + 1/(V²n), n = 2 · 40 photons
    # · 0.7 = 56 detected, V = 0.95 (8.1°); small-angle and arcsin, so within a few per cent. That holds
    # for a lock that does not slip: with 30 ms lasers (the preset's 1 ms makes the lock slip in ~7 % of
    # trials, whose heavy tails break the sum of variances; docs/control_noise.md).
    coherent = [Override(key="nodes.*.laser_coherence_time_ms", value=30.0)]  # the pumps follow
    network = load_preset("hefei2024", overrides=coherent)
    run = residual_phase(loop_setup(network, "alice", "bob"), trials=WRITE_RESIDUAL_TRIALS, seed=WRITE_RESIDUAL_SEED)
    probe_deg = math.degrees(1.0 / (0.95 * math.sqrt(2 * 40 * 0.7)))
    assert run.measured_std_deg == pytest.approx(math.hypot(run.std_deg, probe_deg), rel=0.03)
    assert run.std_deg < run.measured_std_deg


@pytest.mark.calibration
@pytest.mark.xfail(strict=True, reason="known gap: with the preset's literal 1 ms laser coherence the lock slips in "
                   "~7 % of trials and the additional probe reads ~22° with heavy tails, not a Gaussian 17° "
                   "(docs/control_noise.md); the laser coherence is to be calibrated")
def test_the_additional_probe_reads_the_published_17_degrees(hefei, probe_run):
    # Fig. 2b: 17°, the error (1°) stated in the preset with its reason (the paper prints none).
    published = hefei.published.experiments["fig2"].residual_phase_std_deg
    assert (published.value, published.error) == (17.0, 1.0) and published.error_reason
    assert abs(probe_run.measured_std_deg - published.value) <= 2 * published.error


def test_the_residual_is_deterministic_symmetric_and_within_its_statistical_error(hefei, probe_run):
    sigma = write_residual_std_rad(hefei, "alice", "bob")
    assert write_residual_std_rad(hefei, "bob", "alice") == sigma
    assert write_residual_std_rad(hefei, "alice", "bob") == sigma
    # Without a rate the loop runs at the stabilization experiment's (2.76 kHz).
    assert write_residual_std_rad(hefei, "alice", "bob", repetition_rate_hz=2760.0) == sigma
    # Another seed: the same σ within 5 standard errors of the difference of two independent std estimates,
    # each σ √((κ + 2)/(4N)) with κ the residual's excess kurtosis (0 for a Gaussian: σ/√(2N)).
    other = write_residual_std_rad(hefei, "alice", "bob", seed=WRITE_RESIDUAL_SEED + 1)
    assert other != sigma
    kurtosis = max(probe_run.excess_kurtosis, 0.0)
    assert abs(other - sigma) <= 5 * sigma * math.sqrt(2 * (kurtosis + 2) / (4 * WRITE_RESIDUAL_TRIALS))


def test_a_worse_loop_gives_the_link_a_larger_phase_error(hefei):
    # 10 photons per probe instead of 40: a larger shot-noise error at the write, read by the link.
    worse = load_preset("hefei2024", overrides=[Override(key="server.probe_photons_per_node", value=10.0)])
    good = link_parameters_from_loop(hefei, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)
    bad = link_parameters_from_loop(worse, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)
    # Well beyond the statistical error of the two σ (each σ/√(2N), N = WRITE_RESIDUAL_TRIALS).
    error_rad = math.hypot(good.phase_noise_std_rad, bad.phase_noise_std_rad) / math.sqrt(2 * WRITE_RESIDUAL_TRIALS)
    assert bad.phase_noise_std_rad > good.phase_noise_std_rad + 10 * error_rad


def test_a_network_without_a_loop_rate_needs_one(hefei):
    links_only = dataclasses.replace(
        hefei, experiments={name: e for name, e in hefei.experiments.items() if e.kind == "link"}
    )
    with pytest.raises(ConfigError, match="repetition_rate_hz: not given.*declares no stabilization experiment"):
        link_parameters_from_loop(links_only, "alice", "bob", storage_us=5.0)
    assert link_parameters_from_loop(links_only, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0) == (
        link_parameters_from_loop(hefei, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)
    )


def test_a_rate_the_loop_cannot_run_at_is_refused_naming_the_rate(hefei):
    # Probes, feedback and gap take 2 · (4 + 2) + 5 = 17 µs: at 100 kHz a trial lasts 10 µs.
    with pytest.raises(ConfigError, match="repetition_rate_hz: 100000 Hz: the link's phase loop cannot run at it"):
        link_parameters_from_loop(hefei, "alice", "bob", storage_us=5.0, repetition_rate_hz=1e5)


def test_experiment_link_parameters_use_the_declared_settings(hefei):
    for name, nodes, storage_us, rate_hz, scale in (
        ("storage_5us", ("alice", "bob"), 5.0, 2760.0, 1.0),
        ("storage_107us", ("alice", "bob"), 107.0, 1030.0, 1.16),
        ("storage_5us", ("alice", "charlie"), 5.0, 2760.0, 1.0),
    ):
        residual = write_residual_std_rad(hefei, *nodes, repetition_rate_hz=rate_hz)
        expected = link_parameters(hefei, *nodes, storage_us=storage_us, phase_residual_std_rad=residual,
                                   repetition_rate_hz=rate_hz, herald_transmission_scale=scale)
        assert experiment_link_parameters(hefei, name, nodes=nodes) == expected
    assert mq.experiment_link_parameters(hefei, "storage_5us") == experiment_link_parameters(hefei, "storage_5us")
    assert mq.link_parameters(hefei, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0) == (
        experiment_link_parameters(hefei, "storage_5us")
    )


def test_experiment_refusals_name_the_experiment(hefei):
    with pytest.raises(ConfigError, match="storage_5us, storage_107us"):
        experiment_link_parameters(hefei, "storage_1ms")
    with pytest.raises(ConfigError, match="experiments.fig2: a 'stabilization' experiment is not a link experiment"):
        experiment_link_parameters(hefei, "fig2")
    huge = load_preset("hefei2024", overrides=[Override(key="experiments.storage_107us.herald_transmission_scale",
                                                        value=5.0)])
    with pytest.raises(ConfigError, match=r"experiments.storage_107us.herald_transmission_scale: 5 makes alice's"):
        experiment_link_parameters(huge, "storage_107us")


def test_node_refusals_name_the_node_argument(hefei):
    with pytest.raises(ConfigError, match="node_y: 'alice' twice; a link needs two different nodes"):
        write_residual_std_rad(hefei, "alice", "alice")
    with pytest.raises(ConfigError, match="node_y: 'dave' is not a node"):
        link_parameters_from_loop(hefei, "alice", "dave", storage_us=5.0)


@pytest.mark.calibration
def test_the_107us_run_at_its_declared_herald_scale_and_memory_decay(hefei):
    # Paper, 107 µs: P_h = 8.0e-4, 25% from noise, 0.83 Hz at 1.03 kHz, PME rate 0.0037 Hz. The run's herald scale
    # (1.16 = 8.0/6.9) and the 166 µs Gaussian lifetime (from the paper's PME rates) were estimated from these
    # numbers, so this checks that choice. Measured: 8.20e-4, 0.243, 0.845 Hz, 0.0035 Hz.
    long = mq.evaluate_link(experiment_link_parameters(hefei, "storage_107us"))
    assert long.herald_probability == pytest.approx(8.0e-4, rel=0.05)
    assert long.noise_herald_fraction == pytest.approx(0.25, abs=0.03)
    assert long.entangling_rate_hz == pytest.approx(0.83, rel=0.05)
    assert long.pme_rate_hz == pytest.approx(0.0037, rel=0.15)
    # Nothing in the herald depends on storage: the heralding ratio is the scale's (noise scales with the
    # signal except the 20 Hz of dark counts, so a little below 1.16).
    five = mq.evaluate_link(experiment_link_parameters(hefei, "storage_5us"))
    assert long.herald_probability / five.herald_probability == pytest.approx(8.0 / 6.9, rel=0.01)
    # Signal and noise rose together: the noise share stays within 0.5 % of the 5 µs run's.
    assert long.noise_herald_fraction == pytest.approx(five.noise_herald_fraction, abs=0.005)
