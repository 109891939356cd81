"""Entanglement-probe (EP) pulse: a coherent state of mean μ (counted as detected).

A fraction ``mode_overlap`` of its intensity is in the read-out's mode and
interferes with amplitude √(overlap · μ); the rest, (1 - overlap) · μ, is in
orthogonal modes and only adds Poisson clicks (``docs/link_model.md``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.validation import NonNegative, Probability, check_array, output


def _inputs(mean_photon_number: ArrayLike, mode_overlap: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    mean = check_array("mean_photon_number", mean_photon_number, NonNegative)
    overlap = check_array("mode_overlap", mode_overlap, Probability)
    return mean, overlap


def probe_interfering_amplitude(mean_photon_number: ArrayLike, *, mode_overlap: ArrayLike) -> float | np.ndarray:
    """√(overlap · μ): the coherent amplitude in the read-out's mode (real, positive)."""
    mean, overlap = _inputs(mean_photon_number, mode_overlap)
    return output(np.sqrt(overlap * mean))


def probe_non_interfering_mean(mean_photon_number: ArrayLike, *, mode_overlap: ArrayLike) -> float | np.ndarray:
    """(1 - overlap) · μ: mean photons that do not interfere."""
    mean, overlap = _inputs(mean_photon_number, mode_overlap)
    return output((1.0 - overlap) * mean)
