"""Phase and frequency noise processes of the control loops (laser, fibre, cavity drift), simulated in time.

Every process is frozen, validated parameters plus ``simulate(times_ns, rng=..., state=None)``
returning ``(values, state)`` at sorted integer times in ns, chunk by chunk
(:mod:`metroqnet.control.processes`). See ``docs/control_noise.md``.
"""

from metroqnet.control.fibre_phase import FibrePhase
from metroqnet.control.frequency_drift import FrequencyDrift
from metroqnet.control.gaussian import IntegratedOUPhase, OrnsteinUhlenbeckPhase, WienerPhase
from metroqnet.control.laser_phase import LaserPhase, coherence_time_s, linewidth_hz_for_coherence_time
from metroqnet.control.link_phase import link_phase
from metroqnet.control.processes import ALIGN_SAMPLES, NoiseProcess, ProcessState, simulate_chunks
from metroqnet.control.sums import PhaseSum, PhaseTerm, pooled
from metroqnet.control.temperature import DiurnalTemperature, TemperatureRecord, read_temperature_csv

__all__ = [
    "ALIGN_SAMPLES",
    "DiurnalTemperature",
    "FibrePhase",
    "FrequencyDrift",
    "IntegratedOUPhase",
    "LaserPhase",
    "NoiseProcess",
    "OrnsteinUhlenbeckPhase",
    "PhaseSum",
    "PhaseTerm",
    "ProcessState",
    "TemperatureRecord",
    "WienerPhase",
    "coherence_time_s",
    "link_phase",
    "linewidth_hz_for_coherence_time",
    "pooled",
    "read_temperature_csv",
    "simulate_chunks",
]
