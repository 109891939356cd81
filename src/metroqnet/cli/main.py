"""Command line: a thin layer that parses, calls the library, and prints or writes.

``main(argv)`` returns the exit status, so tests call it in-process. Refused
input exits with status 2 and one line on stderr naming the field and value.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from metroqnet.analysis.count_files import CountFileError
from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.cli.link_sources import add_link_source_arguments, link_parameters_from_args
from metroqnet.cli.tables import format_calibration, format_count_analysis, format_link_result, format_reproduction
from metroqnet.config.errors import ConfigError
from metroqnet.link.evaluate import evaluate_link


def _command_link(args: argparse.Namespace) -> int:
    params = link_parameters_from_args(args)
    result = evaluate_link(params)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(format_link_result(result))
    return 0


def _command_reproduce(args: argparse.Namespace) -> int:
    from metroqnet.config.presets import load_network
    from metroqnet.experiments.hefei_link import reproduce_link_experiments

    network = load_network(args.preset)
    rows = reproduce_link_experiments(network)
    if not args.calibrate:
        if args.json:
            print(json.dumps([row.as_dict() for row in rows], indent=2))
        else:
            print(format_reproduction(network, rows))
        return 0
    from metroqnet.experiments.calibration import calibrated_network

    calibrated, calibration = calibrated_network(network)
    calibrated_rows = reproduce_link_experiments(calibrated)
    if args.json:
        document = {
            "calibration": {**dataclasses.asdict(calibration),
                            "equivalent_phase_noise_rad": calibration.equivalent_phase_noise_rad},
            "estimated": [row.as_dict() for row in rows],
            "calibrated": [row.as_dict() for row in calibrated_rows],
        }
        print(json.dumps(document, indent=2))
    else:
        print(format_reproduction(network, rows, title="as estimated (ideal write-out overlap)"))
        print()
        print(format_calibration(calibration))
        print()
        print(format_reproduction(calibrated, calibrated_rows, title="with the calibrated write-out overlap"))
    return 0


def _command_analyze(args: argparse.Namespace) -> int:
    from metroqnet.analysis.count_files import read_count_file
    from metroqnet.analysis.uncertainty import analyze_counts

    records = read_count_file(args.file)
    if args.link is not None:
        if args.link not in records:
            raise ConfigError(f"--link: {args.link!r} is not in {str(args.file)!r}; links: {', '.join(records)}")
        records = {args.link: records[args.link]}
    analyses = {name: analyze_counts(record) for name, record in records.items()}
    if len(analyses) == 1:
        document: dict[str, object] = next(iter(analyses.values())).as_dict()
    else:
        document = {name: analysis.as_dict() for name, analysis in analyses.items()}
    out = args.out if args.out is not None else args.file.with_suffix(".analysis.json")
    text = json.dumps(document, indent=2)
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"--out: cannot write {str(out)!r} ({error.strerror or error})") from None
    if args.json:
        print(text)
    else:
        print("\n\n".join(format_count_analysis(analysis, source=str(args.file)) for analysis in analyses.values()))
    print(f"metroqnet analyze: wrote {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metroqnet",
        description="Digital twin of metropolitan quantum networks (heralded memory-memory entanglement).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    link = commands.add_parser(
        "link",
        help="exact figures of one heralded link",
        description="Evaluate one link exactly, from a preset (nodes, storage time) or a file of SPEC §2 link parameters.",
    )
    add_link_source_arguments(link)
    link.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    link.set_defaults(handler=_command_link)

    reproduce = commands.add_parser(
        "reproduce",
        help="the preset's link experiments beside the paper's published numbers",
        description="Evaluate every link experiment of a network preset and print the paper's numbers beside them.",
    )
    reproduce.add_argument("--preset", default="hefei2024", help="preset name or TOML file (default: hefei2024)")
    reproduce.add_argument(
        "--calibrate",
        action="store_true",
        help="also calibrate the write-out mode overlap to the published Alice-Bob C and show the predictions",
    )
    reproduce.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reproduce.set_defaults(handler=_command_reproduce)

    analyze = commands.add_parser(
        "analyze",
        help="entanglement figures with standard errors from a count file (simulated or a lab's)",
        description="Read a count file (docs/count_files.md), print every SPEC §2.6 figure ± its standard error "
        "per herald sign, and write them as JSON (one object per link; keyed by link name when the file "
        "holds several and --link is not given).",
    )
    analyze.add_argument("file", type=Path, help="count file (CSV, docs/count_files.md)")
    analyze.add_argument("--link", help="analyze only this link of the file")
    analyze.add_argument("--json", action="store_true", help="print the JSON instead of a table")
    analyze.add_argument("--out", type=Path, help="where to write the JSON (default: FILE with suffix .analysis.json)")
    analyze.set_defaults(handler=_command_analyze)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, CountFileError) as error:
        return _refuse(args.command, str(error))
    except UndefinedEstimate as error:
        # Valid parameters that leave a figure without events (e.g. no heralds at all).
        return _refuse(args.command, f"these link parameters leave the figures undefined: {error}")


def _refuse(command: str, message: str) -> int:
    """One line on stderr, exit status 2."""
    print(f"metroqnet {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
