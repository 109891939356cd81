"""Fig. 3b: Hong–Ou–Mandel g⁽²⁾ between a node's read-out field and its entanglement-probe (EP) pulse.

The curve is g⁽²⁾ = P(c, d)/(P(c) P(d)) of the node's two local detectors behind the 50:50
beamsplitter (the PBS joining the orthogonally polarized fields, measured at ±45°), against the
EP's detuning δ from the read-out in **MHz**, from :mod:`metroqnet.physics.hom` (thermal read-out,
coherent EP, threshold detectors, exact). Its inputs come from the node's hardware, nothing new:

* read-out photons per trial, counted as detected: n̄ · η_read, n̄ = χ/(1 − χ) the write's mean
  excitation number and η_read the read efficiency at the storage time of a declared link
  experiment (the first one by default, the 5 µs run against whose PME rate the EP photon number
  was estimated); the read-out conditioned on nothing is thermal (g⁽²⁾ = 2);
* EP photons: ``probe_mean_photon_number`` (the HOM run is taken to use the EP pulse of the
  entanglement runs; the intensity ratio n_a/n_b follows, ~0.11 for the Hefei preset);
* the mode overlap on resonance ``probe_mode_overlap`` and the pulses' rms duration
  ``readout_duration_rms_ns`` (dip width 1/(2√2 π τ));
* each detector's noise clicks per read window (``local_dark_count_rate_hz`` · ``read_window_ns``).

The dashed line is the thermal–coherent interference limit g_a g_b/(g_a + g_b) = 2/3 (perfect
overlap at the best intensity ratio, n_a = n_b/2); ``perfect_overlap_g2`` is the least value at the
run's own ratio. Simulated points draw the four click patterns of ``pulses`` trials per detuning
(multinomial, seeded), with the coincidences' Poisson error; a Gaussian dip is fitted to them with
``scipy.optimize.curve_fit``, as the paper fits its data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed, generator, seed_record
from metroqnet.config.validation import Count, Positive, check
from metroqnet.physics.hom import (
    COHERENT_G2,
    THERMAL_G2,
    dip_width_mhz,
    hom_visibility,
    interference_limit,
    threshold_click_probabilities,
    threshold_hom_g2,
)
from metroqnet.physics.mapping import local_noise_probability, read_efficiency
from metroqnet.physics.source import mean_photon_number

#: The default scan: this many points over ± ``SCAN_WIDTHS`` dip widths (what is swept, not hardware).
SCAN_POINTS = 21
SCAN_WIDTHS = 4.0


@dataclass(frozen=True)
class HomSetup:
    """One node's HOM run: detected means, overlap, pulse duration, noise (module doc)."""

    node: str
    storage_us: float
    mean_readout: float
    mean_probe: float
    mode_overlap: float
    duration_rms_ns: float
    noise_probability: float

    @property
    def ratio(self) -> float:
        """n_a/n_b: read-out over EP photons."""
        return self.mean_readout / self.mean_probe

    @property
    def width_mhz(self) -> float:
        """σ_δ = 1/(2√2 π τ): the rms width of the overlap's Gaussian in detuning (MHz)."""
        return float(dip_width_mhz(duration_rms_ns=self.duration_rms_ns))

    def visibility(self, detuning_mhz: np.ndarray | float) -> np.ndarray | float:
        return hom_visibility(detuning_mhz, duration_rms_ns=self.duration_rms_ns, mode_overlap=self.mode_overlap)

    def g2(self, detuning_mhz: np.ndarray | float) -> np.ndarray | float:
        """The model's g⁽²⁾(δ) on threshold detectors."""
        return threshold_hom_g2(mean_thermal=self.mean_readout, mean_coherent=self.mean_probe,
                                visibility=self.visibility(detuning_mhz), noise_probability=self.noise_probability)

    @property
    def far_detuned_g2(self) -> float:
        return float(threshold_hom_g2(mean_thermal=self.mean_readout, mean_coherent=self.mean_probe, visibility=0.0,
                                      noise_probability=self.noise_probability))

    @property
    def perfect_overlap_g2(self) -> float:
        """g⁽²⁾ at V = 1 at the run's intensities: the lowest this run could reach."""
        return float(threshold_hom_g2(mean_thermal=self.mean_readout, mean_coherent=self.mean_probe, visibility=1.0,
                                      noise_probability=self.noise_probability))

    def scan_mhz(self, points: int = SCAN_POINTS) -> np.ndarray:
        """``points`` detunings over ± 4 σ_δ."""
        return np.linspace(-SCAN_WIDTHS, SCAN_WIDTHS, points) * self.width_mhz


def hom_setup(network: NetworkHardware, *, node: str, experiment: str | None = None) -> HomSetup:
    """The HOM run of ``node`` at the storage time of link ``experiment`` (the first declared one by default)."""
    hardware = network.node(node)
    links = network.experiments_of_kind("link")
    if experiment is None:
        if not links:
            raise ConfigError.at("experiment", f"network {network.name!r} declares no link experiment to take the "
                                 "storage time of the read-out from")
        chosen = links[0]
    else:
        chosen = network.experiment(experiment)
        if chosen.kind != "link" or chosen.storage_us is None:
            raise ConfigError.at("experiment",
                                 f"{experiment!r} is a {chosen.kind!r} experiment; give a link experiment")
    if hardware.readout_duration_rms_ns is None:
        raise ConfigError.at(f"nodes.{node}.readout_duration_rms_ns",
                             "not given; the HOM curve needs the read-out pulse's rms duration")
    if hardware.probe_mean_photon_number <= 0.0:
        raise ConfigError.at(f"nodes.{node}.probe_mean_photon_number", "0: the HOM run needs an EP pulse")
    mean_readout = mean_photon_number(excitation_probability=hardware.excitation_probability) * read_efficiency(
        hardware, storage_us=chosen.storage_us)
    return HomSetup(
        node=node, storage_us=float(chosen.storage_us), mean_readout=float(mean_readout),
        mean_probe=hardware.probe_mean_photon_number, mode_overlap=hardware.probe_mode_overlap,
        duration_rms_ns=hardware.readout_duration_rms_ns, noise_probability=float(local_noise_probability(hardware)),
    )


@dataclass(frozen=True)
class HomPoints:
    """Simulated counts per detuning: pulses, singles at c and d, coincidences; g⁽²⁾ and its Poisson error."""

    detuning_mhz: np.ndarray
    pulses: int
    singles_c: np.ndarray
    singles_d: np.ndarray
    coincidences: np.ndarray

    @property
    def g2(self) -> np.ndarray:
        return self.coincidences * self.pulses / (self.singles_c * self.singles_d)

    @property
    def g2_error(self) -> np.ndarray:
        """g⁽²⁾/√N_cd: the coincidences' Poisson error (the singles' are √(N_cd/N_c) ~ 0.1 of it)."""
        return self.g2 / np.sqrt(self.coincidences)


def simulate_points(setup: HomSetup, detuning_mhz: np.ndarray, *, pulses: int, seed: Seed) -> HomPoints:
    """``pulses`` trials per detuning: the four click patterns drawn from their exact probabilities."""
    pulses = check("pulses", pulses, Count)
    if pulses < 1:
        raise ConfigError.at("pulses", f"{pulses}: at least 1 pulse per point")
    detuning = np.atleast_1d(np.asarray(detuning_mhz, dtype=float))
    p_c, p_d, p_cd = threshold_click_probabilities(
        mean_thermal=setup.mean_readout, mean_coherent=setup.mean_probe, visibility=setup.visibility(detuning),
        noise_probability=setup.noise_probability,
    )
    patterns = np.stack([1.0 - p_c - p_d + p_cd, p_c - p_cd, p_d - p_cd, p_cd], axis=-1)
    counts = generator(seed).multinomial(pulses, patterns)
    return HomPoints(detuning_mhz=detuning, pulses=pulses, singles_c=counts[:, 1] + counts[:, 3],
                     singles_d=counts[:, 2] + counts[:, 3], coincidences=counts[:, 3])


def gaussian_dip(detuning_mhz: np.ndarray, baseline: float, depth: float, centre_mhz: float, width_mhz: float
                 ) -> np.ndarray:
    """baseline − depth · exp(−(δ − centre)²/(2 width²)): the paper's Gaussian fit."""
    return baseline - depth * np.exp(-0.5 * ((np.asarray(detuning_mhz) - centre_mhz) / width_mhz) ** 2)


@dataclass(frozen=True)
class GaussianFit:
    """Best-fit (baseline, depth, centre_mhz, width_mhz) and their standard errors (absolute σ)."""

    values: np.ndarray
    errors: np.ndarray

    def __call__(self, detuning_mhz: np.ndarray) -> np.ndarray:
        return gaussian_dip(detuning_mhz, *self.values)

    def as_dict(self) -> dict[str, dict[str, float]]:
        names = ("baseline", "depth", "centre_mhz", "width_mhz")
        return {name: {"value": float(v), "error": float(e)} for name, v, e in zip(names, self.values, self.errors)}


def fit_gaussian_dip(detuning_mhz: np.ndarray, g2: np.ndarray, g2_error: np.ndarray) -> GaussianFit:
    """Weighted least squares of :func:`gaussian_dip` (``curve_fit``, ``absolute_sigma``); |width| returned."""
    x = np.asarray(detuning_mhz, dtype=float)
    y = np.asarray(g2, dtype=float)
    sigma = np.asarray(g2_error, dtype=float)
    if x.size < 5 or not np.all(np.isfinite(y)) or not np.all(sigma > 0):
        raise ValueError("fit_gaussian_dip: needs >= 5 points with finite g2 and positive errors")
    edges = np.abs(x) >= np.quantile(np.abs(x), 0.6)
    baseline = float(np.mean(y[edges]))
    guess = [baseline, baseline - float(y.min()), float(x[np.argmin(y)]), 0.25 * float(np.ptp(x))]
    values, covariance = curve_fit(gaussian_dip, x, y, p0=guess, sigma=sigma, absolute_sigma=True, maxfev=20_000)
    values[3] = abs(values[3])
    return GaussianFit(values=values, errors=np.sqrt(np.diag(covariance)))


@dataclass(frozen=True)
class Fig3b:
    setup: HomSetup
    curve_mhz: np.ndarray
    curve_g2: np.ndarray
    points: HomPoints | None
    fit: GaussianFit | None
    limit: float
    seed: dict[str, object] | None

    def summary(self) -> dict[str, object]:
        setup = self.setup
        return {
            "node": setup.node, "storage_us": setup.storage_us, "mean_readout": setup.mean_readout,
            "mean_probe": setup.mean_probe, "ratio": setup.ratio, "mode_overlap": setup.mode_overlap,
            "duration_rms_ns": setup.duration_rms_ns, "dip_width_mhz": setup.width_mhz,
            "far_detuned_g2": setup.far_detuned_g2, "resonant_g2": float(setup.g2(0.0)),
            "perfect_overlap_g2": setup.perfect_overlap_g2, "thermal_coherent_limit": self.limit,
            "pulses_per_point": None if self.points is None else self.points.pulses,
            "fit": None if self.fit is None else self.fit.as_dict(), "seed": self.seed,
        }


def run_fig3b(
    network: NetworkHardware,
    *,
    node: str,
    experiment: str | None = None,
    points: int = SCAN_POINTS,
    pulses: int | None = None,
    seed: Seed | None = None,
) -> Fig3b:
    """The model curve of ``node`` and, with ``pulses`` (per point) and ``seed``, simulated points and their fit."""
    setup = hom_setup(network, node=node, experiment=experiment)
    curve_mhz = np.linspace(-SCAN_WIDTHS, SCAN_WIDTHS, 401) * setup.width_mhz
    simulated = fit = record = None
    if pulses is not None:
        if seed is None:
            raise ConfigError.at("seed", "simulated points need a seed (an integer >= 0)")
        check("points", points, Positive)
        simulated = simulate_points(setup, setup.scan_mhz(int(points)), pulses=pulses, seed=seed)
        if simulated.detuning_mhz.size >= 5 and np.all(simulated.coincidences > 0):  # else no fit
            fit = fit_gaussian_dip(simulated.detuning_mhz, simulated.g2, simulated.g2_error)
        record = seed_record(seed)
    return Fig3b(setup=setup, curve_mhz=curve_mhz, curve_g2=np.asarray(setup.g2(curve_mhz)), points=simulated,
                 fit=fit, limit=float(interference_limit(g2_a=THERMAL_G2, g2_b=COHERENT_G2)), seed=record)


def fig3b_table(fig: Fig3b) -> str:
    """CSV of the simulated points (detuning_mhz, singles, coincidences, g2, g2_error, model_g2)."""
    if fig.points is None:
        raise ValueError("fig3b_table: no simulated points (run_fig3b with pulses and seed)")
    p = fig.points
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["detuning_mhz", "pulses", "singles_c", "singles_d", "coincidences", "g2", "g2_error", "model_g2"])
    model = np.asarray(fig.setup.g2(p.detuning_mhz))
    for row in zip(p.detuning_mhz, [p.pulses] * p.detuning_mhz.size, p.singles_c, p.singles_d, p.coincidences,
                   p.g2, p.g2_error, model):
        writer.writerow([float(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]), *map(float, row[5:])])
    return text.getvalue()


def plot_fig3b(fig: Fig3b, path: Path | str) -> Path:
    """A PNG in the style of the paper's Fig. 3b (needs matplotlib: ``pip install metroqnet[plot]``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setup = fig.setup
    figure, ax = plt.subplots(figsize=(5.2, 4.8))
    if fig.points is not None:
        ax.errorbar(fig.points.detuning_mhz, fig.points.g2, yerr=fig.points.g2_error, fmt="o", color="tab:blue",
                    ms=4, capsize=2, label=f"simulated ({fig.points.pulses:.0e} pulses/point)")
    if fig.fit is not None:
        width = fig.fit.values[3]
        ax.plot(fig.curve_mhz, fig.fit(fig.curve_mhz), color="tab:orange",
                label=f"Gaussian fit (σ = {width:.2f} ± {fig.fit.errors[3]:.2f} MHz)")
    ax.plot(fig.curve_mhz, fig.curve_g2, color="0.5", lw=1, ls=":", label="model")
    ax.axhline(fig.limit, color="black", ls="--", lw=1.2, label=f"thermal–coherent limit ({fig.limit:.3f})")
    ax.set(xlabel="detuning δ between EP pulse and read-out (MHz)", ylabel="$g^{(2)}$",
           title=f"{setup.node}: n_read/n_EP = {setup.ratio:.2f}, M = {setup.mode_overlap:g}, "
                 f"τ = {setup.duration_rms_ns:g} ns rms", )
    ax.title.set_fontsize(9)
    low = min(fig.limit, float(np.min(fig.curve_g2))) - 0.05
    high = max(setup.far_detuned_g2, float(np.max(fig.points.g2 + fig.points.g2_error)) if fig.points else 0.0) + 0.05
    ax.set_ylim(low, high)
    ax.text(-0.14, 1.02, "b", transform=ax.transAxes, fontsize=14, fontweight="bold")
    # below the axes: inside, the legend would cover the points or the limit line
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    figure.tight_layout()
    out = Path(path)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
