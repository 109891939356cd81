"""Fig. 3c,d,f,g of the paper: the reconstructed density matrices of Ψ± after 5 µs and 107 µs of storage.

For each declared link experiment of :data:`EXPERIMENTS` (the Hefei preset's ``storage_5us`` and
``storage_107us``, Alice–Bob) at its link parameters
(:func:`~metroqnet.experiments.link_setup.experiment_link_parameters`):

* the **exact** matrices: the estimators' figures of the exact engine
  (:func:`~metroqnet.link.evaluate.evaluate_link`) put into
  :func:`~metroqnet.analysis.density_matrix.density_matrices`, read-out fields and atoms (loss
  deducted with the link's read efficiencies);
* with ``trials`` and ``seed``, the **sampled** matrices: a Monte Carlo run of ``trials`` trials
  (:func:`~metroqnet.experiments.simulation.simulate_link`, seed the experiment's child stream
  :data:`STREAMS` of ``seed``) reconstructed from its counts, with delta-method errors.

The paper prints no element values (only the bars), so there is nothing to compare numerically;
its C and C̃ of the Alice–Bob link at 5 µs are Table 1's (:mod:`metroqnet.experiments.table1`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metroqnet.analysis.density_matrix import BASIS_STATES, CSV_COLUMNS, DensityMatrices, density_matrices
from metroqnet.config.files import prepare_output_folder, write_text_file
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, seed_record
from metroqnet.config.validation import Count, check
from metroqnet.config.versions import versions
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.experiments.plot_files import plot_or_note
from metroqnet.experiments.simulation import simulate_link
from metroqnet.link.evaluate import evaluate_link

#: The paper's two storage experiments, each with its child stream of a sampled run's seed.
EXPERIMENTS: tuple[str, ...] = ("storage_5us", "storage_107us")
STREAMS = {"storage_5us": 0, "storage_107us": 1}
#: Panel letter -> (experiment, herald sign), as in the paper's Fig. 3.
PANELS: dict[str, tuple[str, str]] = {
    "c": ("storage_5us", "plus"), "d": ("storage_5us", "minus"),
    "f": ("storage_107us", "plus"), "g": ("storage_107us", "minus"),
}
SOURCES = ("exact", "sampled")
FIG3_CSV_COLUMNS = ("experiment", "source", *CSV_COLUMNS)


@dataclass(frozen=True)
class Fig3Density:
    """Exact (and sampled) density matrices of each experiment; ``sampled`` None without a run."""

    network: str
    parameters: Mapping[str, LinkParameters]
    storage_us: Mapping[str, float]
    exact: Mapping[str, DensityMatrices]
    sampled: Mapping[str, DensityMatrices] | None = None
    trials: int | None = None
    seed: dict[str, object] | None = None

    def matrices(self, source: str = "exact") -> Mapping[str, DensityMatrices]:
        if source not in SOURCES:
            raise ValueError(f"source={source!r} is not one of {SOURCES}")
        if source == "sampled" and self.sampled is None:
            raise ValueError("this result has no sampled matrices (give trials and seed)")
        return self.exact if source == "exact" else self.sampled

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"network": self.network, "panels": {k: list(v) for k, v in PANELS.items()}}
        for name in EXPERIMENTS:
            part: dict[str, object] = {"storage_us": self.storage_us[name],
                                       "parameters": self.parameters[name].to_mapping(),
                                       "exact": self.exact[name].to_dict()}
            if self.sampled is not None:
                part["sampled"] = self.sampled[name].to_dict()
            out[name] = part
        out["trials"] = self.trials
        out["seed"] = self.seed
        out.update(versions())
        return out

    as_dict = to_dict

    def to_csv(self) -> str:
        """Every element of every matrix (columns :data:`FIG3_CSV_COLUMNS`)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(FIG3_CSV_COLUMNS)
        for source in SOURCES[: 2 if self.sampled is not None else 1]:
            for name, result in self.matrices(source).items():
                writer.writerows([name, source, *row] for row in result.csv_rows())
        return text.getvalue()


def fig3_density(network: NetworkHardware, *, trials: int | None = None, seed: Seed | None = None) -> Fig3Density:
    """Fig. 3c,d,f,g: exact matrices, and with ``trials`` and ``seed`` sampled ones with errors."""
    if (trials is None) != (seed is None):
        raise ValueError("give trials and seed together (a sampled run), or neither (exact only)")
    if trials is not None:
        trials = check("trials", trials, Count)
    parameters, storage, exact, sampled = {}, {}, {}, {} if trials is not None else None
    for name in EXPERIMENTS:
        params = experiment_link_parameters(network, name)
        declared = network.experiment(name)
        link = "-".join(declared.nodes)
        parameters[name], storage[name] = params, float(declared.storage_us)
        exact[name] = density_matrices(evaluate_link(params).figures, read_efficiency_x=params.read_efficiency_x,
                                       read_efficiency_y=params.read_efficiency_y, link=link)
        if sampled is not None:
            run = simulate_link(params, trials=trials, seed=child(seed, STREAMS[name]), link=link)
            sampled[name] = density_matrices(run.record)
    return Fig3Density(network=network.name, parameters=parameters, storage_us=storage, exact=exact,
                       sampled=sampled, trials=trials, seed=None if seed is None else seed_record(seed))


def write_fig3_density(result: Fig3Density, directory: str | Path, *, overwrite: bool = False
                       ) -> tuple[list[Path], list[str]]:
    """``fig3_density.csv``, ``fig3_density.json`` and (with matplotlib) ``fig3_density.png``; (paths, notes)."""
    folder = prepare_output_folder(directory, overwrite=overwrite)
    written = [write_text_file(folder / "fig3_density.csv", result.to_csv(), what="--out"),
               write_text_file(folder / "fig3_density.json", json.dumps(result.to_dict(), indent=2) + "\n",
                               what="--out")]
    figures, notes = plot_or_note(plot_fig3_density, result, folder / "fig3_density.png")
    return written + figures, notes


# --- the figure ---------------------------------------------------------------------------------

READ_OUT_COLOUR = "#1f5fbf"
ATOMIC_COLOUR = "#f08c28"


def _panel_title(letter: str, result: Fig3Density, source: str) -> str:
    name, sign = PANELS[letter]
    matrices = result.matrices(source)[name]
    parts = []
    for state, symbol in (("read_out", "C"), ("atomic", r"$\tilde{C}$")):
        try:
            matrix = matrices.get(sign, state)
        except KeyError:
            continue
        text = f"{symbol} = {matrix.concurrence():.3f}"
        if source == "sampled":
            error = matrices.concurrence_stderr(sign, state)
            if error is not None:
                text += f" ± {error:.3f}"
        parts.append(text)
    state_name = r"$|\Psi^{+}\rangle_{pp}$" if sign == "plus" else r"$|\Psi^{-}\rangle_{pp}$"
    return f"{letter}   {state_name} after {result.storage_us[name]:g} µs\n" + ",  ".join(parts)


def plot_fig3_density(result: Fig3Density, path: Path, *, source: str | None = None) -> Path:
    """Four 3D bar panels c, d, f, g of Re ρ like the paper's: read-out solid blue, atoms transparent orange.

    ``source`` (default: sampled where the result has a run, else exact); sampled panels draw
    ±1 stderr as black lines on the estimated elements. Needs matplotlib (``metroqnet[plot]``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    source = source or ("sampled" if result.sampled is not None else "exact")
    matrices = result.matrices(source)
    figure = plt.figure(figsize=(12, 10.5))
    labels = [rf"$|{b}\rangle$" for b in BASIS_STATES]
    all_values = [m.matrix.real for r in matrices.values() for m in r.matrices]
    low = min(0.0, min(v.min() for v in all_values)) - 0.02
    high = max(v.max() for v in all_values) + 0.02
    shapes = {"read_out": (0.36, READ_OUT_COLOUR, 1.0), "atomic": (0.72, ATOMIC_COLOUR, 0.28)}
    zorders = {"atomic": 1, "read_out": 2}
    for index, letter in enumerate(PANELS):
        name, sign = PANELS[letter]
        ax = figure.add_subplot(2, 2, index + 1, projection="3d")
        ax.computed_zorder = False  # paint in the order below: the solid bars show through the transparent ones
        # Atoms first (wide, transparent), then the read-out fields inside them (narrow, solid);
        # structural zeros are not drawn (the method estimates 6 elements: 4 populations, ±coherence).
        for state in ("atomic", "read_out"):
            width, colour, alpha = shapes[state]
            try:
                matrix = matrices[name].get(sign, state)
            except KeyError:
                continue
            rho = matrix.matrix.real
            cells = [(i, j) for i in range(4) for j in range(4) if i == j or {i, j} == {1, 2}]
            x = np.array([j for i, j in cells], dtype=float) - width / 2
            y = np.array([i for i, j in cells], dtype=float) - width / 2
            values = np.array([rho[i, j] for i, j in cells])
            ax.bar3d(x, y, np.zeros_like(values), width, width, values, color=colour, alpha=alpha,
                     edgecolor="0.25" if state == "atomic" else None, linewidth=0.5,
                     shade=state == "read_out", zorder=zorders[state])
            errors = matrix.matrix_stderr
            if source == "sampled" and errors is not None:
                for i, j in cells:
                    top, error = rho[i, j], errors[i, j]
                    ax.plot([j, j], [i, i], [top - error, top + error], color="k", lw=1.6, zorder=3)
        ax.set_xticks(range(4), labels, fontsize=9)
        ax.set_yticks(range(4), labels, fontsize=9)
        ax.set_xlim(-0.6, 3.6)
        ax.set_ylim(-0.6, 3.6)
        ax.set_zlim(low, high)
        ax.set_zlabel("Re ρ", fontsize=9)
        ax.tick_params(axis="z", labelsize=8)
        ax.view_init(elev=28, azim=-52)
        ax.set_title(_panel_title(letter, result, source), fontsize=10, loc="left")
    handles = [Patch(facecolor=READ_OUT_COLOUR, label="read-out fields"),
               Patch(facecolor=ATOMIC_COLOUR, alpha=0.35, edgecolor="k",
                     label="atomic states (read-out loss deducted)")]
    what = (f"sampled: {result.trials:.3g} trials per experiment, ±1 s.e. as black lines"
            if source == "sampled" else "exact engine")
    figure.legend(handles=handles, loc="lower center", ncol=2, fontsize=10, frameon=False)
    figure.suptitle(f"Fig. 3c,d,f,g: reconstructed density matrices ({result.network}, Alice–Bob; {what})",
                    fontsize=11)
    figure.subplots_adjust(left=0.02, right=0.97, top=0.92, bottom=0.06, wspace=0.05, hspace=0.12)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
