"""Lab-time durations on the command line: ``76h``, ``90min``, ``3600s``, ``2d`` or plain seconds."""

from __future__ import annotations

import math
import re

from metroqnet.config.errors import ConfigError

UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(?P<value>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>s|min|h|d)?\s*$")


def parse_duration_s(text: str, *, field: str = "--duration") -> float:
    """Seconds in ``text``; refused unless a positive number with an optional unit s, min, h or d."""
    match = _PATTERN.match(text)
    if match is None:
        raise ConfigError(f"{field}: {text!r} is not a duration; use a number with unit s, min, h or d, e.g. 76h")
    seconds = float(match["value"]) * UNIT_SECONDS[match["unit"] or "s"]
    if not math.isfinite(seconds):
        raise ConfigError(f"{field}: {text!r} is too long to represent; give a finite duration")
    if seconds <= 0:
        raise ConfigError(f"{field}: {text!r} must be longer than zero")
    return seconds
