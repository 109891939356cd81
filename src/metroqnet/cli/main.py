"""Command line: a thin layer that parses, calls the library, and prints or writes.

``main(argv)`` returns the exit status, so tests call it in-process. Refused
input exits with status 2 and one line on stderr naming the field and value.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from metroqnet.cli.arguments import basis_weights, duration_s, positive_number, seed_value, whole_number
from metroqnet.cli.link_sources import add_link_source_arguments, add_network_arguments, link_parameters_from_args
from metroqnet.cli.link_sources import network_from_args
from metroqnet.cli.network_command import add_network_command
from metroqnet.cli.sweep_command import add_sweep_commands
from metroqnet.cli.progress import done_total, progress_bar
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import check_output_file, check_output_folder
from metroqnet.config.validation import INT64_MAX

#: The calibration sampler's defaults as the CLI shows them (metroqnet.experiments.calibration.SamplerSettings).
DEFAULT_SAMPLER = {"walkers": 32, "steps": 1200}
#: Limits of the sampler's options: beyond them a run takes hours and its samples do not fit in memory.
MAX_WALKERS, MAX_STEPS = 4096, 1_000_000
#: The longest drift tracking: its per-window log is kept in memory (10 000 h is 3.6·10⁷ windows of 1 s).
MAX_TRACKING_HOURS = 10_000.0


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose refusals are one line on stderr and exit status 2 (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def _print_json(document: object) -> None:
    print(json.dumps(document, indent=2, allow_nan=False))


# --- commands -------------------------------------------------------------------------------------------


def _command_link(args: argparse.Namespace) -> int:
    from metroqnet.cli.tables import format_link_result
    from metroqnet.link.evaluate import evaluate_link

    result = evaluate_link(link_parameters_from_args(args))
    if args.json:
        _print_json(result.as_dict())
    else:
        print(format_link_result(result))
    return 0


def _reproduce_paper(args: argparse.Namespace, network) -> int:
    from metroqnet.config.calibration_file import read_calibration
    from metroqnet.experiments.paper.run import reproduce_paper

    if args.calibrate:
        raise ConfigError.at("--calibrate", "not with --out: the regenerated paper runs the whole calibration "
                             "(or takes --calibration FILE)")
    check_output_folder(args.out, overwrite=args.overwrite)
    seed = seed_value(args.seed)
    calibration = read_calibration(args.calibration) if args.calibration is not None else None

    def progress(section: str) -> None:
        print(f"metroqnet reproduce: {section} ...", file=sys.stderr, flush=True)

    # with --set, the page leads with what the change does: every exact figure at the preset's values and at these
    baseline = network_from_args(argparse.Namespace(**{**vars(args), "overrides": []})) if args.overrides else None
    with _stages("reproduce") as stage:
        run = reproduce_paper(network, out=args.out, seed=seed, quick=args.quick, overwrite=args.overwrite,
                              calibration=calibration, progress=progress, stage=stage, baseline=baseline)
    if args.json:
        _print_json([row.as_dict() for row in run.rows])
    else:
        quality = run.summary()["quality"]
        print(f"{network.name}: {quality['inside_2sigma']} of {quality['predicted']} predicted numbers within 2σ of "
              f"the paper; report: {args.out / 'report.html'}")
    for section in run.failed:
        print(f"metroqnet reproduce: section {section.name} failed: {section.error}", file=sys.stderr)
    print(f"metroqnet reproduce: wrote {args.out} (report.html, numbers.csv, summary.json and the sections' data)",
          file=sys.stderr)
    return 1 if run.failed else 0


def _command_reproduce(args: argparse.Namespace) -> int:
    from metroqnet.cli.calibration_tables import format_map_fit, format_reproduction_with_predictions
    from metroqnet.cli.tables import format_reproduction
    from metroqnet.experiments.hefei_link import reproduce_link_experiments

    network = network_from_args(args)
    if args.out is not None:
        return _reproduce_paper(args, network)
    if args.quick:
        raise ConfigError.at("--quick", "only with --out (the regenerated paper); without --out reproduce is exact")
    rows = reproduce_link_experiments(network)
    predictions = _file_predictions(args)
    if not args.calibrate:
        if args.json:
            _print_json([{**row.as_dict(), **_predicted(predictions, row)} for row in rows])
        elif predictions:
            print(format_reproduction_with_predictions(network, rows, predictions))
        else:
            print(format_reproduction(network, rows))
        return 0
    from metroqnet.experiments.calibration import map_fit

    seed = seed_value(args.seed)
    with _stages("reproduce --calibrate") as stage:
        fit = map_fit(network, seed=seed, stage=stage)
    calibrated_rows = reproduce_link_experiments(fit.network)
    if args.json:
        _print_json({
            "calibration": {"method": "MAP (maximum of the posterior within the priors); fitted, not predicted",
                            "seed": seed, "values": fit.values, "estimated": fit.estimated, "chi2": fit.chi2},
            "estimated": [row.as_dict() for row in rows],
            "calibrated": [{**row.as_dict(), **_predicted(predictions, row)} for row in calibrated_rows],
        })
    else:
        print(format_reproduction(network, rows, title="as estimated"))
        print()
        print(format_map_fit(fit))
        print()
        title = "with the MAP values: these numbers were FITTED, not predicted"
        if predictions:
            print(format_reproduction_with_predictions(fit.network, calibrated_rows, predictions, title=title))
        else:
            print(format_reproduction(fit.network, calibrated_rows, title=title))
            print("Predictions (each number from a fit without it): metroqnet calibrate --out FILE (leave-one-out), "
                  "then metroqnet reproduce --calibration FILE")
    return 0


def _file_predictions(args: argparse.Namespace) -> dict:
    """The leave-one-out rows of the --calibration file, keyed by (setting, label); empty without them."""
    if getattr(args, "calibration", None) is None:
        return {}
    from metroqnet.config.calibration_file import read_calibration

    calibration = read_calibration(args.calibration)
    rows = list(calibration.predictions().values())
    block = calibration.report.get("not_fitted")
    rows += list(block.get("rows", [])) if isinstance(block, dict) else []
    return {(row["setting"], row["label"]): row for row in rows}


def _predicted(predictions: dict, row) -> dict[str, object]:
    found = predictions.get((row.experiment, row.figure))
    if found is None:
        return {}
    return {"predicted": {name: found.get(name) for name in (
        "method", "mean", "sd", "low_68", "high_68", "low_2sigma", "high_2sigma", "z", "inside_2sigma")}}


@contextlib.contextmanager
def _stages(command: str):
    """Progress bars on stderr, one per stage; a stage's unit is its description's trailing "(units)"."""
    from metroqnet.cli.progress import progress_bar

    with contextlib.ExitStack() as bars:
        def stage(description: str, total: int):
            bars.close()
            named = re.search(r"\((\w+?)s?\)$", description)
            unit = named.group(1) if named else "step"
            return bars.enter_context(progress_bar(f"{command}: {description}", total=total, unit=unit))

        yield stage


def _command_calibrate(args: argparse.Namespace) -> int:
    from metroqnet.cli.calibration_tables import format_calibration_report
    from metroqnet.config.calibration_file import calibration_text
    from metroqnet.config.files import write_text_file
    from metroqnet.experiments.calibration import SamplerSettings, calibrate, calibration_file

    _refuse_existing(args.out, args.overwrite, option="--out")
    network = network_from_args(args)
    seed = seed_value(args.seed)
    try:
        settings = SamplerSettings(
            walkers=whole_number(args.walkers, option="--walkers", low=4, high=MAX_WALKERS),
            steps=whole_number(args.steps, option="--steps", low=2, high=MAX_STEPS),
            burn_in=whole_number(args.burn_in, option="--burn-in") if args.burn_in is not None else None,
            refit_steps=whole_number(args.refit_steps, option="--refit-steps", low=2, high=MAX_STEPS)
            if args.refit_steps is not None else None,
        )
    except ConfigError as error:
        if error.field in ("walkers", "steps", "burn_in", "refit_steps"):
            raise error.renamed("--" + error.field.replace("_", "-")) from None
        raise
    try:
        with _stages("calibrate") as stage:
            result = calibrate(network, seed=seed, settings=settings, stage=stage, links_out=args.links_out)
    except ConfigError as error:
        if error.field == "walkers":
            raise error.renamed("--walkers") from None
        raise
    calibration = calibration_file(result)
    text = calibration_text(calibration)
    write_text_file(args.out, text, what="--out")
    if args.json:
        print(text, end="")
    else:
        print(format_calibration_report(calibration, path=str(args.out)))
    print(f"metroqnet calibrate: wrote {args.out} (apply it with --calibration {args.out})", file=sys.stderr)
    return 0


def _command_preset(args: argparse.Namespace) -> int:
    from metroqnet.config.listing import value_rows
    from metroqnet.config.presets import available_presets

    if args.action == "list":
        print("\n".join(available_presets()))
        return 0
    network = network_from_args(args)
    rows = value_rows(network)
    if args.json:
        _print_json({"network": network.name, "values": [row.as_dict() for row in rows]})
    else:
        from metroqnet.cli.preset_table import format_value_rows

        print(format_value_rows(network, rows))
    return 0


def _refuse_existing(path: Path | None, overwrite: bool, *, option: str) -> None:
    if path is not None:
        check_output_file(path, overwrite=overwrite, option=option)


def _check_out_folder(path: Path | None, overwrite: bool) -> None:
    if path is not None:
        check_output_folder(path, overwrite=overwrite)


def _command_analyze(args: argparse.Namespace) -> int:
    from metroqnet.analysis.count_files import read_count_file
    from metroqnet.analysis.uncertainty import analyze_counts
    from metroqnet.cli.tables import format_count_analysis
    from metroqnet.config.files import write_text_file

    _refuse_existing(args.out, args.overwrite, option="--out")
    records = read_count_file(args.file)
    if args.link is not None:
        if args.link not in records:
            raise ConfigError.at("--link", f"{args.link!r} is not in {str(args.file)!r}; links: {', '.join(records)}")
        records = {args.link: records[args.link]}
    background = read_count_file(args.background) if args.background is not None else {}
    missing = [name for name in records if args.background is not None and name not in background]
    if missing:
        raise ConfigError.at("--background", f"{str(args.background)!r} has no run of link(s) {', '.join(missing)}")
    analyses = {name: analyze_counts(record, background=background.get(name)) for name, record in records.items()}
    if len(analyses) == 1:
        document: dict[str, object] = next(iter(analyses.values())).as_dict()
    else:
        document = {name: analysis.as_dict() for name, analysis in analyses.items()}
    text = json.dumps(document, indent=2, allow_nan=False)
    if args.out is not None:
        write_text_file(args.out, text + "\n", what="--out")
    if args.json:
        print(text)
    else:
        print("\n\n".join(format_count_analysis(analysis, source=str(args.file)) for analysis in analyses.values()))
    if args.out is not None:
        print(f"metroqnet analyze: wrote {args.out}", file=sys.stderr)
    return 0


def _trials_from_args(args: argparse.Namespace, repetition_rate_hz: float | None) -> int:
    if (args.trials is None) == (args.duration is None):
        raise ConfigError.at("--trials/--duration", "give exactly one of them")
    if args.trials is not None:
        return whole_number(args.trials, option="--trials", low=1)
    if repetition_rate_hz is None:
        raise ConfigError.at("--duration", f"{args.duration!r} needs a repetition rate; give --repetition-rate-hz")
    trials = duration_s(args.duration) * repetition_rate_hz
    if not trials <= INT64_MAX:
        raise ConfigError.at(
            "--duration", f"{args.duration!r} at {repetition_rate_hz:g} Hz is {trials:.3g} trials, more than the "
            f"{INT64_MAX} a run can count"
        )
    return round(trials)


def _seed_from_args(args: argparse.Namespace) -> int:
    from metroqnet.config.seeds import fresh_seed

    return seed_value(args.seed) if args.seed is not None else fresh_seed()


def _command_simulate(args: argparse.Namespace) -> int:
    from metroqnet.cli.tables import format_count_analysis
    from metroqnet.experiments.simulation import simulate_link

    params = link_parameters_from_args(args)
    trials = _trials_from_args(args, params.repetition_rate_hz)
    background_trials = whole_number(args.background_trials, option="--background-trials")
    weights = basis_weights(args.basis_weights)
    seed = _seed_from_args(args)
    _check_out_folder(args.out, args.overwrite)  # before the run, not after it
    link = args.nodes.replace(",", "-").replace(" ", "") if args.nodes else "x-y"
    with progress_bar("simulate", total=trials) as advance:
        run = simulate_link(params, trials=trials, seed=seed, link=link, basis_weights=weights, events=args.events,
                            background_trials=background_trials, progress=done_total(advance))
    if args.out is not None:
        written, removed = run.write(args.out, overwrite=args.overwrite)
        for path in removed:
            print(f"metroqnet simulate: removed {path} (an earlier run's output)", file=sys.stderr)
        print(f"metroqnet simulate: wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    if args.json:
        _print_json(run.analysis.as_dict())
    else:
        print(f"seed {seed}")
        print(format_count_analysis(run.analysis))
    return 0


def _command_stabilization(args: argparse.Namespace) -> int:
    from metroqnet.cli.tables import format_stabilization
    from metroqnet.experiments.fig2_data import fig2_trials, run_fig2, write_fig2
    from metroqnet.experiments.phase_stabilization import check_tracking_hours, check_trials, stabilization_setup

    try:
        setup = stabilization_setup(network_from_args(args), args.experiment)
    except ConfigError as error:
        if error.field == "experiment":
            raise error.renamed("--experiment") from None
        raise
    trials = whole_number(args.trials, option="--trials")
    try:
        check_trials(trials)
    except ConfigError as error:
        raise error.renamed("--trials") from None
    hours = positive_number(args.hours, option="--hours", high=MAX_TRACKING_HOURS) if args.hours is not None else (
        setup.duration_h)
    if hours is None:
        raise ConfigError.at("--hours", f"experiment {setup.experiment!r} gives no duration_h; give --hours")
    try:
        check_tracking_hours(setup, hours)
    except ConfigError as error:
        raise error.renamed("--hours") from None
    seed = _seed_from_args(args)
    _check_out_folder(args.out, args.overwrite)
    with progress_bar("stabilization", total=fig2_trials(setup, trials=trials, hours=hours)) as advance:
        fig = run_fig2(setup, trials=trials, hours=hours, seed=seed, progress=advance)
    summary = fig.summary()
    if args.out is not None:
        written, notes = write_fig2(fig, args.out, overwrite=args.overwrite)
        for note in notes:
            print(f"metroqnet stabilization: {note}", file=sys.stderr)
        print(f"metroqnet stabilization: wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    if args.json:
        _print_json(summary)
    else:
        print(format_stabilization(summary))
    return 0


# --- the parser --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="metroqnet",
        description="Digital twin of metropolitan quantum networks (heralded memory-memory entanglement).",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)

    def command(name: str, **options: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, allow_abbrev=False, **options)

    link = command("link", help="exact figures of one heralded link",
                   description="Evaluate one link exactly, from a preset (nodes, storage time) or a file of link "
                   "parameters (docs/link_model.md).")
    add_link_source_arguments(link)
    link.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    link.set_defaults(handler=_command_link)

    reproduce = command("reproduce", help="the preset's link experiments beside the paper's published numbers",
                        description="Evaluate every link experiment of a network preset and print the paper's "
                        "numbers beside them.")
    add_network_arguments(reproduce, preset_default="hefei2024")
    reproduce.add_argument("--calibrate", action="store_true",
                           help="also fit the preset's [calibration.priors] values to the published numbers (MAP only, "
                           "seconds) and show the figures with them: fitted, not predicted")
    reproduce.add_argument("--seed", default="2024", help="seed of the MAP search's random starts (default 2024)")
    reproduce.add_argument("--json", action="store_true", help="print JSON instead of a table (with --out: the "
                           "published numbers as rows with experiment, figure, model, model_error, paper, paper_error, "
                           "deviation_sigma, role)")
    reproduce.add_argument("--out", type=Path, help="regenerate the paper into this folder: every section simulated "
                           "(the calibration with leave-one-out unless --calibration gives one, Fig. 2, Fig. 4, "
                           "Table 1), data files, numbers.csv and report.html")
    reproduce.add_argument("--quick", action="store_true", help="with --out: smaller statistics, for a first look")
    reproduce.add_argument("--overwrite", action="store_true", help="with --out: write into a folder that holds files")
    reproduce.set_defaults(handler=_command_reproduce)

    calibrate = command("calibrate", help="fit the preset's estimated values to every published number: posterior, "
                        "identifiability, leave-one-out predictions; writes a calibration file",
                        description="Calibrate the values of the preset's [calibration.priors] against every published "
                        "number with its error (docs/calibration.md): MAP, posterior samples (emcee), Fisher "
                        "eigendirections, and each number predicted by a fit that excludes it. Writes the calibration "
                        "file (the MAP values with the report); apply it to any command with --calibration FILE. The "
                        "same seed gives the same file.")
    add_network_arguments(calibrate, preset_default="hefei2024")
    calibrate.add_argument("--out", type=Path, required=True, help="the calibration file to write (JSON)")
    calibrate.add_argument("--overwrite", action="store_true", help="replace an existing file")
    calibrate.add_argument("--seed", default="2024", help="seed, an integer >= 0 (default 2024)")
    calibrate.add_argument("--walkers", default=str(DEFAULT_SAMPLER["walkers"]),
                           help=f"walkers of the ensemble sampler, even (default {DEFAULT_SAMPLER['walkers']})")
    calibrate.add_argument("--steps", default=str(DEFAULT_SAMPLER["steps"]),
                           help=f"steps of the sampler per run (default {DEFAULT_SAMPLER['steps']})")
    calibrate.add_argument("--burn-in", help="steps discarded at the start of the main run (default: a third of "
                           "--steps)")
    calibrate.add_argument("--refit-steps", help="steps of each leave-one-out refit (default: half of --steps; a "
                           "third of them burn-in)")
    calibrate.add_argument("--links-out", action="store_true", help="also leave each published link's numbers out "
                           "together and predict them by a refit (one refit per link, ~15 s each)")
    calibrate.add_argument("--json", action="store_true", help="print the calibration file's JSON instead of tables")
    calibrate.set_defaults(handler=_command_calibrate)

    preset = command("preset", help="list the presets, or show every value of one with its provenance tag",
                     description="'preset list' names the packaged presets; 'preset show NAME' prints every hardware, "
                     "noise and loop value with its tag (paper / estimated / calibrated / user) and its reason.")
    preset.add_argument("action", choices=("show", "list"), help="show one preset, or list them")
    preset.add_argument("name", nargs="?", help="the preset (or network TOML file) to show")
    preset.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="show the preset with this value changed (tagged 'user')")
    preset.add_argument("--calibration", type=Path, metavar="FILE", help="show it with a calibration applied")
    preset.add_argument("--json", action="store_true", help="print JSON rows instead of text")
    preset.set_defaults(handler=_command_preset)

    analyze = command("analyze", help="entanglement figures with standard errors from a count file (simulated or a "
                      "lab's)", description="Read a count file (docs/count_files.md) and print every figure ± its "
                      "standard error per herald sign; --out writes them as JSON (one object per link; keyed by link "
                      "name when the file holds several and --link is not given).")
    analyze.add_argument("file", type=Path, help="count file (CSV, docs/count_files.md)")
    analyze.add_argument("--link", help="analyze only this link of the file")
    analyze.add_argument("--json", action="store_true", help="print the JSON instead of a table")
    analyze.add_argument("--out", type=Path, help="also write the JSON to this file")
    analyze.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    analyze.add_argument("--background", type=Path,
                         help="count file of a background run of the same link(s) (write pulses off): adds the "
                         "fraction of heralds from noise and the server SNR")
    analyze.set_defaults(handler=_command_analyze)

    simulate = command("simulate", help="Monte Carlo of heralded trials: counts as a lab would record them, and their "
                       "analysis", description="Sample a run of the link trial by trial in distribution (skipping "
                       "unheralded trials), print figures with standard errors; --out writes the count record and its "
                       "analysis.")
    add_link_source_arguments(simulate)
    amount = simulate.add_argument_group("how long")
    amount.add_argument("--trials", help="number of trials, e.g. 1000000 or 1e6")
    amount.add_argument("--duration", help="lab time at the repetition rate, with a unit: 76h, 90min, 3600s, 2d")
    simulate.add_argument("--seed", help="seed, an integer >= 0 (default: fresh entropy, printed and recorded)")
    simulate.add_argument("--basis-weights", default="1,1,1",
                          help="relative weights of the Z,X,Y bases chosen per trial (default 1,1,1)")
    simulate.add_argument("--background-trials", default="0",
                          help="also run this many trials with the write pulses off, for heralds from noise and SNR")
    simulate.add_argument("--events", action="store_true", help="also keep one row per heralded trial (time tags)")
    simulate.add_argument("--out", type=Path, help="folder for counts.csv, analysis.json (and events.csv, "
                          "background.csv); refused if it holds files, unless --overwrite")
    simulate.add_argument("--overwrite", action="store_true",
                          help="write into a folder that holds an earlier run (its outputs are replaced)")
    simulate.add_argument("--json", action="store_true", help="print the analysis as JSON")
    simulate.set_defaults(handler=_command_simulate)

    stabilization = command("stabilization", help="the paper's Fig. 2: residual phase, σ versus probe photons, "
                            "visibility, drift tracking", description="Simulate the phase-stabilization loop and the "
                            "frequency calibration trial by trial (the preset's stabilization experiment) and report "
                            "the Fig. 2 figures; --out writes one CSV per panel, a PNG and summary.json.")
    add_network_arguments(stabilization, preset_default="hefei2024")
    stabilization.add_argument("--experiment", help="the preset's stabilization experiment (default: the first)")
    stabilization.add_argument("--trials", default="100000", help="trials per point (default 100000)")
    stabilization.add_argument("--hours", help="hours of drift tracking (default: the experiment's duration_h, "
                               f"76 h for hefei2024; at most {MAX_TRACKING_HOURS:g})")
    stabilization.add_argument("--seed", default="2024", help="seed, an integer >= 0 (default 2024)")
    stabilization.add_argument("--out", type=Path, help="folder for the CSV tables, fig2.png and summary.json")
    stabilization.add_argument("--overwrite", action="store_true", help="write into a folder that holds files")
    stabilization.add_argument("--json", action="store_true", help="print the summary as JSON")
    stabilization.set_defaults(handler=_command_stabilization)

    add_network_command(commands, command)
    add_sweep_commands(commands, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a refusal (2), already printed
        return int(stop.code or 0)
    if unknown:
        return _refuse(args.command, _unknown_arguments(parser, args.command, unknown))
    missing = _options_without_a_value(parser, args)
    if missing:
        return _refuse(args.command, f"{missing}: expected a value, got '--' (an option's value may not be '--')")
    if args.command == "preset" and args.action == "show":
        if args.name is None:
            return _refuse("preset", "name: missing; give the preset to show, e.g. metroqnet preset show hefei2024")
        args.preset = args.name
    try:
        return args.handler(args)
    except ConfigError as error:
        return _refuse(args.command, str(error))
    except ValueError as error:
        from metroqnet.analysis.estimators import UndefinedEstimate

        if not isinstance(error, UndefinedEstimate):
            raise
        # Valid input that leaves a figure without events (no heralds at all, an empty background run).
        return _refuse(args.command, f"the figures are undefined: {error}")
    except KeyboardInterrupt:
        print(f"metroqnet {args.command}: interrupted; nothing more was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `metroqnet reproduce | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _options_without_a_value(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    """The first option given as ``--option=--``: argparse stores an empty list for it instead of a string."""
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    for action in commands.choices[args.command]._actions:
        value = getattr(args, action.dest, None)
        values = value if isinstance(action, argparse._AppendAction) and isinstance(value, list) else [value]
        if any(isinstance(item, list) for item in values):
            return action.option_strings[0] if action.option_strings else action.dest
    return None


def _unknown_arguments(parser: argparse.ArgumentParser, command: str, unknown: list[str]) -> str:
    """``unrecognized arguments: --worker 2 (did you mean --workers?)``: the closest option of the command."""
    import difflib

    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    options = [option for action in commands.choices[command]._actions for option in action.option_strings]
    first = next((text.split("=", 1)[0] for text in unknown if text.startswith("--")), None)
    close = difflib.get_close_matches(first, options, n=1, cutoff=0.6) if first else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unrecognized arguments: {' '.join(unknown)}{hint}; see metroqnet {command} --help"


def _refuse(command: str, message: str) -> int:
    """One line on stderr, exit status 2."""
    print(f"metroqnet {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
