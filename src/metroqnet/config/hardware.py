"""Hardware parameters of a network: nodes, the server, declared experiments.

Frozen, keyword-only and validated at construction; units live in the names.
Each numeric field has one check in :data:`NODE_FIELD_CHECKS` /
:data:`SERVER_FIELD_CHECKS` / :data:`EXPERIMENT_FIELD_CHECKS`; the TOML loader
runs the same checks with the file's key path as the name, so a refusal names
``nodes.alice.fibre_length_km`` rather than a Python field.

These are *hardware* values (χ, km, dB, Hz, ns). The SPEC §2 link parameters
are computed from them by :func:`metroqnet.physics.mapping.link_parameters`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from metroqnet.config.errors import ConfigError
from metroqnet.config.provenance import Provenance
from metroqnet.config.published import PublishedFigures
from metroqnet.config.validation import (
    require_efficiency,
    require_non_negative,
    require_positive,
    require_probability,
    require_range,
)

#: Memory decay laws: "gaussian" exp(-(t/τ)²) (motional dephasing of a cold
#: ensemble), "exponential" exp(-t/τ). τ is the 1/e time in both.
MEMORY_DECAY_MODELS: tuple[str, ...] = ("gaussian", "exponential")

#: Owner name of server values in :attr:`NetworkHardware.provenance`.
SERVER_OWNER = "server"

Check = Callable[[str, object], object]


def require_excitation_probability(name: str, value: object) -> float:
    """χ = P(n >= 1) of a two-mode squeezed vacuum: [0, 1)."""
    return require_range(name, value, low=0.0, high=1.0, high_open=True)


def require_memory_decay(name: str, value: object) -> str:
    """One of :data:`MEMORY_DECAY_MODELS`."""
    if not isinstance(value, str) or value not in MEMORY_DECAY_MODELS:
        raise ConfigError(
            f"{name}: {value!r} is not a memory decay law; allowed: {', '.join(map(repr, MEMORY_DECAY_MODELS))}"
        )
    return value


def require_name(name: str, value: object) -> str:
    """A non-empty string without surrounding blanks."""
    if not isinstance(value, str) or not value or value.strip() != value:
        raise ConfigError(f"{name}: expected a non-empty name without surrounding blanks, got {value!r}")
    return value


NODE_FIELD_CHECKS: dict[str, Check] = {
    "excitation_probability": require_excitation_probability,
    "writeout_collection_efficiency": require_efficiency,
    "qfc_efficiency": require_efficiency,
    "qfc_noise_rate_hz": require_non_negative,
    "fibre_length_km": require_non_negative,
    "fibre_attenuation_db_per_km": require_non_negative,
    "fibre_delay_us_per_km": require_positive,
    "writeout_mode_overlap": require_probability,
    "retrieval_efficiency_zero_storage": require_efficiency,
    "memory_lifetime_us": require_positive,
    "memory_decay": require_memory_decay,
    "read_path_transmission": require_efficiency,
    "local_detector_efficiency": require_efficiency,
    "local_dark_count_rate_hz": require_non_negative,
    "read_window_ns": require_positive,
    "probe_mean_photon_number": require_non_negative,
    "probe_mode_overlap": require_probability,
}

SERVER_FIELD_CHECKS: dict[str, Check] = {
    "switch_loss_db": require_non_negative,
    "interferometer_transmission": require_efficiency,
    "snspd_efficiency": require_efficiency,
    "snspd_dark_count_rate_hz": require_non_negative,
    "herald_window_ns": require_positive,
    "phase_residual_std_deg": require_non_negative,
    "frequency_offset_rms_khz": require_non_negative,
    "timeslot_s": require_positive,
}

EXPERIMENT_FIELD_CHECKS: dict[str, Check] = {
    "storage_us": require_non_negative,
    "repetition_rate_hz": require_positive,
}


def _run_checks(obj: object, checks: Mapping[str, Check]) -> None:
    for name, check in checks.items():
        object.__setattr__(obj, name, check(name, getattr(obj, name)))


@dataclass(frozen=True, kw_only=True)
class NodeHardware:
    """One quantum-memory node and its fibre to the server.

    Fields (units in names): ``excitation_probability`` χ = P(n >= 1) of the
    DLCZ write; ``writeout_collection_efficiency`` write-out photon into the
    QFC input fibre; ``qfc_efficiency`` end to end (conversion, filtering,
    coupling); ``qfc_noise_rate_hz`` noise photons at the QFC output inside the
    write-out filter; ``fibre_*`` the node-to-server fibre at the converted
    wavelength; ``writeout_mode_overlap`` fraction of the write-out intensity in
    the mode common to all nodes at the server (indistinguishability);
    ``retrieval_efficiency_zero_storage`` and ``memory_lifetime_us`` (1/e time)
    with ``memory_decay`` ("gaussian" or "exponential"); ``read_path_transmission``
    and ``local_detector_efficiency`` from the memory to the local detectors;
    ``local_dark_count_rate_hz`` per detector in ``read_window_ns``;
    ``probe_mean_photon_number`` EP photons counted as detected;
    ``probe_mode_overlap`` EP intensity in the read-out's mode.
    """

    name: str
    excitation_probability: float
    writeout_collection_efficiency: float
    qfc_efficiency: float
    qfc_noise_rate_hz: float
    fibre_length_km: float
    fibre_attenuation_db_per_km: float
    fibre_delay_us_per_km: float = 5.0
    writeout_mode_overlap: float = 1.0
    retrieval_efficiency_zero_storage: float
    memory_lifetime_us: float
    memory_decay: str = "gaussian"
    read_path_transmission: float
    local_detector_efficiency: float
    local_dark_count_rate_hz: float
    read_window_ns: float
    probe_mean_photon_number: float
    probe_mode_overlap: float = 1.0

    def __post_init__(self) -> None:
        require_name("name", self.name)
        _run_checks(self, NODE_FIELD_CHECKS)

    def replace(self, **changes: object) -> NodeHardware:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class ServerHardware:
    """The photonic server: switch, interferometer, SNSPDs, phase and frequency control.

    ``interferometer_transmission`` is one arm of the server's interferometer
    (after the switch, before the detectors); ``phase_residual_std_deg`` the
    Gaussian residual of the phase stabilization; ``frequency_offset_rms_khz``
    the rms residual frequency offset between nodes after calibration;
    ``timeslot_s`` the time a switched pair is kept.
    """

    switch_loss_db: float
    interferometer_transmission: float
    snspd_efficiency: float
    snspd_dark_count_rate_hz: float
    herald_window_ns: float
    phase_residual_std_deg: float
    frequency_offset_rms_khz: float
    timeslot_s: float

    def __post_init__(self) -> None:
        _run_checks(self, SERVER_FIELD_CHECKS)

    def replace(self, **changes: object) -> ServerHardware:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def require_node_pair(name: str, value: object) -> tuple[str, str] | None:
    """None, or two different node names."""
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, str) and v for v in value)
        or value[0] == value[1]
    ):
        raise ConfigError(f"{name}: expected two different node names, got {value!r}")
    return (value[0], value[1])


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """A declared run: storage time, repetition rate and (optionally) the linked pair."""

    name: str
    storage_us: float
    repetition_rate_hz: float
    nodes: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        require_name("name", self.name)
        _run_checks(self, EXPERIMENT_FIELD_CHECKS)
        object.__setattr__(self, "nodes", require_node_pair("nodes", self.nodes))


def _frozen_mapping(value: Mapping) -> Mapping:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, kw_only=True)
class NetworkHardware:
    """A whole network: named nodes, one server, declared experiments.

    ``provenance[(owner, field)]`` tags a value, where ``owner`` is a node
    name, ``"server"`` or an experiment name (these never collide: the
    constructor refuses it). ``published`` holds the paper's figures when the
    file has a ``[published]`` section. Mappings are read-only.
    """

    name: str
    nodes: Mapping[str, NodeHardware]
    server: ServerHardware
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    provenance: Mapping[tuple[str, str], Provenance] = field(default_factory=dict)
    published: PublishedFigures | None = None

    def __post_init__(self) -> None:
        require_name("name", self.name)
        if not isinstance(self.nodes, Mapping) or len(self.nodes) < 2:
            raise ConfigError(f"nodes: a network needs at least two nodes, got {self.nodes!r}")
        for key, node in self.nodes.items():
            if not isinstance(node, NodeHardware) or node.name != key:
                raise ConfigError(f"nodes.{key}: expected NodeHardware named {key!r}, got {node!r}")
        if SERVER_OWNER in self.nodes:
            raise ConfigError(f"nodes: {SERVER_OWNER!r} is reserved for the server; rename that node")
        if not isinstance(self.server, ServerHardware):
            raise ConfigError(f"server: expected ServerHardware, got {self.server!r}")
        for key, experiment in self.experiments.items():
            if not isinstance(experiment, Experiment) or experiment.name != key:
                raise ConfigError(f"experiments.{key}: expected Experiment named {key!r}, got {experiment!r}")
            if key in self.nodes or key == SERVER_OWNER:
                raise ConfigError(f"experiments.{key}: name collides with a node or the server; rename it")
            for node_name in experiment.nodes or ():
                if node_name not in self.nodes:
                    raise ConfigError(
                        f"experiments.{key}.nodes: {node_name!r} is not a node; nodes are {', '.join(self.nodes)}"
                    )
        if self.published is not None and not isinstance(self.published, PublishedFigures):
            raise ConfigError(f"published: expected PublishedFigures or None, got {self.published!r}")
        for key, tag in self.provenance.items():
            if not isinstance(tag, Provenance) or not (isinstance(key, tuple) and len(key) == 2):
                raise ConfigError(f"provenance: expected (owner, field) -> Provenance, got {key!r}: {tag!r}")
        object.__setattr__(self, "nodes", _frozen_mapping(self.nodes))
        object.__setattr__(self, "experiments", _frozen_mapping(self.experiments))
        object.__setattr__(self, "provenance", _frozen_mapping(self.provenance))

    def node(self, name: str, *, field_name: str = "node") -> NodeHardware:
        """The node called ``name``, or a refusal listing the nodes."""
        if name not in self.nodes:
            raise ConfigError(
                f"{field_name}: {name!r} is not a node of network {self.name!r}; nodes are {', '.join(self.nodes)}"
            )
        return self.nodes[name]

    def experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, or a refusal listing the experiments."""
        if name not in self.experiments:
            raise ConfigError(
                f"experiment: {name!r} is not declared in network {self.name!r}; "
                f"experiments are {', '.join(self.experiments) or '(none)'}"
            )
        return self.experiments[name]
