"""Pareto fronts of design points: which points no other point beats in every objective.

A point is on the front when no other point is at least as good in every
objective and strictly better in one. Exact duplicates do not dominate each
other, so both stay on the front. A row with a NaN in any objective is never
on the front and never dominates anything (a figure that could not be computed
is not a trade-off). Two objectives use an O(n log n) sort-and-sweep; more use
a blocked O(n²) comparison that keeps memory bounded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.errors import ConfigError

__all__ = ["pareto_mask", "front_order"]

_BLOCK_ELEMENTS = 4_000_000  # block rows * n * k held at once in the O(n^2) path


def _as_minimised(values: ArrayLike, maximize: Sequence[bool]) -> np.ndarray:
    """The (n, k) float array with maximised columns negated, so smaller is better everywhere."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 2:
        raise ConfigError.at("values", f"expected a 2-D (points, objectives) array, got shape {array.shape}")
    flags = [bool(flag) for flag in maximize]
    if len(flags) != array.shape[1] or not flags:
        raise ConfigError.at(
            "maximize", f"{len(flags)} flags given for {array.shape[1]} objectives; give one per objective"
        )
    signs = np.where(flags, -1.0, 1.0)
    return array * signs


def _mask_two(points: np.ndarray) -> np.ndarray:
    """Front of finite-row points in two minimised objectives by sorting on (first, second) and sweeping."""
    n = points.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    first, second = points[:, 0], points[:, 1]
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = a[1:] != a[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    group_best = b[group_start]  # sorted by b inside an equal-a group
    running_min = np.minimum.accumulate(b)
    before_group = np.where(group_start > 0, running_min[np.maximum(group_start - 1, 0)], np.inf)
    on_front_sorted = (b == group_best) & (before_group > b)
    mask = np.empty(n, dtype=bool)
    mask[order] = on_front_sorted
    return mask


def _mask_blocked(points: np.ndarray) -> np.ndarray:
    """Front of finite-row points in any number of minimised objectives by blocked pairwise comparison."""
    n, k = points.shape
    dominated = np.zeros(n, dtype=bool)
    block = max(1, _BLOCK_ELEMENTS // max(1, n * k))
    for start in range(0, n, block):
        rows = points[start : start + block, None, :]  # (b, 1, k)
        no_worse = np.all(points[None, :, :] <= rows, axis=2)  # (b, n): others at least as good
        better = np.any(points[None, :, :] < rows, axis=2)
        dominated[start : start + block] = np.any(no_worse & better, axis=1)
    return ~dominated


def pareto_mask(values: ArrayLike, *, maximize: Sequence[bool]) -> np.ndarray:
    """Boolean mask of the (n, k) ``values`` rows on the Pareto front; ``maximize[j]`` sets column j's sense."""
    points = _as_minimised(values, maximize)
    finite = ~np.any(np.isnan(points), axis=1)
    mask = np.zeros(points.shape[0], dtype=bool)
    kept = points[finite]
    mask[finite] = _mask_two(kept) if points.shape[1] == 2 else _mask_blocked(kept)
    return mask


def front_order(values: ArrayLike, mask: ArrayLike) -> np.ndarray:
    """Indices of the front rows (``mask`` True), sorted by the first objective, ties by the next ones."""
    array = np.asarray(values, dtype=float)
    flags = np.asarray(mask, dtype=bool)
    if array.ndim != 2 or flags.shape != (array.shape[0],):
        raise ConfigError.at(
            "mask", f"shape {flags.shape} does not match {array.shape[0]} rows of values {array.shape}"
        )
    index = np.flatnonzero(flags)
    front = array[index]
    order = np.lexsort(tuple(front[:, j] for j in range(front.shape[1] - 1, -1, -1)))
    return index[order]
