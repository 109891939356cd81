"""Fig. 2a on the twin: one trial's sequence on a time axis (µs), from the network's own numbers.

:func:`trial_sequence` reads the sequence from a network (no matplotlib): the server's probe rounds
(``probe_duration_us``, ``feedback_latency_us``, ``probe_rounds``, ``probe_gap_us``), the node's fibre
(``fibre_length_km``, ``fibre_delay_us_per_km``) and the storage of each declared link experiment of the
pair, as :class:`~metroqnet.physics.trial_timing.TrialTiming` records. :func:`draw_trial_timing` draws one
lane per storage (matplotlib axes in, nothing returned).

The paper gives the part of a trial up to the write (Fig. 2a) and the storage, not the reset/preparation
before the probes nor the read-out after the read. Their sum is what the fitted T0 (:func:`fit_cycle` on the
two declared rates) leaves beyond the probes, feedback and gap; it is drawn as one hatched block after the
read ("read-out, then the reset for the next trial": in a run of trials the two are back to back), so that
t = 0 is the first probe and each lane ends where the next trial's first probe starts. Without two link
experiments of different storage (no fit) the block is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.physics.mapping import round_trip_us
from metroqnet.physics.trial_timing import DELAYED_CHOICE, TrialTiming, fit_cycle

#: Colours of the blocks and markers (the fig2 palette's tab colours, one per part of a trial).
COLOURS = {"probe": "tab:orange", "feedback": "tab:cyan", "gap": "0.8", "storage": "#b9dfb9",
           "write": "tab:purple", "read": "tab:green", "herald": "tab:red", "overhead": "0.45"}
MODE_LABELS = {DELAYED_CHOICE: "delayed choice:\nread before the herald is back",
               "after-herald": "read after\nthe herald is back"}


@dataclass(frozen=True)
class TrialSequence:
    """One trial at ``node`` for each storage (``lanes``: experiment name → timing, shortest storage first).

    ``fitted_fixed_us`` is T0 from the two rates (None without a fit); the timings' ``readout_overhead_us``
    holds T0 minus the probes, feedback and gap, and their ``reset_us`` is 0 (t = 0 at the first probe).
    """

    node: str
    lanes: dict[str, TrialTiming]
    fitted_fixed_us: float | None


def trial_sequence(network: NetworkHardware, nodes: tuple[str, str]) -> TrialSequence:
    """The sequence of a trial on the pair ``nodes``, at the node with the longer round trip to the server.

    One lane for the shortest and one for the longest storage of the pair's link experiments; T0 is fitted to
    their two rates. Without a fit (one storage, or rates that :func:`fit_cycle` refuses), or with a T0 shorter
    than the probes' part, no read-out block (``readout_overhead_us`` 0).
    """
    node = max(nodes, key=lambda name: round_trip_us(network.node(name)))
    hardware, server = network.node(node), network.server
    links = sorted((experiment for experiment in network.experiments_of_kind("link")
                    if experiment.nodes is None or set(experiment.nodes) == set(nodes)),
                   key=lambda experiment: experiment.storage_us)
    chosen = [links[0], links[-1]] if links and links[0].storage_us != links[-1].storage_us else links[:1]
    base = TrialTiming(probe_duration_us=server.probe_duration_us, feedback_latency_us=server.feedback_latency_us,
                       probe_rounds=server.probe_rounds, probe_gap_us=server.probe_gap_us, readout_overhead_us=0.0,
                       storage_us=0.0, fibre_length_km=hardware.fibre_length_km,
                       fibre_delay_us_per_km=hardware.fibre_delay_us_per_km, reset_us=0.0)
    fitted_us = None
    if len(chosen) == 2:
        first, last = chosen
        try:
            fitted_us = fit_cycle(first.repetition_rate_hz, first.storage_us, last.repetition_rate_hz,
                                  last.storage_us).fixed_duration_us
        except ConfigError:
            fitted_us = None
    overhead_us = max(fitted_us - base.pre_write_us, 0.0) if fitted_us is not None else 0.0
    lanes = {experiment.name: base.replace(storage_us=experiment.storage_us, readout_overhead_us=overhead_us)
             for experiment in chosen}
    return TrialSequence(node=node, lanes=lanes, fitted_fixed_us=fitted_us)


def _block(ax, y: float, start: float, width: float, colour: str, text: str = "", *, edge: str = "0.25",
           hatch: str | None = None) -> None:
    """One block of a lane, with its text inside (on a white box over a hatch); clipped to the axes."""
    ax.broken_barh([(start, width)], (y - 0.18, 0.36), facecolors=colour, edgecolor=edge, lw=0.6, hatch=hatch)
    if text:
        box = dict(facecolor="white", edgecolor="none", pad=1.0) if hatch else None
        ax.text(start + width / 2, y, text, ha="center", va="center", fontsize=8.5, bbox=box, clip_on=True)


def _lanes(ax, sequence: TrialSequence, *, zoom: bool) -> float:
    """Draw every lane (the first on top); with ``zoom`` the blocks before the write carry their values,
    else the storage, the read-out block, the read and (on the first lane) the herald carry theirs. Returns the
    time of the last event."""
    end_us = 0.0
    names = list(sequence.lanes)
    for index, name in enumerate(names):
        timing = sequence.lanes[name]
        events = timing.event_times_us()
        y = float(len(names) - 1 - index)
        probe, feedback, gap = ((f"τpp\n{timing.probe_duration_us:g} µs", "fb",
                                 f"τΔ\n{timing.probe_gap_us:g} µs") if zoom else ("", "", ""))
        for k in range(1, timing.probe_rounds + 1):
            _block(ax, y, events[f"probe_{k}_start"], timing.probe_duration_us, COLOURS["probe"], probe)
            _block(ax, y, events[f"probe_{k}_end"], timing.feedback_latency_us, COLOURS["feedback"], feedback)
        _block(ax, y, events[f"feedback_{timing.probe_rounds}_end"], timing.probe_gap_us, COLOURS["gap"], gap)
        write, read = events["write"], events["read"]
        wide = not zoom and timing.storage_us >= 0.2 * timing.trial_duration_us  # room for its text
        _block(ax, y, write, timing.storage_us, COLOURS["storage"], f"storage {timing.storage_us:g} µs" if wide else "")
        if timing.readout_overhead_us > 0:
            _block(ax, y, read, timing.readout_overhead_us, "white", "" if zoom else
                   f"read-out + reset {timing.readout_overhead_us:.1f} µs", edge=COLOURS["overhead"], hatch="//")
        ax.plot([write], [y + 0.27], "v", ms=9, color=COLOURS["write"])
        ax.plot([read], [y + 0.27], "^", ms=9, color=COLOURS["read"])
        herald_y = y + 0.45
        ax.plot([write, events["herald_at_server"], events["herald_at_node"]], [herald_y] * 3, ":", lw=1.2,
                color=COLOURS["herald"])
        ax.plot([events["herald_at_server"]], [herald_y], "D", ms=6, color=COLOURS["herald"])
        ax.plot([events["herald_at_node"]], [herald_y], "o", ms=7, color=COLOURS["herald"])
        if zoom:
            ax.text(write + 0.3, y + 0.27, " write", fontsize=8.5, va="center", clip_on=True)
        else:
            ax.text(read, y - 0.22, f"read: write + {timing.storage_us:g} µs", fontsize=8.5, va="top")
        if not zoom and index == 0:  # the herald's times are the same in every lane: labelled once
            ax.text(events["herald_at_server"], herald_y + 0.06, f"herald at the server: write + L·v = "
                    f"{events['herald_at_server'] - write:g} µs", fontsize=8.5, ha="center", va="bottom")
            ax.text(events["herald_at_node"] + 1.5, herald_y + 0.06, f"back at {sequence.node}: write + 2·L·v = "
                    f"{events['herald_at_node'] - write:g} µs", fontsize=8.5, va="bottom")
        end_us = max(end_us, events["trial_end"], events["herald_at_node"])
    return end_us


def draw_trial_timing(zoom_ax, ax, sequence: TrialSequence) -> None:
    """a: the part before the write, zoomed, on ``zoom_ax``; the whole trial on ``ax``, its legend below."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    names = list(sequence.lanes)
    first = next(iter(sequence.lanes.values()), None)
    if first is None:  # no link experiment on the pair: nothing to draw
        for axes in (zoom_ax, ax):
            axes.set(xlabel="time from the first probe (µs)", ylabel="trial", title="a: no link experiment declared")
        return
    _lanes(zoom_ax, sequence, zoom=True)
    end_us = _lanes(ax, sequence, zoom=False)
    lanes_y = [float(len(names) - 1 - index) for index in range(len(names))]
    ylim = (-0.5, len(names) - 0.2)
    zoom_ax.set_yticks(lanes_y, [f"storage {sequence.lanes[name].storage_us:g} µs\n"
                                 f"({MODE_LABELS[sequence.lanes[name].readout_mode]})" for name in names], fontsize=9)
    ticks = sorted({0.0, *(time for key, time in first.event_times_us().items()
                          if key.startswith(("probe_", "feedback_")) or key == "write")})
    zoom_ax.set(xlim=(-0.5, first.pre_write_us + 4.0), ylim=ylim, xticks=ticks,
                xlabel="time from the first probe (µs)", ylabel="trial, by storage",
                title=f"a: before the write (Fig. 2a): {first.probe_rounds} × (τpp + fb) + τΔ "
                      f"= {first.pre_write_us:g} µs")
    ax.set_yticks(lanes_y, [f"{sequence.lanes[name].storage_us:g} µs" for name in names], fontsize=9)
    fitted = (f"; T0 = {sequence.fitted_fixed_us:.1f} µs in all, fitted to the two rates"
              if sequence.fitted_fixed_us is not None else "")
    ax.set(xlim=(-2.0, end_us * 1.3), ylim=ylim, xlabel="time from the first probe (µs)", ylabel="storage",
           title=f"a: the whole trial ({sequence.node}: L = {first.fibre_length_km:g} km, "
                 f"v = {first.fibre_delay_us_per_km:g} µs/km{fitted})")
    for axes in (zoom_ax, ax):
        axes.grid(axis="x", color="0.92", lw=0.6)
        axes.set_axisbelow(True)
    handles = [Patch(facecolor=COLOURS["probe"], edgecolor="0.25",
                     label=f"phase probe τpp = {first.probe_duration_us:g} µs"),
               Patch(facecolor=COLOURS["feedback"], edgecolor="0.25",
                     label=f"feedback (fb), up to {first.feedback_latency_us:g} µs"),
               Patch(facecolor=COLOURS["gap"], edgecolor="0.25", label=f"gap τΔ = {first.probe_gap_us:g} µs"),
               Patch(facecolor=COLOURS["storage"], edgecolor="0.25", label="storage (write to read)"),
               Patch(facecolor="white", edgecolor=COLOURS["overhead"], hatch="//",
                     label="read-out + reset: T0 − the probes' part (not in the paper)"),
               Line2D([], [], ls="", marker="v", ms=8, color=COLOURS["write"], label="write"),
               Line2D([], [], ls="", marker="^", ms=8, color=COLOURS["read"], label="read"),
               Line2D([], [], ls=":", marker="D", ms=5, color=COLOURS["herald"],
                      label="herald: photon at the server"),
               Line2D([], [], ls=":", marker="o", ms=6, color=COLOURS["herald"],
                      label="herald: message back at the node")]
    if sequence.fitted_fixed_us is None:  # no read-out block drawn
        handles = [handle for handle in handles if "read-out" not in handle.get_label()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=8.5,
              frameon=False)


__all__ = ["TrialSequence", "draw_trial_timing", "trial_sequence"]
