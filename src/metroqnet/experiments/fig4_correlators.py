"""Fig. 4c,d of the paper: the PME correlators ⟨ZZ⟩, ⟨XX⟩, ⟨YY⟩ and F of the three links of the concurrent run.

For the links :data:`LINKS` (Alice–Bob, Alice–Charlie, Bob–Charlie) at the settings of
:data:`EXPERIMENT` (``storage_5us``, the experiment Table 1 uses,
:data:`metroqnet.experiments.hefei_link.TABLE1_EXPERIMENT`), per herald sign: a sampled run's
correlators and F (one standard error), the exact model's values and the ideal |Ψ±⟩PME values
(:mod:`metroqnet.experiments.correlator_bars`). The paper prints no value of Fig. 4c,d; its only
statement, "F > 0.5 for all three links", is drawn as a dashed line at 0.5 on the fidelity group.
Blue, orange and green are Alice–Bob, Alice–Charlie and Bob–Charlie, as in Fig. 4a,b; the link at
place k runs on ``child(seed, k)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed
from metroqnet.experiments.correlator_bars import (CorrelatorFigure, draw_correlator_figure, link_label, save_figure,
                                                     spawn_series)

EXPERIMENT = "storage_5us"
#: Link name -> node pair, in seed-stream order and the paper's colour order.
LINKS: dict[str, tuple[str, str]] = {"alice-bob": ("alice", "bob"), "alice-charlie": ("alice", "charlie"),
                                     "bob-charlie": ("bob", "charlie")}
PANELS = {"c": "plus", "d": "minus"}
COLOURS = {"alice-bob": "tab:blue", "alice-charlie": "tab:orange", "bob-charlie": "tab:green"}
#: The paper's statement on Fig. 4c,d: "F > 0.5 for all three links".
FIDELITY_THRESHOLD = 0.5


@dataclass(frozen=True)
class Fig4Correlators(CorrelatorFigure):
    """Fig. 4c,d: one series per link of :data:`LINKS` (``result["alice-charlie"]``)."""


def fig4_correlators(network: NetworkHardware, *, trials: Mapping[str, int] | int, seed: Seed) -> Fig4Correlators:
    """Sampled (``trials`` per link, or a count for each name of :data:`LINKS`) and exact figures."""
    specs = [(name, EXPERIMENT, pair) for name, pair in LINKS.items()]
    # The paper's F of storage_5us is Fig. 3e,h's fixed Alice–Bob link, not this concurrent run: not drawn here.
    series, record = spawn_series(network, specs, trials=trials, seed=seed, published=False)
    return Fig4Correlators(network=network.name, series=series, seed=record)


def draw_fig4_correlators(result: Fig4Correlators):
    """The figure as a :class:`matplotlib.figure.Figure` (not attached to pyplot)."""
    labels = {one.key: link_label(one.link) for one in result.series}
    storage = " / ".join(f"{s:g} µs" for s in sorted({one.storage_us for one in result.series}))
    return draw_correlator_figure(
        result, panels=PANELS, colours=COLOURS, labels=labels,
        title=f"Fig. 4c,d: correlation measurements of the PME states on three links, {storage} storage",
        threshold=FIDELITY_THRESHOLD, threshold_label="F = 0.5 (paper: F > 0.5 for all three links)")


def plot_fig4_correlators(result: Fig4Correlators, path: str | Path) -> Path:
    """Write panels c (Ψ+) and d (Ψ−) to ``path`` (PNG); needs matplotlib (``metroqnet[plot]``)."""
    return save_figure(draw_fig4_correlators(result), path)


__all__ = ["EXPERIMENT", "FIDELITY_THRESHOLD", "LINKS", "PANELS", "Fig4Correlators", "draw_fig4_correlators",
           "fig4_correlators", "plot_fig4_correlators"]
