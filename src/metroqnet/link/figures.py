"""From the engine's joint tables of many points to the figures of ``docs/link_model.md``, as arrays.

The single-point result (:func:`metroqnet.link.evaluate.evaluate_link`) and the
batch (:func:`metroqnet.link.batch.evaluate_links`) both come from
:func:`evaluate_arrays`: the estimators of :mod:`metroqnet.analysis.estimators`
applied once to stacks of tables ``[point, sign, 4, 4]``.
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np

from metroqnet.analysis.estimators import (
    EntanglementFigures,
    UndefinedEstimate,
    coherence_bound,
    concurrence,
    general_coherence_bound,
    pme_fidelity,
    single_click_correlator,
    single_click_probability,
    z_populations,
)
from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.link.fock_engine import BATCH_INPUT, DEFAULT_TOLERANCE, joint_table_arrays, point_label
from metroqnet.link.points import LinkPoints

#: The per-sign figures, in the order of :class:`EntanglementFigures`.
FIGURE_NAMES: tuple[str, ...] = tuple(field.name for field in fields(EntanglementFigures))
#: Figures that are absent (NaN here, None in EntanglementFigures) where no read-out loss can be deducted.
ATOMIC_FIGURES = ("atomic_concurrence", "atomic_concurrence_general")


def photonless_probability(
    excitation_probability_x, herald_efficiency_x, excitation_probability_y, herald_efficiency_y
):
    """P(no write-out photon reaches either herald detector) = Π_k 1/(1 + n̄_k η_k), n̄ = χ/(1-χ); floats or arrays."""
    probability = 1.0
    for chi, eta in ((excitation_probability_x, herald_efficiency_x), (excitation_probability_y, herald_efficiency_y)):
        probability *= (1.0 - chi) / (1.0 - chi + chi * eta)
    return probability


def atomic_concurrence_arrays(populations, coherence, read_efficiency_x, read_efficiency_y) -> np.ndarray:
    """C̃ of :func:`metroqnet.analysis.estimators.atomic_concurrence` for arrays of read efficiencies; NaN where undefined.

    The estimators take one pair of read efficiencies per call; a batch has one per
    point, so the same inversion is written here on arrays (same operations, same order;
    tests/test_batch_engine.py checks it against the scalar estimator).
    """
    eta_x, eta_y = np.asarray(read_efficiency_x, dtype=float), np.asarray(read_efficiency_y, dtype=float)
    defined = (eta_x > 0) & (eta_y > 0) & (eta_x * eta_y > 0)
    everywhere = bool(defined.all())
    if not everywhere:
        eta_x, eta_y = np.where(defined, eta_x, 1.0), np.where(defined, eta_y, 1.0)
    p = populations
    big_p11 = p["p11"] / (eta_x * eta_y)
    big_p10 = (p["p10"] - eta_x * (1.0 - eta_y) * big_p11) / eta_x
    big_p01 = (p["p01"] - eta_y * (1.0 - eta_x) * big_p11) / eta_y
    big_p00 = 1.0 - big_p01 - big_p10 - big_p11
    big_d = coherence / np.sqrt(eta_x * eta_y)
    value = np.maximum(
        0.0, 2.0 * np.abs(big_d) - 2.0 * np.sqrt(np.maximum(big_p00, 0.0) * np.maximum(big_p11, 0.0))
    )
    return value if everywhere else np.where(defined, value, np.nan)


def stacked_figures(tables: np.ndarray, *, read_efficiency_x: np.ndarray, read_efficiency_y: np.ndarray):
    """Every figure of :class:`EntanglementFigures` from ``tables[point, sign, basis, a, b]``: arrays ``[point, sign]``.

    The estimators of :func:`~metroqnet.analysis.estimators.entanglement_figures`,
    each called once on the whole stack (the bases stacked too where the estimator
    does not depend on the basis). Raises :class:`UndefinedEstimate` (the estimators'
    own message) if any point leaves a figure without events.
    """
    populations = z_populations(tables[:, :, BASES.index("Z")])
    try:
        correlators = single_click_correlator(tables, "all")  # [point, sign, basis]
    except UndefinedEstimate:
        for b, basis in enumerate(BASES):  # the message names the basis
            single_click_correlator(tables[:, :, b], basis)
        raise
    zz, xx, yy = (correlators[..., BASES.index(basis)] for basis in ("Z", "X", "Y"))
    # pme_probability: the equal-weight mean over the bases, summed in the order of BASES.
    single = single_click_probability(tables)
    pme = sum(single[..., b] for b in range(len(BASES))) / len(BASES)
    d = coherence_bound(populations, xx)
    d_general = general_coherence_bound(populations, xx)
    eta = {"read_efficiency_x": np.asarray(read_efficiency_x)[:, None, None],
           "read_efficiency_y": np.asarray(read_efficiency_y)[:, None, None]}
    # Both coherence bounds at once: [point, sign, bound].
    atomic = atomic_concurrence_arrays(
        {name: value[..., None] for name, value in populations.items()}, np.stack([d, d_general], axis=-1), **eta
    )
    fidelity = np.empty_like(zz)
    for s, sign in enumerate(HERALD_SIGNS):
        fidelity[:, s] = pme_fidelity(zz[:, s], xx[:, s], yy[:, s], sign=sign)
    values = {
        **populations,
        "E": xx,
        "d": d,
        "concurrence": concurrence(populations, d),
        "atomic_concurrence": atomic[..., 0],
        "d_general": d_general,
        "concurrence_general": concurrence(populations, d_general),
        "atomic_concurrence_general": atomic[..., 1],
        "zz": zz,
        "xx": xx,
        "yy": yy,
        "fidelity": fidelity,
        "pme_probability": pme,
    }
    return {name: values[name] for name in FIGURE_NAMES}


def evaluate_arrays(
    points: LinkPoints,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    where: str = BATCH_INPUT,
    phase_offset_rad: np.ndarray | None = None,
) -> dict[str, object]:
    """The exact engine and the estimators over every point: herald probabilities, noise fraction, figures, cutoffs.

    ``where`` names the input in refusals (``points[i]`` for a batch); ``phase_offset_rad`` is
    the mean of each point's phase error (:func:`~metroqnet.link.fock_engine.joint_table_arrays`).
    """
    tables, cutoffs = joint_table_arrays(points, tolerance=tolerance, where=where, phase_offset_rad=phase_offset_rad)
    values = points.values
    z = BASES.index("Z")
    plus, minus = (tables[:, s, z].sum(axis=(-2, -1)) for s in range(len(HERALD_SIGNS)))
    q = values["herald_noise_probability"]
    # Heralds whose clicking detector saw no photon at all: only its noise clicked.
    noise_heralds = 2.0 * q * (1.0 - q) * photonless_probability(
        values["excitation_probability_x"], values["herald_efficiency_x"],
        values["excitation_probability_y"], values["herald_efficiency_y"],
    )
    total = plus + minus
    noise_fraction = np.divide(noise_heralds, total, out=np.zeros_like(total), where=total > 0)
    etas = {"read_efficiency_x": values["read_efficiency_x"], "read_efficiency_y": values["read_efficiency_y"]}
    try:
        figures = stacked_figures(tables, **etas)
    except UndefinedEstimate as error:
        if where != BATCH_INPUT:
            raise
        for index in range(len(points)):  # name the first point that leaves a figure undefined
            try:
                stacked_figures(tables[index:index + 1], **{k: v[index:index + 1] for k, v in etas.items()})
            except UndefinedEstimate as first:
                raise UndefinedEstimate(f"{point_label(where, index)}: {first}") from None
        raise error
    return {
        "herald_probability_plus": plus,
        "herald_probability_minus": minus,
        "noise_herald_fraction": noise_fraction,
        "figures": figures,
        "photon_cutoff": cutoffs,
    }


def figures_of_point(figures: dict[str, np.ndarray], index: int) -> dict[str, EntanglementFigures]:
    """Point ``index``'s figures per sign as :class:`EntanglementFigures` (NaN atomic figures become None)."""
    out = {}
    for s, sign in enumerate(HERALD_SIGNS):
        values = {name: float(figures[name][index, s]) for name in FIGURE_NAMES}
        for name in ATOMIC_FIGURES:
            if math.isnan(values[name]):
                values[name] = None
        out[sign] = EntanglementFigures(**values)
    return out
