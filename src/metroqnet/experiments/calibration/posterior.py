"""The likelihood of the published numbers, the posterior in unit coordinates, its maximum and its Fisher matrix.

**Likelihood.** Each number i in the likelihood (every fitted target that is not another
one recomputed) is Gaussian about the model's value with the number's one-sigma error:
log L = -½ Σ_i ((m_i(θ) - y_i)/σ_i)², errors independent (the paper gives no
covariances). **Prior.** Uniform in each prior's scale over its range: in unit
coordinates u ∈ [0, 1]^d the log prior is 0 inside the box and -inf outside. A point the
model refuses has probability 0.

**Maximum (MAP).** L-BFGS-B in the box from several starts (the preset's own values and
seeded Latin-hypercube points); each gradient is a forward difference whose d + 1 points
are one call of the batch engine. With flat priors the MAP is the maximum-likelihood point
inside the prior box.

**Fisher matrix.** F = Jᵀ diag(1/σ²) J with J = ∂m/∂u by central differences (one-sided
at a bound): the information the numbers carry about each direction of u.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc

from metroqnet.experiments.calibration.model import ForwardModel
from metroqnet.experiments.calibration.targets import Target

#: Step of the MAP's forward-difference gradient, in unit coordinates.
GRADIENT_STEP = 1e-5
#: Step of the Fisher matrix's central differences, in unit coordinates.
JACOBIAN_STEP = 1e-3
#: Random starts of the MAP search besides the preset's values.
MAP_STARTS = 3


class Posterior:
    """log p(u | published numbers) for many points at once; ``exclude`` leaves numbers out (leave-one-out)."""

    def __init__(self, model: ForwardModel, *, exclude: Collection[str] = ()) -> None:
        self.model = model
        self.exclude = frozenset(exclude)
        self.terms: tuple[Target, ...] = tuple(
            target for target in model.targets if target.in_likelihood and target.key not in exclude
        )
        self.keys = tuple(target.key for target in self.terms)
        self.values = np.array([target.value for target in self.terms])
        self.errors = np.array([target.error for target in self.terms])
        self.evaluations = 0

    def without(self, keys: Collection[str]) -> Posterior:
        """The same posterior with these numbers left out as well."""
        return Posterior(self.model, exclude=self.exclude | set(keys))

    def z_scores(self, predictions: np.ndarray) -> np.ndarray:
        """(model - published)/error for each point and number in the likelihood; ``predictions`` ``(points, all)``."""
        return (predictions - self.values) / self.errors

    def evaluate(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log posterior ``(points,)``, every target's prediction ``(points, targets)``); -inf outside or refused."""
        units = np.atleast_2d(units)
        inside = np.all((units >= 0.0) & (units <= 1.0), axis=1)
        log_prob = np.full(units.shape[0], -np.inf)
        predictions = np.full((units.shape[0], len(self.model.targets)), np.nan)
        if inside.any():
            result = self.model.predict(units[inside])
            all_keys = [target.key for target in self.model.targets]
            matrix = result.matrix(all_keys)
            predictions[inside] = matrix
            columns = [all_keys.index(key) for key in self.keys]
            z = self.z_scores(matrix[:, columns])
            values = -0.5 * np.sum(z**2, axis=1)
            values[~np.isfinite(values)] = -np.inf
            log_prob[inside] = values
            self.evaluations += int(inside.sum())
        return log_prob, predictions

    def log_prob(self, units: np.ndarray) -> np.ndarray:
        return self.evaluate(units)[0]


@dataclass(frozen=True)
class MaximumPosterior:
    """The MAP in unit coordinates, its log posterior, and how the search went."""

    unit: np.ndarray
    log_prob: float
    starts: int
    evaluations: int


def _value_and_gradient(posterior: Posterior, unit: np.ndarray) -> tuple[float, np.ndarray]:
    """-log p and its forward-difference gradient (steps inward at the upper bound), one batch."""
    dimension = unit.size
    steps = np.where(unit + GRADIENT_STEP <= 1.0, GRADIENT_STEP, -GRADIENT_STEP)
    points = np.repeat(unit[None, :], dimension + 1, axis=0)
    points[1:] += np.diag(steps)
    values = posterior.log_prob(points)
    if not np.isfinite(values[0]):
        return 1e300, np.zeros(dimension)
    differences = np.where(np.isfinite(values[1:]), values[1:] - values[0], 0.0)
    return float(-values[0]), -differences / steps


def maximum_posterior(
    posterior: Posterior, *, starts: Sequence[np.ndarray], rng: np.random.Generator, random_starts: int = MAP_STARTS,
    progress: Callable[[int], None] | None = None,
) -> MaximumPosterior:
    """The MAP by L-BFGS-B from ``starts`` plus ``random_starts`` seeded Latin-hypercube points."""
    dimension = posterior.model.dimension
    before = posterior.evaluations
    candidates = [np.clip(np.asarray(start, dtype=float), 1e-3, 1 - 1e-3) for start in starts]
    if random_starts:
        sampler = qmc.LatinHypercube(d=dimension, seed=rng)
        candidates += list(0.05 + 0.9 * sampler.random(random_starts))
    best: tuple[float, np.ndarray] | None = None
    for start in candidates:
        if not np.isfinite(posterior.log_prob(start[None, :])[0]):
            continue
        result = minimize(lambda u: _value_and_gradient(posterior, u), start, jac=True, method="L-BFGS-B",
                          bounds=[(0.0, 1.0)] * dimension, options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-7})
        if best is None or result.fun < best[0]:
            best = (float(result.fun), np.clip(result.x, 0.0, 1.0))
        if progress is not None:
            progress(1)
    if best is None:
        raise ValueError("no start of the MAP search has a finite posterior: every start is refused by the model")
    return MaximumPosterior(unit=best[1], log_prob=-best[0], starts=len(candidates),
                            evaluations=posterior.evaluations - before)


def jacobian(posterior: Posterior, unit: np.ndarray, keys: Sequence[str], *, step: float = JACOBIAN_STEP
             ) -> np.ndarray:
    """∂(numbers of ``keys``)/∂u at ``unit``: central differences, one-sided at a bound; ``(len(keys), d)``."""
    dimension = unit.size
    up = np.minimum(unit + step, 1.0)
    down = np.maximum(unit - step, 0.0)
    points = [unit]
    for index in range(dimension):
        for value in (up[index], down[index]):
            point = unit.copy()
            point[index] = value
            points.append(point)
    _, predictions = posterior.evaluate(np.array(points))
    all_keys = [target.key for target in posterior.model.targets]
    columns = [all_keys.index(key) for key in keys]
    table = predictions[:, columns]
    out = np.empty((len(keys), dimension))
    for index in range(dimension):
        plus, minus = table[1 + 2 * index], table[2 + 2 * index]
        out[:, index] = (plus - minus) / (up[index] - down[index])
    return out


def weighted_jacobian(posterior: Posterior, unit: np.ndarray) -> np.ndarray:
    """diag(1/σ) J at ``unit``: each row the gradient of one number in the likelihood over its error."""
    return jacobian(posterior, unit, posterior.keys) / posterior.errors[:, None]


def fisher_matrix(posterior: Posterior, unit: np.ndarray) -> np.ndarray:
    """Jᵀ diag(1/σ²) J at ``unit`` over the numbers in the likelihood, in unit coordinates."""
    j = weighted_jacobian(posterior, unit)
    return j.T @ j


def leverages(weighted: np.ndarray, *, prior_precision: float) -> np.ndarray:
    """hᵢ = gᵢᵀ (F + P)⁻¹ gᵢ per number (gᵢ its row of ``weighted``, F = Σ gᵢgᵢᵀ, P the prior's precision).

    The share of the information along its own gradient that number i carries: near 1 it alone
    pins a direction (leaving it out widens the posterior there by 1/√(1 - h)), near 0 the
    others know what it says.
    """
    fisher = weighted.T @ weighted + prior_precision * np.eye(weighted.shape[1])
    solved = np.linalg.solve(fisher, weighted.T)
    return np.einsum("ij,ji->i", weighted, solved)
