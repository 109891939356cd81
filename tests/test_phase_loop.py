"""The phase-stabilization loop and the frequency calibration (issue 4), against the paper and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import Override, load_preset
from metroqnet.config.seeds import seed_record
from metroqnet.control.phase_loop import (
    FrequencyCalibration,
    PhaseLoop,
    PhaseLoopSettings,
    frequency_calibration,
    loop_settings,
)
from metroqnet.control.lock_residual import estimate_error_variance_rad2, small_error_residual_std_rad
from metroqnet.experiments.phase_stabilization import (
    HISTOGRAM_EDGES_DEG,
    constant_offset,
    drift_tracking,
    residual_phase,
    sigma_versus_photons,
    stabilization_setup,
    visibility_versus_phase,
)
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.noise_mapping import write_laser
from metroqnet.physics.temperature import TemperatureRecord

SIGMAS = 5.0
NET = load_preset("hefei2024")
#: The preset's Fig. 2 run: the server's loop and calibration, Alice–Bob's lasers and fibres.
SETUP = stabilization_setup(NET)


@pytest.fixture(scope="module")
def hefei_residual():
    return residual_phase(SETUP, trials=200_000, seed=1)


def test_loop_settings_are_the_papers_fig2a_timeline():
    # Paper, Fig. 2a caption: probes of "about 40 photons upon arrival at the beamsplitter" lasting
    # "τpp = 4 μs", "The feedback takes up to 2 μs", executed "twice", then "a gap of τΔ = 5 μs".
    settings = SETUP.settings
    assert (settings.probe_photons_per_node, settings.probe_duration_us, settings.feedback_latency_us) == (
        40.0, 4.0, 2.0
    )
    assert (settings.rounds, settings.gap_us) == (2, 5.0)
    for field in ("probe_photons_per_node", "probe_duration_us", "feedback_latency_us", "probe_rounds", "probe_gap_us"):
        assert NET.tag("server", field).source == "paper", field
    # 2 × (4 + 2) + 5 = 17 µs from the first probe to the write.
    assert settings.cycle_us == 17.0
    # The probes are counted by the server's SNSPDs: efficiency and dark counts of [server].
    assert (settings.detection_efficiency, settings.dark_count_rate_hz) == (
        NET.server.snspd_efficiency, NET.server.snspd_dark_count_rate_hz
    )
    # Fig. 2's repetition rate is estimated as the 5 µs experiment's "2.76 kHz" (the preset's reason).
    assert SETUP.experiment == "fig2" and SETUP.nodes == ("alice", "bob")
    assert settings.repetition_rate_hz == NET.experiment("storage_5us").repetition_rate_hz == 2760.0
    assert loop_settings(NET, repetition_rate_hz=2760.0) == settings
    assert SETUP.calibration == frequency_calibration(NET)
    assert SETUP.calibration.enabled
    assert (SETUP.calibration.window_s, SETUP.calibration.gain) == (
        NET.server.calibration_window_s, NET.server.calibration_gain
    )


def test_hefei_residual_where_the_literal_coherence_time_puts_it(hefei_residual):
    # Not tuned to the paper's 17° (Fig. 2b, a Gaussian): the preset reads "coherence time of the lasers (about
    # 1 ms)" as each of the four lasers' own 1/e time, and then the lasers move the relative phase by ~1.15 rad rms
    # between trials (closed-form structure function below): beyond π/2 in ~13 % of trials, where the first-order
    # lock cannot catch the whole step in one trial. So the residual has heavy tails (a slipping lock), and the
    # additional probe reads it as ~22° (README, docs/control_noise.md). What is checked: the structure, not the
    # number.
    noise = SETUP.noise
    move = math.sqrt(float(noise.structure_function_rad2(SETUP.settings.period_ns * 1e-9)))
    assert 1.0 < move < 1.3
    assert hefei_residual.excess_kurtosis > 3.0  # slips: far from a Gaussian (standard error sqrt(24/n) = 0.011)
    histogram = hefei_residual.at_write.histogram
    far = histogram[(HISTOGRAM_EDGES_DEG[:-1] >= 60.0) | (HISTOGRAM_EDGES_DEG[1:] <= -60.0)].sum() / histogram.sum()
    assert 0.01 < far < 0.2
    # the additional probe reads at most ±90°: its σ is below the write's when the tails are wide
    assert hefei_residual.measured_std_deg < hefei_residual.std_deg
    assert abs(np.degrees(hefei_residual.at_write.mean)) < 5 * hefei_residual.std_deg / math.sqrt(2e5)
    assert hefei_residual.trials == hefei_residual.at_write.count == hefei_residual.measured.count == 200_000
    assert hefei_residual.at_write.histogram.sum() == 200_000
    assert hefei_residual.seed == seed_record(1)


def coherent(coherence_ms: float = 30.0, acoustic_rad2_per_km: float = 0.0005, **settings):
    """The preset's loop with lasers of ``coherence_ms`` and quieter fibres: a lock that does not slip."""
    changes = [Override(key="nodes.*.laser_coherence_time_ms", value=coherence_ms)]  # the pumps follow
    changes.append(Override(key="nodes.*.fibre_acoustic_variance_rad2_per_km", value=acoustic_rad2_per_km))
    setup = stabilization_setup(load_preset("hefei2024", overrides=changes))
    return setup.with_settings(**settings) if settings else setup


@pytest.mark.parametrize("rounds, model_error", [(2, 0.01), (1, 0.025)])
def test_lock_without_slips_follows_its_closed_form(rounds, model_error):
    # Closed form (metroqnet.control.lock_residual): with gains (1, 1/2) θ ends on the mean of the two rounds'
    # estimates, σ² = D(t_w − t₁)/2 + D(t_w − t₂)/2 − D(t₂ − t₁)/4 + σ_e²/2 (one round: D(t_w − t₁) + σ_e²),
    # σ_e² = E[arcsin(ŝ)²] from the Poisson counts. Its stated error: a round starting at x has error variance
    # ≈ σ_e²/cos²x, x ~ 0.15 rad here (the residual plus the move between trials): ~1 % (two rounds), ~2 % (one).
    setup = coherent(rounds=rounds)
    result = residual_phase(setup, trials=200_000, seed=11)
    expected = small_error_residual_std_rad(setup.settings, setup.noise)
    # std of a Gaussian std estimate: σ/√(2n); batches are nearly independent here (the lock forgets in a trial)
    statistical = SIGMAS * result.at_write.std_rad / math.sqrt(2 * 200_000)
    assert abs(result.at_write.std_rad - expected) < statistical + model_error * expected
    assert abs(result.excess_kurtosis) < 0.5  # Gaussian: no slips


def test_one_round_locks_and_the_second_round_averages():
    # The paper: "the probe-feedback process is executed twice for better phase-stabilization performance". One
    # round already locks (no sign ambiguity: the reading is sin(φ − θ) around the lock point); the second halves
    # the estimate's variance (closed form above: σ_e² → σ_e²/2), so two rounds are better although the write
    # comes 6 µs later.
    one = residual_phase(coherent(rounds=1), trials=100_000, seed=5)
    two = residual_phase(coherent(rounds=2), trials=100_000, seed=5)
    assert two.std_deg < one.std_deg
    assert abs(one.excess_kurtosis) < 0.5
    error_deg = math.degrees(math.sqrt(estimate_error_variance_rad2(SETUP.settings)))
    assert one.std_deg > error_deg > two.std_deg * 0.5
    # and at the preset's lasers too
    one_hefei = residual_phase(SETUP.with_settings(rounds=1), trials=100_000, seed=5)
    assert one_hefei.std_deg > residual_phase(SETUP, trials=100_000, seed=5).std_deg


def test_unstabilized_phase_is_uniform():
    # Without feedback the relative phase covers the circle: σ of a uniform (−π, π] is π/√3 = 103.9°.
    free = residual_phase(SETUP, trials=100_000, seed=2, stabilize=False)
    assert free.std_deg == pytest.approx(math.degrees(math.pi / math.sqrt(3)), rel=0.02)


def test_sigma_versus_photons_between_shot_noise_and_diffusion_floor():
    # Without slips (coherent lasers): more probe photons, a smaller residual, approaching the floor the phase's
    # own motion sets between the probes and the write, √(D(t_w − t₁)/2 + D(t_w − t₂)/2 − D(t₂ − t₁)/4).
    photons = [5, 10, 40, 160, 640]
    setup = coherent()
    scan = sigma_versus_photons(setup, photons, trials=40_000, seed=3)
    assert np.all(np.diff(scan.std_deg) < 0)
    # Two rounds use 2n photons: the residual cannot beat 1/(V sqrt(2n)).
    assert np.all(scan.std_deg > scan.shot_noise_limit_deg / math.sqrt(2))
    t1, t2, write = setup.settings.sample_offsets_ns * 1e-9
    d = lambda lag: float(setup.noise.structure_function_rad2(lag))  # noqa: E731
    floor = math.degrees(math.sqrt(0.5 * d(write - t1) + 0.5 * d(write - t2) - 0.25 * d(t2 - t1)))
    assert floor < scan.std_deg[-1] < math.hypot(floor, scan.shot_noise_limit_deg[-1])


def test_visibility_follows_the_set_phase():
    # For a Gaussian residual of std σ: E[cos(w + θ)] = exp(−σ²/2) cos θ, times the probe visibility V (a lock
    # that does not slip, so the residual is Gaussian).
    setup = coherent()
    settings = setup.settings
    thetas = np.linspace(0.0, 2.0 * math.pi, 7)
    visibility = visibility_versus_phase(setup, thetas, trials=200_000, seed=1)
    sigma = residual_phase(setup, trials=200_000, seed=1).at_write.std_rad
    expected = settings.visibility * math.exp(-0.5 * sigma**2) * np.cos(thetas)
    # Each point is a mean of 2e5 readings of spread <= 1: standard error <= 1/sqrt(2e5).
    assert np.all(np.abs(visibility - expected) < 5 / math.sqrt(2e5) + 0.01)


@pytest.mark.parametrize(
    "change",
    [dict(probe_photons_per_node=10.0), dict(feedback_latency_us=40.0), dict(rounds=1), dict(visibility=0.6)],
)
def test_degraded_loop_has_larger_residual(change, hefei_residual):
    degraded = residual_phase(SETUP.with_settings(**change), trials=50_000, seed=4)
    assert degraded.std_deg > hefei_residual.std_deg + 1.0


def test_lock_follows_an_offset_inside_a_quarter_of_the_repetition_rate():
    # Capture (phase_loop's docstring): a steady offset advances φ by 2πΔf/f_rep per trial; within f_rep/4
    # (0.69 kHz at 2.76 kHz) the arcsine does not fold and the lock follows without slips; beyond it, it slips.
    # Calibration off, coherent lasers, so that only the offset moves the phase between trials.
    setup = coherent()
    no_calibration = setup.calibration.replace(enabled=False)
    quarter_khz = 0.25 * setup.settings.repetition_rate_hz / 1e3
    far = {}
    for offset_khz in (0.5 * quarter_khz, 1.3 * quarter_khz):
        loop = PhaseLoop(setup.settings, noise=setup.noise, drift=constant_offset(offset_khz, 0.1),
                         calibration=no_calibration, seed=8)
        residual = loop.advance(50_000).residual_rad
        far[offset_khz] = np.mean(np.abs(residual) > math.radians(60.0))
    assert far[0.5 * quarter_khz] < 1e-3
    assert far[1.3 * quarter_khz] > 0.1


def fast_drift(total_khz: float, minutes: float) -> FrequencyDrift:
    """A linear drift of ``total_khz`` over ``minutes`` (a temperature ramp, 1 kHz/K)."""
    record = TemperatureRecord(times_h=np.array([0.0, minutes / 60 + 0.01]), temperatures_c=np.array([20.0, 20.0 + total_khz * (1 + 0.6 / minutes)]))
    return FrequencyDrift(temperature=record, coefficient_khz_per_k=1.0)


@pytest.mark.slow  # over 10 s on one core
def test_calibration_holds_the_offset_against_a_fast_drift():
    # 5 kHz over 30 min: ~150x the paper's drift rate (5 kHz over 76 h), a harder case for the tracker.
    drift = fast_drift(5.0, 30.0)
    tracked = drift_tracking(SETUP, hours=0.5, seed=6, drift=drift)
    assert tracked.drift_hz.max() - tracked.drift_hz.min() > 4500
    assert tracked.max_abs_residual_hz() <= 150.0
    assert tracked.seed == seed_record(6)
    free = drift_tracking(SETUP, hours=0.5, seed=6, drift=drift, calibration=SETUP.calibration.replace(enabled=False))
    assert free.max_abs_residual_hz() > 4000


def test_calibration_converges_to_a_constant_offset():
    # A fixed 1 kHz offset: beyond the lock's f_rep/4 = 0.69 kHz (it slips until the calibration has brought the
    # offset inside), within the ±f_rep/2 = ±1.38 kHz of a once-per-trial phase sample. The compensation
    # settles at 1 kHz. Each 1 s window's estimate carries the lasers' technical frequency noise averaged over
    # the window: for the four lasers' OU frequency, rms 2σ_ν·sqrt(2τ_t/T (1 − τ_t/T (1 − e^{−T/τ_t}))) (closed
    # form of a time-averaged OU process), ~23 Hz here; every settled window lies within 5 of those, their mean
    # within 5 standard errors.
    tracked = drift_tracking(SETUP, hours=60 / 3600, seed=7, drift=constant_offset(1.0, 0.1))
    settled = tracked.compensation_hz[5:]
    laser = write_laser(NET.node("alice"))
    tau, window = laser.technical_correlation_s, SETUP.calibration.window_s
    averaged = 2 * laser.technical_std_hz * math.sqrt(2 * tau / window * (1 - tau / window * (1 - math.exp(-window / tau))))
    assert 15.0 < averaged < 30.0
    assert np.all(np.abs(settled - 1000.0) < 5 * averaged)
    assert abs(settled.mean() - 1000.0) < 5 * averaged / math.sqrt(settled.size)


@pytest.mark.parametrize("hours", [3.0 / 3600, 0.0, -1.0, float("nan")])
def test_drift_tracking_refuses_runs_shorter_than_four_calibration_windows(hours):
    # The tracker starts uncompensated: its residual means something after 3 windows, so at least
    # 4 windows of 1 s are needed.
    with pytest.raises(ConfigError, match="hours"):
        drift_tracking(SETUP, hours=hours, seed=7, drift=constant_offset(1.0, 0.1))
    drift_tracking(SETUP, hours=4.0 / 3600, seed=7, drift=constant_offset(1.0, 0.1))  # exactly 4 windows


def test_runs_replay_from_their_seed():
    first = residual_phase(SETUP, trials=5_000, seed=np.random.SeedSequence(99, spawn_key=(3,)))
    again = residual_phase(SETUP, trials=5_000, seed=np.random.SeedSequence(99, spawn_key=(3,)))
    other = residual_phase(SETUP, trials=5_000, seed=99)
    assert first.seed == {"entropy": 99, "spawn_key": [3]}
    assert (first.std_deg, first.measured_std_deg) == (again.std_deg, again.measured_std_deg)
    assert np.array_equal(first.at_write.histogram, again.at_write.histogram)
    assert first.std_deg != other.std_deg
    with pytest.raises(ConfigError, match="seed"):
        residual_phase(SETUP, trials=5_000, seed=-1)
    with pytest.raises(ConfigError, match="trials"):
        residual_phase(SETUP, trials=1, seed=1)


@pytest.mark.parametrize(
    "field, value",
    [
        ("probe_photons_per_node", -1.0),
        ("detection_efficiency", 1.2),
        ("visibility", 0.0),
        ("rounds", 3),
        ("feedback_latency_us", 400.0),  # probe + feedback + gap longer than the 362 µs trial
        ("probe_duration_us", 0.0),
        ("repetition_rate_hz", -5.0),
    ],
)
def test_bad_settings_are_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        SETUP.settings.replace(**{field: value})


def test_settings_and_calibration_have_no_built_in_values():
    # Every number comes from the preset: a loop or a calibration without them is refused.
    with pytest.raises(ConfigError, match="missing"):
        PhaseLoopSettings()  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="missing"):
        FrequencyCalibration()  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="repetition_rate_hz"):
        loop_settings(NET, repetition_rate_hz=0.0)
    with pytest.raises(ConfigError, match="repetition_rate_hz"):
        loop_settings(NET, repetition_rate_hz="2760")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        PhaseLoop(SETUP.settings, noise=SETUP.noise, seed=1)  # type: ignore[call-arg]  # calibration required


@pytest.mark.parametrize("field, value", [("window_s", 0.0), ("gain", 3.0), ("gain", 0.0)])
def test_bad_calibration_is_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        SETUP.calibration.replace(**{field: value})


def test_loop_is_deterministic_for_a_seed_whatever_the_call_sizes():
    settings, calibration = SETUP.settings, SETUP.calibration
    whole = PhaseLoop(settings, noise=SETUP.noise, drift=constant_offset(1.0, 0.1), calibration=calibration,
                      seed=11).advance(9000)
    loop = PhaseLoop(settings, noise=SETUP.noise, drift=constant_offset(1.0, 0.1), calibration=calibration, seed=11)
    parts = [loop.advance(n) for n in (1, 2759, 3000, 3240)]
    np.testing.assert_allclose(np.concatenate([p.residual_rad for p in parts]), whole.residual_rad, rtol=0, atol=1e-12)
