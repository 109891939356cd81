"""What the compute kinds share: figure names, the task's links, its streams, link parameters, aggregates.

Per-sign figures (fidelity, concurrence, the correlators, ...) are reported as one number per
link: the mean over the two herald signs weighted by their herald probabilities (exact kind) or
herald counts (Monte Carlo kinds). For a figure linear in the counts (populations, correlators,
fidelity) this is the figure of all heralded events with the sign's phase corrected; for the
concurrences it is the mean a user gets who keeps both signs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import Experiment, NetworkHardware
from metroqnet.config.identity import strong_id
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import child
from metroqnet.experiments.link_setup import herald_transmission_scale, write_residual_std_rad
from metroqnet.link.figures import FIGURE_NAMES
from metroqnet.physics.mapping import link_parameters

#: Streams under a task's seed (the loop's, each simulated link's, the network run's).
RESIDUAL_STREAM, SIMULATE_STREAM, NETWORK_STREAM = 0, 1, 2

#: Per-sign figures of the engine and the analysis (reported as the herald-weighted mean over signs).
SIGN_FIGURES: tuple[str, ...] = FIGURE_NAMES
#: Reported per link by default, and the further names ``figures = [...]`` may add, per kind.
EXACT_FIGURES = ("herald_probability", "entangling_rate_hz", "pme_rate_hz", "fidelity", "concurrence",
                 "atomic_concurrence", "noise_herald_fraction", "write_residual_deg")
EXACT_EXTRA = ("herald_probability_plus", "herald_probability_minus", "repetition_rate_hz", "phase_noise_std_deg",
               *(name for name in SIGN_FIGURES if name not in EXACT_FIGURES))
SIMULATE_FIGURES = ("herald_probability", "entangling_rate_hz", "pme_rate_hz", "fidelity", "concurrence",
                    "atomic_concurrence")
SIMULATE_EXTRA = ("herald_probability_plus", "herald_probability_minus",
                  *(name for name in SIGN_FIGURES if name not in SIMULATE_FIGURES))
NETWORK_FIGURES = ("rate_hz", "fidelity", "concurrence", "atomic_concurrence")
NETWORK_EXTRA = ("schedule_rate_hz", "fixed_link_rate_hz",
                 *(name for name in SIGN_FIGURES if name not in NETWORK_FIGURES))
LOOP_FIGURES = ("write_residual_deg",)


def network_links(network: NetworkHardware) -> dict[str, tuple[str, str]]:
    """Every link the network can make, ``"x-y" -> (x, y)``, both orders (two nodes on one server)."""
    labels: dict[str, tuple[str, str]] = {}
    for x, y in network.topology.pairs():
        labels[f"{x}-{y}"] = (x, y)
        labels[f"{y}-{x}"] = (y, x)
    return labels


def task_links(links: Sequence[str] | None, network: NetworkHardware, *, where: str = "compute.links"
               ) -> list[tuple[str, tuple[str, str]]]:
    """``(label, (x, y))`` of the task's links: each given label, or every pair on a server (``None``)."""
    known = network_links(network)
    if links is None:
        return [(f"{x}-{y}", (x, y)) for x, y in network.topology.pairs()]
    out = []
    for label in links:
        if label not in known:
            shown = ", ".join(f"{x}-{y}" for x, y in network.topology.pairs()) or "(none)"
            raise ConfigError.at(where, f"{label!r} is not a link of network {network.name!r}; allowed: \"x-y\" of "
                                 f"two nodes on one server ({shown}, either order)")
        out.append((label, known[label]))
    return out


def link_experiment(network: NetworkHardware, name: str | None, *, where: str = "compute.experiment") -> Experiment:
    """The declared link experiment ``name``, or the network's first one."""
    declared = network.experiments_of_kind("link")
    if name is None:
        if not declared:
            raise ConfigError.at(where, f"not given, and network {network.name!r} declares no link experiment")
        return declared[0]
    if name not in network.experiments or network.experiments[name].kind != "link" \
            or network.experiments[name].storage_us is None:
        allowed = ", ".join(experiment.name for experiment in declared) or "(none)"
        raise ConfigError.at(where, f"{name!r} is not a link experiment of network {network.name!r}; allowed: "
                             f"{allowed}")
    return network.experiments[name]


def stream_key(label: str) -> int:
    """A link's spawn key: from its label, so a link's stream does not depend on the other links listed."""
    return int(strong_id(label)[:15], 16)


def loop_seed(seed: np.random.SeedSequence) -> int:
    """The phase loop's integer seed for a task (the loop takes an int): 63 bits of the task's residual stream."""
    return int(child(seed, RESIDUAL_STREAM).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def residual_seed_of(residual_seed: int | str, seed: np.random.SeedSequence) -> int:
    """``residual_seed`` of a spec: ``"task"`` is :func:`loop_seed` of the task's seed, an integer is itself."""
    return loop_seed(seed) if residual_seed == "task" else int(residual_seed)


def experiment_parameters(network: NetworkHardware, experiment: Experiment, pair: tuple[str, str], *,
                          residual_trials: int, residual_seed: int) -> tuple[LinkParameters, float]:
    """(link parameters, write residual in rad) of the pair at the experiment's settings.

    :func:`metroqnet.experiments.link_setup.experiment_link_parameters` with the loop's seed given
    (that function runs the loop on the library's fixed seed): the same storage time, rate and
    herald scale, the same mapping.
    """
    residual_rad = write_residual_std_rad(network, *pair, repetition_rate_hz=experiment.repetition_rate_hz,
                                          trials=residual_trials, seed=residual_seed)
    params = link_parameters(
        network, *pair, storage_us=experiment.storage_us, phase_residual_std_rad=residual_rad,
        repetition_rate_hz=experiment.repetition_rate_hz,
        herald_transmission_scale=herald_transmission_scale(experiment),
    )
    return params, residual_rad


def sign_mean(values: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """The weighted mean over signs; a sign of weight 0 does not count; None if a weighted sign has no value."""
    total = float(sum(weights))
    if total <= 0:
        return None
    mean = 0.0
    for value, weight in zip(values, weights):
        if weight > 0:
            if value is None or not math.isfinite(value):
                return None
            mean += weight / total * value
    return mean


def sign_mean_stderr(values: Sequence[float | None], errors: Sequence[float | None], counts: Sequence[int]
                     ) -> tuple[float | None, float | None]:
    """(mean, stderr) over signs weighted by their herald counts n± (delta method).

    Var = Σ w² σ² + (f₊ − f₋)² w₊ w₋ / n: each sign's own error, and the binomial spread of
    the weights w = n±/n (independent of the signs' figures to first order).
    """
    n = int(sum(counts))
    mean = sign_mean(values, counts)
    if mean is None:
        return None, None
    variance = 0.0
    for value, error, count in zip(values, errors, counts):
        if count > 0:
            if error is None:
                return mean, None
            variance += (count / n) ** 2 * error**2
    if all(count > 0 for count in counts):
        (a, b), (wa, wb) = values, (counts[0] / n, counts[1] / n)
        variance += (a - b) ** 2 * wa * wb / n
    return mean, math.sqrt(variance)


def number(value: object) -> float | int | str | None:
    """A result value as a plain Python scalar; NaN and ±inf are absent (None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    value = float(value)  # type: ignore[arg-type]
    return value if math.isfinite(value) else None


def aggregates(per_link: Mapping[str, Mapping[str, object]], figures: Sequence[str]) -> dict[str, object]:
    """``min.X`` and ``max.X`` over the links of every figure X; None where any link's X is absent."""
    out: dict[str, object] = {}
    for name in figures:
        values = [link.get(name) for link in per_link.values()]
        defined = bool(values) and all(isinstance(value, int | float) for value in values)
        out[f"min.{name}"] = min(values) if defined else None  # type: ignore[type-var]
        out[f"max.{name}"] = max(values) if defined else None  # type: ignore[type-var]
    return out


def flatten(per_link: Mapping[str, Mapping[str, object]], figures: Sequence[str]) -> dict[str, object]:
    """The flat result: ``"<link>.<name>"`` for every value of every link, then the aggregates of ``figures``."""
    out = {f"{label}.{name}": number(value) for label, values in per_link.items() for name, value in values.items()}
    clean = {label: {name: number(value) for name, value in values.items()} for label, values in per_link.items()}
    return out | aggregates(clean, figures)
