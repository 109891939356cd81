"""Where a link's parameters come from on the command line: a preset or a parameter file."""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

from metroqnet.config.errors import ConfigError
from metroqnet.config.files import read_text_file
from metroqnet.config.link_parameters import LinkParameters


def add_link_source_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("link source (a preset with --nodes, or --params)")
    source.add_argument("--preset", help="network preset name or TOML file, e.g. hefei2024")
    source.add_argument("--nodes", help="the two nodes of the link, comma separated, e.g. alice,bob")
    source.add_argument("--storage-us", type=float, default=None, help="storage time in µs (default: 5)")
    source.add_argument(
        "--repetition-rate-hz",
        type=float,
        default=None,
        help="trial repetition rate for the rate figures (default with --preset: the rate of the preset's "
        "experiment at that storage time, if it declares one)",
    )
    source.add_argument("--params", type=Path, help="JSON or TOML file of SPEC §2 link parameters")


def read_parameter_file(path: Path) -> LinkParameters:
    """Read a flat JSON/TOML table of link parameters (``_x``/``_y`` suffixes per node)."""
    text = read_text_file(path, what="--params")
    try:
        values = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected one table/object of link parameters, got {type(values).__name__}")
    return LinkParameters.from_mapping(values, where=str(path))


def link_parameters_from_args(args: argparse.Namespace) -> LinkParameters:
    """Resolve ``--params`` or ``--preset/--nodes/--storage-us`` into link parameters."""
    if args.params is not None:
        if args.preset is not None or args.nodes is not None or args.storage_us is not None:
            raise ConfigError("--params: give either --params or --preset/--nodes/--storage-us, not both")
        params = read_parameter_file(args.params)
        if args.repetition_rate_hz is not None:
            params = params.replace(repetition_rate_hz=args.repetition_rate_hz)
        return params
    if args.preset is None:
        raise ConfigError("link source: give --preset NAME --nodes X,Y [--storage-us T] or --params FILE")
    from metroqnet.config.presets import load_network
    from metroqnet.physics.mapping import link_parameters

    network = load_network(args.preset)
    if args.nodes is None:
        raise ConfigError(f"--nodes: required with --preset; nodes of {network.name}: {', '.join(network.nodes)}")
    names = [name.strip() for name in args.nodes.split(",")]
    if len(names) != 2 or not all(names):
        raise ConfigError(f"--nodes: {args.nodes!r} is not two node names separated by a comma, e.g. alice,bob")
    storage_us = 5.0 if args.storage_us is None else args.storage_us
    rate = args.repetition_rate_hz
    if rate is None:
        rate = declared_repetition_rate_hz(network, storage_us)
    return link_parameters(network, names[0], names[1], storage_us=storage_us, repetition_rate_hz=rate)


def declared_repetition_rate_hz(network, storage_us: float) -> float | None:
    """The repetition rate of the network's declared experiment at this storage time, if exactly one."""
    rates = {e.repetition_rate_hz for e in network.experiments.values() if e.storage_us == storage_us}
    return rates.pop() if len(rates) == 1 else None
