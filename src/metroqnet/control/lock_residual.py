"""The tracking lock's residual when it does not slip: a closed form beside the simulation.

With the lock near its point (|φ − θ| small at each probe, the reading's arcsine far from
±π/2), round r's correction is e_r = x_r + ε_r, x_r = φ(t_r) − θ before the round and ε_r the
estimate's error, zero-mean with the variance σ_e² of arcsin(clip(ŝ, ±1)) at φ = θ
(:func:`estimate_error_variance_rad2`, an exact sum over the two detectors' Poisson counts).
Round gains (1, 1/2) leave θ on the mean of the two rounds' estimates, so the residual at the
write is

    two rounds:  φ(t_w) − (φ(t₁) + φ(t₂))/2 − (ε₁ + ε₂)/2,
                 σ² = D(t_w − t₁)/2 + D(t_w − t₂)/2 − D(t₂ − t₁)/4 + σ_e²/2,
    one round:   φ(t_w) − φ(t₁) − ε₁,            σ² = D(t_w − t₁) + σ_e²,

with D the structure function of the link's phase noise (lasers and fibres) and t the probes'
middles and the write (:attr:`~metroqnet.control.phase_loop.PhaseLoopSettings.sample_offsets_ns`).
It neglects what the phase does between trials, except through the estimates' error: a round
that starts at x has an error of variance ≈ σ_e²/cos²x, so the form is a lower bound that holds to
~1 % (two rounds) or ~2 % (one round) when the phase moves by ≲ 0.2 rad between trials, and
fails where the lock slips (moves near π/2 and beyond). Dark counts are included.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from metroqnet.config.units import NS_PER_S
from metroqnet.control.phase_loop import PhaseLoopSettings

__all__ = ["estimate_error_variance_rad2", "small_error_residual_std_rad"]

#: The Poisson sums stop where a detector's count has less than this tail left.
_TAIL = 1e-15


def estimate_error_variance_rad2(settings: PhaseLoopSettings) -> float:
    """E[arcsin(clip(ŝ, ±1))²] at φ = θ: each detector Poisson(n/2 + dark), ŝ = (N1 − N2)/(V(N1 + N2)), 0 without counts."""
    mean = 0.5 * settings.detected_probe_photons + settings.dark_counts_per_probe
    top = int(stats.poisson.isf(_TAIL, mean)) + 2
    counts = np.arange(top)
    pmf = stats.poisson.pmf(counts, mean)
    d1, d2 = np.meshgrid(counts, counts, indexing="ij")
    total = d1 + d2
    with np.errstate(invalid="ignore", divide="ignore"):
        reading = np.where(total > 0, (d1 - d2) / (settings.visibility * total), 0.0)
    error = np.arcsin(np.clip(reading, -1.0, 1.0))
    return float(np.sum(np.outer(pmf, pmf) * error**2))


def small_error_residual_std_rad(settings: PhaseLoopSettings, noise) -> float:
    """σ of the residual at the write when the lock does not slip (module docstring); ``noise`` gives D(τ)."""
    offsets_s = settings.sample_offsets_ns / NS_PER_S

    def structure(lag_s: float) -> float:
        return float(noise.structure_function_rad2(abs(lag_s)))

    error = estimate_error_variance_rad2(settings)
    if settings.rounds == 2:
        t1, t2, write = offsets_s
        variance = 0.5 * structure(write - t1) + 0.5 * structure(write - t2) - 0.25 * structure(t2 - t1) + 0.5 * error
    else:
        t1, write = offsets_s
        variance = structure(write - t1) + error
    return math.sqrt(variance)
