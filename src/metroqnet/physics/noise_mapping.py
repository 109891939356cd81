"""The noise a link's phase stabilization fights, built from a network's hardware.

One builder per component, each reading the preset's tagged values and nothing else:

* each node's write laser and QFC pump laser: a white-frequency floor plus slow technical
  frequency noise whose field coherence falls to 1/e at the laser's coherence time
  (:meth:`~metroqnet.physics.laser_phase.LaserPhase.from_coherence_time`);
* each node's fibre to the server: thermal wander and acoustic noise scaled with its
  length (:meth:`~metroqnet.physics.fibre_phase.FibrePhase.for_length`);
* the reference cavities' relative drift following a synthetic lab temperature
  (``[drift]``: :class:`~metroqnet.physics.temperature.DiurnalTemperature`,
  :class:`~metroqnet.physics.frequency_drift.FrequencyDrift`).

:func:`link_phase_noise` sums them into the relative phase Δφ of a link
(:func:`~metroqnet.physics.link_phase.link_phase`).
"""

from __future__ import annotations

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import CavityDrift, NetworkHardware, NodeHardware
from metroqnet.config.seeds import Seed
from metroqnet.config.units import MS_PER_S
from metroqnet.noise.sums import PhaseSum
from metroqnet.physics.fibre_phase import FibrePhase
from metroqnet.physics.frequency_drift import FrequencyDrift
from metroqnet.physics.laser_phase import LaserPhase
from metroqnet.physics.link_phase import link_phase
from metroqnet.physics.temperature import DiurnalTemperature, TemperatureRecord


def write_laser(node: NodeHardware) -> LaserPhase:
    """The node's write laser: white floor and technical noise, coherence 1/e at ``laser_coherence_time_ms``."""
    return LaserPhase.from_coherence_time(
        coherence_time_s=node.laser_coherence_time_ms / MS_PER_S,
        white_linewidth_hz=node.laser_white_linewidth_hz,
        technical_correlation_s=node.laser_technical_correlation_ms / MS_PER_S,
    )


def pump_laser(node: NodeHardware) -> LaserPhase:
    """The node's QFC pump laser: the same model with the ``pump_laser_*`` values; its coherence time is the
    node's ``laser_coherence_time_ms`` unless the pump's own is given (:attr:`NodeHardware.pump_coherence_time_ms`)."""
    return LaserPhase.from_coherence_time(
        coherence_time_s=node.pump_coherence_time_ms / MS_PER_S,
        white_linewidth_hz=node.pump_laser_white_linewidth_hz,
        technical_correlation_s=node.pump_laser_technical_correlation_ms / MS_PER_S,
    )


def fibre(node: NodeHardware) -> FibrePhase:
    """The phase noise of the node's fibre to the server."""
    return FibrePhase.for_length(
        node.fibre_length_km,
        thermal_rate_rad_per_s_per_km=node.fibre_thermal_rate_rad_per_s_per_km,
        thermal_correlation_s=node.fibre_thermal_correlation_s,
        acoustic_variance_rad2_per_km=node.fibre_acoustic_variance_rad2_per_km,
        acoustic_correlation_us=node.fibre_acoustic_correlation_us,
    )


def lab_temperature(drift: CavityDrift) -> DiurnalTemperature:
    """The synthetic lab temperature the cavities follow."""
    return DiurnalTemperature(
        mean_c=drift.temperature_mean_c,
        amplitude_k=drift.temperature_amplitude_k,
        period_h=drift.temperature_period_h,
        peak_hour=drift.temperature_peak_hour,
        start_hour_of_day=drift.temperature_start_hour_of_day,
        wander_std_k=drift.temperature_wander_std_k,
        wander_correlation_h=drift.temperature_wander_correlation_h,
        step_s=drift.temperature_step_s,
    )


def cavity_drift(
    network: NetworkHardware,
    *,
    duration_h: float | None = None,
    seed: Seed | None = None,
    temperature: TemperatureRecord | None = None,
) -> FrequencyDrift:
    """The cavities' drift following ``temperature``, or a synthetic record of ``duration_h`` drawn from ``seed``."""
    if temperature is None:
        if duration_h is None or seed is None:
            raise ConfigError.at("cavity_drift", "give a temperature record, or duration_h and seed to draw one")
        temperature = lab_temperature(network.drift).record(duration_h, seed=seed)
    return FrequencyDrift(
        temperature=temperature,
        coefficient_khz_per_k=network.drift.coefficient_khz_per_k,
        aging_khz_per_day=network.drift.aging_khz_per_day,
    )


def link_phase_noise(
    network: NetworkHardware, node_x: str, node_y: str, *, drift: FrequencyDrift | None = None
) -> PhaseSum:
    """Δφ of the link X–Y: both nodes' write and pump lasers and fibres and (``drift``) the cavities' drift."""
    x = network.node(node_x, field_name="node_x")
    y = network.node(node_y, field_name="node_y")
    return link_phase(
        write_laser_x=write_laser(x), write_laser_y=write_laser(y), pump_laser_x=pump_laser(x),
        pump_laser_y=pump_laser(y), fibre_x=fibre(x), fibre_y=fibre(y), drift=drift,
    )
