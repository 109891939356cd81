"""The ``simulate`` and ``network`` kinds: Monte Carlo figures of a task's links, each with its standard error.

``simulate`` samples each link in chunks of ``trials`` (:class:`metroqnet.sampling.link_sampler.LinkSampler`,
the sampler behind :func:`metroqnet.experiments.simulation.simulate_link`). Chunk k of link L draws
from the stream ``(task seed, SIMULATE_STREAM, key(L), k)``: the counts after k chunks are the same
whether the run was asked for k chunks or stopped there by a target, and a link's stream does not
depend on which other links the task lists. The figures are those of
:func:`metroqnet.analysis.uncertainty.analyze_counts` on the summed counts.

``network`` is :func:`metroqnet.experiments.network_run.run_network` on a child of the task's seed.
"""

from __future__ import annotations

import numpy as np

from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.analysis.records import CountRecord
from metroqnet.analysis.uncertainty import CountAnalysis, analyze_counts
from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import child
from metroqnet.experiments.network_run import run_network
from metroqnet.sampling.link_sampler import LinkSampler
from metroqnet.sweeps.compute_links import (
    NETWORK_STREAM,
    SIGN_FIGURES,
    SIMULATE_STREAM,
    experiment_parameters,
    flatten,
    link_experiment,
    residual_seed_of,
    sign_mean_stderr,
    stream_key,
    task_links,
)


def _analysis(record: CountRecord) -> CountAnalysis | None:
    try:
        return analyze_counts(record)
    except UndefinedEstimate:  # nothing to estimate from (no heralds): the figures are absent
        return None


def count_figures(analysis: CountAnalysis | None, names: tuple[str, ...]) -> dict[str, object]:
    """``name`` and ``name_stderr`` of each figure of the counts; per-sign ones weighted by the herald counts."""
    out: dict[str, object] = {}
    for name in names:
        value = error = None
        if analysis is not None and name in SIGN_FIGURES:
            counts = [int(analysis.counts[sign]) for sign in HERALD_SIGNS]
            value, error = sign_mean_stderr([analysis.figures[sign].get(name) for sign in HERALD_SIGNS],
                                            [analysis.figures_stderr[sign].get(name) for sign in HERALD_SIGNS], counts)
        elif analysis is not None:
            value, error = analysis.estimates.get(name), analysis.stderr.get(name)
        out[name], out[f"{name}_stderr"] = value, error
    return out


def _below_target(analysis: CountAnalysis | None, figure: str, target: float) -> bool:
    error = count_figures(analysis, (figure,))[f"{figure}_stderr"]
    return error is not None and error < target


def simulate_link_chunks(sampler: LinkSampler, stream: np.random.SeedSequence, *, trials: int, max_chunks: int,
                         target: tuple[str, float] | None = None) -> tuple[CountRecord, CountAnalysis | None]:
    """Chunks of ``trials`` on streams ``child(stream, k)``, k = 0, 1, ...: ``max_chunks`` of them, or with
    ``target = (figure, stderr)`` up to the first chunk after which the figure's standard error is below it."""
    record = None
    for k in range(max_chunks):
        chunk = sampler.sample(trials, seed=child(stream, k))
        record = chunk if record is None else record + chunk
        if target is not None and _below_target(_analysis(record), *target):
            break
    return record, _analysis(record)


def simulate_task(compute, network: NetworkHardware, seed: np.random.SeedSequence) -> dict[str, object]:
    """The ``simulate`` kind (:class:`metroqnet.sweeps.compute.SimulateCompute`) on one task."""
    links = task_links(compute.links, network)
    experiment = link_experiment(network, compute.experiment)
    residual_seed = residual_seed_of(compute.residual_seed, seed)
    target = None
    max_chunks = compute.chunks
    if compute.target_figure is not None:
        target = (compute.target_figure, compute.target_stderr)
        max_chunks = compute.max_trials // compute.trials
    per_link = {}
    for label, pair in links:
        params, _ = experiment_parameters(network, experiment, pair, residual_trials=compute.residual_trials,
                                          residual_seed=residual_seed)
        stream = child(seed, SIMULATE_STREAM, stream_key(label))
        record, analysis = simulate_link_chunks(LinkSampler(params, link=label), stream, trials=compute.trials,
                                                max_chunks=max_chunks, target=target)
        values = count_figures(analysis, compute.figure_names)
        values["trials"] = record.trials
        if target is not None:
            values["target_reached"] = int(_below_target(analysis, *target))
        per_link[label] = values
    return flatten(per_link, compute.figure_names)


def network_task(compute, network: NetworkHardware, seed: np.random.SeedSequence) -> dict[str, object]:
    """The ``network`` kind (:class:`metroqnet.sweeps.compute.NetworkCompute`) on one task.

    A listed link the switch never connected in the run has rate 0 (with the Poisson error of one
    herald, as the run reports an empty link) and no figures.
    """
    links = task_links(compute.links, network)
    experiment = link_experiment(network, compute.experiment)
    run = run_network(network, hours=compute.hours, seed=child(seed, NETWORK_STREAM), experiment=experiment.name,
                      policy=compute.policy, residual_trials=compute.residual_trials)
    by_pair = {frozenset(link.pair): link for link in run.links.values()}
    names = compute.figure_names
    figure_names = tuple(name for name in names if name not in ("rate_hz", "schedule_rate_hz", "fixed_link_rate_hz"))
    per_link = {}
    for label, pair in links:
        link = by_pair.get(frozenset(pair))
        values: dict[str, object] = {}
        if link is None:
            values |= {"rate_hz": 0.0, "rate_hz_stderr": 1.0 / run.duration_s, "schedule_rate_hz": 0.0,
                       "fixed_link_rate_hz": None}
        else:
            values |= {"rate_hz": link.rate_hz, "rate_hz_stderr": link.rate_hz_stderr,
                       "schedule_rate_hz": link.schedule_rate_hz, "fixed_link_rate_hz": link.fixed_link_rate_hz}
        values |= count_figures(None if link is None else link.analysis, figure_names)
        values["trials"] = 0 if link is None else link.trials
        per_link[label] = {name: value for name, value in values.items()
                           if name.removesuffix("_stderr") in names or name == "trials"}
    return flatten(per_link, names)
