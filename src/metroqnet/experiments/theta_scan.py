"""Fig. 4a,b: ⟨XX⟩ of every link while a local phase θ is set at one node (Charlie).

Liu et al. 2024, "Concurrent entanglement generation in the network": "we vary the phase
θ at Charlie and measure the ⟨XX⟩ correlation of each pair of entanglement": the links
through Charlie oscillate, Alice–Bob stays flat. θ is a local unitary on the node's
read-out relative to its entanglement-probe (EP) pulse, applied after the herald and
unseen by the phase loop (docs/theta_scan.md): on a link X–Y it moves the mean of the
phase error δ (defined on Y's read-out, docs/link_model.md) by +θ when the node is Y and
by −θ when it is X; links without the node are untouched.

Per link and herald sign, at each θ:

* the exact ⟨XX⟩ (:func:`metroqnet.link.figures.evaluate_arrays` with the link's
  Gaussian phase error of mean ±θ, exact: docs/theta_scan.md);
* with ``trials_per_point``, a Monte Carlo run of that many trials measured in X
  (:func:`metroqnet.experiments.simulation.simulate_link`, the phase process
  :class:`~metroqnet.sampling.phase_processes.OffsetPhase`), its ⟨XX⟩ and standard error;
  the run of link i at angle j draws from ``child(seed, i, j)``.

Each curve is fitted with a·cos θ + b·sin θ + c (:mod:`metroqnet.analysis.sinusoid`); the
result carries the fitted phases and their differences (the paper's "π/2 delay between
the oscillations of |Ψ±⟩_BC and |Ψ±⟩_AC", which this model does not produce:
docs/theta_scan.md says why and what would).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.analysis.sinusoid import SinusoidFit, fit_sinusoid, phase_difference_rad
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import prepare_output_folder, write_text_file
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, seed_record
from metroqnet.config.validation import Count, check
from metroqnet.config.versions import versions
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.experiments.plot_files import plot_or_note
from metroqnet.experiments.simulation import simulate_link
from metroqnet.link.figures import evaluate_arrays
from metroqnet.link.points import LinkPoints
from metroqnet.sampling.phase_processes import GaussianPhase, OffsetPhase

#: Fig. 4 measures ⟨XX⟩ only: every sampled trial is measured in X (weights for Z, X, Y).
X_ONLY = (0.0, 1.0, 0.0)
#: The paper's colours for Alice–Bob, Alice–Charlie, Bob–Charlie (matplotlib's first three).
LINK_COLOURS = ("tab:blue", "tab:orange", "tab:green")
#: Line width, dash, marker and marker face per link (None: filled), so coinciding curves stay visible.
LINK_STYLES = (
    {"lw": 1.5, "ls": "-", "marker": "o", "mfc": None},
    {"lw": 3.0, "ls": "-", "marker": "s", "mfc": None},
    {"lw": 1.3, "ls": "--", "marker": "^", "mfc": "white"},
)
CSV_COLUMNS = ("link", "node_x", "node_y", "sign", "theta_rad", "theta_deg", "phase_offset_rad",
               "xx_exact", "xx_sampled", "xx_sampled_stderr")


def link_name(pair: tuple[str, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


def offset_sign(pair: tuple[str, str], node: str) -> int:
    """+1 if ``node`` is the link's Y, −1 if it is X (δ → δ ∓ θ, docs/theta_scan.md), 0 if not on the link."""
    return 1 if pair[1] == node else -1 if pair[0] == node else 0


@dataclass(frozen=True, eq=False)
class ThetaScan:
    """⟨XX⟩ against the local phase θ at ``node``, per link (``pairs``) and herald sign.

    Arrays are ``[link, sign, theta]`` (links in the order of ``pairs``, signs as in
    ``HERALD_SIGNS``). ``sampled_xx`` and its ``sampled_xx_stderr`` are None without a
    Monte Carlo run; NaN where a run had no event with one click at each node.
    """

    network: str
    experiment: str
    node: str
    pairs: tuple[tuple[str, str], ...]
    thetas_rad: np.ndarray
    parameters: tuple[LinkParameters, ...]
    exact_xx: np.ndarray
    sampled_xx: np.ndarray | None = None
    sampled_xx_stderr: np.ndarray | None = None
    trials_per_point: int | None = None
    seed: dict[str, object] | None = None

    @property
    def links(self) -> tuple[str, ...]:
        return tuple(link_name(pair) for pair in self.pairs)

    @property
    def offset_signs(self) -> tuple[int, ...]:
        return tuple(offset_sign(pair, self.node) for pair in self.pairs)

    @property
    def node_links(self) -> tuple[str, ...]:
        """The links through ``node`` (the ones that oscillate), in the order of ``pairs``."""
        return tuple(name for name, s in zip(self.links, self.offset_signs) if s != 0)

    def _index(self, link: str) -> int:
        if link not in self.links:
            raise ConfigError.at("link", f"{link!r} is not one of {', '.join(self.links)}")
        return self.links.index(link)

    def fit(self, link: str, sign: str, *, sampled: bool = False) -> SinusoidFit:
        """a·cos θ + b·sin θ + c fitted to the exact curve (or to the sampled points, weighted by their errors)."""
        i, s = self._index(link), HERALD_SIGNS.index(sign)
        if not sampled:
            return fit_sinusoid(self.thetas_rad, self.exact_xx[i, s])
        if self.sampled_xx is None:
            raise ConfigError.at("sampled", "this scan has no Monte Carlo points (give trials_per_point)")
        keep = np.isfinite(self.sampled_xx[i, s]) & (self.sampled_xx_stderr[i, s] > 0)
        return fit_sinusoid(self.thetas_rad[keep], self.sampled_xx[i, s, keep],
                            stderr=self.sampled_xx_stderr[i, s, keep])

    def phase_difference_rad(self, first: str, second: str, sign: str, *, sampled: bool = False) -> float:
        """Fitted phase of ``first`` minus that of ``second`` in (−π, π] (NaN if either is flat)."""
        return phase_difference_rad(self.fit(first, sign, sampled=sampled).phase_rad,
                                    self.fit(second, sign, sampled=sampled).phase_rad)

    def node_phase_difference_rad(self, sign: str, *, sampled: bool = False) -> float:
        """The phase difference of the two links through ``node`` (AC − BC for Charlie in a three-node network)."""
        if len(self.node_links) != 2:
            raise ConfigError.at("pairs", f"{len(self.node_links)} links through {self.node!r}; the phase "
                                 "difference of two links needs phase_difference_rad(first, second, sign)")
        return self.phase_difference_rad(*self.node_links, sign, sampled=sampled)

    def as_dict(self) -> dict[str, object]:
        """The data, the fits per link and sign, the phase differences, parameters, seed and versions."""
        sampled = self.sampled_xx is not None
        links = {}
        for i, name in enumerate(self.links):
            entry: dict[str, object] = {"nodes": list(self.pairs[i]), "offset_sign": self.offset_signs[i],
                                        "parameters": self.parameters[i].to_mapping()}
            for s, sign in enumerate(HERALD_SIGNS):
                part: dict[str, object] = {"xx_exact": self.exact_xx[i, s].tolist(),
                                           "fit_exact": _fit_or_none(self, name, sign, sampled=False)}
                if sampled:
                    part["xx_sampled"] = _json_list(self.sampled_xx[i, s])
                    part["xx_sampled_stderr"] = _json_list(self.sampled_xx_stderr[i, s])
                    part["fit_sampled"] = _fit_or_none(self, name, sign, sampled=True)
                entry[sign] = part
            links[name] = entry
        out: dict[str, object] = {
            "network": self.network, "experiment": self.experiment, "node": self.node,
            "thetas_rad": self.thetas_rad.tolist(), "links": links,
        }
        if len(self.node_links) == 2:
            first, second = self.node_links
            out["phase_difference"] = {
                "links": [first, second],
                "exact_rad": {sign: _difference_or_none(self, sign, sampled=False) for sign in HERALD_SIGNS},
            }
            if sampled:
                out["phase_difference"]["sampled_rad"] = {
                    sign: _difference_or_none(self, sign, sampled=True) for sign in HERALD_SIGNS
                }
        out["trials_per_point"] = self.trials_per_point
        out["seed"] = self.seed
        out.update(versions())
        return out

    def to_csv(self) -> str:
        """One row per link, herald sign and θ (columns :data:`CSV_COLUMNS`; empty sampled cells without a run)."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for i, (pair, name) in enumerate(zip(self.pairs, self.links)):
            for s, sign in enumerate(HERALD_SIGNS):
                for j, theta in enumerate(self.thetas_rad.tolist()):
                    sampled = ("", "") if self.sampled_xx is None else (
                        _cell(self.sampled_xx[i, s, j]), _cell(self.sampled_xx_stderr[i, s, j]))
                    writer.writerow([name, *pair, sign, repr(theta), repr(math.degrees(theta)),
                                     repr(self.offset_signs[i] * theta), repr(float(self.exact_xx[i, s, j])),
                                     *sampled])
        return text.getvalue()


def _cell(value: float) -> str:
    return "" if not math.isfinite(value) else repr(float(value))


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _json_list(values: np.ndarray) -> list[float | None]:
    return [_json_float(float(v)) for v in values]


def _fit_or_none(scan: ThetaScan, link: str, sign: str, *, sampled: bool) -> dict[str, object] | None:
    try:
        return scan.fit(link, sign, sampled=sampled).as_dict()
    except ConfigError:  # fewer than three angles (with events)
        return None


def _difference_or_none(scan: ThetaScan, sign: str, *, sampled: bool) -> float | None:
    try:
        return _json_float(scan.node_phase_difference_rad(sign, sampled=sampled))
    except ConfigError:
        return None


def _check_pairs(network: NetworkHardware, pairs: Sequence[tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
    if pairs is None:
        return tuple(itertools.combinations(network.nodes, 2))
    checked = []
    for index, pair in enumerate(pairs):
        if isinstance(pair, str) or len(pair) != 2:
            raise ConfigError.at(f"pairs[{index}]", f"{pair!r} is not a pair of node names")
        for name in pair:
            network.node(name, field_name=f"pairs[{index}]")
        if pair[0] == pair[1]:
            raise ConfigError.at(f"pairs[{index}]", f"{pair!r} names one node twice")
        checked.append((str(pair[0]), str(pair[1])))
    if not checked:
        raise ConfigError.at("pairs", "empty; give at least one node pair")
    return tuple(checked)


def _check_thetas(thetas_rad: ArrayLike) -> np.ndarray:
    try:
        thetas = np.asarray(thetas_rad, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError.at("thetas_rad", f"{thetas_rad!r} is not a sequence of angles (rad)") from None
    if thetas.ndim != 1 or thetas.size == 0 or not np.all(np.isfinite(thetas)):
        raise ConfigError.at("thetas_rad", f"{thetas_rad!r} must be a non-empty 1-D sequence of finite angles (rad)")
    return thetas.copy()


def theta_scan(
    network: NetworkHardware,
    *,
    node: str = "charlie",
    thetas_rad: ArrayLike,
    experiment: str = "storage_5us",
    trials_per_point: int | None = None,
    seed: Seed | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> ThetaScan:
    """⟨XX⟩ of each link of ``pairs`` (default: every pair of the network's nodes) against θ at ``node``.

    Link parameters are the ``experiment``'s (storage, rate, herald scale, the loop's
    residual) for each pair (:func:`~metroqnet.experiments.link_setup.experiment_link_parameters`).
    With ``trials_per_point`` each (link, θ) is also sampled, from ``child(seed, link, θ index)``;
    a seed is then required.
    """
    network.node(node, field_name="node")
    pairs = _check_pairs(network, pairs)
    thetas = _check_thetas(thetas_rad)
    if trials_per_point is not None:
        trials_per_point = check("trials_per_point", trials_per_point, Count)
        if trials_per_point < 1:
            raise ConfigError.at("trials_per_point", f"{trials_per_point} must be at least 1")
        if seed is None:
            raise ConfigError.at("seed", "a Monte Carlo scan (trials_per_point) needs a seed")
    parameters = tuple(experiment_link_parameters(network, experiment, nodes=pair) for pair in pairs)
    exact = np.empty((len(pairs), len(HERALD_SIGNS), thetas.size))
    for i, (pair, params) in enumerate(zip(pairs, parameters)):
        offsets = offset_sign(pair, node) * thetas
        arrays = evaluate_arrays(LinkPoints.from_parameters([params] * thetas.size), phase_offset_rad=offsets)
        exact[i] = arrays["figures"]["xx"].T
    sampled = stderr = None
    if trials_per_point is not None:
        sampled = np.full_like(exact, np.nan)
        stderr = np.full_like(exact, np.nan)
        for i, (pair, params) in enumerate(zip(pairs, parameters)):
            for j, theta in enumerate(thetas.tolist()):
                sign = offset_sign(pair, node)
                process = None if sign == 0 else OffsetPhase(
                    process=GaussianPhase(std_rad=params.phase_noise_std_rad), offset_rad=sign * theta)
                run = simulate_link(params, trials=trials_per_point, seed=child(seed, i, j), link=link_name(pair),
                                    basis_weights=X_ONLY, phase_process=process)
                for s, herald in enumerate(HERALD_SIGNS):
                    if "xx" in run.analysis.figures[herald]:
                        sampled[i, s, j], stderr[i, s, j] = run.analysis.estimate("xx", herald)
    return ThetaScan(
        network=network.name, experiment=experiment, node=node, pairs=pairs, thetas_rad=thetas,
        parameters=parameters, exact_xx=exact, sampled_xx=sampled, sampled_xx_stderr=stderr,
        trials_per_point=trials_per_point, seed=None if seed is None else seed_record(seed),
    )


def write_theta_scan(scan: ThetaScan, directory: str | Path, *, overwrite: bool = False
                     ) -> tuple[list[Path], list[str]]:
    """``theta_scan.csv``, ``theta_scan.json`` and (with matplotlib) ``theta_scan.png``; (paths written, notes)."""
    folder = prepare_output_folder(directory, overwrite=overwrite)
    written = [write_text_file(folder / "theta_scan.csv", scan.to_csv(), what="--out")]
    figures, notes = plot_or_note(plot_theta_scan, scan, folder / "theta_scan.png")
    written += figures
    text = json.dumps(scan.as_dict(), indent=2, allow_nan=False) + "\n"
    written.append(write_text_file(folder / "theta_scan.json", text, what="--out"))
    return written, notes


def plot_theta_scan(scan: ThetaScan, path: Path, *, units: str = "pi") -> Path:
    """Two panels like the paper's Fig. 4a (Ψ+) and 4b (Ψ−): ⟨XX⟩ against θ in units of π (or ``"deg"``).

    Lines: the exact curves; points with error bars: the Monte Carlo (when the scan has one).
    Needs matplotlib (``pip install metroqnet[plot]``).
    """
    if units not in ("pi", "deg"):
        raise ConfigError.at("units", f"{units!r} is not one of pi, deg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale, label = (1.0 / math.pi, "θ at {node} (units of π)") if units == "pi" else (
        180.0 / math.pi, "θ at {node} (deg)")
    x = scan.thetas_rad * scale
    dense = np.linspace(scan.thetas_rad.min(), scan.thetas_rad.max(), 400)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    titles = ("|Ψ+⟩ (D+ heralds)", "|Ψ−⟩ (D− heralds)")
    for s, (sign, letter, title) in enumerate(zip(HERALD_SIGNS, "ab", titles)):
        ax = axes[s]
        for i, name in enumerate(scan.links):
            colour = LINK_COLOURS[i % len(LINK_COLOURS)]
            pretty = "–".join(node.capitalize() for node in scan.pairs[i])
            try:
                fit = scan.fit(name, sign)
            except ConfigError:  # fewer than three angles: no sinusoid, a line through the exact points
                dense_x, dense_y = x, scan.exact_xx[i, s]
            else:
                dense_x, dense_y = dense * scale, fit(dense)
            # Between the scan's angles the line is the sinusoid fitted to the exact points (it matches the exact
            # engine to ~1e-8 at Hefei settings: docs/theta_scan.md).
            # Curves that coincide (Alice–Charlie and Bob–Charlie on a symmetric network) stay visible: each link
            # has its own line width, dash and marker, the later ones drawn thinner on top.
            style = LINK_STYLES[i % len(LINK_STYLES)]
            ax.plot(dense_x, dense_y, color=colour, lw=style["lw"], ls=style["ls"], label=f"{pretty} exact")
            if scan.sampled_xx is not None:
                ax.errorbar(x, scan.sampled_xx[i, s], yerr=scan.sampled_xx_stderr[i, s], fmt=style["marker"],
                            ms=5, mfc=style["mfc"] or colour, color=colour, capsize=2, label=f"{pretty} Monte Carlo")
            else:
                ax.plot(x, scan.exact_xx[i, s], style["marker"], ms=4, mfc=style["mfc"] or colour, color=colour)
        ax.axhline(0.0, color="0.7", lw=0.6)
        ax.set(xlabel=label.format(node=scan.node.capitalize()), title=title)
        ax.text(-0.02, 1.06, letter, transform=ax.transAxes, fontweight="bold", fontsize=13, ha="right")
    axes[0].set_ylabel("⟨XX⟩ (dimensionless)")
    reach = np.abs(scan.exact_xx).max()
    if scan.sampled_xx is not None and np.isfinite(scan.sampled_xx).any():
        reach = max(reach, float(np.nanmax(np.abs(scan.sampled_xx) + np.nan_to_num(scan.sampled_xx_stderr))))
    axes[0].set_ylim(-max(1.05, reach + 0.05), max(1.05, reach + 0.05))  # ⟨XX⟩ in [−1, 1]; no error bar cut
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(scan.links) * (2 if scan.sampled_xx is not None else 1),
                  fontsize=8, frameon=False)
    figure.suptitle(f"{scan.network}, {scan.experiment}: ⟨XX⟩ against a local phase θ at {scan.node}", fontsize=10)
    figure.tight_layout(rect=(0, 0.08, 1, 0.95))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
