"""The one mapping from hardware (:mod:`metroqnet.config.hardware`) to link parameters (``docs/link_model.md``).

For the link between nodes X and Y at storage time t (node k ∈ {X, Y}):

* ``excitation_probability_k`` = χ_k.
* ``herald_efficiency_k`` = collection_k · QFC_k · s · 10^(-α_k L_k / 10) · 10^(-switch_dB / 10)
  · interferometer arm · SNSPD efficiency. All losses from the ensemble to a click
  are one pure-loss channel; both server arms and both SNSPDs are taken
  equal (one ``interferometer_transmission``, one ``snspd_efficiency``). s is the
  experiment's ``herald_transmission_scale`` (1 unless the experiment declares one): it
  multiplies the path from the QFC output to the click, which write-out photons and
  QFC noise share, so it scales signal and conversion noise together.
* ``herald_noise_probability`` = 1 - exp(-R · w), w the herald window, per detector
  and trial, with R = SNSPD dark rate + ½ Σ_k QFC noise rate_k · s · fibre_k · switch
  · arm · SNSPD efficiency. Only the two switched nodes' noise reaches the
  beamsplitter; each noise photon goes to a given detector with probability ½;
  noise is Poisson and independent of the light. Afterpulsing and
  phase-probe leakage are not modelled.
* ``herald_mode_overlap_k`` = ``writeout_mode_overlap_k`` · (1 + exp(−2 ε_k²))/2: the fraction
  of k's write-out intensity in the mode common to all nodes at the server; ε_k (rad) the rms
  polarization residual of k's herald path (``fibre_polarization_residual_deg``, derived from the
  topology's fibres), the mean of cos² of a Gaussian misalignment against the server's reference
  axis (:mod:`metroqnet.physics.polarization`).
* ``read_efficiency_k`` = η₀_k · exp(-(t/τ_k)^β_k) · read path_k · local detector_k, β_k the
  node's decay exponent (1 exponential, 2 Gaussian).
* ``phase_noise_std_rad`` = √(σ_res² + (2π t)² (σ_δ,x² + σ_δ,y²)): σ_res the phase
  stabilization's residual at the write, given by the caller (the loop's, from
  :mod:`metroqnet.experiments.link_setup`; physics does not run the loop), and the
  relative phase 2π(δ_x − δ_y)t that the two stored spin waves accumulate over the
  storage time t, δ_k node k's spin-wave detuning from its RF (OPLL offset) reference,
  quasi-static (one value per trial), Gaussian of rms σ_δ,k, independent between nodes
  and of σ_res. The optical frequency offset between the nodes adds nothing during
  storage: it cancels in each node's local verification (``docs/storage_phase.md``).
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
from metroqnet.config.units import S_PER_US
from metroqnet.config.validation import NonNegative, Positive, check
from metroqnet.physics import fibre
from metroqnet.physics.conversion import conversion_transmission, noise_rate_after_hz
from metroqnet.physics.detector import noise_click_probability
from metroqnet.physics.memory import retrieval_efficiency
from metroqnet.physics.polarization import polarization_overlap_deg
from metroqnet.physics.switch import switch_transmission


def _server_arm_transmission(server: ServerHardware) -> float:
    """Switch → interferometer arm → SNSPD: the server's part of every herald path."""
    return switch_transmission(server.switch_loss_db) * server.interferometer_transmission * server.snspd_efficiency


def herald_path_transmission(node: NodeHardware, server: ServerHardware, *, herald_transmission_scale: float = 1.0
                             ) -> float:
    """s · fibre · switch · arm · SNSPD: from the QFC output to a click, shared by write-out photons and QFC noise.

    Refused above 1 (a scale that would make the path gain light), naming the scale.
    """
    scale = check("herald_transmission_scale", herald_transmission_scale, Positive)
    transmission = (
        scale
        * fibre.fibre_transmission(node.fibre_length_km, attenuation_db_per_km=node.fibre_attenuation_db_per_km)
        * _server_arm_transmission(server)
    )
    if transmission > 1.0:
        raise ConfigError.at(
            "herald_transmission_scale",
            f"{scale:g} makes {node.name}'s herald path (QFC output to SNSPD click) transmit {transmission:.4g} > 1; "
            f"allowed: scale <= {scale / transmission:.4g} for this node",
        )
    return transmission


def herald_efficiency(node: NodeHardware, server: ServerHardware, *, herald_transmission_scale: float = 1.0) -> float:
    """collection · QFC · s · fibre · switch · arm · SNSPD: write-out photon to a herald click."""
    return (
        node.writeout_collection_efficiency
        * conversion_transmission(qfc_efficiency=node.qfc_efficiency)
        * herald_path_transmission(node, server, herald_transmission_scale=herald_transmission_scale)
    )


def herald_noise_rate_hz(
    nodes: Sequence[NodeHardware], server: ServerHardware, *, herald_transmission_scale: float = 1.0
) -> float:
    """Noise click rate at ONE server detector: dark + ½ Σ_k QFC noise_k · s · fibre_k · switch · arm · SNSPD."""
    photons_hz = sum(
        noise_rate_after_hz(
            qfc_noise_rate_hz=node.qfc_noise_rate_hz,
            transmission=herald_path_transmission(node, server, herald_transmission_scale=herald_transmission_scale),
        )
        for node in nodes
    )
    return server.snspd_dark_count_rate_hz + 0.5 * photons_hz


def herald_noise_probability(
    nodes: Sequence[NodeHardware], server: ServerHardware, *, herald_transmission_scale: float = 1.0
) -> float:
    """1 - exp(-R · herald window), R from :func:`herald_noise_rate_hz`."""
    rate_hz = herald_noise_rate_hz(nodes, server, herald_transmission_scale=herald_transmission_scale)
    return noise_click_probability(rate_hz, window_ns=server.herald_window_ns)


def herald_mode_overlap(node: NodeHardware) -> float:
    """writeout_mode_overlap · (1 + exp(−2 ε²))/2, ε the node's polarization residual (rad) at the server."""
    return node.writeout_mode_overlap * polarization_overlap_deg(node.fibre_polarization_residual_deg)


def read_efficiency(node: NodeHardware, *, storage_us: float) -> float:
    """Retrieval after ``storage_us`` · read path · local detector efficiency."""
    retrieval = retrieval_efficiency(
        storage_us,
        efficiency_zero_storage=node.retrieval_efficiency_zero_storage,
        lifetime_us=node.memory_lifetime_us,
        exponent=node.memory_decay_exponent,
    )
    return retrieval * node.read_path_transmission * node.local_detector_efficiency


def storage_phase_std_rad(node_x: NodeHardware, node_y: NodeHardware, *, storage_us: float) -> float:
    """2π t √(σ_δ,x² + σ_δ,y²): std of the relative phase 2π(δ_x − δ_y)t the stored spin waves pick up."""
    storage_s = check("storage_us", storage_us, NonNegative) * S_PER_US
    return 2.0 * math.pi * storage_s * math.hypot(node_x.spin_wave_detuning_rms_hz, node_y.spin_wave_detuning_rms_hz)


def phase_noise_std_rad(
    node_x: NodeHardware, node_y: NodeHardware, *, phase_residual_std_rad: float, storage_us: float
) -> float:
    """√(σ_res² + (2π t)²(σ_δ,x² + σ_δ,y²)): the loop's residual at the write plus the spin waves' relative phase."""
    residual_rad = check("phase_residual_std_rad", phase_residual_std_rad, NonNegative)
    return math.hypot(residual_rad, storage_phase_std_rad(node_x, node_y, storage_us=storage_us))


def local_noise_probability(node: NodeHardware) -> float:
    """1 - exp(-dark rate · read window) per local detector and trial."""
    return noise_click_probability(node.local_dark_count_rate_hz, window_ns=node.read_window_ns)


def link_parameters(
    network: NetworkHardware,
    node_x: str,
    node_y: str,
    *,
    storage_us: float,
    phase_residual_std_rad: float,
    repetition_rate_hz: float | None = None,
    herald_transmission_scale: float = 1.0,
) -> LinkParameters:
    """Link parameters (``docs/link_model.md``) of the link X–Y after ``storage_us`` of storage (formulas: module doc).

    ``phase_residual_std_rad`` is the phase stabilization's residual at the write (the
    loop's, :func:`metroqnet.experiments.link_setup.link_parameters_from_loop` runs it);
    ``herald_transmission_scale`` the experiment's scale of the herald path (1 by default).
    Unknown node names are refused with the list of nodes; the same node twice
    is refused.
    """
    x = network.node(node_x, field_name="node_x")
    y = network.node(node_y, field_name="node_y")
    if node_x == node_y:
        raise ConfigError.at("node_y", f"{node_y!r} twice; a link needs two different nodes")
    storage_us = check("storage_us", storage_us, NonNegative)
    server = network.server
    scale = {"herald_transmission_scale": herald_transmission_scale}
    per_node: dict[str, float] = {}
    for suffix, node in (("x", x), ("y", y)):
        per_node[f"excitation_probability_{suffix}"] = node.excitation_probability
        per_node[f"herald_efficiency_{suffix}"] = herald_efficiency(node, server, **scale)
        per_node[f"herald_mode_overlap_{suffix}"] = herald_mode_overlap(node)
        per_node[f"read_efficiency_{suffix}"] = read_efficiency(node, storage_us=storage_us)
        per_node[f"probe_mean_photon_number_{suffix}"] = node.probe_mean_photon_number
        per_node[f"probe_mode_overlap_{suffix}"] = node.probe_mode_overlap
        per_node[f"local_noise_probability_{suffix}"] = local_noise_probability(node)
    try:
        return LinkParameters(
            **per_node,
            herald_noise_probability=herald_noise_probability((x, y), server, **scale),
            phase_noise_std_rad=phase_noise_std_rad(
                x, y, phase_residual_std_rad=phase_residual_std_rad, storage_us=storage_us
            ),
            repetition_rate_hz=repetition_rate_hz,
        )
    except ConfigError as error:  # a derived value: name what the user set
        raise ConfigError(
            f"link {node_x}-{node_y} of {network.name} at storage_us={storage_us:g}, "
            f"repetition_rate_hz={repetition_rate_hz!r}, herald_transmission_scale={herald_transmission_scale!r}: "
            f"{error}", field=error.field, detail=error.detail,
        ) from None


def round_trip_us(node: NodeHardware) -> float:
    """Node → server → node: 2 · L · delay per km (the herald's message back, µs)."""
    return fibre.round_trip_us(node.fibre_length_km, delay_us_per_km=node.fibre_delay_us_per_km)

