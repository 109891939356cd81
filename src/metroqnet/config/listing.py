"""Every value of a network with its provenance, as rows (``metroqnet preset show``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.provenance import Provenance


@dataclass(frozen=True)
class ValueRow:
    """One value: its key path (``nodes.*.FIELD`` when every node shares value and tag), the value and its tag."""

    key: str
    value: object
    source: str | None
    reason: str | None = None
    quote: str | None = None
    where: str | None = None
    reserved: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {name: value for name, value in dataclasses.asdict(self).items() if value is not None}


def _row(key: str, value: object, tag: Provenance | None) -> ValueRow:
    if tag is None:
        return ValueRow(key=key, value=value, source=None)
    return ValueRow(key=key, value=value, source=tag.source, reason=tag.reason, quote=tag.quote, where=tag.where,
                    reserved=tag.reserved)


def _same(a: tuple[object, Provenance | None], b: tuple[object, Provenance | None]) -> bool:
    """Equal values with equal tags (wherever in the file each was read from)."""
    if a[0] != b[0] or (a[1] is None) != (b[1] is None):
        return False
    return a[1] is None or dataclasses.replace(a[1], toml_key=None) == dataclasses.replace(b[1], toml_key=None)


def _from_topology(tag: Provenance | None) -> bool:
    """A node value derived from the topology (listed once, at its fibre)."""
    return tag is not None and tag.toml_key is not None and tag.toml_key.startswith("topology.")


def _topology_rows(network: NetworkHardware) -> list[ValueRow]:
    """The tagged values of a file's ``[topology]`` (an implicit star has none: its values are the nodes')."""
    rows: list[ValueRow] = []
    topology = network.topology
    if topology is None:
        return rows
    for server in topology.servers.values():
        owner = f"topology.servers.{server.name}"
        rows += [_row(f"{owner}.{f.name}", getattr(server, f.name), network.tag(owner, f.name))
                 for f in dataclasses.fields(server)
                 if f.name != "name" and network.tag(owner, f.name) is not None]
    for fibre in topology.fibres.values():
        owner = f"topology.fibres.{fibre.name}"
        tagged = [f for f in dataclasses.fields(fibre) if network.tag(owner, f.name) is not None]
        if tagged:
            rows.append(_row(f"{owner}.ends", list(fibre.ends), None))
        rows += [_row(f"{owner}.{f.name}", getattr(fibre, f.name), network.tag(owner, f.name)) for f in tagged]
    return rows


def value_rows(network: NetworkHardware) -> list[ValueRow]:
    """Every hardware, noise and loop value of ``network`` with its tag, in the order of a preset file.

    A node value derived from the topology is listed once, at its fibre (``topology.fibres.NAME.FIELD``).
    """
    rows: list[ValueRow] = []
    nodes = list(network.nodes.values())
    for field in dataclasses.fields(nodes[0]):
        if field.name == "name":
            continue
        listed = [(node, (getattr(node, field.name), network.tag(node.name, field.name))) for node in nodes]
        listed = [(node, value) for node, value in listed if not _from_topology(value[1])]
        values = [value for _, value in listed]
        if not values or all(value == field.default and tag is None for value, tag in values):
            continue  # derived from the topology, or an optional value no node sets (its default)
        if len(listed) == len(nodes) and all(_same(value, values[0]) for value in values):
            rows.append(_row(f"nodes.*.{field.name}", *values[0]))
        else:
            rows += [_row(f"nodes.{node.name}.{field.name}", *value) for node, value in listed]
    rows += _topology_rows(network)
    for owner, part in (("server", network.server), ("drift", network.drift)):
        rows += [_row(f"{owner}.{f.name}", getattr(part, f.name), network.tag(owner, f.name))
                 for f in dataclasses.fields(part)]
    for experiment in network.experiments.values():
        for field in dataclasses.fields(experiment):
            value = getattr(experiment, field.name)
            if field.name == "name" or value is None:
                continue
            tag = network.tag(experiment.name, field.name)
            rows.append(_row(f"experiments.{experiment.name}.{field.name}",
                             list(value) if isinstance(value, tuple) else value, tag))
    return rows
