"""Command line: a thin layer that parses, calls the library, and prints or writes.

``main(argv)`` returns the exit status, so tests call it in-process. Refused
input exits with status 2 and one line on stderr naming the field and value.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from metroqnet.analysis.count_files import CountFileError
from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.cli.durations import parse_duration_s
from metroqnet.cli.link_sources import add_link_source_arguments, link_parameters_from_args
from metroqnet.cli.tables import format_stabilization, format_calibration, format_count_analysis, format_link_result, format_reproduction
from metroqnet.config.errors import ConfigError
from metroqnet.link.evaluate import evaluate_link
from metroqnet.sampling.link_sampler import MAX_TRIALS


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


@contextlib.contextmanager
def _progress_bar(description: str):
    """A tqdm bar on stderr (hidden when stderr is not a terminal) fed by ``progress(done, total)``."""
    from tqdm import tqdm

    with tqdm(unit="trial", unit_scale=True, disable=None, file=sys.stderr, leave=False, desc=description) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def _command_analyze(args: argparse.Namespace) -> int:
    from metroqnet.analysis.count_files import read_count_file
    from metroqnet.analysis.uncertainty import analyze_counts

    records = read_count_file(args.file)
    if args.link is not None:
        if args.link not in records:
            raise ConfigError(f"--link: {args.link!r} is not in {str(args.file)!r}; links: {', '.join(records)}")
        records = {args.link: records[args.link]}
    background = read_count_file(args.background) if args.background is not None else {}
    missing = [name for name in records if args.background is not None and name not in background]
    if missing:
        raise ConfigError(f"--background: {str(args.background)!r} has no run of link(s) {', '.join(missing)}")
    analyses = {name: analyze_counts(record, background=background.get(name)) for name, record in records.items()}
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


def _trials_from_args(args: argparse.Namespace, repetition_rate_hz: float | None) -> int:
    if (args.trials is None) == (args.duration is None):
        raise ConfigError("--trials/--duration: give exactly one of them")
    if args.trials is not None:
        if not 0 <= args.trials <= MAX_TRIALS:
            raise ConfigError(f"--trials: {args.trials!r} must be in [0, {MAX_TRIALS}]")
        return args.trials
    if repetition_rate_hz is None:
        raise ConfigError(f"--duration: {args.duration!r} needs a repetition rate; give --repetition-rate-hz")
    trials = parse_duration_s(args.duration) * repetition_rate_hz
    if not trials <= MAX_TRIALS:
        raise ConfigError(
            f"--duration: {args.duration!r} at {repetition_rate_hz:g} Hz is {trials:.3g} trials, "
            f"more than the {MAX_TRIALS} a run can count"
        )
    return round(trials)


def _basis_weights(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    try:
        weights = tuple(float(part) for part in parts)
    except ValueError:
        weights = ()
    if len(weights) != 3:
        raise ConfigError(f"--basis-weights: {text!r} is not three numbers Z,X,Y, e.g. 1,1,1")
    return weights  # type: ignore[return-value]


def _command_simulate(args: argparse.Namespace) -> int:
    import numpy as np
    from metroqnet.analysis.count_files import write_count_file
    from metroqnet.analysis.events import write_event_file
    from metroqnet.analysis.uncertainty import analyze_counts
    from metroqnet.sampling.link_sampler import LinkSampler

    params = link_parameters_from_args(args)
    trials = _trials_from_args(args, params.repetition_rate_hz)
    if not 0 <= args.background_trials <= MAX_TRIALS:
        raise ConfigError(f"--background-trials: {args.background_trials!r} must be in [0, {MAX_TRIALS}]")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    if seed < 0:
        raise ConfigError(f"--seed: {seed!r} must be >= 0")
    link = args.nodes.replace(",", "-") if args.nodes else "x-y"
    sampler = LinkSampler(params, basis_weights=_basis_weights(args.basis_weights), link=link)
    with _progress_bar("simulate") as progress:
        if args.events:
            events = sampler.sample_events(trials, seed=seed, progress=progress)
            record = events.to_counts()
        else:
            record = sampler.sample(trials, seed=seed, progress=progress)
    background = None
    if args.background_trials:
        # The same link with the write pulses off: only dark counts and conversion noise herald.
        dark = LinkSampler(params.replace(excitation_probability_x=0.0, excitation_probability_y=0.0), link=link)
        background = dark.sample(args.background_trials, seed=seed + 1)
    analysis = analyze_counts(record, background=background)
    document = analysis.as_dict()
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            write_count_file(args.out / "counts.csv", record)
            if background is not None:
                write_count_file(args.out / "background.csv", background)
            if args.events:
                write_event_file(args.out / "events.csv", events)
            (args.out / "analysis.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"--out: cannot write to {str(args.out)!r} ({error.strerror or error})") from None
        print(f"metroqnet simulate: wrote {args.out}/counts.csv and analysis.json", file=sys.stderr)
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(format_count_analysis(analysis, source=f"simulated {link}, {trials:,} trials, seed {seed}"))
    return 0


def _command_stabilization(args: argparse.Namespace) -> int:
    from metroqnet.experiments.fig2_data import plot_fig2, run_fig2, write_fig2_tables

    if args.trials <= 0:
        raise ConfigError(f"--trials: {args.trials!r} must be > 0")
    if not 0 < args.hours <= 1000:
        raise ConfigError(f"--hours: {args.hours!r} is outside the allowed range (0, 1000]")
    with _progress_bar("drift tracking") as progress:
        fig = run_fig2(trials=args.trials, hours=args.hours, seed=args.seed, progress=progress)
    summary = fig.summary()
    if args.out is not None:
        try:
            written = write_fig2_tables(fig, args.out)
            try:
                written.append(plot_fig2(fig, args.out / "fig2.png"))
            except ImportError:
                print("metroqnet stabilization: matplotlib not installed, no PNG (pip install metroqnet[plot])",
                      file=sys.stderr)
            (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"--out: cannot write to {str(args.out)!r} ({error.strerror or error})") from None
        print(f"metroqnet stabilization: wrote {len(written) + 1} files to {args.out}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_stabilization(summary))
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
    analyze.add_argument(
        "--background",
        type=Path,
        help="count file of a background run of the same link(s) (write pulses off): adds the fraction of "
        "heralds from noise and the server SNR",
    )
    analyze.set_defaults(handler=_command_analyze)

    simulate = commands.add_parser(
        "simulate",
        help="Monte Carlo of heralded trials: counts as a lab would record them, and their analysis",
        description="Sample a run of the link trial by trial in distribution (skipping unheralded trials), "
        "write the count record and its analysis, print figures with standard errors.",
    )
    add_link_source_arguments(simulate)
    amount = simulate.add_argument_group("how long")
    amount.add_argument("--trials", type=int, help="number of trials")
    amount.add_argument("--duration", help="lab time at the repetition rate, e.g. 76h, 90min, 3600s")
    simulate.add_argument("--seed", type=int, help="seed (default: fresh entropy, recorded in the output)")
    simulate.add_argument(
        "--basis-weights", default="1,1,1", help="relative weights of the Z,X,Y bases chosen per trial (default 1,1,1)"
    )
    simulate.add_argument(
        "--background-trials",
        type=int,
        default=0,
        help="also run this many trials with the write pulses off (seed + 1), for heralds from noise and SNR",
    )
    simulate.add_argument("--events", action="store_true", help="also keep one row per heralded trial (time tags)")
    simulate.add_argument("--out", type=Path, help="directory for counts.csv, analysis.json (and events.csv)")
    simulate.add_argument("--json", action="store_true", help="print the analysis as JSON")
    simulate.set_defaults(handler=_command_simulate)

    stabilization = commands.add_parser(
        "stabilization",
        help="the paper's Fig. 2: residual phase, σ versus probe photons, visibility, drift tracking",
        description="Simulate the phase-stabilization loop and the frequency calibration trial by trial "
        "(Hefei settings) and report the Fig. 2 figures; --out writes one CSV per panel and a PNG.",
    )
    stabilization.add_argument("--trials", type=int, default=100_000, help="trials per point (default 100000)")
    stabilization.add_argument(
        "--hours", type=float, default=2.0, help="hours of drift tracking (default 2; the paper's run: 76, ~20 min)"
    )
    stabilization.add_argument("--seed", type=int, default=2024, help="seed (default 2024)")
    stabilization.add_argument("--out", type=Path, help="directory for the CSV tables, fig2.png and summary.json")
    stabilization.add_argument("--json", action="store_true", help="print the summary as JSON")
    stabilization.set_defaults(handler=_command_stabilization)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, CountFileError) as error:
        return _refuse(args.command, str(error))
    except UndefinedEstimate as error:
        # Valid input that leaves a figure without events (no heralds at all, an empty background run).
        return _refuse(args.command, f"the figures are undefined: {error}")
    except BrokenPipeError:
        # The reader went away (e.g. `metroqnet reproduce | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _refuse(command: str, message: str) -> int:
    """One line on stderr, exit status 2."""
    print(f"metroqnet {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
