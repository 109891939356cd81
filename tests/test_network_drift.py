"""The phase loop under switching (issue 10, item 3): PhaseLoop.skip and each pair's calibration in its slots.

References: the loop's own trial law (a gap is the same linear Gaussian step as the trials it
replaces), the closed form of an integrating calibration on a linear drift, the fold of the
lock's arcsin reading (hot-swap re-acquisition from a uniform phase), the continuous drift
tracking (bit for bit), and the fixed link's residual scale (two-sided, 5σ).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset
from metroqnet.config.seeds import child
from metroqnet.control.phase_loop import PhaseLoop
from metroqnet.experiments.network_drift import network_drift_comparison, pair_drift_tracking, pair_stretches
from metroqnet.experiments.phase_stabilization import (
    SETTLE_WINDOWS,
    constant_offset,
    drift_tracking,
    stabilization_setup,
)
from metroqnet.network import SwitchSchedule, run_schedule
from metroqnet.noise.gaussian import WienerPhase
from metroqnet.noise.periodic_sampling import periodic_model, state_step
from metroqnet.noise.sums import PhaseSum, PhaseTerm
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.temperature import TemperatureRecord

NETWORK = load_preset("hefei2024")
SETUP = stabilization_setup(NETWORK)
SETTINGS = SETUP.settings
SIGMAS = 5.0
#: A lone 5.8 s slot at 2.76 kHz: 16,008 trial periods.
SLOT_TRIALS = 16_008
#: Practically no laser or fibre noise (the kernel needs at least one normal per trial).
QUIET = PhaseSum(terms=(PhaseTerm(name="quiet", process=WienerPhase(diffusion_rad2_per_s=1e-12)),))
#: Probes bright enough that the shot noise (1/(V√n) = 0.009 rad) is far below every tolerance here.
BRIGHT = SETTINGS.replace(probe_photons_per_node=1e4)


def _loop(seed, **options):
    options.setdefault("settings", SETTINGS)
    options.setdefault("noise", SETUP.noise)
    options.setdefault("calibration", SETUP.calibration)
    return PhaseLoop(seed=seed, **options)


# --- the gap's noise step ---------------------------------------------------------------------


def test_a_gap_of_one_period_is_the_trial_laws_state_step():
    """state_step over one period is the state block of the loop's trial law (the write to the next write), and
    steps compose: two steps of s are one step of 2s (A² and A Q Aᵀ + Q), so a gap of m periods is m trials' law."""
    model = periodic_model(SETUP.noise, SETTINGS.sample_offsets_ns, SETTINGS.period_ns)
    rounds = SETTINGS.rounds
    a_matrix, root = state_step(SETUP.noise, SETTINGS.period_ns)
    np.testing.assert_allclose(a_matrix, model.mean_map[rounds:], rtol=1e-12, atol=1e-15)
    trial_cov = model.root[rounds:] @ model.root[rounds:].T
    np.testing.assert_allclose(root @ root.T, trial_cov, rtol=1e-9, atol=1e-12 * np.abs(trial_cov).max())
    step_ns = 7 * SETTINGS.period_ns
    a1, l1 = state_step(SETUP.noise, step_ns)
    a2, l2 = state_step(SETUP.noise, 2 * step_ns)
    q1 = l1 @ l1.T
    np.testing.assert_allclose(a2, a1 @ a1, rtol=1e-12, atol=1e-15)
    q2 = l2 @ l2.T
    np.testing.assert_allclose(q2, a1 @ q1 @ a1.T + q1, rtol=1e-8, atol=1e-12 * np.abs(q2).max())
    with pytest.raises(ConfigError, match="step_ns"):
        state_step(SETUP.noise, -1)


# --- the skip: time, drift, compensation --------------------------------------------------------


def test_a_skip_adds_the_drift_over_the_gap_to_the_residual_and_holds_the_compensation():
    """Noise off, bright probes, Δf = a·t and the gain-1 calibration: each window's estimate is the mean offset over
    its trials, so the next window's residual Δf(t_j) − f_comp is a·(one window's span) whatever the window, and
    after a skip of m periods it is larger by exactly a·m·T: the drift is read at the true time, the compensation
    held over the gap (closed form; the estimate's shot noise is ~2 mHz)."""
    a_hz_per_s = 5.0
    hours = 0.05
    record = TemperatureRecord(times_h=np.array([0.0, hours]), temperatures_c=np.zeros(2), source="constant")
    drift = FrequencyDrift(temperature=record, coefficient_khz_per_k=0.0, aging_khz_per_day=a_hz_per_s * 86.4)
    loop = _loop(1, settings=BRIGHT, noise=QUIET, drift=drift)
    window, period_s = loop.window_trials, SETTINGS.period_ns * 1e-9
    gap = 10_000
    loop.run(4 * window)
    loop.skip(gap)
    assert loop.next_trial == 4 * window + gap
    loop.run(3 * window)
    log = loop.log.arrays()
    starts = np.array([0, 1, 2, 3, 4, 5, 6]) * window + np.array([0, 0, 0, 0, gap, gap, gap])
    np.testing.assert_array_equal(log["time_s"], starts * SETTINGS.period_ns * 1e-9)
    np.testing.assert_allclose(log["drift_hz"], a_hz_per_s * log["time_s"], rtol=1e-12, atol=1e-9)
    steady = log["residual_hz"][[2, 3, 5, 6]]  # windows whose previous window ran just before them
    np.testing.assert_allclose(steady, steady[0], atol=0.02)
    assert log["residual_hz"][4] == pytest.approx(steady[0] + a_hz_per_s * gap * period_s, abs=0.02)
    # the compensation after the gap is the one the last window before it left (the FPGA holds it)
    assert log["compensation_hz"][4] == log["compensation_hz"][3] + log["estimate_hz"][3]


def test_skips_keep_any_split_into_calls_bit_identical():
    """The same stretches and gaps, simulated in calls of any sizes (advance or run), give the same numbers."""
    drift = SETUP.drift(hours=0.05, seed=4)
    window = _loop(9).window_trials
    plan = [("trials", 3 * window), ("skip", SLOT_TRIALS), ("trials", 2 * window), ("skip", 3 * SLOT_TRIALS + 17),
            ("trials", window)]
    whole = _loop(9, drift=drift)
    kept = []
    for what, size in plan:
        if what == "skip":
            whole.skip(size)
        else:
            kept.append(whole.advance(size).residual_rad)
    pieces = _loop(9, drift=drift)
    logged = _loop(9, drift=drift)
    rng = np.random.default_rng(0)
    got = []
    for what, size in plan:
        if what == "skip":
            pieces.skip(size)
            logged.skip(size)
            continue
        done = 0
        while done < size:
            step = int(min(rng.integers(0, window), size - done))
            got.append(pieces.advance(step).residual_rad)
            done += step
        logged.run(size)
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(kept))
    for key, values in whole.log.arrays().items():
        assert np.array_equal(values, pieces.log.arrays()[key]), key
        assert np.array_equal(values, logged.log.arrays()[key]), key
    assert whole.next_trial == pieces.next_trial == logged.next_trial == 6 * window + 4 * SLOT_TRIALS + 17


def test_a_skip_is_refused_inside_a_window_and_past_the_drift_record():
    loop = _loop(3, drift=SETUP.drift(hours=0.01, seed=1))
    loop.advance(10)
    with pytest.raises(ConfigError, match="pending"):
        loop.skip(5)
    loop.advance(loop.window_trials - 10)
    with pytest.raises(ConfigError, match="outside the temperature record"):
        loop.skip(10**9)
    with pytest.raises(ConfigError, match="trials"):
        loop.skip(-1)
    before = loop.next_trial
    loop.skip(0)
    assert loop.next_trial == before


# --- hot swapping -------------------------------------------------------------------------------


def test_the_lock_reacquires_a_uniform_phase_as_the_arcsin_fold_predicts():
    """Noise off, bright probes, a 1 Hz offset uncalibrated, gaps of 3.6–11 s drawn at random: the phase met after
    each gap is uniform. Round 1 (gain 1) catches |x| < π/2 and folds x ∈ (π/2, π) to 2x − π; round 2 (gain 1/2)
    leaves r = x₁/2 or (3x₁ − π)/2; so the first trial leaves |r| > c with probability ½(1 − 2c/π), and each later
    trial catches all but a third of what is left: P(|r_k| > c) = ½ (⅓)^{k−1} (1 − 2c/π). Binomial, 5σ."""
    switch_ins, c = 1000, 0.1
    loop = _loop(4, settings=BRIGHT, noise=QUIET, drift=constant_offset(0.001, 3.0),
                 calibration=SETUP.calibration.replace(enabled=False))
    rng = np.random.default_rng(0)
    heads = []
    for _ in range(switch_ins + 1):
        heads.append(loop.advance(loop.window_trials).residual_rad[:4])
        loop.skip(int(rng.integers(10_000, 30_000)))
    beyond = (np.abs(np.array(heads[1:])) > c).mean(axis=0)
    for k, seen in enumerate(beyond, start=1):
        expected = 0.5 * (1 / 3) ** (k - 1) * (1 - 2 * c / math.pi)
        assert abs(seen - expected) <= SIGMAS * math.sqrt(expected * (1 - expected) / switch_ins) + 1e-3, (k, seen)


def test_hefei_loop_is_back_at_its_steady_residual_three_trials_after_a_switch():
    """The Hefei loop switched out for a slot or more between 1 s windows: the first trial after a switch-in slips
    (|residual| > 90°) far more often than the locked loop, and from the fourth trial on as often as the rest of the
    window (switch-ins independent: binomial; the rest by window means), two-sided at 5σ. (Over 76 h, 10⁴
    switch-ins, the std at the write is 61°, 42°, 36°, then the steady 33°.)"""
    switch_ins = 600
    loop = _loop(4, drift=SETUP.drift(hours=1.5, seed=2))
    rng = np.random.default_rng(1)
    heads, rest = [], []
    for _ in range(switch_ins + 1):
        kept = np.abs(loop.advance(loop.window_trials).residual_rad) > 0.5 * math.pi
        heads.append(kept[:16])
        rest.append(kept[16:].mean())
        loop.skip(SLOT_TRIALS + int(rng.integers(0, 3000)))
    heads_arr, rest_arr = np.array(heads[1:]), np.array(rest[1:])
    steady, steady_se = rest_arr.mean(), rest_arr.std(ddof=1) / math.sqrt(switch_ins)
    first = heads_arr[:, 0].mean()
    assert first > steady + SIGMAS * math.hypot(math.sqrt(steady * (1 - steady) / switch_ins), steady_se)
    later = heads_arr[:, 3:].mean(axis=1)  # one value per switch-in: trials 4..16 after it
    later_se = later.std(ddof=1) / math.sqrt(switch_ins)
    assert abs(later.mean() - steady) <= SIGMAS * math.hypot(later_se, steady_se)


# --- each pair in its slots ---------------------------------------------------------------------


def test_a_pair_holding_every_slot_is_the_fixed_link_bit_for_bit():
    schedule = run_schedule(SwitchSchedule(nodes=SETUP.nodes), hours=0.1, seed=3)
    assert len(pair_stretches(schedule, 0)) == 1
    switched = pair_drift_tracking(NETWORK, schedule, SETUP.nodes, seed=5)
    fixed = drift_tracking(SETUP, hours=0.1, seed=child(5, 0))
    assert switched.windows == fixed.time_h.size == 360
    for name in ("time_h", "drift_hz", "compensation_hz", "residual_hz", "temperature_c"):
        assert np.array_equal(getattr(switched, name), getattr(fixed, name)), name
    assert switched.switch_ins == 0 and switched.calibration_share == pytest.approx(1.0)


def test_three_pairs_on_a_qrng_schedule_keep_the_fixed_links_residual_scale():
    """Per window the residual Δf − f_comp is the last window's estimate noise (the lasers' technical noise, ~1 ms
    correlation, averaged over 1 s: independent from window to window) plus the drift's change since that window:
    the preset's drift moves by 0.27 Hz/s rms (≤ 1 Hz/s), over a gap of 3 slots (17 s) on average, ~5 Hz rms against
    ~20 Hz of noise, in one window of ~8 (a ~1 % larger variance overall, well inside the bound below). So each
    pair's residual std in its slots equals the fixed link's on the same drift, within the
    sample std's standard error √((κ + 2)/(4n)) of each (κ the excess kurtosis), two-sided at 5σ; and the largest
    |residual|, at < 7σ of that std, stays within the paper's 0.15 kHz."""
    schedule = run_schedule(SwitchSchedule(nodes=("alice", "bob", "charlie")), hours=0.3, seed=1)
    comparisons = network_drift_comparison(NETWORK, schedule, seed=1)
    assert [c.pair for c in comparisons] == list(schedule.pairs)
    for comparison in comparisons:
        switched = comparison.switched.residual_hz[SETTLE_WINDOWS:]
        fixed = comparison.fixed.residual_hz[SETTLE_WINDOWS:]
        assert comparison.switched.switch_ins > 20
        assert 0.2 < comparison.switched.calibration_share < 0.45

        def relative_se(values):
            centred = values - values.mean()
            kurtosis = values.size * (centred**4).sum() / ((centred**2).sum() ** 2) - 3.0
            return math.sqrt((kurtosis + 2.0) / (4.0 * values.size))

        ratio = math.log(switched.std() / fixed.std())
        assert abs(ratio) <= SIGMAS * math.hypot(relative_se(switched), relative_se(fixed)), comparison.pair
        assert comparison.switched_max_abs_residual_hz < 150.0
        assert comparison.fixed_max_abs_residual_hz < 150.0


def test_a_pair_the_schedule_does_not_know_is_refused():
    schedule = run_schedule(SwitchSchedule(nodes=("alice", "bob", "charlie")), hours=0.01, seed=1)
    with pytest.raises(ConfigError, match="pair"):
        pair_drift_tracking(NETWORK, schedule, ("alice", "dora"), seed=1)
    with pytest.raises(ConfigError, match="pair"):
        pair_drift_tracking(SETUP, schedule, ("bob", "charlie"), seed=1)
