"""Memory retrieval efficiency as a function of storage time.

η_ret(t) = η₀ · f(t/τ) with τ the 1/e time and
``gaussian``: f = exp(-(t/τ)²) (motional dephasing of a cold-atom spin wave),
``exponential``: f = exp(-t/τ).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import NonNegative, Positive, Probability, check_array, output

#: One law per name in ``metroqnet.config.hardware.MEMORY_DECAY_MODELS`` (a test checks they agree).
DECAY_LAWS = {
    "gaussian": lambda x: np.exp(-(x**2)),
    "exponential": lambda x: np.exp(-x),
}


def memory_decay_factor(storage_us: ArrayLike, *, lifetime_us: float, decay: str = "gaussian") -> float | np.ndarray:
    """f(t/τ): 1 at t = 0, 1/e at t = τ, for the named decay law."""
    if decay not in DECAY_LAWS:
        raise ConfigError(f"decay: {decay!r} is not a memory decay law; allowed: {', '.join(map(repr, DECAY_LAWS))}")
    t_us = check_array("storage_us", storage_us, NonNegative)
    tau_us = check_array("lifetime_us", lifetime_us, Positive)
    return output(DECAY_LAWS[decay](t_us / tau_us))


def retrieval_efficiency(
    storage_us: ArrayLike,
    *,
    efficiency_zero_storage: float,
    lifetime_us: float,
    decay: str = "gaussian",
) -> float | np.ndarray:
    """η_ret(t) = η₀ · f(t/τ): probability a stored excitation comes out as a read-out photon."""
    eta0 = check_array("efficiency_zero_storage", efficiency_zero_storage, Probability)
    return output(eta0 * memory_decay_factor(storage_us, lifetime_us=lifetime_us, decay=decay))
