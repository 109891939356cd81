"""The network's topology as data: servers, fibres, and each node's herald path to its server.

Frozen, validated records (:func:`metroqnet.config.validation.parameters`):

* :class:`Server`: a photonic server, its optical switch's ``switch_outputs`` (at least 2: the two
  arms of the interferometer a link needs) and, optionally, ``switch_inputs`` (at least the number
  of nodes attached to it);
* :class:`Fibre`: a fibre between two endpoints (nodes or servers), its ``length_km``, optional
  per-fibre ``attenuation_db_per_km`` and ``delay_us_per_km`` (when not given, the node's own
  ``fibre_*`` value applies on that section), and the ``polarization_residual_deg`` (rms) that the
  polarization compensation leaves on it;
* :class:`Topology`: the nodes' names, the servers and the fibres.

A node's **herald path** is its shortest path (by length) to a server along fibres, possibly
through other nodes' sites (node–node fibres), never through another server. Each node must reach
exactly one server: the model has one server per link, so a node reachable from two servers is
refused. Along a path (:class:`HeraldPath`) lengths, losses and delays add (the effective per-km
values are length-weighted means) and the polarization residuals, independent misalignments, add
in quadrature.

Every refusal is one :class:`ConfigError` line naming the field (``fibres.NAME.ends``,
``servers.NAME.switch_inputs``, ...), the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import Name, NonNegative, Positive, parameters

#: Switch outputs a link needs: the two arms of the server's interferometer.
LINK_OUTPUTS = 2
#: The implicit star's server (a file without a ``[topology]`` section).
DEFAULT_SERVER = "server"


@parameters
class Server:
    """A photonic server: its switch's ``switch_outputs`` (>= 2) and optional ``switch_inputs``."""

    name: Name
    switch_outputs: int
    switch_inputs: int | None = None

    def __post_init__(self) -> None:
        if self.switch_outputs < LINK_OUTPUTS:
            raise ConfigError.at(
                "switch_outputs", f"{self.switch_outputs!r} is fewer outputs than a link needs; allowed: >= "
                f"{LINK_OUTPUTS} (the two arms of the server's interferometer)",
            )
        if self.switch_inputs is not None and self.switch_inputs < 1:
            raise ConfigError.at("switch_inputs", f"{self.switch_inputs!r} inputs; allowed: >= 1 (and at least the "
                                 "nodes attached to the server)")


@parameters
class Fibre:
    """A fibre between two endpoints: ``length_km``, optional per-km overrides, its polarization residual."""

    name: Name
    ends: tuple[Name, Name]
    length_km: NonNegative
    attenuation_db_per_km: NonNegative | None = None
    delay_us_per_km: Positive | None = None
    polarization_residual_deg: NonNegative = 0.0

    def __post_init__(self) -> None:
        if self.ends[0] == self.ends[1]:
            raise ConfigError.at("ends", f"{list(self.ends)!r} joins {self.ends[0]!r} to itself; allowed: two "
                                 "different endpoints (nodes or servers)")


def _length_weighted(sections: Sequence[tuple[float, float]], fallback: float) -> float:
    """Σ value·L / Σ L over (length, value) sections; one section: its value; zero length: ``fallback``."""
    if len(sections) == 1:
        return sections[0][1]
    total_km = math.fsum(length for length, _ in sections)
    if total_km == 0.0:
        return fallback
    return math.fsum(length * value for length, value in sections) / total_km


@dataclasses.dataclass(frozen=True)
class HeraldPath:
    """A node's path to its server: the fibres in order from the node, with the values they add up to."""

    node: str
    server: str
    fibres: tuple[Fibre, ...]

    @property
    def length_km(self) -> float:
        """Σ L_i."""
        return math.fsum(fibre.length_km for fibre in self.fibres)

    @property
    def polarization_residual_deg(self) -> float:
        """√(Σ ε_i²): independent misalignments of the sections add in quadrature."""
        return math.hypot(*(fibre.polarization_residual_deg for fibre in self.fibres))

    def attenuation_db_per_km(self, default: float) -> float:
        """Σ α_i L_i / Σ L_i, α_i the fibre's own value or ``default`` (the node's) where it has none."""
        return _length_weighted([(f.length_km, default if f.attenuation_db_per_km is None else f.attenuation_db_per_km)
                                 for f in self.fibres], default)

    def delay_us_per_km(self, default: float) -> float:
        """Σ d_i L_i / Σ L_i, d_i the fibre's own value or ``default`` (the node's) where it has none."""
        return _length_weighted([(f.length_km, default if f.delay_us_per_km is None else f.delay_us_per_km)
                                 for f in self.fibres], default)

    def overrides(self, field: str) -> bool:
        """Whether any fibre of the path sets its own ``field`` (``attenuation_db_per_km``, ``delay_us_per_km``)."""
        return any(getattr(fibre, field) is not None for fibre in self.fibres)


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Topology:
    """The nodes (names), servers and fibres of a network, with every node's herald path (module doc).

    Refused (one line naming the field): a fibre to an unknown endpoint, a node with no path to a
    server, a node reachable from two servers, a name used twice (among nodes, servers and
    fibres), a switch with fewer outputs than a link needs or fewer inputs than its nodes, and the
    fibres' own refusals (negative length or loss, non-positive delay, both ends the same).
    """

    nodes: tuple[str, ...]
    servers: Mapping[str, Server]
    fibres: Mapping[str, Fibre]
    _paths: Mapping[str, HeraldPath] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        object.__setattr__(self, "nodes", nodes)
        for field, records, kind in (("servers", self.servers, Server), ("fibres", self.fibres, Fibre)):
            if not isinstance(records, Mapping):
                raise ConfigError.at(field, f"expected a mapping of name -> {kind.__name__}, got {records!r}")
            for key, record in records.items():
                if not isinstance(record, kind) or record.name != key:
                    raise ConfigError.at(f"{field}.{key}", f"expected a {kind.__name__} named {key!r}, got {record!r}")
        if not self.servers:
            raise ConfigError.at("servers", "none given; a network needs at least one server")
        self._check_names(nodes)
        endpoints = {*nodes, *self.servers}
        for fibre in self.fibres.values():
            for end in fibre.ends:
                if end not in endpoints:
                    raise ConfigError.at(
                        f"fibres.{fibre.name}.ends", f"{end!r} is not a node or a server; allowed: nodes "
                        f"{', '.join(nodes) or '(none)'}, servers {', '.join(self.servers)}",
                    )
        paths = {node: self._herald_path(node) for node in nodes}
        object.__setattr__(self, "servers", _frozen(self.servers))
        object.__setattr__(self, "fibres", _frozen(self.fibres))
        object.__setattr__(self, "_paths", _frozen(paths))
        for server in self.servers.values():
            attached = self.nodes_of(server.name)
            if server.switch_inputs is not None and server.switch_inputs < len(attached):
                raise ConfigError.at(
                    f"servers.{server.name}.switch_inputs",
                    f"{server.switch_inputs} is fewer inputs than the {len(attached)} nodes attached to it "
                    f"({', '.join(attached)}); allowed: >= {len(attached)}",
                )

    def _check_names(self, nodes: tuple[str, ...]) -> None:
        seen: dict[str, str] = {}
        named = itertools.chain((("nodes", n) for n in nodes), (("servers", s) for s in self.servers),
                                (("fibres", f) for f in self.fibres))
        for kind, name in named:
            if name in seen:
                raise ConfigError.at(
                    f"{kind}.{name}", f"name {name!r} is also used by {seen[name]}; allowed: a name used once "
                    "among nodes, servers and fibres",
                )
            seen[name] = f"a {kind[:-1]}" if kind != "nodes" else "a node"

    def _herald_path(self, node: str) -> HeraldPath:
        """Dijkstra from ``node`` over the fibres; servers end a path (no route runs through a server)."""
        adjacent: dict[str, list[tuple[str, Fibre]]] = {}
        for fibre in self.fibres.values():
            a, b = fibre.ends
            adjacent.setdefault(a, []).append((b, fibre))
            adjacent.setdefault(b, []).append((a, fibre))
        best: dict[str, float] = {node: 0.0}
        via: dict[str, tuple[str, Fibre]] = {}
        order = itertools.count()  # ties: the fibre met first (file order) wins, so paths are deterministic
        queue: list[tuple[float, int, str]] = [(0.0, next(order), node)]
        done: set[str] = set()
        while queue:
            distance, _, here = heapq.heappop(queue)
            if here in done:
                continue
            done.add(here)
            if here in self.servers:
                continue
            for there, fibre in adjacent.get(here, ()):
                candidate = distance + fibre.length_km
                if there not in best or candidate < best[there]:
                    best[there], via[there] = candidate, (here, fibre)
                    heapq.heappush(queue, (candidate, next(order), there))
        reached = [server for server in self.servers if server in best]
        if not reached:
            raise ConfigError.at(
                "fibres", f"node {node!r} has no fibre path to a server ({', '.join(self.servers)}); allowed: every "
                "node reaches one server, directly or through other nodes",
            )
        if len(reached) > 1:
            found = ", ".join(f"{server!r} at {best[server]:g} km" for server in reached)
            raise ConfigError.at(
                "fibres", f"node {node!r} reaches {len(reached)} servers ({found}); allowed: one server per node "
                "(the model links two nodes through one server)",
            )
        server = reached[0]
        fibres: list[Fibre] = []
        here = server
        while here != node:
            here, fibre = via[here]
            fibres.append(fibre)
        return HeraldPath(node=node, server=server, fibres=tuple(reversed(fibres)))

    # --- queries ---------------------------------------------------------------------------------

    def _node(self, node: str) -> str:
        if node not in self._paths:
            raise ConfigError.at("node", f"{node!r} is not a node of this topology; nodes are {', '.join(self.nodes)}")
        return node

    def path(self, node: str) -> HeraldPath:
        """The node's herald path to its server."""
        return self._paths[self._node(node)]

    def server_of(self, node: str) -> str:
        """The server the node is attached to."""
        return self.path(node).server

    def nodes_of(self, server: str) -> tuple[str, ...]:
        """The nodes attached to ``server``, in node order."""
        if server not in self.servers:
            raise ConfigError.at("server", f"{server!r} is not a server; servers are {', '.join(self.servers)}")
        return tuple(node for node in self.nodes if self._paths[node].server == server)

    def pairs(self, server: str | None = None) -> tuple[tuple[str, str], ...]:
        """The node pairs that can be linked (both on one server): of ``server``, or of every server."""
        servers = list(self.servers) if server is None else [server]
        return tuple(pair for name in servers for pair in itertools.combinations(self.nodes_of(name), 2))

    # --- builders --------------------------------------------------------------------------------

    @classmethod
    def star(
        cls,
        lengths_km: Mapping[str, float] | Sequence[float],
        *,
        server: str = DEFAULT_SERVER,
        switch_outputs: int = LINK_OUTPUTS,
        switch_inputs: int | None = None,
        polarization_residual_deg: Mapping[str, float] | float = 0.0,
    ) -> Topology:
        """N nodes on one server, one fibre each (named ``NODE-SERVER``).

        ``lengths_km`` maps node names to fibre lengths, or is a sequence of lengths for nodes
        ``node0``, ``node1``, ... (benchmarks). ``polarization_residual_deg``: one value for every
        fibre or a value per node.
        """
        if not isinstance(lengths_km, Mapping):
            lengths_km = {f"node{index}": length for index, length in enumerate(lengths_km)}
        residuals = (polarization_residual_deg if isinstance(polarization_residual_deg, Mapping)
                     else dict.fromkeys(lengths_km, polarization_residual_deg))
        fibres = {}
        for node, length in lengths_km.items():
            name = f"{node}-{server}"
            fibres[name] = Fibre(name=name, ends=(node, server), length_km=length,
                                 polarization_residual_deg=residuals.get(node, 0.0))
        servers = {server: Server(name=server, switch_outputs=switch_outputs, switch_inputs=switch_inputs)}
        return cls(nodes=tuple(lengths_km), servers=servers, fibres=fibres)

    def fibre_names(self, nodes: Iterable[str]) -> tuple[str, ...]:
        """The fibres of the given nodes' herald paths, each once, in path order."""
        names: dict[str, None] = {}
        for node in nodes:
            names.update(dict.fromkeys(fibre.name for fibre in self.path(node).fibres))
        return tuple(names)
