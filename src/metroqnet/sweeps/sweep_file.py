"""The sweep file: a declarative design study, read and checked before a single task runs.

Layout (TOML)::

    [sweep]
    name = "five-node-design"        # required, letters, digits, '_', '.', '-'
    description = "..."              # optional
    base = "hefei2024"               # a preset name, or a network TOML path relative to the sweep file
    seed = 2024                      # required, an integer >= 0
    combine = "cross"                # optional: "cross" (outer product, first [[vary]] slowest) or "zip"
    [sweep.star]                     # optional: N copies of one node of the base on its server
    template = "alice"
    lengths_km = { n1 = 8.0, n2 = 9.5 }
    [compute]                        # what each task computes (metroqnet.sweeps.compute)
    [[vary]]                         # one axis: key + one of values / linspace / logspace / range
    key = "nodes.*.excitation_probability"
    logspace = { start = 0.002, stop = 0.05, num = 8 }
    [[vary]]                         # a zipped group: the keys step together
    label = "layout"
    zip = { "nodes.n1.fibre_length_km" = [8, 5], "nodes.n2.fibre_length_km" = [9.5, 6] }
    [optimize]                       # optional (metroqnet.sweeps.optimize)

Key paths are those of ``--set`` (:func:`metroqnet.config.presets.apply_overrides`), and a task's
network is built exactly as ``--set`` builds it. Every key path is checked by applying it to the
base, and every value of every axis by building the network at it, so a typo or a value out of
range is refused here, in one line naming the file, the field (``vary[i]`` counts the ``[[vary]]``
tables from 0), the value and what is allowed, not in a worker hours later. Each axis is checked
on its own at the base's other values; a combination of values valid one by one but refused
together (a cross-field rule) is refused when its task runs. The key paths of ``[optimize.variables]``
are checked the same way, at both bounds.

``range`` includes ``stop`` when it lies on the grid (within 1e-9 steps). Generated values lose
their float noise (rounded to 12 significant digits when that moves a value by less than 1e-9 of
the grid's step), so ``range = {start = 0.1, stop = 0.3, step = 0.1}`` is ``0.1, 0.2, 0.3``, not
``0.30000000000000004`` at the end. ``logspace`` takes the end values themselves (not exponents).
"""

from __future__ import annotations

import copy
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.identity import strong_id
from metroqnet.config.presets import (
    Override,
    apply_overrides,
    available_presets,
    network_from_mapping,
    preset_text,
)
from metroqnet.config.topology import DEFAULT_SERVER
from metroqnet.config.topology_file import PATH_FIELDS, PER_KM_FIELDS
from metroqnet.config.validation import Count, Name, NonNegative, check, parameters, refuse_unknown_keys

__all__ = ["MAX_TASKS", "StarSpec", "SweepAxis", "SweepSpec", "load_sweep_file", "parse_sweep_text", "star_document"]

#: The largest grid a sweep file may declare.
MAX_TASKS = 10**6
TOP_LEVEL_KEYS = ("sweep", "compute", "vary", "optimize", "select")
SWEEP_KEYS = ("name", "description", "base", "seed", "star", "combine")
STAR_KEYS = ("template", "lengths_km")
VARY_KEYS = ("key", "label", "values", "linspace", "logspace", "range", "zip")
GENERATORS = {"values": (), "linspace": ("start", "stop", "num"), "logspace": ("start", "stop", "num"),
              "range": ("start", "stop", "step")}
#: Columns of the sweep table that a group label may not take.
BOOKKEEPING_COLUMNS = ("task", "task_id", "runs", "wall_s", "worker")
_SWEEP_NAME = re.compile(r"[A-Za-z0-9_.-]+\Z")


@parameters
class StarSpec:
    """``[sweep.star]``: copies of the base's node ``template`` with fibres ``lengths_km`` (node, km) in order."""

    template: Name
    lengths_km: tuple[tuple[Name, NonNegative], ...]


@parameters
class SweepAxis:
    """One ``[[vary]]``: ``keys`` (one, or a zipped group's) and the value of each key at each step."""

    keys: tuple[Name, ...]
    steps: tuple[tuple[Any, ...], ...]
    label: Name | None = None

    def __len__(self) -> int:
        return len(self.steps)


@parameters
class SweepSpec:
    """A parsed, checked sweep file. ``base`` is a preset name or an absolute path; ``base_text`` is the
    network file's text (workers on other machines need no copy of it), ``base_id`` its strong id."""

    name: Name
    description: str | None
    seed: Count
    base: Name
    base_text: str
    base_id: str
    star: StarSpec | None
    compute: Any
    axes: tuple[SweepAxis, ...]
    combine: Literal["cross", "zip"]
    optimize: Any
    source_text: str
    sweep_id: str
    #: the ``[select]`` table (:mod:`metroqnet.sweeps.select`): reads the results, so not in ``sweep_id``
    select: Any = None

    @property
    def n_tasks(self) -> int:
        """How many tasks the grid has (0 without axes: the sweep is its optimisation alone)."""
        if not self.axes:
            return 0
        return len(self.axes[0]) if self.combine == "zip" else math.prod(len(axis) for axis in self.axes)


def load_sweep_file(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and check a sweep file (module doc); a base path in it is relative to the file's folder."""
    text = read_text_file(path, what="sweep file")
    return parse_sweep_text(text, origin=str(path), base_dir=Path(path).resolve().parent)


def parse_sweep_text(text: str, *, origin: str, base_dir: str | os.PathLike[str] | None) -> SweepSpec:
    """A sweep file's text as a :class:`SweepSpec`; refusals start with ``origin``."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: TOML syntax error: {error}") from None
    try:
        return _parse(document, text, Path(base_dir) if base_dir is not None else Path.cwd())
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error}", field=error.field, detail=error.detail) from None


# --- the [sweep] table ---------------------------------------------------------------------------------


def _parse(document: Mapping[str, Any], text: str, base_dir: Path) -> SweepSpec:
    refuse_unknown_keys("top level", document, TOP_LEVEL_KEYS)
    if "sweep" not in document:
        raise ConfigError.at("sweep", "missing; a sweep file needs a [sweep] table with name, base and seed")
    sweep = _table("sweep", document["sweep"])
    refuse_unknown_keys("sweep", sweep, SWEEP_KEYS)
    for required in ("name", "base", "seed"):
        if required not in sweep:
            raise ConfigError.at(f"sweep.{required}", "missing (a sweep needs its name, base network and seed)")
    name = sweep["name"]
    if not isinstance(name, str) or not _SWEEP_NAME.match(name):
        raise ConfigError.at("sweep.name", f"{name!r} is not allowed; use letters, digits, '_', '.' or '-'")
    description = sweep.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError.at("sweep.description", f"expected a string, got {description!r}")
    seed = check("sweep.seed", sweep["seed"], Count)
    combine = sweep.get("combine", "cross")
    if combine not in ("cross", "zip"):
        raise ConfigError.at("sweep.combine", f"{combine!r} is not allowed; allowed: 'cross' (outer product) or 'zip'")
    base, base_text = _resolve_base(sweep["base"], base_dir)
    base_document = _base_document(base_text)
    star = _parse_star(sweep["star"]) if "star" in sweep else None
    network_document = _network_document(base_document, star)

    has_vary, has_optimize = "vary" in document, "optimize" in document
    if not has_vary and not has_optimize:
        raise ConfigError.at("vary", "missing; give at least one [[vary]] table (or an [optimize] table)")
    axes = _parse_axes(document["vary"], combine) if has_vary else ()
    for index, axis in enumerate(axes):
        _check_axis(f"vary[{index}]", axis, network_document)
    if "compute" not in document and has_vary:
        raise ConfigError.at("compute", "missing; a sweep with [[vary]] needs a [compute] table (what each task computes)")
    compute = _parse_compute(_table("compute", document["compute"])) if "compute" in document else None
    optimize = _parse_optimize(_table("optimize", document["optimize"])) if has_optimize else None
    for variable in getattr(optimize, "variables", ()):  # the optimiser's key paths, checked at both bounds
        bounds = SweepAxis(keys=(variable.key,), steps=((variable.low,), (variable.high,)))
        _check_axis("optimize.variables", bounds, network_document, key_field="optimize.variables",
                    step_names=("low bound", "high bound"))

    select = _parse_select(_table("select", document["select"])) if "select" in document else None
    if select is not None and not has_vary:
        raise ConfigError.at("select", "a selection picks among the [[vary]] grid's tasks; this file has none "
                             "(an [optimize] table reports its own optimum)")

    if compute is not None:
        _check_compute_on(compute, select, network_document)
    if optimize is not None:
        _check_optimize_on(optimize, network_document)

    # The store's identity: what sets the grid's results (not the description, the [optimize] table or the
    # [select] table, which write nothing into it), so editing those and rerunning resumes the same store.
    definition = {"name": name, "seed": seed, "base_id": strong_id(base_document), "star": star,
                  "compute": compute, "axes": axes, "combine": combine}
    try:
        sweep_id = strong_id(definition)
    except TypeError as error:  # a compute or optimize record without a canonical form is a bug, not input
        raise TypeError(f"sweep definition has no strong id: {error}") from None
    return SweepSpec(name=name, description=description, seed=seed, base=base, base_text=base_text,
                     base_id=definition["base_id"], star=star, compute=compute, axes=axes, combine=combine,
                     optimize=optimize, source_text=text, sweep_id=sweep_id, select=select)


def _resolve_base(base: object, base_dir: Path) -> tuple[str, str]:
    """(preset name or absolute path, the network file's text)."""
    if not isinstance(base, str) or not base.strip():
        raise ConfigError.at("sweep.base", f"expected a preset name or a network file path, got {base!r}")
    presets = available_presets()
    if base in presets:
        return base, preset_text(base)[0]
    path = (base_dir / base).resolve()
    try:
        return str(path), read_text_file(path, what="sweep.base")
    except ConfigError as error:
        raise ConfigError.at("sweep.base", f"{base!r} is neither a packaged preset ({', '.join(presets)}) nor a "
                             f"readable network file ({error.detail})") from None


def _base_document(text: str) -> dict[str, Any]:
    try:
        document = tomllib.loads(text)
        strong_id(document)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError.at("sweep.base", f"the network file is not TOML ({error})") from None
    except TypeError as error:  # a TOML date or time: no network value is one
        raise ConfigError.at("sweep.base", f"the network file holds a value no network file has ({error})") from None
    return document


def _parse_star(value: object) -> StarSpec:
    table = _table("sweep.star", value)
    refuse_unknown_keys("sweep.star", table, STAR_KEYS)
    for required in STAR_KEYS:
        if required not in table:
            raise ConfigError.at(f"sweep.star.{required}", "missing (a star needs a template node and its nodes' "
                                 "fibre lengths)")
    template = table["template"]
    if not isinstance(template, str):
        raise ConfigError.at("sweep.star.template", f"expected a node name, got {template!r}")
    lengths = _table("sweep.star.lengths_km", table["lengths_km"])
    if len(lengths) < 2:
        raise ConfigError.at("sweep.star.lengths_km", f"{len(lengths)} node(s); a star needs at least 2")
    checked = tuple((node, check(f"sweep.star.lengths_km.{node}", length, NonNegative))
                    for node, length in lengths.items())
    return StarSpec(template=template, lengths_km=checked)


def _network_document(base_document: dict[str, Any], star: StarSpec | None) -> dict[str, Any]:
    """The document every task's overrides apply to: the base, or its star; refused if it does not build."""
    try:
        base_network = network_from_mapping(base_document)
    except ConfigError as error:
        raise ConfigError.at("sweep.base", f"the base network is refused: {error}") from None
    if star is None:
        return base_document
    document = star_document(base_document, star, base_network)
    try:
        network_from_mapping(document)
    except ConfigError as error:
        raise ConfigError.at("sweep.star", f"the star is refused: {error}") from None
    return document


# --- the star, in the TOML document ---------------------------------------------------------------------


def _tag(network: NetworkHardware, owner: str, field: str, fallback: str) -> dict[str, object]:
    tag = network.tag(owner, field)
    if tag is None:
        return {"source": "estimated", "reason": fallback}
    return {key: getattr(tag, key) for key in ("source", "reason", "quote", "where", "reserved")
            if getattr(tag, key) is not None}


def star_document(document: Mapping[str, Any], star: StarSpec, network: NetworkHardware | None = None
                  ) -> dict[str, Any]:
    """The base document with its nodes replaced by copies of ``star.template`` on the template's server.

    Built in the document (before overrides), so ``nodes.n3.fibre_length_km`` and ``nodes.*.FIELD`` set
    the star's values as ``--set`` would. It matches :func:`metroqnet.network.star.star_network`: each node
    is the template's table (its own values over ``node_defaults``), with one fibre ``NODE-SERVER`` of the
    given length and the template's polarization residual (and per-km values where its path set its
    own); the server keeps its switch outputs (not a switch-input count sized for the base's nodes); the
    experiments lose their node pairs; ``[published]`` and ``[calibration]`` (about the base's nodes) go.
    """
    network = network if network is not None else network_from_mapping(document)
    nodes = document.get("nodes", {})
    if star.template not in nodes:
        raise ConfigError.at("sweep.star.template", f"{star.template!r} is not a node of the base; nodes are "
                             f"{', '.join(nodes)}")
    template = network.nodes[star.template]
    topology = document.get("topology")
    server = network.topology.server_of(star.template) if topology is not None else DEFAULT_SERVER
    if topology is not None:
        server_table = {k: v for k, v in topology["servers"][server].items() if k != "switch_inputs"}
    else:
        server_table = {"switch_outputs": {"value": 2, "source": "estimated",
                                           "reason": "the implicit star's server: a two-output switch"}}
    node_table = {k: copy.deepcopy(v) for k, v in nodes[star.template].items() if k not in PATH_FIELDS}
    path = network.topology.path(star.template)
    for node_field, fibre_field in PER_KM_FIELDS.items():
        if path.overrides(fibre_field):  # the template's value came from its fibre: each node takes it as its own
            node_table[node_field] = {"value": getattr(template, node_field),
                                      **_tag(network, star.template, node_field, f"{star.template}'s value")}
    residual = {"value": template.fibre_polarization_residual_deg,
                **_tag(network, star.template, "fibre_polarization_residual_deg",
                       f"the star's template node {star.template}'s fibre residual")}
    fibres = {}
    for node, length in star.lengths_km:
        reason = f"the sweep's [sweep.star]: {node}'s fibre to {server}"
        fibres[f"{node}-{server}"] = {"ends": [node, server], "polarization_residual_deg": dict(residual),
                                      "length_km": {"value": length, "source": "user", "reason": reason}}
    out = {k: copy.deepcopy(v) for k, v in document.items() if k not in ("published", "calibration")}
    out["name"] = f"{document.get('name')}-star{len(star.lengths_km)}"
    out["node_defaults"] = {k: v for k, v in out.get("node_defaults", {}).items() if k not in PATH_FIELDS}
    out["nodes"] = {node: copy.deepcopy(node_table) for node, _ in star.lengths_km}
    out["topology"] = {"servers": {server: server_table}, "fibres": fibres}
    out["experiments"] = {name: {k: v for k, v in table.items() if k != "nodes"}
                          for name, table in out.get("experiments", {}).items()}
    return out


# --- [[vary]] -------------------------------------------------------------------------------------------


def _parse_axes(value: object, combine: str) -> tuple[SweepAxis, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError.at("vary", f"expected one or more [[vary]] tables, got {value!r}")
    axes = tuple(_parse_axis(f"vary[{index}]", _table(f"vary[{index}]", table)) for index, table in enumerate(value))
    seen: dict[str, str] = {}
    for index, axis in enumerate(axes):
        for name in (*axis.keys, *([axis.label] if axis.label else [])):
            if name in seen:
                raise ConfigError.at(f"vary[{index}]", f"{name!r} is named already by {seen[name]}; allowed: each key "
                                     "path and label once (zip keys that step together)")
            seen[name] = f"vary[{index}]"
        repeated = next((step for position, step in enumerate(axis.steps) if step in axis.steps[:position]), None)
        if repeated is not None:  # the same task twice: computed once, but the grid would count it twice
            shown = ", ".join(f"{key} = {value!r}" for key, value in zip(axis.keys, repeated))
            raise ConfigError.at(f"vary[{index}]", f"{shown} is given twice; allowed: each value once")
    lengths = [len(axis) for axis in axes]
    if combine == "zip":
        if len(set(lengths)) > 1:
            shown = ", ".join(f"vary[{i}] {n}" for i, n in enumerate(lengths))
            raise ConfigError.at("vary", f"axes of unequal lengths ({shown}) with combine = 'zip'; allowed: equal "
                                 "lengths")
        total = lengths[0]
    else:
        total = math.prod(lengths)
    if total > MAX_TASKS:
        raise ConfigError.at("vary", f"{total} tasks ({' x '.join(map(str, lengths))}); allowed: at most {MAX_TASKS}")
    return axes


def _parse_axis(where: str, table: Mapping[str, Any]) -> SweepAxis:
    refuse_unknown_keys(where, table, VARY_KEYS)
    label = table.get("label")
    if label is not None and (not isinstance(label, str) or not _SWEEP_NAME.match(label)
                              or label in BOOKKEEPING_COLUMNS or "." in label):
        raise ConfigError.at(f"{where}.label", f"{label!r} is not allowed; use letters, digits, '_' or '-' (a dot "
                             "would read as a result name such as min.fidelity), "
                             f"none of {', '.join(BOOKKEEPING_COLUMNS)}")
    given = [name for name in ("zip", *GENERATORS) if name in table]
    if "zip" in table:
        if len(given) > 1 or "key" in table:
            raise ConfigError.at(where, f"zip with {', '.join(n for n in ('key', *given) if n != 'zip' and n in table)}; "
                                 "allowed: zip alone, or key with one of values, linspace, logspace, range")
        return _parse_zip(where, _table(f"{where}.zip", table["zip"]), label)
    if "key" not in table:
        raise ConfigError.at(f"{where}.key", "missing (an axis needs the key path it varies, or a zip table)")
    key = table["key"]
    if not isinstance(key, str) or not key.strip():
        raise ConfigError.at(f"{where}.key", f"expected a key path such as 'nodes.*.excitation_probability', got {key!r}")
    if len(given) != 1:
        raise ConfigError.at(where, f"{len(given)} of values, linspace, logspace, range given "
                             f"({', '.join(given) or 'none'}); allowed: exactly one")
    values = _generate(f"{where}.{given[0]}", given[0], table[given[0]])
    return SweepAxis(keys=(key,), steps=tuple((value,) for value in values), label=label)


def _parse_zip(where: str, table: Mapping[str, Any], label: str | None) -> SweepAxis:
    if not table:
        raise ConfigError.at(where + ".zip", "empty; allowed: one or more key paths, each with a list of values")
    columns = {key: _scalars(f"{where}.zip.{key}", values) for key, values in table.items()}
    lengths = {key: len(values) for key, values in columns.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key!r} {n}" for key, n in lengths.items())
        raise ConfigError.at(f"{where}.zip", f"lists of unequal lengths ({shown}); allowed: equal lengths")
    return SweepAxis(keys=tuple(columns), steps=tuple(zip(*columns.values())), label=label)


def _generate(where: str, kind: str, spec: object) -> list[object]:
    if kind == "values":
        return _scalars(where, spec)
    table = _table(where, spec)
    refuse_unknown_keys(where, table, GENERATORS[kind])
    for required in GENERATORS[kind]:
        if required not in table:
            raise ConfigError.at(f"{where}.{required}", f"missing; {kind} needs {', '.join(GENERATORS[kind])}")
    start, stop = _number(f"{where}.start", table["start"]), _number(f"{where}.stop", table["stop"])
    if kind == "range":
        return _range(where, start, stop, _number(f"{where}.step", table["step"]))
    start, stop = float(start), float(stop)  # numpy makes an int beyond int64 an object array, and then fails
    num = table["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError.at(f"{where}.num", f"{num!r} is not allowed; allowed: an integer >= 1")
    if num > MAX_TASKS:
        raise ConfigError.at(f"{where}.num", f"{num} values; allowed: at most {MAX_TASKS} (the largest grid)")
    if kind == "linspace":
        step = (stop - start) / (num - 1) if num > 1 else 0.0
        return [_tidy(float(v), step) for v in np.linspace(start, stop, num)]
    for end, value in (("start", start), ("stop", stop)):
        if value <= 0:
            raise ConfigError.at(f"{where}.{end}", f"{value!r} is not allowed; allowed: > 0 (a log axis)")
    ratio = (stop / start) ** (1 / (num - 1)) if num > 1 else 1.0
    return [_tidy(float(v), float(v) * (ratio - 1)) for v in np.geomspace(start, stop, num)]


def _tidy(value: float, step: float) -> float:
    """``value`` to 12 significant digits when that moves it by less than 1e-9 of the grid's step (float
    noise: 0.1 + 2 * 0.1 is 0.30000000000000004), else unchanged."""
    rounded = float(f"{value:.12g}")
    return rounded if abs(rounded - value) <= 1e-9 * abs(step) else value


def _range(where: str, start: float, stop: float, step: float) -> list[object]:
    if step == 0:
        raise ConfigError.at(f"{where}.step", "0 is not allowed; allowed: a non-zero step")
    span = (stop - start) / step
    if span < -1e-9:
        raise ConfigError.at(where, f"from {start!r} to {stop!r} by {step!r} is empty; allowed: a step towards stop")
    count = math.floor(span + 1e-9) + 1
    if count > MAX_TASKS:
        raise ConfigError.at(where, f"{count} values; allowed: at most {MAX_TASKS} (the largest grid)")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return [start + k * step for k in range(count)]
    return [_tidy(start + k * step, step) for k in range(count)]


def _scalars(where: str, values: object) -> list[object]:
    if not isinstance(values, list) or not values:
        raise ConfigError.at(where, f"expected a non-empty list of values, got {values!r}")
    for index, value in enumerate(values):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError.at(f"{where}[{index}]", f"expected a finite number, got {value!r}")
        if not isinstance(value, str | bool | int | float):
            raise ConfigError.at(f"{where}[{index}]", f"{value!s} ({type(value).__name__}) is not allowed; allowed: "
                                 "a number, a string or a boolean")
    return list(values)


def _number(where: str, value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError.at(where, f"expected a number, got {value!r} ({type(value).__name__})")
    if abs(value) >= 2**1023 or not math.isfinite(value):  # an int too large for a double: math.isfinite overflows
        raise ConfigError.at(where, f"expected a finite number, got {value!r}")
    return value


def _check_axis(where: str, axis: SweepAxis, document: Mapping[str, Any], *, key_field: str | None = None,
                step_names: tuple[str, ...] | None = None) -> None:
    """Apply each key path to the base, then build the network at every step of the axis."""
    for position, key in enumerate(axis.keys):
        try:
            apply_overrides(document, [Override(key=key, value=axis.steps[0][position])])
        except ConfigError as error:
            field = key_field or (f"{where}.key" if len(axis.keys) == 1 else f"{where}.zip")
            raise ConfigError.at(field, f"{key!r} is not a parameter of the base network "
                                 f"({error.detail or error})") from None
    for number, step in enumerate(axis.steps, start=1):
        overrides = [Override(key=key, value=value) for key, value in zip(axis.keys, step)]
        try:
            network_from_mapping(apply_overrides(document, overrides))
        except ConfigError as error:
            shown = ", ".join(f"{key} = {value!r}" for key, value in zip(axis.keys, step))
            step = step_names[number - 1] if step_names else f"step {number} of {len(axis)}"
            raise ConfigError.at(where, f"{shown} ({step}) is refused: {error}") from None


# --- the tables other modules read -----------------------------------------------------------------------


def _parse_compute(table: Mapping[str, Any]) -> Any:
    from metroqnet.sweeps.compute import parse_compute_table  # lazily: compute pulls in the engines

    return parse_compute_table(table, where="compute")


def _check_compute_on(compute: Any, select: Any, document: Mapping[str, Any]) -> None:
    """The compute table on the base network, and [select]'s names against its results (when the file is read)."""
    from metroqnet.sweeps.compute import check_on_network  # lazily: compute pulls in the engines

    check_on_network(compute, network_from_mapping(document), select=select)


def _check_optimize_on(optimize: Any, document: Mapping[str, Any]) -> None:
    """The optimiser's links, experiment and result names on the base network (before a store is made)."""
    from metroqnet.sweeps.optimize import check_on_network

    check_on_network(optimize, network_from_mapping(document))


def _parse_select(table: Mapping[str, Any]) -> Any:
    from metroqnet.sweeps.select import parse_select_table

    return parse_select_table(table, where="select")


def _parse_optimize(table: Mapping[str, Any]) -> Any:
    from metroqnet.sweeps.optimize import parse_optimize_table

    return parse_optimize_table(table, where="optimize")


def _table(where: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError.at(where, f"expected a table, got {value!r} ({type(value).__name__})")
    return value
