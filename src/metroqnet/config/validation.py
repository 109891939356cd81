"""Field checks shared by every frozen parameter object.

Each check raises :class:`ConfigError` naming the field, the value and the
allowed range, so a bad preset never fails deep inside the physics.
"""

from __future__ import annotations

import math
from numbers import Real

from metroqnet.config.errors import ConfigError


def require_number(name: str, value: object) -> float:
    """Return ``value`` as a finite float, or refuse it."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(f"{name}: expected a number, got {value!r} ({type(value).__name__})")
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ConfigError(f"{name}: expected a finite number, got {value!r}")
    return as_float


def require_range(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float inside the stated interval, or refuse it."""
    number = require_number(name, value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ConfigError(f"{name}: {value!r} is outside the allowed range {left}{low_text}, {high_text}{right}")
    return number


def require_probability(name: str, value: object) -> float:
    """A probability in [0, 1]."""
    return require_range(name, value, low=0.0, high=1.0)


def require_efficiency(name: str, value: object) -> float:
    """A transmission or efficiency in [0, 1] (an efficiency above 1 is unphysical)."""
    return require_range(name, value, low=0.0, high=1.0)


def require_non_negative(name: str, value: object) -> float:
    """A length, rate, time or photon number: finite and >= 0."""
    return require_range(name, value, low=0.0)


def require_positive(name: str, value: object) -> float:
    """A strictly positive quantity (a window, a repetition rate, a lifetime)."""
    return require_range(name, value, low=0.0, low_open=True)


def refuse_unknown_keys(where: str, given: object, allowed: set[str] | frozenset[str]) -> None:
    """Refuse a mapping with keys outside ``allowed`` (typos must not pass silently)."""
    unknown = sorted(set(given) - set(allowed))  # type: ignore[arg-type]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(repr(k) for k in unknown)}; allowed keys are "
            f"{', '.join(sorted(allowed))}"
        )
