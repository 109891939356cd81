"""The PNG of a Fig. 2 run (needs matplotlib: ``pip install metroqnet[plot]``).

Panels as the paper's Fig. 2: a the timing of one trial (the probe rounds, the gap, the write, the herald,
the storage and the read, from the network's numbers: :mod:`metroqnet.experiments.trial_timing_plot`), b the
residual phase histogram, with its inset (probe visibility versus a set phase) drawn as a small panel of its
own, c visibility versus the frequency difference, d the drift tracking; e (σ versus probe photons) is not in
the paper's figure. The paper's a also has the schematic of the set-up, which is not drawn.

In b, "at the write" is the true residual φ − θ the model knows, over (−180°, 180°]; "as the probe reads
it" is the arcsine of the additional probe's reading, which folds any phase into ±90° (a reading of ±1,
all photons in one detector, lands at ±90°). The σ in each legend entry is the one ``summary.json`` and
the terminal give for the same samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metroqnet.config.units import HZ_PER_KHZ
from metroqnet.experiments.fig2_data import OFFSETS_KHZ, SET_PHASES_RAD, UNIFORM_STD_DEG, Fig2
from metroqnet.experiments.phase_stabilization import HISTOGRAM_EDGES_DEG
from metroqnet.experiments.trial_timing_plot import draw_trial_timing, trial_sequence

#: Size and resolution: 1650 × 1375 pixels, readable on a laptop screen.
FIGSIZE_IN = (15.0, 12.5)
DPI = 110
#: One colour per quantity, the same in every panel.
COLOURS = {"unstabilized": "0.55", "measured": "tab:orange", "at_write": "tab:purple",
           "compensation": "tab:blue", "residual": "tab:green", "temperature": "tab:red",
           "model": "tab:blue", "limit": "0.3"}


def _residual_histograms(ax, fig: Fig2) -> None:
    """b: histograms of the residual phase, each labelled with the quantity and its σ."""
    ax.stairs(fig.unstabilized.at_write.histogram, HISTOGRAM_EDGES_DEG, fill=True, alpha=0.5,
              color=COLOURS["unstabilized"],
              label=f"without stabilization, at the write: σ = {fig.unstabilized.std_deg:.1f}°"
                    f" (uniform: {UNIFORM_STD_DEG:.1f}°)")
    ax.stairs(fig.stabilized.measured.histogram, HISTOGRAM_EDGES_DEG, fill=True, alpha=0.6,
              color=COLOURS["measured"],
              label=f"with, as the probe reads it (arcsin, within ±90°): σ = {fig.stabilized.measured_std_deg:.1f}°")
    ax.stairs(fig.stabilized.at_write.histogram, HISTOGRAM_EDGES_DEG, lw=1.6, color=COLOURS["at_write"],
              label=f"with, at the write: σ = {fig.stabilized.std_deg:.1f}°")
    ax.set(xlim=(-180, 180), xticks=np.arange(-180, 181, 60), xlabel="residual phase (deg)",
           ylabel=f"trials per 5° bin (of {fig.stabilized.trials:,})", title="b: residual phase, with and without stabilization")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=9, title_fontsize=9, frameon=False,
              title="at the write: the true residual φ − θ (the model knows it), over (−180°, 180°];\n"
                    "as the probe reads it: arcsin of the additional probe's reading (±1 lands at ±90°)")


def _visibility_versus_phase(ax, fig: Fig2) -> None:
    """b, inset: the probe pair's visibility versus a set phase θ."""
    ax.plot(np.degrees(SET_PHASES_RAD), fig.visibility_phase, "o-", ms=4, color=COLOURS["model"])
    ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
    ax.set(xlim=(-10, 370), xticks=np.arange(0, 361, 90), ylim=(-1.0, 1.0), xlabel="set phase θ (deg)",
           ylabel="probe visibility (N₁ − N₂)/(N₁ + N₂)",
           title="b (the paper's inset):\nprobe visibility versus set phase")


def _visibility_versus_frequency(ax, fig: Fig2) -> None:
    """c: the probe's visibility with a fixed frequency difference and no calibration."""
    ax.plot(OFFSETS_KHZ, fig.visibility_frequency, "o-", ms=5, color=COLOURS["model"])
    ax.set(xticks=np.arange(-5, 6, 1), ylim=(0.0, 1.0), xlabel="frequency difference Δf (kHz)",
           ylabel="probe visibility", title="c: visibility versus Δf\n(no frequency calibration)")


def _drift_tracking(ax, fig: Fig2) -> None:
    """d: compensation and residual Δf (left axis), temperature (right axis); the legend below the axes."""
    tracking = fig.tracking
    residual_khz = tracking.max_abs_residual_hz() / HZ_PER_KHZ
    lines = ax.plot(tracking.time_h, tracking.compensation_hz / HZ_PER_KHZ, lw=0.8, color=COLOURS["compensation"],
                    label="compensation (follows the cavities' drift)")
    lines += ax.plot(tracking.time_h, tracking.residual_hz / HZ_PER_KHZ, lw=0.8, color=COLOURS["residual"],
                     label=f"residual Δf (max |Δf| {residual_khz:.3f} kHz)")
    ax.set(xlim=(0.0, float(tracking.time_h[-1])), xlabel="time (h)", ylabel="frequency (kHz)",
           title=f"d: drift tracking over {tracking.time_h[-1]:.3g} h")
    twin = ax.twinx()
    lines += twin.plot(tracking.time_h, tracking.temperature_c, lw=1.2, color=COLOURS["temperature"],
                       label="temperature (right axis)")
    twin.set_ylabel("temperature (°C)", color=COLOURS["temperature"])
    twin.tick_params(axis="y", colors=COLOURS["temperature"])
    twin.ticklabel_format(axis="y", useOffset=False)
    ax.legend(lines, [line.get_label() for line in lines], loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncol=3, fontsize=9, frameon=False)


def _sigma_versus_photons(ax, fig: Fig2) -> None:
    """e (not in the paper's Fig. 2): σ at the write versus probe photons, beside the shot-noise limit."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator

    scan = fig.photon_scan
    ax.loglog(scan.photons_per_node, scan.std_deg, "o-", color=COLOURS["model"], label="model, at the write")
    ax.loglog(scan.photons_per_node, scan.shot_noise_limit_deg, "s--", ms=4, color=COLOURS["limit"],
              label="shot-noise limit 1/(V√n)")
    low = min(scan.std_deg.min(), scan.shot_noise_limit_deg.min())
    high = max(scan.std_deg.max(), scan.shot_noise_limit_deg.max())
    y_ticks = [tick for tick in (1, 2, 5, 10, 20, 50, 100) if low / 2 <= tick <= high * 2]
    for axis, ticks in ((ax.xaxis, scan.photons_per_node), (ax.yaxis, y_ticks)):
        axis.set_major_locator(FixedLocator(list(ticks)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_locator(NullLocator())
    ax.set(ylim=(low / 1.5, high * 1.5), xlabel="probe photons per node at the beamsplitter",
           ylabel="residual phase σ (deg)", title="e: σ versus probe photons\n(extra: not a panel of the paper's Fig. 2)")
    ax.legend(loc="lower left", fontsize=9)


def draw_fig2(fig: Fig2):
    """The figure as a :class:`matplotlib.figure.Figure` (not attached to pyplot: nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGSIZE_IN, layout="constrained")
    FigureCanvasAgg(figure)  # draws to PNG without pyplot or a display
    grid = figure.add_gridspec(3, 3, width_ratios=(1.35, 1.0, 1.1), height_ratios=(0.95, 1.0, 1.0))
    timing = grid[0, :].subgridspec(1, 2, width_ratios=(1.25, 3.0))
    draw_trial_timing(figure.add_subplot(timing[0, 0]), figure.add_subplot(timing[0, 1]),
                      trial_sequence(fig.setup.network, fig.setup.nodes))
    _residual_histograms(figure.add_subplot(grid[1, 0]), fig)
    _visibility_versus_phase(figure.add_subplot(grid[1, 1]), fig)
    _visibility_versus_frequency(figure.add_subplot(grid[1, 2]), fig)
    _drift_tracking(figure.add_subplot(grid[2, 0:2]), fig)
    _sigma_versus_photons(figure.add_subplot(grid[2, 2]), fig)
    figure.suptitle(
        f"Fig. 2 on the twin: {fig.setup.network.name}, experiment {fig.setup.experiment}, "
        f"{fig.stabilized.trials:,} trials per point (a: the timing only, not the paper's schematic)",
        fontsize=12,
    )
    return figure


def plot_fig2(fig: Fig2, path: Path) -> Path:
    """Write the figure to ``path`` (PNG, :data:`DPI`) and return it."""
    draw_fig2(fig).savefig(path, dpi=DPI)
    return path


__all__ = ["draw_fig2", "plot_fig2"]
