"""Which combinations of the estimated values the published numbers pin down, and which they leave to the prior.

**Fisher eigendirections.** At the MAP the Fisher matrix is taken in logarithmic
coordinates, ln x for each value x (so a direction is a product of powers ∏ x_k^{v_k}, e.g.
κ = overlap × EP overlap × e^{-σ²/2}), F = Jᵀ diag(1/σ²) J with J = ∂(numbers)/∂ln x. Each
eigenvector v (scaled so its largest component is 1) is a combination whose logarithm the
data alone know to ±1/√λ (relative), against ±(its prior sd) before the data. Their ratio
says what the data do: **determined** (≤ 0.25: the data narrow the prior at least fourfold),
**constrained** (0.25–1), **free** (> 1: the prior, not the data, sets it).

**Posterior against prior.** For each value, the width of its 68 % posterior interval over
the width of its prior's 68 % interval (in the prior's scale): near 1 the data say
nothing about it alone, even when a combination with it is determined.

**Link quantities.** The link parameters the numbers act through (herald efficiency,
noise, read efficiencies, EP photons, the coherence factor κ), over the posterior: these
are what the data determine even where the hardware values trade off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from metroqnet.config.priors import Prior
from metroqnet.experiments.calibration.model import ForwardModel, LinkSetting
from metroqnet.experiments.calibration.posterior import Posterior, jacobian

DETERMINED = 0.25
FREE = 1.0
#: Components below this (of the largest) are left out of a combination's name.
SHOWN_COMPONENT = 0.1


def _log_coordinate_scale(prior: Prior, value: float) -> float:
    """∂u/∂ln x at ``value``: how the unit coordinate moves with the value's logarithm."""
    if prior.scale == "log":
        return 1.0 / math.log(prior.high / prior.low)
    return value / (prior.high - prior.low)


def prior_log_sd(prior: Prior) -> float:
    """sd of ln x under the prior (log-uniform: ln(high/low)/√12; uniform: from E[ln x] and E[ln² x])."""
    low, high = prior.low, prior.high
    if prior.scale == "log":
        return math.log(high / low) / math.sqrt(12.0)

    def primitive(x: float, power: int) -> float:  # ∫ ln^power x dx
        if x == 0.0:
            return 0.0
        ln = math.log(x)
        return x * (ln - 1.0) if power == 1 else x * (ln * ln - 2.0 * ln + 2.0)

    mean = (primitive(high, 1) - primitive(low, 1)) / (high - low)
    second = (primitive(high, 2) - primitive(low, 2)) / (high - low)
    return math.sqrt(max(second - mean * mean, 0.0))


@dataclass(frozen=True)
class Direction:
    """One Fisher eigendirection: ∏ x_k^{powers[k]}, known to ``data_sd`` (in ln) against ``prior_sd``."""

    powers: dict[str, float]
    eigenvalue: float
    data_sd: float
    prior_sd: float

    @property
    def ratio(self) -> float:
        return self.data_sd / self.prior_sd if self.prior_sd > 0 else math.inf

    @property
    def status(self) -> str:
        if self.ratio <= DETERMINED:
            return "determined"
        return "constrained" if self.ratio <= FREE else "free"

    def name(self, short: dict[str, str] | None = None) -> str:
        """``a^1.00 · b^-0.52 · ...`` with the components of at least 10 % of the largest."""
        short = short or {}
        parts = [f"{short.get(key, key)}^{power:+.2f}" for key, power in sorted(
            self.powers.items(), key=lambda item: -abs(item[1])) if abs(power) >= SHOWN_COMPONENT]
        return " · ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ratio": self.ratio, "status": self.status, "combination": self.name()}


def fisher_directions(posterior: Posterior, unit: np.ndarray) -> list[Direction]:
    """The Fisher eigendirections at ``unit`` in log coordinates, most determined first."""
    priors = posterior.model.priors
    values = posterior.model.values_at(unit)
    scale = np.array([_log_coordinate_scale(p, values[p.key]) for p in priors])
    j = jacobian(posterior, unit, posterior.keys) / posterior.errors[:, None] * scale[None, :]
    fisher = j.T @ j
    eigenvalues, vectors = np.linalg.eigh(0.5 * (fisher + fisher.T))
    prior_sd = np.array([prior_log_sd(p) for p in priors])
    directions = []
    for index in np.argsort(-eigenvalues, kind="stable"):
        vector = vectors[:, index]
        largest = vector[np.argmax(np.abs(vector))]
        vector = vector / largest
        norm = float(np.linalg.norm(vectors[:, index] / largest))
        eigenvalue = float(max(eigenvalues[index], 0.0))
        # v = unit eigenvector / largest: the combination v·ln x has data sd |1/largest| / √λ.
        data_sd = norm / math.sqrt(eigenvalue) if eigenvalue > 0 else math.inf
        directions.append(Direction(
            powers={p.key: float(v) for p, v in zip(priors, vector, strict=True)},
            eigenvalue=eigenvalue,
            data_sd=data_sd,
            prior_sd=float(math.sqrt(np.sum((vector * prior_sd) ** 2))),
        ))
    return directions


@dataclass(frozen=True)
class Marginal:
    """One value's posterior: MAP, median, 68 % interval, and its width against the prior's."""

    key: str
    map: float
    median: float
    low_68: float
    high_68: float
    prior_low: float
    prior_high: float
    scale: str
    width_ratio: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def marginals(priors: Sequence[Prior], samples: np.ndarray, map_unit: np.ndarray) -> list[Marginal]:
    """Median and 68 % interval of each value over the samples (unit coordinates ``(n, d)``)."""
    out = []
    for index, prior in enumerate(priors):
        low, median, high = np.quantile(samples[:, index], [0.158655, 0.5, 0.841345])
        out.append(Marginal(
            key=prior.key, map=float(prior.from_unit(map_unit[index])), median=float(prior.from_unit(median)),
            low_68=float(prior.from_unit(low)), high_68=float(prior.from_unit(high)), prior_low=prior.low,
            prior_high=prior.high, scale=prior.scale, width_ratio=float((high - low) / 0.68269),
        ))
    return out


#: Link quantities over the posterior: (name, how to read it from the two settings' link parameters).
def _coherence(params) -> float:
    overlap = math.sqrt(params.herald_mode_overlap_x * params.herald_mode_overlap_y)
    probe = math.sqrt(params.probe_mode_overlap_x * params.probe_mode_overlap_y)
    return overlap * probe * math.exp(-0.5 * params.phase_noise_std_rad**2)


LINK_QUANTITIES = (
    ("herald efficiency per node", lambda p: math.sqrt(p.herald_efficiency_x * p.herald_efficiency_y)),
    ("herald noise probability per detector", lambda p: p.herald_noise_probability),
    ("read efficiency", lambda p: math.sqrt(p.read_efficiency_x * p.read_efficiency_y)),
    ("EP photons x read efficiency", lambda p: math.sqrt(
        p.probe_mean_photon_number_x * p.read_efficiency_x * p.probe_mean_photon_number_y * p.read_efficiency_y)),
    ("EP photons / read efficiency", lambda p: math.sqrt(
        p.probe_mean_photon_number_x / p.read_efficiency_x * p.probe_mean_photon_number_y / p.read_efficiency_y)),
    ("phase noise (deg)", lambda p: math.degrees(p.phase_noise_std_rad)),
    ("coherence kappa = overlap x EP overlap x exp(-sigma^2/2)", _coherence),
)


@dataclass(frozen=True)
class LinkQuantity:
    setting: str
    name: str
    median: float
    low_68: float
    high_68: float
    relative_width: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def link_quantities(model: ForwardModel, samples: np.ndarray) -> list[LinkQuantity]:
    """The :data:`LINK_QUANTITIES` of each link setting over ``samples`` (unit coordinates)."""
    out = []
    for setting in model.link_settings:
        rows = []
        for unit in samples:
            params = model.link_parameters_at(unit, setting)
            rows.append([read(params) for _, read in LINK_QUANTITIES])
        table = np.array(rows)
        for column, (name, _) in enumerate(LINK_QUANTITIES):
            low, median, high = np.quantile(table[:, column], [0.158655, 0.5, 0.841345])
            out.append(LinkQuantity(setting=_setting_name(model, setting), name=name, median=float(median),
                                    low_68=float(low), high_68=float(high),
                                    relative_width=float((high - low) / (2 * abs(median))) if median else math.inf))
    return out


def _setting_name(model: ForwardModel, setting: LinkSetting) -> str:
    declared = model.network.experiment(setting.experiment)
    return f"{setting.experiment} {'-'.join(setting.nodes)} ({declared.storage_us:g} us)"
