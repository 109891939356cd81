"""All of Fig. 2 in one run: the data as tables (CSV) and, with matplotlib installed, one figure."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metroqnet.control.phase_loop import PhaseLoopSettings
from metroqnet.experiments.phase_stabilization import (
    DriftTracking,
    PhotonScan,
    ResidualPhase,
    drift_tracking,
    residual_phase,
    sigma_versus_photons,
    visibility_versus_frequency,
    visibility_versus_phase,
)

PHOTONS_PER_NODE = (2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)
SET_PHASES_RAD = tuple(np.linspace(0.0, 2.0 * math.pi, 13))
OFFSETS_KHZ = tuple(np.linspace(-5.0, 5.0, 11))
HISTOGRAM_EDGES_DEG = np.linspace(-180.0, 180.0, 73)


@dataclass(frozen=True)
class Fig2:
    stabilized: ResidualPhase
    unstabilized: ResidualPhase
    photon_scan: PhotonScan
    visibility_phase: np.ndarray
    visibility_frequency: np.ndarray
    tracking: DriftTracking
    settings: PhaseLoopSettings

    def summary(self) -> dict[str, float]:
        drift = self.tracking.drift_hz
        return {
            "residual_std_deg_at_write": self.stabilized.std_deg,
            "residual_std_deg_measured": self.stabilized.measured_std_deg,
            "residual_excess_kurtosis": self.stabilized.excess_kurtosis,
            "unstabilized_std_deg": self.unstabilized.std_deg,
            "shot_noise_limit_deg": math.degrees(self.settings.shot_noise_limit_rad),
            "visibility_at_zero_phase": float(self.visibility_phase[0]),
            "visibility_at_5_khz": float(self.visibility_frequency[-1]),
            "tracking_hours": float(self.tracking.time_h[-1]) if drift.size else 0.0,
            "drift_peak_to_peak_khz": float(drift.max() - drift.min()) / 1e3 if drift.size else 0.0,
            "max_abs_residual_khz": self.tracking.max_abs_residual_hz() / 1e3 if drift.size > 3 else float("nan"),
        }


def run_fig2(*, trials: int, hours: float, seed: int, settings: PhaseLoopSettings = PhaseLoopSettings(), progress=None) -> Fig2:
    """Fig. 2 b, c, d with ``trials`` trials per point and ``hours`` of drift tracking."""
    return Fig2(
        stabilized=residual_phase(trials=trials, seed=seed, settings=settings),
        unstabilized=residual_phase(trials=trials, seed=seed, settings=settings, stabilize=False),
        photon_scan=sigma_versus_photons(PHOTONS_PER_NODE, trials=trials, seed=seed + 1, settings=settings),
        visibility_phase=visibility_versus_phase(SET_PHASES_RAD, trials=trials, seed=seed + 2, settings=settings),
        visibility_frequency=visibility_versus_frequency(OFFSETS_KHZ, trials=trials, seed=seed + 3, settings=settings),
        tracking=drift_tracking(hours=hours, seed=seed + 4, settings=settings, progress=progress),
        settings=settings,
    )


def _write(path: Path, header: list[str], columns: list[np.ndarray]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(zip(*(np.asarray(c).tolist() for c in columns)))


def write_fig2_tables(fig: Fig2, directory: Path) -> list[Path]:
    """One CSV per panel; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    centres = 0.5 * (HISTOGRAM_EDGES_DEG[1:] + HISTOGRAM_EDGES_DEG[:-1])
    histogram = [np.histogram(np.degrees(r), HISTOGRAM_EDGES_DEG)[0] for r in (
        fig.stabilized.measured_rad, fig.unstabilized.measured_rad, fig.stabilized.at_write_rad)]
    tables = {
        "fig2b_phase_histogram.csv": (
            ["phase_deg", "stabilized_measured", "unstabilized_measured", "stabilized_at_write"], [centres, *histogram]),
        "fig2b_visibility_vs_phase.csv": (["set_phase_rad", "visibility"], [np.array(SET_PHASES_RAD), fig.visibility_phase]),
        "fig2_sigma_vs_photons.csv": (
            ["probe_photons_per_node", "residual_std_deg", "shot_noise_limit_deg"],
            [fig.photon_scan.photons_per_node, fig.photon_scan.std_deg, fig.photon_scan.shot_noise_limit_deg]),
        "fig2c_visibility_vs_frequency.csv": (["frequency_offset_khz", "visibility"], [np.array(OFFSETS_KHZ), fig.visibility_frequency]),
        "fig2d_drift_tracking.csv": (
            ["time_h", "drift_khz", "compensation_khz", "residual_khz", "temperature_c"],
            [fig.tracking.time_h, fig.tracking.drift_hz / 1e3, fig.tracking.compensation_hz / 1e3,
             fig.tracking.residual_hz / 1e3, fig.tracking.temperature_c]),
    }
    paths = []
    for name, (header, columns) in tables.items():
        _write(directory / name, header, columns)
        paths.append(directory / name)
    return paths


def plot_fig2(fig: Fig2, path: Path) -> Path:
    """A four-panel PNG like the paper's Fig. 2 (needs matplotlib: ``pip install metroqnet[plot]``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0, 0]
    ax.hist(np.degrees(fig.unstabilized.measured_rad), HISTOGRAM_EDGES_DEG, alpha=0.6, label="without stabilization")
    ax.hist(np.degrees(fig.stabilized.measured_rad), HISTOGRAM_EDGES_DEG, alpha=0.6,
            label=f"with (σ = {fig.stabilized.measured_std_deg:.1f}°)")
    ax.set(xlabel="detected phase (deg)", ylabel="trials", title="b: residual phase")
    ax.legend()
    inset = ax.inset_axes([0.66, 0.25, 0.3, 0.3])
    inset.plot(SET_PHASES_RAD, fig.visibility_phase, "o-", ms=3)
    inset.set_title("visibility vs set phase", fontsize=7)
    inset.tick_params(labelsize=6)
    ax = axes[0, 1]
    ax.loglog(fig.photon_scan.photons_per_node, fig.photon_scan.std_deg, "o-", label="residual at the write")
    ax.loglog(fig.photon_scan.photons_per_node, fig.photon_scan.shot_noise_limit_deg, "--", label="1/(V√n)")
    ax.set(xlabel="probe photons per node at the beamsplitter", ylabel="σ (deg)", title="σ versus probe photons")
    ax.legend()
    ax = axes[1, 0]
    ax.plot(OFFSETS_KHZ, fig.visibility_frequency, "o-")
    ax.set(xlabel="frequency difference (kHz)", ylabel="visibility", title="c: visibility versus Δf")
    ax = axes[1, 1]
    ax.plot(fig.tracking.time_h, fig.tracking.compensation_hz / 1e3, label="compensation")
    ax.plot(fig.tracking.time_h, fig.tracking.residual_hz / 1e3, label="residual Δf")
    ax.set(xlabel="time (h)", ylabel="kHz", title="d: drift tracking")
    twin = ax.twinx()
    twin.plot(fig.tracking.time_h, fig.tracking.temperature_c, color="tab:blue", alpha=0.4)
    twin.set_ylabel("temperature (°C)")
    ax.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
