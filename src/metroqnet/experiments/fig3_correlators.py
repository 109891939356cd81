"""Fig. 3e,h of the paper: the PME correlators ⟨ZZ⟩, ⟨XX⟩, ⟨YY⟩ and F after 5 µs and 107 µs of storage.

For the declared experiments :data:`EXPERIMENTS` (the Hefei preset's ``storage_5us`` and
``storage_107us``, Alice–Bob), per herald sign: the correlators and the PME fidelity of a sampled
run (one standard error), the exact model's values, the ideal |Ψ±⟩PME values and the paper's F
(``[published.experiments.*] pme_fidelity_plus/minus``). See
:mod:`metroqnet.experiments.correlator_bars` for the columns and the seeds.

"Theoretical correlators" (the paper's transparent bars): read as the ideal |Ψ±⟩PME state's,
⟨ZZ⟩ = −1, ⟨XX⟩ = ⟨YY⟩ = ±1 (F = 1), the state the paper defines and measures its fidelity
against; it prints no other theory of them. The plot draws the twin's exact model as the
transparent bars and the ideal values as dashed black marks, so both readings are on the page.
Blue is 5 µs and orange 107 µs, as in the paper; the experiment at place k runs on ``child(seed, k)``
(the same streams as :mod:`metroqnet.experiments.fig3_density`, so the two read the same runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed
from metroqnet.experiments.correlator_bars import (CorrelatorFigure, draw_correlator_figure, link_label, save_figure,
                                                     spawn_series)

#: The paper's two storage experiments, in seed-stream order (place k runs on ``child(seed, k)``).
EXPERIMENTS: tuple[str, ...] = ("storage_5us", "storage_107us")
#: Panel letter -> herald sign, as in the paper's Fig. 3.
PANELS = {"e": "plus", "h": "minus"}
COLOURS = {"storage_5us": "tab:blue", "storage_107us": "tab:orange"}


@dataclass(frozen=True)
class Fig3Correlators(CorrelatorFigure):
    """Fig. 3e,h: one series per experiment of :data:`EXPERIMENTS` (``result["storage_5us"]``)."""


def fig3_correlators(network: NetworkHardware, *, trials: Mapping[str, int] | int, seed: Seed) -> Fig3Correlators:
    """Sampled (``trials`` per experiment, or a count for each name of :data:`EXPERIMENTS`) and exact figures."""
    series, record = spawn_series(network, [(name, name, None) for name in EXPERIMENTS], trials=trials, seed=seed)
    return Fig3Correlators(network=network.name, series=series, seed=record)


def draw_fig3_correlators(result: Fig3Correlators):
    """The figure as a :class:`matplotlib.figure.Figure` (not attached to pyplot)."""
    labels = {one.key: f"{one.storage_us:g} µs" for one in result.series}
    link = " / ".join(sorted({link_label(one.link) for one in result.series}))
    return draw_correlator_figure(result, panels=PANELS, colours=COLOURS, labels=labels,
                                  title=f"Fig. 3e,h: correlation measurements of the PME states, {link}")


def plot_fig3_correlators(result: Fig3Correlators, path: str | Path) -> Path:
    """Write panels e (Ψ+) and h (Ψ−) to ``path`` (PNG); needs matplotlib (``metroqnet[plot]``)."""
    return save_figure(draw_fig3_correlators(result), path)


__all__ = ["EXPERIMENTS", "PANELS", "Fig3Correlators", "draw_fig3_correlators", "fig3_correlators",
           "plot_fig3_correlators"]
