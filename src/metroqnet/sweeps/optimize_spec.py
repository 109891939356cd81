"""The ``[optimize]`` table of a sweep file: what to maximise, under which constraints, over which ranges.

::

    [optimize]
    maximize = "min.pme_rate_hz"            # or minimize = "..."; a result name
    constraints = ["min.fidelity >= 0.7"]   # "<name> >= x" / "<name> <= x"
    links = "all"                           # or ["alice-bob", ...]
    experiment = "storage_5us"              # optional: default the network's first link experiment
    samples = 2048                          # quasi-random (scrambled Sobol) design points
    refine = true                           # optional: polish the best feasible sample (SLSQP)
    [optimize.variables]
    "nodes.*.excitation_probability" = { low = 0.002, high = 0.05, scale = "log" }

Result names are ``"<x>-<y>.<figure>"`` for one link and ``"min.<figure>"`` /
``"max.<figure>"`` over the links (:mod:`metroqnet.sweeps.optimize_figures`). The
figure part is checked here; the link part once the network is known
(:meth:`OptimizeSpec.check_names`). Every refusal is one :class:`ConfigError` line
naming the key path (``optimize.constraints[0]``), the value and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import refuse_unknown_keys
from metroqnet.sweeps.optimize_figures import RESULT_FIGURES
from metroqnet.sweeps.store import SETTING_SECTIONS

TABLE_KEYS = frozenset({"maximize", "minimize", "constraints", "links", "experiment", "samples", "refine",
                        "variables"})
VARIABLE_KEYS = frozenset({"low", "high", "scale"})
SCALES = ("linear", "log")
#: Sections a variable's key path may start with (those of ``metroqnet ... --set``).
#: The most design points one run evaluates (one engine call holds samples x links points).
MAX_SAMPLES = 1 << 20
_CONSTRAINT = re.compile(r"^\s*(?P<name>[^\s<>=]+)\s*(?P<op>>=|<=)\s*(?P<bound>\S+)\s*$")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_result_name(where: str, name: object, *, links: Sequence[str] | None = None) -> str:
    """``name`` if it is ``<link>.<figure>``, ``min.<figure>`` or ``max.<figure>`` (links checked when given)."""
    if not isinstance(name, str) or "." not in name:
        raise ConfigError.at(where, f"{name!r} is not a result name; expected '<x>-<y>.<figure>', 'min.<figure>' "
                             "or 'max.<figure>', e.g. 'min.pme_rate_hz'")
    owner, figure = name.rsplit(".", 1)
    if figure not in RESULT_FIGURES:
        raise ConfigError.at(where, f"{name!r}: {figure!r} is not a figure; figures are {', '.join(RESULT_FIGURES)}")
    if links is not None and owner not in ("min", "max") and owner not in links:
        raise ConfigError.at(where, f"{name!r}: {owner!r} is not one of the optimised links "
                             f"({', '.join(links)}) nor 'min'/'max'")
    return name


@dataclass(frozen=True, kw_only=True)
class Variable:
    """A design variable: the value at ``key`` (a ``--set`` key path) ranges over [low, high] in ``scale``."""

    key: str
    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"

    def __post_init__(self) -> None:
        where = f"optimize.variables.{self.key}"
        for name in ("low", "high"):
            value = getattr(self, name)
            if not _is_number(value):
                raise ConfigError.at(f"{where}.{name}", f"expected a finite number, got {value!r}")
        if self.scale not in SCALES:
            raise ConfigError.at(f"{where}.scale", f"{self.scale!r} is not one of {', '.join(map(repr, SCALES))}")
        if not self.low < self.high:
            raise ConfigError.at(where, f"low {self.low!r} must be below high {self.high!r}")
        if self.scale == "log" and self.low <= 0:
            raise ConfigError.at(f"{where}.low", f"{self.low!r} with scale 'log': a log range needs low > 0")

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Values at places ``unit`` in [0, 1] of the range (linear in the value, or in its log)."""
        unit = np.asarray(unit, dtype=float)
        if self.scale == "log":
            return np.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        return self.low + unit * (self.high - self.low)

    def to_unit(self, value: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`from_unit`."""
        value = np.asarray(value, dtype=float)
        if self.scale == "log":
            return (np.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True, kw_only=True)
class Constraint:
    """``name >= bound`` (``at_least``) or ``name <= bound``, on a result name."""

    name: str
    bound: float
    at_least: bool

    @property
    def text(self) -> str:
        return f"{self.name} {'>=' if self.at_least else '<='} {self.bound:g}"

    def slack(self, value: np.ndarray) -> np.ndarray:
        """How far inside the constraint ``value`` is (>= 0 where it holds, NaN stays NaN)."""
        value = np.asarray(value, dtype=float)
        return value - self.bound if self.at_least else self.bound - value


@dataclass(frozen=True, kw_only=True)
class OptimizeSpec:
    """A validated ``[optimize]`` table (module docstring); ``links`` is None for every pair of nodes."""

    objective: str
    maximize: bool
    variables: tuple[Variable, ...]
    constraints: tuple[Constraint, ...] = ()
    links: tuple[str, ...] | None = None
    experiment: str | None = None
    samples: int = 2048
    refine: bool = True

    def __post_init__(self) -> None:
        check_result_name("optimize.maximize" if self.maximize else "optimize.minimize", self.objective)
        if not self.variables:
            raise ConfigError.at("optimize.variables", "empty; give at least one variable with low and high")
        keys = [variable.key for variable in self.variables]
        if len(set(keys)) != len(keys):
            raise ConfigError.at("optimize.variables", f"a key is given twice in {keys!r}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or not 1 <= self.samples <= MAX_SAMPLES:
            raise ConfigError.at("optimize.samples", f"{self.samples!r} is not allowed; expected an integer in "
                                 f"[1, {MAX_SAMPLES}]")

    @property
    def names(self) -> tuple[str, ...]:
        """The objective then each constraint's result name (the columns of the Pareto front)."""
        return (self.objective, *(constraint.name for constraint in self.constraints))

    def check_names(self, links: Sequence[str]) -> None:
        """Refuse a result name whose link is not among ``links`` (known once the network is)."""
        check_result_name("optimize.maximize" if self.maximize else "optimize.minimize", self.objective, links=links)
        for index, constraint in enumerate(self.constraints):
            check_result_name(f"optimize.constraints[{index}]", constraint.name, links=links)


def parse_constraint(where: str, text: object, *, exact_figures: bool = True) -> Constraint:
    """``"<name> >= x"`` or ``"<name> <= x"`` as a :class:`Constraint`.

    ``exact_figures``: the name must be one of the exact engine's results (the optimiser's); a
    sweep's selection takes any result column, checked against the table when it selects.
    """
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError.at(where, f"{text!r} is not a constraint; expected '<name> >= x' or '<name> <= x', "
                             "e.g. 'min.fidelity >= 0.7'")
    try:
        bound = float(match["bound"])
    except ValueError:
        bound = math.nan
    if not math.isfinite(bound):
        raise ConfigError.at(where, f"{text!r}: the bound {match['bound']!r} is not a finite number")
    name = check_result_name(where, match["name"]) if exact_figures else match["name"]
    return Constraint(name=name, bound=bound, at_least=match["op"] == ">=")


def _variable(key: object, entry: object) -> Variable:
    where = f"optimize.variables.{key}"
    parts = key.split(".") if isinstance(key, str) else []
    if len(parts) < 2 or parts[0] not in SETTING_SECTIONS or not all(parts):
        raise ConfigError.at(where, f"{key!r} is not a key path; expected one of --set's, e.g. "
                             "'nodes.*.excitation_probability' or 'server.probe_photons_per_node'")
    if not isinstance(entry, Mapping):
        raise ConfigError.at(where, f"expected a table {{ low = ..., high = ..., scale = ... }}, got {entry!r}")
    refuse_unknown_keys(where, entry, VARIABLE_KEYS)
    for name in ("low", "high"):
        if name not in entry:
            raise ConfigError.at(f"{where}.{name}", "missing (a value is required)")
    return Variable(key=key, low=entry["low"], high=entry["high"], scale=entry.get("scale", "linear"))


def _links(value: object) -> tuple[str, ...] | None:
    if value == "all":
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(item, str) and item for item in value):
        if len(set(value)) != len(value):
            raise ConfigError.at("optimize.links", f"a link is given twice in {list(value)!r}")
        return tuple(value)
    raise ConfigError.at("optimize.links", f"{value!r} is not allowed; expected \"all\" or a non-empty list of "
                         "links such as [\"alice-bob\"]")


def parse_optimize_table(table: Mapping[str, object], *, where: str = "optimize") -> OptimizeSpec:
    """The ``[optimize]`` table as an :class:`OptimizeSpec`, or a one-line :class:`ConfigError`.

    ``where`` replaces ``optimize`` in refusals (e.g. ``sweep.toml: optimize``).
    """
    try:
        return _parse(table)
    except ConfigError as error:
        if where == "optimize":
            raise
        field = (error.field or "optimize").replace("optimize", where, 1)
        raise ConfigError.at(field, error.detail or str(error)) from None


def parse_goal(table: Mapping[str, object], *, where: str, exact_figures: bool = True
               ) -> tuple[str, bool, tuple[Constraint, ...]]:
    """``maximize``/``minimize`` and ``constraints`` of an [optimize] or [select] table: (name, maximize?, constraints).

    ``exact_figures``: names must be the exact engine's results (the optimiser's); a selection takes any
    result of its sweep (checked against the compute table when the file is read).
    """
    senses = [key for key in ("maximize", "minimize") if key in table]
    if len(senses) != 1:
        raise ConfigError.at(where, "give exactly one of maximize = \"<result name>\" or minimize = "
                             f"\"<result name>\" (got {', '.join(senses) or 'neither'})")
    sense = senses[0]
    objective = table[sense]
    if exact_figures:
        objective = check_result_name(f"{where}.{sense}", objective)
    elif not isinstance(objective, str) or "." not in objective:
        raise ConfigError.at(f"{where}.{sense}", f"{objective!r} is not a result name, e.g. \"min.pme_rate_hz\"")
    raw = table.get("constraints", [])
    if not isinstance(raw, list | tuple):
        raise ConfigError.at(f"{where}.constraints", f"expected a list of strings such as \"min.fidelity >= 0.7\", "
                             f"got {raw!r}")
    constraints = tuple(parse_constraint(f"{where}.constraints[{i}]", text, exact_figures=exact_figures)
                        for i, text in enumerate(raw))
    return objective, sense == "maximize", constraints


def _parse(table: Mapping[str, object]) -> OptimizeSpec:
    if not isinstance(table, Mapping):
        raise ConfigError.at("optimize", f"expected a table, got {table!r} ({type(table).__name__})")
    refuse_unknown_keys("optimize", table, TABLE_KEYS)
    objective, maximize, constraints = parse_goal(table, where="optimize")
    variables_table = table.get("variables")
    if not isinstance(variables_table, Mapping) or not variables_table:
        raise ConfigError.at("optimize.variables", "missing or empty; give [optimize.variables] with at least one "
                             "\"KEY\" = { low = ..., high = ..., scale = \"linear\" | \"log\" }")
    variables = tuple(_variable(key, entry) for key, entry in variables_table.items())
    experiment = table.get("experiment")
    if experiment is not None and (not isinstance(experiment, str) or not experiment.strip()):
        raise ConfigError.at("optimize.experiment", f"expected an experiment's name, got {experiment!r}")
    refine = table.get("refine", True)
    if not isinstance(refine, bool):
        raise ConfigError.at("optimize.refine", f"expected true or false, got {refine!r}")
    return OptimizeSpec(
        objective=objective, maximize=maximize, variables=variables, constraints=constraints,
        links=_links(table.get("links", "all")), experiment=experiment, samples=table.get("samples", 2048),
        refine=refine,
    )
