"""The PNGs of a sweep's table (``metroqnet plot STORE``; needs matplotlib: ``pip install metroqnet[sweep]``).

Two kinds of figure, the ones a researcher looks at first:

* *figure against a parameter*: for each varied setting and each default figure (the ``min.`` aggregate,
  the worst link, of pme_rate_hz, entangling_rate_hz, fidelity, concurrence; per link when the table has
  no aggregates), the figure against that setting with one line per combination of the other settings.
  More than :data:`MAX_LINES` combinations become the median line in a min–max band; a table whose points
  do not lie on a grid (an optimiser's samples) becomes a scatter. Settings that step together with the
  x setting (a zipped ``[[vary]]`` group) are not "other settings": they are named in the x label.
* *rate–fidelity frontier*: every task a grey point, the Pareto front (:func:`.pareto.pareto_mask`, both
  maximised) as a line through its highlighted points, and threshold lines of constraints.

A table with an ``on_front`` column (an optimisation's samples) has those points ringed in every panel.
Values that are missing (NaN) are not drawn, and the title says how many: nothing is dropped silently.
The figures are built by :func:`build_figures` (not attached to pyplot, so tests read their lines) and
written by :func:`plot_sweep`.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.sweeps.pareto import pareto_mask

__all__ = ["BOOKKEEPING", "DEFAULT_FIGURES", "MAX_LINES", "build_figures", "plot_sweep", "unit_of"]

#: Columns that are neither a setting nor a result.
BOOKKEEPING = frozenset({"task", "task_id", "runs", "wall_s", "worker", "on_front", "optimum", "feasible", "source"})
#: The figures drawn when ``y`` is not given, in this order (``min.X`` if the table has it, else per link).
DEFAULT_FIGURES = ("pme_rate_hz", "entangling_rate_hz", "fidelity", "concurrence")
#: More combinations of the other settings than this: a band (min–max) with the median line instead.
MAX_LINES = 8
#: Result names without a link or aggregate prefix.
BARE_RESULTS = frozenset({"trials"})
#: Size and resolution: 840 × 540 pixels, readable on a laptop screen.
FIGSIZE_IN = (7.0, 4.5)
DPI = 120
#: Unit suffix of a name -> the unit on the axis (longest suffix first).
UNITS = (("_db_per_km", "dB/km"), ("_hz", "Hz"), ("_deg", "deg"), ("_rad", "rad"), ("_km", "km"),
         ("_us", "µs"), ("_ns", "ns"), ("_ms", "ms"), ("_ps", "ps"), ("_s", "s"), ("_db", "dB"), ("_c", "°C"))
LINE_STYLES = ("-", "--", ":", "-.")
FRONT_COLOUR = "tab:red"
OPTIMISER_COLOUR = "tab:orange"


def _suggestion(name: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unit_of(name: str) -> str | None:
    """The unit a name's suffix states (``min.pme_rate_hz`` -> ``Hz``), or None for a plain number."""
    stem = name.removesuffix("_stderr")
    return next((unit for suffix, unit in UNITS if stem.endswith(suffix)), None)


def _axis_label(name: str, note: str = "") -> str:
    unit = unit_of(name)
    head = name.partition(".")[0]
    where = {"min": ", worst link", "max": ", best link"}.get(head, "") if "." in name else ""
    return name + (f" ({unit})" if unit else "") + where + note


def _is_result(name: str) -> bool:
    """``min.X`` / ``max.X`` / ``<x>-<y>.X`` / ``*_stderr`` / a bare result name; setting key paths are not."""
    head, dot, rest = name.partition(".")
    if not dot:
        return name in BARE_RESULTS or name.endswith("_stderr")
    return head in ("min", "max") or ("-" in head and "." not in rest)


@dataclass(frozen=True, kw_only=True)
class _Columns:
    """The table's columns by role: the settings that vary (in order) and the numeric results."""

    varied: tuple[str, ...]
    results: tuple[str, ...]
    settings: tuple[str, ...]


def _numbers_or_none(values) -> bool:
    return all(value is None or (isinstance(value, (int, float, np.integer, np.floating))
                                 and not isinstance(value, (bool, np.bool_))) for value in values)


def _with_float_columns(table):
    """The table with object columns of numbers and None (how the store keeps a missing value) as floats."""
    converted = {name: table[name].astype(float) for name in table.columns
                 if table[name].dtype == object and name not in BOOKKEEPING and _numbers_or_none(table[name])}
    return table.assign(**converted) if converted else table


def _columns(table) -> _Columns:
    record = table.attrs.get("sweep") or {}  # a list of the settings, if the store gives one
    declared = record.get("settings") if isinstance(record, Mapping) else None
    names = [str(name) for name in table.columns if name not in BOOKKEEPING]
    if isinstance(declared, (list, tuple)) and declared:
        settings = [name for name in names if name in set(declared)]
    else:
        settings = [name for name in names if not _is_result(name)]
    results = [name for name in names if name not in settings and _numeric(table[name])]
    varied = [name for name in settings if table[name].nunique(dropna=False) > 1]
    return _Columns(varied=tuple(varied), results=tuple(results), settings=tuple(settings))


def _finite(values) -> np.ndarray:
    return np.isfinite(np.asarray(values, dtype=float))


def _numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _listing(names: Sequence[str], most: int = 12) -> str:
    """Names for a one-line message: the first ``most``, then how many in all."""
    shown = ", ".join(names[:most]) or "none"
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


def _check_y(table, name: str, columns: _Columns, *, field: str) -> None:
    if name not in table.columns:
        raise ConfigError.at(field, f"{name!r} is not a result of the sweep{_suggestion(name, columns.results)}; "
                                    f"results: {_listing(columns.results)}")
    if name not in columns.results:
        raise ConfigError.at(field, f"{name!r} is not a numeric result of the sweep (a setting, bookkeeping or "
                                    f"text column); results: {_listing(columns.results)}")
    if not _finite(table[name]).any():
        raise ConfigError.at(field, f"{name!r} has no finite value in any of the {len(table)} tasks; nothing to draw")


def _default_figures(table, columns: _Columns) -> list[str]:
    """``min.X`` of each default figure, else every link's ``<x>-<y>.X``; all-NaN columns left out."""
    chosen = []
    for figure in DEFAULT_FIGURES:
        aggregate = f"min.{figure}"
        if aggregate in columns.results:
            chosen.append(aggregate)
        else:
            chosen += [name for name in columns.results if name.endswith(f".{figure}") and "-" in name.split(".")[0]]
    return [name for name in chosen if _finite(table[name]).any()]


def _default_frontier(columns: _Columns) -> tuple[str, str] | None:
    """(rate, fidelity): the worst link's if the table has aggregates, else the first link's."""
    results = set(columns.results)
    for rate_figure in ("pme_rate_hz", "entangling_rate_hz"):
        if {f"min.{rate_figure}", "min.fidelity"} <= results:
            return f"min.{rate_figure}", "min.fidelity"
        for name in columns.results:
            link, _, figure = name.partition(".")
            if figure == rate_figure and "-" in link and f"{link}.fidelity" in results:
                return name, f"{link}.fidelity"
    return None


# --- how the points of one panel are drawn ----------------------------------------------------------------


def _one_to_one(table, a: str, b: str) -> bool:
    """Settings ``a`` and ``b`` step together: each value of one goes with one value of the other (and, if both
    are numbers, in the same or the opposite order: random samples are one-to-one too, but not monotonic)."""
    pairs = table[[a, b]].drop_duplicates()
    if pairs[a].nunique(dropna=False) != len(pairs) or pairs[b].nunique(dropna=False) != len(pairs):
        return False
    if _numeric(table[a]) and _numeric(table[b]):
        order = np.argsort(pairs[a].to_numpy(dtype=float), kind="stable")
        steps = np.diff(pairs[b].to_numpy(dtype=float)[order])
        return bool(np.all(steps > 0) or np.all(steps < 0))
    return True


def _x_positions(values) -> tuple[np.ndarray, list[str] | None]:
    """Numbers as they are; text or booleans at 0, 1, ... in sorted order, with the tick labels."""
    if _numeric(values):
        return values.to_numpy(dtype=float), None
    labels = sorted({str(value) for value in values}, key=_natural)
    return np.array([labels.index(str(value)) for value in values], dtype=float), labels


def _natural(text: str) -> list:
    """Sort key that puts ``storage_5us`` before ``storage_107us``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _value_text(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _missing_note(count: int) -> str:
    return f"; {count} task{'s' if count != 1 else ''} without a value not drawn" if count else ""


def _positive_decades(values: np.ndarray) -> bool:
    """All positive and spanning more than one decade: a log axis shows them best."""
    values = values[np.isfinite(values)]
    return values.size > 1 and bool(values.min() > 0) and values.max() / values.min() > 10.0


def _draw_lines(ax, table, x: np.ndarray, y: np.ndarray, err: np.ndarray | None, others: list[str]):
    """One line per combination of ``others`` (sorted along x), with error bars where given."""
    groups = table.groupby(others, dropna=False, sort=True).indices if others else {(): np.arange(len(table))}
    keys = [key if isinstance(key, tuple) else (key,) for key in groups]
    for key, rows, (colour, style) in zip(keys, groups.values(), _styles(table, others, keys)):
        rows = rows[np.argsort(x[rows], kind="stable")]
        label = ", ".join(_value_text(value) for value in key) if others else "all tasks"
        _points(ax, x[rows], y[rows], None if err is None else err[rows], ms=4, lw=1.3, color=colour, ls=style,
                marker="o", label=label)


def _points(ax, x: np.ndarray, y: np.ndarray, err: np.ndarray | None, **options) -> None:
    """A line or points, with error bars (one standard error) where ``err`` has values."""
    if err is not None and np.isfinite(err).any():
        ax.errorbar(x, y, yerr=err, capsize=2.5, **options)
    else:
        ax.plot(x, y, **options)


def _styles(table, others: list[str], keys: list[tuple]) -> list[tuple[object, str]]:
    """(colour, line style) per line: the first other setting picks the colour (ordered if it is a number),
    a second one with at most four values the line style; else a colour per line."""
    from matplotlib import colormaps

    if not others:
        return [("tab:blue", "-")]
    firsts = list(dict.fromkeys(key[0] for key in keys))
    seconds = list(dict.fromkeys(key[1] for key in keys)) if len(others) == 2 else []
    if len(others) > 2 or len(seconds) > len(LINE_STYLES):
        return [(colour, "-") for colour in colormaps["tab10"](np.arange(len(keys)) % 10)]
    ordered = _numeric(table[others[0]])
    colours = (colormaps["viridis"](np.linspace(0.0, 0.85, len(firsts))) if ordered
               else colormaps["tab10"](np.arange(len(firsts)) % 10))
    return [(colours[firsts.index(key[0])], LINE_STYLES[seconds.index(key[1])] if seconds else "-") for key in keys]


def _draw_band(ax, x: np.ndarray, y: np.ndarray) -> None:
    """The median over the other settings at each x, in the band between their min and max."""
    positions = np.unique(x)
    low, median, high = (np.array([function(y[x == at]) for at in positions])
                         for function in (np.nanmin, np.nanmedian, np.nanmax))
    ax.fill_between(positions, low, high, color="tab:blue", alpha=0.25, lw=0, label="min–max over the others")
    ax.plot(positions, median, "o-", ms=4, lw=1.5, color="tab:blue", label="median over the others")


def _ring_on_front(ax, table, x: np.ndarray, y: np.ndarray) -> None:
    """An optimiser's samples: its Pareto front ringed, its optimum starred."""
    marked = (table["on_front"].fillna(False).to_numpy(dtype=bool) if "on_front" in table.columns
              else np.zeros(len(table), dtype=bool)) & np.isfinite(x) & np.isfinite(y)
    if marked.any():
        ax.plot(x[marked], y[marked], "o", ms=9, mfc="none", mec=OPTIMISER_COLOUR, mew=1.6,
                label="on the optimiser's front")
    if "optimum" in table.columns:  # the optimiser's answer (the refined point, or the best sample)
        best = table["optimum"].fillna(False).to_numpy(dtype=bool) & np.isfinite(x) & np.isfinite(y)
        if best.any():
            ax.plot(x[best], y[best], "*", ms=16, mfc=OPTIMISER_COLOUR, mec="black", mew=0.8, zorder=5,
                    label="optimum")


def _threshold_line(ax, name: str, threshold: Mapping[str, float], *, horizontal: bool) -> None:
    if name in threshold:
        draw = ax.axhline if horizontal else ax.axvline
        draw(threshold[name], color="0.25", ls="--", lw=1.2, label=f"threshold {name} = {threshold[name]:g}")


def _outside_legend(ax, **options) -> None:
    """Right of the axes, so it never covers a point (constrained layout makes room for it)."""
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) > 1 or options.get("title"):
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, title_fontsize=8,
                  frameon=False, alignment="left", **options)


def _log_x(ax, positions: np.ndarray) -> None:
    """Log x; a few grid values are the ticks themselves, more get decade ticks (labels that do not collide)."""
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, LogLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    if positions.size <= MAX_LINES:
        ax.xaxis.set_major_locator(FixedLocator(positions))
        ax.xaxis.set_minor_locator(NullLocator())
    elif positions.max() / positions.min() < 1e3:  # 1, 2, 5 in each decade
        ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _title(ax, head: str, note: str) -> None:
    """The sweep and the figure, and below it (wrapped to the axes' width) how the points are drawn."""
    note = textwrap.fill(note.removeprefix("; "), 62)
    ax.set_title(head + (f"\n{note}" if note else ""), fontsize=9.5)


def _new_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGSIZE_IN, dpi=DPI, layout="constrained")
    figure.get_layout_engine().set(w_pad=0.1, h_pad=0.06)  # inches: the outside legend keeps off the edge
    FigureCanvasAgg(figure)  # draws to PNG without pyplot or a display
    return figure


def _parameter_figure(table, name: str, setting: str, together: Mapping[str, list[str]],
                      threshold: Mapping[str, float], sweep_name: str, short: Mapping[str, str]):
    """``name`` against ``setting``: lines, a band or a scatter (see the module docstring).

    ``together[s]``: the settings that step with ``s``; of such a group only the first is an "other" setting.
    ``short[s]``: the name of ``s`` in titles (the last part of its key path, if no other setting shares it).
    """
    companions = together[setting]
    others: list[str] = []
    for other in together:
        if other != setting and other not in companions and not any(other in together[kept] for kept in others):
            others.append(other)
    figure = _new_figure()
    ax = figure.add_subplot()
    drawn = _finite(table[name]) & table[setting].notna().to_numpy()
    rows = table[drawn]
    x, ticks = _x_positions(rows[setting])
    y = rows[name].to_numpy(dtype=float)
    stderr = f"{name}_stderr"
    err = rows[stderr].to_numpy(dtype=float) if stderr in rows.columns else None
    lines = rows.groupby(others, dropna=False).ngroups if others else 1
    grid = not others or any(len(members) > 1 for members in rows.groupby(others, dropna=False).indices.values())
    if grid and lines <= MAX_LINES:
        _draw_lines(ax, rows, x, y, err, others)
        how = f"one line per {', '.join(short[other] for other in others)}" if others else ""
    elif grid:
        _draw_band(ax, x, y)
        how = f"median and min–max over {lines} combinations of {', '.join(short[other] for other in others)}"
    else:
        _points(ax, x, y, err, ls="", marker="o", ms=4, color="0.45", label="a task")
        how = "each point a task (the settings are not on a grid)"
    _ring_on_front(ax, rows, x, y)
    _threshold_line(ax, name, threshold, horizontal=True)
    if ticks is not None:
        ax.set_xticks(range(len(ticks)), ticks)
        ax.margins(x=0.1)
    elif _positive_decades(x):
        _log_x(ax, np.unique(x))
    elif np.all(np.isfinite(x)) and np.all(x == np.round(x)):  # whole-number steps (a group's step): integer ticks
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if unit_of(name) == "Hz" and _positive_decades(y):
        ax.set_yscale("log")
    steps_with = f"\n(steps with {', '.join(companions)})" if companions else ""
    ax.set(xlabel=_axis_label(setting, steps_with), ylabel=_axis_label(name))
    ax.grid(True, which="major", color="0.9", lw=0.6)
    _title(ax, f"{sweep_name}: {name} against {short[setting]}", how + _missing_note(len(table) - len(rows)))
    legend_title = "\n".join(others) if grid and 1 < lines <= MAX_LINES else None
    _outside_legend(ax, title=legend_title)
    return figure


def _frontier_figure(table, rate: str, fidelity: str, threshold: Mapping[str, float], sweep_name: str):
    """Rate (log y) against fidelity: every task grey, the Pareto front of both (maximised) in red."""
    values = table[[fidelity, rate]].to_numpy(dtype=float)
    drawn = np.all(np.isfinite(values), axis=1)
    points, rows = values[drawn], table[drawn]
    front = pareto_mask(points, maximize=[True, True])
    order = np.argsort(points[front, 0], kind="stable")
    figure = _new_figure()
    ax = figure.add_subplot()
    ax.plot(points[:, 0], points[:, 1], "o", ms=4, color="0.6", label=f"a task ({len(points)})")
    ax.plot(points[front, 0][order], points[front, 1][order], "o-", ms=6, lw=1.5, color=FRONT_COLOUR,
            label=f"Pareto front ({int(front.sum())})")
    _ring_on_front(ax, rows, points[:, 0], points[:, 1])
    _threshold_line(ax, fidelity, threshold, horizontal=False)
    _threshold_line(ax, rate, threshold, horizontal=True)
    if points.size and bool(points[:, 1].min() > 0):
        ax.set_yscale("log")
    ax.set(xlabel=_axis_label(fidelity), ylabel=_axis_label(rate))
    ax.grid(True, which="major", color="0.9", lw=0.6)
    _title(ax, f"{sweep_name}: rate–fidelity frontier (both maximised)", _missing_note(len(table) - len(rows)))
    _outside_legend(ax)
    return figure


# --- the public calls -----------------------------------------------------------------------------------


def _file_name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "_vs_".join(parts).replace("*", "all")).strip("_.") + ".png"


def _setting_stems(varied: Sequence[str]) -> dict[str, str]:
    """The last part of each key path, or the whole path where two settings share a last part."""
    shorts = [_short(key) for key in varied]
    return {key: short if shorts.count(short) == 1 else key for key, short in zip(varied, shorts)}


def _figure_stem(name: str) -> str:
    return name.removeprefix("min.")  # the default figures are the worst link's: the name a researcher expects


def _check_threshold(threshold: Mapping[str, float] | None, columns: _Columns) -> dict[str, float]:
    checked = {}
    for name, value in (threshold or {}).items():
        if name not in columns.results:
            raise ConfigError.at("threshold", f"{name!r} is not a numeric result of the sweep"
                                              f"{_suggestion(name, columns.results)}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ConfigError.at(f"threshold.{name}", f"{value!r} is not a finite number")
        checked[name] = float(value)
    return checked


def build_figures(table, *, x: str | None = None, y: Sequence[str] | None = None,
                  frontier: tuple[str, str] | None = None,
                  threshold: Mapping[str, float] | None = None) -> dict[str, object]:
    """File name -> :class:`matplotlib.figure.Figure` of each plot of the sweep's ``table``.

    ``x``: one setting to plot against (default every varied setting, one of each zipped group); ``y``:
    result names (default :data:`DEFAULT_FIGURES`); ``frontier``: the (rate, fidelity) columns of the
    frontier (default the worst link's PME rate, else entangling rate, and fidelity; none if absent);
    ``threshold``: result name -> a constraint's value, drawn as a dashed line where that result is an axis.
    """
    if len(table) == 0:
        raise ConfigError.at("table", "the sweep's table has no finished task; nothing to plot")
    attrs = dict(table.attrs)
    table = _with_float_columns(table)
    table.attrs = attrs
    columns = _columns(table)
    if not columns.varied:
        raise ConfigError.at("table", f"no setting varies across the {len(table)} tasks (settings: "
                                      f"{_listing(columns.settings)}); nothing to plot against")
    if x is not None and x not in columns.varied:
        allowed = f"settings that vary: {_listing(columns.varied)}"
        detail = "does not vary across the tasks" if x in columns.settings else "is not a setting of the sweep"
        raise ConfigError.at("x", f"{x!r} {detail}{_suggestion(x, columns.varied)}; {allowed}")
    for name in y or ():
        _check_y(table, name, columns, field="y")
    names = list(y) if y is not None else _default_figures(table, columns)
    if frontier is not None:
        if len(frontier) != 2:
            raise ConfigError.at("frontier", f"{frontier!r}: give two result names, (rate, fidelity)")
        for name in frontier:
            _check_y(table, name, columns, field="frontier")
    checked = _check_threshold(threshold, columns)
    if not names and frontier is None and _default_frontier(columns) is None:
        raise ConfigError.at("y", f"the table has none of the default figures ({', '.join(DEFAULT_FIGURES)}) with "
                                  f"a value; name them with y; results: {_listing(columns.results)}")
    pair = frontier if frontier is not None else _default_frontier(columns)
    if pair is not None and not np.all(np.isfinite(table[list(pair)].to_numpy(dtype=float)), axis=1).any():
        if frontier is not None:
            raise ConfigError.at("frontier", f"{frontier!r}: no task has a value of both; nothing to draw")
        pair = None
    for name in checked:
        if name not in names and name not in (pair or ()):
            raise ConfigError.at("threshold", f"{name!r} is not an axis of any plot (y: {_listing(names)}; "
                                              f"frontier: {', '.join(pair) if pair else 'none'})")
    sweep_name = str((attrs.get("sweep") or {}).get("name", "sweep"))
    together = {setting: [other for other in columns.varied if other != setting and _one_to_one(table, setting, other)]
                for setting in columns.varied}
    drawn = [setting for position, setting in enumerate(columns.varied)
             if not any(setting in together[earlier] for earlier in columns.varied[:position])]
    stems = _setting_stems(drawn if x is None else [x])
    short = _setting_stems(columns.varied)
    figures: dict[str, object] = {}
    for setting in drawn if x is None else (x,):
        for name in names:
            file_name = _file_name(_figure_stem(name), stems[setting])
            while file_name in figures:  # two names that sanitise alike
                file_name = file_name.removesuffix(".png") + "_.png"
            figures[file_name] = _parameter_figure(table, name, setting, together, checked, sweep_name, short)
    if pair is not None:
        figures["rate_fidelity_frontier.png"] = _frontier_figure(table, pair[0], pair[1], checked, sweep_name)
    return figures


def plot_sweep(table, out_dir: str | os.PathLike[str], *, x: str | None = None, y: Sequence[str] | None = None,
               frontier: tuple[str, str] | None = None, threshold: Mapping[str, float] | None = None) -> list[Path]:
    """Write the PNGs of :func:`build_figures` into ``out_dir`` (made if missing) and return their paths.

    Each file is written to a temporary name and renamed, so an interrupted run leaves no half PNG.
    """
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError.at("out_dir", f"{str(folder)!r} is a file, not a folder")
    figures = build_figures(table, x=x, y=y, frontier=frontier, threshold=threshold)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise ConfigError.at("out_dir", f"cannot create {str(folder)!r} ({failure.strerror or failure})") from None
    written = []
    for name, figure in figures.items():
        path = folder / name
        partial = path.with_name(f".{name}.partial")
        try:
            figure.savefig(partial, dpi=DPI, format="png")
            os.replace(partial, path)
        except OSError as failure:
            partial.unlink(missing_ok=True)
            raise ConfigError.at("out_dir", f"cannot write {str(path)!r} ({failure.strerror or failure})") from None
        written.append(path)
    return written
