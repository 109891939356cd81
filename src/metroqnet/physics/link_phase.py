"""The relative optical phase of a link X–Y, from its parts (the paper's Eq. (1): Δφ = Δφw + Δφp + Δφf).

    Δφ_XY(t) = [φ_write,x − φ_write,y] − [φ_pump,x − φ_pump,y] + [φ_fibre,x − φ_fibre,y]
               + 2π ∫ (Δf − f_comp) dt

The write-out photon (and the phase probe, which "inherit[s] the same laser phase as the
write-out photons") carries its node's write-laser phase; the frequency conversion
(795 → 1342 nm, difference-frequency generation with the ~1950 nm pump: ω_out = ω_in − ω_pump)
subtracts the pump laser's phase (the paper's Δφp; the sign does not change the law of
independent Gaussian phases, only which realisation a term gives); the fibre to the server
adds its own. Δf = f_x − f_y is the lasers' slow frequency offset (the reference
cavities' drift, :class:`~metroqnet.physics.frequency_drift.FrequencyDrift`).

**Where the calibration acts.** The paper compensates the measured offset "to the pump
lasers": moving one node's pump frequency by f_comp moves the converted photon's frequency
by ∓f_comp and so the relative phase by −2π∫f_comp dt. The pump's noise is additive and
independent of its set frequency, so the compensation is exactly that deterministic
subtraction; the loop applies it (:mod:`metroqnet.control.phase_loop`) and the noise here
does not carry it.

Each part keeps its own state (``state.parts``, in the order of :data:`TERMS`). Use
:meth:`~metroqnet.noise.sums.PhaseSum.simulate_terms` for the parts apart (for links that
share a node, simulate each node's parts once this way and form every link's difference
from them: separate link sums would draw independent node phases), and
:func:`~metroqnet.noise.sums.pooled` for a faster process with the same distribution of Δφ
(one white floor, one technical term per correlation time, one thermal and one acoustic term).
"""

from __future__ import annotations

from typing import Any

from metroqnet.noise.sums import PhaseSum, PhaseTerm

__all__ = ["TERMS", "link_phase"]

TERMS = ("write_laser_x", "write_laser_y", "pump_laser_x", "pump_laser_y", "fibre_x", "fibre_y", "drift")


def link_phase(
    *,
    write_laser_x: Any,
    write_laser_y: Any,
    pump_laser_x: Any,
    pump_laser_y: Any,
    fibre_x: Any,
    fibre_y: Any,
    drift: Any | None = None,
) -> PhaseSum:
    """Δφ_XY as a :class:`PhaseSum` with terms named as in :data:`TERMS` (``drift`` optional)."""
    terms = [
        PhaseTerm(name="write_laser_x", process=write_laser_x),
        PhaseTerm(name="write_laser_y", process=write_laser_y, sign=-1),
        PhaseTerm(name="pump_laser_x", process=pump_laser_x, sign=-1),
        PhaseTerm(name="pump_laser_y", process=pump_laser_y),
        PhaseTerm(name="fibre_x", process=fibre_x),
        PhaseTerm(name="fibre_y", process=fibre_y, sign=-1),
    ]
    if drift is not None:
        terms.append(PhaseTerm(name="drift", process=drift))
    return PhaseSum(terms=tuple(terms))
