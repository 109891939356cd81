"""Where a network or a link's parameters come from on the command line: a preset (with overrides) or a file."""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from metroqnet.config.calibration_file import read_calibration
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.presets import load_network, parse_override


def add_network_arguments(parser: argparse.ArgumentParser, *, preset_default: str | None = None) -> None:
    """``--preset``, ``--set KEY=VALUE`` (repeatable) and ``--calibration FILE``."""
    group = parser.add_argument_group("network (a preset, changed for this run with --set and --calibration)")
    default = f" (default: {preset_default})" if preset_default else ""
    group.add_argument("--preset", default=preset_default, help=f"network preset name or TOML file{default}")
    group.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="change one preset value for this run, tagged 'user', e.g. --set nodes.alice.fibre_length_km=12 "
        "(keys: nodes.NAME.FIELD, nodes.*.FIELD, server.FIELD, drift.FIELD, experiments.NAME.FIELD; "
        "'metroqnet preset show NAME' lists them)",
    )
    group.add_argument(
        "--calibration", type=Path, metavar="FILE",
        help="apply a calibration result (written by 'metroqnet calibrate'), its values tagged 'calibrated'",
    )


def network_from_args(args: argparse.Namespace) -> NetworkHardware:
    """The preset of ``--preset`` with the ``--calibration`` file's values and then the ``--set`` values applied."""
    if args.preset is None:
        raise ConfigError.at("--preset", "required: a preset name (e.g. hefei2024) or a network TOML file")
    overrides = [parse_override(text) for text in args.overrides]
    if args.calibration is not None:
        calibration = read_calibration(args.calibration)
        overrides = [*calibration.overrides(origin=str(args.calibration)), *overrides]
    try:
        return load_network(args.preset, overrides=overrides)
    except ConfigError as error:
        if error.field in ("calibration", "preset"):
            raise error.renamed(f"--{error.field}") from None
        raise


def add_link_source_arguments(parser: argparse.ArgumentParser) -> None:
    add_network_arguments(parser)
    source = parser.add_argument_group("link (--nodes of the preset, or --params)")
    source.add_argument("--nodes", help="the two nodes of the link, comma separated, e.g. alice,bob")
    source.add_argument("--storage-us", help="storage time in µs (default: that of the preset's link experiment of "
                        "these nodes, else of its first link experiment); a storage time the preset declares one link "
                        "experiment at takes that run's herald_transmission_scale too")
    source.add_argument(
        "--repetition-rate-hz",
        help="trial repetition rate for the rate figures (default with --preset: the rate of the preset's "
        "experiment at that storage time, if it declares one)",
    )
    source.add_argument("--params", type=Path, help="JSON or TOML file of link parameters (docs/link_model.md)")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are all different (JSON itself lets the last one win silently)."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def read_parameter_file(path: Path) -> LinkParameters:
    """Read a flat JSON/TOML table of link parameters (``_x``/``_y`` suffixes per node)."""
    text = read_text_file(path, what="--params")
    kind = "TOML" if path.suffix.lower() == ".toml" else "JSON"
    try:
        values = tomllib.loads(text) if kind == "TOML" else json.loads(text, object_pairs_hook=_unique_keys)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError.at("--params", f"{str(path)!r} is not valid {kind}: {error}") from None
    except _DuplicateKey as duplicate:
        raise ConfigError.at(f"{path}: {duplicate.key}", "given twice; give each parameter once") from None
    return LinkParameters.from_mapping(values, where=str(path))


def link_parameters_from_args(args: argparse.Namespace) -> LinkParameters:
    """Resolve ``--params`` or ``--preset/--nodes/--storage-us`` into link parameters."""
    from metroqnet.cli.arguments import non_negative_number, positive_number

    rate = None
    if args.repetition_rate_hz is not None:
        rate = positive_number(args.repetition_rate_hz, option="--repetition-rate-hz")
    if args.params is not None:
        given = [option for option, value in (("--preset", args.preset), ("--nodes", args.nodes),
                                              ("--storage-us", args.storage_us), ("--calibration", args.calibration),
                                              ("--set", args.overrides)) if value]
        if given:
            raise ConfigError.at("--params", f"give either --params or a preset, not both (also given: {', '.join(given)})")
        params = read_parameter_file(args.params)
        return params if rate is None else params.replace(repetition_rate_hz=rate)
    if args.preset is None:
        raise ConfigError.at("link source", "give --preset NAME --nodes X,Y [--storage-us T] or --params FILE")
    from metroqnet.experiments.link_setup import link_parameters_from_loop

    network = network_from_args(args)
    if args.nodes is None:
        raise ConfigError.at("--nodes", f"required with --preset; nodes of {network.name}: {', '.join(network.nodes)}")
    names = [name.strip() for name in args.nodes.split(",")]
    if len(names) != 2 or not all(names):
        raise ConfigError.at("--nodes", f"{args.nodes!r} is not two node names separated by a comma, e.g. alice,bob")
    if args.storage_us is None:
        storage_us = declared_storage_us(network, names)
    else:
        storage_us = non_negative_number(args.storage_us, option="--storage-us")
    if rate is None:
        rate = declared_repetition_rate_hz(network, storage_us)
    try:
        return link_parameters_from_loop(network, names[0], names[1], storage_us=storage_us, repetition_rate_hz=rate,
                                         herald_transmission_scale=declared_herald_scale(network, storage_us))
    except ConfigError as error:
        if error.field in ("node_x", "node_y"):
            raise error.renamed("--nodes") from None
        if error.field == "repetition_rate_hz":
            raise error.renamed("--repetition-rate-hz") from None
        raise


def declared_storage_us(network: NetworkHardware, nodes: list[str]) -> float:
    """The storage time of the preset's link experiment of these nodes (else of its first link experiment)."""
    declared = network.experiments_of_kind("link")
    if not declared:
        raise ConfigError.at("--storage-us", f"required: network {network.name!r} declares no link experiment")
    mine = [e for e in declared if e.nodes is not None and set(e.nodes) == set(nodes)]
    return (mine or declared)[0].storage_us


def declared_herald_scale(network: NetworkHardware, storage_us: float) -> float:
    """The herald_transmission_scale of the network's declared link experiment at this storage time, if exactly one (else 1)."""
    from metroqnet.experiments.link_setup import herald_transmission_scale

    scales = {herald_transmission_scale(e) for e in network.experiments_of_kind("link") if e.storage_us == storage_us}
    return scales.pop() if len(scales) == 1 else 1.0


def declared_repetition_rate_hz(network: NetworkHardware, storage_us: float) -> float | None:
    """The repetition rate of the network's declared link experiment at this storage time, if exactly one."""
    rates = {e.repetition_rate_hz for e in network.experiments_of_kind("link") if e.storage_us == storage_us}
    return rates.pop() if len(rates) == 1 else None
