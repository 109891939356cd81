"""Hardware → SPEC §2 link parameters on the Hefei 2024 preset, written out by hand (SPEC §3 numbers)."""

from __future__ import annotations

import math

import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.presets import load_preset
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.physics.mapping import (
    experiment_link_parameters,
    herald_noise_rate_hz,
    link_parameters,
    round_trip_us,
)


@pytest.fixture(scope="module")
def hefei() -> NetworkHardware:
    return load_preset("hefei2024")


@pytest.fixture(scope="module")
def ab5(hefei) -> LinkParameters:
    return link_parameters(hefei, "alice", "bob", storage_us=5.0, repetition_rate_hz=2760.0)


def test_preset_numbers_used_below(hefei):
    """The hand computations below use these preset numbers; fail here first if the preset changes."""
    a, s = hefei.nodes["alice"], hefei.server
    assert (a.writeout_collection_efficiency, a.qfc_efficiency, a.fibre_length_km, a.fibre_attenuation_db_per_km) == (
        0.23,
        0.46,
        10.0,
        0.3,
    )
    assert (s.switch_loss_db, s.interferometer_transmission, s.snspd_efficiency) == (1.0, 0.9, 0.7)
    assert (a.qfc_noise_rate_hz, s.snspd_dark_count_rate_hz, s.herald_window_ns) == (1300.0, 20.0, 250.0)
    assert (a.retrieval_efficiency_zero_storage, a.read_path_transmission, a.local_detector_efficiency) == (
        0.45,
        0.85,
        0.7,
    )
    assert (a.memory_lifetime_us, a.memory_decay) == (560.0, "gaussian")
    assert a.fibre_delay_us_per_km == 5.0


def test_herald_efficiency_is_the_hand_product(ab5):
    """collection 0.23 · QFC 0.46 · fibre 10^(-0.3·10/10) · switch 10^(-1/10) · arm 0.9 · SNSPD 0.7."""
    expected = 0.23 * 0.46 * 10 ** (-0.3 * 10.0 / 10) * 10 ** (-1.0 / 10) * 0.9 * 0.7
    assert ab5.herald_efficiency_x == pytest.approx(expected, rel=1e-12)
    assert ab5.herald_efficiency_y == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.02654, rel=1e-3)


def test_read_efficiency_is_about_0_27_at_5_us(ab5):
    """SPEC §3: overall read efficiency ~0.27 at 5 µs; here 0.45 · exp(-(5/560)²) · 0.85 · 0.7."""
    expected = 0.45 * math.exp(-((5.0 / 560.0) ** 2)) * 0.85 * 0.7
    assert ab5.read_efficiency_x == pytest.approx(expected, rel=1e-12)
    assert abs(ab5.read_efficiency_x - 0.27) <= 0.01
    assert ab5.read_efficiency_y == ab5.read_efficiency_x


def test_read_efficiency_decays_with_storage(hefei):
    """Gaussian memory decay: at 107 µs, 0.45 · exp(-(107/560)²) · 0.85 · 0.7."""
    long = link_parameters(hefei, "alice", "bob", storage_us=107.0)
    assert long.read_efficiency_x == pytest.approx(0.45 * math.exp(-((107.0 / 560.0) ** 2)) * 0.85 * 0.7, rel=1e-12)


def test_herald_noise_probability_from_the_formula(ab5, hefei):
    """R = dark 20 Hz + ½ · (1300 + 1300) Hz · fibre · switch · arm · SNSPD; p = 1 - exp(-R · 250 ns)."""
    downstream = 10 ** (-0.3) * 10 ** (-0.1) * 0.9 * 0.7
    rate_hz = 20.0 + 0.5 * (1300.0 + 1300.0) * downstream
    assert herald_noise_rate_hz((hefei.nodes["alice"], hefei.nodes["bob"]), hefei.server) == pytest.approx(
        rate_hz, rel=1e-12
    )
    assert ab5.herald_noise_probability == pytest.approx(1 - math.exp(-rate_hz * 250e-9), rel=1e-12)


def test_phase_noise_adds_residual_and_drift(ab5, hefei):
    """σ = √((17°)² + (2π · 0.0866 kHz · t)²) in rad (paper σ_res = 17°, |Δω| <= 0.15 kHz)."""
    residual = math.radians(17.0)
    drift_5 = 2 * math.pi * 0.15 / math.sqrt(3) * 1e3 * 5e-6
    assert ab5.phase_noise_std_rad == pytest.approx(math.sqrt(residual**2 + drift_5**2), rel=1e-6)
    long = link_parameters(hefei, "alice", "bob", storage_us=107.0)
    drift_107 = 2 * math.pi * 0.15 / math.sqrt(3) * 1e3 * 107e-6
    assert long.phase_noise_std_rad == pytest.approx(math.sqrt(residual**2 + drift_107**2), rel=1e-6)
    no_storage = link_parameters(hefei, "alice", "bob", storage_us=0.0)
    assert no_storage.phase_noise_std_rad == pytest.approx(residual, rel=1e-14)


def test_node_values_pass_through(ab5):
    """χ, EP photons, overlaps from the preset; local noise 1 - exp(-100 Hz · 100 ns)."""
    for suffix in ("x", "y"):
        assert ab5.node("excitation_probability", suffix) == 0.01
        assert ab5.node("probe_mean_photon_number", suffix) == 0.025
        assert ab5.node("probe_mode_overlap", suffix) == 0.9
        assert ab5.node("herald_mode_overlap", suffix) == 1.0
        assert ab5.node("local_noise_probability", suffix) == pytest.approx(-math.expm1(-1e-5), rel=1e-14)
    assert ab5.repetition_rate_hz == 2760.0


def test_first_order_heralding_matches_the_paper(ab5, hefei):
    """Paper: heralding 6.9e-4 at 5 µs, 25% from noise. First order in χ and the noise:
    p ≈ 2 n̄ η + 2 p_n with n̄ = χ/(1-χ). A check that the estimates are consistent (±10%), not a fit."""
    nbar = 0.01 / 0.99
    signal = nbar * (ab5.herald_efficiency_x + ab5.herald_efficiency_y)
    noise = 2 * ab5.herald_noise_probability
    published = hefei.published.experiments["storage_5us"]
    assert abs((signal + noise) / published.heralding_probability.value - 1) < 0.10
    assert abs(noise / (signal + noise) - published.herald_noise_fraction.value) < 0.03


def test_long_storage_gives_a_large_phase_noise_not_a_refusal(hefei):
    """No cap on σ: 100 ms of storage at f_rms = 0.15/√3 kHz adds 2π · 86.6 Hz · 0.1 s = 54 rad
    (far beyond π: the phase is uniform, the coherence gone), and the answer is that number."""
    far = link_parameters(hefei, "alice", "bob", storage_us=100_000.0)
    drift = 2 * math.pi * 0.15 / math.sqrt(3) * 1e3 * 0.1
    assert far.phase_noise_std_rad == pytest.approx(math.hypot(math.radians(17.0), drift), rel=1e-6)
    assert far.phase_noise_std_rad > 10 * math.pi


def test_round_trip_is_twice_the_fibre_delay(hefei):
    """Paper: the 107 µs storage "exceed[s] the round-trip transmission time"; the preset's
    estimate 10 km · 5 µs/km each way gives 100 µs for Alice and Bob, 90 µs for Charlie's 9 km."""
    assert round_trip_us(hefei.nodes["alice"]) == pytest.approx(2 * 10.0 * 5.0, rel=1e-14)
    assert round_trip_us(hefei.nodes["charlie"]) == pytest.approx(2 * 9.0 * 5.0, rel=1e-14)
    for name in ("alice", "bob"):
        assert round_trip_us(hefei.nodes[name]) < hefei.experiments["storage_107us"].storage_us
    longer = hefei.nodes["alice"].replace(fibre_length_km=12.0, fibre_delay_us_per_km=4.9)
    assert round_trip_us(longer) == pytest.approx(2 * 12.0 * 4.9, rel=1e-14)


def test_experiment_link_parameters_equals_explicit_call(hefei, ab5):
    assert experiment_link_parameters(hefei, "storage_5us") == ab5
    long = experiment_link_parameters(hefei, "storage_107us")
    assert long == link_parameters(hefei, "alice", "bob", storage_us=107.0, repetition_rate_hz=1030.0)
    with pytest.raises(ConfigError, match="storage_5us, storage_107us"):
        experiment_link_parameters(hefei, "storage_1ms")
    with pytest.raises(ConfigError, match="experiments.fig2: a 'stabilization' experiment is not a link experiment"):
        experiment_link_parameters(hefei, "fig2")


def test_swapping_nodes_swaps_suffixes(hefei):
    """Charlie's 9 km fibre: 10^(-0.27) instead of 10^(-0.3); swapping X and Y swaps the suffixes."""
    ac = link_parameters(hefei, "alice", "charlie", storage_us=5.0)
    ca = link_parameters(hefei, "charlie", "alice", storage_us=5.0)
    assert ac.herald_efficiency_y / ac.herald_efficiency_x == pytest.approx(10 ** (0.3 - 0.27), rel=1e-12)
    assert (ca.herald_efficiency_x, ca.herald_efficiency_y) == (ac.herald_efficiency_y, ac.herald_efficiency_x)
    assert ca.herald_noise_probability == ac.herald_noise_probability


def test_only_the_switched_nodes_add_noise(hefei):
    """The switch routes 2 of N inputs: Charlie's QFC noise does not reach an Alice–Bob herald."""
    nodes = dict(hefei.nodes)
    nodes["charlie"] = nodes["charlie"].replace(qfc_noise_rate_hz=1e6)
    noisy = NetworkHardware(name="n", nodes=nodes, server=hefei.server, drift=hefei.drift)
    assert link_parameters(noisy, "alice", "bob", storage_us=5.0) == link_parameters(
        hefei, "alice", "bob", storage_us=5.0
    )
    assert link_parameters(noisy, "alice", "charlie", storage_us=5.0).herald_noise_probability > 1e-2


def test_unknown_node_refused_with_the_list(hefei):
    with pytest.raises(ConfigError) as caught:
        link_parameters(hefei, "alice", "dave", storage_us=5.0)
    message = str(caught.value)
    assert "node_y" in message and "'dave'" in message and "alice, bob, charlie" in message


def test_same_node_twice_refused(hefei):
    with pytest.raises(ConfigError, match="node_y: 'alice' twice; a link needs two different nodes"):
        link_parameters(hefei, "alice", "alice", storage_us=5.0)


@pytest.mark.parametrize("storage_us", [-1.0, math.nan, "5"])
def test_bad_storage_refused(hefei, storage_us):
    with pytest.raises(ConfigError, match="storage_us"):
        link_parameters(hefei, "alice", "bob", storage_us=storage_us)


def test_bad_repetition_rate_refused(hefei):
    with pytest.raises(ConfigError, match="repetition_rate_hz"):
        link_parameters(hefei, "alice", "bob", storage_us=5.0, repetition_rate_hz=0.0)
