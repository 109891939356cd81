"""Leave-one-out predictions: each published number predicted by a fit that never saw it.

For each number i in the likelihood the leave-one-out posterior is p(θ | y₋ᵢ) ∝ p(θ | y) / Lᵢ(θ).
It is reached two ways:

* **PSIS** (Pareto-smoothed importance sampling, Vehtari, Gelman & Gabry 2017): the full
  posterior's samples reweighted by 1/Lᵢ = exp(½ zᵢ²), the largest weights smoothed by a
  generalized Pareto fit. Free, and reliable while the fit's shape parameter k̂ ≤ 0.7.
* **Refit**: where k̂ > 0.7, or where the number's leverage h (its share of the Fisher
  information along its own gradient at the MAP, with the prior's precision,
  :func:`~metroqnet.experiments.calibration.posterior.leverages`) exceeds 0.5 — a number that
  alone pins a direction (the 17° and the loop's acoustic variance, the 107 µs heralding
  probability and the herald scale), so that leaving it out moves or widens the posterior
  beyond the region the samples cover — the sampler runs again on the likelihood without
  it, from the full run's final walkers. The leverage test is there because k̂ only sees
  the weights of the samples at hand: a posterior pressed against a prior bound by one
  number gives smooth, light-tailed weights (k̂ ≈ 0) while the leave-one-out posterior
  lies elsewhere.

A number that recomputes another (:class:`~metroqnet.experiments.calibration.targets.Target`
``same_as``) is left out together with it: leaving out the heralding probability leaves out
the entangling rate too.

The prediction is the posterior predictive of the *measured* value: the model's value over
the leave-one-out posterior, plus the number's own error (Gaussian). Its mean and sd give
z = (paper − mean)/sd; its quantiles (the exact mixture, solved by bisection) give the
68 % interval and the 2σ interval (2.275 %–97.725 %). "Inside 2σ" means the paper's value
lies in that 2σ interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import ndtr

from metroqnet.config.seeds import child
from metroqnet.experiments.calibration.posterior import Posterior
from metroqnet.experiments.calibration.sampling import Chain, SamplerSettings, run_chain
from metroqnet.experiments.calibration.targets import Target

#: Above this Pareto shape the importance weights are unreliable and the number is refitted.
PARETO_K_LIMIT = 0.7
#: Above this leverage a number alone pins a direction: refitted whatever k̂ says.
LEVERAGE_LIMIT = 0.5
#: Probabilities of the 68 % and the 2σ (95.45 %) predictive intervals.
ONE_SIGMA = (0.158655, 0.841345)
TWO_SIGMA = (0.0227501, 0.9772499)


@dataclass(frozen=True)
class Prediction:
    """One published number beside its prediction (leave-one-out for a fitted number, posterior for another)."""

    key: str
    label: str
    setting: str
    paper: float
    error: float | None
    error_source: str
    method: str
    pareto_k: float | None
    leverage: float | None
    model_median: float
    model_sd: float
    mean: float
    sd: float
    low_68: float
    high_68: float
    low_2sigma: float
    high_2sigma: float

    @property
    def z(self) -> float:
        return (self.paper - self.mean) / self.sd

    @property
    def inside_2sigma(self) -> bool:
        return self.low_2sigma <= self.paper <= self.high_2sigma

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "z": self.z, "inside_2sigma": self.inside_2sigma}


def _gpd_fit(exceedances: np.ndarray) -> tuple[float, float]:
    """Shape k and scale σ of a generalized Pareto fit (Zhang & Stephens 2009, with Vehtari et al.'s prior on k)."""
    x = np.sort(exceedances)
    n = x.size
    points = 30 + int(math.sqrt(n))
    b = 1.0 - np.sqrt(points / (np.arange(1, points + 1) - 0.5))
    b /= 3.0 * x[int(n / 4 + 0.5) - 1]
    b += 1.0 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    log_likelihood = n * (np.log(-b / k) - k - 1.0)
    weights = 1.0 / np.exp(log_likelihood - log_likelihood[:, None]).sum(axis=1)
    keep = weights >= 10 * np.finfo(float).eps
    weights, b = weights[keep] / weights[keep].sum(), b[keep]
    b_post = float(np.sum(b * weights))
    k_post = float(np.log1p(-b_post * x).mean())
    sigma = -k_post / b_post
    k_post = (n * k_post + 10 * 0.5) / (n + 10)
    return k_post, sigma


def psis(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalized weights and the Pareto k̂ of importance ratios exp(``log_ratios``)."""
    count = log_ratios.size
    log_w = log_ratios - np.max(log_ratios)
    tail = int(min(0.2 * count, 3 * math.sqrt(count)))
    weights = np.exp(log_w)
    k_hat = float("inf")
    if tail >= 5:
        order = np.argsort(log_w, kind="stable")
        cutoff = math.exp(log_w[order[-tail - 1]])
        top = order[-tail:]
        exceedances = weights[top] - cutoff
        if np.all(exceedances > 0) and np.ptp(exceedances) > 0:
            k_hat, sigma = _gpd_fit(exceedances)
            probabilities = (np.arange(1, tail + 1) - 0.5) / tail
            if k_hat == 0:
                smoothed = -sigma * np.log1p(-probabilities)
            else:
                smoothed = sigma * np.expm1(-k_hat * np.log1p(-probabilities)) / k_hat
            weights[top] = np.minimum(cutoff + smoothed, 1.0)
        else:
            k_hat = 0.0
    return weights / weights.sum(), k_hat


def _quantile(values: np.ndarray, weights: np.ndarray, error: float, probability: float) -> float:
    """The ``probability`` quantile of Σ w_s N(values_s, error²), by bisection."""
    low, high = float(values.min() - 8 * error), float(values.max() + 8 * error)
    for _ in range(60):
        middle = 0.5 * (low + high)
        if float(np.dot(weights, ndtr((middle - values) / error))) < probability:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def predictive(target: Target, values: np.ndarray, weights: np.ndarray | None, *, method: str,
               pareto_k: float | None, leverage: float | None = None) -> Prediction:
    """The posterior predictive of ``target``'s measured value from model values and weights (uniform if None)."""
    good = np.isfinite(values)
    values = values[good]
    weights = np.full(values.size, 1.0 / values.size) if weights is None else weights[good] / weights[good].sum()
    error = target.error if target.error else 0.0
    model_mean = float(np.dot(weights, values))
    model_sd = math.sqrt(max(float(np.dot(weights, (values - model_mean) ** 2)), 0.0))
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    median = float(values[order][np.searchsorted(cumulative, 0.5)])
    spread = error if error > 0 else max(model_sd * 1e-6, 1e-300)
    quantiles = [_quantile(values, weights, spread, p) for p in (*ONE_SIGMA, *TWO_SIGMA)]
    return Prediction(
        key=target.key, label=target.label, setting=target.setting, paper=target.value, error=target.error,
        error_source=target.error_source, method=method, pareto_k=pareto_k, leverage=leverage, model_median=median,
        model_sd=model_sd,
        mean=model_mean, sd=math.sqrt(model_sd**2 + error**2), low_68=quantiles[0], high_68=quantiles[1],
        low_2sigma=quantiles[2], high_2sigma=quantiles[3],
    )


def groups(posterior: Posterior) -> list[tuple[str, ...]]:
    """Each number in the likelihood with the numbers that recompute it (left out together)."""
    return [
        (key, *(t.key for t in posterior.model.targets if t.same_as == key and t.fitted)) for key in posterior.keys
    ]


def leave_one_out(
    posterior: Posterior,
    chain: Chain,
    *,
    settings: SamplerSettings,
    seed: np.random.SeedSequence,
    leverage: np.ndarray,
    progress: Callable[[int], None] | None = None,
    refit_limit: float = PARETO_K_LIMIT,
    leverage_limit: float = LEVERAGE_LIMIT,
) -> tuple[list[Prediction], list[dict[str, object]]]:
    """A prediction for every fitted number, in the targets' order, and a record of each refit's chain.

    ``leverage[i]`` is the leverage of ``posterior.keys[i]`` at the MAP.
    """
    keys = [target.key for target in posterior.model.targets]
    by_key = {target.key: target for target in posterior.model.targets}
    predictions: dict[str, Prediction] = {}
    refits: list[dict[str, object]] = []
    for index, group in enumerate(groups(posterior)):
        column = posterior.keys.index(group[0])
        z = posterior.z_scores(chain.predictions[:, [keys.index(k) for k in posterior.keys]])[:, column]
        weights, k_hat = psis(0.5 * z**2)
        h = float(leverage[column])
        if k_hat <= refit_limit and h <= leverage_limit:
            for key in group:
                predictions[key] = predictive(by_key[key], chain.predictions[:, keys.index(key)], weights,
                                              method="psis", pareto_k=k_hat, leverage=h)
        else:
            refit = run_chain(posterior.without(group), chain.final, settings=settings.refit(),
                              seed=child(seed, index), progress=progress)
            refits.append({"left_out": list(group), "pareto_k": k_hat, "leverage": h, **refit.diagnostics()})
            for key in group:
                predictions[key] = predictive(by_key[key], refit.predictions[:, keys.index(key)], None,
                                              method="refit", pareto_k=k_hat, leverage=h)
    ordered = [predictions[target.key] for target in posterior.model.targets if target.key in predictions]
    return ordered, refits


def link_groups(posterior: Posterior) -> list[tuple[str, tuple[str, ...]]]:
    """(link, its numbers in the likelihood) for each published link in the fit, in the targets' order."""
    out: dict[str, list[str]] = {}
    for key in posterior.keys:
        if key.startswith("links."):
            out.setdefault(key.split(".")[1], []).append(key)
    return [(link, tuple(keys)) for link, keys in out.items()]


def leave_links_out(
    posterior: Posterior,
    chain: Chain,
    *,
    settings: SamplerSettings,
    seed: np.random.SeedSequence,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Prediction], list[dict[str, object]]]:
    """Each published link's numbers predicted by a refit without *any* of them (the link's C and C̃, both signs).

    Per-number leave-one-out leaves a Table 1 number's other sign (the same model value) and
    the link's C̃ in the fit; leaving the whole link out asks whether the other links and runs
    predict it. A refit per link (child ``index`` of ``seed``), from the full run's final walkers.
    """
    keys = [target.key for target in posterior.model.targets]
    by_key = {target.key: target for target in posterior.model.targets}
    predictions: list[Prediction] = []
    refits: list[dict[str, object]] = []
    for index, (link, group) in enumerate(link_groups(posterior)):
        refit = run_chain(posterior.without(group), chain.final, settings=settings.refit(), seed=child(seed, index),
                          progress=progress)
        refits.append({"left_out": list(group), "link": link, **refit.diagnostics()})
        predictions += [predictive(by_key[key], refit.predictions[:, keys.index(key)], None,
                                   method="refit, link left out", pareto_k=None) for key in group]
    return predictions, refits


def count_inside(predictions: Sequence[Prediction]) -> tuple[int, int]:
    """(numbers inside their 2σ predictive interval, numbers)."""
    return sum(p.inside_2sigma for p in predictions), len(predictions)
