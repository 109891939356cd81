"""The ``exact`` and ``loop`` kinds: the exact engine on a task's links, and the phase loop alone.

``exact`` maps each link to its parameters at a declared link experiment's settings (storage
time, repetition rate, herald scale, the loop's residual at the write) and evaluates all of the
task's links in one call of the batch engine (:func:`metroqnet.link.batch.evaluate_links`).
Its only randomness is the loop's run behind the write residual, seeded from the task
(``residual_seed = "task"``) or by a fixed integer; its standard error is σ/√(2N) for a
Gaussian residual (0.16 % at the library's 200,000 trials).
"""

from __future__ import annotations

import math

import numpy as np

from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.experiments.link_setup import write_residual_std_rad
from metroqnet.link.batch import LinkBatchResult, evaluate_links
from metroqnet.sweeps.compute_links import (
    experiment_parameters,
    flatten,
    link_experiment,
    loop_seed,
    number,
    residual_seed_of,
    task_links,
)
from metroqnet.sweeps.optimize_figures import AGGREGATES, batch_figures


def _evaluate(parameters: list, labels: list[str]) -> LinkBatchResult:
    """The batch engine on the task's links; a link without heralds (no figure defined) is refused by name."""
    try:
        return evaluate_links(parameters)
    except UndefinedEstimate:
        for params, label in zip(parameters, labels):
            try:
                evaluate_links([params])
            except UndefinedEstimate as error:
                detail = str(error).removeprefix("points[0]: ")
                raise UndefinedEstimate(f"link {label}: {detail} (no figure of the exact engine is defined)") from None
        raise


def exact_task(compute, network: NetworkHardware, seed: np.random.SeedSequence) -> dict[str, object]:
    """The ``exact`` kind (:class:`metroqnet.sweeps.compute.ExactCompute`) on one task."""
    links = task_links(compute.links, network)
    experiment = link_experiment(network, compute.experiment)
    residual_seed = residual_seed_of(compute.residual_seed, seed)
    parameters, residuals = [], []
    for _, pair in links:
        params, residual_rad = experiment_parameters(
            network, experiment, pair, residual_trials=compute.residual_trials, residual_seed=residual_seed
        )
        parameters.append(params)
        residuals.append(residual_rad)
    labels = [label for label, _ in links]
    # the optimiser's arrays over design points, here for one point: one set of names and sign weights
    arrays = batch_figures(_evaluate(parameters, labels), labels, residuals)
    return {f"{owner}.{name}": number(arrays[f"{owner}.{name}"][0])
            for owner in (*labels, *AGGREGATES) for name in compute.figure_names}


def loop_task(compute, network: NetworkHardware, seed: np.random.SeedSequence) -> dict[str, object]:
    """The ``loop`` kind (:class:`metroqnet.sweeps.compute.LoopCompute`): σ of the residual at the write per link."""
    links = task_links(compute.links, network)
    rate_hz = None
    if compute.experiment is not None:
        try:
            rate_hz = network.experiment(compute.experiment).repetition_rate_hz
        except ConfigError as error:
            raise error.renamed("compute.experiment") from None
    per_link = {}
    for label, pair in links:
        residual_rad = write_residual_std_rad(network, *pair, repetition_rate_hz=rate_hz, trials=compute.trials,
                                              seed=loop_seed(seed))
        per_link[label] = {"write_residual_deg": math.degrees(residual_rad)}
    return flatten(per_link, compute.figure_names)
