"""Threshold (click / no-click) detectors.

Noise counts are a Poisson process: P(noise click in a window) = 1 - exp(-R · w).
Light of Poisson mean μ clicks with probability 1 - exp(-μ); with independent
noise p_n, P(click) = 1 - (1 - p_n) exp(-μ). ``-expm1`` keeps precision at
weak settings (R·w ~ 1e-5).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.physics._domain import checked, output

_NS_PER_S = 1e9


def noise_click_probability(rate_hz: ArrayLike, *, window_ns: ArrayLike) -> float | np.ndarray:
    """1 - exp(-R · w) for a noise rate R (Hz) in a window w (ns)."""
    rate = checked("rate_hz", rate_hz, low=0.0)
    window_s = checked("window_ns", window_ns, low=0.0) / _NS_PER_S
    return output(-np.expm1(-rate * window_s))


def threshold_click_probability(mean_photon_number: ArrayLike) -> float | np.ndarray:
    """1 - exp(-μ): a threshold detector clicks on Poisson light of mean μ."""
    mean = checked("mean_photon_number", mean_photon_number, low=0.0)
    return output(-np.expm1(-mean))


def click_probability_with_noise(
    mean_photon_number: ArrayLike, *, noise_probability: ArrayLike
) -> float | np.ndarray:
    """1 - (1 - p_n) exp(-μ): light or an independent noise click."""
    mean = checked("mean_photon_number", mean_photon_number, low=0.0)
    p_noise = checked("noise_probability", noise_probability, low=0.0, high=1.0)
    return output(1.0 - (1.0 - p_noise) * np.exp(-mean))
