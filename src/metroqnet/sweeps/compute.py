"""What one sweep task computes: the ``[compute]`` table of a sweep file, parsed once, run per task.

A sweep file's ``[compute]`` table names a ``kind`` and its options; :func:`parse_compute_table`
turns it into a frozen, picklable, validated spec (one class per kind, so each kind refuses the
keys of the others), and :func:`compute_task` runs it on one task's network with the task's seed,
returning the flat result dict of the sweep conventions (``"<x>-<y>.<figure>"`` per link,
``"min.<figure>"``/``"max.<figure>"`` over the task's links, ``"<figure>_stderr"`` beside each
Monte Carlo figure). Kinds:

* ``exact``: the exact engine at a link experiment's settings (:mod:`metroqnet.sweeps.compute_exact`);
* ``simulate``: the Monte Carlo of each link, optionally until a standard error is reached
  (:mod:`metroqnet.sweeps.compute_monte_carlo`);
* ``network``: the server switching its pairs for ``hours`` (same module);
* ``loop``: the phase loop alone, its residual at the write (:mod:`metroqnet.sweeps.compute_exact`).

The specs live in :mod:`metroqnet.sweeps.compute_specs`. Every random stream of a task is a child
of the task's seed (:mod:`metroqnet.sweeps.compute_links` names the streams), so a task's result is
a function of (network, spec, seed) only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import seed_sequence
from metroqnet.config.validation import refuse_unknown_keys
from metroqnet.sweeps.compute_specs import (
    KINDS,
    ComputeSpec,
    ExactCompute,
    LoopCompute,
    NetworkCompute,
    SimulateCompute,
)

__all__ = [
    "ComputeSpec", "ExactCompute", "LoopCompute", "NetworkCompute", "SimulateCompute",
    "compute_table", "compute_task", "parse_compute_table",
]

#: Fields read from another key of the table: ``target_stderr = {figure = ..., value = ...}``.
_FIELD_PATHS = {"target_figure": "target_stderr.figure", "target_stderr": "target_stderr.value"}


def _table_keys(cls: type) -> set[str]:
    """The keys a kind's table may hold: its fields (the target's two as one table) and ``kind``."""
    return (set(cls.__pydantic_fields__) - {"target_figure"}) | {"kind"}  # type: ignore[attr-defined]


def _field_path(where: str, field: str) -> str:
    return f"{where}.{_FIELD_PATHS.get(field, field)}"


def parse_compute_table(table: Mapping, *, where: str = "compute") -> ComputeSpec:
    """The spec of a sweep file's ``[compute]`` table; refusals name ``where.key``, the value and what is allowed."""
    if not isinstance(table, Mapping):
        raise ConfigError.at(where, f"expected a table, got {table!r} ({type(table).__name__})")
    if "kind" not in table:
        raise ConfigError.at(f"{where}.kind", f"missing; allowed: {', '.join(KINDS)}")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError.at(f"{where}.kind", f"{kind!r} is not a kind; allowed: {', '.join(KINDS)}")
    cls = KINDS[kind]
    refuse_unknown_keys(where, table, _table_keys(cls))
    values: dict[str, Any] = {key: value for key, value in table.items() if key != "kind"}
    links = values.get("links")
    if links == "all":
        values["links"] = None
    elif "links" in values:
        if isinstance(links, str) or not isinstance(links, list | tuple):
            raise ConfigError.at(f"{where}.links", f"{links!r} is not allowed; allowed: \"all\" or a list of "
                                 "links \"x-y\" of two nodes")
        values["links"] = tuple(links)
    if "figures" in values:
        if isinstance(values["figures"], str) or not isinstance(values["figures"], list | tuple):
            raise ConfigError.at(f"{where}.figures", f"expected a list of figure names, got {values['figures']!r}")
        values["figures"] = tuple(values["figures"])
    if "target_stderr" in values:
        target = values.pop("target_stderr")
        if not isinstance(target, Mapping):
            raise ConfigError.at(f"{where}.target_stderr", f"expected a table {{figure = ..., value = ...}}, got "
                                 f"{target!r}")
        refuse_unknown_keys(f"{where}.target_stderr", target, ("figure", "value"))
        for key in ("figure", "value"):
            if key not in target:
                raise ConfigError.at(f"{where}.target_stderr.{key}", "missing (a value is required)")
        values["target_figure"], values["target_stderr"] = target["figure"], target["value"]
    try:
        return cls(**values)
    except ConfigError as error:
        if error.field is None:
            raise ConfigError(f"{where}: {error}") from None
        raise error.renamed(_field_path(where, error.field)) from None


def compute_table(compute: ComputeSpec) -> dict[str, object]:
    """The ``[compute]`` table of a spec (TOML/JSON-able; :func:`parse_compute_table` gives the spec back)."""
    out: dict[str, object] = {"kind": compute.kind}
    for name in compute.__pydantic_fields__:  # type: ignore[union-attr]
        value = getattr(compute, name)
        if name == "links":
            out[name] = "all" if value is None else list(value)
        elif name == "target_figure":
            if value is not None:
                out["target_stderr"] = {"figure": value, "value": compute.target_stderr}
        elif name == "target_stderr":
            continue
        elif value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def compute_task(compute: ComputeSpec, network: NetworkHardware, seed: np.random.SeedSequence) -> dict:
    """One task's flat result dict (module doc): deterministic given ``seed``, every stream a child of it."""
    from metroqnet.sweeps.compute_exact import exact_task, loop_task
    from metroqnet.sweeps.compute_monte_carlo import network_task, simulate_task

    runners = {ExactCompute: exact_task, SimulateCompute: simulate_task, NetworkCompute: network_task,
               LoopCompute: loop_task}
    runner = runners.get(type(compute))
    if runner is None:
        raise ConfigError.at("compute", f"expected a compute spec ({', '.join(KINDS)}), got {compute!r}")
    if not isinstance(network, NetworkHardware):
        raise ConfigError.at("network", f"expected NetworkHardware, got {network!r}")
    result = runner(compute, network, seed_sequence(seed))
    for key, value in result.items():  # no NaN or numpy scalar leaves a task: absent is None
        if isinstance(value, float) and not math.isfinite(value):
            result[key] = None
    return result


def check_on_network(compute: ComputeSpec, network: NetworkHardware, *, select: Any = None) -> None:
    """Refuse, before any task runs, a compute table's links or experiment the network does not have, and a
    ``[select]`` name (:class:`metroqnet.sweeps.select.Selection`) that is not among the results.

    A typo found only when every task fails would leave a store of no results under a sweep id the
    corrected file no longer has.
    """
    from metroqnet.sweeps.compute_links import link_experiment, task_links

    labels = [label for label, _ in task_links(compute.links, network)]
    if compute.kind in ("exact", "simulate") or (compute.kind == "network" and compute.experiment is not None):
        link_experiment(network, compute.experiment)
    elif compute.kind == "loop" and compute.experiment is not None:  # any declared experiment: its rate
        try:
            network.experiment(compute.experiment)
        except ConfigError as error:
            raise error.renamed("compute.experiment") from None
    if select is None:
        return
    figures = list(compute.figure_names)
    if compute.kind in ("simulate", "network"):  # the Monte Carlo kinds give each figure's error and trials
        figures += [*(f"{name}_stderr" for name in compute.figure_names), "trials"]
    if compute.kind == "simulate" and compute.target_figure is not None:
        figures.append("target_reached")
    owners = ["min", "max", *labels]
    named = [("select", select.objective),
             *((f"select.constraints[{index}]", c.name) for index, c in enumerate(select.constraints))]
    for field, name in named:
        owner, _, figure = name.rpartition(".")
        if owner not in owners or figure not in figures:
            raise ConfigError.at(field, f"{name!r} is not a result of this sweep; results are OWNER.FIGURE with "
                                 f"OWNER one of {', '.join(owners)} and FIGURE one of {', '.join(figures)}")
