"""Optimise a network design on the batch exact engine: Sobol samples, their Pareto front, then a local polish.

:func:`optimize_design` runs an ``[optimize]`` table (:mod:`metroqnet.sweeps.optimize_spec`):

1. ``samples`` scrambled Sobol points of the unit cube (seeded), mapped to the
   variables' ranges (linear or log), all evaluated in one engine call
   (:class:`~metroqnet.sweeps.optimize_points.DesignEvaluator`; the phase loop's write
   residual is held at the base network's value, and variables that would move it are
   refused: see that module).
2. The feasible samples (every constraint holds; a NaN figure is never feasible), and the
   Pareto front of (objective, each constrained figure) over all samples with finite
   figures: the trade-off a constraint's bound moves along.
3. The best feasible sample refined by ``scipy.optimize.minimize`` (SLSQP, bounded to the
   unit cube, the constraints as inequalities), each step's value and forward-difference
   gradient from one engine call of d + 1 points. The refined point is kept only if it
   is feasible (each constraint within :data:`FEASIBILITY_TOLERANCE` of its bound, relative)
   and beats the best sample; otherwise the best sample is the optimum.

No feasible sample is a result, not an exception: it says so and gives the best value
of each constrained figure reached (``best_constraint_values``); no refinement is tried.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.identity import strong_id
from metroqnet.config.seeds import child, seed_record, seed_sequence
from metroqnet.link.points import FIELDS
from metroqnet.sweeps.compute_links import link_experiment, task_links
from metroqnet.sweeps.optimize_figures import result_names
from metroqnet.sweeps.optimize_points import DesignEvaluator, Evaluation, NetworkAt
from metroqnet.sweeps.optimize_spec import OptimizeSpec, parse_optimize_table
from metroqnet.sweeps.pareto import front_order, pareto_mask

__all__ = ["OptimizationResult", "check_on_network", "optimize_design", "parse_optimize_table",
           "FEASIBILITY_TOLERANCE"]

#: A refined point's constraint may miss its bound by this much, relative to max(1, |bound|) (SLSQP's own
#: constraint tolerance is of this order); samples are feasible only when every constraint holds exactly.
FEASIBILITY_TOLERANCE = 1e-9
#: Step of the forward differences in unit-cube coordinates (the engine is exact to ~1e-14).
GRADIENT_STEP = 1e-6
REFINE_MAX_ITERATIONS = 100
_SOBOL_STREAM = 0


def _value(number: float) -> float | None:
    return None if not math.isfinite(number) else float(number)


@dataclass(frozen=True, kw_only=True, eq=False)
class OptimizationResult:
    """What :func:`optimize_design` found: the optimum, every sample with its figures, the front.

    ``samples_settings[key]`` / ``samples_figures[name]`` are arrays over the samples in
    Sobol order; ``feasible`` and ``on_front`` flag them; ``front`` lists the front's
    sample indices along the objective. ``optimum_settings`` / ``optimum_figures`` are None
    when no point is feasible. ``optimum_source`` is ``"refined"`` or ``"sample"``.
    """

    spec: OptimizeSpec
    links: tuple[str, ...]
    experiment: str
    write_residual_rad: Mapping[str, float]
    seed: Mapping[str, object]
    samples_settings: Mapping[str, np.ndarray]
    samples_figures: Mapping[str, np.ndarray]
    samples_link_values: Mapping[str, np.ndarray] = field(repr=False)
    feasible: np.ndarray
    on_front: np.ndarray
    front: np.ndarray
    best_sample: int | None
    optimum_settings: Mapping[str, float] | None
    optimum_figures: Mapping[str, float] | None
    optimum_source: str | None
    refinement_improved: bool
    refinement_message: str
    best_constraint_values: Mapping[str, float]
    evaluations: int
    sample_wall_s: float
    worker: str

    @property
    def samples(self) -> int:
        return int(self.feasible.size)

    @property
    def feasible_count(self) -> int:
        return int(np.count_nonzero(self.feasible))

    @property
    def found(self) -> bool:
        """Whether a feasible point was found (then ``optimum_*`` hold it)."""
        return self.optimum_settings is not None

    @property
    def objective_value(self) -> float | None:
        return None if self.optimum_figures is None else self.optimum_figures[self.spec.objective]

    def _task_id(self, index: int) -> str:
        """Strong id of what determined sample ``index``'s figures: its links' parameters and the engine."""
        count = len(self.links)
        rows = {name: self.samples_link_values[name][index * count:(index + 1) * count] for name in FIELDS}
        return strong_id({"links": list(self.links), "link_parameters": rows, "engine": "metroqnet.link.batch"})

    def to_records(self) -> list[dict[str, object]]:
        """One flat dict per sample (then the refined optimum, if kept), with the sweep table's columns.

        ``task`` (sample index), ``task_id``, one column per variable key path, one per result
        name (NaN as None), ``runs`` (1), ``wall_s`` (the sample's share of the batch's wall
        time), ``worker``; and ``source`` (``sample`` / ``refined``), ``feasible``,
        ``on_front``, ``optimum``.
        """
        names = result_names(self.links)
        share = self.sample_wall_s / max(1, self.samples)
        records = []
        for index in range(self.samples):
            record: dict[str, object] = {"task": index, "task_id": self._task_id(index)}
            record |= {key: float(values[index]) for key, values in self.samples_settings.items()}
            record |= {name: _value(self.samples_figures[name][index]) for name in names}
            record |= {"runs": 1, "wall_s": share, "worker": self.worker, "source": "sample",
                       "feasible": bool(self.feasible[index]), "on_front": bool(self.on_front[index]),
                       "optimum": self.optimum_source == "sample" and index == self.best_sample}
            records.append(record)
        if self.optimum_source == "refined":
            record = {"task": self.samples, "task_id": strong_id({"refined": records[self.best_sample]["task_id"],
                                                                  "settings": dict(self.optimum_settings)})}
            record |= dict(self.optimum_settings)
            record |= {name: _value(self.optimum_figures[name]) for name in names}
            record |= {"runs": 1, "wall_s": None, "worker": self.worker, "source": "refined", "feasible": True,
                       "on_front": False, "optimum": True}
            records.append(record)
        return records

    def summary(self) -> str:
        """A few lines: the problem, the sample counts, the optimum (or the best constraint values reached)."""
        spec = self.spec
        sense = "maximise" if spec.maximize else "minimise"
        subject = "; subject to " + ", ".join(c.text for c in spec.constraints) if spec.constraints else ""
        lines = [
            f"{sense} {spec.objective}{subject}",
            f"over {', '.join(v.key for v in spec.variables)}; links {', '.join(self.links)} at experiment "
            f"{self.experiment}",
            f"samples: {self.samples} (scrambled Sobol), feasible {self.feasible_count}, on the Pareto front "
            f"{int(np.count_nonzero(self.on_front))}",
        ]
        if not self.found:
            reached = ", ".join(f"{c.name} best {self.best_constraint_values[c.name]:.6g} (needs "
                                f"{'>=' if c.at_least else '<='} {c.bound:g})" for c in spec.constraints)
            lines.append(f"no feasible point: {reached}")
            return "\n".join(lines)
        best = float(self.samples_figures[spec.objective][self.best_sample])
        how = (f"refined, {self.objective_value:.6g} against the best sample's {best:.6g}"
               if self.optimum_source == "refined" else f"best sample #{self.best_sample}; refinement: "
               f"{self.refinement_message}")
        lines.append(f"optimum ({how}): {spec.objective} = {self.objective_value:.6g}"
                     + "".join(f", {c.name} = {self.optimum_figures[c.name]:.6g}" for c in spec.constraints))
        lines.append("  at " + ", ".join(f"{key} = {value:.6g}" for key, value in self.optimum_settings.items()))
        return "\n".join(lines)


def _sobol(dimensions: int, samples: int, seed: np.random.SeedSequence) -> np.ndarray:
    """The first ``samples`` points of a scrambled Sobol sequence (drawn as the next power of two, balanced)."""
    sampler = qmc.Sobol(d=dimensions, scramble=True, rng=np.random.default_rng(seed))
    return sampler.random_base2(max(0, math.ceil(math.log2(samples))))[:samples]


def _feasible(spec: OptimizeSpec, figures: Mapping[str, np.ndarray], *, tolerance: float = 0.0) -> np.ndarray:
    ok = np.isfinite(figures[spec.objective])
    for constraint in spec.constraints:
        slack = constraint.slack(figures[constraint.name])
        ok &= np.isfinite(slack) & (slack >= -tolerance * max(1.0, abs(constraint.bound)))
    return ok


class _Refiner:
    """Objective and constraints of SLSQP in the unit cube, with gradients, from one engine call per new point."""

    def __init__(self, evaluator: DesignEvaluator, spec: OptimizeSpec, scale: float) -> None:
        self.evaluator, self.spec, self.scale = evaluator, spec, scale
        self.dimensions = len(spec.variables)
        self.evaluations = 0
        self._key: bytes | None = None
        self._values: dict[str, tuple[float, np.ndarray]] = {}

    def _at(self, unit: np.ndarray) -> dict[str, tuple[float, np.ndarray]]:
        unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
        if unit.tobytes() != self._key:
            steps = np.where(unit + GRADIENT_STEP <= 1.0, GRADIENT_STEP, -GRADIENT_STEP)
            stack = np.vstack([unit, unit + np.diag(steps)])
            figures = self.evaluator.evaluate(stack).figures
            self.evaluations += len(stack)
            self._values = {
                name: (float(figures[name][0]), (figures[name][1:] - figures[name][0]) / steps)
                for name in self.spec.names
            }
            self._key = unit.tobytes()
        return self._values

    def objective(self, unit: np.ndarray) -> float:
        value = self._at(unit)[self.spec.objective][0]
        return (-value if self.spec.maximize else value) / self.scale

    def objective_gradient(self, unit: np.ndarray) -> np.ndarray:
        gradient = self._at(unit)[self.spec.objective][1]
        return (-gradient if self.spec.maximize else gradient) / self.scale

    def constraints(self) -> list[dict[str, object]]:
        out = []
        for constraint in self.spec.constraints:
            scale = max(1.0, abs(constraint.bound))
            sign = 1.0 if constraint.at_least else -1.0
            out.append({
                "type": "ineq",
                "fun": lambda u, c=constraint, s=scale: float(c.slack(self._at(u)[c.name][0])) / s,
                "jac": lambda u, c=constraint, s=scale, g=sign: g * self._at(u)[c.name][1] / s,
            })
        return out


def _refine(evaluator: DesignEvaluator, spec: OptimizeSpec, start: np.ndarray, best: float
            ) -> tuple[np.ndarray | None, str, int]:
    """SLSQP from ``start``: the refined unit point (None if it failed), scipy's message, evaluations."""
    refiner = _Refiner(evaluator, spec, scale=abs(best) if abs(best) > 0 else 1.0)  # objective ~1 at the start
    with np.errstate(all="ignore"):
        outcome = scipy.optimize.minimize(
            refiner.objective, start, jac=refiner.objective_gradient, method="SLSQP",
            bounds=[(0.0, 1.0)] * refiner.dimensions, constraints=refiner.constraints(),
            options={"maxiter": REFINE_MAX_ITERATIONS, "ftol": 1e-12},
        )
    point = np.clip(outcome.x, 0.0, 1.0)
    return (point if np.all(np.isfinite(point)) else None), str(outcome.message), refiner.evaluations


def _best(spec: OptimizeSpec, values: np.ndarray, feasible: np.ndarray) -> int | None:
    if not feasible.any():
        return None
    candidates = np.flatnonzero(feasible)
    pick = np.argmax(values[candidates]) if spec.maximize else np.argmin(values[candidates])
    return int(candidates[pick])


def optimize_design(
    spec: OptimizeSpec,
    network_at: NetworkAt,
    *,
    seed: np.random.SeedSequence | int,
    progress: Callable[[int, int], None] | None = None,
) -> OptimizationResult:
    """Run ``spec`` on the networks ``network_at(settings)`` gives (module docstring); deterministic in ``seed``.

    ``network_at`` takes ``{key path: value}`` for the variables (``{}`` is the base
    network) and applies them as ``--set`` overrides would. ``progress(done, total)`` is
    called as the samples' networks are built.
    """
    seed = seed_sequence(seed)
    evaluator = DesignEvaluator(spec, network_at)
    unit = _sobol(len(spec.variables), spec.samples, child(seed, _SOBOL_STREAM))
    started = time.perf_counter()
    evaluation: Evaluation = evaluator.evaluate(unit, progress=progress)
    sample_wall_s = time.perf_counter() - started
    figures = evaluation.figures
    feasible = _feasible(spec, figures)
    columns = np.column_stack([figures[name] for name in spec.names])
    senses = [spec.maximize, *(constraint.at_least for constraint in spec.constraints)]
    on_front = pareto_mask(columns, maximize=senses)
    best_sample = _best(spec, figures[spec.objective], feasible)
    best_reached = {}
    for constraint in spec.constraints:
        values = figures[constraint.name]
        finite = values[np.isfinite(values)]
        best_reached[constraint.name] = (float(finite.max() if constraint.at_least else finite.min())
                                         if finite.size else math.nan)
    optimum_settings = optimum_figures = source = None
    improved, message, evaluations = False, "not run", len(unit)
    if best_sample is not None:
        optimum_settings = {key: float(values[best_sample]) for key, values in evaluation.settings.items()}
        optimum_figures = {name: float(values[best_sample]) for name, values in figures.items()}
        source = "sample"
        best_value = optimum_figures[spec.objective]
        if spec.refine:
            refined, message, used = _refine(evaluator, spec, unit[best_sample], best_value)
            evaluations += used
            if refined is not None:
                final = evaluator.evaluate(refined[None, :])
                evaluations += 1
                value = float(final.figures[spec.objective][0])
                better = value > best_value if spec.maximize else value < best_value
                if _feasible(spec, final.figures, tolerance=FEASIBILITY_TOLERANCE)[0] and better:
                    improved, source = True, "refined"
                    optimum_settings = {key: float(values[0]) for key, values in final.settings.items()}
                    optimum_figures = {name: float(values[0]) for name, values in final.figures.items()}
                elif not better:
                    message += "; no better than the best sample"
                else:
                    message += "; the refined point misses a constraint"
        else:
            message = "not asked for (refine = false)"
    batch_values = evaluation.batch.points.values
    return OptimizationResult(
        spec=spec, links=evaluator.links, experiment=evaluator.experiment.name,
        write_residual_rad=dict(evaluator.write_residual_rad), seed=seed_record(seed),
        samples_settings=evaluation.settings, samples_figures=figures,
        samples_link_values={name: batch_values[name] for name in FIELDS},
        feasible=feasible, on_front=on_front, front=front_order(columns, on_front), best_sample=best_sample,
        optimum_settings=optimum_settings, optimum_figures=optimum_figures, optimum_source=source,
        refinement_improved=improved, refinement_message=message, best_constraint_values=best_reached,
        evaluations=evaluations, sample_wall_s=sample_wall_s, worker=f"{platform.node()}:{os.getpid()}",
    )


def check_on_network(spec: OptimizeSpec, network: NetworkHardware) -> None:
    """Refuse the optimiser's links, experiment or result names that ``network`` does not have (when the
    sweep file is read, before a store is made); :class:`~metroqnet.sweeps.optimize_points.DesignEvaluator`
    makes the same checks when it runs."""
    link_experiment(network, spec.experiment, where="optimize.experiment")
    spec.check_names([label for label, _ in task_links(spec.links, network, where="optimize.links")])
