"""Hardware → SPEC §2 link parameters on the Hefei 2024 preset, written out by hand (SPEC §3 numbers).

The phase stabilization's residual at the write is an argument here (physics does not run the
loop; ``tests/test_link_setup.py`` checks the loop's value): these tests give it as a number.
"""

from __future__ import annotations

import math

import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.presets import Override, load_preset
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.physics.mapping import herald_noise_rate_hz, round_trip_us
from metroqnet.physics.mapping import link_parameters as mapped

#: A stabilization residual at the write for these tests (rad): the loop's is ~15°.
RESIDUAL_RAD = math.radians(15.0)


def link_parameters(network, node_x, node_y, **options) -> LinkParameters:
    options.setdefault("phase_residual_std_rad", RESIDUAL_RAD)
    return mapped(network, node_x, node_y, **options)


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
    assert (a.memory_lifetime_us, a.memory_decay_exponent, a.spin_wave_detuning_rms_hz) == (166.0, 2.0, 30.0)
    assert a.fibre_delay_us_per_km == 5.0
    assert (a.writeout_mode_overlap, a.fibre_polarization_residual_deg) == (1.0, 5.0)


def test_herald_efficiency_is_the_hand_product(ab5):
    """collection 0.23 · QFC 0.46 · fibre 10^(-0.3·10/10) · switch 10^(-1/10) · arm 0.9 · SNSPD 0.7."""
    expected = 0.23 * 0.46 * 10 ** (-0.3 * 10.0 / 10) * 10 ** (-1.0 / 10) * 0.9 * 0.7
    assert ab5.herald_efficiency_x == pytest.approx(expected, rel=1e-12)
    assert ab5.herald_efficiency_y == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.02654, rel=1e-3)


def test_read_efficiency_is_about_0_27_at_5_us(ab5):
    """SPEC §3: overall read efficiency ~0.27 at 5 µs; here 0.45 · exp(-(5/166)²) · 0.85 · 0.7."""
    expected = 0.45 * math.exp(-((5.0 / 166.0) ** 2)) * 0.85 * 0.7
    assert ab5.read_efficiency_x == pytest.approx(expected, rel=1e-12)
    assert abs(ab5.read_efficiency_x - 0.27) <= 0.01
    assert ab5.read_efficiency_y == ab5.read_efficiency_x


def test_read_efficiency_decays_with_storage(hefei):
    """Gaussian memory decay (β = 2): at 107 µs, 0.45 · exp(-(107/166)²) · 0.85 · 0.7; the paper's PME rates
    give the ratio to 5 µs as (0.0037/0.83)/(0.013/1.93) = 0.662."""
    long = link_parameters(hefei, "alice", "bob", storage_us=107.0)
    assert long.read_efficiency_x == pytest.approx(0.45 * math.exp(-((107.0 / 166.0) ** 2)) * 0.85 * 0.7, rel=1e-12)
    five = link_parameters(hefei, "alice", "bob", storage_us=5.0)
    assert long.read_efficiency_x / five.read_efficiency_x == pytest.approx((0.0037 / 0.83) / (0.013 / 1.93), abs=0.002)


def test_an_exponential_decay_reads_the_exponent(hefei):
    """β = 1: 0.45 · exp(-107/166) · 0.85 · 0.7."""
    network = load_preset("hefei2024", overrides=[Override(key="nodes.*.memory_decay_exponent", value=1.0)])
    long = link_parameters(network, "alice", "bob", storage_us=107.0)
    assert long.read_efficiency_x == pytest.approx(0.45 * math.exp(-107.0 / 166.0) * 0.85 * 0.7, rel=1e-12)


def test_herald_noise_probability_from_the_formula(ab5, hefei):
    """R = dark 20 Hz + ½ · (1300 + 1300) Hz · fibre · switch · arm · SNSPD; p = 1 - exp(-R · 250 ns)."""
    downstream = 10 ** (-0.3) * 10 ** (-0.1) * 0.9 * 0.7
    rate_hz = 20.0 + 0.5 * (1300.0 + 1300.0) * downstream
    assert herald_noise_rate_hz((hefei.nodes["alice"], hefei.nodes["bob"]), hefei.server) == pytest.approx(
        rate_hz, rel=1e-12
    )
    assert ab5.herald_noise_probability == pytest.approx(1 - math.exp(-rate_hz * 250e-9), rel=1e-12)


def test_phase_noise_adds_the_residual_and_the_spin_waves_relative_phase(ab5, hefei):
    """docs/storage_phase.md: σ² = σ_res² + (2π t)²(σ_δ,x² + σ_δ,y²), σ_δ = 30 Hz per node (the preset's
    estimate); no optical-offset term (it cancels in each node's verification)."""
    storage_5 = 2 * math.pi * 5e-6 * math.sqrt(30.0**2 + 30.0**2)
    assert ab5.phase_noise_std_rad == pytest.approx(math.sqrt(RESIDUAL_RAD**2 + storage_5**2), rel=1e-12)
    long = link_parameters(hefei, "alice", "bob", storage_us=107.0)
    storage_107 = 2 * math.pi * 107e-6 * math.sqrt(2) * 30.0
    assert storage_107 == pytest.approx(math.radians(1.63), abs=1e-3)
    assert long.phase_noise_std_rad == pytest.approx(math.sqrt(RESIDUAL_RAD**2 + storage_107**2), rel=1e-12)
    no_storage = link_parameters(hefei, "alice", "bob", storage_us=0.0)
    assert no_storage.phase_noise_std_rad == pytest.approx(RESIDUAL_RAD, rel=1e-14)


def test_unequal_spin_wave_detunings_add_in_quadrature(hefei):
    """δ_x − δ_y of independent Gaussians: rms √(σ_x² + σ_y²); here 300 Hz and 400 Hz give 500 Hz."""
    network = load_preset("hefei2024", overrides=[Override(key="nodes.alice.spin_wave_detuning_rms_hz", value=300.0),
                                                  Override(key="nodes.bob.spin_wave_detuning_rms_hz", value=400.0)])
    long = link_parameters(network, "alice", "bob", storage_us=100.0, phase_residual_std_rad=0.0)
    assert long.phase_noise_std_rad == pytest.approx(2 * math.pi * 100e-6 * 500.0, rel=1e-12)


def test_the_residual_is_an_explicit_argument(hefei):
    with pytest.raises(TypeError, match="phase_residual_std_rad"):
        mapped(hefei, "alice", "bob", storage_us=5.0)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="phase_residual_std_rad"):
        link_parameters(hefei, "alice", "bob", storage_us=5.0, phase_residual_std_rad=-0.1)


def test_herald_scale_multiplies_signal_and_qfc_noise_not_dark_counts(ab5, hefei):
    """s = 1.16 on the path QFC output → click: herald efficiency x 1.16; noise rate
    20 Hz + ½ · 2 · 1300 Hz · 1.16 · fibre · switch · arm · SNSPD (dark counts unscaled)."""
    scaled = link_parameters(hefei, "alice", "bob", storage_us=107.0, herald_transmission_scale=1.16)
    assert scaled.herald_efficiency_x == pytest.approx(1.16 * ab5.herald_efficiency_x, rel=1e-12)
    downstream = 10 ** (-0.3) * 10 ** (-0.1) * 0.9 * 0.7
    rate_hz = 20.0 + 0.5 * 2 * 1300.0 * 1.16 * downstream
    assert scaled.herald_noise_probability == pytest.approx(1 - math.exp(-rate_hz * 250e-9), rel=1e-12)


def test_a_herald_scale_that_would_make_light_is_refused(hefei):
    # fibre 10^-0.3 · switch 10^-0.1 · arm 0.9 · SNSPD 0.7 = 0.2517: a scale above 1/0.2517 = 3.97 is refused.
    with pytest.raises(ConfigError, match=r"herald_transmission_scale: 5 makes alice's herald path .* > 1"):
        link_parameters(hefei, "alice", "bob", storage_us=5.0, herald_transmission_scale=5.0)
    with pytest.raises(ConfigError, match="herald_transmission_scale"):
        link_parameters(hefei, "alice", "bob", storage_us=5.0, herald_transmission_scale=0.0)


def test_node_values_pass_through(ab5):
    """χ, EP photons, overlaps from the preset; local noise 1 - exp(-100 Hz · 100 ns). The herald overlap is the
    write-out overlap 1.0 times the polarization factor (1 + exp(-2 ε²))/2 of the fibres' 5° residual: 0.99244."""
    for suffix in ("x", "y"):
        assert ab5.node("excitation_probability", suffix) == 0.01
        assert ab5.node("probe_mean_photon_number", suffix) == 0.025
        assert ab5.node("probe_mode_overlap", suffix) == 0.9
        assert ab5.node("herald_mode_overlap", suffix) == pytest.approx(
            1.0 * (1.0 + math.exp(-2.0 * (5.0 * math.pi / 180.0) ** 2)) / 2.0, rel=1e-14)
        assert ab5.node("herald_mode_overlap", suffix) == pytest.approx(0.99244, abs=5e-6)
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
    """No cap on σ: 100 ms of storage at 30 Hz per node adds 2π · √2 · 30 Hz · 0.1 s = 26.7 rad
    (far beyond π: the phase is uniform, the coherence gone), and the answer is that number."""
    far = link_parameters(hefei, "alice", "bob", storage_us=100_000.0)
    storage = 2 * math.pi * math.sqrt(2) * 30.0 * 0.1
    assert far.phase_noise_std_rad == pytest.approx(math.hypot(RESIDUAL_RAD, storage), rel=1e-12)
    assert far.phase_noise_std_rad > 8 * math.pi


def test_round_trip_is_twice_the_fibre_delay(hefei):
    """Paper: the 107 µs storage "exceed[s] the round-trip transmission time"; the preset's
    estimate 10 km · 5 µs/km each way gives 100 µs for Alice and Bob, 90 µs for Charlie's 9 km."""
    assert round_trip_us(hefei.nodes["alice"]) == pytest.approx(2 * 10.0 * 5.0, rel=1e-14)
    assert round_trip_us(hefei.nodes["charlie"]) == pytest.approx(2 * 9.0 * 5.0, rel=1e-14)
    for name in ("alice", "bob"):
        assert round_trip_us(hefei.nodes[name]) < hefei.experiments["storage_107us"].storage_us
    longer = hefei.nodes["alice"].replace(fibre_length_km=12.0, fibre_delay_us_per_km=4.9)
    assert round_trip_us(longer) == pytest.approx(2 * 12.0 * 4.9, rel=1e-14)


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
