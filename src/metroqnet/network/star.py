"""A star of N like nodes on one server, built from a network's node: for design studies and benchmarks.

A network architect planning a testbed asks what the server does with ten or a hundred nodes.
:func:`star_network` copies one node of a network (every hardware value but the name and the
fibre) to N nodes with the given fibre lengths, on one server with the network's server values;
the link experiments are kept without their node pairs (a run names its pairs). The
provenance tags are not carried: the nodes are the architect's, not the preset's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.topology import Topology


def star_network(
    network: NetworkHardware,
    lengths_km: Mapping[str, float] | Sequence[float],
    *,
    template: str | None = None,
    name: str | None = None,
    switch_outputs: int = 2,
) -> NetworkHardware:
    """N copies of ``network``'s node ``template`` (default: its first) with fibres ``lengths_km`` to one server.

    ``lengths_km`` maps node names to lengths, or is a sequence of lengths for ``node0``, ``node1``, ...;
    each fibre keeps the template's per-km values and polarization residual.
    """
    template_node = network.node(template if template is not None else next(iter(network.nodes)),
                                 field_name="template")
    if not isinstance(lengths_km, Mapping):
        lengths_km = {f"node{index}": length for index, length in enumerate(lengths_km)}
    if len(lengths_km) < 2:
        raise ConfigError.at("lengths_km", f"{len(lengths_km)} node(s); a star needs at least 2")
    nodes = {node: template_node.replace(name=node, fibre_length_km=length) for node, length in lengths_km.items()}
    topology = Topology.star(
        {node: hardware.fibre_length_km for node, hardware in nodes.items()},
        switch_outputs=switch_outputs,
        polarization_residual_deg=template_node.fibre_polarization_residual_deg,
    )
    experiments = {key: dataclasses.replace(experiment, nodes=None) for key, experiment in network.experiments.items()}
    return dataclasses.replace(
        network, name=name or f"{network.name}-star{len(nodes)}", nodes=nodes, topology=topology,
        experiments=experiments, provenance={}, published=None, calibration=None,
    )
