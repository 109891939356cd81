"""A network file's ``[topology]`` section, and the node values derived from it.

Layout (``docs/topology.md``)::

    [topology.servers.server]
    switch_outputs = { value = 2, source = "paper", quote = "..." }
    switch_inputs = { value = 4, source = "estimated", reason = "..." }      # optional
    [topology.fibre_defaults]                                                  # optional
    polarization_residual_deg = { value = 5.0, source = "estimated", reason = "..." }
    [topology.fibres.alice-server]
    ends = ["alice", "server"]                                                 # a plain array
    length_km = { value = 10.0, source = "estimated", reason = "..." }
    attenuation_db_per_km = { ... }      # optional: this fibre's own; else the node's fibre_attenuation_db_per_km
    delay_us_per_km = { ... }            # optional: likewise for fibre_delay_us_per_km
    polarization_residual_deg = { ... }  # optional: else fibre_defaults', else 0

Each value's provenance is kept under the owner ``topology.fibres.NAME`` or
``topology.servers.NAME`` (:func:`fibre_owner`, :func:`server_owner`). A node's
``fibre_length_km`` and ``fibre_polarization_residual_deg`` (and its
``fibre_attenuation_db_per_km`` / ``fibre_delay_us_per_km`` where a fibre of its path sets
its own) are derived from its herald path (:func:`derived_node_values`) and carry the
fibre's tag; a file that also sets them on the node is refused (two sources).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from metroqnet.config.errors import ConfigError
from metroqnet.config.provenance import Provenance, read_tagged_value
from metroqnet.config.topology import Fibre, HeraldPath, Server, Topology
from metroqnet.config.validation import refuse_unknown_keys

TOPOLOGY_KEYS = ("servers", "fibres", "fibre_defaults")
SERVER_FIELDS = ("switch_outputs", "switch_inputs")
FIBRE_FIELDS = ("length_km", "attenuation_db_per_km", "delay_us_per_km", "polarization_residual_deg")
FIBRE_DEFAULT_FIELDS = ("polarization_residual_deg",)
_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")

#: Node fields that only the topology sets when the file has one (node field -> fibre field).
PATH_FIELDS = {"fibre_length_km": "length_km", "fibre_polarization_residual_deg": "polarization_residual_deg"}
#: Node fields a fibre may override on its own section (node field -> fibre field).
PER_KM_FIELDS = {"fibre_attenuation_db_per_km": "attenuation_db_per_km", "fibre_delay_us_per_km": "delay_us_per_km"}


def fibre_owner(name: str) -> str:
    """The provenance owner of a fibre's values: ``topology.fibres.NAME``."""
    return f"topology.fibres.{name}"


def server_owner(name: str) -> str:
    """The provenance owner of a topology server's values: ``topology.servers.NAME``."""
    return f"topology.servers.{name}"


def _table(key_path: str, value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError.at(key_path, f"expected a table, got {value!r} ({type(value).__name__})")
    return value


def _check_name(key_path: str, name: str) -> None:
    if not _NAME_PATTERN.match(name):
        raise ConfigError.at(key_path, f"name {name!r} is not allowed; use a letter then letters, digits, '_' or '-'")


def _tagged(where: str, table: Mapping[str, object], fields: Sequence[str]) -> dict[str, tuple[object, Provenance]]:
    return {field: read_tagged_value(f"{where}.{field}", table[field]) for field in fields if field in table}


def _build(cls: type, where: str, values: Mapping[str, tuple[object, Provenance]], **plain: object):
    try:
        return cls(**{field: value for field, (value, _) in values.items()}, **plain)
    except ConfigError as error:
        if error.field in values and values[error.field][1].toml_key:
            raise error.renamed(values[error.field][1].toml_key) from None
        raise error.renamed(f"{where}.{error.field}" if error.field else where) from None


def read_topology(
    section: object, node_names: Sequence[str]
) -> tuple[Topology, dict[tuple[str, str], Provenance]]:
    """The :class:`Topology` of a ``[topology]`` table and the provenance of its values (module doc)."""
    table = _table("topology", section)
    refuse_unknown_keys("topology", table, TOPOLOGY_KEYS)
    provenance: dict[tuple[str, str], Provenance] = {}

    defaults_table = _table("topology.fibre_defaults", table.get("fibre_defaults", {}))
    refuse_unknown_keys("topology.fibre_defaults", defaults_table, FIBRE_DEFAULT_FIELDS)
    defaults = _tagged("topology.fibre_defaults", defaults_table, FIBRE_DEFAULT_FIELDS)

    servers: dict[str, Server] = {}
    for name, server_table in _table("topology.servers", table.get("servers", {})).items():
        where = f"topology.servers.{name}"
        _check_name(where, name)
        server_table = _table(where, server_table)
        refuse_unknown_keys(where, server_table, SERVER_FIELDS)
        if "switch_outputs" not in server_table:
            raise ConfigError.at(f"{where}.switch_outputs", "missing (a server needs its switch's outputs, >= 2)")
        values = _tagged(where, server_table, SERVER_FIELDS)
        servers[name] = _build(Server, where, values, name=name)
        provenance.update({(server_owner(name), field): tag for field, (_, tag) in values.items()})
    if not servers:
        raise ConfigError.at("topology.servers", "none given; a [topology] needs at least one "
                             "[topology.servers.NAME] with switch_outputs")

    fibres: dict[str, Fibre] = {}
    for name, fibre_table in _table("topology.fibres", table.get("fibres", {})).items():
        where = f"topology.fibres.{name}"
        _check_name(where, name)
        fibre_table = _table(where, fibre_table)
        refuse_unknown_keys(where, fibre_table, ("ends", *FIBRE_FIELDS))
        for required in ("ends", "length_km"):
            if required not in fibre_table:
                raise ConfigError.at(f"{where}.{required}", "missing (a fibre needs its two ends and its length)")
        ends = fibre_table["ends"]
        if not (isinstance(ends, list) and len(ends) == 2 and all(isinstance(end, str) for end in ends)):
            raise ConfigError.at(f"{where}.ends", f"expected two endpoint names (nodes or servers), got {ends!r}")
        values = {**defaults, **_tagged(where, fibre_table, FIBRE_FIELDS)}
        fibres[name] = _build(Fibre, where, values, name=name, ends=tuple(ends))
        provenance.update({(fibre_owner(name), field): tag for field, (_, tag) in values.items()})

    try:
        topology = Topology(nodes=tuple(node_names), servers=servers, fibres=fibres)
    except ConfigError as error:
        raise error.renamed(f"topology.{error.field}" if error.field else "topology") from None
    return topology, provenance


def _combined_tag(path: HeraldPath, field: str, tags: Sequence[Provenance | None], values: Sequence[float],
                  unit: str, rule: str) -> Provenance | None:
    """One fibre: its tag. Several: a tag naming each section's value and source, and how they combine."""
    if len(path.fibres) == 1:
        return tags[0]
    known = [tag for tag in tags if tag is not None]
    if not known:
        return None
    sources = {tag.source for tag in known}
    source = sources.pop() if len(sources) == 1 else "estimated"
    parts = "; ".join(f"{fibre.name} {value:g} {unit} ({tag.source if tag else 'not set'})"
                      for fibre, value, tag in zip(path.fibres, values, tags))
    reason = (f"Derived from {path.node}'s herald path to {path.server} through {len(path.fibres)} fibres: "
              f"{parts}; {rule}.")
    return Provenance(source=source, reason=reason, toml_key="topology.fibres")


def derived_node_values(
    topology: Topology,
    provenance: Mapping[tuple[str, str], Provenance],
    node: str,
    own: Mapping[str, tuple[object, Provenance]],
) -> dict[str, tuple[object, Provenance | None]]:
    """The node's fibre values derived from its herald path, each with its tag (module doc).

    ``own`` holds the node's values read from the file (its table over ``node_defaults``): its
    attenuation and delay apply on the sections whose fibre has none of its own.
    """
    path = topology.path(node)
    owners = [fibre_owner(fibre.name) for fibre in path.fibres]

    def tags(field: str) -> list[Provenance | None]:
        return [provenance.get((owner, field)) for owner in owners]

    lengths = [fibre.length_km for fibre in path.fibres]
    derived: dict[str, tuple[object, Provenance | None]] = {
        "fibre_length_km": (path.length_km, _combined_tag(path, "length_km", tags("length_km"), lengths, "km",
                                                          "lengths add")),
    }
    residuals = [fibre.polarization_residual_deg for fibre in path.fibres]
    derived["fibre_polarization_residual_deg"] = (
        path.polarization_residual_deg,
        _combined_tag(path, "polarization_residual_deg", tags("polarization_residual_deg"), residuals, "deg",
                      "independent residuals add in quadrature"),
    )
    for node_field, fibre_field in PER_KM_FIELDS.items():
        if not path.overrides(fibre_field) or node_field not in own:
            continue
        default, default_tag = own[node_field]
        if not isinstance(default, int | float) or isinstance(default, bool) or not math.isfinite(default):
            continue  # the node's own value is refused when the node is built
        section_values = [default if getattr(f, fibre_field) is None else getattr(f, fibre_field) for f in path.fibres]
        section_tags = [default_tag if getattr(f, fibre_field) is None else tag
                        for f, tag in zip(path.fibres, tags(fibre_field))]
        value = getattr(path, fibre_field)(float(default))
        unit = "dB/km" if fibre_field.startswith("attenuation") else "us/km"
        derived[node_field] = (value, _combined_tag(path, fibre_field, section_tags, section_values, unit,
                                                    "the length-weighted mean"))
    return derived
