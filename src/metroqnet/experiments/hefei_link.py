"""The paper's link experiments, evaluated exactly, with the published number beside each figure.

* ``storage_5us`` / ``storage_107us`` (Alice–Bob, fixed link): heralding
  probability, noise heralds, entangling rate, PME fidelities, PME rate, and the
  longer node–server round trip of the pair beside the storage time (the paper's
  107 µs storage exceeds it). Each at its declared settings (storage, rate, herald scale).
* Table 1 (three links, delayed choice, 5 µs storage): C and C̃ per herald sign.
* Fig. 2b, where published: the loop's residual σ as the additional probe reads it (the
  paper's 17°) and at the write (what every link above takes as its σ_res).

Every link's phase error at the write is the loop's (:mod:`metroqnet.experiments.link_setup`).
"""

from __future__ import annotations

import dataclasses

from dataclasses import asdict, dataclass

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.published import PublishedValue
from metroqnet.experiments.link_setup import (
    WRITE_RESIDUAL_SEED,
    WRITE_RESIDUAL_TRIALS,
    experiment_link_parameters,
    loop_setup,
)
from metroqnet.experiments.phase_stabilization import residual_phase
from metroqnet.link.evaluate import LinkResult, evaluate_link
from metroqnet.physics.mapping import round_trip_us

#: (label, published attribute, how to read the model's value)
EXPERIMENT_FIGURES = (
    ("heralding probability", "heralding_probability", lambda r: r.herald_probability),
    ("heralds from noise", "herald_noise_fraction", lambda r: r.noise_herald_fraction),
    ("entangling rate (Hz)", "entangling_rate_hz", lambda r: r.entangling_rate_hz),
    ("PME fidelity Ψ+", "pme_fidelity_plus", lambda r: r.figures["plus"].fidelity),
    ("PME fidelity Ψ-", "pme_fidelity_minus", lambda r: r.figures["minus"].fidelity),
    ("PME rate (Hz)", "pme_rate_hz", lambda r: r.pme_rate_hz),
)
LINK_FIGURES = (
    ("C Ψ+", "concurrence_plus", lambda r: r.figures["plus"].concurrence),
    ("C Ψ-", "concurrence_minus", lambda r: r.figures["minus"].concurrence),
    ("C~ Ψ+", "atomic_concurrence_plus", lambda r: r.figures["plus"].atomic_concurrence),
    ("C~ Ψ-", "atomic_concurrence_minus", lambda r: r.figures["minus"].atomic_concurrence),
)
TABLE1_EXPERIMENT = "storage_5us"


@dataclass(frozen=True)
class ComparisonRow:
    """One model figure beside its published value (``paper`` None where not published)."""

    experiment: str
    figure: str
    model: float
    paper: float | None
    paper_error: float | None
    #: ``calibrated`` when the network carries calibrated values and the paper gives the number (fitted, not
    #: predicted), else ``model``; the exact engine's value has no error of its own (``model_error`` None).
    role: str = "model"
    model_error: float | None = None

    @property
    def deviation(self) -> float | None:
        """(model - paper) in units of the paper's error, where it gives one."""
        if self.paper is None or not self.paper_error:
            return None
        return (self.model - self.paper) / self.paper_error

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        return {name: out[name] for name in ("experiment", "figure", "model", "model_error", "paper", "paper_error")} | {
            "deviation_sigma": self.deviation, "role": self.role}


def _rows(experiment: str, result: LinkResult, figures, published) -> list[ComparisonRow]:
    rows = []
    for label, attribute, read in figures:
        value: PublishedValue | None = getattr(published, attribute, None) if published is not None else None
        model = read(result)
        if model is None:
            continue
        rows.append(
            ComparisonRow(
                experiment=experiment,
                figure=label,
                model=float(model),
                paper=None if value is None else value.value,
                paper_error=None if value is None else value.error,
            )
        )
    return rows


def reproduce_link_experiments(network: NetworkHardware) -> list[ComparisonRow]:
    """Every declared experiment and every published link of ``network``, model beside paper."""
    published = network.published
    rows: list[ComparisonRow] = []
    for experiment in network.experiments_of_kind("link"):
        name = experiment.name
        result = evaluate_link(experiment_link_parameters(network, name))
        rows += _rows(name, result, EXPERIMENT_FIGURES, None if published is None else published.experiments.get(name))
        if experiment.nodes is not None:
            trip = max(round_trip_us(network.node(node)) for node in experiment.nodes)
            rows.append(ComparisonRow(experiment=name, figure="node-server round trip (µs)", model=trip, paper=None,
                                      paper_error=None))
    if published is not None and TABLE1_EXPERIMENT in network.experiments:
        for link in published.links.values():
            params = experiment_link_parameters(network, TABLE1_EXPERIMENT, nodes=link.nodes)
            rows += _rows("table1 " + "-".join(link.nodes), evaluate_link(params), LINK_FIGURES, link)
    rows += residual_rows(network)
    if any(tag.source == "calibrated" for tag in network.provenance.values()):
        rows = [dataclasses.replace(row, role="calibrated") if row.paper is not None else row for row in rows]
    return rows


def residual_rows(network: NetworkHardware) -> list[ComparisonRow]:
    """Per stabilization experiment with a published residual: σ as the additional probe reads it, and at the write.

    The loop runs as for the links (:func:`metroqnet.experiments.link_setup.loop_setup`, same trials and seed).
    """
    rows = []
    for experiment in network.experiments_of_kind("stabilization"):
        figures = None if network.published is None else network.published.experiments.get(experiment.name)
        value = None if figures is None else figures.residual_phase_std_deg
        if value is None or experiment.nodes is None:
            continue
        setup = loop_setup(network, *experiment.nodes, repetition_rate_hz=experiment.repetition_rate_hz)
        residual = residual_phase(setup, trials=WRITE_RESIDUAL_TRIALS, seed=WRITE_RESIDUAL_SEED)
        rows.append(ComparisonRow(experiment=experiment.name, figure="residual σ, probe (deg)",
                                  model=residual.measured_std_deg, paper=value.value, paper_error=value.error))
        rows.append(ComparisonRow(experiment=experiment.name, figure="residual σ, write (deg)",
                                  model=residual.std_deg, paper=None, paper_error=None))
    return rows
