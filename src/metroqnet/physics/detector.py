"""Threshold (click / no-click) detectors.

Noise counts are a Poisson process: P(noise click in a window) = 1 - exp(-R · w).
Light of Poisson mean μ clicks with probability 1 - exp(-μ); with independent
noise p_n, P(click) = 1 - (1 - p_n) exp(-μ). ``-expm1`` keeps precision at
weak settings (R·w ~ 1e-5).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.units import S_PER_NS
from metroqnet.config.validation import NonNegative, Probability, check_array, output



def noise_click_probability(rate_hz: ArrayLike, *, window_ns: ArrayLike) -> float | np.ndarray:
    """1 - exp(-R · w) for a noise rate R (Hz) in a window w (ns)."""
    rate = check_array("rate_hz", rate_hz, NonNegative)
    window_s = check_array("window_ns", window_ns, NonNegative) * S_PER_NS
    return output(-np.expm1(-rate * window_s))


def threshold_click_probability(mean_photon_number: ArrayLike) -> float | np.ndarray:
    """1 - exp(-μ): a threshold detector clicks on Poisson light of mean μ."""
    mean = check_array("mean_photon_number", mean_photon_number, NonNegative)
    return output(-np.expm1(-mean))


def click_probability_with_noise(
    mean_photon_number: ArrayLike, *, noise_probability: ArrayLike
) -> float | np.ndarray:
    """1 - (1 - p_n) exp(-μ): light or an independent noise click."""
    mean = check_array("mean_photon_number", mean_photon_number, NonNegative)
    p_noise = check_array("noise_probability", noise_probability, Probability)
    return output(1.0 - (1.0 - p_noise) * np.exp(-mean))
