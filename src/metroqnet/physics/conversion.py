"""Quantum frequency conversion (795 nm → 1342 nm): end-to-end efficiency and noise photons.

``qfc_efficiency`` is end to end (conversion, noise filtering, fibre coupling),
so the module is a pure-loss channel of that transmission for the write-out
photon. Its noise (anti-Stokes Raman of the pump) is a rate of photons at the
module output inside the write-out filter; downstream loss thins it like any
photon stream.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.validation import NonNegative, Probability, check_array, output


def conversion_transmission(*, qfc_efficiency: ArrayLike) -> float | np.ndarray:
    """Transmission of the write-out photon through the QFC module (its end-to-end efficiency)."""
    return output(check_array("qfc_efficiency", qfc_efficiency, Probability))


def noise_rate_after_hz(*, qfc_noise_rate_hz: ArrayLike, transmission: ArrayLike) -> float | np.ndarray:
    """Noise photon rate after a downstream transmission T (fibre, switch, detector): rate · T."""
    rate = check_array("qfc_noise_rate_hz", qfc_noise_rate_hz, NonNegative)
    t = check_array("transmission", transmission, Probability)
    return output(rate * t)
