"""``metroqnet network``: the server switching node pairs for hours, every link's rate and figures."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from metroqnet.cli.arguments import positive_number, seed_value, whole_number
from metroqnet.cli.link_sources import add_network_arguments, network_from_args
from metroqnet.cli.progress import progress_bar
from metroqnet.config.errors import ConfigError
from metroqnet.config.seeds import child
from metroqnet.config.files import check_output_folder, prepare_output_folder, write_text_file

#: Switch policies the command offers (``requests`` serves the queue given by ``--requests``).
CLI_POLICIES = ("qrng", "round-robin", "requests")
#: The scan's angles: 0 to 2π in steps of π/6 (13 points, both ends).
THETA_SCAN_RAD = tuple(k * math.pi / 6 for k in range(13))
#: The scan's stream under the command's seed (the network run takes streams 0 and 1).
THETA_STREAM = 2
#: The drift tracking's stream under the command's seed.
DRIFT_STREAM = 3
#: The Table 1 runs' stream under the command's seed.
TABLE1_STREAM = 4
#: Figures the table shows per link and sign.
TABLE_FIGURES = ("concurrence", "atomic_concurrence", "fidelity")


def add_network_command(commands, command) -> None:
    """Register the ``network`` subcommand on the CLI's subparsers (``command(name, **options)`` makes one)."""
    from metroqnet.experiments.network_run import MAX_NETWORK_HOURS

    network = command("network", help="the server switching node pairs in timeslots: each link's rate and figures "
                      "(the paper's concurrent generation, Table 1)",
                      description="Run the preset's network: the server's switch gives each timeslot to one node pair "
                      "(QRNG or round robin), the phase loop runs every trial, each link's trials in its slots are "
                      "sampled and analysed. Prints per link its slots, trials, heralds, rate beside the fixed link's "
                      "and the schedule's prediction, and C, C~, F per herald sign with standard errors.")
    add_network_arguments(network, preset_default="hefei2024")
    network.add_argument("--hours", default="1", help=f"hours of operation (default 1; at most {MAX_NETWORK_HOURS:g})")
    network.add_argument("--seed", default="2024", help="seed, an integer >= 0 (default 2024)")
    network.add_argument("--policy", default="qrng", help=f"switch policy: {', '.join(CLI_POLICIES)} (default qrng)")
    network.add_argument("--requests", help="with --policy requests: the queue of links, comma separated, served one "
                         "slot each in order, then idle (e.g. alice-bob,bob-charlie,alice-bob)")
    network.add_argument("--experiment", help="the link experiment whose storage time and rate the links run at "
                         "(default: the preset's first link experiment, storage_5us for hefei2024: delayed choice)")
    network.add_argument("--theta-scan", action="store_true", help="also scan a phase theta applied at one node "
                         "(--theta-node, default charlie) and give <XX> of every link against it (Fig. 4a,b): exact, "
                         "and sampled with --theta-trials trials per point")
    network.add_argument("--theta-node", default="charlie", help="the node whose local phase the scan sets "
                         "(default charlie)")
    network.add_argument("--theta-trials", default="1e8", help="trials per link and angle of the scan, all measured "
                         "in X (default 1e8)")
    network.add_argument("--drift", action="store_true", help="also track the cavity drift with each pair's frequency "
                         "calibration running only in its slots, beside the same pair as a fixed link (the paper's "
                         "'one-third effective calibration time'); every trial of the loop simulated")
    network.add_argument("--table1", action="store_true", help="also give Table 1 and Fig. 4c,d for every published "
                         "link: exact, simulated at run lengths estimated from the paper's error bars, and (with "
                         "--calibration) the leave-one-out predictions, each beside the paper")
    network.add_argument("--out", type=Path, help="folder for network.json, schedule.csv and counts.csv")
    network.add_argument("--overwrite", action="store_true", help="write into a folder that holds files")
    network.add_argument("--json", action="store_true", help="print one JSON object (links keyed by name)")
    network.set_defaults(handler=command_network)


def _experiment(network, name: str | None) -> str:
    if name is not None:
        try:
            declared = network.experiment(name)
        except ConfigError as error:
            raise error.renamed("--experiment") from None
        if declared.kind != "link":
            raise ConfigError.at("--experiment", f"{name!r} is a {declared.kind!r} experiment; give a link experiment "
                                 f"({', '.join(e.name for e in network.experiments_of_kind('link')) or 'none'})")
        return name
    declared = network.experiments_of_kind("link")
    if not declared:
        raise ConfigError.at("--experiment", f"network {network.name!r} declares no link experiment; declare one "
                             "(its storage time and repetition rate)")
    return declared[0].name


def _requests(network, text: str | None, policy: str) -> list[tuple[str, str]]:
    """The --requests queue as node pairs; each item a link name ``x-y`` of two nodes of the server."""
    from metroqnet.experiments.network_run import link_label, server_nodes

    if text is None:
        if policy == "requests":
            raise ConfigError.at("--requests", "missing: --policy requests serves a queue; give e.g. "
                                 "--requests alice-bob,bob-charlie")
        return []
    if policy != "requests":
        raise ConfigError.at("--requests", f"given with --policy {policy}; a request queue needs --policy requests")
    nodes = server_nodes(network)
    links = {}
    for first in nodes:
        for second in nodes:
            if first != second:
                links[link_label((first, second))] = (first, second)
    queue = []
    for item in text.split(","):
        name = item.strip()
        if name not in links:
            shown = ", ".join(sorted(links)[:6]) + (", ..." if len(links) > 6 else "")
            raise ConfigError.at("--requests", f"{name!r} is not a link of two of the server's nodes; allowed: "
                                 f"x-y of {', '.join(nodes)} (e.g. {shown})")
        queue.append(links[name])
    return queue


def drift_csv(drift) -> str:
    """Every pair's calibration windows in its slots: link, time_h, drift_hz, compensation_hz, residual_hz."""
    from metroqnet.experiments.network_run import link_label

    rows = ["link,time_h,drift_hz,compensation_hz,residual_hz"]
    for comparison in drift:
        label, track = link_label(comparison.pair), comparison.switched
        rows += [f"{label},{t!r},{d!r},{c!r},{r!r}" for t, d, c, r in zip(
            track.time_h.tolist(), track.drift_hz.tolist(), track.compensation_hz.tolist(), track.residual_hz.tolist())]
    return "\n".join(rows) + "\n"


def format_drift(document: dict[str, object]) -> str:
    """Each pair's frequency tracking with its calibration in its own slots, beside the fixed link's."""
    lines = [
        "frequency calibration in each pair's own slots (max |residual| after 3 windows; the paper: <= 0.15 kHz over "
        "76 h, fixed link)",
        f"{'link':<16}{'cal. share':>11}{'max |res| (kHz)':>17}{'fixed link':>12}{'res. sd (Hz)':>14}"
        f"{'fixed':>8}   phase at the write: 1st trial after switch-in / steady",
    ]
    for label, link in document["links"].items():
        drift = link.get("drift")
        if drift is None:
            continue
        first = drift["first_trial_phase_std_deg"]
        shown = "—" if first is None else f"{first:.0f}°"
        lines.append(f"{label:<16}{drift['calibration_share']:>11.3f}{drift['max_abs_residual_hz'] / 1e3:>17.3f}"
                     f"{drift['fixed_link_max_abs_residual_hz'] / 1e3:>12.3f}{drift['residual_std_hz']:>14.1f}"
                     f"{drift['fixed_link_residual_std_hz']:>8.1f}   {shown} / {drift['steady_phase_std_deg']:.0f}°")
    return "\n".join(lines)


def command_network(args: argparse.Namespace) -> int:
    from metroqnet.experiments.network_run import MAX_NETWORK_HOURS, run_network

    network = network_from_args(args)
    hours = positive_number(args.hours, option="--hours", high=MAX_NETWORK_HOURS)
    seed = seed_value(args.seed)
    if args.policy not in CLI_POLICIES:
        raise ConfigError.at("--policy", f"{args.policy!r} is not a policy; allowed: {', '.join(CLI_POLICIES)}")
    experiment = _experiment(network, args.experiment)
    requests = _requests(network, args.requests, args.policy)
    theta_trials = whole_number(args.theta_trials, option="--theta-trials", low=1)
    if args.theta_scan:
        try:
            network.node(args.theta_node, field_name="--theta-node")
        except ConfigError as error:
            raise error.renamed("--theta-node") from None
    if args.out is not None:
        check_output_folder(args.out, overwrite=args.overwrite)  # before the run, not after it
    rate = network.experiment(experiment).repetition_rate_hz
    with progress_bar("network", total=round(hours * 3600 * rate)) as advance:
        run = run_network(network, hours=hours, seed=seed, experiment=experiment, policy=args.policy,
                          requests=requests, progress=advance)
    document = run.as_dict()
    scan = None
    if args.theta_scan:
        from metroqnet.experiments.theta_scan import theta_scan

        scan = theta_scan(network, node=args.theta_node, thetas_rad=THETA_SCAN_RAD, experiment=experiment,
                          trials_per_point=theta_trials, seed=child(seed, THETA_STREAM),
                          pairs=[link.pair for link in run.links.values()])
        document["theta_scan"] = scan.as_dict()
    drift = None
    if args.drift:
        from metroqnet.experiments.network_drift import network_drift_comparison
        from metroqnet.experiments.network_run import link_label

        try:
            drift = network_drift_comparison(network, run.schedule, seed=child(seed, DRIFT_STREAM),
                                             repetition_rate_hz=rate)
        except ConfigError as error:
            if error.field == "hours":
                raise error.renamed("--hours") from None
            raise
        for comparison in drift:
            document["links"][link_label(comparison.pair)]["drift"] = comparison.summary()
    table = None
    if args.table1:
        from metroqnet.config.calibration_file import read_calibration
        from metroqnet.experiments.table1 import table1

        calibration = read_calibration(args.calibration) if args.calibration is not None else None
        table = table1(network, seed=child(seed, TABLE1_STREAM), calibration=calibration)
        document["table1"] = {"rows": [row.as_dict() for row in table.rows],
                              "run_lengths": [length.as_dict() for length in table.run_lengths],
                              "notes": list(table.notes)}
    if args.out is not None:
        written = write_network_run(run, args.out, overwrite=args.overwrite)
        if table is not None:
            written.append(write_text_file(args.out / "table1.json", json.dumps(document["table1"], indent=2,
                                                                                 allow_nan=False) + "\n", what="--out"))
        if drift is not None:
            written.append(write_text_file(args.out / "drift.csv", drift_csv(drift), what="--out"))
        if scan is not None:
            from metroqnet.experiments.theta_scan import write_theta_scan

            scan_files, notes = write_theta_scan(scan, args.out, overwrite=True)
            written += scan_files
            for note in notes:
                print(f"metroqnet network: {note}", file=sys.stderr)
        print(f"metroqnet network: wrote {', '.join(str(path) for path in written)}", file=sys.stderr)
    if args.json:
        print(json.dumps(document, indent=2, allow_nan=False))
    else:
        print(format_network_run(document))
        if drift is not None:
            print()
            print(format_drift(document))
        if scan is not None:
            print()
            print(format_theta_scan(document["theta_scan"]))
        if table is not None:
            print()
            print(format_table1(document["table1"]))
    return 0


def write_network_run(run, directory: Path, *, overwrite: bool) -> list[Path]:
    """network.json (the --json object), schedule.csv (slot, start_s, link) and counts.csv (every link)."""
    from metroqnet.analysis.count_files import write_count_file

    folder = prepare_output_folder(directory, overwrite=overwrite)
    written = [write_text_file(folder / "network.json", json.dumps(run.as_dict(), indent=2, allow_nan=False) + "\n",
                               what="--out")]
    labels = ["-".join(pair) for pair in run.schedule.pairs]
    rows = ["slot,start_s,link"]
    for slot, (start_s, pair) in enumerate(zip(run.schedule.start_s, run.schedule.pair)):
        rows.append(f"{slot},{start_s:.9f},{labels[pair] if pair >= 0 else 'idle'}")
    written.append(write_text_file(folder / "schedule.csv", "\n".join(rows) + "\n", what="--out"))
    records = {label: link.record for label, link in run.links.items() if link.trials}
    if records:
        write_count_file(folder / "counts.csv", records)
        written.append(folder / "counts.csv")
    return written


def _value(figures: dict[str, object], name: str) -> str:
    value, error = figures.get(name), figures.get(f"{name}_stderr")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.3f} ± {error:.3f}" if error is not None else f"{value:.3f}"


def format_network_run(document: dict[str, object]) -> str:
    """The run as a text table: per link its share of the switch, rates and figures beside the fixed link's."""
    lines = [
        f"{document['network']}: {document['hours']:g} h of {document['policy']} switching, "
        f"{document['slots']} slots of {document['timeslot_s']:g} s ({document['idle_slots']} idle), "
        f"{document['trials_per_slot']} trials per slot, experiment {document['experiment']}",
        "",
        f"{'link':<16}{'slots':>7}{'trials':>12}{'heralds':>9}  {'rate (Hz)':<17}{'schedule (Hz)':>14}"
        f"{'fixed link (Hz)':>17}  read-out",
    ]
    links = document["links"]
    for label, link in links.items():
        rate = f"{link['rate_hz']:.4f} ± {link['rate_hz_stderr']:.4f}"
        lines.append(f"{label:<16}{link['slots']:>7}{link['trials']:>12}{link['heralds']:>9}  {rate:<17}"
                     f"{link['schedule_rate_hz']:>14.4f}{link['fixed_link_rate_hz']:>17.4f}  {link['readout_mode']} "
                     f"({link['storage_us']:g} µs; round trip {link['required_storage_us']:g} µs)")
    lines += ["", f"{'link':<16}{'sign':<6}" + "".join(f"{name:>28}" for name in ("C", "C~", "F")) + "   (fixed link)"]
    for label, link in links.items():
        for sign in ("plus", "minus"):
            figures, fixed = link[sign], link["fixed_link"][sign]
            shown = "".join(f"{_value(figures, name):>28}" for name in TABLE_FIGURES)
            exact = ", ".join(_value(fixed, name) for name in TABLE_FIGURES)
            lines.append(f"{label:<16}{sign:<6}{shown}   ({exact})")
    return "\n".join(lines)


def format_theta_scan(scan: dict[str, object]) -> str:
    """The θ scan: each link's fitted amplitude and phase per sign, and the two node links' phase difference."""
    lines = [f"<XX> against a phase theta at {scan['node']} ({len(scan['thetas_rad'])} angles, 0 to 2 pi; "
             f"{scan['trials_per_point']:.3g} trials per point): fit a cos(theta) + b sin(theta) + c"]
    for label, link in scan["links"].items():
        for sign in ("plus", "minus"):
            parts = []
            for kind in ("exact", "sampled"):
                fit = link[sign].get(f"fit_{kind}")
                if fit is None:
                    continue
                amplitude = f"{fit['amplitude']:.3f}"
                if fit.get("amplitude_stderr") is not None:
                    amplitude += f" ± {fit['amplitude_stderr']:.3f}"
                if fit.get("phase_rad") is None:
                    phase = "no phase (flat)"
                else:
                    phase = f"phase {math.degrees(fit['phase_rad']):.1f}"
                    if fit.get("phase_stderr_rad") is not None:
                        phase += f" ± {math.degrees(fit['phase_stderr_rad']):.1f}"
                    phase += " deg"
                parts.append(f"{kind}: amplitude {amplitude}, {phase}")
            lines.append(f"  {label:<16}{sign:<6} " + "; ".join(parts or ["no fit"]))
    difference = scan.get("phase_difference")
    if difference is not None:
        first, second = difference["links"]
        for kind in ("exact_rad", "sampled_rad"):
            for sign, value in (difference.get(kind) or {}).items():
                shown = "undefined" if value is None else f"{math.degrees(value):.1f} deg"
                lines.append(f"  {first} - {second} phase difference ({kind[:-4]}, {sign}): {shown} "
                             "(the paper: 90 deg; docs/theta_scan.md)")
    return "\n".join(lines)


def _estimate(row: dict[str, object] | None) -> str:
    if row is None:
        return ""
    if row["model_stderr"] is None:
        return f"{row['model']:.3f}"
    return f"{row['model']:.3f} ± {row['model_stderr']:.3f}"


def _deviation(row: dict[str, object] | None) -> str:
    value = None if row is None else row.get("deviation_sigma")
    return "" if value is None else f"{value:+.1f}σ"


def format_table1(table: dict[str, object]) -> str:
    """Table 1 and Fig. 4c,d per link and figure: paper, exact, simulated ± stderr, leave-one-out, deviations."""
    cells: dict[tuple[str, str], dict[str, dict[str, object]]] = {}
    for row in table["rows"]:
        cells.setdefault((row["link"], row["figure"]), {})[row["source"]] = row
    lengths = ", ".join(f"{length['link']} {length['trials']:.2e}" for length in table["run_lengths"])
    lines = [f"Table 1 and Fig. 4c,d: simulated runs of {lengths} trials (estimated from the paper's errors of C)",
             f"{'link':<15}{'figure':<10}{'paper':>15}{'exact':>9}{'simulated':>18}{'dev':>7}{'leave-one-out':>20}"
             f"{'dev':>7}  role"]
    for (link, figure), sources in cells.items():
        first = next(iter(sources.values()))
        paper = "—" if first["paper"] is None else f"{first['paper']:.3f} ± {first['paper_error']:.3f}"
        simulated, predicted = sources.get("simulated"), sources.get("leave-one-out")
        role = (predicted or first)["role"]
        lines.append(f"{link:<15}{figure:<10}{paper:>15}{_estimate(sources.get('exact')):>9}{_estimate(simulated):>18}"
                     f"{_deviation(simulated):>7}{_estimate(predicted):>20}{_deviation(predicted):>7}  {role}")
    lines += [f"note: {note}" for note in table["notes"]]
    return "\n".join(lines)
