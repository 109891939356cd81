"""Load a network's hardware from a TOML file or a packaged preset, with overrides and calibrations.

File layout (every hardware value is a tagged inline table, see
:mod:`metroqnet.config.provenance`)::

    name = "hefei2024"
    description = "..."                  # optional
    [node_defaults]                      # optional: values shared by every node
    excitation_probability = { value = 0.01, source = "paper", quote = "χ ≈ 1%" }
    [nodes.alice]                        # every required NodeHardware field, here or in node_defaults
    fibre_length_km = { value = 10.0, source = "estimated", reason = "..." }   # only without [topology]
    [topology]                           # optional: servers and fibres, see metroqnet.config.topology_file
    [server]                             # every ServerHardware field
    [drift]                              # every CavityDrift field
    [experiments.storage_5us]            # optional
    storage_us = { value = 5.0, source = "paper" }
    repetition_rate_hz = { value = 2760.0, source = "paper" }
    nodes = ["alice", "bob"]             # optional, a plain array
    kind = "link"                        # optional plain string: "link" (default) or "stabilization"
    [published]                          # optional, see metroqnet.config.published
    [calibration]                        # optional: priors of a calibration, see metroqnet.config.priors

A value set in a node's table overrides ``node_defaults``. With a ``[topology]`` section each
node's ``fibre_length_km`` and ``fibre_polarization_residual_deg`` (and its attenuation and delay per
km where a fibre of its path sets its own) are derived from its herald path and carry the fibres'
tags; a node or ``node_defaults`` that also sets them is refused (two sources). Without one, the
network is the implicit star (:class:`NetworkHardware`). Every refusal is a
:class:`ConfigError` that starts with the file name and names the key path
(``nodes.alice.fibre_length_km``), the value and what is allowed.

**Overrides.** ``overrides`` are ``(key path, value)`` pairs applied to the file
before it is read, each tagged ``user`` (``--set key=value`` on the command line,
:func:`parse_override`). Key paths: ``nodes.NAME.FIELD``, ``nodes.*.FIELD`` (every
node), ``server.FIELD``, ``drift.FIELD``, ``experiments.NAME.FIELD``,
``topology.fibres.NAME.FIELD`` (``topology.fibres.*.FIELD``: every fibre),
``topology.servers.NAME.FIELD``; with a ``[topology]``, ``nodes.NAME.fibre_length_km`` (and
``fibre_polarization_residual_deg``) set the field of the node's fibre when its herald path is one
fibre, and are refused, naming the fibres' key paths, when it is several. A
calibration file (:mod:`metroqnet.config.calibration_file`) is applied the same
way, tagged ``calibrated``.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file
from metroqnet.config.hardware import (
    RESERVED_OWNERS,
    CavityDrift,
    Experiment,
    NetworkHardware,
    NodeHardware,
    ServerHardware,
)
from metroqnet.config.provenance import Provenance, read_tagged_value
from metroqnet.config.priors import priors_from_table
from metroqnet.config.published import PublishedFigures, published_from_table
from metroqnet.config.topology_file import (
    FIBRE_FIELDS,
    PATH_FIELDS,
    derived_node_values,
    read_topology,
)
from metroqnet.config.topology_file import SERVER_FIELDS as TOPOLOGY_SERVER_FIELDS
from metroqnet.config.validation import check, field_quantity, refuse_unknown_keys

TOP_LEVEL_KEYS = frozenset(
    {"name", "description", "node_defaults", "nodes", "server", "drift", "experiments", "published", "calibration",
     "topology"}
)
_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
#: Experiment keys that are plain values, not tagged hardware values.
EXPERIMENT_PLAIN_KEYS = ("nodes", "kind")


def _field_names(cls: type, *, without: Iterable[str] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in set(without))


NODE_FIELDS = _field_names(NodeHardware, without=("name",))
#: Node fields a file must set (the others have a default, e.g. the pump's coherence time = the node's).
NODE_REQUIRED_FIELDS = tuple(f.name for f in dataclasses.fields(NodeHardware) if f.name in NODE_FIELDS
                             and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
SERVER_FIELDS = _field_names(ServerHardware)
DRIFT_FIELDS = _field_names(CavityDrift)
EXPERIMENT_FIELDS = _field_names(Experiment, without=("name", *EXPERIMENT_PLAIN_KEYS))


@dataclass(frozen=True)
class Override:
    """One value to set before a network is read: its key path, the value, and how it is tagged."""

    key: str
    value: object
    source: str = "user"
    reason: str = ""
    #: The network a calibrated value belongs to (refused on another network); None for --set.
    network: str | None = None

    @property
    def tag_reason(self) -> str:
        return self.reason or f"set by the user for this run (--set {self.key}={self.value!r})"


def _preset_dir():
    return resources.files("metroqnet") / "presets"


def available_presets() -> tuple[str, ...]:
    """Names of the packaged presets (``presets/*.toml``), sorted."""
    return tuple(
        sorted(entry.name[: -len(".toml")] for entry in _preset_dir().iterdir() if entry.name.endswith(".toml"))
    )


def preset_text(name: str) -> tuple[str, str]:
    """(TOML text, origin) of a packaged preset, or a refusal listing the presets."""
    available = available_presets()
    if name not in available:
        raise ConfigError.at("preset", f"{name!r} is not a packaged preset; available presets are {', '.join(available)}")
    entry = _preset_dir() / f"{name}.toml"
    return entry.read_text(encoding="utf-8"), f"preset {name!r} ({entry.name})"


def load_preset(name: str, *, overrides: Iterable[Override] = ()) -> NetworkHardware:
    """Load a packaged preset by name, e.g. ``load_preset("hefei2024")``."""
    text, origin = preset_text(name)
    return _parse_text(text, origin=origin, overrides=overrides)


def load_network_file(path: str | os.PathLike[str], *, overrides: Iterable[Override] = ()) -> NetworkHardware:
    """Load a network TOML file."""
    text = read_text_file(path, what="network file")
    return _parse_text(text, origin=str(path), overrides=overrides)


def load_network(name_or_path: str | os.PathLike[str], *, overrides: Iterable[Override] = ()) -> NetworkHardware:
    """A preset name (no ``.toml`` suffix, no path separator) or a TOML file path."""
    text = os.fspath(name_or_path)
    if text.endswith(".toml") or os.sep in text or "/" in text:
        return load_network_file(text, overrides=overrides)
    return load_preset(text, overrides=overrides)


def parse_override(text: str, *, option: str = "--set") -> Override:
    """``KEY=VALUE`` (VALUE a TOML value: ``12``, ``1.5e-3``, ``"gaussian"``; a bare word is a string)."""
    key, separator, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not separator or not key or not raw:
        raise ConfigError.at(option, f"{text!r} is not KEY=VALUE, e.g. nodes.alice.fibre_length_km=12")
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    return Override(key=key, value=value)


def _parse_text(text: str, *, origin: str, overrides: Iterable[Override] = ()) -> NetworkHardware:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: TOML syntax error: {error}") from None
    overrides = tuple(overrides)
    for override in overrides:
        if override.network is not None and override.network != document.get("name"):
            raise ConfigError.at(
                "calibration", f"{override.reason!r} calibrates network {override.network!r}, not {document.get('name')!r}"
            )
    try:
        applied = apply_overrides(document, overrides)
        return network_from_mapping(applied)
    except ConfigError as error:
        for override in reversed(overrides):  # the last value set for a key is the one read
            targets = (override.key, *_alias_targets(document, override.key))
            if error.field is not None and any(_matches(key, error.field) for key in targets):
                option = "--set" if override.source == "user" else f"calibration ({override.reason})"
                raise ConfigError(f"{option} {override.key}: {error.detail}", field=override.key,
                                  detail=error.detail) from None
        raise ConfigError(f"{origin}: {error}", field=error.field, detail=error.detail) from None


def _matches(override_key: str, key_path: str) -> bool:
    pattern = re.escape(override_key).replace(r"\*", "[^.]+")
    return re.fullmatch(pattern + r"(\..*)?", key_path) is not None


_FIELDS_OF = {"nodes": NODE_FIELDS, "server": SERVER_FIELDS, "drift": DRIFT_FIELDS, "experiments": EXPERIMENT_FIELDS}
_TOPOLOGY_FIELDS_OF = {"fibres": FIBRE_FIELDS, "servers": TOPOLOGY_SERVER_FIELDS}


def _alias_targets(document: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The fibre key paths a ``nodes.NAME.fibre_length_km`` key sets in a file with a topology (else none)."""
    try:
        return tuple(target for _, target in _node_fibre_aliases(document, key))
    except (ConfigError, KeyError, TypeError, AttributeError):
        return ()


def _node_fibre_aliases(document: Mapping[str, Any], key: str) -> list[tuple[str, str]]:
    """(fibre name, fibre key path) for a node key of a path field, when the file has a topology.

    Refused when a node's herald path is more than one fibre (naming each fibre's key path).
    """
    parts = key.split(".")
    if not (len(parts) == 3 and parts[0] == "nodes" and parts[2] in PATH_FIELDS and "topology" in document):
        return []
    node_names = list(_table("nodes", document.get("nodes", {})))
    names = node_names if parts[1] == "*" else [parts[1]]
    for name in names:
        if name not in node_names:
            raise ConfigError.at(key, f"{name!r} is not one of the nodes ({', '.join(node_names) or 'none'})")
    topology, _ = read_topology(document["topology"], node_names)
    field = PATH_FIELDS[parts[2]]
    targets = []
    for name in names:
        fibres = topology.path(name).fibres
        if len(fibres) != 1:
            paths = ", ".join(f"topology.fibres.{fibre.name}.{field}" for fibre in fibres)
            raise ConfigError.at(
                key, f"{name}'s herald path runs through {len(fibres)} fibres, so its {parts[2]} is derived from "
                f"them; set {paths}",
            )
        targets.append((fibres[0].name, f"topology.fibres.{fibres[0].name}.{field}"))
    return targets


def _apply_topology_override(out: dict[str, Any], override: Override, entry: dict[str, object]) -> None:
    """Write ``topology.fibres.NAME.FIELD`` (NAME may be ``*``) or ``topology.servers.NAME.FIELD``."""
    parts = override.key.split(".")
    if len(parts) != 4 or parts[1] not in _TOPOLOGY_FIELDS_OF:
        raise ConfigError.at(
            override.key, "is not a key path of a topology value; use topology.fibres.NAME.FIELD, "
            "topology.fibres.*.FIELD or topology.servers.NAME.FIELD",
        )
    if "topology" not in out:
        raise ConfigError.at(
            override.key, "the file has no [topology] section (its network is the implicit star); set a node's "
            "fibre with nodes.NAME.fibre_length_km",
        )
    try:
        refuse_unknown_keys(override.key, [parts[3]], _TOPOLOGY_FIELDS_OF[parts[1]])
    except ConfigError as error:
        raise ConfigError.at(override.key, (error.detail or str(error)).replace(f"{override.key}: ", "")) from None
    owners = _table_at(_table_at(out, "topology"), parts[1])
    names = list(owners) if parts[1] == "fibres" and parts[2] == "*" else [parts[2]]
    for name in names:
        if name not in owners:
            raise ConfigError.at(override.key, f"{name!r} is not one of the topology's {parts[1]} "
                                 f"({', '.join(owners) or 'none'})")
        _table_at(owners, name)[parts[3]] = dict(entry)


def apply_overrides(document: Mapping[str, Any], overrides: Iterable[Override]) -> dict[str, Any]:
    """A copy of a parsed network document with each override written in as a tagged value."""
    out = copy.deepcopy(dict(document))
    for override in overrides:
        parts = override.key.split(".")
        if parts[0] == "topology":
            _apply_topology_override(out, override, {"value": override.value, "source": override.source,
                                                     "reason": override.tag_reason})
            continue
        aliases = _node_fibre_aliases(out, override.key)
        if aliases:
            entry = {"value": override.value, "source": override.source, "reason": override.tag_reason}
            fibres = _table_at(_table_at(out, "topology"), "fibres")
            for fibre, _ in aliases:
                _table_at(fibres, fibre)[PATH_FIELDS[parts[2]]] = dict(entry)
            continue
        if parts[0] in _FIELDS_OF and len(parts) == (2 if parts[0] in ("server", "drift") else 3):
            try:
                refuse_unknown_keys(override.key, [parts[-1]], _FIELDS_OF[parts[0]])
            except ConfigError as error:
                raise ConfigError.at(override.key, (error.detail or str(error)).replace(
                    f"{override.key}: ", "")) from None
        entry = {"value": override.value, "source": override.source, "reason": override.tag_reason}
        section = parts[0]
        if section in ("server", "drift") and len(parts) == 2:
            _table_at(out, section)[parts[1]] = entry
        elif section in ("nodes", "experiments") and len(parts) == 3:
            owners = _table_at(out, section)
            names = list(owners) if section == "nodes" and parts[1] == "*" else [parts[1]]
            for name in names:
                if name not in owners:
                    raise ConfigError.at(
                        override.key, f"{name!r} is not one of the {section} ({', '.join(owners) or 'none'})"
                    )
                _table_at(owners, name)[parts[2]] = entry
        else:
            raise ConfigError.at(
                override.key,
                "is not a key path of a hardware value; use nodes.NAME.FIELD, nodes.*.FIELD, server.FIELD, "
                "drift.FIELD, experiments.NAME.FIELD, topology.fibres.NAME.FIELD or topology.servers.NAME.FIELD",
            )
    return out


def _table_at(parent: dict[str, Any], key: str) -> dict[str, Any]:
    table = parent.setdefault(key, {})
    if not isinstance(table, dict):
        raise ConfigError.at(key, f"expected a table, got {table!r} ({type(table).__name__})")
    return table


def network_from_mapping(document: Mapping[str, object]) -> NetworkHardware:
    """Build a :class:`NetworkHardware` from a parsed TOML document (see the module doc)."""
    refuse_unknown_keys("top level", document, TOP_LEVEL_KEYS)
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError.at("name", f"expected the network's name as a non-empty string, got {name!r}")
    description = document.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError.at("description", f"expected a string, got {description!r}")

    provenance: dict[tuple[str, str], Provenance] = {}
    defaults = _read_tagged("node_defaults", _table("node_defaults", document.get("node_defaults", {})), NODE_FIELDS)
    for field, (value, tag) in defaults.items():  # checked here too: a default every node overrides is still read
        check(tag.toml_key or field, value, field_quantity(NodeHardware, field))

    nodes_table = _table("nodes", _require(document, "nodes"))
    if len(nodes_table) < 2:
        raise ConfigError.at("nodes", f"a network needs at least two nodes, got {', '.join(nodes_table) or 'none'}")
    topology, topology_provenance = None, {}
    if "topology" in document:
        for node_name in nodes_table:  # the node names first: the topology's endpoints are checked against them
            _check_owner_name(f"nodes.{node_name}", node_name)
        topology, topology_provenance = read_topology(document["topology"], tuple(nodes_table))
        provenance.update(topology_provenance)
    nodes: dict[str, NodeHardware] = {}
    for node_name, node_table in nodes_table.items():
        where = f"nodes.{node_name}"
        _check_owner_name(where, node_name)
        merged = {**defaults, **_read_tagged(where, _table(where, node_table), NODE_FIELDS)}
        if topology is not None:
            for field in PATH_FIELDS:
                if field in merged:
                    fibres = ", ".join(f"topology.fibres.{f}" for f in topology.fibre_names([node_name]))
                    raise ConfigError.at(
                        merged[field][1].toml_key or f"{where}.{field}",
                        f"given here and by the topology ({node_name}'s herald path: {fibres}); two sources for "
                        "one value: set it on the fibre(s) in [topology.fibres.*] only",
                    )
            derived = derived_node_values(topology, topology_provenance, node_name, merged)
            merged.update({field: entry for field, entry in derived.items() if entry[1] is not None})
            untagged = {field: value for field, (value, tag) in derived.items() if tag is None}
        else:
            untagged = {}
        missing = [field for field in NODE_REQUIRED_FIELDS if field not in merged]
        if missing:
            raise ConfigError.at(
                f"{where}.{missing[0]}",
                f"missing (set it in [{where}] or [node_defaults]); all missing: {', '.join(missing)}",
            )
        nodes[node_name] = _build(NodeHardware, merged, name=node_name, **untagged)
        provenance.update({(node_name, k): tag for k, (_, tag) in merged.items()})

    server_fields = _read_tagged("server", _table("server", _require(document, "server")), SERVER_FIELDS, required=True)
    server = _build(ServerHardware, server_fields)
    provenance.update({("server", k): tag for k, (_, tag) in server_fields.items()})

    drift_fields = _read_tagged("drift", _table("drift", _require(document, "drift")), DRIFT_FIELDS, required=True)
    drift = _build(CavityDrift, drift_fields)
    provenance.update({("drift", k): tag for k, (_, tag) in drift_fields.items()})

    experiments: dict[str, Experiment] = {}
    for exp_name, exp_table in _table("experiments", document.get("experiments", {})).items():
        where = f"experiments.{exp_name}"
        _check_owner_name(where, exp_name)
        if exp_name in nodes:
            raise ConfigError.at(where, f"experiment name {exp_name!r} is also a node name; rename one")
        exp_table = _table(where, exp_table)
        refuse_unknown_keys(where, exp_table, {*EXPERIMENT_FIELDS, *EXPERIMENT_PLAIN_KEYS})
        tagged = {k: v for k, v in exp_table.items() if k not in EXPERIMENT_PLAIN_KEYS}
        fields = _read_tagged(where, tagged, EXPERIMENT_FIELDS)
        plain: dict[str, object] = {}
        if "nodes" in exp_table:
            pair = exp_table["nodes"]
            _check_node_pair(f"{where}.nodes", pair, nodes)
            plain["nodes"] = tuple(pair)  # type: ignore[arg-type]
        if "kind" in exp_table:
            plain["kind"] = exp_table["kind"]
        experiments[exp_name] = _build(Experiment, fields, where=where, name=exp_name, **plain)
        provenance.update({(exp_name, k): tag for k, (_, tag) in fields.items()})

    published = None
    if "published" in document:
        published = published_from_table(
            document["published"], node_names=tuple(nodes), experiment_names=tuple(experiments)
        )

    calibration = None
    if "calibration" in document:
        calibration = priors_from_table(
            document["calibration"], quantity_of=_numeric_quantity, fields_of=numeric_fields, node_names=tuple(nodes),
            experiment_names=tuple(experiments), link_names=tuple(published.links) if published else (),
            published_keys=published_keys(published),
        )

    return NetworkHardware(
        name=name, description=description, nodes=nodes, server=server, drift=drift, experiments=experiments,
        provenance=provenance, published=published, calibration=calibration, topology=topology,
    )


_CLASS_OF = {"nodes": NodeHardware, "server": ServerHardware, "drift": CavityDrift, "experiments": Experiment}


def _numeric_quantity(section: str, field: str) -> object | None:
    """The quantity of a numeric field that a key path may set (None: no such field, or not a number)."""
    if field not in _FIELDS_OF[section]:
        return None
    quantity = field_quantity(_CLASS_OF[section], field)
    members = typing.get_args(quantity) or (quantity,)
    numeric = any(member is float or typing.get_args(member)[:1] == (float,) for member in members)
    return quantity if numeric else None


def numeric_fields(section: str) -> tuple[str, ...]:
    """The fields of ``section`` (nodes, server, drift, experiments) a key path may set to a number."""
    return tuple(field for field in _FIELDS_OF[section] if _numeric_quantity(section, field) is not None)


def published_keys(published: PublishedFigures | None) -> tuple[str, ...]:
    """Every published number as ``experiments.NAME.FIGURE`` or ``links.NAME.FIGURE``."""
    if published is None:
        return ()
    keys = []
    for name, experiment in published.experiments.items():
        keys += [f"experiments.{name}.{f.name}" for f in dataclasses.fields(experiment)
                 if f.name != "name" and getattr(experiment, f.name) is not None]
    for name, link in published.links.items():
        keys += [f"links.{name}.{f.name}" for f in dataclasses.fields(link)
                 if f.name != "nodes" and getattr(link, f.name) is not None]
    return tuple(keys)


def _build(cls: type, fields: Mapping[str, tuple[object, Provenance]], *, where: str | None = None, **plain: object):
    """``cls`` from tagged fields; a refusal names the key path the bad value was read from."""
    try:
        return cls(**{k: value for k, (value, _) in fields.items()}, **plain)
    except ConfigError as error:
        field = error.field
        if field in fields and fields[field][1].toml_key:
            raise error.renamed(fields[field][1].toml_key) from None
        if where is not None and field is not None:
            raise error.renamed(f"{where}.{field}") from None
        raise


def _require(table: Mapping[str, object], key: str) -> object:
    if key not in table:
        raise ConfigError.at(key, "missing from the top level of the file")
    return table[key]


def _table(key_path: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError.at(key_path, f"expected a table, got {value!r} ({type(value).__name__})")
    return value


def _check_owner_name(key_path: str, name: str) -> None:
    if not _NAME_PATTERN.match(name) or name in RESERVED_OWNERS:
        raise ConfigError.at(
            key_path,
            f"name {name!r} is not allowed; use a letter then letters, digits, '_' or '-', "
            f"and none of {', '.join(map(repr, RESERVED_OWNERS))}",
        )


def _check_node_pair(key_path: str, pair: object, nodes: Mapping[str, object]) -> None:
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or pair[0] == pair[1]
        or not all(isinstance(n, str) and n in nodes for n in pair)
    ):
        raise ConfigError.at(key_path, f"expected two different node names from {', '.join(nodes)}, got {pair!r}")


def _read_tagged(
    where: str, table: Mapping[str, object], allowed: tuple[str, ...], *, required: bool = False
) -> dict[str, tuple[object, Provenance]]:
    """The tagged values of ``table`` (unchecked values, checked tags); refuse unknown keys."""
    refuse_unknown_keys(where, table, allowed)
    if required:
        missing = [field for field in allowed if field not in table]
        if missing:
            raise ConfigError.at(f"{where}.{missing[0]}", f"missing; all missing: {', '.join(missing)}")
    fields: dict[str, tuple[object, Provenance]] = {}
    for field, entry in table.items():
        raw, tag = read_tagged_value(f"{where}.{field}", entry)
        fields[field] = (raw, tag)
    return fields
