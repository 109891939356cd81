"""Command-line values, parsed into what the library takes, with one-line refusals naming the option."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from metroqnet.config.errors import ConfigError
from metroqnet.config.units import S_PER_DAY, S_PER_H, S_PER_MIN
from metroqnet.config.validation import INT64_MAX

UNIT_SECONDS = {"s": 1.0, "min": S_PER_MIN, "h": S_PER_H, "d": S_PER_DAY}
_DURATION = re.compile(r"^\s*(?P<value>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$")
_WHOLE = re.compile(r"^\s*[+]?(?:[0-9][0-9_]*)(?:\.[0-9]*)?(?:[eE][+]?[0-9]+)?\s*$")


def whole_number(text: str, *, option: str, low: int = 0, high: int = INT64_MAX) -> int:
    """An integer written as ``1000000``, ``1_000_000`` or ``1e6`` (any exact whole number) in [low, high]."""
    if not _WHOLE.match(text):
        raise ConfigError.at(option, f"{text!r} is not a whole number (e.g. 1000000 or 1e6); allowed: [{low}, {high}]")
    value = Fraction(text.strip().replace("_", ""))
    if value.denominator != 1:
        raise ConfigError.at(option, f"{text!r} is not a whole number; allowed: integers in [{low}, {high}]")
    number = int(value)
    if not low <= number <= high:
        raise ConfigError.at(option, f"{text!r} is outside the allowed range [{low}, {high}]")
    return number


def seed_value(text: str, *, option: str = "--seed") -> int:
    """A seed: an integer >= 0 (decimal digits)."""
    if not re.fullmatch(r"\s*[0-9]+\s*", text):
        raise ConfigError.at(option, f"{text!r} is not a seed; allowed: an integer >= 0, e.g. 2024")
    return int(text)


def duration_s(text: str, *, option: str = "--duration") -> float:
    """Seconds in ``text``: a positive number with a unit s, min, h or d (``76h``, ``90min``, ``3600s``)."""
    match = _DURATION.match(text)
    units = ", ".join(UNIT_SECONDS)
    if match is None:
        raise ConfigError.at(option, f"{text!r} is not a duration; use a number with a unit ({units}), e.g. 76h")
    if not match["unit"]:
        raise ConfigError.at(option, f"{text!r} has no unit; use one of {units}, e.g. {match['value']}s")
    if match["unit"] not in UNIT_SECONDS:
        raise ConfigError.at(option, f"{text!r}: unknown unit {match['unit']!r}; use one of {units}, e.g. 76h")
    seconds = float(match["value"]) * UNIT_SECONDS[match["unit"]]
    if not math.isfinite(seconds):
        raise ConfigError.at(option, f"{text!r} is too long to represent; give a finite duration")
    if seconds <= 0:
        raise ConfigError.at(option, f"{text!r} must be longer than zero")
    return seconds


def positive_number(text: str, *, option: str, high: float = math.inf) -> float:
    """A finite number > 0 (and <= ``high``)."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError.at(option, f"{text!r} is not a number; allowed: (0, {high:g}]") from None
    if not math.isfinite(value) or not 0 < value <= high:
        raise ConfigError.at(option, f"{text!r} is outside the allowed range (0, {high:g}]")
    return value


def non_negative_number(text: str, *, option: str) -> float:
    """A finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError.at(option, f"{text!r} is not a number; allowed: [0, inf)") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError.at(option, f"{text!r} is outside the allowed range [0, inf)")
    return value


def basis_weights(text: str, *, option: str = "--basis-weights") -> tuple[float, float, float]:
    """Three finite weights >= 0 for Z, X, Y with a positive sum."""
    parts = text.split(",")
    try:
        weights = tuple(float(part) for part in parts)
    except ValueError:
        weights = ()
    if len(weights) != 3 or not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError.at(option, f"{text!r} is not three weights >= 0 for Z,X,Y with a positive sum, e.g. 1,1,1")
    return weights  # type: ignore[return-value]
