"""Per-step coefficients, computed once per period when the time grid repeats.

A control loop samples the same few instants in every trial, so the steps
between samples repeat with a short period. The coefficients of an exact
discretization are elementwise functions of the step, so they are evaluated on
one period and copied — the same numbers as evaluating every step, at the cost
of a copy (tested bit for bit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

MAX_PERIOD = 64
#: Length of the quick check a candidate period must pass before the full comparison.
_PROBE = 4 * MAX_PERIOD
_ROW = 1024


def period_of(steps: np.ndarray) -> int | None:
    """The smallest p <= MAX_PERIOD with steps[k + p] == steps[k] for every k >= 1, else None."""
    body = steps[1:]
    if body.size < 2 * MAX_PERIOD:
        return None
    probe = body[: _PROBE + MAX_PERIOD]
    for p in np.flatnonzero(body[1 : MAX_PERIOD + 1] == body[0]) + 1:
        p = int(p)
        if np.array_equal(probe[p:], probe[:-p]) and np.array_equal(body[p:], body[:-p]):
            return p
    return None


def per_step(
    steps: np.ndarray,
    coefficients: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    cache: dict[str, Any] | None = None,
) -> tuple[np.ndarray, ...]:
    """``coefficients(steps)`` (an elementwise function returning float arrays), one period at a time if periodic.

    With ``cache`` (a dict owned by the caller), the arrays of the last periodic
    grid are kept and returned again, read-only, for the same grid (the next
    slice of a run).
    """
    p = period_of(steps)
    if p is None:
        return coefficients(steps)
    key = (p, steps.size, int(steps[0]), steps[1 : 1 + p].tobytes())
    if cache is not None:
        last = cache.get("per_step")
        if last is not None and last[0] == key:
            return last[1]
    head = coefficients(steps[: 1 + p])
    n = steps.size
    width = p * max(1, _ROW // p)  # copy whole rows of about _ROW values, not rows of p
    rows, rest = divmod(n - 1, width)
    out = []
    for values in head:
        row = np.tile(values[1:], width // p)
        full = np.empty(n)
        full[0] = values[0]
        full[1 : 1 + rows * width].reshape(rows, width)[:] = row
        full[1 + rows * width :] = row[:rest]
        full.setflags(write=False)
        out.append(full)
    result = tuple(out)
    if cache is not None:
        cache["per_step"] = (key, result)
    return result
