"""Many exact link evaluations in one call: the figures of :func:`~metroqnet.link.evaluate.evaluate_link` for every point.

Points are grouped by photon cutoff and each group runs as one vectorized
computation (:mod:`metroqnet.link.fock_engine`); a design sweep of 10⁴ points is
one call. The result is plain numpy (:class:`LinkBatchResult`, arrays with a
leading point axis); :meth:`LinkBatchResult.to_xarray` labels it (needs
``metroqnet[data]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.config.identity import strong_id
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.versions import versions
from metroqnet.link.evaluate import ENGINE, LinkResult
from metroqnet.link.figures import ATOMIC_FIGURES, FIGURE_NAMES, evaluate_arrays, figures_of_point
from metroqnet.link.fock_engine import DEFAULT_TOLERANCE
from metroqnet.link.points import FIELDS, RATE_FIELD, LinkPoints


@dataclass(frozen=True, eq=False)
class LinkBatchResult:
    """Exact figures of many links: each array has the point axis first, in the order the points were given.

    ``figures[name]`` is ``[point, sign]`` (signs as in ``HERALD_SIGNS``), NaN where
    :class:`LinkResult` has None (the atomic figures at a read efficiency of 0).
    ``result(i)`` is point i as :func:`evaluate_link` gives it.
    """

    points: LinkPoints
    herald_probability_plus: np.ndarray
    herald_probability_minus: np.ndarray
    noise_herald_fraction: np.ndarray
    figures: Mapping[str, np.ndarray]
    photon_cutoff: np.ndarray
    tolerance: float = DEFAULT_TOLERANCE

    def __len__(self) -> int:
        return len(self.points)

    @property
    def herald_probability(self) -> np.ndarray:
        return self.herald_probability_plus + self.herald_probability_minus

    @property
    def repetition_rate_hz(self) -> np.ndarray:
        """Trials per second of each point; NaN where a point has no rate."""
        return self.points.values[RATE_FIELD]

    @property
    def entangling_rate_hz(self) -> np.ndarray:
        return self.herald_probability * self.repetition_rate_hz

    @property
    def pme_rate_hz(self) -> np.ndarray:
        pme = self.figures["pme_probability"]
        per_trial = self.herald_probability_plus * pme[:, 0] + self.herald_probability_minus * pme[:, 1]
        return per_trial * self.repetition_rate_hz

    @property
    def notes(self) -> tuple[str, ...]:
        """Why a figure is absent (NaN), if one is."""
        absent = np.isnan(self.figures[ATOMIC_FIGURES[0]]).any(axis=1)
        if not absent.any():
            return ()
        where = np.flatnonzero(absent)
        shown = ", ".join(str(i) for i in where[:10]) + (", ..." if where.size > 10 else "")
        return (
            f"{', '.join(ATOMIC_FIGURES)}: undefined at {where.size} point(s) ({shown}) with a read efficiency "
            "of 0: nothing comes back from the memory, so there is no read-out loss to deduct",
        )

    def result(self, index: int) -> LinkResult:
        """Point ``index`` as a :class:`LinkResult` (the same numbers)."""
        return LinkResult(
            params=self.points[index],
            herald_probability_plus=float(self.herald_probability_plus[index]),
            herald_probability_minus=float(self.herald_probability_minus[index]),
            noise_herald_fraction=float(self.noise_herald_fraction[index]),
            figures=figures_of_point(self.figures, index),
            photon_cutoff=int(self.photon_cutoff[index]),
        )

    def provenance(self) -> dict[str, object]:
        """As :meth:`LinkResult.provenance`: ``parameters`` holds the values every point shares (the varied ones
        are the coordinates), ``parameters_id`` the strong id of all points' parameters."""
        return {
            "parameters": self.points.fixed(),
            "varied_parameters": list(self.points.coordinates),
            "parameters_id": strong_id({name: self.points.values[name] for name in FIELDS}),
            "engine": ENGINE,
            "engine_tolerance": self.tolerance,
            **versions(),
            "notes": list(self.notes),
        }

    def scalars(self) -> dict[str, np.ndarray]:
        """The per-point figures of :meth:`LinkResult.as_dict` (herald probabilities, noise fraction, rates)."""
        out = {
            "herald_probability": self.herald_probability,
            "herald_probability_plus": self.herald_probability_plus,
            "herald_probability_minus": self.herald_probability_minus,
            "noise_herald_fraction": self.noise_herald_fraction,
        }
        if not np.isnan(self.repetition_rate_hz).all():
            out |= {"repetition_rate_hz": self.repetition_rate_hz, "entangling_rate_hz": self.entangling_rate_hz,
                    "pme_rate_hz": self.pme_rate_hz}
        return out

    def to_xarray(self):
        """An ``xarray.Dataset`` over ``point`` and ``sign``, the varied parameters as coordinates along ``point``.

        Variables are named as in :meth:`LinkResult.to_xarray` (each figure over
        ``sign``, herald probabilities and rates per point), plus ``photon_cutoff``
        per point; attributes are :meth:`provenance`.
        """
        from metroqnet.analysis.labelled import dataset_attributes, require_xarray

        xr = require_xarray()
        variables = {name: (("point", "sign"), self.figures[name]) for name in FIGURE_NAMES}
        coordinates = self.points.coordinates
        variables |= {name: (("point",), values) for name, values in self.scalars().items() if name not in coordinates}
        variables["photon_cutoff"] = (("point",), self.photon_cutoff)
        coords = {"point": np.arange(len(self)), "sign": list(HERALD_SIGNS)}
        coords |= {name: (("point",), values) for name, values in coordinates.items()}
        return xr.Dataset(variables, coords=coords, attrs=dataset_attributes(self.provenance()))


def evaluate_links(
    points: Sequence[LinkParameters] | Mapping[str, ArrayLike] | LinkPoints,
    *,
    base: LinkParameters | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> LinkBatchResult:
    """Exact evaluation of many links at once: :func:`evaluate_link`'s figures for every point, in order.

    ``points`` is a sequence of :class:`LinkParameters`, a :class:`LinkPoints`, or a
    mapping ``field -> array`` (arrays broadcast against each other and are
    flattened in C order; fields not given come from ``base``, see
    :meth:`LinkPoints.from_arrays`), e.g.
    ``evaluate_links({"read_efficiency": np.linspace(0.1, 0.9, 50)}, base=params)``.
    A point that leaves a figure undefined (no heralds at all) is refused, naming it.
    """
    points = LinkPoints.of(points, base=base)
    arrays = evaluate_arrays(points, tolerance=tolerance)
    return LinkBatchResult(points=points, tolerance=tolerance, **arrays)
