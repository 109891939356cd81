"""One exact link evaluation: herald probabilities, per-sign entanglement figures, rates."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from metroqnet.analysis.estimators import EntanglementFigures, entanglement_figures
from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.config.identity import strong_id
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.versions import versions
from metroqnet.link import figures as figure_arrays
from metroqnet.link.fock_engine import DEFAULT_TOLERANCE, JointTables
from metroqnet.link.points import LinkPoints

#: How the provenance names the engine (the batch result uses the same words).
ENGINE = "metroqnet.link.fock_engine (exact, Fock basis)"


def photonless_probability(params: LinkParameters) -> float:
    """P(no write-out photon reaches either herald detector) = Π_k 1/(1 + n̄_k η_k), n̄ = χ/(1-χ)."""
    return figure_arrays.photonless_probability(
        params.excitation_probability_x, params.herald_efficiency_x,
        params.excitation_probability_y, params.herald_efficiency_y,
    )


@dataclass(frozen=True)
class LinkResult:
    """Exact figures of one link; ``as_dict`` gives the documented JSON layout."""

    params: LinkParameters
    herald_probability_plus: float
    herald_probability_minus: float
    noise_herald_fraction: float
    figures: dict[str, EntanglementFigures]
    photon_cutoff: int

    @property
    def herald_probability(self) -> float:
        return self.herald_probability_plus + self.herald_probability_minus

    @property
    def entangling_rate_hz(self) -> float | None:
        rate = self.params.repetition_rate_hz
        return None if rate is None else self.herald_probability * rate

    @property
    def pme_rate_hz(self) -> float | None:
        rate = self.params.repetition_rate_hz
        if rate is None:
            return None
        per_trial = (
            self.herald_probability_plus * self.figures["plus"].pme_probability
            + self.herald_probability_minus * self.figures["minus"].pme_probability
        )
        return per_trial * rate

    @property
    def notes(self) -> tuple[str, ...]:
        """Why a figure is absent (None), if one is."""
        if any(self.figures[sign].atomic_concurrence is None for sign in HERALD_SIGNS):
            return (
                "atomic_concurrence, atomic_concurrence_general: undefined at read efficiencies "
                f"({self.params.read_efficiency_x!r}, {self.params.read_efficiency_y!r}): nothing comes back from "
                "the memory, so there is no read-out loss to deduct",
            )
        return ()

    def provenance(self) -> dict[str, object]:
        """The parameters (with their strong id), the engine's cutoff and the versions."""
        return {
            "parameters": self.params.to_mapping(),
            "parameters_id": strong_id(self.params),
            "photon_cutoff": self.photon_cutoff,
            "engine": ENGINE,
            **versions(),
            "notes": list(self.notes),
        }

    def to_xarray(self):
        """An ``xarray.Dataset``: each figure over ``sign`` (plus, minus), herald probabilities and rates as scalars."""
        from metroqnet.analysis.labelled import dataset_attributes, require_xarray

        xr = require_xarray()
        names = [field.name for field in fields(EntanglementFigures)]
        variables = {
            name: (("sign",), np.array([_number(getattr(self.figures[sign], name)) for sign in HERALD_SIGNS]))
            for name in names
        }
        scalars = {key: value for key, value in self.as_dict().items() if key not in HERALD_SIGNS}
        variables.update({key: ((), value) for key, value in scalars.items()})
        return xr.Dataset(variables, coords={"sign": list(HERALD_SIGNS)}, attrs=dataset_attributes(self.provenance()))

    def to_dataframe(self):
        """A ``pandas.DataFrame``: one row per herald sign, one column per figure."""
        return self.to_xarray().drop_vars(
            [name for name, variable in self.to_xarray().data_vars.items() if variable.ndim == 0]
        ).to_dataframe()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "herald_probability": self.herald_probability,
            "herald_probability_plus": self.herald_probability_plus,
            "herald_probability_minus": self.herald_probability_minus,
            "noise_herald_fraction": self.noise_herald_fraction,
            "plus": self.figures["plus"].as_dict(),
            "minus": self.figures["minus"].as_dict(),
        }
        if self.params.repetition_rate_hz is not None:
            out["repetition_rate_hz"] = self.params.repetition_rate_hz
            out["entangling_rate_hz"] = self.entangling_rate_hz
            out["pme_rate_hz"] = self.pme_rate_hz
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _number(value: float | None) -> float:
    """A figure for a labelled array: an absent one (None) is NaN there, as xarray marks missing data."""
    return np.nan if value is None else value


def figures_from_tables(tables: JointTables, params: LinkParameters) -> dict[str, EntanglementFigures]:
    """Apply the estimators of docs/link_model.md to each herald sign's tables, one sign at a time.

    The plain per-sign composition (for any tables, e.g. a reference engine's);
    :func:`evaluate_link` applies the same estimators to stacks of tables instead.
    """
    return {
        sign: entanglement_figures(
            tables.tables[sign],
            sign=sign,
            read_efficiency_x=params.read_efficiency_x,
            read_efficiency_y=params.read_efficiency_y,
        )
        for sign in HERALD_SIGNS
    }


def evaluate_link(params: LinkParameters, *, tolerance: float = DEFAULT_TOLERANCE) -> LinkResult:
    """Exact evaluation of the link of docs/link_model.md (see :mod:`metroqnet.link.fock_engine`).

    A batch of one: :func:`metroqnet.link.batch.evaluate_links` gives the same figures for many points.
    """
    arrays = figure_arrays.evaluate_arrays(
        LinkPoints.from_parameters([params]), tolerance=tolerance, where="link parameters"
    )
    return LinkResult(
        params=params,
        herald_probability_plus=float(arrays["herald_probability_plus"][0]),
        herald_probability_minus=float(arrays["herald_probability_minus"][0]),
        noise_herald_fraction=float(arrays["noise_herald_fraction"][0]),
        figures=figure_arrays.figures_of_point(arrays["figures"], 0),
        photon_cutoff=int(arrays["photon_cutoff"][0]),
    )
