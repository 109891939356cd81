"""Load a network's hardware from a TOML file or a packaged preset.

File layout (every hardware value is a tagged inline table, see
:mod:`metroqnet.config.provenance`)::

    name = "hefei2024"
    description = "..."                  # optional
    [node_defaults]                      # optional: values shared by every node
    excitation_probability = { value = 0.01, source = "paper", quote = "χ ≈ 1%" }
    [nodes.alice]                        # every NodeHardware field, here or in node_defaults
    fibre_length_km = { value = 10.0, source = "estimated", reason = "..." }
    [server]                             # every ServerHardware field
    [experiments.storage_5us]            # optional
    storage_us = { value = 5.0, source = "paper" }
    repetition_rate_hz = { value = 2760.0, source = "paper" }
    nodes = ["alice", "bob"]             # optional, a plain array
    [published]                          # optional, see metroqnet.config.published

A value set in a node's table overrides ``node_defaults``. Every refusal is a
:class:`ConfigError` that starts with the file name and names the key path
(``nodes.alice.fibre_length_km``), the value and what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file
from metroqnet.config.hardware import (
    EXPERIMENT_FIELD_CHECKS,
    NODE_FIELD_CHECKS,
    SERVER_FIELD_CHECKS,
    SERVER_OWNER,
    Experiment,
    NetworkHardware,
    NodeHardware,
    ServerHardware,
)
from metroqnet.config.provenance import Provenance, read_tagged_value
from metroqnet.config.published import published_from_table
from metroqnet.config.validation import refuse_unknown_keys

TOP_LEVEL_KEYS = frozenset({"name", "description", "node_defaults", "nodes", "server", "experiments", "published"})
_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


def _preset_dir():
    return resources.files("metroqnet") / "presets"


def available_presets() -> tuple[str, ...]:
    """Names of the packaged presets (``presets/*.toml``), sorted."""
    return tuple(
        sorted(entry.name[: -len(".toml")] for entry in _preset_dir().iterdir() if entry.name.endswith(".toml"))
    )


def load_preset(name: str) -> NetworkHardware:
    """Load a packaged preset by name, e.g. ``load_preset("hefei2024")``."""
    available = available_presets()
    if name not in available:
        raise ConfigError(f"preset: {name!r} is not a packaged preset; available presets are {', '.join(available)}")
    entry = _preset_dir() / f"{name}.toml"
    return _parse_text(entry.read_text(encoding="utf-8"), origin=f"preset {name!r} ({entry.name})")


def load_network_file(path: str | os.PathLike[str]) -> NetworkHardware:
    """Load a network TOML file."""
    file_path = Path(path)
    text = read_text_file(file_path, what="network file")
    return _parse_text(text, origin=str(file_path))


def load_network(name_or_path: str | os.PathLike[str]) -> NetworkHardware:
    """A preset name (no ``.toml`` suffix, no path separator) or a TOML file path."""
    text = os.fspath(name_or_path)
    if text.endswith(".toml") or os.sep in text or "/" in text:
        return load_network_file(text)
    return load_preset(text)


def _parse_text(text: str, *, origin: str) -> NetworkHardware:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: TOML syntax error: {error}") from None
    try:
        return network_from_mapping(document)
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error}") from None


def network_from_mapping(document: Mapping[str, object]) -> NetworkHardware:
    """Build a :class:`NetworkHardware` from a parsed TOML document (see the module doc)."""
    refuse_unknown_keys("top level", document, TOP_LEVEL_KEYS)
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name: expected the network's name as a non-empty string, got {name!r}")
    description = document.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError(f"description: expected a string, got {description!r}")

    provenance: dict[tuple[str, str], Provenance] = {}
    defaults = _read_fields("node_defaults", _table("node_defaults", document.get("node_defaults", {})),
                            NODE_FIELD_CHECKS, required=False)

    nodes_table = _table("nodes", _require(document, "nodes", "top level"))
    if len(nodes_table) < 2:
        raise ConfigError(f"nodes: a network needs at least two nodes, got {', '.join(nodes_table) or 'none'}")
    nodes: dict[str, NodeHardware] = {}
    for node_name, node_table in nodes_table.items():
        where = f"nodes.{node_name}"
        _check_owner_name(where, node_name)
        own = _read_fields(where, _table(where, node_table), NODE_FIELD_CHECKS, required=False)
        merged = {**defaults, **own}
        missing = [field for field in NODE_FIELD_CHECKS if field not in merged]
        if missing:
            raise ConfigError(
                f"{where}.{missing[0]}: missing (set it in [{where}] or [node_defaults]); "
                f"all missing: {', '.join(missing)}"
            )
        nodes[node_name] = NodeHardware(name=node_name, **{k: value for k, (value, _) in merged.items()})
        provenance.update({(node_name, k): tag for k, (_, tag) in merged.items()})

    server_fields = _read_fields("server", _table("server", _require(document, "server", "top level")),
                                 SERVER_FIELD_CHECKS, required=True)
    server = ServerHardware(**{k: value for k, (value, _) in server_fields.items()})
    provenance.update({(SERVER_OWNER, k): tag for k, (_, tag) in server_fields.items()})

    experiments: dict[str, Experiment] = {}
    for exp_name, exp_table in _table("experiments", document.get("experiments", {})).items():
        where = f"experiments.{exp_name}"
        _check_owner_name(where, exp_name)
        if exp_name in nodes:
            raise ConfigError(f"{where}: experiment name {exp_name!r} is also a node name; rename one")
        exp_table = _table(where, exp_table)
        refuse_unknown_keys(where, exp_table, set(EXPERIMENT_FIELD_CHECKS) | {"nodes"})
        tagged = {k: v for k, v in exp_table.items() if k != "nodes"}
        exp_fields = _read_fields(where, tagged, EXPERIMENT_FIELD_CHECKS, required=True)
        pair = exp_table.get("nodes")
        if pair is not None:
            _check_node_pair(f"{where}.nodes", pair, nodes)
            pair = tuple(pair)
        experiments[exp_name] = Experiment(
            name=exp_name, nodes=pair, **{k: value for k, (value, _) in exp_fields.items()}
        )
        provenance.update({(exp_name, k): tag for k, (_, tag) in exp_fields.items()})

    published = None
    if "published" in document:
        published = published_from_table(
            document["published"], node_names=tuple(nodes), experiment_names=tuple(experiments)
        )

    return NetworkHardware(
        name=name, nodes=nodes, server=server, experiments=experiments, provenance=provenance, published=published
    )


def _require(table: Mapping[str, object], key: str, where: str) -> object:
    if key not in table:
        raise ConfigError(f"{key}: missing from the {where} of the file")
    return table[key]


def _table(key_path: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key_path}: expected a table, got {value!r} ({type(value).__name__})")
    return value


def _check_owner_name(key_path: str, name: str) -> None:
    if not _NAME_PATTERN.match(name) or name == SERVER_OWNER:
        raise ConfigError(
            f"{key_path}: name {name!r} is not allowed; use a letter then letters, digits, '_' or '-', "
            f"and not {SERVER_OWNER!r}"
        )


def _check_node_pair(key_path: str, pair: object, nodes: Mapping[str, object]) -> None:
    if (
        not isinstance(pair, list)
        or len(pair) != 2
        or pair[0] == pair[1]
        or not all(isinstance(n, str) and n in nodes for n in pair)
    ):
        raise ConfigError(f"{key_path}: expected two different node names from {', '.join(nodes)}, got {pair!r}")


def _read_fields(
    where: str,
    table: Mapping[str, object],
    checks: Mapping[str, Callable[[str, object], object]],
    *,
    required: bool,
) -> dict[str, tuple[object, Provenance]]:
    """Read the tagged values of ``table`` with the fields' own checks; refuse unknown keys."""
    refuse_unknown_keys(where, table, set(checks))
    if required:
        missing = [field for field in checks if field not in table]
        if missing:
            raise ConfigError(f"{where}.{missing[0]}: missing; all missing: {', '.join(missing)}")
    fields: dict[str, tuple[object, Provenance]] = {}
    for field, entry in table.items():
        key_path = f"{where}.{field}"
        raw, tag = read_tagged_value(key_path, entry)
        fields[field] = (checks[field](key_path, raw), tag)
    return fields
