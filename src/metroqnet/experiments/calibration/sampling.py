"""Posterior samples by emcee's ensemble sampler, vectorized over walkers and seeded.

Each step proposes half the walkers and evaluates all of their links in one call of the
batch engine (``vectorize=True``). Moves: differential evolution (80 %) and its snooker
variant (20 %), which follow the long, narrow ridges of a posterior whose parameters
trade off against each other (e.g. the write-out overlap against the EP overlap).
The sampler's random state is a ``RandomState`` on an MT19937 stream spawned from the
run's ``SeedSequence``, so the same seed gives the same chain bit for bit.

The walkers start from the Laplace approximation at the MAP: normal with covariance
(F + 12·I)⁻¹ in unit coordinates (F the Fisher matrix, 12 the precision of a uniform
prior on [0, 1]), clipped into the box; the first ``burn_in`` steps are discarded.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import emcee
import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import Count, check
from metroqnet.experiments.calibration.posterior import Posterior

#: Precision of a uniform prior on [0, 1] (its variance is 1/12), added to the Fisher matrix for the start.
UNIFORM_PRECISION = 12.0


@dataclass(frozen=True)
class SamplerSettings:
    """Walkers, steps, the steps discarded as burn-in (default a third), and the steps of a leave-one-out refit
    (default half)."""

    walkers: int = 32
    steps: int = 1200
    burn_in: int | None = None
    refit_steps: int | None = None

    def __post_init__(self) -> None:
        for name in ("walkers", "steps"):
            check(name, getattr(self, name), Count)
        if self.burn_in is None:
            object.__setattr__(self, "burn_in", self.steps // 3)
        if self.refit_steps is None:
            object.__setattr__(self, "refit_steps", max(self.steps // 2, 2))
        for name in ("burn_in", "refit_steps"):
            check(name, getattr(self, name), Count)
        if self.walkers < 4 or self.walkers % 2:
            raise ConfigError.at("walkers", f"{self.walkers} is not allowed; an even number >= 4 is")
        if not 0 <= self.burn_in < self.steps:
            raise ConfigError.at("burn_in", f"{self.burn_in} must be below steps ({self.steps})")
        if self.refit_steps < 2:
            raise ConfigError.at("refit_steps", f"{self.refit_steps} is too few; at least 2")

    def refit(self) -> SamplerSettings:
        """The settings of a leave-one-out refit: ``refit_steps`` steps, a third of them burn-in.

        A refit starts from the full run's final walkers, already spread over the posterior,
        so it needs fewer steps than the main run to settle into the leave-one-out posterior.
        """
        return SamplerSettings(walkers=self.walkers, steps=self.refit_steps, burn_in=self.refit_steps // 3,
                               refit_steps=self.refit_steps)

    def as_dict(self) -> dict[str, int]:
        return {"walkers": self.walkers, "steps": self.steps, "burn_in": self.burn_in, "refit_steps": self.refit_steps}


@dataclass(frozen=True)
class Chain:
    """Samples after burn-in (flattened, step-major): unit coordinates, log posterior and every target's prediction."""

    samples: np.ndarray
    log_prob: np.ndarray
    predictions: np.ndarray
    final: np.ndarray
    acceptance: float
    autocorrelation_steps: float
    steps: int
    evaluations: int

    @property
    def effective_samples(self) -> float:
        """Walkers × kept steps / the longest integrated autocorrelation time (an estimate)."""
        walkers = self.final.shape[0]
        kept = self.samples.shape[0] / walkers
        if not np.isfinite(self.autocorrelation_steps) or self.autocorrelation_steps <= 0:
            return float("nan")
        return float(walkers * kept / self.autocorrelation_steps)

    def diagnostics(self) -> dict[str, float | int]:
        return {
            "acceptance": self.acceptance,
            "autocorrelation_steps": self.autocorrelation_steps,
            "effective_samples": self.effective_samples,
            "kept_samples": int(self.samples.shape[0]),
            "evaluations": self.evaluations,
        }


def laplace_start(
    unit: np.ndarray, fisher: np.ndarray, walkers: int, rng: np.random.Generator, posterior: Posterior
) -> np.ndarray:
    """``walkers`` points from N(unit, (F + 12 I)⁻¹) clipped into the box, each with a finite posterior."""
    covariance = np.linalg.inv(fisher + UNIFORM_PRECISION * np.eye(unit.size))
    covariance = 0.5 * (covariance + covariance.T)
    points = np.empty((walkers, unit.size))
    filled = 0
    for _ in range(50):
        draws = np.clip(rng.multivariate_normal(unit, covariance, size=walkers, method="eigh"), 1e-4, 1 - 1e-4)
        good = draws[np.isfinite(posterior.log_prob(draws))]
        take = min(good.shape[0], walkers - filled)
        points[filled : filled + take] = good[:take]
        filled += take
        if filled == walkers:
            return points
    raise ValueError("could not draw walkers with a finite posterior around the MAP")


def _autocorrelation_steps(chain: np.ndarray) -> float:
    """The longest integrated autocorrelation time over the parameters (steps); NaN if the chain is too short.

    emcee warns (through logging) when the chain is shorter than 50 τ; the diagnostics
    report τ and the effective sample size instead.
    """
    logger = logging.getLogger("emcee.autocorr")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(np.max(emcee.autocorr.integrated_time(chain, quiet=True)))
    except Exception:  # noqa: BLE001 - too short a chain for any estimate
        return float("nan")
    finally:
        logger.setLevel(level)


def _state(seed: np.random.SeedSequence) -> dict:
    return np.random.RandomState(np.random.MT19937(seed)).get_state()


def run_chain(
    posterior: Posterior,
    initial: np.ndarray,
    *,
    settings: SamplerSettings,
    seed: np.random.SeedSequence,
    progress: Callable[[int], None] | None = None,
) -> Chain:
    """Sample ``posterior`` from the walkers ``initial`` ``(walkers, d)`` (module doc)."""
    walkers, dimension = initial.shape
    before = posterior.evaluations

    def log_prob(units: np.ndarray) -> np.ndarray:
        values, predictions = posterior.evaluate(units)
        return np.column_stack([values, predictions])

    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, dimension, log_prob, moves=moves, vectorize=True)
    sampler.random_state = _state(seed)
    for _ in sampler.sample(initial, iterations=settings.steps):
        if progress is not None:
            progress(1)
    burn = settings.burn_in
    chain = sampler.get_chain(discard=burn)
    tau = _autocorrelation_steps(chain)
    blobs = sampler.get_blobs(discard=burn, flat=True)
    return Chain(
        samples=sampler.get_chain(discard=burn, flat=True),
        log_prob=sampler.get_log_prob(discard=burn, flat=True),
        predictions=np.asarray(blobs, dtype=float).reshape(-1, len(posterior.model.targets)),
        final=sampler.get_chain()[-1].copy(),
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        autocorrelation_steps=tau,
        steps=settings.steps,
        evaluations=posterior.evaluations - before,
    )
