"""Memory retrieval efficiency as a function of storage time.

η_ret(t) = η₀ · f(t) with f(t) = exp(-(t/τ)^β): τ the 1/e time and β the decay exponent,
β = 1 an exponential decay, β = 2 a Gaussian one (motional dephasing of a cold-atom spin
wave: atoms moving across the spin wave's grating), values between a stretched mix of
the two. Only β ∈ [1, 2] is allowed: the laws a cold ensemble's storage follows lie
between those two, and a wider β would let a fit bend the curve without physics behind it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.hardware import MemoryDecayExponent
from metroqnet.config.validation import NonNegative, Positive, Probability, check, check_array, output

#: β of exp(-(t/τ)^β) of the two textbook laws.
EXPONENTIAL = 1.0
GAUSSIAN = 2.0


def memory_decay_factor(storage_us: ArrayLike, *, lifetime_us: float, exponent: float) -> float | np.ndarray:
    """f = exp(-(t/τ)^β): 1 at t = 0, 1/e at t = τ for every β in [1, 2]."""
    beta = check("exponent", exponent, MemoryDecayExponent)
    t_us = check_array("storage_us", storage_us, NonNegative)
    tau_us = check_array("lifetime_us", lifetime_us, Positive)
    return output(np.exp(-((t_us / tau_us) ** beta)))


def retrieval_efficiency(
    storage_us: ArrayLike,
    *,
    efficiency_zero_storage: float,
    lifetime_us: float,
    exponent: float,
) -> float | np.ndarray:
    """η_ret(t) = η₀ · exp(-(t/τ)^β): probability a stored excitation comes out as a read-out photon."""
    eta0 = check_array("efficiency_zero_storage", efficiency_zero_storage, Probability)
    return output(eta0 * memory_decay_factor(storage_us, lifetime_us=lifetime_us, exponent=exponent))
