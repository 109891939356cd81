"""All of Fig. 2 in one run: the data as tables (CSV), a summary, and with matplotlib one figure."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metroqnet.config.files import prepare_output_folder, write_text_file
from metroqnet.config.listing import value_rows
from metroqnet.config.seeds import Seed, child, seed_record
from metroqnet.config.versions import versions
from metroqnet.config.units import HZ_PER_KHZ
from metroqnet.experiments.phase_stabilization import (
    HISTOGRAM_EDGES_DEG,
    DriftTracking,
    PhotonScan,
    ResidualPhase,
    StabilizationSetup,
    check_tracking_hours,
    check_trials,
    drift_tracking,
    residual_phase,
    sigma_versus_photons,
    tracking_trials,
    visibility_versus_frequency,
    visibility_versus_phase,
)
from metroqnet.experiments.plot_files import plot_or_note

#: The scan points of the panels (what is swept, not hardware).
PHOTONS_PER_NODE = (2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)
SET_PHASES_RAD = tuple(np.linspace(0.0, 2.0 * math.pi, 13))
OFFSETS_KHZ = tuple(np.linspace(-5.0, 5.0, 11))
#: σ of a phase uniform over (−180°, 180°]: 360°/√12.
UNIFORM_STD_DEG = 360.0 / math.sqrt(12.0)
#: Child streams of a Fig. 2 run's seed, one per panel.
STREAMS = {"stabilized": 0, "unstabilized": 1, "photon_scan": 2, "visibility_phase": 3,
           "visibility_frequency": 4, "tracking": 5}


@dataclass(frozen=True)
class Fig2:
    stabilized: ResidualPhase
    unstabilized: ResidualPhase
    photon_scan: PhotonScan
    visibility_phase: np.ndarray
    visibility_frequency: np.ndarray
    tracking: DriftTracking
    setup: StabilizationSetup
    seed: dict[str, object]

    def _published_residual(self) -> dict[str, float | None] | None:
        """The paper's σ as the additional probe reads it, from the network's [published] section (None if absent)."""
        published = self.setup.network.published
        experiment = None if published is None else published.experiments.get(self.setup.experiment)
        value = None if experiment is None else experiment.residual_phase_std_deg
        return None if value is None else {"value": value.value, "error": value.error}

    def summary(self) -> dict[str, object]:
        drift = self.tracking.drift_hz
        return {
            "residual_std_deg_at_write": self.stabilized.std_deg,
            "residual_std_deg_measured": self.stabilized.measured_std_deg,
            "residual_excess_kurtosis": self.stabilized.excess_kurtosis,
            # Without stabilization: the true residual at the write, uniform over (−180°, 180°]
            # (σ = 360°/√12 = 103.9°), and as the probe's arcsine reads it, folded into ±90°.
            "unstabilized_std_deg_at_write": self.unstabilized.std_deg,
            "unstabilized_std_deg_measured": self.unstabilized.measured_std_deg,
            "uniform_std_deg": UNIFORM_STD_DEG,
            "shot_noise_limit_deg": math.degrees(self.setup.settings.shot_noise_limit_rad),
            "visibility_at_zero_phase": float(self.visibility_phase[0]),
            "visibility_at_5_khz": float(self.visibility_frequency[-1]),
            "tracking_hours": float(self.tracking.time_h[-1]),
            "drift_peak_to_peak_khz": float(drift.max() - drift.min()) / HZ_PER_KHZ,
            "max_abs_residual_khz": self.tracking.max_abs_residual_hz() / HZ_PER_KHZ,
            "published_residual_std_deg": self._published_residual(),
            "trials_per_point": self.stabilized.trials,
            "seed": self.seed,
            "network": self.setup.network.name,
            "experiment": self.setup.experiment,
            # Values not as the preset file has them (set for this run or calibrated), with their tags.
            "changed_values": [row.as_dict() for row in value_rows(self.setup.network)
                               if row.source in ("user", "calibrated")],
            **versions(),
        }


def fig2_trials(setup: StabilizationSetup, *, trials: int, hours: float) -> int:
    """Every trial a :func:`run_fig2` call simulates (for its progress bar)."""
    points = 2 + len(PHOTONS_PER_NODE) + 1 + len(OFFSETS_KHZ)
    return points * trials + tracking_trials(setup, hours)


def run_fig2(
    setup: StabilizationSetup,
    *,
    trials: int,
    hours: float,
    seed: Seed,
    progress: Callable[[int], None] | None = None,
) -> Fig2:
    """Fig. 2 b, c, d with ``trials`` trials per point and ``hours`` of drift tracking.

    Each panel draws from its own child stream of ``seed`` (:data:`STREAMS`).
    """
    check_trials(trials)  # refuse before the long panels run
    check_tracking_hours(setup, hours)
    streams = {name: child(seed, key) for name, key in STREAMS.items()}
    drift = setup.drift(hours=hours, seed=child(streams["tracking"], 0))  # the stream drift_tracking would use
    options = dict(trials=trials, progress=progress)
    return Fig2(
        stabilized=residual_phase(setup, seed=streams["stabilized"], **options),
        unstabilized=residual_phase(setup, seed=streams["unstabilized"], stabilize=False, **options),
        photon_scan=sigma_versus_photons(setup, PHOTONS_PER_NODE, seed=streams["photon_scan"], **options),
        visibility_phase=visibility_versus_phase(setup, SET_PHASES_RAD, seed=streams["visibility_phase"], **options),
        visibility_frequency=visibility_versus_frequency(
            setup, OFFSETS_KHZ, seed=streams["visibility_frequency"], **options
        ),
        tracking=drift_tracking(setup, hours=hours, seed=streams["tracking"], drift=drift, progress=progress),
        setup=setup,
        seed=seed_record(seed),
    )


def _csv(header: list[str], columns: list[np.ndarray]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*(np.asarray(c).tolist() for c in columns)))
    return text.getvalue()


def fig2_tables(fig: Fig2) -> dict[str, str]:
    """One CSV text per panel, by file name."""
    centres = 0.5 * (HISTOGRAM_EDGES_DEG[1:] + HISTOGRAM_EDGES_DEG[:-1])
    histograms = [fig.stabilized.measured.histogram, fig.unstabilized.measured.histogram,
                  fig.stabilized.at_write.histogram, fig.unstabilized.at_write.histogram]
    tracking = fig.tracking
    return {
        "fig2b_phase_histogram.csv": _csv(
            # measured: arcsin of the probe's reading, within ±90°; at_write: the true residual, (−180°, 180°].
            ["phase_deg", "stabilized_measured", "unstabilized_measured", "stabilized_at_write",
             "unstabilized_at_write"],
            [centres, *histograms]),
        "fig2b_visibility_vs_phase.csv": _csv(
            ["set_phase_rad", "visibility"], [np.array(SET_PHASES_RAD), fig.visibility_phase]),
        "fig2_sigma_vs_photons.csv": _csv(
            ["probe_photons_per_node", "residual_std_deg", "shot_noise_limit_deg"],
            [fig.photon_scan.photons_per_node, fig.photon_scan.std_deg, fig.photon_scan.shot_noise_limit_deg]),
        "fig2c_visibility_vs_frequency.csv": _csv(
            ["frequency_offset_khz", "visibility"], [np.array(OFFSETS_KHZ), fig.visibility_frequency]),
        "fig2d_drift_tracking.csv": _csv(
            ["time_h", "drift_khz", "compensation_khz", "residual_khz", "temperature_c"],
            [tracking.time_h, tracking.drift_hz / HZ_PER_KHZ, tracking.compensation_hz / HZ_PER_KHZ,
             tracking.residual_hz / HZ_PER_KHZ, tracking.temperature_c]),
    }


def write_fig2_tables(fig: Fig2, directory: Path) -> list[Path]:
    """One CSV per panel in ``directory``; returns the paths written."""
    return [write_text_file(directory / name, text, what="--out") for name, text in fig2_tables(fig).items()]


def write_fig2(fig: Fig2, directory: str | Path, *, overwrite: bool = False) -> tuple[list[Path], list[str]]:
    """The tables, ``fig2.png`` (with matplotlib) and ``summary.json`` in ``directory``; (paths written, notes).

    A folder that holds files is refused unless ``overwrite``.
    """
    folder = prepare_output_folder(directory, overwrite=overwrite)
    written = write_fig2_tables(fig, folder)
    figures, notes = plot_or_note(plot_fig2, fig, folder / "fig2.png")
    written += figures
    summary = json.dumps(fig.summary(), indent=2, allow_nan=False) + "\n"
    written.append(write_text_file(folder / "summary.json", summary, what="--out"))
    return written, notes


def plot_fig2(fig: Fig2, path: Path) -> Path:
    """The PNG of the figure (needs matplotlib: ``pip install metroqnet[plot]``); see :mod:`.fig2_plot`."""
    from metroqnet.experiments.fig2_plot import plot_fig2 as plot

    return plot(fig, path)
