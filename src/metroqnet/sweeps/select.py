"""A sweep's answer: the best finished task under constraints (the ``[select]`` table of a sweep file).

A design question such as "the best PME rate at F >= 0.7" is a grid sweep plus a selection:
``maximize = "min.pme_rate_hz"``, ``constraints = ["min.fidelity >= 0.7"]``. The selection reads
the stored table, so it changes no task and is not part of the sweep's identity: editing it
and rerunning recomputes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import refuse_unknown_keys
from metroqnet.sweeps.optimize_spec import Constraint, parse_goal

SELECT_KEYS = ("maximize", "minimize", "constraints")


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Maximise (or minimise) ``objective`` over the finished tasks that meet every constraint."""

    objective: str
    maximize: bool
    constraints: tuple[Constraint, ...] = ()

    @property
    def thresholds(self) -> dict[str, float]:
        """Each constrained result's bound (the plots draw them as dashed lines)."""
        return {constraint.name: constraint.bound for constraint in self.constraints}


def parse_select_table(table: Mapping[str, object], *, where: str = "select") -> Selection:
    refuse_unknown_keys(where, table, SELECT_KEYS)
    objective, maximize, constraints = parse_goal(table, where=where, exact_figures=False)
    return Selection(objective=objective, maximize=maximize, constraints=constraints)


@dataclass(frozen=True)
class SelectionResult:
    """The best task (its table row as a dict; None if none meets the constraints) and how many were feasible."""

    best: dict[str, object] | None
    feasible: int
    tasks: int
    #: where nothing is feasible: each constraint's best value reached over the tasks
    closest: dict[str, float | None]

    def summary(self, selection: Selection) -> str:
        goal = f"{'maximum' if selection.maximize else 'minimum'} of {selection.objective}"
        rule = " and ".join(c.text for c in selection.constraints) or "no constraint"
        if self.best is None:
            reached = ", ".join(f"{name} reached {value:.4g} at best" if value is not None else f"{name} has no value"
                                for name, value in self.closest.items())
            return f"no task of {self.tasks} meets {rule} ({reached})"
        return f"{goal} with {rule}: {self.best[selection.objective]:.4g} ({self.feasible} of {self.tasks} tasks meet it)"


def select_best(table, selection: Selection) -> SelectionResult:
    """The row of ``table`` (a sweep store's pandas table) that answers ``selection``."""
    names = (selection.objective, *(c.name for c in selection.constraints))
    for name in names:
        if name not in table.columns:
            results = [c for c in table.columns if "." in c and c not in ("task_id",)]
            raise ConfigError.at("select", f"{name!r} is not a result of this sweep; results: "
                                 f"{', '.join(results[:12])}{', ...' if len(results) > 12 else ''}")
    values = {name: table[name].to_numpy(dtype=float, na_value=np.nan) for name in names}
    feasible = np.isfinite(values[selection.objective])
    for constraint in selection.constraints:
        slack = constraint.slack(values[constraint.name])
        feasible &= np.nan_to_num(slack, nan=-1.0) >= 0
    closest = {}
    if not feasible.any():
        for constraint in selection.constraints:
            column = values[constraint.name]
            finite = column[np.isfinite(column)]
            closest[constraint.name] = (float(finite.max() if constraint.at_least else finite.min())
                                        if finite.size else None)  # no task has a value at all
        return SelectionResult(best=None, feasible=0, tasks=len(table), closest=closest)
    objective = np.where(feasible, values[selection.objective], np.nan)
    position = int(np.nanargmax(objective) if selection.maximize else np.nanargmin(objective))
    row = table.iloc[position]
    best = {"task": table.index[position], **{key: _plain(value) for key, value in row.items()}}
    return SelectionResult(best=best, feasible=int(feasible.sum()), tasks=len(table), closest=closest)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
