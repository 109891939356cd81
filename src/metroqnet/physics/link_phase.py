"""The relative optical phase of a link X–Y, from its parts.

    Δφ_XY(t) = φ_laser,x(t) − φ_laser,y(t) + φ_fibre,x(t) − φ_fibre,y(t) + 2π ∫ Δf dt

with Δf = f_x − f_y the lasers' frequency offset (:class:`~metroqnet.physics.frequency_drift.FrequencyDrift`).
Each part keeps its own state (``state.parts``, in the order of :data:`TERMS`). Use
:meth:`~metroqnet.noise.sums.PhaseSum.simulate_terms` for the parts apart (for links that
share a node, simulate each node's parts once this way and form every link's difference
from them: separate link sums would draw independent node phases), and
:func:`~metroqnet.noise.sums.pooled` for a faster process with the same
distribution of Δφ (one laser term, one thermal and one acoustic term).
"""

from __future__ import annotations

from typing import Any

from metroqnet.noise.sums import PhaseSum, PhaseTerm

__all__ = ["TERMS", "link_phase"]

TERMS = ("laser_x", "laser_y", "fibre_x", "fibre_y", "drift")


def link_phase(*, laser_x: Any, laser_y: Any, fibre_x: Any, fibre_y: Any, drift: Any | None = None) -> PhaseSum:
    """Δφ_XY as a :class:`PhaseSum` with terms named as in :data:`TERMS` (``drift`` optional)."""
    terms = [
        PhaseTerm(name="laser_x", process=laser_x),
        PhaseTerm(name="laser_y", process=laser_y, sign=-1),
        PhaseTerm(name="fibre_x", process=fibre_x),
        PhaseTerm(name="fibre_y", process=fibre_y, sign=-1),
    ]
    if drift is not None:
        terms.append(PhaseTerm(name="drift", process=drift))
    return PhaseSum(terms=tuple(terms))
