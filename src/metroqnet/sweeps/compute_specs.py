"""The specs of the compute kinds: one frozen, validated, picklable class per ``kind`` of a ``[compute]`` table.

One class per kind, so each kind refuses the keys of the others; each says which figures its
links report (``figure_names``: the kind's defaults, then the extra ``figures`` asked for).
:func:`metroqnet.sweeps.compute.parse_compute_table` builds them from a sweep file.
"""

from __future__ import annotations

from typing import Any, ClassVar

from metroqnet.config.errors import ConfigError
from metroqnet.config.validation import Count, Name, Positive, parameters
from metroqnet.experiments.link_setup import WRITE_RESIDUAL_TRIALS
from metroqnet.experiments.phase_stabilization import MIN_TRIALS
from metroqnet.sweeps.compute_links import (
    EXACT_EXTRA,
    EXACT_FIGURES,
    LOOP_FIGURES,
    NETWORK_EXTRA,
    NETWORK_FIGURES,
    SIMULATE_EXTRA,
    SIMULATE_FIGURES,
)

#: ``policy`` of the network kind (the request queue needs a per-task queue, which a sweep does not give).
NETWORK_POLICIES = ("qrng", "round-robin")
#: The loop's seed in the exact and simulate kinds: a child of the task's seed, or a fixed integer.
TASK_SEED = "task"


def _check_figures(kind: str, figures: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for name in figures:
        if name not in allowed:
            raise ConfigError.at("figures", f"{name!r} is not a figure of the {kind} kind; "
                                 f"allowed: {', '.join(allowed)}")


def _check_links(links: tuple[str, ...] | None) -> None:
    if links is not None:
        if not links:
            raise ConfigError.at("links", "an empty list; give \"all\" or links \"x-y\" of two nodes")
        repeated = sorted({link for link in links if links.count(link) > 1})
        if repeated:
            raise ConfigError.at("links", f"{repeated[0]!r} listed twice; list each link once")


def _check_residual_seed(value: object) -> None:
    if value == TASK_SEED:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError.at("residual_seed", f"{value!r} is not allowed; allowed: \"task\" (a child of the task's "
                             "seed) or an integer >= 0 (the same loop run for every task)")


def _check_trials(name: str, trials: int) -> None:
    if trials < MIN_TRIALS:
        raise ConfigError.at(name, f"{trials} is too few; a standard deviation needs at least {MIN_TRIALS} trials")


def _figure_names(defaults: tuple[str, ...], figures: tuple[str, ...]) -> tuple[str, ...]:
    return defaults + tuple(name for name in dict.fromkeys(figures) if name not in defaults)


@parameters
class ExactCompute:
    """The exact engine on each link at a declared link experiment's settings (``kind = "exact"``).

    ``links``: ``None`` for every pair of nodes on a server, else labels ``"x-y"``;
    ``experiment``: the link experiment (default: the network's first); ``figures``: names
    reported beside the defaults; ``residual_trials``/``residual_seed``: the phase loop's run
    that gives the write residual (``"task"``: a child of the task's seed; an integer: that
    seed for every task, e.g. 2024, the library's fixed one, for common random numbers).
    Per-sign figures (fidelity, concurrences, correlators, ...) are the mean over the two herald
    signs weighted by their herald probabilities.
    """

    kind: ClassVar[str] = "exact"
    links: tuple[Name, ...] | None = None
    experiment: Name | None = None
    figures: tuple[Name, ...] = ()
    residual_trials: Count = WRITE_RESIDUAL_TRIALS
    residual_seed: Any = TASK_SEED  # "task" or an int >= 0, checked in __post_init__

    def __post_init__(self) -> None:
        _check_links(self.links)
        _check_figures(self.kind, self.figures, EXACT_FIGURES + EXACT_EXTRA)
        _check_residual_seed(self.residual_seed)
        _check_trials("residual_trials", self.residual_trials)

    @property
    def figure_names(self) -> tuple[str, ...]:
        """The figures each link reports: the defaults, then the extra ``figures``."""
        return _figure_names(EXACT_FIGURES, self.figures)


@parameters
class SimulateCompute:
    """The Monte Carlo of each link (``kind = "simulate"``), its figures with standard errors.

    ``trials`` per chunk; without a target the run is ``chunks`` chunks. With ``target_figure`` and
    ``target_stderr`` chunks run until the figure's standard error is below ``target_stderr``, at most
    ``floor(max_trials / trials)`` chunks. Chunk k of a link has its own stream, so a run that stops
    after k chunks equals a run of ``chunks = k``. Each link reports ``trials`` (and, with a target,
    ``target_reached``: 1 or 0). Per-sign figures are the mean over the signs weighted by their herald
    counts (:func:`metroqnet.sweeps.compute_links.sign_mean_stderr`). Other fields as :class:`ExactCompute`.
    """

    kind: ClassVar[str] = "simulate"
    trials: Count
    chunks: Count = 1
    target_figure: Name | None = None
    target_stderr: Positive | None = None
    max_trials: Count | None = None
    links: tuple[Name, ...] | None = None
    experiment: Name | None = None
    figures: tuple[Name, ...] = ()
    residual_trials: Count = WRITE_RESIDUAL_TRIALS
    residual_seed: Any = TASK_SEED  # "task" or an int >= 0, checked in __post_init__

    def __post_init__(self) -> None:
        _check_links(self.links)
        _check_figures(self.kind, self.figures, SIMULATE_FIGURES + SIMULATE_EXTRA)
        _check_residual_seed(self.residual_seed)
        _check_trials("residual_trials", self.residual_trials)
        if self.trials < 1:
            raise ConfigError.at("trials", f"{self.trials} is too few; allowed: >= 1")
        if self.chunks < 1:
            raise ConfigError.at("chunks", f"{self.chunks} is too few; allowed: >= 1")
        targeted = (self.target_figure is not None, self.target_stderr is not None)
        if any(targeted) and not all(targeted):
            missing = "target_stderr.value" if targeted[0] else "target_stderr.figure"
            raise ConfigError.at(missing, "missing (a target needs both its figure and its value)")
        if all(targeted):
            if self.max_trials is None:
                raise ConfigError.at("max_trials", "missing: a run to a target standard error needs a cap")
            if self.max_trials < self.trials:
                raise ConfigError.at("max_trials", f"{self.max_trials} is fewer than one chunk of trials "
                                     f"({self.trials}); allowed: >= {self.trials}")
            if self.chunks != 1:
                raise ConfigError.at("chunks", f"{self.chunks} given with target_stderr; a targeted run chooses "
                                     "its chunks (give max_trials instead)")
            if self.target_figure not in self.figure_names:
                raise ConfigError.at("target_stderr.figure", f"{self.target_figure!r} is not a figure of this run; "
                                     f"allowed: {', '.join(self.figure_names)}")
        elif self.max_trials is not None:
            raise ConfigError.at("max_trials", "given without target_stderr; a fixed run has trials x chunks")

    @property
    def figure_names(self) -> tuple[str, ...]:
        return _figure_names(SIMULATE_FIGURES, self.figures)


@parameters
class NetworkCompute:
    """The network run (``kind = "network"``): the server's switch shares ``hours`` among its pairs.

    Each reported link gives ``rate_hz`` (heralds over the whole run) with its Poisson error and
    the figures of its counts. The write residual is the library's
    (:func:`metroqnet.experiments.network_run.run_network` runs the loop on its fixed seed, so it
    is a function of the network); the schedule and the sampling are children of the task's seed.
    """

    kind: ClassVar[str] = "network"
    hours: Positive
    policy: Name = "qrng"
    links: tuple[Name, ...] | None = None
    experiment: Name | None = None
    figures: tuple[Name, ...] = ()
    residual_trials: Count = WRITE_RESIDUAL_TRIALS

    def __post_init__(self) -> None:
        _check_links(self.links)
        _check_figures(self.kind, self.figures, NETWORK_FIGURES + NETWORK_EXTRA)
        _check_trials("residual_trials", self.residual_trials)
        if self.policy not in NETWORK_POLICIES:
            raise ConfigError.at("policy", f"{self.policy!r} is not a policy; allowed: {', '.join(NETWORK_POLICIES)}")

    @property
    def figure_names(self) -> tuple[str, ...]:
        return _figure_names(NETWORK_FIGURES, self.figures)


@parameters
class LoopCompute:
    """The phase loop alone (``kind = "loop"``): σ of its residual at the write, per link, from ``trials`` trials.

    ``experiment`` names a declared experiment whose repetition rate the loop runs at (default: the
    network's first stabilization experiment's). The loop's seed is the one the exact kind uses with
    ``residual_seed = "task"``, so the two agree for the same task.
    """

    kind: ClassVar[str] = "loop"
    trials: Count = WRITE_RESIDUAL_TRIALS
    links: tuple[Name, ...] | None = None
    experiment: Name | None = None

    figures: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        _check_links(self.links)
        _check_trials("trials", self.trials)

    @property
    def figure_names(self) -> tuple[str, ...]:
        return LOOP_FIGURES


ComputeSpec = ExactCompute | SimulateCompute | NetworkCompute | LoopCompute
KINDS: dict[str, type] = {cls.kind: cls for cls in (ExactCompute, SimulateCompute, NetworkCompute, LoopCompute)}
