"""Result names of design points from one batch engine call: per link and min./max. over the links.

The names and their meaning are the sweep's ``exact`` kind's
(:mod:`metroqnet.sweeps.compute_links`, :mod:`metroqnet.sweeps.compute_exact`), computed
here on arrays over many design points at once: per link ``"<x>-<y>.<figure>"`` for every
figure of :data:`RESULT_FIGURES` (herald probabilities, noise share, entangling and PME
rates, the write residual and phase noise in degrees, the repetition rate, and every
per-sign figure of :class:`~metroqnet.analysis.estimators.EntanglementFigures` averaged over
the two herald signs weighted by their herald probabilities), and ``"min.<figure>"`` /
``"max.<figure>"`` over the links. A figure the engine leaves undefined (the atomic
concurrences at a read efficiency of 0) is NaN here, and so is a min/max over links that
include it (the records write None), never the other links' value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metroqnet.link.batch import LinkBatchResult
from metroqnet.link.figures import FIGURE_NAMES
from metroqnet.sweeps.compute_links import EXACT_EXTRA, EXACT_FIGURES

#: Every figure a result name may end in: the exact kind's defaults, then its extras.
RESULT_FIGURES: tuple[str, ...] = EXACT_FIGURES + EXACT_EXTRA
AGGREGATES = ("min", "max")


def result_names(links: Sequence[str]) -> tuple[str, ...]:
    """Every result name of a design point over ``links``: per link (link order), then min., then max."""
    return tuple(f"{owner}.{figure}" for owner in (*links, *AGGREGATES) for figure in RESULT_FIGURES)


def sign_weighted(batch: LinkBatchResult, figure: str) -> np.ndarray:
    """``figure`` over all heralds: (P₊ f₊ + P₋ f₋) / (P₊ + P₋) per point of the batch (a sign with P = 0 drops out)."""
    values = batch.figures[figure]
    plus, minus = batch.herald_probability_plus, batch.herald_probability_minus
    with np.errstate(invalid="ignore"):
        weighted = np.where(plus > 0, plus * values[:, 0], 0.0) + np.where(minus > 0, minus * values[:, 1], 0.0)
        return weighted / (plus + minus)


def batch_figures(batch: LinkBatchResult, links: Sequence[str], residual_rad: Sequence[float]
                  ) -> dict[str, np.ndarray]:
    """Result name -> array over design points, from a batch laid out ``[point * len(links) + link]``.

    ``residual_rad[k]`` is link k's write residual (held for every point).
    """
    count = len(links)
    if count == 0 or len(batch) % count or len(residual_rad) != count:
        raise ValueError(f"a batch of {len(batch)} links is not whole design points of {count} links "
                         f"with {len(residual_rad)} residuals")
    values = batch.points.values
    per_figure = {
        "herald_probability": batch.herald_probability,
        "herald_probability_plus": batch.herald_probability_plus,
        "herald_probability_minus": batch.herald_probability_minus,
        "noise_herald_fraction": batch.noise_herald_fraction,
        "entangling_rate_hz": batch.entangling_rate_hz,
        "pme_rate_hz": batch.pme_rate_hz,
        "repetition_rate_hz": values["repetition_rate_hz"],
        "phase_noise_std_deg": np.degrees(values["phase_noise_std_rad"]),
        "write_residual_deg": np.tile(np.degrees(np.asarray(residual_rad, dtype=float)), len(batch) // count),
    }
    per_figure |= {figure: sign_weighted(batch, figure) for figure in FIGURE_NAMES}
    grids = {figure: np.asarray(per_figure[figure], dtype=float).reshape(-1, count) for figure in RESULT_FIGURES}
    out: dict[str, np.ndarray] = {}
    for index, link in enumerate(links):
        out |= {f"{link}.{figure}": grids[figure][:, index] for figure in RESULT_FIGURES}
    for figure in RESULT_FIGURES:  # np.min/np.max propagate NaN: an undefined link leaves the aggregate undefined
        out[f"min.{figure}"] = np.min(grids[figure], axis=1)
        out[f"max.{figure}"] = np.max(grids[figure], axis=1)
    return out
