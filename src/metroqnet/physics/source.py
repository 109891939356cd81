"""DLCZ write: a two-mode squeezed vacuum between the atomic mode and the write-out photon.

With χ = P(n >= 1) (the paper's excitation probability, = tanh² r):
P(n) = (1 - χ) χⁿ (thermal statistics of each mode), mean n̄ = χ / (1 - χ),
P(n >= 2) = χ². Scalars give floats; arrays broadcast.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.validation import ExcitationProbability, NonNegative, check_array, output


def _chi(excitation_probability: ArrayLike) -> np.ndarray:
    return check_array("excitation_probability", excitation_probability, ExcitationProbability)


def photon_number_probability(n: ArrayLike, *, excitation_probability: ArrayLike) -> float | np.ndarray:
    """P(n) = (1 - χ) χⁿ for n = 0, 1, 2, ... excitations (and as many write-out photons)."""
    n_array = check_array("n", n, NonNegative)
    if np.any(n_array != np.round(n_array)):
        raise ValueError(f"n: expected whole numbers of excitations, got {n!r}")
    chi = _chi(excitation_probability)
    return output((1.0 - chi) * chi**n_array)


def mean_photon_number(*, excitation_probability: ArrayLike) -> float | np.ndarray:
    """n̄ = χ / (1 - χ) (= sinh² r)."""
    chi = _chi(excitation_probability)
    return output(chi / (1.0 - chi))


def excitation_probability_from_mean(mean_photon_number: ArrayLike) -> float | np.ndarray:
    """χ = n̄ / (1 + n̄), the inverse of :func:`mean_photon_number`."""
    mean = check_array("mean_photon_number", mean_photon_number, NonNegative)
    return output(mean / (1.0 + mean))


def multi_excitation_probability(*, excitation_probability: ArrayLike) -> float | np.ndarray:
    """P(n >= 2) = χ² (the source of the multi-excitation error)."""
    chi = _chi(excitation_probability)
    return output(chi**2)
