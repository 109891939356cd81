"""The PME correlators ⟨ZZ⟩, ⟨XX⟩, ⟨YY⟩ and the fidelity F of links, sampled, exact and ideal (Fig. 3e,h, Fig. 4c,d).

The common part of :mod:`metroqnet.experiments.fig3_correlators` and
:mod:`metroqnet.experiments.fig4_correlators`: each figure is a set of **series** (one link at one
experiment's settings: Fig. 3's two storage times on Alice–Bob, Fig. 4's three links at 5 µs), and
for each series, herald sign and figure three values:

* **sampled**: a Monte Carlo run (:func:`~metroqnet.experiments.simulation.simulate_link`) analysed
  as a lab's counts, with its one-standard-error (delta-method) error;
* **exact**: the exact engine's figures (:func:`~metroqnet.link.evaluate.evaluate_link`) at the
  same link parameters, which the sampled values estimate;
* **ideal**: the correlators of the ideal |Ψ±⟩PME state, ⟨ZZ⟩ = −1, ⟨XX⟩ = ⟨YY⟩ = ±1, F = 1
  (docs/link_model.md, "Conventions").

What the paper calls "the theoretical correlators" (its transparent bars in Fig. 3e,h): the paper
defines |Ψ±⟩PME as the state its weak-field method converts the Fock-basis entanglement into, and F
as the overlap with it, F = (1 − ⟨ZZ⟩ ± ⟨XX⟩ ± ⟨YY⟩)/4; it gives no model of the imperfect link in
the main text from which other theoretical correlators could come. So we read them as the ideal
state's: −1, ±1, ±1. The twin draws both: its exact model as the transparent bars (the
prediction a sampled run scatters about) and the ideal values as dashed black marks.

Seeds: the series at place k of a figure runs on ``child(seed, k)`` (:func:`metroqnet.config.seeds.child`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, seed_record
from metroqnet.config.validation import Count, check
from metroqnet.config.versions import versions
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.experiments.simulation import simulate_link
from metroqnet.link.evaluate import evaluate_link

SIGNS: tuple[str, ...] = ("plus", "minus")
#: The figures drawn, in the paper's order; ``fidelity`` is the PME fidelity F.
FIGURES: tuple[str, ...] = ("zz", "xx", "yy", "fidelity")
FIGURE_LABELS = {"zz": "⟨ZZ⟩", "xx": "⟨XX⟩", "yy": "⟨YY⟩", "fidelity": "F"}
#: The ideal |Ψ±⟩PME state's correlators and fidelity (docs/link_model.md, "Conventions").
IDEAL: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "plus": MappingProxyType({"zz": -1.0, "xx": 1.0, "yy": 1.0, "fidelity": 1.0}),
    "minus": MappingProxyType({"zz": -1.0, "xx": -1.0, "yy": -1.0, "fidelity": 1.0}),
})
CSV_COLUMNS = ("series", "experiment", "link", "storage_us", "sign", "figure", "sampled", "sampled_stderr",
               "exact", "ideal", "published", "published_error", "trials")


@dataclass(frozen=True)
class CorrelatorSeries:
    """One link at one experiment's settings: its figures per sign, sampled (± s.e.), exact, published F."""

    key: str
    experiment: str
    link: str
    storage_us: float
    parameters: LinkParameters
    trials: int
    seed: dict[str, object]
    sampled: Mapping[str, Mapping[str, float]]
    sampled_stderr: Mapping[str, Mapping[str, float]]
    exact: Mapping[str, Mapping[str, float]]
    #: sign -> (F, its error or None) as the paper prints it; empty where the paper gives none.
    published_fidelity: Mapping[str, tuple[float, float | None]]

    def as_dict(self) -> dict[str, object]:
        return {"experiment": self.experiment, "link": self.link, "storage_us": self.storage_us,
                "parameters": self.parameters.to_mapping(), "trials": self.trials, "seed": self.seed,
                "sampled": _plain(self.sampled), "sampled_stderr": _plain(self.sampled_stderr),
                "exact": _plain(self.exact), "ideal": _plain(IDEAL),
                "published_fidelity": {s: list(v) for s, v in self.published_fidelity.items()}}


def link_label(link: str) -> str:
    """``alice-bob`` as ``Alice–Bob``."""
    return "–".join(node.capitalize() for node in link.split("-"))


def _plain(table: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float | None]]:
    return {sign: {name: (None if math.isnan(v) else v) for name, v in values.items()} for sign, values in table.items()}


@dataclass(frozen=True)
class CorrelatorFigure:
    """The series of one figure, in drawing order, and the seed they were spawned from."""

    network: str
    series: tuple[CorrelatorSeries, ...]
    seed: dict[str, object]

    def __getitem__(self, key: str) -> CorrelatorSeries:
        for one in self.series:
            if one.key == key:
                return one
        raise KeyError(f"{key!r} is not one of {[one.key for one in self.series]}")

    def rows(self) -> list[dict[str, object]]:
        """One row per series, sign and figure (columns :data:`CSV_COLUMNS`; '' where there is no value)."""
        out = []
        for one in self.series:
            for sign in SIGNS:
                for name in FIGURES:
                    published = one.published_fidelity.get(sign) if name == "fidelity" else None
                    out.append({"series": one.key, "experiment": one.experiment, "link": one.link,
                                "storage_us": one.storage_us, "sign": sign, "figure": name,
                                "sampled": one.sampled[sign][name], "sampled_stderr": one.sampled_stderr[sign][name],
                                "exact": one.exact[sign][name], "ideal": IDEAL[sign][name],
                                "published": "" if published is None else published[0],
                                "published_error": "" if published is None or published[1] is None else published[1],
                                "trials": one.trials})
        return out

    def to_csv(self) -> str:
        text = io.StringIO()
        writer = csv.DictWriter(text, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                         for row in self.rows())
        return text.getvalue()

    def as_dict(self) -> dict[str, object]:
        return {"network": self.network, "seed": self.seed,
                "series": {one.key: one.as_dict() for one in self.series}, **versions()}


def trials_per_series(trials: Mapping[str, int] | int, keys: Sequence[str]) -> dict[str, int]:
    """``trials`` for every key: one count for all, or a mapping that names each key exactly once."""
    if isinstance(trials, Mapping):
        unknown = sorted(set(trials) - set(keys))
        missing = [key for key in keys if key not in trials]
        if unknown or missing:
            raise ValueError(f"trials={dict(trials)!r}: give a count for each of {list(keys)}"
                             + (f"; unknown {unknown}" if unknown else "") + (f"; missing {missing}" if missing else ""))
        return {key: check(f"trials[{key!r}]", trials[key], Count) for key in keys}
    count = check("trials", trials, Count)
    return {key: count for key in keys}


def run_series(network: NetworkHardware, *, key: str, experiment: str, nodes: tuple[str, str] | None,
               trials: int, seed: Seed, published: bool = True) -> CorrelatorSeries:
    """Exact figures and a sampled run of ``trials`` trials on ``seed`` for the link ``nodes`` at ``experiment``.

    With ``published``, the paper's F of the experiment (``pme_fidelity_plus/minus``) where the preset
    gives it and ``nodes`` is the experiment's own pair.
    """
    params = experiment_link_parameters(network, experiment, nodes=nodes)
    declared = network.experiment(experiment)
    pair = nodes if nodes is not None else declared.nodes
    link = "-".join(pair)
    exact_figures = evaluate_link(params).figures
    analysis = simulate_link(params, trials=trials, seed=seed, link=link).analysis
    exact, sampled, stderr = {}, {}, {}
    for sign in SIGNS:
        exact[sign] = MappingProxyType({name: float(getattr(exact_figures[sign], name)) for name in FIGURES})
        sampled[sign] = MappingProxyType({name: float(analysis.figures[sign].get(name, math.nan)) for name in FIGURES})
        stderr[sign] = MappingProxyType({name: float(analysis.figures_stderr[sign].get(name, math.nan))
                                         for name in FIGURES})
    published_fidelity = {}
    figures = None if network.published is None or not published else network.published.experiments.get(experiment)
    if figures is not None and nodes in (None, tuple(declared.nodes)):
        for sign in SIGNS:
            value = getattr(figures, f"pme_fidelity_{sign}")
            if value is not None:
                published_fidelity[sign] = (float(value.value), None if value.error is None else float(value.error))
    storage_us = math.nan if declared.storage_us is None else float(declared.storage_us)
    return CorrelatorSeries(key=key, experiment=experiment, link=link, storage_us=storage_us,
                            parameters=params, trials=trials, seed=seed_record(seed),
                            sampled=MappingProxyType(sampled), sampled_stderr=MappingProxyType(stderr),
                            exact=MappingProxyType(exact), published_fidelity=MappingProxyType(published_fidelity))


def spawn_series(network: NetworkHardware, specs: Sequence[tuple[str, str, tuple[str, str] | None]], *,
                 trials: Mapping[str, int] | int, seed: Seed, published: bool = True
                 ) -> tuple[tuple[CorrelatorSeries, ...], dict]:
    """Run each (key, experiment, nodes) of ``specs``, the one at place k on ``child(seed, k)``."""
    counts = trials_per_series(trials, [key for key, _, _ in specs])
    series = tuple(run_series(network, key=key, experiment=experiment, nodes=nodes, trials=counts[key],
                              seed=child(seed, index), published=published)
                   for index, (key, experiment, nodes) in enumerate(specs))
    return series, seed_record(seed)


# --- the figure ---------------------------------------------------------------------------------

DPI = 110
SIGN_SYMBOLS = {"plus": r"$|\Psi^{+}\rangle_{\mathrm{PME}}$", "minus": r"$|\Psi^{-}\rangle_{\mathrm{PME}}$"}


def draw_correlator_figure(result: CorrelatorFigure, *, panels: Mapping[str, str], colours: Mapping[str, str],
                           labels: Mapping[str, str], title: str, threshold: float | None = None,
                           threshold_label: str | None = None):
    """Bar panels (one per ``panels`` letter -> sign) as a :class:`matplotlib.figure.Figure`, no pyplot.

    Per figure group, per series: a wide transparent bar (exact model), a narrow solid bar (sampled,
    ±1 s.e.), a dashed black mark at the ideal value, a black diamond for a published F; with
    ``threshold`` a dashed line at that value across the fidelity group. The legend sits below the panels.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    figure = Figure(figsize=(13.0, 6.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), sharey=True)
    count = len(result.series)
    slot = 0.8 / count
    any_published = any(one.published_fidelity for one in result.series)
    low, high = -1.15, 1.15  # the ideal values ±1 with a margin, widened below so no error bar is cut off
    for ax, (letter, sign) in zip(axes, panels.items(), strict=True):
        for group, name in enumerate(FIGURES):
            left = group - 0.4
            ax.hlines(IDEAL[sign][name], left, left + 0.8, colors="k", linestyles=(0, (4, 2)), lw=1.3, zorder=4)
            for index, one in enumerate(result.series):
                x = left + slot * (index + 0.5)
                colour = colours[one.key]
                ax.bar(x, one.exact[sign][name], width=slot * 0.92, color=colour, alpha=0.25, edgecolor=colour,
                       lw=1.0, zorder=1)
                value, error = one.sampled[sign][name], one.sampled_stderr[sign][name]
                if not math.isnan(value):
                    reach = 0.0 if math.isnan(error) else error
                    low, high = min(low, value - reach - 0.05), max(high, value + reach + 0.05)
                    ax.bar(x, value, width=slot * 0.5, color=colour, zorder=2)
                    ax.errorbar(x, value, yerr=0.0 if math.isnan(error) else error, fmt="none", ecolor="k",
                                elinewidth=1.2, capsize=3, zorder=3)
                published = one.published_fidelity.get(sign) if name == "fidelity" else None
                if published is not None:
                    ax.errorbar(x + slot * 0.3, published[0], yerr=published[1], fmt="D", ms=5, color="k",
                                mfc="white", elinewidth=1.0, capsize=2, zorder=5)
            if name == "fidelity" and threshold is not None:
                ax.hlines(threshold, left - 0.05, left + 0.85, colors="tab:red", linestyles="--", lw=1.5, zorder=4)
        ax.axhline(0.0, color="0.3", lw=0.8, zorder=0)
        for boundary in range(len(FIGURES) - 1):
            ax.axvline(boundary + 0.5, color="0.85", lw=0.8, zorder=0)
        ax.set_xticks(range(len(FIGURES)), [FIGURE_LABELS[name] for name in FIGURES], fontsize=11)
        ax.set(xlim=(-0.55, len(FIGURES) - 0.45), xlabel="correlator, and the PME fidelity F")
        ax.set_title(f"{letter}   {SIGN_SYMBOLS[sign]}", loc="left", fontsize=12)
    axes[0].set(ylabel="value", ylim=(low, high))  # shared y: one call sets every panel
    handles = []
    for one in result.series:
        handles.append(Patch(facecolor=colours[one.key], label=f"{labels[one.key]}: sampled ±1 s.e."))
        handles.append(Patch(facecolor=colours[one.key], alpha=0.25, edgecolor=colours[one.key],
                             label=f"{labels[one.key]}: exact model"))
    handles.append(Line2D([], [], color="k", ls=(0, (4, 2)), label="ideal |Ψ±⟩PME (−1, ±1, ±1; F = 1)"))
    if any_published:
        handles.append(Line2D([], [], color="k", marker="D", mfc="white", ls="none", label="paper's F ±1σ"))
    if threshold is not None:
        handles.append(Line2D([], [], color="tab:red", ls="--", label=threshold_label or f"F = {threshold:g}"))
    # Two rows, filled column by column: each series' sampled over its exact bar, the marks at the end.
    figure.legend(handles=handles, loc="outside lower center", ncol=math.ceil(len(handles) / 2), fontsize=9.5,
                  frameon=False)
    trials = sorted({one.trials for one in result.series})
    what = f"{trials[0]:.3g}" if len(trials) == 1 else "/".join(f"{t:.3g}" for t in trials)
    figure.suptitle(f"{title} ({result.network}; sampled: {what} trials per series)", fontsize=12)
    return figure


def save_figure(figure, path: str | Path) -> Path:
    path = Path(path)
    figure.savefig(path, dpi=DPI)
    return path


__all__ = ["CSV_COLUMNS", "FIGURES", "IDEAL", "SIGNS", "CorrelatorFigure", "CorrelatorSeries",
           "draw_correlator_figure", "link_label", "run_series", "save_figure", "spawn_series", "trials_per_series"]
