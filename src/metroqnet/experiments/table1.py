"""Table 1 and Fig. 4c,d of the paper: the three links of the concurrent run, exact and simulated at its run lengths.

The paper characterizes all three links "in the delayed-choice fashion" (5 µs storage, the
5 µs run's 2.76 kHz): Table 1 prints C and C̃ per herald sign; Fig. 4c,d shows the
correlators ⟨ZZ⟩, ⟨XX⟩, ⟨YY⟩ and the PME fidelity F of each link and sign, whose values are
not in the text (only "F > 0.5 for all three links"): their rows carry no paper value
(:data:`FIG4_NOTE`).

For each published link :func:`table1` gives

* the **exact** figures (:func:`metroqnet.link.evaluate.evaluate_link` at the link's
  parameters in :data:`~metroqnet.experiments.hefei_link.TABLE1_EXPERIMENT`'s settings,
  the phase loop run for the link's own node pair);
* the **simulated** figures with their standard errors: a Monte Carlo run
  (:func:`metroqnet.experiments.simulation.simulate_link`, its seed the link's child
  ``SeedSequence`` of ``seed``, key = the link's place in the ``[published.links]``
  table) of :func:`run_length` trials, the number at which the delta-method standard
  error of C (:func:`metroqnet.analysis.uncertainty.analyze_counts` on the exact expected
  counts) equals the paper's printed error of C. **The run length is an estimate from an
  error bar**: the paper does not give the trials per link; the error of C scales as
  1/√trials, so the printed 0.014 (AB) fixes the trials up to the model's own C and
  populations. Each sign's error gives a length; the link's is their mean.
* with a calibration file's report, the **leave-one-out** prediction of each published
  number (role ``predicted``): the fit that never saw that number.

``role``: ``calibrated`` for a published number in the calibration's likelihood when the
network carries calibrated values (the value is fitted, not predicted); ``predicted`` for
a leave-one-out row (or the posterior prediction of a number outside the fit); ``model``
otherwise (an uncalibrated network, and Fig. 4c,d's figures, which have no published
value to fit). ``deviation_sigma`` = (model − paper)/√(paper_error² + model_stderr²):
the simulated run's own counting error adds to the paper's; an exact row has none, and a
leave-one-out row's ``model_stderr`` is its predictive sd, which already holds the
number's own error, so there it is (model − paper)/model_stderr.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.analysis.records import CountRecord
from metroqnet.analysis.uncertainty import analyze_counts
from metroqnet.config.calibration_file import Calibration
from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, seed_sequence
from metroqnet.experiments.hefei_link import TABLE1_EXPERIMENT
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.experiments.simulation import simulate_link
from metroqnet.link.evaluate import evaluate_link
from metroqnet.link.fock_engine import joint_tables

EXPERIMENT = "table1"
#: Fig. 4c,d's values are not in the text: its rows are the model's, beside no published number.
FIG4_NOTE = ("Fig. 4c,d (correlators and PME fidelity of each link and sign): values not in the text, only "
             "'F > 0.5 for all three links'; no published number to compare")
#: (figure, attribute of EntanglementFigures, sign, published attribute or None). Table 1 first, then Fig. 4c,d.
FIGURES: tuple[tuple[str, str, str, str | None], ...] = (
    *((f"C_{sign}", "concurrence", sign, f"concurrence_{sign}") for sign in HERALD_SIGNS),
    *((f"Ct_{sign}", "atomic_concurrence", sign, f"atomic_concurrence_{sign}") for sign in HERALD_SIGNS),
    *((f"{name}_{sign}", attribute, sign, None) for sign in HERALD_SIGNS for name, attribute in (
        ("p00", "p00"), ("p01", "p01"), ("p10", "p10"), ("p11", "p11"),
        ("ZZ", "zz"), ("XX", "xx"), ("YY", "yy"), ("F", "fidelity"))),
)
#: Table 1's figure -> the published field it is compared with (the calibration's key ``links.LINK.FIELD``).
PUBLISHED_FIELDS = {figure: published for figure, _, _, published in FIGURES if published is not None}
#: Trials at which the expected counts are analysed for the run length (the delta method's error is then
#: scaled as 1/√trials; at 1e10 trials the rounding of expected counts and the 1/2 added per cell are negligible).
REFERENCE_TRIALS = 10**10
ROLES = ("calibrated", "predicted", "model")


@dataclass(frozen=True)
class Table1Row:
    """One figure of one link: exact, simulated (with its stderr) or leave-one-out, beside the paper's value."""

    experiment: str
    figure: str
    link: str
    source: str
    model: float
    model_stderr: float | None
    paper: float | None
    paper_error: float | None
    role: str

    @property
    def deviation_sigma(self) -> float | None:
        """(model − paper) over the paper's error and the model's stderr in quadrature (module doc)."""
        if self.paper is None or not self.paper_error:
            return None
        if self.source == "leave-one-out":
            return (self.model - self.paper) / self.model_stderr if self.model_stderr else None
        spread = math.hypot(self.paper_error, self.model_stderr or 0.0)
        return (self.model - self.paper) / spread

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "deviation_sigma": self.deviation_sigma}


@dataclass(frozen=True)
class RunLength:
    """The trials of one link's simulated run, estimated from the paper's error of C (an estimate from an error bar)."""

    link: str
    trials: int
    paper_errors: Mapping[str, float]
    stderr_per_trial: Mapping[str, float]

    def as_dict(self) -> dict[str, object]:
        return {"link": self.link, "trials": self.trials, "paper_errors": dict(self.paper_errors),
                "stderr_per_trial": dict(self.stderr_per_trial),
                "method": "trials at which the delta-method stderr of C equals the paper's printed error, per sign; "
                          "the mean of the signs (an estimate from an error bar)"}


@dataclass(frozen=True)
class Table1Result:
    rows: tuple[Table1Row, ...]
    run_lengths: tuple[RunLength, ...]
    seed: tuple[int | tuple[int, ...], ...]
    notes: tuple[str, ...] = (FIG4_NOTE,)

    def row(self, link: str, figure: str, source: str) -> Table1Row:
        return next(r for r in self.rows if r.link == link and r.figure == figure and r.source == source)


def expected_record(params: LinkParameters, *, trials: int, link: str = "x-y") -> CountRecord:
    """The exact expected counts of ``trials`` trials (a third per basis, as the sampler's default), rounded."""
    tables = joint_tables(params).tables
    per_basis = trials // len(BASES)
    counts = np.array([[np.rint(per_basis * tables[sign][basis]) for basis in BASES] for sign in HERALD_SIGNS])
    return CountRecord(link=link, counts=counts.astype(np.int64), trials_per_basis=[per_basis] * len(BASES),
                       read_efficiency_x=params.read_efficiency_x, read_efficiency_y=params.read_efficiency_y,
                       repetition_rate_hz=params.repetition_rate_hz)


def run_length(params: LinkParameters, paper_errors: Mapping[str, float], *, link: str = "x-y",
               figure: str = "concurrence") -> RunLength:
    """Trials whose delta-method stderr of ``figure`` (C by default) equals ``paper_errors[sign]`` (mean over signs)."""
    if not paper_errors:
        raise ConfigError.at(f"published.links.{link}", f"no error of {figure} is published: the run length cannot "
                             "be estimated")
    analysis = analyze_counts(expected_record(params, trials=REFERENCE_TRIALS, link=link))
    per_trial = {sign: analysis.figures_stderr[sign][figure] * math.sqrt(REFERENCE_TRIALS)
                 for sign in paper_errors}
    lengths = [(per_trial[sign] / error) ** 2 for sign, error in paper_errors.items()]
    trials = len(BASES) * max(1, round(float(np.mean(lengths)) / len(BASES)))
    return RunLength(link=link, trials=trials, paper_errors=dict(paper_errors), stderr_per_trial=per_trial)


def _calibrated(network: NetworkHardware) -> bool:
    return any(tag.source == "calibrated" for tag in network.provenance.values())


def table1(network: NetworkHardware, *, seed: Seed, calibration: Calibration | None = None,
           simulate: bool = True) -> Table1Result:
    """Every published link of ``network``: exact, simulated and (with ``calibration``) leave-one-out rows.

    ``calibration`` is the file whose values ``network`` carries (its report's
    leave-one-out rows give the ``predicted`` rows); ``simulate=False`` leaves the
    Monte Carlo runs out (exact rows and run lengths only).
    """
    published = network.published
    if published is None or not published.links:
        raise ConfigError.at("published.links", f"network {network.name!r} publishes no link to compare with")
    sequence = seed_sequence(seed)
    fitted_links = set(network.calibration.links) if network.calibration is not None else set()
    calibrated = _calibrated(network)
    predictions: dict[str, Mapping[str, object]] = {}
    if calibration is not None:
        predictions = dict(calibration.predictions())
        block = calibration.report.get("not_fitted")
        predictions.update({row["key"]: row for row in (block.get("rows", []) if isinstance(block, Mapping) else [])})
    rows: list[Table1Row] = []
    lengths: list[RunLength] = []
    for index, (name, link) in enumerate(published.links.items()):
        params = experiment_link_parameters(network, TABLE1_EXPERIMENT, nodes=link.nodes)
        exact = evaluate_link(params).figures
        errors = {sign: getattr(link, f"concurrence_{sign}").error for sign in HERALD_SIGNS
                  if getattr(link, f"concurrence_{sign}") is not None and getattr(link, f"concurrence_{sign}").error}
        length = run_length(params, errors, link=name)
        lengths.append(length)
        simulated = None
        if simulate:
            run = simulate_link(params, trials=length.trials, seed=child(sequence, index), link=name)
            simulated = run.analysis
        for figure, attribute, sign, key in FIGURES:
            value = getattr(link, key) if key is not None else None
            paper = None if value is None else float(value.value)
            paper_error = None if value is None or value.error is None else float(value.error)
            role = "calibrated" if (value is not None and calibrated and name in fitted_links) else "model"
            common = {"experiment": EXPERIMENT, "figure": figure, "link": name, "paper": paper,
                      "paper_error": paper_error, "role": role}
            model = getattr(exact[sign], attribute)
            if model is not None:
                rows.append(Table1Row(source="exact", model=float(model), model_stderr=None, **common))
            if simulated is not None and attribute in simulated.figures[sign]:
                rows.append(Table1Row(source="simulated", model=float(simulated.figures[sign][attribute]),
                                      model_stderr=float(simulated.figures_stderr[sign][attribute]), **common))
            found = predictions.get(f"links.{name}.{key}") if key is not None else None
            if found is not None:
                rows.append(Table1Row(source="leave-one-out", model=float(found["mean"]),
                                      model_stderr=float(found["sd"]), **{**common, "role": "predicted"}))
    return Table1Result(rows=tuple(rows), run_lengths=tuple(lengths),
                        seed=(int(sequence.entropy), tuple(sequence.spawn_key)))
