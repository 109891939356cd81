"""The Gaussian phase processes: exact discretization against their closed forms, chunking, validation.

Statistical checks are seeded and two-sided with 5σ bounds from the exact
sampling variance of the statistic used (sources named in each test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from metroqnet.config.errors import ConfigError
from metroqnet.noise import (
    IntegratedOUPhase,
    OrnsteinUhlenbeckPhase,
    PhaseSum,
    PhaseTerm,
    WienerPhase,
    pooled,
    simulate_chunks,
)
from metroqnet.physics.fibre_phase import FibrePhase
from metroqnet.physics.laser_phase import LaserPhase
from metroqnet.physics.link_phase import link_phase
from metroqnet.noise.recurrence import decaying_sum
from metroqnet.config.presets import load_preset
from metroqnet.physics.noise_mapping import cavity_drift, fibre, link_phase_noise, pump_laser, write_laser

NS = 10**9
SIGMAS = 5.0

#: The noise of the Hefei preset: each node's write and pump lasers ("coherence time of the lasers (about
#: 1 ms)", the paper; white floor and technical correlation estimated) and fibre (10 km, per-km rates
#: estimated in the preset, with their reasons).
NET = load_preset("hefei2024")
ALICE = NET.node("alice")


def hefei_laser() -> LaserPhase:
    return write_laser(ALICE)


def white_laser(linewidth_hz: float) -> LaserPhase:
    """A laser with a white frequency floor only: a Lorentzian line of FWHM ``linewidth_hz``."""
    return LaserPhase(white_linewidth_hz=linewidth_hz, technical_std_hz=0.0, technical_correlation_s=1e-3)


def hefei_fibre(length_km: float | None = None) -> FibrePhase:
    return fibre(ALICE if length_km is None else ALICE.replace(fibre_length_km=length_km))


def hefei_link_phase(*, seed: int, duration_h: float):
    """Δφ of Alice–Bob: both lasers and fibres plus the cavities' drift over ``duration_h`` (drawn from ``seed``)."""
    return link_phase_noise(NET, "alice", "bob", drift=cavity_drift(NET, duration_h=duration_h, seed=seed))


def pair_times(lag_ns: int, gap_ns: int, pairs: int) -> np.ndarray:
    """Times t_i, t_i + lag with t_i = i·gap: pairs far enough apart to be independent."""
    starts = np.arange(pairs, dtype=np.int64) * gap_ns
    return np.stack([starts, starts + lag_ns], axis=1).reshape(-1)


def assert_variance(samples: np.ndarray, expected: float) -> None:
    """Sample second moment of iid N(0, expected): mean of z² is 1 ± 5·√(2/n) (chi-square variance 2n)."""
    z2 = samples**2 / expected
    bound = SIGMAS * math.sqrt(2.0 / samples.size)
    assert abs(z2.mean() - 1.0) <= bound, (z2.mean(), bound)


# --- the recurrence ---------------------------------------------------------------------


def test_decaying_sum_matches_the_sequential_recurrence_including_huge_and_zero_steps():
    rng = np.random.default_rng(1)
    n = 12_411
    decay = np.concatenate([rng.exponential(0.3, n - 200), rng.exponential(60.0, 100), np.zeros(100)])
    rng.shuffle(decay)
    drive = rng.standard_normal(n)
    expected, value = np.empty(n), 0.7
    for k in range(n):
        value = math.exp(-decay[k]) * value + drive[k]
        expected[k] = value
    assert np.allclose(decaying_sum(np.exp(-decay), drive, 0.7), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("periodic", [True, False])
def test_simulation_equals_the_step_by_step_exact_update(periodic):
    # Reference: the textbook exact updates, one step at a time, fed the same normals
    # (initial-state draws first, then (n, k) normals in C order). More than one slice of
    # SLICE_SAMPLES, so the state is carried between slices too.
    n = 70_000
    times = trial_times(n // 4) if periodic else np.sort(np.random.default_rng(4).integers(0, 10**10, n))
    ou = OrnsteinUhlenbeckPhase(std_rad=0.3, correlation_s=3e-4)
    steps_s = np.diff(times, prepend=times[0]) / NS

    values, _ = ou.simulate(times, rng=np.random.default_rng(1))
    draws = np.random.default_rng(1)
    x = 0.3 * draws.standard_normal()
    xi = draws.standard_normal(n)
    expected = np.empty(n)
    for k in range(n):
        a = math.exp(-steps_s[k] / 3e-4)
        x = a * x + 0.3 * math.sqrt(1 - a * a) * xi[k]
        expected[k] = x
    assert np.allclose(values, expected, rtol=0, atol=1e-12)

    for tau in (0.02, 2e-5):  # δ mostly < 0.1 (series), then mostly > 0.1 (closed form)
        assert_iou_matches_reference(IntegratedOUPhase(rate_std_rad_per_s=5.0, correlation_s=tau), times, steps_s)


def assert_iou_matches_reference(iou: IntegratedOUPhase, times: np.ndarray, steps_s: np.ndarray) -> None:
    n = times.size
    expected = np.empty(n)
    values, _ = iou.simulate(times, rng=np.random.default_rng(2))
    draws = np.random.default_rng(2)
    s, tau = iou.rate_std_rad_per_s, iou.correlation_s
    v, phi = s * draws.standard_normal(), 0.0
    xi = draws.standard_normal((n, 2))
    for k in range(n):
        d = steps_s[k] / tau
        a = math.exp(-d)
        kick = s * math.sqrt(1 - a * a) * xi[k, 0]
        if d < 0.5:  # 2d − 3 + 4a − a² summed term by term (it cancels to ≈ 2d³/3)
            f = sum((-1) ** m * (4 - 2**m) * d**m / math.factorial(m) for m in range(3, 30))
        else:
            f = 2 * d - 3 + 4 * a - a * a
        residual = f - (-math.expm1(-d)) ** 3 / (1 + a)
        phi += tau * (1 - a) * v + tau * (1 - a) / (1 + a) * kick + s * tau * math.sqrt(max(residual, 0)) * xi[k, 1]
        v = a * v + kick
        expected[k] = phi
    assert np.allclose(values, expected, rtol=1e-10, atol=1e-12)


# --- lasers: white floor plus technical noise ---------------------------------------------


@pytest.mark.parametrize("lag_ns", [1_000, 10_000, 362_000, 1_000_000])
def test_white_laser_phase_increments_have_variance_two_pi_linewidth_lag(lag_ns):
    # Closed form: Var[φ(t+τ) − φ(t)] = 2πΔν τ (Lorentzian linewidth Δν).
    laser = white_laser(318.0)
    times = np.arange(100_001, dtype=np.int64) * lag_ns
    phase, _ = laser.simulate(times, rng=np.random.default_rng(lag_ns))
    assert_variance(np.diff(phase), 2 * math.pi * 318.0 * lag_ns / NS)


@pytest.mark.parametrize("lag_s", [10e-6, 362e-6, 1e-3, 20e-3])
def test_laser_structure_function_matches_simulation(lag_s):
    # Closed form: D(τ) = 2πΔν_w τ + 2(2πσ_ν)²τ_t²(τ/τ_t − 1 + e^{−τ/τ_t}) (white floor plus OU frequency),
    # on independent pairs (the technical rate starts from its stationary law in each pair).
    laser = hefei_laser()
    lag_ns = round(lag_s * NS)
    white, technical = laser.gaussian_parts()
    expected = 2 * math.pi * laser.white_linewidth_hz * lag_s + 2 * (2 * math.pi * laser.technical_std_hz) ** 2 * (
        laser.technical_correlation_s**2) * (lag_s / laser.technical_correlation_s - 1 + math.exp(
            -lag_s / laser.technical_correlation_s))
    assert float(laser.structure_function_rad2(lag_s)) == pytest.approx(expected, rel=1e-12)
    values, _ = laser.simulate(pair_times(lag_ns, NS // 10, 40_000), rng=np.random.default_rng(round(lag_s * 1e7)))
    assert_variance(values[1::2] - values[0::2], expected)


def test_laser_phase_on_an_irregular_grid_has_independent_increments_of_the_right_size():
    laser = white_laser(318.0)
    rng = np.random.default_rng(5)
    times = np.cumsum(rng.integers(0, 2_000_000, 200_000)).astype(np.int64)
    phase, _ = laser.simulate(times, rng=rng)
    steps = np.diff(times)
    keep = steps > 0
    z = np.diff(phase)[keep] / np.sqrt(2 * math.pi * 318.0 * steps[keep] / NS)
    assert abs(z.mean()) <= SIGMAS / math.sqrt(z.size)
    assert_variance(z, 1.0)
    # Successive increments are uncorrelated: mean of z_k z_{k+1} is 0 ± 5/√n.
    assert abs(np.mean(z[1:] * z[:-1])) <= SIGMAS / math.sqrt(z.size - 1)


def test_preset_noise_builders_read_the_tagged_values():
    # Lasers: the paper's "coherence time of the lasers (about 1 ms)" as each laser's field coherence falling
    # to 1/e at 1 ms, D(1 ms) = 2 rad², for the write and the pump laser (both tagged paper); the white floor
    # (10 Hz) and the technical correlation time (1 ms) are estimated; the technical rms follows from D(τ_c) = 2:
    # 2(2πσ)²τ_t²(1 − 1 + e^{−1}) = 2 − 2π·10 Hz·1 ms. Fibre, 10 km (estimated): 20 rad/s rms thermal rate and
    # 0.22 rad rms acoustic noise for 10 km, with 2 s and 300 µs correlation times.
    # The pump has no coherence time of its own: all lasers of a node share the write laser's.
    assert NET.tag("alice", "laser_coherence_time_ms").source == "paper"
    assert ALICE.pump_laser_coherence_time_ms is None and NET.tag("alice", "pump_laser_coherence_time_ms") is None
    for field in ("laser_white_linewidth_hz", "laser_technical_correlation_ms", "pump_laser_white_linewidth_hz",
                  "pump_laser_technical_correlation_ms"):
        assert NET.tag("alice", field).source == "estimated"
    for laser in (hefei_laser(), pump_laser(ALICE)):
        assert (laser.white_linewidth_hz, laser.technical_correlation_s) == (10.0, 1e-3)
        sigma_hz = math.sqrt((2 - 2 * math.pi * 10.0 * 1e-3) / (2 * 1e-6 * math.exp(-1.0))) / (2 * math.pi)
        assert laser.technical_std_hz == pytest.approx(sigma_hz, rel=1e-12)
        assert laser.coherence_time_s == pytest.approx(1e-3, rel=1e-9)
    ten_km = hefei_fibre()
    assert ALICE.fibre_length_km == 10.0
    assert ten_km.thermal_rate_rad_per_s == pytest.approx(20.0, rel=1e-12)
    assert ten_km.acoustic_std_rad == pytest.approx(math.sqrt(0.05), rel=1e-12)
    assert round(ten_km.acoustic_std_rad, 2) == 0.22
    assert (ten_km.thermal_correlation_s, ten_km.acoustic_correlation_us) == (2.0, 300.0)
    # A node's own values are used: Charlie's 9 km fibre.
    charlie = fibre(NET.node("charlie"))
    assert charlie.thermal_rate_rad_per_s == pytest.approx(0.9 * ten_km.thermal_rate_rad_per_s, rel=1e-12)
    link = hefei_link_phase(seed=0, duration_h=1.0)
    # The paper's Eq. (1): Δφ = Δφw + Δφp + Δφf, write lasers, QFC pump lasers, fibres.
    assert [term.name for term in link.terms] == [
        "write_laser_x", "write_laser_y", "pump_laser_x", "pump_laser_y", "fibre_x", "fibre_y", "drift"
    ]
    assert [term.name for term in link_phase_noise(NET, "alice", "charlie").terms] == [
        "write_laser_x", "write_laser_y", "pump_laser_x", "pump_laser_y", "fibre_x", "fibre_y"
    ]
    with pytest.raises(ConfigError, match="node_y: 'dave' is not a node"):
        link_phase_noise(NET, "alice", "dave")


def test_coherence_time_is_where_the_field_coherence_falls_to_one_over_e():
    # |<exp(iΔφ(τ))>| = exp(−D(τ)/2) for a Gaussian phase: 1/e at τ_c = 1 ms, the preset's reading of the
    # paper's "long coherence time of the lasers (about 1 ms)", checked on independent pairs 1 ms apart.
    laser = hefei_laser()
    assert float(laser.coherence(1e-3)) == pytest.approx(math.exp(-1), rel=1e-12)
    values, _ = laser.simulate(pair_times(1_000_000, NS // 10, 50_000), rng=np.random.default_rng(2))
    cosines = np.cos(values[1::2] - values[0::2])
    # Var[cos X] for X ~ N(0, 2): (1 + e^{-4})/2 - e^{-2}.
    std = math.sqrt((1 + math.exp(-4)) / 2 - math.exp(-2))
    assert abs(cosines.mean() - math.exp(-1)) <= SIGMAS * std / math.sqrt(cosines.size)


def test_linewidth_is_the_fwhm_of_the_field_spectrum():
    # Closed forms: a white floor alone gives a Lorentzian of FWHM Δν_w; slow technical noise alone (τ_t ≫ the
    # coherence time) a Gaussian line of FWHM 2√(2 ln 2)σ_ν. The Hefei lasers: the paper's "subkilohertz linewidth".
    assert white_laser(318.0).linewidth_hz() == pytest.approx(318.0, rel=1e-6)
    slow = LaserPhase(white_linewidth_hz=0.0, technical_std_hz=200.0, technical_correlation_s=100.0)
    assert slow.linewidth_hz() == pytest.approx(2 * math.sqrt(2 * math.log(2)) * 200.0, rel=1e-4)
    for laser in (hefei_laser(), pump_laser(ALICE)):
        assert 300.0 < laser.linewidth_hz() < 1000.0
    assert LaserPhase(white_linewidth_hz=0.0, technical_std_hz=0.0, technical_correlation_s=1.0).linewidth_hz() == 0.0


def test_frequency_psd_divided_by_f_squared_is_the_phase_psd():
    # S_φ(f) = S_ν(f)/f²; S_ν = Δν_w/π + 4σ²τ_t/(1 + (2πfτ_t)²) (white floor flat at h₀ = Δν_w/π).
    laser = hefei_laser()
    f = np.logspace(-1, 5, 25)
    np.testing.assert_allclose(laser.psd_rad2_per_hz(f), laser.frequency_psd_hz2_per_hz(f) / f**2, rtol=1e-12)
    assert laser.frequency_psd_hz2_per_hz(1e9) == pytest.approx(10.0 / math.pi, rel=1e-6)


# --- Ornstein–Uhlenbeck -----------------------------------------------------------------


@pytest.mark.parametrize("lag_over_tau", [0.1, 1.0, 3.0])
def test_ou_is_stationary_with_exponential_correlation(lag_over_tau):
    # Closed form: x(0) ~ N(0, σ²); x(τ) | x(0) ~ N(ρ x(0), σ²(1 − ρ²)), ρ = e^{−τ/τc}.
    sigma, tau_c = 0.3, 300e-6
    ou = OrnsteinUhlenbeckPhase(std_rad=sigma, correlation_s=tau_c)
    lag_ns = round(lag_over_tau * tau_c * NS)
    gap_ns = round(60 * tau_c * NS)  # e^{-60}: independent pairs
    values, _ = ou.simulate(pair_times(lag_ns, gap_ns, 80_000), rng=np.random.default_rng(int(lag_over_tau * 10)))
    x, y = values[0::2], values[1::2]
    rho = math.exp(-lag_ns / NS / tau_c)
    assert abs(x.mean()) <= SIGMAS * sigma / math.sqrt(x.size)
    assert_variance(x, sigma**2)
    residual = y - rho * x
    assert_variance(residual, sigma**2 * (1 - rho**2))
    # E[x · residual] = 0, std σ²√(1 − ρ²)/√n.
    assert abs(np.mean(x * residual)) <= SIGMAS * sigma**2 * math.sqrt(1 - rho**2) / math.sqrt(x.size)


# --- integrated OU and the fibre: structure functions --------------------------------------


@pytest.mark.parametrize("lag_s", [10e-6, 362e-6, 0.3, 2.0, 10.0])
def test_fibre_structure_function_matches_simulation(lag_s):
    # Closed forms: D_thermal = 2s²τr²(τ/τr − 1 + e^{−τ/τr}), D_acoustic = 2σ²(1 − e^{−τ/τa}).
    fibre = hefei_fibre()
    lag_ns = round(lag_s * NS)
    gap_ns = 200 * NS  # 100 thermal correlation times between pairs
    terms, _ = fibre.components.simulate_terms(
        pair_times(lag_ns, gap_ns, 40_000), rng=np.random.default_rng(round(lag_s * 1e6))
    )
    thermal, acoustic = fibre.gaussian_parts()
    total = terms["thermal"] + terms["acoustic"]
    for values, process in ((terms["thermal"], thermal), (terms["acoustic"], acoustic), (total, fibre)):
        increments = values[1::2] - values[0::2]
        assert_variance(increments, float(process.structure_function_rad2(lag_s)))


@pytest.mark.parametrize("delta", [0.05, 2.0])
def test_integrated_ou_one_step_has_the_exact_joint_law(delta):
    # Closed form for one step Δt = δτr from a stationary rate v0 ~ N(0, s²), a = e^{−δ}:
    # v1 − a v0 ~ N(0, s²(1 − a²)); Δφ | v0 ~ N(τr(1 − a) v0, D(Δt) − s²τr²(1 − a)²).
    s, tau = 3.0, 0.01
    iou = IntegratedOUPhase(rate_std_rad_per_s=s, correlation_s=tau)
    lag_ns = round(delta * tau * NS)
    a = math.exp(-lag_ns / NS / tau)
    rng = np.random.default_rng(round(delta * 100))
    draws = 8_000
    v0, v1, dphi = np.empty(draws), np.empty(draws), np.empty(draws)
    for i in range(draws):
        start = iou.initial_state(0, rng=rng)
        values, end = iou.simulate(np.array([lag_ns]), rng=rng, state=start)
        v0[i], v1[i], dphi[i] = start.values[0], end.values[0], values[0] - start.values[1]
    assert_variance(v0, s**2)
    assert_variance(v1 - a * v0, s**2 * (1 - a**2))
    mean_given_v0 = tau * (1 - a) * v0
    assert_variance(dphi - mean_given_v0, float(iou.structure_function_rad2(lag_ns / NS)) - (s * tau * (1 - a)) ** 2)
    # The kick of the rate and the phase residual are correlated exactly as the joint law says:
    # Cov(v1 − a v0, Δφ − τr(1 − a)v0) = s²τr(1 − a)²; check the regression residual is uncorrelated.
    kick = v1 - a * v0
    beta = tau * (1 - a) / (1 + a)
    rest = dphi - mean_given_v0 - beta * kick
    rest_var = float(iou.structure_function_rad2(lag_ns / NS)) - (s * tau * (1 - a)) ** 2 - beta**2 * s**2 * (1 - a**2)
    assert_variance(rest, rest_var)
    assert abs(np.mean(kick * rest)) <= SIGMAS * math.sqrt(s**2 * (1 - a**2) * rest_var / draws)


@pytest.mark.parametrize(
    ("process", "scale_s"),
    [
        (hefei_laser(), 1e-3),
        (white_laser(318.0), 1e-3),
        (OrnsteinUhlenbeckPhase(std_rad=0.2, correlation_s=3e-4), 3e-4),
        (IntegratedOUPhase(rate_std_rad_per_s=20.0, correlation_s=2.0), 2.0),
    ],
)
@pytest.mark.parametrize("lag_over_scale", [0.01, 0.3, 1.0, 5.0])
def test_psd_and_structure_function_are_consistent(process, scale_s, lag_over_scale):
    # Wiener–Khinchin for increments: D(τ) = 2 ∫₀^∞ S(f)(1 − cos 2πfτ) df, integrated in u = 2πfτ
    # (features at u ≲ 5 < 40: quad on [0, 40], then QAWF for the cosine tail).
    lag = lag_over_scale * scale_s
    w = 2 * math.pi * lag

    def spectrum(u: float) -> float:
        return float(process.psd_rad2_per_hz(u / w)) / w

    cut = 40.0
    head = integrate.quad(lambda u: spectrum(u) * (1 - math.cos(u)), 0.0, cut, limit=400, epsabs=0)[0]
    tail = integrate.quad(spectrum, cut, np.inf, epsabs=0)[0]
    tail -= integrate.quad(spectrum, cut, np.inf, weight="cos", wvar=1.0)[0]
    assert 2 * (head + tail) == pytest.approx(float(process.structure_function_rad2(lag)), rel=1e-7)


def test_fibre_scales_with_length():
    short, long = hefei_fibre(5.0), hefei_fibre(20.0)
    assert long.thermal_rate_rad_per_s == pytest.approx(4 * short.thermal_rate_rad_per_s)
    assert long.acoustic_std_rad**2 == pytest.approx(4 * short.acoustic_std_rad**2)
    assert long.acoustic_correlation_us == short.acoustic_correlation_us
    f = np.array([1.0, 100.0, 1e4])
    assert np.all(long.psd_rad2_per_hz(f) > short.psd_rad2_per_hz(f))


# --- sums, the link, pooling --------------------------------------------------------------


def test_link_phase_is_the_signed_sum_of_its_terms():
    link = hefei_link_phase(seed=0, duration_h=1.0)
    times = np.arange(0, 20_000, dtype=np.int64) * 90_500
    total, state = link.simulate(times, rng=np.random.default_rng(3))
    terms, state_terms = link.simulate_terms(times, rng=np.random.default_rng(3))
    # The converted photon carries φ_write − φ_pump (difference-frequency generation), hence the pumps' signs.
    expected = (terms["write_laser_x"] - terms["write_laser_y"] - terms["pump_laser_x"] + terms["pump_laser_y"]
                + terms["fibre_x"] - terms["fibre_y"] + terms["drift"])
    assert np.allclose(total, expected, rtol=0, atol=1e-9)
    assert state == state_terms
    assert [p.time_ns for p in state.parts] == [int(times[-1])] * 7


def test_pooled_link_has_the_same_structure_function():
    # Lasers with one technical correlation time pool into one white floor and one technical term.
    link = link_phase(write_laser_x=hefei_laser(), write_laser_y=white_laser(100.0), pump_laser_x=pump_laser(ALICE),
                      pump_laser_y=hefei_laser(), fibre_x=hefei_fibre(), fibre_y=hefei_fibre(7.0))
    merged = pooled(link)
    assert merged.normals_per_sample == 6 < link.normals_per_sample == 18
    lags = np.array([1e-6, 1e-4, 1e-2, 1.0, 30.0])
    assert np.allclose(merged.structure_function_rad2(lags), link.structure_function_rad2(lags), rtol=1e-12)
    lag_ns = 362_000
    values, _ = merged.simulate(pair_times(lag_ns, 200 * NS, 40_000), rng=np.random.default_rng(4))
    assert_variance(values[1::2] - values[0::2], float(link.structure_function_rad2(lag_ns / NS)))


# --- chunking ---------------------------------------------------------------------------


def trial_times(trials: int) -> np.ndarray:
    """Four instants per trial at 2.76 kHz: probe 1, probe 2, check, write (ns)."""
    period = 362_319
    offsets = np.array([0, 6_000, 12_000, 17_000], dtype=np.int64)
    return (np.arange(trials, dtype=np.int64)[:, None] * period + offsets).reshape(-1)


@pytest.mark.parametrize("make", [lambda: hefei_link_phase(seed=1, duration_h=1.0),
                                  lambda: pooled(hefei_link_phase(seed=1, duration_h=1.0))])
@pytest.mark.parametrize("irregular", [False, True])
def test_chunked_equals_one_shot_bit_for_bit(make, irregular):
    # Definition (metroqnet.noise.processes): the same generator passed on from piece to piece,
    # the state carried, pieces of any lengths.
    process = make()
    times = trial_times(30_000)
    if irregular:
        times = np.sort(np.random.default_rng(9).integers(0, times[-1], times.size))
    one_rng = np.random.default_rng(2024)
    one, one_state = process.simulate(times, rng=one_rng)
    cuts = [0, 1, 999, 5_001, 20_000, 90_001, times.size]
    pieces = [times[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    chunk_rng = np.random.default_rng(2024)
    results = list(simulate_chunks(process, pieces, rng=chunk_rng))
    chunked = np.concatenate([values for values, _ in results])
    assert np.array_equal(chunked, one)
    assert results[-1][1] == one_state
    assert chunk_rng.standard_normal() == one_rng.standard_normal()  # the same stream was consumed


def test_chunks_of_any_length_are_bit_identical():
    process = hefei_link_phase(seed=1, duration_h=1.0)
    times = trial_times(10_000)
    one, _ = process.simulate(times, rng=np.random.default_rng(7))
    pieces = np.split(times, [1, 999, 5_001, 20_000])
    chunked = np.concatenate([v for v, _ in simulate_chunks(process, pieces, rng=np.random.default_rng(7))])
    assert np.array_equal(chunked, one)


def test_equal_times_repeat_the_value_and_empty_calls_keep_the_state():
    fibre = hefei_fibre()
    values, state = fibre.simulate(np.array([5, 5, 5, 900, 900]), rng=np.random.default_rng(0))
    assert values[0] == values[1] == values[2] and values[3] == values[4]
    empty, same = fibre.simulate(np.zeros(0, dtype=np.int64), rng=np.random.default_rng(0), state=state)
    assert empty.size == 0 and same is state


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: LaserPhase(white_linewidth_hz=-1.0, technical_std_hz=1.0, technical_correlation_s=1e-3),
         "white_linewidth_hz"),
        (lambda: LaserPhase(white_linewidth_hz=float("nan"), technical_std_hz=1.0, technical_correlation_s=1e-3),
         "white_linewidth_hz"),
        (lambda: LaserPhase(white_linewidth_hz=1.0, technical_std_hz=-1.0, technical_correlation_s=1e-3),
         "technical_std_hz"),
        (lambda: LaserPhase(white_linewidth_hz=1.0, technical_std_hz=1.0, technical_correlation_s=0.0),
         "technical_correlation_s"),
        (lambda: LaserPhase.from_coherence_time(coherence_time_s=1e-3, white_linewidth_hz=400.0,
                                                technical_correlation_s=1e-3), "white_linewidth_hz"),
        (lambda: ALICE.replace(laser_white_linewidth_hz=400.0), "laser_white_linewidth_hz"),
        (lambda: ALICE.replace(pump_laser_white_linewidth_hz=400.0), "pump_laser_white_linewidth_hz"),
        # The pump without its own coherence time follows the node's: 50 ms allows at most 6.4 Hz, the pump has 10.
        (lambda: ALICE.replace(laser_coherence_time_ms=50.0, laser_white_linewidth_hz=1.0),
         "pump_laser_white_linewidth_hz"),
        (lambda: ALICE.replace(pump_laser_coherence_time_ms=50.0), "pump_laser_white_linewidth_hz"),
        (lambda: OrnsteinUhlenbeckPhase(std_rad=-0.1, correlation_s=1e-3), "std_rad"),
        (lambda: OrnsteinUhlenbeckPhase(std_rad=0.1, correlation_s=0.0), "correlation_s"),
        (lambda: IntegratedOUPhase(rate_std_rad_per_s=-1.0, correlation_s=1.0), "rate_std_rad_per_s"),
        (lambda: WienerPhase(diffusion_rad2_per_s=-2.0), "diffusion_rad2_per_s"),
        (lambda: FibrePhase(thermal_rate_rad_per_s=1.0, thermal_correlation_s=1.0, acoustic_std_rad=-0.2,
                            acoustic_correlation_us=300.0), "acoustic_std_rad"),
        (lambda: FibrePhase(thermal_rate_rad_per_s=1.0, thermal_correlation_s=1.0, acoustic_std_rad=0.2,
                            acoustic_correlation_us=0.0), "acoustic_correlation_us"),
        (lambda: FibrePhase(thermal_rate_rad_per_s=1.0, thermal_correlation_s=0.0, acoustic_std_rad=0.2,
                            acoustic_correlation_us=300.0), "thermal_correlation_s"),
        (lambda: FibrePhase(thermal_rate_rad_per_s=-1.0, thermal_correlation_s=1.0, acoustic_std_rad=0.2,
                            acoustic_correlation_us=300.0), "thermal_rate_rad_per_s"),
        (lambda: hefei_fibre(-3.0), "fibre_length_km"),
        (lambda: FibrePhase.for_length(-3.0, thermal_rate_rad_per_s_per_km=2.0, thermal_correlation_s=2.0,
                                       acoustic_variance_rad2_per_km=0.005, acoustic_correlation_us=300.0),
         "length_km"),
        (lambda: FibrePhase.for_length(3.0, thermal_rate_rad_per_s_per_km=-2.0, thermal_correlation_s=2.0,
                                       acoustic_variance_rad2_per_km=0.005, acoustic_correlation_us=300.0),
         "thermal_rate_rad_per_s_per_km"),
        (lambda: write_laser(ALICE.replace(laser_coherence_time_ms=0.0)), "laser_coherence_time_ms"),
        (lambda: PhaseTerm(name="x", process=hefei_laser(), sign=2), "sign"),
        (lambda: PhaseSum(terms=()), "terms"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(build, field):
    with pytest.raises(ConfigError, match=field):
        build()


def test_parameters_are_frozen_and_keyword_only():
    laser = hefei_laser()
    with pytest.raises(AttributeError):
        laser.white_linewidth_hz = 1.0  # type: ignore[misc]
    # Keyword-only: a positional value is refused (a ConfigError from the validation layer).
    with pytest.raises(ConfigError):
        LaserPhase(318.0)  # type: ignore[misc]
    with pytest.raises(ConfigError, match="positional"):
        LaserPhase(318.0, white_linewidth_hz=318.0, technical_std_hz=0.0, technical_correlation_s=1.0)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("times", "match"),
    [
        (np.array([0.0, 1.0]), "integer"),
        (np.array([[0, 1]]), "1-D"),
        (np.array([0, 10, 5]), "sorted"),
    ],
)
def test_bad_times_are_refused(times, match):
    with pytest.raises(ConfigError, match=match):
        hefei_laser().simulate(times, rng=np.random.default_rng(0))


def test_times_before_the_state_and_missing_generators_are_refused():
    laser = hefei_laser()
    _, state = laser.simulate(np.array([100, 200]), rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="before the state"):
        laser.simulate(np.array([150]), rng=np.random.default_rng(0), state=state)
    with pytest.raises(ConfigError, match="rng"):
        laser.simulate(np.array([300]), rng=12345, state=state)  # type: ignore[arg-type]
