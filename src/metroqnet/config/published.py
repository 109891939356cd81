"""Published figures of a paper, kept beside the hardware so reports can print "paper" next to a result.

In a network TOML::

    [published]
    citation = "..."
    [published.experiments.storage_5us]
    heralding_probability = { value = 6.9e-4, where = "main text" }
    pme_fidelity_plus = { value = 0.672, error = 0.032, where = "Fig. 3e" }
    [published.links.alice-bob]
    nodes = ["alice", "bob"]
    concurrence_plus = { value = 0.086, error = 0.014, where = "Table 1" }
    [published.experiments.fig2]
    residual_phase_std_deg = { value = 17.0, error = 1.0, error_reason = "not printed; ...", where = "Fig. 2b" }
    [published.network]
    link_rate_share = { value = 0.333, quote = "roughly one-third", where = "..." }

``error`` is the one-standard-deviation error as printed (0.672(32) -> 0.032). Where the
paper prints none, an error may be stated with ``error_reason`` saying why that size
(an ``error_reason`` without an ``error`` is refused). Every figure is optional;
unknown keys are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import NonNegative, Number, parameters, refuse_unknown_keys


@parameters
class PublishedValue:
    """A number as printed in the paper, its one-sigma error if given, and where it is printed."""

    value: Number
    error: NonNegative | None = None
    where: str | None = None
    quote: str | None = None
    #: Set when the paper prints no error and ``error`` is ours: why that size.
    error_reason: str | None = None

    def __post_init__(self) -> None:
        if self.error_reason is not None and self.error is None:
            raise ConfigError.at("error_reason", "given without an error; state the error it explains")

    def __str__(self) -> str:
        return f"{self.value:g}" if self.error is None else f"{self.value:g} ± {self.error:g}"


@dataclass(frozen=True, kw_only=True)
class PublishedExperiment:
    """Figures of one declared experiment (heralding, noise, rates, PME fidelities; Fig. 2's residual phase).

    ``residual_phase_std_deg`` is the σ of the residual phase as the paper's *additional*
    probe reads it 5 µs after the feedback (Fig. 2b): the loop's residual at the write plus
    that probe's own shot noise, not the link's phase error itself.
    """

    name: str
    heralding_probability: PublishedValue | None = None
    herald_noise_fraction: PublishedValue | None = None
    entangling_rate_hz: PublishedValue | None = None
    pme_fidelity_plus: PublishedValue | None = None
    pme_fidelity_minus: PublishedValue | None = None
    pme_rate_hz: PublishedValue | None = None
    residual_phase_std_deg: PublishedValue | None = None
    #: An upper bound the paper states ("Δω ≤ 0.15 kHz over a span of 76 h"), not a measured value.
    max_frequency_offset_khz: PublishedValue | None = None


@dataclass(frozen=True, kw_only=True)
class PublishedNetwork:
    """Findings of the concurrent run that belong to no single experiment or link.

    ``link_rate_share``: each link's rate over the fixed link's ("roughly one-third");
    ``theta_delay_deg``: the delay between the Alice–Charlie and Bob–Charlie oscillations of the θ scan.
    """

    link_rate_share: PublishedValue | None = None
    theta_delay_deg: PublishedValue | None = None


@dataclass(frozen=True, kw_only=True)
class PublishedLink:
    """Concurrence C and atomic (loss-deducted) C̃ of one link, for each herald sign."""

    nodes: tuple[str, str]
    concurrence_plus: PublishedValue | None = None
    concurrence_minus: PublishedValue | None = None
    atomic_concurrence_plus: PublishedValue | None = None
    atomic_concurrence_minus: PublishedValue | None = None


@dataclass(frozen=True, kw_only=True)
class PublishedFigures:
    """All published figures of a network file: per experiment and per link."""

    citation: str
    experiments: Mapping[str, PublishedExperiment] = field(default_factory=dict)
    links: Mapping[str, PublishedLink] = field(default_factory=dict)
    network: PublishedNetwork = field(default_factory=PublishedNetwork)

    def __post_init__(self) -> None:
        object.__setattr__(self, "experiments", MappingProxyType(dict(self.experiments)))
        object.__setattr__(self, "links", MappingProxyType(dict(self.links)))

    def link(self, node_x: str, node_y: str) -> PublishedLink | None:
        """The published link between two nodes, in either order; None if not published."""
        wanted = {node_x, node_y}
        for link in self.links.values():
            if set(link.nodes) == wanted:
                return link
        return None


_VALUE_KEYS = frozenset({"value", "error", "where", "quote", "error_reason"})
_EXPERIMENT_FIGURES = frozenset(f.name for f in dataclasses.fields(PublishedExperiment)) - {"name"}
_LINK_FIGURES = frozenset(f.name for f in dataclasses.fields(PublishedLink)) - {"nodes"}
_NETWORK_FIGURES = frozenset(f.name for f in dataclasses.fields(PublishedNetwork))


def _table(key_path: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError.at(key_path, f"expected a table, got {value!r} ({type(value).__name__})")
    return value


def _published_value(key_path: str, entry: object) -> PublishedValue:
    table = _table(key_path, entry)
    refuse_unknown_keys(key_path, table, _VALUE_KEYS)
    try:
        return PublishedValue(**table)
    except ConfigError as error:
        raise error.renamed(f"{key_path}.{error.field}") from None


def published_from_table(
    table: object,
    *,
    key_path: str = "published",
    node_names: Collection[str],
    experiment_names: Collection[str],
) -> PublishedFigures:
    """Read a ``[published]`` table; experiments and link nodes must exist in the network."""
    table = _table(key_path, table)
    refuse_unknown_keys(key_path, table, {"citation", "experiments", "links", "network"})
    citation = table.get("citation")
    if not isinstance(citation, str) or not citation.strip():
        raise ConfigError(f"{key_path}.citation: expected a non-empty string, got {citation!r}")

    experiments: dict[str, PublishedExperiment] = {}
    for name, entry in _table(f"{key_path}.experiments", table.get("experiments", {})).items():
        where = f"{key_path}.experiments.{name}"
        if name not in experiment_names:
            raise ConfigError(
                f"{where}: {name!r} is not a declared experiment; experiments are "
                f"{', '.join(experiment_names) or '(none)'}"
            )
        entry = _table(where, entry)
        refuse_unknown_keys(where, entry, _EXPERIMENT_FIGURES)
        figures = {key: _published_value(f"{where}.{key}", value) for key, value in entry.items()}
        experiments[name] = PublishedExperiment(name=name, **figures)

    links: dict[str, PublishedLink] = {}
    for name, entry in _table(f"{key_path}.links", table.get("links", {})).items():
        where = f"{key_path}.links.{name}"
        entry = _table(where, entry)
        refuse_unknown_keys(where, entry, _LINK_FIGURES | {"nodes"})
        nodes = entry.get("nodes")
        if (
            not isinstance(nodes, list)
            or len(nodes) != 2
            or nodes[0] == nodes[1]
            or not all(isinstance(n, str) and n in node_names for n in nodes)
        ):
            raise ConfigError(
                f"{where}.nodes: expected two different node names from {', '.join(node_names)}, got {nodes!r}"
            )
        figures = {key: _published_value(f"{where}.{key}", v) for key, v in entry.items() if key != "nodes"}
        links[name] = PublishedLink(nodes=(nodes[0], nodes[1]), **figures)

    where = f"{key_path}.network"
    entry = _table(where, table.get("network", {}))
    refuse_unknown_keys(where, entry, _NETWORK_FIGURES)
    network = PublishedNetwork(**{key: _published_value(f"{where}.{key}", value) for key, value in entry.items()})
    return PublishedFigures(citation=citation, experiments=experiments, links=links, network=network)
