"""The server's weak-field phase-stabilization loop and the frequency calibration, trial by trial.

Timeline of one trial (Fig. 2a of the paper), from the trial's start:
``rounds`` × [probe pulse of ``probe_duration_us``, FPGA feedback within
``feedback_latency_us``], then the ``gap_us`` gap (SNSPD afterpulsing), then the
write. The relative phase φ of the two nodes' light at the beamsplitter comes from a
noise process (lasers, fibres: :mod:`metroqnet.physics.noise_mapping`) plus the cavity
drift 2π∫(Δf − f_comp)dt, where f_comp is the calibration's compensation.

**Counts.** Both nodes send a probe of ``probe_photons_per_node`` photons (at the
beamsplitter); D1 and D2 count Poisson numbers with means
``(n/2)(1 ± V sin(φ − θ))`` plus dark counts, with n = 2·photons·efficiency, V the
probe visibility and θ the EOM's setting, probed with a π/2 bias so that the reading is
the quadrature that is sensitive around the lock point. The phase is taken at the
probe's middle (it moves by far less than the shot noise within 4 µs).

**The lock** (what the FPGA computes). The EOM setting θ carries from trial to trial (the
lasers are coherent enough that φ moves by about a radian or less between trials, so
the loop tracks it rather than acquiring it afresh). Each round reads
ŝ = (N1 − N2)/(V(N1 + N2)) ≈ sin(φ − θ), estimates the error e = arcsin(clip(ŝ, ±1))
(0 without counts) and moves θ by g_r·e, with the round gains :data:`ROUND_GAINS`
g₁ = 1, g₂ = 1/2: after round 1, θ sits on round 1's estimate of φ; round 2 measures
what is left and moves θ half way, so θ ends on the mean of the two rounds' estimates —
for two probes of equal photon number and small errors the minimum-variance combination
(its error is 1/(V√(2n)) against 1/(V√n) with one round). One round already locks; the
second halves the variance of the estimate. The residual at the write, φ(t_write) − θ,
is what the link sampler takes as the trial's phase error.

**Capture.** The reading folds at |φ − θ| = π/2 (arcsin(sin x) = π − x beyond it): a
round still turns θ the right way, by less than needed, so a step of the phase between
trials up to ~π/2 is caught within the trial, larger ones over the next trials, and only
a step near ±π is lost. A steady frequency offset Δf − f_comp advances φ by
2π(Δf − f_comp)/f_rep per trial: within |Δf − f_comp| < f_rep/4 (0.69 kHz at 2.76 kHz,
modulo f_rep) the lock follows it with no slip; beyond, it slips a cycle every few
trials until the calibration has brought the offset inside (see below).

**Frequency calibration.** θ follows φ, so its increments between successive trials,
θₖ − θₖ₋₁, sample 2π(Δf − f_comp)T plus the lasers' and fibres' phase noise; over each
``window_s`` their circular mean gives Δf̂ = arg Σ e^{i(θₖ − θₖ₋₁)} / (2πT), and the
compensation moves by ``gain``·Δf̂ for the next window (an integrating controller). The
compensation acts on the pump lasers, as in the paper: shifting a node's pump frequency
shifts its converted photon's, so the relative phase loses 2π∫f_comp dt
(:mod:`metroqnet.physics.link_phase`). While the lock slips (an offset beyond f_rep/4)
the estimate is biased towards zero but keeps its sign, so the compensation still moves
the right way and the lock captures once the offset is inside; sampling φ once per trial,
the calibration as a whole captures offsets within ±f_rep/2 (±1.38 kHz at 2.76 kHz): the
paper's one-off calibration brings the lasers inside that range, and the tracker keeps
them there as the cavities drift.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed, child, generator
from metroqnet.config.units import NS_PER_S, NS_PER_US, S_PER_US, US_PER_S
from metroqnet.config.validation import Efficiency, NonNegative, Positive, Rounds, bounded, check, parameters
from metroqnet.control.loop_kernel import (
    BLOCK_TRIALS,
    COMP_CYCLES,
    COMP_HZ,
    THETA_COS,
    THETA_SIN,
    TWO_PI,
    run_windows,
    turn_table,
)
from metroqnet.noise.compiled_random import poisson_tables, sfc64_state
from metroqnet.noise.periodic_sampling import periodic_model, state_step
from metroqnet.physics.frequency_drift import FrequencyDrift

#: The gain of each probe round: θ moves by g_r·e (module docstring). Two equal probes are
#: combined as their mean (1, then 1/2).
ROUND_GAINS = (1.0, 0.5)


@parameters
class PhaseLoopSettings:
    """Probe, timing and feedback of the stabilization loop (:func:`loop_settings` reads them from a preset).

    ``probe_photons_per_node`` at the beamsplitter, detected with
    ``detection_efficiency``; ``visibility`` of the two probes' interference;
    ``dark_count_rate_hz`` per SNSPD; ``rounds`` × [probe of
    ``probe_duration_us``, feedback within ``feedback_latency_us``], then ``gap_us``
    before the write; one trial every 1/``repetition_rate_hz``.
    """

    probe_photons_per_node: NonNegative
    detection_efficiency: Efficiency
    visibility: bounded(gt=0.0, le=1.0)  # type: ignore[valid-type]
    dark_count_rate_hz: NonNegative
    probe_duration_us: Positive
    feedback_latency_us: NonNegative
    rounds: Rounds
    gap_us: NonNegative
    repetition_rate_hz: Positive

    def __post_init__(self) -> None:
        if self.detected_probe_photons <= 0:
            raise ConfigError.at(
                "probe_photons_per_node", f"{self.probe_photons_per_node:g} photons per node detected with efficiency "
                f"{self.detection_efficiency:g}: a probe that is never detected cannot read the phase; allowed: > 0"
            )
        period_us = US_PER_S / self.repetition_rate_hz
        if self.cycle_us >= period_us:
            raise ConfigError.at(
                "probe_duration_us, feedback_latency_us, probe_gap_us",
                f"probe, feedback and gap take {self.cycle_us:g} µs, longer than the trial period {period_us:g} µs "
                f"at repetition_rate_hz {self.repetition_rate_hz:g}",
            )

    @property
    def cycle_us(self) -> float:
        """From the first probe's start to the write."""
        return self.rounds * (self.probe_duration_us + self.feedback_latency_us) + self.gap_us

    @property
    def period_ns(self) -> int:
        return round(NS_PER_S / self.repetition_rate_hz)

    @property
    def sample_offsets_ns(self) -> np.ndarray:
        """Times within a trial at which φ is needed: each probe's middle, then the write."""
        step = self.probe_duration_us + self.feedback_latency_us
        probes = [round(NS_PER_US * (r * step + 0.5 * self.probe_duration_us)) for r in range(self.rounds)]
        return np.array([*probes, round(NS_PER_US * self.cycle_us)], dtype=np.int64)

    @property
    def detected_probe_photons(self) -> float:
        """Mean counts D1 + D2 per probe pulse (both nodes' pulses), before dark counts."""
        return 2.0 * self.probe_photons_per_node * self.detection_efficiency

    @property
    def dark_counts_per_probe(self) -> float:
        return self.dark_count_rate_hz * self.probe_duration_us * S_PER_US

    @property
    def shot_noise_limit_rad(self) -> float:
        """1/(V sqrt(n)): the phase error of one probe of n detected photons."""
        return 1.0 / (self.visibility * math.sqrt(self.detected_probe_photons))

    def replace(self, **changes: object) -> PhaseLoopSettings:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@parameters
class FrequencyCalibration:
    """The continuous calibration of Δf from the probe data (``enabled=False`` switches it off).

    Over each ``window_s`` the frequency difference is estimated and the
    compensation moves by ``gain`` times the estimate.
    """

    window_s: Positive
    gain: bounded(gt=0.0, le=2.0)  # type: ignore[valid-type]
    enabled: bool = True

    def replace(self, **changes: object) -> FrequencyCalibration:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def loop_settings(network: NetworkHardware, *, repetition_rate_hz: float) -> PhaseLoopSettings:
    """The loop of ``network``'s server at a repetition rate.

    The probes are counted by the server's SNSPDs (efficiency and dark counts of
    ``[server]``); the photon number is the paper's "upon arrival at the
    beamsplitter", so the arm losses before it are already inside it.
    """
    server = network.server
    return PhaseLoopSettings(
        probe_photons_per_node=server.probe_photons_per_node,
        detection_efficiency=server.snspd_efficiency,
        visibility=server.probe_visibility,
        dark_count_rate_hz=server.snspd_dark_count_rate_hz,
        probe_duration_us=server.probe_duration_us,
        feedback_latency_us=server.feedback_latency_us,
        rounds=server.probe_rounds,
        gap_us=server.probe_gap_us,
        repetition_rate_hz=check("repetition_rate_hz", repetition_rate_hz, Positive),
    )


def frequency_calibration(network: NetworkHardware, *, enabled: bool = True) -> FrequencyCalibration:
    """The frequency calibration of ``network``'s server."""
    server = network.server
    return FrequencyCalibration(window_s=server.calibration_window_s, gain=server.calibration_gain, enabled=enabled)


def probe_quadrature(
    phase_rad: np.ndarray, settings: PhaseLoopSettings, rng: np.random.Generator, *, bias_rad: float = 0.0
) -> np.ndarray:
    """(N1 − N2)/(V (N1 + N2)) of one probe pulse per trial, clipped to [−1, 1] (0 if no count).

    D1 counts with mean (n/2)(1 + V cos(φ + b)): the reading is ≈ cos(φ + b), and with the bias
    b = −π/2 it reads sin φ (the additional probe of Fig. 2b, which reads the residual).
    """
    mean = 0.5 * settings.detected_probe_photons
    fringe = settings.visibility * np.cos(phase_rad + bias_rad)
    dark = settings.dark_counts_per_probe
    d1 = rng.poisson(mean * (1.0 + fringe) + dark)
    d2 = rng.poisson(mean * (1.0 - fringe) + dark)
    total = d1 + d2
    with np.errstate(invalid="ignore", divide="ignore"):
        reading = np.where(total > 0, (d1 - d2) / (settings.visibility * total), 0.0)
    return np.clip(reading, -1.0, 1.0)


def wrap(phase_rad: np.ndarray) -> np.ndarray:
    """Into (−π, π]."""
    return np.angle(np.exp(1j * phase_rad))


@dataclass
class LoopTrials:
    """Per-trial output of a stretch of the loop: the residual φ(t_write) − θ at the write (rad, in (−π, π]),
    the EOM setting θ after the trial's rounds (rad, in (−π, π]) and Δf − f_comp at the write (Hz)."""

    residual_rad: np.ndarray
    estimate_rad: np.ndarray
    residual_frequency_hz: np.ndarray


LOOP_FIELDS = ("residual_rad", "estimate_rad", "residual_frequency_hz")
LOG_FIELDS = ("time_s", "drift_hz", "compensation_hz", "estimate_hz")


class WindowLog:
    """One row per calibration window: the drift, the compensation and what remains."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []

    def append(self, rows: np.ndarray) -> None:
        self._blocks.append(rows)

    def arrays(self) -> dict[str, np.ndarray]:
        rows = np.concatenate(self._blocks) if self._blocks else np.zeros((0, len(LOG_FIELDS)))
        out = {name: rows[:, i].copy() for i, name in enumerate(LOG_FIELDS)}
        out["residual_hz"] = out["drift_hz"] - out["compensation_hz"]
        return out

    def __getattr__(self, name: str) -> np.ndarray:
        if name in LOG_FIELDS:
            return self.arrays()[name]
        raise AttributeError(name)


def _drift_tables(drift: FrequencyDrift | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Knots (ns), Δf at each knot (Hz), its slope term (Hz/s) and the drift's cycles at each knot mod 1."""
    if drift is None:
        return np.array([0, np.iinfo(np.int64).max // 2], dtype=np.int64), np.zeros(1), np.zeros(1), np.zeros(1)
    linear, quadratic, cycles = drift._segments
    return drift.temperature.knots_ns.astype(np.int64), linear, quadratic, np.mod(cycles, 1.0)


class PhaseLoop:
    """A running loop: call :meth:`advance` with consecutive numbers of trials.

    ``noise`` is the lasers' and fibres' phase process (a sum of Wiener, OU and
    integrated-OU parts: :mod:`metroqnet.noise`); ``drift`` the cavity drift (or None).
    ``stabilize=False`` leaves φ uncorrected at the write (the probes, the FPGA's setting θ and the
    calibration still run; the residual is φ itself).
    Trials are simulated by the compiled kernel (:mod:`metroqnet.control.loop_kernel`) in
    whole calibration windows; the result is bit-identical whatever the sizes of the calls.
    :meth:`skip` jumps over trials while the pair is switched out (a shared server, :mod:`metroqnet.network`).
    """

    def __init__(
        self,
        settings: PhaseLoopSettings,
        *,
        noise,
        drift: FrequencyDrift | None = None,
        calibration: FrequencyCalibration,
        stabilize: bool = True,
        seed: Seed,
        start_ns: int = 0,
    ) -> None:
        self.settings = settings
        self.noise = noise
        self.drift = drift
        self.calibration = calibration
        self.stabilize = stabilize
        self._start_ns = int(start_ns)
        self._window_trials = round(calibration.window_s * settings.repetition_rate_hz)
        if self._window_trials < 2:
            raise ConfigError.at(
                "calibration_window_s", f"{calibration.window_s:g} s holds {self._window_trials} trial(s) at "
                f"{settings.repetition_rate_hz:g} Hz; the frequency estimate needs at least 2 per window"
            )
        self._model = periodic_model(noise, settings.sample_offsets_ns, settings.period_ns)
        self._rng = sfc64_state(child(seed, 0))
        self._aux = sfc64_state(child(seed, 2))  # the rare second words of the Poisson draws
        self._state = self._model.initial_state(generator(child(seed, 1)))
        self._drift = _drift_tables(drift)
        largest_mean = 0.5 * settings.detected_probe_photons * (1.0 + settings.visibility) + settings.dark_counts_per_probe
        tables = poisson_tables(float(largest_mean))
        self._tables = tables.arrays()
        self._gains = np.array(ROUND_GAINS[: settings.rounds])
        self._turns = turn_table(settings.visibility, self._gains)
        self._values = np.array([
            0.5 * settings.detected_probe_photons, settings.visibility, settings.dark_counts_per_probe,
            settings.period_ns / NS_PER_S, calibration.gain, float(calibration.enabled), float(stabilize),
            float(settings.rounds),
        ])
        self._control = np.zeros(5)  # compensation (Hz), its phase in cycles mod 1 at the window's start, θ, ...
        self._control[THETA_COS], self._control[THETA_SIN] = 1.0, 0.0  # the EOM starts at θ = 0
        # the next block's normals, drawn by the lock pass of the block before (loop_kernel.run_windows)
        self._normals = np.zeros((self._model.normals_per_trial, min(BLOCK_TRIALS, self._window_trials)))
        self._trial = 0
        self._pending = LoopTrials(np.zeros(0), np.zeros(0), np.zeros(0))
        self.log = WindowLog()
        self._gap_seed = child(seed, 3)  # the noise over skipped stretches: a stream of its own (skip)
        self._gap_rng: np.random.Generator | None = None
        self._gap_steps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def window_trials(self) -> int:
        return self._window_trials

    @property
    def next_trial(self) -> int:
        """The index of the next trial to simulate on the loop's clock (trial k starts at start_ns + k·period),
        counting the trials :meth:`skip` jumped over and those :meth:`advance` holds pending."""
        return self._trial - self._pending.residual_rad.size

    def skip(self, trials: int) -> None:
        """The pair is switched out for the next ``trials`` trial periods: the loop's clock jumps over them.

        Only from the end of a whole calibration window (refused while trials of :meth:`advance`
        are pending), so no window straddles a gap. Over the gap, as on the server: the drift
        tables are read at the true time afterwards (the trial index counts the skipped trials); the
        compensation f_comp and the EOM setting θ are kept (the FPGA holds them), while the
        compensation's phase 2π∫f_comp dt keeps growing with the time; the lasers' and fibres' noise
        state steps exactly over the gap (x ← A x + L ξ, the same linear Gaussian law as trial by
        trial: :func:`metroqnet.noise.periodic_sampling.state_step`), its normals from a stream of its
        own (child 3 of the seed), so a loop that never skips draws exactly as before. The relative
        phase φ − θ after the gap is what this leaves: the lock re-acquires it in the next trials.
        """
        trials = _trial_count(trials)
        if self._pending.residual_rad.size:
            raise ConfigError.at("trials", "skip() jumps from the end of a whole window; trials of advance() are pending")
        if trials == 0:
            return
        gap_ns = trials * self.settings.period_ns
        if self.drift is not None:  # refuses a gap that ends past the drift's record
            self.drift.temperature.segments(np.array([self._start_ns + (self._trial + trials) * self.settings.period_ns]))
        if gap_ns not in self._gap_steps:
            if len(self._gap_steps) > 256:
                self._gap_steps.clear()
            self._gap_steps[gap_ns] = state_step(self.noise, gap_ns)
        a_matrix, root = self._gap_steps[gap_ns]
        if self._gap_rng is None:
            self._gap_rng = generator(self._gap_seed)
        state = a_matrix @ self._state + root @ self._gap_rng.standard_normal(root.shape[1])
        state[0] -= TWO_PI * math.floor(state[0] / TWO_PI)  # only e^{iφ} matters (as at each window's end)
        self._state[:] = state
        cycles = self._control[COMP_CYCLES] + self._control[COMP_HZ] * (gap_ns / NS_PER_S)
        self._control[COMP_CYCLES] = cycles - math.floor(cycles)
        self._trial += trials

    def _check_drift_covers(self, windows: int) -> None:
        if self.drift is None:
            return
        last = self._start_ns + (self._trial + windows * self._window_trials) * self.settings.period_ns
        self.drift.temperature.segments(np.array([last], dtype=np.int64))  # refuses a time past the record

    def _run(self, windows: int, keep_trials: bool) -> LoopTrials | None:
        self._check_drift_covers(windows)
        size = windows * self._window_trials if keep_trials else 0
        out = LoopTrials(np.empty(size), np.empty(size), np.empty(size))
        log = np.empty((windows, len(LOG_FIELDS)))
        model = self._model
        run_windows(
            windows, self._window_trials, self._trial, self._start_ns, self.settings.period_ns,
            self.settings.sample_offsets_ns, self._values, self._gains, self._turns, self._rng, self._aux, self._state,
            model.mean_map, model.root,
            model.observe, *self._drift, self._control, *self._tables, self._normals,
            out.residual_rad, out.estimate_rad, out.residual_frequency_hz, log, keep_trials,
        )
        self.log.append(log)
        self._trial += windows * self._window_trials
        return out if keep_trials else None

    def advance(self, trials: int) -> LoopTrials:
        """The next ``trials`` trials (simulated in whole windows; the result does not depend on call sizes)."""
        trials = _trial_count(trials)
        available = self._pending.residual_rad.size
        if available < trials:
            windows = -(-(trials - available) // self._window_trials)
            fresh = self._run(windows, keep_trials=True)
            assert fresh is not None
            self._pending = LoopTrials(
                *(np.concatenate([getattr(self._pending, name), getattr(fresh, name)]) for name in LOOP_FIELDS)
            )
        out = LoopTrials(*(getattr(self._pending, name)[:trials] for name in LOOP_FIELDS))
        self._pending = LoopTrials(*(getattr(self._pending, name)[trials:] for name in LOOP_FIELDS))
        return out

    def run(self, trials: int) -> None:
        """Simulate the next ``trials`` trials (whole windows) keeping only the window log: for long runs.

        The same draws as :meth:`advance`; refused while trials of an earlier :meth:`advance` are pending.
        """
        trials = _trial_count(trials)
        if self._pending.residual_rad.size:
            raise ConfigError.at("trials", "run() continues from whole windows; trials of advance() are pending")
        self._run(-(-trials // self._window_trials), keep_trials=False)


def _trial_count(trials: object) -> int:
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 0:
        raise ConfigError(f"trials: {trials!r} is not an integer >= 0")
    return int(trials)
