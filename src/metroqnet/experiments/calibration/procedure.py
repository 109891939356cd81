"""The calibration procedure, start to end: a deterministic function of the network, the settings and the seed.

1. **Targets and priors** from the network file (:mod:`.targets`, :mod:`metroqnet.config.priors`).
2. **Loop table**: the loop's residual over the one prior that drives the loop, at every
   loop setting the numbers need (:mod:`.residual_table`).
3. **MAP** of the posterior (:mod:`.posterior`), from the preset's own values and seeded
   Latin-hypercube starts.
4. **Fisher matrix** at the MAP; its eigendirections in log coordinates (:mod:`.identifiability`).
5. **Posterior samples** (:mod:`.sampling`), walkers started from the Laplace approximation.
6. **Leave-one-out** predictions of every fitted number (:mod:`.leave_one_out`); the published
   numbers outside the fit predicted from the posterior; with ``links_out=True`` also each
   published link's numbers left out together (a refit per link).
7. **Link quantities** over the posterior, and a loop run at the MAP against the table.

Every random draw comes from ``SeedSequence(seed)`` by spawn key: 0 the MAP starts, 1 the
walkers' start, 2 the main chain, 3 the refits (one child each), 4 the thinned samples of
the link quantities and the numbers outside the fit, 5 the leave-one-link-out refits (one child per
link, when asked). Same seed, same result, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.priors import Prior
from metroqnet.config.seeds import child, generator, seed_sequence
from metroqnet.experiments.calibration.identifiability import (
    Direction,
    LinkQuantity,
    Marginal,
    fisher_directions,
    link_quantities,
    marginals,
)
from metroqnet.experiments.calibration.leave_one_out import (
    LEVERAGE_LIMIT,
    Prediction,
    leave_links_out,
    leave_one_out,
    link_groups,
    predictive,
)
from metroqnet.experiments.calibration.model import ForwardModel, check_priors, with_values
from metroqnet.experiments.calibration.posterior import (
    MAP_STARTS,
    MaximumPosterior,
    Posterior,
    leverages,
    maximum_posterior,
    weighted_jacobian,
)
from metroqnet.experiments.calibration.residual_table import (
    GRID_POINTS,
    ResidualTable,
    loop_priors,
    loop_setting,
    residual_table,
    table_runs,
)
from metroqnet.experiments.calibration.sampling import UNIFORM_PRECISION, SamplerSettings, laplace_start, run_chain
from metroqnet.experiments.calibration.targets import Target, calibration_targets
from metroqnet.experiments.link_setup import write_residual_std_rad

#: Posterior samples (thinned, seeded) over which the link quantities and the numbers outside the fit are computed.
DERIVED_SAMPLES = 300

#: stage(description, total) -> advance(n): how a caller shows progress (the CLI's bars); None shows nothing.
Stage = Callable[[str, int], Callable[[int], None]]


def _quiet(_: str, __: int) -> Callable[[int], None]:
    return lambda _n: None


@dataclass(frozen=True)
class Setup:
    """What the fit is made of: priors, targets, the loop table, the forward models and the posterior."""

    network: NetworkHardware
    priors: tuple[Prior, ...]
    targets: tuple[Target, ...]
    table: ResidualTable
    model: ForwardModel
    full_model: ForwardModel
    posterior: Posterior


def calibration_setup(network: NetworkHardware, *, stage: Stage | None = None, grid_points: int = GRID_POINTS,
                      outside: bool = True) -> Setup:
    """Targets, priors, the loop table and the models of ``network`` (steps 1–2 of the module doc).

    ``grid_points`` of the loop table (fewer for a quick run; :data:`GRID_POINTS` by default);
    ``outside=False`` tabulates only the loops of the fitted numbers (the MAP alone needs no more).
    """
    stage = stage or _quiet
    if network.calibration is None or not network.calibration.priors:
        raise ConfigError.at(
            "calibration", f"network {network.name!r} has no [calibration.priors]: nothing is declared to calibrate"
        )
    priors = tuple(network.calibration.priors.values())
    check_priors(priors)
    targets = calibration_targets(network)
    settings = []
    for target in targets if outside else [t for t in targets if t.fitted]:
        setting = loop_setting(target.nodes, network.experiment(target.experiment).repetition_rate_hz)
        if setting not in settings:
            settings.append(setting)
    driving = loop_priors(network, priors, settings, with_values)
    if len(driving) > 1:
        raise ConfigError.at(
            "calibration.priors", f"{', '.join(p.key for p in driving)} all change the phase loop; the loop's residual "
            "is tabulated over one of them: keep one prior on the loop's inputs"
        )
    prior = driving[0] if driving else None
    advance = stage("loop table (runs)", table_runs(prior, settings, grid_points))
    table = residual_table(network, prior=prior, settings=settings, apply=with_values, grid_points=grid_points,
                           progress=advance)
    model = ForwardModel(network, priors, [t for t in targets if t.fitted], table)
    full_model = ForwardModel(network, priors, targets if outside else [t for t in targets if t.fitted], table)
    return Setup(network=network, priors=priors, targets=targets, table=table, model=model, full_model=full_model,
                 posterior=Posterior(model))


def current_value(network: NetworkHardware, prior: Prior) -> float | None:
    """The network's own value at the prior's key path (the first node's for ``nodes.*``; None if not declared)."""
    parts = prior.key.split(".")
    if parts[0] == "nodes":
        node = next(iter(network.nodes.values())) if parts[1] == "*" else network.nodes[parts[1]]
        return getattr(node, parts[2])
    if parts[0] == "server":
        return getattr(network.server, parts[1])
    if parts[0] == "drift":
        return getattr(network.drift, parts[1])
    value = getattr(network.experiment(parts[1]), parts[2])
    return 1.0 if value is None and parts[2] == "herald_transmission_scale" else value


def preset_unit(setup: Setup) -> np.ndarray:
    """The preset's own values in unit coordinates (a start of the MAP search), clipped into the box."""
    units = []
    for prior in setup.priors:
        value = current_value(setup.network, prior)
        units.append(float(np.clip(prior.to_unit(value), 0.0, 1.0)) if value is not None else 0.5)
    return np.array(units)


def find_map(setup: Setup, *, seed: np.random.SeedSequence, stage: Stage | None = None) -> MaximumPosterior:
    """Step 3: the MAP, from the preset's values and seeded random starts."""
    stage = stage or _quiet
    advance = stage("maximum of the posterior (starts)", MAP_STARTS + 1)
    return maximum_posterior(setup.posterior, starts=[preset_unit(setup)], rng=generator(child(seed, 0)),
                             progress=advance)


@dataclass(frozen=True)
class CalibrationResult:
    """Everything the calibration found (see :func:`calibrate`); :meth:`values` are what a calibration file applies."""

    network: str
    seed: int
    settings: SamplerSettings
    priors: tuple[Prior, ...]
    targets: tuple[Target, ...]
    map: MaximumPosterior
    map_values: dict[str, float]
    map_predictions: dict[str, float]
    map_chi2: float
    fisher_directions: tuple[Direction, ...]
    marginals: tuple[Marginal, ...]
    link_quantities: tuple[LinkQuantity, ...]
    leave_one_out: tuple[Prediction, ...]
    not_fitted: tuple[Prediction, ...]
    chain: dict[str, float | int]
    refits: tuple[dict[str, object], ...]
    table: dict[str, object]
    loop_check: dict[str, float]
    links_reason: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    links_out: tuple[Prediction, ...] | None = None
    links_out_refits: tuple[dict[str, object], ...] = ()
    #: each number's model sd over the posterior samples: the calibration's uncertainty of a fitted value
    posterior_sd: dict[str, float] = field(default_factory=dict)

    def inside_2sigma(self) -> tuple[int, int]:
        return sum(p.inside_2sigma for p in self.leave_one_out), len(self.leave_one_out)


def calibrate(
    network: NetworkHardware,
    *,
    seed: int,
    settings: SamplerSettings = SamplerSettings(),
    stage: Stage | None = None,
    grid_points: int = GRID_POINTS,
    links_out: bool = False,
) -> CalibrationResult:
    """The whole procedure (module doc) on ``network`` with ``seed``; ``links_out`` adds the leave-one-link-out."""
    stage = stage or _quiet
    sequence = seed_sequence(seed)
    dimension = 0 if network.calibration is None else len(network.calibration.priors)
    if settings.walkers < 2 * dimension:
        raise ConfigError.at(
            "walkers", f"{settings.walkers} is too few for {dimension} estimated values; the ensemble sampler "
            f"needs at least twice as many walkers as values ({2 * dimension})"
        )
    setup = calibration_setup(network, stage=stage, grid_points=grid_points)
    posterior, model = setup.posterior, setup.model
    best = find_map(setup, seed=sequence, stage=stage)
    weighted = weighted_jacobian(posterior, best.unit)
    fisher = weighted.T @ weighted
    directions = fisher_directions(posterior, best.unit)

    initial = laplace_start(best.unit, fisher, settings.walkers, generator(child(sequence, 1)), posterior)
    chain = run_chain(posterior, initial, settings=settings, seed=child(sequence, 2),
                      progress=stage("posterior samples (steps)", settings.steps))
    influence = leverages(weighted, prior_precision=UNIFORM_PRECISION)
    refit_steps = settings.refit().steps * int(np.sum(influence > LEVERAGE_LIMIT))
    loo, refits = leave_one_out(posterior, chain, settings=settings, seed=child(sequence, 3), leverage=influence,
                                progress=stage("leave-one-out refits (steps)", max(refit_steps, 1)))

    by_link: tuple[Prediction, ...] | None = None
    link_refits: list[dict[str, object]] = []
    if links_out:
        groups = link_groups(posterior)
        advance = stage("leave-one-link-out refits (steps)", max(settings.refit().steps * len(groups), 1))
        rows, link_refits = leave_links_out(posterior, chain, settings=settings, seed=child(sequence, 5),
                                            progress=advance)
        by_link = tuple(rows)

    rng = generator(child(sequence, 4))
    thinned = chain.samples[np.sort(rng.choice(chain.samples.shape[0], size=min(DERIVED_SAMPLES,
                                                                                 chain.samples.shape[0]),
                                               replace=False))]
    quantities = link_quantities(model, thinned)
    outside = [t for t in setup.targets if not t.fitted]
    not_fitted: list[Prediction] = []
    if outside:
        full = setup.full_model.predict(thinned)
        not_fitted = [predictive(t, full.values[t.key], None, method="not fitted", pareto_k=None) for t in outside]

    _, at_map = posterior.evaluate(best.unit[None, :])
    map_predictions = {t.key: float(v) for t, v in zip(model.targets, at_map[0], strict=True)}
    spread = np.nanstd(chain.predictions, axis=0)
    posterior_sd = {t.key: float(v) for t, v in zip(model.targets, spread, strict=True) if np.isfinite(v)}
    chi2 = float(sum(((map_predictions[t.key] - t.value) / t.error) ** 2 for t in posterior.terms))
    return CalibrationResult(
        network=network.name, seed=int(seed), settings=settings, priors=setup.priors, targets=setup.targets,
        map=best, map_values=model.values_at(best.unit), map_predictions=map_predictions, map_chi2=chi2,
        fisher_directions=tuple(directions), marginals=tuple(marginals(setup.priors, chain.samples, best.unit)),
        link_quantities=tuple(quantities), leave_one_out=tuple(loo), not_fitted=tuple(not_fitted),
        chain=chain.diagnostics(), refits=tuple(refits), table=setup.table.as_dict(),
        loop_check=_loop_check(setup, best.unit),
        links_reason=None if network.calibration is None else network.calibration.links_reason,
        links_out=by_link, links_out_refits=tuple(link_refits), posterior_sd=posterior_sd,
    )


def _loop_check(setup: Setup, unit: np.ndarray) -> dict[str, float]:
    """σ at the write from a loop run at the MAP against the table's interpolation (deg), per loop setting."""
    table = setup.table
    if table.prior is None:
        return {}
    network = with_values(setup.network, setup.model.values_at(unit))
    out = {}
    loop_unit = setup.model.loop_unit(unit[None, :])
    for setting in table.write_rad:
        run = write_residual_std_rad(network, *setting[0], repetition_rate_hz=setting[1])
        interpolated = float(table.write_residual_rad(setting, loop_unit)[0])
        out[f"{'-'.join(setting[0])} at {setting[1]:g} Hz"] = math.degrees(interpolated - run)
    return out


@dataclass(frozen=True)
class MapFit:
    """The MAP alone (``metroqnet reproduce --calibrate``): the fitted values and the network carrying them."""

    network: NetworkHardware
    values: dict[str, float]
    estimated: dict[str, float | None]
    priors: tuple[Prior, ...]
    log_prob: float
    chi2: float
    seed: int


def map_fit(network: NetworkHardware, *, seed: int, stage: Stage | None = None, grid_points: int = GRID_POINTS
            ) -> MapFit:
    """Steps 1–3 only: the values that best fit the published numbers, set in the network (tagged ``calibrated``).

    The reproduction with these values shows FITTED numbers; predictions are the
    leave-one-out column of :func:`calibrate`.
    """
    setup = calibration_setup(network, stage=stage, grid_points=grid_points, outside=False)
    best = find_map(setup, seed=seed_sequence(seed), stage=stage)
    values = setup.model.values_at(best.unit)
    reason = {key: f"MAP of the published numbers (metroqnet reproduce --calibrate, seed {seed}); fitted, see "
              "metroqnet calibrate for the posterior and the leave-one-out predictions" for key in values}
    _, at_map = setup.posterior.evaluate(best.unit[None, :])
    keys = [t.key for t in setup.model.targets]
    chi2 = float(sum(((at_map[0, keys.index(t.key)] - t.value) / t.error) ** 2 for t in setup.posterior.terms))
    estimated = {prior.key: current_value(network, prior) for prior in setup.priors}
    return MapFit(network=with_values(network, values, reason=reason), values=values, estimated=estimated,
                  priors=setup.priors, log_prob=best.log_prob, chi2=chi2, seed=int(seed))
