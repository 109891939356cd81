"""What a changed parameter does: the values that differ from the preset and every exact figure before and after.

A reader who runs ``reproduce --out DIR --set KEY=VALUE`` wants to see, beside the whole
regenerated paper at the changed value, what the change moved: the exact engine's figure of every
link experiment and Table 1 link at the preset's values and at the changed ones, with the paper's
value and error for scale. The exact values carry no sampling noise, so a difference is the
change's own effect, not a different seed's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

from metroqnet.config.hardware import NetworkHardware
from metroqnet.experiments.hefei_link import reproduce_link_experiments


def _values(network: NetworkHardware) -> Iterator[tuple[str, object]]:
    """Every hardware value of ``network`` under its ``--set`` key path (one per node, not ``nodes.*``)."""
    for node in network.nodes.values():
        for field in dataclasses.fields(node):
            if field.name != "name":
                yield f"nodes.{node.name}.{field.name}", getattr(node, field.name)
    for owner, part in (("server", network.server), ("drift", network.drift)):
        for field in dataclasses.fields(part):
            yield f"{owner}.{field.name}", getattr(part, field.name)
    for name, fibre in network.topology.fibres.items():
        for field in dataclasses.fields(fibre):
            if field.name not in ("name", "ends"):
                yield f"topology.fibres.{name}.{field.name}", getattr(fibre, field.name)
    for name, experiment in network.experiments.items():
        for field in dataclasses.fields(experiment):
            if field.name != "name":
                yield f"experiments.{name}.{field.name}", getattr(experiment, field.name)


def parameter_changes(base: NetworkHardware, changed: NetworkHardware) -> list[dict[str, object]]:
    """Each value that differs between the two networks: key, the preset's value, the changed one, its tag."""
    before = dict(_values(base))
    rows = []
    for key, value in _values(changed):
        if key in before and before[key] != value:
            owner, _, field = key.rpartition(".")
            part = owner.split(".")[-1] if owner.startswith(("nodes.", "experiments.")) else owner
            tag = changed.tag(part, field) if owner.split(".")[0] in ("nodes", "server", "drift") else None
            rows.append({"key": key, "preset": before[key], "changed": value,
                         "source": None if tag is None else tag.source})
    return rows


def figure_changes(base: NetworkHardware, changed: NetworkHardware) -> list[dict[str, object]]:
    """Every exact figure of the link experiments and Table 1 at the preset's values and at the changed ones.

    ``shift_paper_sigma`` is the change in units of the paper's error, where the paper gives one:
    how much the change moves the figure on the scale the paper could resolve.
    """
    before = {(row.experiment, row.figure): row for row in reproduce_link_experiments(base)}
    rows = []
    for row in reproduce_link_experiments(changed):
        old = before.get((row.experiment, row.figure))
        if old is None:
            continue
        shift = row.model - old.model
        rows.append({
            "experiment": row.experiment, "figure": row.figure, "preset": old.model, "changed": row.model,
            "difference": shift, "relative": shift / old.model if old.model else math.nan,
            "paper": row.paper, "paper_error": row.paper_error,
            "shift_paper_sigma": shift / row.paper_error if row.paper_error else None,
        })
    return rows
