"""Generic Gaussian noise processes sampled exactly at integer times (ns), chunk by chunk.

Every process is frozen, validated parameters plus ``simulate(times_ns, rng=..., state=None)``
returning ``(values, state)`` (:mod:`metroqnet.noise.processes`): Wiener, Ornstein–Uhlenbeck and
integrated-OU phases (:mod:`metroqnet.noise.gaussian`) and signed sums of them
(:mod:`metroqnet.noise.sums`). The component models built from them (lasers, fibres, cavity
drift) live in :mod:`metroqnet.physics`. See ``docs/control_noise.md``.
"""

from metroqnet.noise.gaussian import IntegratedOUPhase, OrnsteinUhlenbeckPhase, WienerPhase
from metroqnet.noise.processes import NoiseProcess, ProcessState, simulate_chunks
from metroqnet.noise.sums import PhaseSum, PhaseTerm, pooled

__all__ = [
    "IntegratedOUPhase",
    "NoiseProcess",
    "OrnsteinUhlenbeckPhase",
    "PhaseSum",
    "PhaseTerm",
    "ProcessState",
    "WienerPhase",
    "pooled",
    "simulate_chunks",
]
