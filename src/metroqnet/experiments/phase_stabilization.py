"""The paper's Fig. 2 on the twin: phase stabilization and frequency calibration.

* (b) residual phase with and without stabilization, as the additional probe 5 µs after the
  feedback sees it (quadrature-biased, so it reads sin of the residual with its own shot noise)
  and as the write sees it; visibility of that probe pair versus a set phase θ;
* σ of the residual versus probe photons, beside the shot-noise limit 1/(V√n);
* (c) visibility versus a deliberate frequency difference between the nodes (no calibration);
* (d) drift tracking: raw drift, compensation, residual Δf and temperature per calibration window.

Everything comes from a network's preset (:func:`stabilization_setup`): the loop and the
calibration of its server, the lasers and fibres of the experiment's node pair, the
cavities' drift. Runs are simulated in chunks and summarized as they go (moments and
histograms), so memory does not grow with the number of trials. Every function that
draws takes ``seed: int | SeedSequence`` and records the seed it used.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed, child, generator, seed_record
from metroqnet.config.units import S_PER_H
from metroqnet.config.validation import Count, Positive, check
from metroqnet.control.phase_loop import (
    FrequencyCalibration,
    PhaseLoop,
    PhaseLoopSettings,
    frequency_calibration,
    loop_settings,
    probe_quadrature,
)
from metroqnet.noise.sums import PhaseSum, pooled
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.noise_mapping import cavity_drift, link_phase_noise
from metroqnet.physics.temperature import TemperatureRecord

#: Trials simulated and summarized at a time: memory stays flat however long the run.
CHUNK_TRIALS = 1 << 18
#: Histogram of phases (deg): 5° bins over the circle.
HISTOGRAM_EDGES_DEG = np.linspace(-180.0, 180.0, 73)
#: Calibration windows the tracker needs before its residual means anything (it starts uncompensated).
SETTLE_WINDOWS = 3
#: A run needs at least this many trials for a standard deviation.
MIN_TRIALS = 2

Progress = Callable[[int], None]


@dataclass(frozen=True)
class StabilizationSetup:
    """What a Fig. 2 run needs, read from a network: the loop, the calibration, the link's noise."""

    network: NetworkHardware
    experiment: str
    nodes: tuple[str, str]
    settings: PhaseLoopSettings
    calibration: FrequencyCalibration
    noise: PhaseSum
    duration_h: float | None

    def with_settings(self, **changes: object) -> StabilizationSetup:
        """The same setup with some loop settings changed (validated again)."""
        return dataclasses.replace(self, settings=self.settings.replace(**changes))

    def drift(self, *, hours: float, seed: Seed) -> FrequencyDrift:
        """The cavities' drift over ``hours`` (and the windows the loop simulates past it), drawn from ``seed``."""
        margin_h = (SETTLE_WINDOWS + 2) * self.calibration.window_s / S_PER_H
        return cavity_drift(self.network, duration_h=hours + margin_h, seed=seed)


def stabilization_setup(network: NetworkHardware, experiment: str | None = None) -> StabilizationSetup:
    """The setup of a declared ``stabilization`` experiment (default: the first one the network declares)."""
    if experiment is None:
        declared = network.experiments_of_kind("stabilization")
        if not declared:
            raise ConfigError.at(
                "experiments", f"network {network.name!r} declares no experiment of kind 'stabilization' (Fig. 2)"
            )
        chosen = declared[0]
    else:
        chosen = network.experiment(experiment)
        if chosen.kind != "stabilization":
            raise ConfigError.at("experiment", f"{experiment!r} is a {chosen.kind!r} experiment, not 'stabilization'")
    if chosen.nodes is None:
        raise ConfigError.at(f"experiments.{chosen.name}.nodes", "missing: the loop stabilizes a node pair")
    window_trials = network.server.calibration_window_s * chosen.repetition_rate_hz
    if round(window_trials) < 2:  # refused before a run, not after it
        raise ConfigError.at(
            "server.calibration_window_s", f"{network.server.calibration_window_s:g} s holds {window_trials:.3g} "
            f"trials at {chosen.repetition_rate_hz:g} Hz; the frequency estimate needs at least 2 per window"
        )
    return StabilizationSetup(
        network=network,
        experiment=chosen.name,
        nodes=chosen.nodes,
        settings=loop_settings(network, repetition_rate_hz=chosen.repetition_rate_hz),
        calibration=frequency_calibration(network),
        noise=pooled(link_phase_noise(network, *chosen.nodes)),
        duration_h=chosen.duration_h,
    )


def constant_offset(offset_khz: float, duration_h: float) -> FrequencyDrift:
    """A fixed frequency difference between the nodes over ``duration_h`` (no temperature dependence)."""
    record = TemperatureRecord(times_h=np.array([0.0, duration_h]), temperatures_c=np.zeros(2), source="constant")
    return FrequencyDrift(temperature=record, coefficient_khz_per_k=0.0, offset_khz=offset_khz)


# --- summaries that do not keep the trials --------------------------------------------------------


@dataclass
class PhaseSummary:
    """Moments and a histogram of a stream of phases (rad), merged chunk by chunk (Pébay's update)."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    m3: float = 0.0
    m4: float = 0.0
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(HISTOGRAM_EDGES_DEG.size - 1, dtype=np.int64))

    def add(self, values: np.ndarray) -> None:
        n_b = values.size
        if n_b == 0:
            return
        mean_b = float(values.mean())
        centred = values - mean_b
        m2_b, m3_b, m4_b = (float(np.dot(centred, centred)), float((centred**3).sum()), float((centred**4).sum()))
        n_a, n = self.count, self.count + n_b
        delta = mean_b - self.mean
        self.m4 += m4_b + delta**4 * n_a * n_b * (n_a**2 - n_a * n_b + n_b**2) / n**3 + 6 * delta**2 * (
            n_a**2 * m2_b + n_b**2 * self.m2) / n**2 + 4 * delta * (n_a * m3_b - n_b * self.m3) / n
        self.m3 += m3_b + delta**3 * n_a * n_b * (n_a - n_b) / n**2 + 3 * delta * (n_a * m2_b - n_b * self.m2) / n
        self.m2 += m2_b + delta**2 * n_a * n_b / n
        self.mean += delta * n_b / n
        self.count = n
        self.histogram += np.histogram(np.degrees(values), HISTOGRAM_EDGES_DEG)[0]

    @property
    def std_rad(self) -> float:
        return math.sqrt(self.m2 / self.count)

    @property
    def std_deg(self) -> float:
        return math.degrees(self.std_rad)

    @property
    def mean_deg(self) -> float:
        return math.degrees(self.mean)

    @property
    def excess_kurtosis(self) -> float:
        """0 for a Gaussian."""
        return self.count * self.m4 / self.m2**2 - 3.0


@dataclass(frozen=True)
class ResidualPhase:
    """Residual phase at the write (what the entanglement sees) and as the additional probe measures it."""

    at_write: PhaseSummary
    measured: PhaseSummary
    seed: dict[str, object]

    @property
    def trials(self) -> int:
        return self.at_write.count

    @property
    def std_deg(self) -> float:
        return self.at_write.std_deg

    @property
    def measured_std_deg(self) -> float:
        return self.measured.std_deg

    @property
    def excess_kurtosis(self) -> float:
        return self.at_write.excess_kurtosis


def check_trials(trials: object) -> int:
    """A number of trials per point: an integer, at least :data:`MIN_TRIALS`."""
    count = check("trials", trials, Count)
    if count < MIN_TRIALS:
        raise ConfigError.at("trials", f"{count} is too few; a standard deviation needs at least {MIN_TRIALS} trials")
    return count


def _chunks(total: int) -> list[int]:
    return [min(CHUNK_TRIALS, total - done) for done in range(0, total, CHUNK_TRIALS)]


def _loop(setup: StabilizationSetup, seed: Seed, **options: object) -> PhaseLoop:
    options.setdefault("calibration", setup.calibration)
    return PhaseLoop(setup.settings, noise=setup.noise, seed=seed, **options)  # type: ignore[arg-type]


def residual_phase(
    setup: StabilizationSetup,
    *,
    trials: int,
    seed: Seed,
    stabilize: bool = True,
    progress: Progress | None = None,
) -> ResidualPhase:
    """Run the loop (no drift) and read each trial's residual with an additional quadrature probe."""
    trials = check_trials(trials)
    loop = _loop(setup, child(seed, 0), stabilize=stabilize)
    probe_rng = generator(child(seed, 1))
    at_write, measured = PhaseSummary(), PhaseSummary()
    for size in _chunks(trials):
        residual = loop.advance(size).residual_rad
        reading = probe_quadrature(residual, setup.settings, probe_rng, bias_rad=-0.5 * math.pi)
        at_write.add(residual)
        measured.add(np.arcsin(reading))
        if progress is not None:
            progress(size)
    return ResidualPhase(at_write=at_write, measured=measured, seed=seed_record(seed))


@dataclass(frozen=True)
class PhotonScan:
    photons_per_node: np.ndarray
    std_deg: np.ndarray
    shot_noise_limit_deg: np.ndarray
    seed: dict[str, object]


def sigma_versus_photons(
    setup: StabilizationSetup,
    photons_per_node: Sequence[float],
    *,
    trials: int,
    seed: Seed,
    progress: Progress | None = None,
) -> PhotonScan:
    """σ of the residual at the write for each probe photon number, and 1/(V√n) beside it."""
    stds, limits = [], []
    for index, photons in enumerate(photons_per_node):
        point = setup.with_settings(probe_photons_per_node=float(photons))
        stds.append(residual_phase(point, trials=trials, seed=child(seed, index), progress=progress).std_deg)
        limits.append(math.degrees(point.settings.shot_noise_limit_rad))
    return PhotonScan(np.asarray(photons_per_node, dtype=float), np.asarray(stds), np.asarray(limits), seed_record(seed))


def visibility_versus_phase(
    setup: StabilizationSetup,
    set_phases_rad: Sequence[float],
    *,
    trials: int,
    seed: Seed,
    progress: Progress | None = None,
) -> np.ndarray:
    """Mean (N1 − N2)/(N1 + N2) of the additional probe pair with a set phase θ added (Fig. 2b, pink)."""
    trials = check_trials(trials)
    loop = _loop(setup, child(seed, 0))
    rng = generator(child(seed, 1))
    sums = np.zeros(len(set_phases_rad))
    for size in _chunks(trials):
        residual = loop.advance(size).residual_rad
        for index, theta in enumerate(set_phases_rad):
            sums[index] += probe_quadrature(residual + theta, setup.settings, rng).sum()
        if progress is not None:
            progress(size)
    return setup.settings.visibility * sums / trials


def visibility_versus_frequency(
    setup: StabilizationSetup,
    offsets_khz: Sequence[float],
    *,
    trials: int,
    seed: Seed,
    progress: Progress | None = None,
) -> np.ndarray:
    """Visibility of the additional probe after the feedback, with a fixed Δf and no calibration (Fig. 2c)."""
    trials = check_trials(trials)
    duration_h = 2.0 * trials / setup.settings.repetition_rate_hz / S_PER_H + 1e-3
    out = []
    for index, offset in enumerate(offsets_khz):
        point = child(seed, index)
        loop = _loop(setup, child(point, 0), drift=constant_offset(offset, duration_h),
                     calibration=setup.calibration.replace(enabled=False))
        rng = generator(child(point, 1))
        total = 0.0
        for size in _chunks(trials):
            total += probe_quadrature(loop.advance(size).residual_rad, setup.settings, rng).sum()
            if progress is not None:
                progress(size)
        out.append(setup.settings.visibility * total / trials)
    return np.array(out)


@dataclass(frozen=True)
class DriftTracking:
    """Per calibration window: time, raw drift, compensation, residual (all Hz) and temperature."""

    time_h: np.ndarray
    drift_hz: np.ndarray
    compensation_hz: np.ndarray
    residual_hz: np.ndarray
    temperature_c: np.ndarray
    seed: dict[str, object] = field(default_factory=dict)

    def max_abs_residual_hz(self, *, settle_windows: int = SETTLE_WINDOWS) -> float:
        """Largest |residual| after the first windows (the loop starts with no compensation)."""
        return float(np.abs(self.residual_hz[settle_windows:]).max())


def minimum_tracking_hours(setup: StabilizationSetup) -> float:
    """The shortest tracking run with a residual after the settling windows."""
    return (SETTLE_WINDOWS + 1) * setup.calibration.window_s / S_PER_H


def check_tracking_hours(setup: StabilizationSetup, hours: object) -> float:
    """A tracking duration: positive and at least :func:`minimum_tracking_hours`."""
    hours = check("hours", hours, Positive)
    shortest = minimum_tracking_hours(setup)
    if hours < shortest:
        raise ConfigError.at(
            "hours", f"{hours:g} h is shorter than the {SETTLE_WINDOWS + 1} calibration windows "
            f"({shortest * S_PER_H:g} s) the drift tracking needs; allowed: >= {shortest:.6g} h"
        )
    return hours


def tracking_trials(setup: StabilizationSetup, hours: float) -> int:
    return int(hours * S_PER_H * setup.settings.repetition_rate_hz)


def drift_tracking(
    setup: StabilizationSetup,
    *,
    hours: float,
    seed: Seed,
    calibration: FrequencyCalibration | None = None,
    drift: FrequencyDrift | None = None,
    progress: Progress | None = None,
) -> DriftTracking:
    """Run the loop trial by trial for ``hours`` with the cavity drift and the calibration (Fig. 2d)."""
    hours = check_tracking_hours(setup, hours)
    if drift is None:
        drift = setup.drift(hours=hours, seed=child(seed, 0))
    loop = _loop(setup, child(seed, 1), drift=drift, calibration=calibration or setup.calibration)
    # Whole windows, keeping only the window log: memory stays flat however long the run.
    total = tracking_trials(setup, hours)
    step = max(1, CHUNK_TRIALS // loop.window_trials) * loop.window_trials
    for done in range(0, total, step):
        size = min(step, total - done)
        loop.run(size)
        if progress is not None:
            progress(size)
    log = loop.log.arrays()
    time_h = log["time_s"] / S_PER_H
    return DriftTracking(
        time_h=time_h,
        drift_hz=log["drift_hz"],
        compensation_hz=log["compensation_hz"],
        residual_hz=log["residual_hz"],
        temperature_c=drift.temperature.temperature_c(time_h),
        seed=seed_record(seed),
    )


__all__ = [
    "DriftTracking",
    "PhaseSummary",
    "PhotonScan",
    "ResidualPhase",
    "StabilizationSetup",
    "check_tracking_hours",
    "check_trials",
    "constant_offset",
    "drift_tracking",
    "minimum_tracking_hours",
    "residual_phase",
    "sigma_versus_photons",
    "stabilization_setup",
    "visibility_versus_frequency",
    "visibility_versus_phase",
]
