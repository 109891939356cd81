"""Least-squares fit of y(θ) = a·cos θ + b·sin θ + c: amplitude, phase and their standard errors.

Written for a correlator scanned against a local phase (Fig. 4a,b of the paper), and
for a lab's points as well as a simulation's. a·cos θ + b·sin θ = A cos(θ − φ) with
A = √(a² + b²) and φ = atan2(b, a): φ is the θ of the maximum, so two links whose
maxima sit π/2 apart have phases π/2 apart. With standard errors given, the fit is
weighted by 1/stderr² and the parameters' covariance is (Mᵀ W M)⁻¹ (M the design
matrix); φ's error is the first-order propagation through atan2. Without, the fit is
plain least squares and carries no errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.errors import ConfigError

#: An amplitude at or below this many ulps of the data's scale is no oscillation: its phase is NaN.
FLAT_ULPS = 64.0


@dataclass(frozen=True)
class SinusoidFit:
    """y ≈ cos_coefficient·cos θ + sin_coefficient·sin θ + offset = amplitude·cos(θ − phase_rad) + offset.

    ``phase_rad`` in (−π, π] is NaN where the amplitude is within rounding of 0 (a flat curve has
    no phase). ``*_stderr`` are None for an unweighted fit.
    """

    cos_coefficient: float
    sin_coefficient: float
    offset: float
    amplitude: float
    phase_rad: float
    residual_rms: float
    amplitude_stderr: float | None = None
    phase_stderr_rad: float | None = None
    offset_stderr: float | None = None

    def __call__(self, theta_rad: ArrayLike) -> np.ndarray:
        theta = np.asarray(theta_rad, dtype=float)
        return self.cos_coefficient * np.cos(theta) + self.sin_coefficient * np.sin(theta) + self.offset

    def as_dict(self) -> dict[str, float | None]:
        return {name: _finite_or_none(getattr(self, name)) for name in self.__dataclass_fields__}


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def fit_sinusoid(theta_rad: ArrayLike, values: ArrayLike, *, stderr: ArrayLike | None = None) -> SinusoidFit:
    """Fit a·cos θ + b·sin θ + c to ``values`` at ``theta_rad`` (weighted by 1/stderr² when given).

    Needs at least three distinct angles (mod 2π) so that a, b, c are determined.
    """
    theta = np.asarray(theta_rad, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if theta.size != y.size:
        raise ConfigError(f"values: {y.size} values for {theta.size} angles")
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(y))):
        raise ConfigError("theta_rad, values: must be finite")
    design = np.stack([np.cos(theta), np.sin(theta), np.ones_like(theta)], axis=1)
    if theta.size < 3 or np.linalg.matrix_rank(design) < 3:
        raise ConfigError(f"theta_rad: {theta.tolist()!r} needs at least three distinct angles (mod 2π) to fit "
                          "a·cos θ + b·sin θ + c")
    weights = None
    if stderr is not None:
        sigma = np.asarray(stderr, dtype=float).ravel()
        if sigma.shape != y.shape or not np.all(np.isfinite(sigma)) or (sigma <= 0).any():
            raise ConfigError("stderr: one finite, positive standard error per value")
        weights = 1.0 / sigma
    scaled_design = design if weights is None else design * weights[:, None]
    scaled_y = y if weights is None else y * weights
    (a, b, c), *_ = np.linalg.lstsq(scaled_design, scaled_y, rcond=None)
    amplitude = math.hypot(a, b)
    scale = max(float(np.max(np.abs(y))), np.finfo(float).tiny)
    flat = amplitude <= FLAT_ULPS * np.finfo(float).eps * scale
    phase = math.nan if flat else math.atan2(b, a)
    if phase == -math.pi:  # atan2(-0.0, -1): keep (−π, π]
        phase = math.pi
    residual = y - design @ np.array([a, b, c])
    errors: dict[str, float | None] = {"amplitude_stderr": None, "phase_stderr_rad": None, "offset_stderr": None}
    if weights is not None:
        covariance = np.linalg.inv(scaled_design.T @ scaled_design)
        errors["offset_stderr"] = math.sqrt(covariance[2, 2])
        if not flat:
            amplitude_gradient = np.array([a, b]) / amplitude
            phase_gradient = np.array([-b, a]) / amplitude**2
            errors["amplitude_stderr"] = math.sqrt(amplitude_gradient @ covariance[:2, :2] @ amplitude_gradient)
            errors["phase_stderr_rad"] = math.sqrt(phase_gradient @ covariance[:2, :2] @ phase_gradient)
    return SinusoidFit(
        cos_coefficient=float(a), sin_coefficient=float(b), offset=float(c), amplitude=amplitude, phase_rad=phase,
        residual_rms=float(np.sqrt(np.mean(np.square(residual)))), **errors,
    )


def phase_difference_rad(first: float, second: float) -> float:
    """``first − second`` wrapped to (−π, π]; NaN if either is NaN."""
    difference = math.remainder(first - second, 2.0 * math.pi)
    return math.pi if difference == -math.pi else difference
