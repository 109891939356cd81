"""Entanglement figures with standard errors from a count record (the estimators of docs/link_model.md).

Method — first-order error propagation (the delta method) of counting statistics:

* Each table of one herald sign and basis is a multinomial sample of its n
  heralded events; tables of different signs and bases are independent
  samples. The covariance of a table's cell fractions p is (diag(p) − p pᵀ)/n.
* A sign's figures are the estimators of :mod:`metroqnet.analysis.estimators`
  applied to its Z, X and Y tables. Their gradients with respect to the cell
  fractions are central finite differences of those same functions
  (:mod:`metroqnet.analysis.propagation`), and Var = Σ_tables gᵀ Cov g.
* Herald probabilities N_±/T are binomial over all T trials (plus, minus, none
  jointly trinomial); to first order they are uncorrelated with the fractions
  within the tables, so the PME rate combines both sources as independent.
* Rates are probabilities times the repetition rate, which is taken as exact.
* Kinks: C and C̃ are max(0, ·), and so are their general-bound versions
  (``concurrence_general``, ``atomic_concurrence_general``). Where an estimate
  is 0 its standard error is that of the unclipped quantity (2|d| − 2√(p00 p11),
  resp. its atomic version, with d or d_general), and a note says so and gives
  the unclipped value. |E| in d and in d_general, and in the C's built from
  them, is differentiated on the side of the observed sign of E (at E = 0 the
  + side, so the error of E still enters).

First order means: valid when the counts each figure rests on are large
(tens of events in the rarest cell that matters, e.g. p11's); with a handful
of events the errors are indicative only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from types import MappingProxyType

import numpy as np

from metroqnet.analysis.estimators import (
    EntanglementFigures,
    UndefinedEstimate,
    atomic_coherence,
    atomic_concurrence,
    atomic_populations,
    coherence_bound,
    concurrence,
    general_coherence_bound,
    pme_fidelity,
    pme_per_trial,
    pme_probability,
    single_click_correlator,
    unclipped_atomic_concurrence,
    unclipped_concurrence,
    z_populations,
)
from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.analysis.propagation import multinomial_covariance, propagate
from metroqnet.analysis.records import CountRecord

FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(EntanglementFigures))
STDERR_METHOD = (
    "delta method: multinomial covariance (diag(p) - p p^T)/n of each herald-sign/basis table "
    "(independent tables; p and the gradients taken at the cell fractions with 1/2 added to every "
    "cell, so sparse tables do not report zero errors), binomial herald probabilities over all trials, gradients by central "
    "differences of the estimators of docs/link_model.md; clipped C, C~ (and their _general versions) = 0 carry "
    "the stderr of the unclipped value"
)


@dataclass(frozen=True)
class CountAnalysis:
    """Figures of one link's counts, each with a standard error (``as_dict`` mirrors ``LinkResult``).

    ``estimates``/``stderr``: herald probabilities (total, plus, minus) and, with
    a repetition rate, ``entangling_rate_hz`` and ``pme_rate_hz``.
    ``figures[sign]``/``figures_stderr[sign]``: the figures of docs/link_model.md that the
    counts define (an undefined or unavailable one is absent and ``notes`` says why).
    """

    link: str
    trials: int
    trials_per_basis: tuple[int, ...]
    counts: Mapping[str, int]
    estimates: Mapping[str, float]
    stderr: Mapping[str, float]
    figures: Mapping[str, Mapping[str, float]]
    figures_stderr: Mapping[str, Mapping[str, float]]
    read_efficiency_x: float | None = None
    read_efficiency_y: float | None = None
    repetition_rate_hz: float | None = None
    notes: tuple[str, ...] = ()
    strong_id: str | None = None
    runs: tuple[dict[str, object], ...] = ()
    metadata: Mapping[str, object] = field(default_factory=dict)

    def estimate(self, name: str, sign: str | None = None) -> tuple[float, float]:
        """``(value, stderr)`` of a top-level quantity, or of a figure of ``sign``."""
        if sign is None:
            return self.estimates[name], self.stderr[name]
        return self.figures[sign][name], self.figures_stderr[sign][name]

    @property
    def herald_probability(self) -> float:
        return self.estimates["herald_probability"]

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"link": self.link}
        for name in ("herald_probability", "herald_probability_plus", "herald_probability_minus"):
            out[name], out[f"{name}_stderr"] = self.estimate(name)
        for sign in HERALD_SIGNS:
            out[sign] = _interleave(self.figures[sign], self.figures_stderr[sign])
        out["counts"] = dict(self.counts)
        out["trials"] = self.trials
        out["trials_per_basis"] = dict(zip(BASES, self.trials_per_basis))
        for name in ("read_efficiency_x", "read_efficiency_y"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        for name in ("background_herald_probability", "noise_herald_fraction", "snr"):
            if name in self.estimates:
                out[name], out[f"{name}_stderr"] = self.estimate(name)
        if self.repetition_rate_hz is not None:
            out["repetition_rate_hz"] = self.repetition_rate_hz
            for name in ("entangling_rate_hz", "pme_rate_hz"):
                if name in self.estimates:
                    out[name], out[f"{name}_stderr"] = self.estimate(name)
        out["notes"] = list(self.notes)
        out["stderr_method"] = STDERR_METHOD
        out["strong_id"] = self.strong_id
        out["runs"] = [dict(run) for run in self.runs]
        out["metadata"] = dict(self.metadata)
        return out

    def to_xarray(self):
        """An ``xarray.Dataset``: each figure and its ``_stderr`` over ``sign``, the top-level estimates as scalars.

        A figure the counts do not define is NaN (``notes`` says why); the provenance
        (link, trials, identity, notes, metadata) is in the attributes.
        """
        from metroqnet.analysis.labelled import dataset_attributes, require_xarray

        xr = require_xarray()
        variables: dict[str, object] = {}
        for name in FIGURE_NAMES:
            for suffix, source in (("", self.figures), ("_stderr", self.figures_stderr)):
                values = [source[sign].get(name, np.nan) for sign in HERALD_SIGNS]
                variables[name + suffix] = (("sign",), np.array(values, dtype=float))
        for name, value in self.estimates.items():
            variables[name] = ((), value)
            variables[f"{name}_stderr"] = ((), self.stderr[name])
        provenance = {
            "link": self.link, "trials": self.trials, "read_efficiency_x": self.read_efficiency_x,
            "read_efficiency_y": self.read_efficiency_y, "repetition_rate_hz": self.repetition_rate_hz,
            "strong_id": self.strong_id, "runs": [dict(run) for run in self.runs], "notes": list(self.notes),
            "stderr_method": STDERR_METHOD, "metadata": dict(self.metadata),
        }
        return xr.Dataset(variables, coords={"sign": list(HERALD_SIGNS)}, attrs=dataset_attributes(provenance))

    def to_dataframe(self):
        """A ``pandas.DataFrame``: one row per herald sign, each figure beside its standard error."""
        data = self.to_xarray()
        return data.drop_vars([name for name, variable in data.data_vars.items() if variable.ndim == 0]).to_dataframe()


def _interleave(values: Mapping[str, float], errors: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in values.items():
        out[name], out[f"{name}_stderr"] = value, errors[name]
    return out


# --- one herald sign ------------------------------------------------------------------------


def _sign_figures(
    tables: Mapping[str, np.ndarray], *, sign: str, etas: dict[str, float] | None, e_sign: float | None = None
) -> tuple[dict[str, float], list[str]]:
    """The defined figures of one sign (in ``FIGURE_NAMES`` order) and why the others are not.

    With ``e_sign`` the kinked figures are given in their smooth form for
    differentiation: d and d_general unfolded on the side of E's observed sign, C and C̃
    (of both bounds) unclipped.
    """
    out: dict[str, float] = {}
    missing: list[str] = []

    def attempt(compute) -> object | None:
        try:
            return compute()
        except UndefinedEstimate as error:
            missing.append(str(error))
            return None

    populations = attempt(lambda: z_populations(tables["Z"]))
    correlators = {b: attempt(lambda b=b: single_click_correlator(tables[b], b)) for b in BASES}
    if populations is not None:
        out.update(populations)
    xx = correlators["X"]
    if populations is not None and xx is not None:
        if e_sign is None:
            d = coherence_bound(populations, xx)
            d_general = general_coherence_bound(populations, xx)
            clip, atomic = concurrence, atomic_concurrence
        else:
            d = coherence_bound(populations, 1.0) * xx * e_sign
            d_general = general_coherence_bound(populations, 1.0) * xx * e_sign
            # unfold: d is already |d| on E's side; abs() would put the kink back at E = 0.
            clip = partial(unclipped_concurrence, unfold=True)
            atomic = partial(unclipped_atomic_concurrence, unfold=True)
        out.update(E=xx, d=d, concurrence=clip(populations, d),
                   d_general=d_general, concurrence_general=clip(populations, d_general))
        if etas is not None:
            out["atomic_concurrence"] = attempt(lambda: atomic(populations, d, **etas))
            if out["atomic_concurrence"] is not None:  # the same read efficiencies: defined alike
                out["atomic_concurrence_general"] = atomic(populations, d_general, **etas)
    elif xx is not None:
        out["E"] = xx
    for basis, name in zip(BASES, ("zz", "xx", "yy")):
        if correlators[basis] is not None:
            out[name] = correlators[basis]
    if all(value is not None for value in correlators.values()):
        out["fidelity"] = pme_fidelity(*correlators.values(), sign=sign)
    pme = attempt(lambda: pme_probability(tables))
    if pme is not None:
        out["pme_probability"] = pme
    return {name: out[name] for name in FIGURE_NAMES if out.get(name) is not None}, missing


#: Figures that are max(0, ·): at 0 they carry the stderr of the unclipped value.
CLIPPED_FIGURES = ("concurrence", "atomic_concurrence", "concurrence_general", "atomic_concurrence_general")

#: Pseudocount added to every cell of a basis table before propagating errors (Jeffreys prior).
JEFFREYS_PSEUDOCOUNT = 0.5


def _analyze_sign(record: CountRecord, sign: str, etas: dict[str, float] | None):
    """Values, standard errors, unclipped kink values and notes of one sign."""
    sizes = [int(record.table(sign, basis).sum()) for basis in BASES]
    fractions = [record.table(sign, basis).ravel() / max(n, 1) for basis, n in zip(BASES, sizes)]
    # Errors are propagated at the Jeffreys-regularized fractions (every cell + 1/2): with few
    # events a basis whose events all fall in one cell would otherwise report a zero error.
    regularized = [
        (record.table(sign, basis).ravel() + JEFFREYS_PSEUDOCOUNT) / (n + JEFFREYS_PSEUDOCOUNT * 16)
        for basis, n in zip(BASES, sizes)
    ]
    if sum(sizes) == 0:
        return {}, {}, {}, ["no heralded events, no figures"]
    # Values from the counts themselves (as entanglement_figures gives them); fractions for the gradients.
    tables = {basis: record.table(sign, basis) for basis in BASES}
    values, missing = _sign_figures(tables, sign=sign, etas=etas)
    if not values:
        return values, {}, {}, missing
    e_sign = 1.0 if values.get("E", 0.0) >= 0 else -1.0
    names = list(values)

    def smooth(points: list[np.ndarray]) -> np.ndarray:
        perturbed = {basis: p.reshape(-1, 4, 4) for basis, p in zip(BASES, points)}
        figures, _ = _sign_figures(perturbed, sign=sign, etas=etas, e_sign=e_sign)
        return np.stack([figures[name] for name in names], axis=-1)

    covariances = [multinomial_covariance(f, n) for f, n in zip(regularized, sizes)]
    _, covariance = propagate(smooth, regularized, covariances)
    smooth_values = smooth([f[None, :] for f in fractions])[0]
    errors = dict(zip(names, np.sqrt(np.clip(np.diag(covariance), 0.0, None)).tolist()))
    unclipped = {name: float(v) for name, v in zip(names, smooth_values)
                 if name in CLIPPED_FIGURES and v <= 0}
    if values.get("p11") == 0.0 and "d" in values:
        missing.append("p11 = 0 (no event in its cells): first order misses the √(p00·p11) term, so the "
                       "stderr of d, concurrence and atomic_concurrence (and of their _general versions) "
                       "is too small; collect more events")
    if 0.0 in (values.get("p01"), values.get("p10")) and "d_general" in values:
        missing.append("p01 or p10 = 0 (no event in its cells): first order is poor at the √(p01·p10) term, "
                       "so the stderr of d_general, concurrence_general and atomic_concurrence_general is "
                       "indicative only; collect more events")
    return values, errors, unclipped, missing


# --- the whole record ----------------------------------------------------------------------


def background_estimates(record: CountRecord, background: CountRecord) -> tuple[dict[str, float], dict[str, float]]:
    """Heralds from noise, from a background run (write pulses off: only dark counts and noise herald).

    ``noise_herald_fraction = P_bg / P_h`` and the server ``snr = (P_h - P_bg) / P_bg``, with the
    two herald probabilities independent binomials (delta method). A background or a run
    without heralds leaves them undefined (:class:`UndefinedEstimate`, a ``ValueError``).
    """
    if background.trials <= 0:
        raise UndefinedEstimate("background: the background run has no trials")
    if record.trials <= 0 or record.heralds == 0:
        raise UndefinedEstimate("background: the run has no heralds to compare with the background")
    p_run, p_bg = record.heralds / record.trials, background.heralds / background.trials
    if p_bg == 0:
        raise UndefinedEstimate(
            f"background: no herald in {background.trials} background trials; run it longer to estimate the noise"
        )

    def quantities(points: list[np.ndarray]) -> np.ndarray:
        run, bg = points[0][:, 0], points[1][:, 0]
        return np.stack([bg, bg / run, (run - bg) / bg], axis=-1)

    covariances = [np.array([[p_run * (1 - p_run) / record.trials]]), np.array([[p_bg * (1 - p_bg) / background.trials]])]
    values, covariance = propagate(quantities, [np.array([p_run]), np.array([p_bg])], covariances)
    names = ("background_herald_probability", "noise_herald_fraction", "snr")
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    return dict(zip(names, values.tolist())), dict(zip(names, errors.tolist()))


def analyze_counts(record: CountRecord, *, background: CountRecord | None = None) -> CountAnalysis:
    """Herald probabilities, figures per sign (docs/link_model.md) and rates, each with a standard error.

    With ``background`` (a run of the same link with the write pulses off) also the fraction
    of heralds from noise and the server SNR.
    """
    etas = None
    if record.read_efficiency_x is not None and record.read_efficiency_y is not None:
        etas = {"read_efficiency_x": record.read_efficiency_x, "read_efficiency_y": record.read_efficiency_y}
    notes: list[str] = []
    if etas is None:
        notes.append("atomic_concurrence and atomic_concurrence_general omitted: no "
                     "read_efficiency_x/read_efficiency_y given (needed to deduct the read-out loss)")
    figures, figures_stderr = {}, {}
    for sign in HERALD_SIGNS:
        values, errors, unclipped, missing = _analyze_sign(record, sign, etas)
        figures[sign], figures_stderr[sign] = MappingProxyType(values), MappingProxyType(errors)
        notes += [f"{sign}: {text}" for text in missing]
        notes += [
            f"{sign}: {name} = 0 sits on the max(0, ·) kink; {name}_stderr is the standard error of the "
            f"unclipped value {value:.6g}"
            for name, value in unclipped.items()
        ]
    estimates, stderr = _probabilities_and_rates(record, figures, figures_stderr, notes)
    if background is not None:
        values, errors = background_estimates(record, background)
        estimates.update(values)
        stderr.update(errors)
    else:
        notes.append("noise_herald_fraction, snr omitted: they need a background run (write pulses off)")
    return CountAnalysis(
        link=record.link,
        trials=record.trials,
        trials_per_basis=tuple(int(n) for n in record.trials_per_basis),
        counts=MappingProxyType({s: int(record.counts[i].sum()) for i, s in enumerate(HERALD_SIGNS)}),
        estimates=MappingProxyType(estimates),
        stderr=MappingProxyType(stderr),
        figures=MappingProxyType(figures),
        figures_stderr=MappingProxyType(figures_stderr),
        read_efficiency_x=record.read_efficiency_x,
        read_efficiency_y=record.read_efficiency_y,
        repetition_rate_hz=record.repetition_rate_hz,
        notes=tuple(notes),
        strong_id=record.strong_id,
        runs=tuple(run.as_dict() for run in record.runs),
        metadata=MappingProxyType(dict(record.metadata)),
    )


def _probabilities_and_rates(record: CountRecord, figures, figures_stderr, notes: list[str]):
    trials = record.trials
    heralds = np.array([record.counts[i].sum() for i in range(len(HERALD_SIGNS))], dtype=float)
    probabilities = heralds / trials if trials else np.zeros(len(HERALD_SIGNS))
    pme, pme_variance = [], []
    for index, sign in enumerate(HERALD_SIGNS):
        if "pme_probability" in figures[sign]:
            pme.append(figures[sign]["pme_probability"])
            pme_variance.append(figures_stderr[sign]["pme_probability"] ** 2)
        elif heralds[index] == 0:  # no heralds of this sign: it adds no PME events
            pme.append(0.0)
            pme_variance.append(0.0)
    rate = record.repetition_rate_hz
    names = ["herald_probability", "herald_probability_plus", "herald_probability_minus"]
    with_pme = len(pme) == len(HERALD_SIGNS)
    if rate is not None:
        names.append("entangling_rate_hz")
        if with_pme:
            names.append("pme_rate_hz")
        else:
            notes.append("pme_rate_hz omitted: pme_probability is undefined for a sign with heralds")
    else:
        notes.append("entangling_rate_hz, pme_rate_hz omitted: no repetition_rate_hz given")

    def quantities(points: list[np.ndarray]) -> np.ndarray:
        herald = dict(zip(HERALD_SIGNS, points[0].T))
        out = [herald["plus"] + herald["minus"], *herald.values()]
        if rate is not None:
            out.append(out[0] * rate)
            if with_pme:
                out.append(pme_per_trial(herald, dict(zip(HERALD_SIGNS, points[1].T))) * rate)
        return np.stack(out, axis=-1)

    points = [probabilities, np.array(pme if with_pme else [0.0, 0.0])]
    covariances = [multinomial_covariance(probabilities, trials), np.diag(pme_variance if with_pme else [0.0, 0.0])]
    values, covariance = propagate(quantities, points, covariances)
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    return dict(zip(names, values.tolist())), dict(zip(names, errors.tolist()))


# --- density matrix --------------------------------------------------------------------------


def density_matrix(source: CountRecord | CountAnalysis, sign: str, *, atomic: bool = False) -> np.ndarray:
    """X-state density matrix of one herald sign for plotting, basis |00>, |01>, |10>, |11>.

    Diagonal p00, p01, p10, p11; coherence ±d at (01, 10) and (10, 01) with the
    sign of E. ``atomic=True`` gives the loss-deducted atomic version (P_ij from
    inverting the read-out loss map, D = d/√(η_X η_Y)); it needs read efficiencies.
    Counting noise can make atomic P_ij slightly negative; they are shown as estimated.
    """
    analysis = analyze_counts(source) if isinstance(source, CountRecord) else source
    figures = analysis.figures[sign]
    needed = ("p00", "p01", "p10", "p11", "d", "E")
    if any(name not in figures for name in needed):
        raise UndefinedEstimate(f"{sign}: the counts do not define p_ij, E and d; no density matrix")
    populations = {name: figures[name] for name in needed[:4]}
    coherence = figures["d"] * (1.0 if figures["E"] >= 0 else -1.0)
    if atomic:
        if analysis.read_efficiency_x is None or analysis.read_efficiency_y is None:
            raise UndefinedEstimate("atomic density matrix: needs read_efficiency_x and read_efficiency_y")
        etas = {"read_efficiency_x": analysis.read_efficiency_x, "read_efficiency_y": analysis.read_efficiency_y}
        populations = atomic_populations(populations, **etas)
        coherence = atomic_coherence(coherence, **etas)
    rho = np.diag([populations[name] for name in ("p00", "p01", "p10", "p11")])
    rho[1, 2] = rho[2, 1] = coherence
    return rho
