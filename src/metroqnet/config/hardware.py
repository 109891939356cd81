"""Hardware parameters of a network: nodes, the server, the reference cavities' drift, declared experiments.

Frozen, keyword-only and validated at construction (:func:`metroqnet.config.validation.parameters`);
units live in the names. Every number here comes from a preset, where it carries
its provenance tag: no hardware value is written in code.

These are *hardware* values (χ, km, dB, Hz, ns). The link parameters of
``docs/link_model.md`` are computed from them by
:func:`metroqnet.physics.mapping.link_parameters`, the noise processes and the
loop settings by :mod:`metroqnet.physics.noise_mapping` and
:func:`metroqnet.control.phase_loop.loop_settings`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import field
from types import MappingProxyType
from typing import Literal, get_args

from metroqnet.config.errors import ConfigError
from metroqnet.config.provenance import Provenance
from metroqnet.config.priors import CalibrationPriors
from metroqnet.config.published import PublishedFigures
from metroqnet.config.topology import Topology
from metroqnet.config.units import ABSOLUTE_ZERO_C, MS_PER_S
from metroqnet.config.validation import (
    Efficiency,
    ExcitationProbability,
    Name,
    NonNegative,
    Number,
    Positive,
    Probability,
    Rounds,
    bounded,
    parameters,
)

#: The memory's decay exp(-(t/τ)^β): β = 1 exponential, β = 2 Gaussian (motional dephasing of a
#: cold ensemble), anything between a stretched mix of the two; τ is the 1/e time for every β.
MemoryDecayExponent = bounded(ge=1.0, le=2.0)

ExperimentKind = Literal["link", "stabilization"]
#: "link": a heralded-entanglement run of a node pair at a storage time;
#: "stabilization": a run of the phase loop and frequency calibration (the paper's Fig. 2).
EXPERIMENT_KINDS: tuple[str, ...] = get_args(ExperimentKind)

#: Owner names of the server's and the drift's values in :attr:`NetworkHardware.provenance`.
SERVER_OWNER = "server"
DRIFT_OWNER = "drift"
RESERVED_OWNERS = (SERVER_OWNER, DRIFT_OWNER)



@parameters
class NodeHardware:
    """One quantum-memory node and its fibre to the server.

    Fields (units in names): ``excitation_probability`` χ = P(n >= 1) of the
    DLCZ write; ``writeout_collection_efficiency`` write-out photon into the
    QFC input fibre; ``qfc_efficiency`` end to end (conversion, filtering,
    coupling); ``qfc_noise_rate_hz`` noise photons at the QFC output inside the
    write-out filter; ``fibre_*`` the node-to-server fibre at the converted
    wavelength (loss, delay, and its phase noise per km: thermal wander rate and
    correlation time, acoustic variance and correlation time) and ``fibre_polarization_residual_deg``
    the rms misalignment the polarization compensation leaves between the node's write-out photon and
    the server's reference axis (0: ideal; :mod:`metroqnet.physics.polarization`); with a topology these
    are derived from the node's herald path (:mod:`metroqnet.config.topology`); ``writeout_mode_overlap``
    fraction of the write-out intensity in the mode common to all nodes at the
    server (indistinguishability); ``retrieval_efficiency_zero_storage`` and
    ``memory_lifetime_us`` (1/e time) with ``memory_decay_exponent`` β of
    exp(-(t/τ)^β) (1 exponential, 2 Gaussian); ``spin_wave_detuning_rms_hz`` the rms,
    trial to trial, of the stored spin wave's precession against the node's RF (OPLL
    offset) reference (``docs/storage_phase.md``); ``read_path_transmission`` and ``local_detector_efficiency``
    from the memory to the local detectors; ``local_dark_count_rate_hz`` per
    detector in ``read_window_ns``; ``probe_mean_photon_number`` EP photons
    counted as detected; ``probe_mode_overlap`` EP intensity in the read-out's
    mode; ``readout_duration_rms_ns`` the rms duration of the read-out's intensity profile (and the
    EP pulse's, the same profile), read only by the Hong–Ou–Mandel experiment
    (:mod:`metroqnet.physics.hom`; not given = None: that experiment refuses the node); ``laser_*`` the node's write laser and ``pump_laser_*`` its QFC pump laser
    (:mod:`metroqnet.physics.laser_phase`): ``laser_coherence_time_ms`` where a laser's field
    coherence falls to 1/e, for every laser of the node (all are locked to its reference cavity), unless
    ``pump_laser_coherence_time_ms`` is given (not given = None: the pump's is the node's
    ``laser_coherence_time_ms``, :attr:`pump_coherence_time_ms`), ``*_white_linewidth_hz`` the
    Lorentzian FWHM of its white frequency floor (at most 1/(π τ_c) of that laser's coherence time),
    ``*_technical_correlation_ms`` the correlation time of its technical frequency noise, whose rms
    makes up the rest of the coherence loss.
    """

    name: Name
    excitation_probability: ExcitationProbability
    writeout_collection_efficiency: Efficiency
    qfc_efficiency: Efficiency
    qfc_noise_rate_hz: NonNegative
    fibre_length_km: NonNegative
    fibre_attenuation_db_per_km: NonNegative
    fibre_delay_us_per_km: Positive
    fibre_thermal_rate_rad_per_s_per_km: NonNegative
    fibre_thermal_correlation_s: Positive
    fibre_acoustic_variance_rad2_per_km: NonNegative
    fibre_acoustic_correlation_us: Positive
    fibre_polarization_residual_deg: NonNegative = 0.0
    writeout_mode_overlap: Probability
    retrieval_efficiency_zero_storage: Efficiency
    memory_lifetime_us: Positive
    memory_decay_exponent: MemoryDecayExponent  # type: ignore[valid-type]
    spin_wave_detuning_rms_hz: NonNegative
    read_path_transmission: Efficiency
    local_detector_efficiency: Efficiency
    local_dark_count_rate_hz: NonNegative
    read_window_ns: Positive
    probe_mean_photon_number: NonNegative
    probe_mode_overlap: Probability
    readout_duration_rms_ns: Positive | None = None
    laser_coherence_time_ms: Positive
    laser_white_linewidth_hz: NonNegative
    laser_technical_correlation_ms: Positive
    pump_laser_white_linewidth_hz: NonNegative
    pump_laser_technical_correlation_ms: Positive
    pump_laser_coherence_time_ms: Positive | None = None

    @property
    def pump_coherence_time_ms(self) -> float:
        """The pump laser's coherence time: its own if given, else the node's ``laser_coherence_time_ms``."""
        own = self.pump_laser_coherence_time_ms
        return self.laser_coherence_time_ms if own is None else own

    def __post_init__(self) -> None:
        lasers = (("laser", self.laser_coherence_time_ms), ("pump_laser", self.pump_coherence_time_ms))
        for laser, coherence_ms in lasers:
            white_hz = getattr(self, f"{laser}_white_linewidth_hz")
            largest_hz = MS_PER_S / (math.pi * coherence_ms)  # the white floor alone reaching 1/e at τ_c
            if white_hz > largest_hz * (1.0 + 1e-12):
                raise ConfigError.at(
                    f"{laser}_white_linewidth_hz", f"{white_hz:g} Hz: a white floor that wide alone loses the "
                    f"coherence before its coherence time {coherence_ms:g} ms; allowed: <= 1/(pi tau_c) "
                    f"= {largest_hz:.6g} Hz"
                )

    def replace(self, **changes: object) -> NodeHardware:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@parameters
class ServerHardware:
    """The photonic server: switch, interferometer, SNSPDs, phase stabilization and frequency calibration.

    ``interferometer_transmission`` is one arm of the server's interferometer
    (after the switch, before the detectors); ``timeslot_s`` the time a switched
    pair is kept. The link's phase error at the write is not a value here: it is the
    loop's residual, computed by running the loop
    (:mod:`metroqnet.experiments.link_setup`). The loop:
    ``probe_rounds`` × [a phase probe of ``probe_photons_per_node`` photons per node at
    the beamsplitter lasting ``probe_duration_us``, feedback within
    ``feedback_latency_us``], then ``probe_gap_us`` before the write;
    ``probe_visibility`` of the two nodes' probe interference; the calibration
    estimates the frequency difference over ``calibration_window_s`` and moves the
    compensation by ``calibration_gain`` times the estimate.
    """

    switch_loss_db: NonNegative
    interferometer_transmission: Efficiency
    snspd_efficiency: Efficiency
    snspd_dark_count_rate_hz: NonNegative
    herald_window_ns: Positive
    timeslot_s: Positive
    probe_photons_per_node: NonNegative
    probe_duration_us: Positive
    feedback_latency_us: NonNegative
    probe_rounds: Rounds
    probe_gap_us: NonNegative
    probe_visibility: bounded(gt=0.0, le=1.0)  # type: ignore[valid-type]
    calibration_window_s: Positive
    calibration_gain: bounded(gt=0.0, le=2.0)  # type: ignore[valid-type]

    def replace(self, **changes: object) -> ServerHardware:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@parameters
class CavityDrift:
    """The relative frequency drift of the linked nodes' reference cavities, following a lab temperature.

    Δf(t) = coefficient_khz_per_k · (T(t) − T(0)) + aging_khz_per_day · t_days, with
    T a synthetic lab temperature: a daily cosine of ``temperature_amplitude_k``
    around ``temperature_mean_c`` over ``temperature_period_h``, warmest at
    ``temperature_peak_hour`` (the run starting at ``temperature_start_hour_of_day``),
    plus an Ornstein–Uhlenbeck wander of std ``temperature_wander_std_k`` and
    correlation time ``temperature_wander_correlation_h``, drawn every
    ``temperature_step_s`` (:mod:`metroqnet.physics.temperature`).
    """

    coefficient_khz_per_k: Number
    aging_khz_per_day: Number
    temperature_mean_c: bounded(gt=ABSOLUTE_ZERO_C)  # type: ignore[valid-type]
    temperature_amplitude_k: NonNegative
    temperature_period_h: Positive
    temperature_peak_hour: Number
    temperature_start_hour_of_day: Number
    temperature_wander_std_k: NonNegative
    temperature_wander_correlation_h: Positive
    temperature_step_s: Positive


@parameters
class Experiment:
    """A declared run: its kind, node pair, storage time, repetition rate and duration.

    A ``link`` experiment needs ``storage_us``; ``duration_h`` is the run's length
    where the paper gives it. ``herald_transmission_scale`` (link experiments only;
    not declared = 1) multiplies the herald path shared by a node's write-out photons
    and its QFC noise (QFC output → fibre → switch → arm → SNSPD), for a run whose
    herald path differed from the run the node values were estimated against.
    """

    name: Name
    kind: ExperimentKind = "link"
    repetition_rate_hz: Positive
    storage_us: NonNegative | None = None
    duration_h: Positive | None = None
    nodes: tuple[Name, Name] | None = None
    herald_transmission_scale: Positive | None = None

    def __post_init__(self) -> None:
        if self.kind == "link" and self.storage_us is None:
            raise ConfigError.at("storage_us", "missing (a link experiment needs its storage time)")
        if self.kind != "link" and self.herald_transmission_scale is not None:
            raise ConfigError.at(
                "herald_transmission_scale",
                f"{self.herald_transmission_scale!r} given to a {self.kind!r} experiment; only a 'link' experiment "
                "has a herald path to scale",
            )
        if self.nodes is not None and self.nodes[0] == self.nodes[1]:
            raise ConfigError.at("nodes", f"expected two different node names, got {list(self.nodes)!r}")


def _frozen_mapping(value: Mapping) -> Mapping:
    return MappingProxyType(dict(value))


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkHardware:
    """A whole network: named nodes, one server, the cavities' drift, declared experiments.

    ``provenance[(owner, field)]`` tags a value, where ``owner`` is a node name,
    ``"server"``, ``"drift"`` or an experiment name (these never collide: the
    constructor refuses it). ``published`` holds the paper's figures when the
    file has a ``[published]`` section, ``calibration`` the priors of a calibration when it
    has a ``[calibration]`` section (:mod:`metroqnet.config.priors`). Mappings are read-only.
    ``topology`` (:mod:`metroqnet.config.topology`) holds the servers, fibres and every node's
    herald path; not given, it is the implicit star: one server ``"server"`` with 2 switch outputs
    and one fibre ``NODE-server`` per node of the node's ``fibre_length_km`` and
    ``fibre_polarization_residual_deg``. Its node names must be the network's. The nodes hold the
    values derived from their paths, which the physics reads.
    """

    name: str
    nodes: Mapping[str, NodeHardware]
    server: ServerHardware
    drift: CavityDrift
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    provenance: Mapping[tuple[str, str], Provenance] = field(default_factory=dict)
    published: PublishedFigures | None = None
    calibration: CalibrationPriors | None = None
    description: str | None = None
    topology: Topology | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError.at("name", f"expected the network's name as a non-empty string, got {self.name!r}")
        if not isinstance(self.nodes, Mapping) or len(self.nodes) < 2:
            raise ConfigError.at("nodes", f"a network needs at least two nodes, got {self.nodes!r}")
        for key, node in self.nodes.items():
            if not isinstance(node, NodeHardware) or node.name != key:
                raise ConfigError.at(f"nodes.{key}", f"expected NodeHardware named {key!r}, got {node!r}")
            if key in RESERVED_OWNERS:
                raise ConfigError.at("nodes", f"{key!r} is reserved ({', '.join(RESERVED_OWNERS)}); rename that node")
        if not isinstance(self.server, ServerHardware):
            raise ConfigError.at("server", f"expected ServerHardware, got {self.server!r}")
        if not isinstance(self.drift, CavityDrift):
            raise ConfigError.at("drift", f"expected CavityDrift, got {self.drift!r}")
        for key, experiment in self.experiments.items():
            if not isinstance(experiment, Experiment) or experiment.name != key:
                raise ConfigError.at(f"experiments.{key}", f"expected Experiment named {key!r}, got {experiment!r}")
            if key in self.nodes or key in RESERVED_OWNERS:
                raise ConfigError.at(f"experiments.{key}", "name collides with a node, the server or the drift; rename it")
            for node_name in experiment.nodes or ():
                if node_name not in self.nodes:
                    raise ConfigError.at(
                        f"experiments.{key}.nodes", f"{node_name!r} is not a node; nodes are {', '.join(self.nodes)}"
                    )
        if self.published is not None and not isinstance(self.published, PublishedFigures):
            raise ConfigError.at("published", f"expected PublishedFigures or None, got {self.published!r}")
        if self.calibration is not None and not isinstance(self.calibration, CalibrationPriors):
            raise ConfigError.at("calibration", f"expected CalibrationPriors or None, got {self.calibration!r}")
        for key, tag in self.provenance.items():
            if not isinstance(tag, Provenance) or not (isinstance(key, tuple) and len(key) == 2):
                raise ConfigError.at("provenance", f"expected (owner, field) -> Provenance, got {key!r}: {tag!r}")
        if self.topology is None:
            object.__setattr__(self, "topology", Topology.star(
                {key: node.fibre_length_km for key, node in self.nodes.items()},
                polarization_residual_deg={key: node.fibre_polarization_residual_deg for key, node in self.nodes.items()},
            ))
        elif not isinstance(self.topology, Topology):
            raise ConfigError.at("topology", f"expected Topology or None, got {self.topology!r}")
        elif set(self.topology.nodes) != set(self.nodes):
            raise ConfigError.at(
                "topology", f"its nodes {', '.join(self.topology.nodes)} are not the network's {', '.join(self.nodes)}"
            )
        object.__setattr__(self, "nodes", _frozen_mapping(self.nodes))
        object.__setattr__(self, "experiments", _frozen_mapping(self.experiments))
        object.__setattr__(self, "provenance", _frozen_mapping(self.provenance))

    def node(self, name: str, *, field_name: str = "node") -> NodeHardware:
        """The node called ``name``, or a refusal listing the nodes."""
        if name not in self.nodes:
            raise ConfigError.at(
                field_name, f"{name!r} is not a node of network {self.name!r}; nodes are {', '.join(self.nodes)}"
            )
        return self.nodes[name]

    def experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, or a refusal listing the experiments."""
        if name not in self.experiments:
            raise ConfigError.at(
                "experiment",
                f"{name!r} is not declared in network {self.name!r}; "
                f"experiments are {', '.join(self.experiments) or '(none)'}",
            )
        return self.experiments[name]

    def experiments_of_kind(self, kind: str) -> list[Experiment]:
        """The declared experiments of one kind, in file order."""
        return [experiment for experiment in self.experiments.values() if experiment.kind == kind]

    def tag(self, owner: str, field_name: str) -> Provenance | None:
        """The provenance tag of one value, if the network came from a file."""
        return self.provenance.get((owner, field_name))
