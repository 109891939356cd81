"""Domain checks for the vectorized physics functions (scalars or numpy arrays).

A value outside its domain (negative length, χ >= 1, NaN) is refused with a
:class:`ConfigError` naming the argument, instead of returning a silent NaN or
a transmission above one.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.errors import ConfigError


def checked(
    name: str,
    value: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> np.ndarray:
    """``value`` as a float array, refused if any element is non-finite or outside the interval."""
    if isinstance(value, bool | np.bool_):
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a number or an array of numbers, got {value!r}") from None
    bad = ~np.isfinite(array)
    if low is not None:
        bad |= array <= low if low_open else array < low
    if high is not None:
        bad |= array >= high if high_open else array > high
    if np.any(bad):
        first = array[bad].flat[0] if array.ndim else array.item()
        left, right = ("(" if low_open else "["), (")" if high_open else "]")
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ConfigError(f"{name}: {first!r} is outside the allowed range {left}{low_text}, {high_text}{right}")
    return array


def output(result: np.ndarray) -> float | np.ndarray:
    """A Python float for a 0-d result, else the array."""
    result = np.asarray(result)
    return float(result) if result.ndim == 0 else result
