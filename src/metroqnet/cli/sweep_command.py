"""``metroqnet sweep FILE --out STORE`` and ``metroqnet plot STORE``: design studies from a sweep file.

The sweep's tasks run on local processes (all CPUs) or a Dask cluster (``--scheduler``); each
finished task is recorded in ``STORE/results.sqlite`` as it arrives, so a killed sweep rerun with
the same command resumes. An ``[optimize]`` table asks for the best point under constraints
instead (or as well): ``STORE/optimum.json`` and ``STORE/optimization.csv`` (every sample, with
its place on the Pareto front).
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib.util
import io
import json
import math
import sys
from pathlib import Path

from metroqnet.cli.arguments import whole_number
from metroqnet.cli.progress import done_total, progress_bar
from metroqnet.config.errors import ConfigError
from metroqnet.config.files import write_text_file

#: The store's sub-folder for ``metroqnet plot``'s PNGs (default ``--out``).
PLOTS = "plots"
#: An optimisation's samples (with their place on the Pareto front) in its ``--out`` folder.
OPTIMIZATION_CSV = "optimization.csv"
#: The optimum with every figure, in its ``--out`` folder.
OPTIMUM_JSON = "optimum.json"


def add_sweep_commands(commands, command) -> None:
    """Register ``sweep`` and ``plot`` on the CLI's subparsers (``command(name, **options)`` makes one)."""
    sweep = command("sweep", help="run a design sweep file (a grid of tasks, or an optimisation) into a results store",
                    description="Run every task of a sweep file on local processes (all CPUs) or a Dask cluster, "
                    "recording each result in STORE/results.sqlite as it finishes: rerun the same command after a "
                    "crash and it resumes, computing nothing twice. A file with [optimize] finds the best point "
                    "under its constraints on the batch exact engine and writes it with its Pareto front. "
                    "File format: docs/sweeps.md; examples: examples/sweeps/.")
    sweep.add_argument("file", type=Path, metavar="FILE", help="the sweep file (TOML)")
    sweep.add_argument("--out", type=Path, required=True, metavar="STORE",
                       help="the results folder (made if missing; an existing store of the same sweep resumes)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", metavar="N", help="local worker processes (default: every CPU this process may use; 1 runs in-process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler, e.g. tcp://10.0.0.5:8786 (needs metroqnet[cluster])")
    sweep.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    sweep.set_defaults(handler=_command_sweep)

    plot = command("plot", help="draw a sweep store's curves and rate-fidelity frontier to PNG",
                   description="Read a sweep store (metroqnet sweep --out STORE) and draw each figure against each "
                   "varied setting (one line per combination of the others) and the rate-fidelity frontier with its "
                   "Pareto front, as PNG files.")
    plot.add_argument("store", type=Path, metavar="STORE", help="a sweep's results folder")
    plot.add_argument("--out", type=Path, metavar="DIR", help=f"where the PNGs go (default: STORE/{PLOTS})")
    plot.add_argument("--x", metavar="SETTING", help="one setting to plot against (default: every varied one)")
    plot.add_argument("--y", metavar="NAME", action="append",
                      help="a result to plot, e.g. min.pme_rate_hz (repeatable; default: the usual figures)")
    plot.add_argument("--frontier", metavar="RATE,FIDELITY",
                      help="the frontier's two results (default: the worst link's PME rate and fidelity)")
    plot.add_argument("--threshold", metavar="NAME=VALUE", action="append",
                      help="a constraint drawn as a dashed line, e.g. min.fidelity=0.7 (repeatable)")
    plot.set_defaults(handler=_command_plot)


def _progress_bar(total: int):
    """A tqdm bar: tasks done, rate, time left (hidden off a terminal)."""
    return progress_bar("metroqnet sweep", total=total, unit="task", unit_scale=False)


def _command_sweep(args: argparse.Namespace) -> int:
    from metroqnet.sweeps.sweep_file import load_sweep_file

    if args.workers is not None:
        args.workers = whole_number(args.workers, option="--workers", low=1, high=4096)
    spec = load_sweep_file(args.file)
    if not spec.axes and (args.workers is not None or args.scheduler is not None):
        option = "--workers" if args.workers is not None else "--scheduler"
        raise ConfigError.at(option, "this sweep has no [[vary]] grid to spread over workers: its [optimize] runs "
                             "on the batch exact engine in this process; leave the option out")
    if args.scheduler is not None:
        from metroqnet.sweeps.execute import probe_scheduler

        try:  # an address nothing answers is refused before the store is made
            probe_scheduler(args.scheduler)
        except ConfigError as error:
            raise error.renamed("--scheduler") from None
    summaries: dict[str, object] = {"sweep": spec.name, "store": str(args.out)}
    failed = False
    # every sweep opens its store: the folder checks, one writer at a time, another sweep's folder refused
    with _open_store(spec, args) as store:
        if spec.axes:
            try:
                summary = _run_grid(spec, args, store)
            except KeyboardInterrupt:
                print(f"metroqnet sweep: interrupted; every finished task is recorded in {args.out}: rerun the same "
                      "command to resume", file=sys.stderr)
                return 130
            summaries["grid"] = _summary_dict(summary)
            failed = not summary.ok
            summaries.update(_answer_and_plots(spec, args))
        if spec.optimize is not None:
            summaries["optimum"] = _run_optimisation(spec, args)
    if args.json:
        print(json.dumps(summaries, indent=2, allow_nan=False, default=str))
    print(f"metroqnet sweep: results in {args.out} (plots in {args.out / PLOTS}; redraw with `metroqnet plot "
          f"{args.out}`)", file=sys.stderr)
    return 1 if failed else 0


def _open_store(spec, args: argparse.Namespace):
    from metroqnet.sweeps.store import SweepStore

    # the plots' settings: a labelled zipped group is one setting (its label), not each of its keys
    settings = [name for axis in spec.axes for name in ((axis.label,) if axis.label is not None else axis.keys)]
    record = {"name": spec.name, "description": spec.description, "seed": spec.seed, "base": spec.base,
              "tasks": spec.n_tasks, "settings": settings}
    return SweepStore.create_or_open(args.out, sweep_id=spec.sweep_id, sweep_record=record,
                                     sweep_text=spec.source_text)


def _run_grid(spec, args: argparse.Namespace, store):
    from metroqnet.sweeps.execute import WorkerLost, run_tasks
    from metroqnet.sweeps.tasks import run_task, sweep_tasks, task_columns

    tasks = sweep_tasks(spec)
    with _progress_bar(len(tasks)) as advance:
        report = done_total(advance)

        def progress(update) -> None:  # tasks already in the store count as done from the start
            report(update.done + update.skipped + update.failed, update.total)

        try:
            summary = run_tasks(tasks, functools.partial(run_task, spec), store, workers=args.workers,
                                scheduler=args.scheduler, progress=progress,
                                describe=lambda task: {"index": task.index,
                                                       "settings": tuple(task_columns(spec, task).items())})
        except WorkerLost as error:  # e.g. killed for memory: what finished is recorded
            raise ConfigError.at("--workers", f"{error} (with fewer --workers if they ran out of memory)") from None
        except ConfigError as error:  # the library names the option without its dashes
            raise (error.renamed("--scheduler") if error.field == "scheduler" else error) from None
    if not args.json:
        print(_grid_text(summary))
    for failure in summary.failures:
        print(f"metroqnet sweep: {failure.line()}", file=sys.stderr)
    return summary


def _summary_dict(summary) -> dict[str, object]:
    return {"computed": summary.done, "skipped": summary.skipped, "failed": summary.failed,
            "wall_s": summary.wall_s, "where": summary.where, "workers": summary.workers,
            "failures": [failure.line() for failure in summary.failures]}


def _answer_and_plots(spec, args: argparse.Namespace) -> dict[str, object]:
    """The ``[select]`` answer (printed, ``best.json``) and the plots, from the store's table."""
    from metroqnet.sweeps.store import open_store

    out: dict[str, object] = {}
    if importlib.util.find_spec("pandas") is None:
        print("metroqnet sweep: the results are stored; the answer and plots need pandas and matplotlib "
              "(pip install 'metroqnet[sweep]')", file=sys.stderr)
        return out
    table = open_store(args.out).table()
    if spec.select is not None and len(table):
        from metroqnet.sweeps.select import select_best

        answer = select_best(table, spec.select)
        out["best"] = _json_safe({"summary": answer.summary(spec.select), "feasible": answer.feasible,
                                  "tasks": answer.tasks, "task": answer.best, "closest": answer.closest})
        write_text_file(args.out / "best.json", json.dumps(out["best"], indent=2, allow_nan=False, default=str)
                        + "\n", what="--out")
        if not args.json:
            print(answer.summary(spec.select))
            if answer.best is not None:
                settings = {key: answer.best[key] for key in _setting_keys(spec) if key in answer.best}
                print("  at " + ", ".join(f"{key} = {value!r}" for key, value in settings.items()))
    if importlib.util.find_spec("matplotlib") is None:
        print("metroqnet sweep: no plots (matplotlib is not installed: pip install 'metroqnet[sweep]')",
              file=sys.stderr)
        return out
    if len(table):
        try:
            out["plots"] = [str(path) for path in _grid_plots(table, args.out / PLOTS, spec.select)]
        except ConfigError as error:  # e.g. a one-point sweep: nothing varies to plot against
            print(f"metroqnet sweep: no plots: {error}", file=sys.stderr)
    return out


def _grid_plots(table, out: Path, select, *, x=None, y=None, frontier=None, threshold=None) -> list[Path]:
    """The usual plots (or those asked for), then the ``[select]`` question's own figures with its constraints.

    The question's frontier is drawn only where both of its axes are maximised (the frontier plot's rule).
    """
    from metroqnet.sweeps.plots import plot_sweep

    written = plot_sweep(table, out, x=x, y=y, frontier=frontier, threshold=threshold)
    if select is not None and y is None and threshold is None:
        names = list(dict.fromkeys([select.objective, *select.thresholds]))
        both_up = select.maximize and select.constraints and select.constraints[0].at_least
        written += plot_sweep(table, out, x=x, y=names, frontier=(names[0], names[1]) if both_up and len(names) > 1
                              else None, threshold=select.thresholds or None)
    return sorted(set(written))


def _setting_keys(spec) -> list[str]:
    keys = [key for axis in spec.axes for key in axis.keys]
    return [*keys, *(axis.label for axis in spec.axes if axis.label is not None)]


def _grid_text(summary) -> str:
    return (f"{summary.done} tasks computed, {summary.skipped} already in the store, {summary.failed} failed "
            f"({summary.wall_s:.1f} s on {summary.where})")


def _run_optimisation(spec, args: argparse.Namespace) -> dict[str, object]:
    import numpy as np

    from metroqnet.sweeps.optimize import optimize_design
    from metroqnet.sweeps.tasks import network_at

    with _progress_bar(spec.optimize.samples) as advance:
        progress = done_total(advance)
        result = optimize_design(spec.optimize, functools.partial(network_at, spec),
                                 seed=np.random.SeedSequence(spec.seed), progress=progress)
    write_text_file(args.out / OPTIMIZATION_CSV, _csv(result.to_records()), what="--out")
    optimum = _json_safe({"sweep": spec.name, "found": result.found, "settings": result.optimum_settings,
                          "figures": result.optimum_figures, "source": result.optimum_source,
                          "feasible_samples": result.feasible_count, "samples": result.samples,
                          "summary": result.summary()})
    write_text_file(args.out / OPTIMUM_JSON, json.dumps(optimum, indent=2, allow_nan=False, default=str) + "\n",
                    what="--out")
    if not args.json:
        print(result.summary())
    optimum["plots"] = _optimisation_plots(spec.optimize, args.out, _optimisation_folder(spec, args.out))
    return optimum


def _optimisation_folder(spec, out: Path) -> Path:
    """Where the optimisation's plots go: ``plots/``, or ``plots/optimization/`` beside a grid's."""
    return out / PLOTS / "optimization" if spec.axes else out / PLOTS


def _json_safe(value: object) -> object:
    """``value`` with every non-finite float as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _optimisation_table(folder: Path):
    """``optimization.csv`` as the plots' table (every sample, with its place on the front)."""
    import pandas

    from metroqnet.sweeps.store import SETTING_SECTIONS

    table = pandas.read_csv(folder / OPTIMIZATION_CSV)
    # the variables are --set key paths (nodes.*, server.*, ...); the other columns are results and flags
    settings = [name for name in table.columns if name.split(".")[0] in SETTING_SECTIONS]
    table.attrs["sweep"] = {"name": folder.name, "settings": settings}
    return table


def _optimisation_plots(optimize, folder: Path, out: Path) -> list[str]:
    """Each variable's samples against the objective and the frontier of objective and first constraint."""
    if importlib.util.find_spec("matplotlib") is None:  # the optimum is written; the plots need matplotlib
        return []
    from metroqnet.sweeps.plots import plot_sweep

    table = _optimisation_table(folder)
    names = list(dict.fromkeys(optimize.names))
    thresholds = {constraint.name: constraint.bound for constraint in optimize.constraints} or None
    frontier = (names[0], names[1]) if len(names) > 1 else None
    try:
        return [str(path) for path in plot_sweep(table, out, y=names, frontier=frontier, threshold=thresholds)]
    except ConfigError as error:
        print(f"metroqnet sweep: no plots: {error}", file=sys.stderr)
        return []


def _csv(records: list[dict[str, object]]) -> str:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return text.getvalue()


def _pairs(texts: list[str] | None, option: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for text in texts or ():
        name, sep, value = text.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ConfigError.at(option, f"{text!r} is not NAME=VALUE with a number, e.g. min.fidelity=0.7")
    return out


def _command_plot(args: argparse.Namespace) -> int:
    from metroqnet.sweeps.store import open_store

    frontier = None
    if args.frontier is not None:
        parts = [part.strip() for part in args.frontier.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError.at("--frontier", f"{args.frontier!r} is not RATE,FIDELITY (two result names)")
        frontier = (parts[0], parts[1])
    threshold = _pairs(args.threshold, "--threshold")
    stored = open_store(args.store)
    table = stored.table()
    tables = _stored_tables(stored.provenance.get("sweep_text") or "")
    out = args.out if args.out is not None else args.store / PLOTS
    written = []
    if len(table):  # the grid, then [select]'s own figures with its constraints (unless --y or --threshold)
        written += _grid_plots(table, out, tables.get("select"), x=args.x, y=args.y, frontier=frontier,
                               threshold=threshold or None)
    if (args.store / OPTIMIZATION_CSV).is_file() and tables.get("optimize") is not None:
        written += [Path(path) for path in _optimisation_plots(tables["optimize"], args.store,
                                                                out / "optimization" if len(table) else out)]
    if not written:
        raise ConfigError.at("store", f"{str(args.store)!r} holds no finished task and no optimisation yet; "
                             "run metroqnet sweep first")
    for path in written:
        print(path)
    return 0


def _stored_tables(text: str) -> dict[str, object]:
    """The stored sweep file's [select] and [optimize] tables, parsed (absent ones left out)."""
    import tomllib

    from metroqnet.sweeps.optimize import parse_optimize_table
    from metroqnet.sweeps.select import parse_select_table

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    parsers = {"select": parse_select_table, "optimize": parse_optimize_table}
    return {name: parsers[name](document[name]) for name in parsers if isinstance(document.get(name), dict)}
