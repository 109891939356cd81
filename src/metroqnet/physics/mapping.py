"""The one mapping from hardware (:mod:`metroqnet.config.hardware`) to link parameters (``docs/link_model.md``).

For the link between nodes X and Y at storage time t (node k ∈ {X, Y}):

* ``excitation_probability_k`` = χ_k.
* ``herald_efficiency_k`` = collection_k · QFC_k · 10^(-α_k L_k / 10) · 10^(-switch_dB / 10)
  · interferometer arm · SNSPD efficiency. All losses from the ensemble to a click
  are one pure-loss channel; both server arms and both SNSPDs are taken
  equal (one ``interferometer_transmission``, one ``snspd_efficiency``).
* ``herald_noise_probability`` = 1 - exp(-R · w), w the herald window, per detector
  and trial, with R = SNSPD dark rate + ½ Σ_k QFC noise rate_k · fibre_k · switch
  · arm · SNSPD efficiency. Only the two switched nodes' noise reaches the
  beamsplitter; each noise photon goes to a given detector with probability ½;
  noise is Poisson and independent of the light. Afterpulsing and
  phase-probe leakage are not modelled.
* ``herald_mode_overlap_k`` = ``writeout_mode_overlap_k``: the fraction of k's
  write-out intensity in the mode common to all nodes at the server.
* ``read_efficiency_k`` = η₀_k · f_k(t/τ_k) · read path_k · local detector_k, with f
  the node's decay law (gaussian exp(-(t/τ)²) or exponential exp(-t/τ)).
* ``phase_noise_std_rad`` = √(σ_res² + (2π · f_rms · t)²): the stabilization residual
  σ_res (a Gaussian, converted from degrees) and the phase a residual frequency
  offset of rms f_rms accumulates over the storage time, taken Gaussian and
  independent of σ_res (the offset is quasi-static: one value per trial).
* ``probe_mean_photon_number_k``, ``probe_mode_overlap_k``: the node's values.
* ``local_noise_probability_k`` = 1 - exp(-dark rate_k · read window_k).
* ``repetition_rate_hz``: as given (optional).

Beside the link parameters, :func:`round_trip_us` gives the node–server round trip
of the classical herald message (2 · L · fibre delay per km), which a storage time
must exceed for a node to read its memory after the herald is known.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware, NodeHardware, ServerHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.units import HZ_PER_KHZ, S_PER_US
from metroqnet.config.validation import NonNegative, check
from metroqnet.physics import fibre
from metroqnet.physics.conversion import conversion_transmission, noise_rate_after_hz
from metroqnet.physics.detector import noise_click_probability
from metroqnet.physics.memory import retrieval_efficiency
from metroqnet.physics.switch import switch_transmission


def _server_arm_transmission(server: ServerHardware) -> float:
    """Switch → interferometer arm → SNSPD: the server's part of every herald path."""
    return switch_transmission(server.switch_loss_db) * server.interferometer_transmission * server.snspd_efficiency


def _node_fibre_transmission(node: NodeHardware) -> float:
    return fibre.fibre_transmission(node.fibre_length_km, attenuation_db_per_km=node.fibre_attenuation_db_per_km)


def herald_efficiency(node: NodeHardware, server: ServerHardware) -> float:
    """collection · QFC · fibre · switch · arm · SNSPD: write-out photon to a herald click."""
    return (
        node.writeout_collection_efficiency
        * conversion_transmission(qfc_efficiency=node.qfc_efficiency)
        * _node_fibre_transmission(node)
        * _server_arm_transmission(server)
    )


def herald_noise_rate_hz(nodes: Sequence[NodeHardware], server: ServerHardware) -> float:
    """Noise click rate at ONE server detector: dark + ½ Σ_k QFC noise_k · fibre_k · switch · arm · SNSPD."""
    arm = _server_arm_transmission(server)
    photons_hz = sum(
        noise_rate_after_hz(qfc_noise_rate_hz=node.qfc_noise_rate_hz, transmission=_node_fibre_transmission(node) * arm)
        for node in nodes
    )
    return server.snspd_dark_count_rate_hz + 0.5 * photons_hz


def herald_noise_probability(nodes: Sequence[NodeHardware], server: ServerHardware) -> float:
    """1 - exp(-R · herald window), R from :func:`herald_noise_rate_hz`."""
    return noise_click_probability(herald_noise_rate_hz(nodes, server), window_ns=server.herald_window_ns)


def read_efficiency(node: NodeHardware, *, storage_us: float) -> float:
    """Retrieval after ``storage_us`` · read path · local detector efficiency."""
    retrieval = retrieval_efficiency(
        storage_us,
        efficiency_zero_storage=node.retrieval_efficiency_zero_storage,
        lifetime_us=node.memory_lifetime_us,
        decay=node.memory_decay,
    )
    return retrieval * node.read_path_transmission * node.local_detector_efficiency


def phase_noise_std_rad(server: ServerHardware, *, storage_us: float) -> float:
    """√(σ_res² + (2π f_rms t)²): stabilization residual plus frequency-offset drift during storage."""
    residual_rad = math.radians(server.phase_residual_std_deg)
    drift_rad = 2.0 * math.pi * (server.frequency_offset_rms_khz * HZ_PER_KHZ) * (storage_us * S_PER_US)
    return math.hypot(residual_rad, drift_rad)


def local_noise_probability(node: NodeHardware) -> float:
    """1 - exp(-dark rate · read window) per local detector and trial."""
    return noise_click_probability(node.local_dark_count_rate_hz, window_ns=node.read_window_ns)


def link_parameters(
    network: NetworkHardware,
    node_x: str,
    node_y: str,
    *,
    storage_us: float,
    repetition_rate_hz: float | None = None,
) -> LinkParameters:
    """Link parameters (``docs/link_model.md``) of the link X–Y after ``storage_us`` of storage (formulas: module doc).

    Unknown node names are refused with the list of nodes; the same node twice
    is refused.
    """
    x = network.node(node_x, field_name="node_x")
    y = network.node(node_y, field_name="node_y")
    if node_x == node_y:
        raise ConfigError.at("node_y", f"{node_y!r} twice; a link needs two different nodes")
    storage_us = check("storage_us", storage_us, NonNegative)
    server = network.server
    per_node: dict[str, float] = {}
    for suffix, node in (("x", x), ("y", y)):
        per_node[f"excitation_probability_{suffix}"] = node.excitation_probability
        per_node[f"herald_efficiency_{suffix}"] = herald_efficiency(node, server)
        per_node[f"herald_mode_overlap_{suffix}"] = node.writeout_mode_overlap
        per_node[f"read_efficiency_{suffix}"] = read_efficiency(node, storage_us=storage_us)
        per_node[f"probe_mean_photon_number_{suffix}"] = node.probe_mean_photon_number
        per_node[f"probe_mode_overlap_{suffix}"] = node.probe_mode_overlap
        per_node[f"local_noise_probability_{suffix}"] = local_noise_probability(node)
    try:
        return LinkParameters(
            **per_node,
            herald_noise_probability=herald_noise_probability((x, y), server),
            phase_noise_std_rad=phase_noise_std_rad(server, storage_us=storage_us),
            repetition_rate_hz=repetition_rate_hz,
        )
    except ConfigError as error:  # a derived value: name what the user set
        raise ConfigError(
            f"link {node_x}-{node_y} of {network.name} at storage_us={storage_us:g}, "
            f"repetition_rate_hz={repetition_rate_hz!r}: {error}", field=error.field, detail=error.detail,
        ) from None


def round_trip_us(node: NodeHardware) -> float:
    """Node → server → node: 2 · L · delay per km (the herald's message back, µs)."""
    return fibre.round_trip_us(node.fibre_length_km, delay_us_per_km=node.fibre_delay_us_per_km)


def experiment_link_parameters(network: NetworkHardware, experiment: str) -> LinkParameters:
    """Link parameters of a declared experiment: its node pair, storage time and repetition rate."""
    declared = network.experiment(experiment)
    if declared.nodes is None:
        raise ConfigError.at(f"experiments.{experiment}.nodes", "not declared; call link_parameters with the two nodes")
    if declared.storage_us is None:
        raise ConfigError.at(f"experiments.{experiment}", f"a {declared.kind!r} experiment is not a link experiment")
    return link_parameters(
        network,
        *declared.nodes,
        storage_us=declared.storage_us,
        repetition_rate_hz=declared.repetition_rate_hz,
    )
