"""The paper's Fig. 2 on the twin: phase stabilization and frequency calibration.

* (b) residual phase with and without stabilization, as the additional probe 5 µs after the
  feedback sees it (quadrature-biased, so it reads sin of the residual with its own shot noise)
  and as the write sees it; visibility of that probe pair versus a set phase θ;
* σ of the residual versus probe photons, beside the shot-noise limit 1/(V√n);
* (c) visibility versus a deliberate frequency difference between the nodes (no calibration);
* (d) drift tracking: raw drift, compensation, residual Δf and temperature per calibration window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from metroqnet.control.defaults import hefei_frequency_drift, hefei_link_phase
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.control.phase_loop import (
    FrequencyCalibration,
    PhaseLoop,
    PhaseLoopSettings,
    probe_quadrature,
    wrap,
)
from metroqnet.noise.sums import pooled
from metroqnet.physics.temperature import TemperatureRecord


def hefei_noise():
    """The lasers and fibres of a Hefei-like link, pooled (same distribution, faster)."""
    return pooled(hefei_link_phase(drift=False))


def constant_offset(offset_khz: float, duration_h: float) -> FrequencyDrift:
    """A fixed frequency difference between the nodes (a flat temperature record)."""
    record = TemperatureRecord(times_h=np.array([0.0, duration_h]), temperatures_c=np.array([22.0, 22.0]))
    return FrequencyDrift(temperature=record, coefficient_khz_per_k=0.0, offset_khz=offset_khz)


@dataclass(frozen=True)
class ResidualPhase:
    """Residual phase at the write (what the entanglement sees) and as the additional probe measures it."""

    at_write_rad: np.ndarray
    measured_rad: np.ndarray

    @property
    def std_deg(self) -> float:
        return float(np.degrees(self.at_write_rad.std()))

    @property
    def measured_std_deg(self) -> float:
        return float(np.degrees(self.measured_rad.std()))

    @property
    def excess_kurtosis(self) -> float:
        """0 for a Gaussian."""
        centred = self.at_write_rad - self.at_write_rad.mean()
        return float((centred**4).mean() / centred.var() ** 2 - 3.0)


def residual_phase(
    *,
    trials: int,
    seed: int,
    settings: PhaseLoopSettings = PhaseLoopSettings(),
    noise=None,
    stabilize: bool = True,
) -> ResidualPhase:
    """Run the loop (no drift) and read each trial's residual with an additional quadrature probe."""
    loop = PhaseLoop(settings, noise=noise or hefei_noise(), stabilize=stabilize, seed=seed)
    residual = loop.advance(trials).residual_rad
    reading = probe_quadrature(residual, settings, np.random.default_rng([seed, 1]), bias_rad=-0.5 * math.pi)
    return ResidualPhase(at_write_rad=residual, measured_rad=np.arcsin(reading))


@dataclass(frozen=True)
class PhotonScan:
    photons_per_node: np.ndarray
    std_deg: np.ndarray
    shot_noise_limit_deg: np.ndarray


def sigma_versus_photons(
    photons_per_node: Sequence[float], *, trials: int, seed: int, settings: PhaseLoopSettings = PhaseLoopSettings()
) -> PhotonScan:
    """σ of the residual at the write for each probe photon number, and 1/(V√n) beside it."""
    stds, limits = [], []
    for photons in photons_per_node:
        point = replace(settings, probe_photons_per_node=float(photons))
        stds.append(residual_phase(trials=trials, seed=seed, settings=point).std_deg)
        limits.append(math.degrees(point.shot_noise_limit_rad))
    return PhotonScan(np.asarray(photons_per_node, dtype=float), np.asarray(stds), np.asarray(limits))


def visibility_versus_phase(
    set_phases_rad: Sequence[float], *, trials: int, seed: int, settings: PhaseLoopSettings = PhaseLoopSettings()
) -> np.ndarray:
    """Mean (N1 − N2)/(N1 + N2) of the additional probe pair with a set phase θ added (Fig. 2b, pink)."""
    residual = residual_phase(trials=trials, seed=seed, settings=settings).at_write_rad
    rng = np.random.default_rng([seed, 2])
    return np.array(
        [settings.visibility * probe_quadrature(residual + theta, settings, rng).mean() for theta in set_phases_rad]
    )


def visibility_versus_frequency(
    offsets_khz: Sequence[float], *, trials: int, seed: int, settings: PhaseLoopSettings = PhaseLoopSettings()
) -> np.ndarray:
    """Visibility of the additional probe after the feedback, with a fixed Δf and no calibration (Fig. 2c)."""
    duration_h = 2.0 * trials / settings.repetition_rate_hz / 3600.0 + 1e-3
    out = []
    for offset in offsets_khz:
        loop = PhaseLoop(
            settings,
            noise=hefei_noise(),
            drift=constant_offset(offset, duration_h),
            calibration=FrequencyCalibration(enabled=False),
            seed=seed,
        )
        residual = loop.advance(trials).residual_rad
        rng = np.random.default_rng([seed, 3])
        out.append(settings.visibility * probe_quadrature(residual, settings, rng).mean())
    return np.array(out)


@dataclass(frozen=True)
class DriftTracking:
    """Per calibration window: time, raw drift, compensation, residual (all Hz) and temperature."""

    time_h: np.ndarray
    drift_hz: np.ndarray
    compensation_hz: np.ndarray
    residual_hz: np.ndarray
    temperature_c: np.ndarray

    def max_abs_residual_hz(self, *, settle_windows: int = 3) -> float:
        """Largest |residual| after the first windows (the loop starts with no compensation)."""
        return float(np.abs(self.residual_hz[settle_windows:]).max())


def drift_tracking(
    *,
    hours: float,
    seed: int,
    settings: PhaseLoopSettings = PhaseLoopSettings(),
    calibration: FrequencyCalibration = FrequencyCalibration(),
    drift: FrequencyDrift | None = None,
    progress=None,
) -> DriftTracking:
    """Run the loop trial by trial for ``hours`` with the cavity drift and the calibration (Fig. 2d)."""
    if drift is None:
        drift = hefei_frequency_drift(rng=np.random.default_rng([seed, 4]), duration_h=hours + 0.01)
    loop = PhaseLoop(settings, noise=hefei_noise(), drift=drift, calibration=calibration, seed=seed)
    total = int(hours * 3600.0 * settings.repetition_rate_hz)
    chunk = 1 << 20
    for done in range(0, total, chunk):
        loop.advance(min(chunk, total - done))
        if progress is not None:
            progress(min(done + chunk, total), total)
    log = loop.log.arrays()
    time_h = log["time_s"] / 3600.0
    return DriftTracking(
        time_h=time_h,
        drift_hz=log["drift_hz"],
        compensation_hz=log["compensation_hz"],
        residual_hz=log["residual_hz"],
        temperature_c=drift.temperature.temperature_c(time_h),
    )


__all__ = [
    "DriftTracking",
    "PhotonScan",
    "ResidualPhase",
    "constant_offset",
    "drift_tracking",
    "hefei_noise",
    "residual_phase",
    "sigma_versus_photons",
    "visibility_versus_frequency",
    "visibility_versus_phase",
    "wrap",
]
