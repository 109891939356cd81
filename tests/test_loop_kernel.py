"""The compiled phase loop: its random numbers, its exact noise step, chunking, and equality in law with the numpy loop.

References: numpy's SFC64 words (the same generator), the standard normal and Poisson laws
(scipy) and the Poisson remainder's closed forms, the processes' closed-form structure
functions, and the per-trial numpy loop written independently (tests/oracles/numpy_phase_loop.py),
compared two-sided at 5σ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import Override, load_preset
from metroqnet.control import loop_kernel
from metroqnet.control.phase_loop import PhaseLoop
from metroqnet.experiments.phase_stabilization import constant_offset, stabilization_setup
from metroqnet.noise import compiled_random as cr
from metroqnet.noise.gaussian import IntegratedOUPhase, OrnsteinUhlenbeckPhase, WienerPhase
from metroqnet.noise.periodic_sampling import periodic_model
from metroqnet.noise.sums import PhaseSum, PhaseTerm
from tests.oracles.numpy_phase_loop import NumpyPhaseLoop

SETUP = stabilization_setup(load_preset("hefei2024"))
SIGMAS = 5.0


def test_sfc64_words_are_numpys():
    state = cr.sfc64_state(2024)
    ours = cr.raw_words(state, 5000)
    theirs = np.random.SFC64(np.random.SeedSequence(2024)).random_raw(5000)
    assert np.array_equal(ours, theirs)
    # and the state carries on: the next words continue numpy's stream
    more = np.random.SFC64(np.random.SeedSequence(2024))
    more.random_raw(5000)
    assert np.array_equal(cr.raw_words(state, 10), more.random_raw(10))


def test_ziggurat_normals_follow_the_standard_normal_law():
    x = cr.normals(cr.sfc64_state(7), 2_000_000)
    n = x.size
    assert abs(x.mean()) < SIGMAS / math.sqrt(n)
    assert abs(x.var() - 1.0) < SIGMAS * math.sqrt(2.0 / n)
    assert stats.kstest(x, "norm").pvalue > 1e-6
    # the tail beyond r = 3.654 comes from its own branch: its mass must be right too
    tail = np.mean(np.abs(x) > cr.ZIGGURAT_R)
    expected = 2 * stats.norm.sf(cr.ZIGGURAT_R)
    assert abs(tail - expected) < SIGMAS * math.sqrt(expected / n)


def test_ziggurat_layers_have_equal_area_and_close_at_the_mode():
    threshold, width, heights, v = cr.ziggurat_tables()
    x = width * 2.0**52
    f = lambda t: np.exp(-0.5 * t * t)  # noqa: E731
    areas = x[1:] * (heights[:-1] - heights[1:])  # layer j: width x_j, from f(x_j) up to f(x_{j-1}) (f(x_0)=1 at top)
    assert np.allclose(areas, v, rtol=1e-9)
    assert math.isclose(x[0] * f(cr.ZIGGURAT_R), v, rel_tol=1e-12)  # base strip incl. tail


@pytest.mark.parametrize("mean", [0.0, 0.04, 0.2499, 0.25, 0.9, 3.3, 13.2499, 27.37, 54.6])
def test_poisson_counts_follow_the_poisson_law(mean):
    # Means with a remainder r near the table step (0.2499, 13.2499) exercise the remainder's rare exact path.
    tables = cr.poisson_tables(60.0)
    counts = cr.poisson_counts(cr.sfc64_state(11), cr.sfc64_state(12), np.full(400_000, mean), *tables.arrays())
    if mean == 0.0:
        assert not counts.any()
        return
    k = np.arange(counts.max() + 2)
    observed = np.bincount(counts, minlength=k.size)
    expected = stats.poisson.pmf(k, mean) * counts.size
    expected[-1] += stats.poisson.sf(k[-1], mean) * counts.size
    keep = expected > 20
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    # the pooled rest, so that no mass hides in the dropped bins
    rest_o, rest_e = observed[~keep].sum(), expected[~keep].sum()
    dof = int(keep.sum())
    assert stats.chi2.sf(chi2, dof) > 1e-6
    assert abs(rest_o - rest_e) < SIGMAS * math.sqrt(rest_e) + 1


def test_poisson_bins_give_the_inverse_cdf():
    """A bin's first count is the inverse CDF at its left edge; a narrow bin holds at most one step of the CDF."""
    tables = cr.poisson_tables(30.0)
    for j in (0, 3, 57, 119):
        cdf = tables.cdf[tables.start[j]:tables.start[j] + tables.size[j]]
        entries = slice(j * cr.GUIDE_SIZE, (j + 1) * cr.GUIDE_SIZE)
        first = tables.bin_count[entries].astype(np.int64)
        wide = first >= cr.BIN_WIDE_SMALL
        first = np.where(wide, first - cr.BIN_WIDE_SMALL, first)
        edges = np.arange(cr.GUIDE_SIZE + 1) / cr.GUIDE_SIZE
        counts = np.minimum(np.searchsorted(cdf, edges, side="right"), cdf.size - 1)
        assert np.array_equal(first, counts[:-1])
        assert np.array_equal(wide, counts[1:] - counts[:-1] > 1)
        assert np.array_equal(tables.bin_cdf[entries], cdf[first])
        assert wide.mean() < 0.05  # the tails only


def test_remainder_thresholds_are_sufficient_conditions():
    """Each threshold decides only what its inequality guarantees, for v anywhere in [low, low + 1)/2048.

    Closed forms: P(Poisson(r) = 0) = e^{−r}, P(Poisson(r) <= 1) = e^{−r}(1 + r); r = f·h, f in table steps.
    """
    for largest in (60.0, 900.0):
        tables = cr.poisson_tables(largest)
        h = tables.step
        zero, one, at_most = (row.astype(float) for row in tables.thresholds)
        low = np.arange(2048.0)
        v_low, v_high = low / 2048.0, (low + 1.0) / 2048.0
        for f in np.linspace(0.0, 1.0, 1001):
            r = f * h
            decided_zero = f <= zero
            assert np.all(v_high[decided_zero] <= math.exp(-r))
            decided_one = (f >= one) & (f <= at_most)
            assert np.all(v_low[decided_one] >= math.exp(-r))
            assert np.all(v_high[decided_one] <= math.exp(-r) * (1.0 + r))
        # and they leave undecided only a small fraction of (v, f): ~r² + 1/1024
        f = np.linspace(0.0, 1.0, 201)[:, None]
        undecided = ~((f <= zero) | ((f >= one) & (f <= at_most)))
        assert undecided.mean() < h * h + 2.0 / 2048.0


def test_poisson_tables_refuse_a_bad_range():
    with pytest.raises(ConfigError, match="largest_mean"):
        cr.poisson_tables(float("nan"))


def test_correction_table_is_the_arcsine_of_the_reading():
    """turn(d1, d2) = (cos g·e, sin g·e) with e = arcsin(clip((d1 − d2)/(V(d1 + d2)))) (phase_loop's docstring)."""
    visibility = 0.9
    gains = np.array([1.0, 0.5])
    table = loop_kernel.turn_table(visibility, gains).reshape(2, loop_kernel.TURN_SIDE, loop_kernel.TURN_SIDE, 2)
    for d1, d2 in [(0, 0), (30, 20), (3, 40), (60, 0), (0, 1), (127, 126)]:
        reading = 0.0 if d1 + d2 == 0 else min(1.0, max(-1.0, (d1 - d2) / (visibility * (d1 + d2))))
        error = math.asin(reading)
        for r, gain in enumerate(gains):
            np.testing.assert_allclose(table[r, d1, d2], [math.cos(gain * error), math.sin(gain * error)], atol=1e-15)
            assert loop_kernel.turn(d1, d2, visibility, gain) == tuple(table[r, d1, d2])
    # counts beyond the table are computed the same way
    assert loop_kernel.turn(200, 100, visibility, 0.5) == pytest.approx(
        (math.cos(0.5 * math.asin(100 / 270)), math.sin(0.5 * math.asin(100 / 270))), abs=1e-15
    )


def _process(extra_ou: int = 0) -> PhaseSum:
    """A sum with state size 4 (phase, one rate, two OU values), plus ``extra_ou`` OU terms."""
    extra = tuple(
        PhaseTerm(name=f"x{i}", process=OrnsteinUhlenbeckPhase(std_rad=0.1, correlation_s=1e-3 * (i + 1)))
        for i in range(extra_ou)
    )
    return PhaseSum(terms=(
        PhaseTerm(name="w", process=WienerPhase(diffusion_rad2_per_s=4000.0)),
        PhaseTerm(name="i", process=IntegratedOUPhase(rate_std_rad_per_s=3.0, correlation_s=0.7), sign=-1),
        PhaseTerm(name="o", process=OrnsteinUhlenbeckPhase(std_rad=0.2, correlation_s=3e-4)),
        PhaseTerm(name="o2", process=OrnsteinUhlenbeckPhase(std_rad=0.05, correlation_s=2e-6)),
        *extra,
    ))


def test_periodic_step_reproduces_the_structure_function():
    """Var[φ(t+τ) − φ(t)] of the one-step trial law equals the sum of the terms' closed-form D(τ)."""
    process = _process()
    offsets, period = np.array([2_000, 10_000, 17_000]), 362_319
    model = periodic_model(process, offsets, period)
    d = model.state_size
    stationary = np.diag(model.stationary_std**2)
    # rows of y: φ(o0), φ(o1), then the state at o2 (φ(o2) = c·x); write each sample as a row map
    rows = [model.mean_map[0], model.mean_map[1], model.observe @ model.mean_map[2:]]
    roots = [model.root[0], model.root[1], model.observe @ model.root[2:]]
    for (a, b) in [(0, 1), (1, 2), (0, 2)]:
        mean_part = rows[b] - rows[a]
        assert abs(mean_part[0]) < 1e-12  # the cumulative phase cancels in a difference
        variance = mean_part @ stationary @ mean_part + np.sum((roots[b] - roots[a]) ** 2)
        lag_s = (offsets[b] - offsets[a]) * 1e-9
        expected = float(process.structure_function_rad2(lag_s))
        assert math.isclose(variance, expected, rel_tol=1e-9), (a, b, variance, expected)
    # one period: the write of one trial to the write of the next
    state_map = model.mean_map[2:]
    step = model.observe @ state_map - model.observe
    assert abs(step[0]) < 1e-12
    variance = step @ stationary @ step + np.sum((model.observe @ model.root[2:]) ** 2)
    assert math.isclose(variance, float(process.structure_function_rad2(period * 1e-9)), rel_tol=1e-9)
    assert model.normals_per_trial == 2 + d  # two instants before the write plus the state (1 + 1 + 2)


def test_periodic_model_refuses_processes_it_cannot_step():
    with pytest.raises(ConfigError, match="noise"):
        periodic_model(object(), np.array([0, 10]), 100)


def test_the_register_phase_pass_is_the_general_one():
    """Up to four state values the kernel keeps them in registers; the numbers are those of the general pass,
    for the noise models' own map (each coordinate but P on its own, the fast path) and for a dense one."""
    rng = np.random.default_rng(3)
    for extra, rounds, dense in [(0, 2, False), (0, 1, False), (0, 2, True)]:
        offsets = np.array([2_000, 8_000, 17_000])[2 - rounds:]
        model = periodic_model(_process(extra), offsets, 362_319)
        assert model.state_size == 4
        mean_map = model.mean_map.copy()
        if dense:
            mean_map[rounds:] += 0.01 * rng.standard_normal((4, 4))
        trials = 1_000
        kick = rng.standard_normal((mean_map.shape[0], trials))
        start = model.initial_state(rng)
        outputs = []
        for phase_pass in (loop_kernel._phase_pass, loop_kernel._phase_pass4):
            state, phase = start.copy(), np.empty((rounds + 1, trials))
            phase_pass(trials, state, mean_map, model.observe, rounds, kick, phase)
            outputs.append((state, phase))
        assert np.array_equal(outputs[0][0], outputs[1][0]) and np.array_equal(outputs[0][1], outputs[1][1])


def test_the_link_noise_keeps_four_state_values():
    """The Hefei link (two write lasers, two pump lasers, two fibres, pooled) steps with four state values
    (P, the lasers' technical rate, the fibres' thermal rate, the acoustic value): the kernel's register pass."""
    model = periodic_model(SETUP.noise, SETUP.settings.sample_offsets_ns, SETUP.settings.period_ns)
    assert model.state_size == 4
    assert model.normals_per_trial == 2 + 4


def _loop(seed, **options):
    options.setdefault("calibration", SETUP.calibration)
    options.setdefault("settings", SETUP.settings)
    return PhaseLoop(noise=SETUP.noise, seed=seed, **options)


def test_any_split_into_calls_is_bit_identical():
    drift = SETUP.drift(hours=0.05, seed=4)
    whole = _loop(9, drift=drift)
    reference = whole.advance(20_000)
    pieces = _loop(9, drift=drift)
    rng = np.random.default_rng(0)
    got, done = [], 0
    while done < 20_000:
        size = int(min(rng.integers(0, 6000), 20_000 - done))
        got.append(pieces.advance(size))
        done += size
    for name in ("residual_rad", "estimate_rad", "residual_frequency_hz"):
        assert np.array_equal(np.concatenate([getattr(g, name) for g in got]), getattr(reference, name))
    assert all(np.array_equal(whole.log.arrays()[k], pieces.log.arrays()[k]) for k in whole.log.arrays())


def test_run_keeps_the_log_of_advance():
    drift = SETUP.drift(hours=0.05, seed=4)
    kept, logged = _loop(3, drift=drift), _loop(3, drift=drift)
    kept.advance(3 * kept.window_trials)
    logged.run(3 * logged.window_trials)
    for key, values in kept.log.arrays().items():
        assert np.array_equal(values, logged.log.arrays()[key]), key


def test_run_is_refused_while_trials_are_pending():
    loop = _loop(3)
    loop.advance(10)
    with pytest.raises(ConfigError, match="pending"):
        loop.run(10)


def test_a_drift_too_short_for_the_run_is_refused_before_it_runs():
    loop = _loop(3, drift=constant_offset(0.0, 1e-4))  # 0.36 s of record, one window is 1 s
    with pytest.raises(ConfigError, match="outside the temperature record"):
        loop.advance(10)


def _batch_means(values: np.ndarray, batches: int = 100) -> tuple[float, float]:
    """Mean and its standard error from batch means (trials of a run are correlated through the phase)."""
    means = values[: values.size // batches * batches].reshape(batches, -1).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(batches))


CASES = {
    "hefei with drift": dict(drift_hours=0.1),
    "one probe round": dict(settings=SETUP.settings.replace(rounds=1)),
    "5-photon probes": dict(settings=SETUP.settings.replace(probe_photons_per_node=5.0)),
    "no stabilization": dict(stabilize=False),
    "0.4 kHz offset, no calibration": dict(offset_khz=0.4, calibration=SETUP.calibration.replace(enabled=False)),
    "1 kHz offset, calibrated (slips until captured)": dict(offset_khz=1.0),
    "coherent lasers (3 ms), one round": dict(coherence_ms=3.0, settings=SETUP.settings.replace(rounds=1)),
    "six state values (general phase pass)": dict(noise=_process(extra_ou=2)),
}


def _case(case: str) -> dict:
    options = dict(CASES[case])
    if "drift_hours" in options:
        options["drift"] = SETUP.drift(hours=options.pop("drift_hours"), seed=5)
    if "offset_khz" in options:
        options["drift"] = constant_offset(options.pop("offset_khz"), 0.1)
    if "coherence_ms" in options:
        coherence = options.pop("coherence_ms")
        changes = [Override(key=f"nodes.*.{laser}_coherence_time_ms", value=coherence)
                   for laser in ("laser", "pump_laser")]
        options["noise"] = stabilization_setup(load_preset("hefei2024", overrides=changes)).noise
    options.setdefault("calibration", SETUP.calibration)
    options.setdefault("settings", SETUP.settings)
    options.setdefault("noise", SETUP.noise)
    return options


@pytest.mark.parametrize("case", list(CASES))
def test_compiled_loop_equals_the_numpy_loop_in_law(case):
    """The residual's cos, sin and square, and the windows' frequency estimates, agree within 5 combined standard
    errors (batch means) with the independently written per-trial numpy loop (tests/oracles)."""
    options = _case(case)
    trials = 150_000
    ours_loop, theirs_loop = PhaseLoop(seed=1, **options), NumpyPhaseLoop(seed=2, **options)
    ours = ours_loop.advance(trials).residual_rad
    theirs = theirs_loop.advance(trials).residual_rad
    for name, f in [("cos", np.cos), ("sin", np.sin), ("square", np.square)]:
        mean_a, se_a = _batch_means(f(ours))
        mean_b, se_b = _batch_means(f(theirs))
        assert abs(mean_a - mean_b) < SIGMAS * math.hypot(se_a, se_b), (case, name, mean_a, mean_b)
    # the calibration's estimates, window by window (the first windows hold the acquisition: skipped)
    est_a, est_b = ours_loop.log.arrays()["estimate_hz"][3:], theirs_loop.log.arrays()["estimate_hz"][3:]
    se = math.hypot(est_a.std(ddof=1) / math.sqrt(est_a.size), est_b.std(ddof=1) / math.sqrt(est_b.size))
    assert abs(est_a.mean() - est_b.mean()) < SIGMAS * se + 1e-9, (case, est_a.mean(), est_b.mean())
