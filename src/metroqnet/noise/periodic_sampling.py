"""A linear Gaussian phase process sampled at the same instants of every period, as one exact step per period.

A control loop needs the phase at a few fixed instants of each trial (the probes' middles
and the write) and nothing in between. Every process of :mod:`metroqnet.noise.gaussian`
is linear and Gaussian, and so is any sum of them, so the law of one trial's samples
given the state at the previous trial's last instant is a fixed Gaussian:

    y = M x + L ξ,    ξ ~ N(0, I_q),

with x the state at the last instant, y = (φ at the instants before the last, the
state at the last instant) and φ = c · x at the last instant. Drawing y this way is
exact (it is the same joint distribution as stepping every term from instant to
instant) and needs q normals per trial — the rank of Cov(y), at most the number of
instants before the last plus the state's size — instead of one or two per term per
instant.

The state is x = (P, v₁ … v_m, O₁ … O_k): P the cumulative phase of every Wiener and
integrated-OU term together (each adds its increments to the phase, so one number carries
them all), vᵢ the rate of each integrated-OU term, Oⱼ the value of each OU term; the phase
is φ = P + Σ Oⱼ. Terms are independent Gaussians of mean zero, so a sign −1 on a term
changes nothing in the law and is ignored. The square root L comes from the eigenvectors
of the correlation matrix of y (directions whose variance is below 1e-14 of the largest
are dropped: they are zero up to rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.noise.gaussian import IntegratedOUPhase, OrnsteinUhlenbeckPhase, WienerPhase
from metroqnet.noise.sums import gaussian_primitives

__all__ = ["PeriodicModel", "periodic_model", "state_step"]

#: Eigen-directions of the correlation matrix below this fraction of the largest are rounding.
RANK_TOLERANCE = 1e-14


@dataclass(frozen=True)
class PeriodicModel:
    """One trial of a linear Gaussian process on a periodic grid (module docstring).

    ``mean_map`` (n, d) and ``root`` (n, q) give y = M x + L ξ with n = instants − 1 + d;
    ``observe`` (d,) gives φ = c · x at the last instant; ``stationary_std`` (d,) the std of
    each state coordinate a run starts from (0 for phases, which start at 0 rad).
    """

    instants: int
    mean_map: np.ndarray
    root: np.ndarray
    observe: np.ndarray
    stationary_std: np.ndarray

    @property
    def normals_per_trial(self) -> int:
        return self.root.shape[1]

    @property
    def state_size(self) -> int:
        return self.observe.size

    def initial_state(self, rng: np.random.Generator) -> np.ndarray:
        """Phases at 0 rad, OU values and rates from their stationary laws."""
        return self.stationary_std * rng.standard_normal(self.state_size)


def _transition(primitives: list[Any], step_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, Q): x' = A x + ε, Cov ε = Q over one step of ``step_ns``."""
    iou = [p for p in primitives if isinstance(p, IntegratedOUPhase)]
    ou = [p for p in primitives if isinstance(p, OrnsteinUhlenbeckPhase)]
    d = 1 + len(iou) + len(ou)
    a_matrix, q_matrix = np.eye(d), np.zeros((d, d))
    steps = np.array([step_ns], dtype=np.int64)
    for p in primitives:
        if isinstance(p, WienerPhase):
            q_matrix[0, 0] += p._coefficients(steps)[0][0] ** 2
    for i, p in enumerate(iou, start=1):
        decay, kick, memory, share, residual = (float(c[0]) for c in p._coefficients(steps))
        a_matrix[i, i] = decay
        a_matrix[0, i] = memory
        q_matrix[i, i] += kick**2
        q_matrix[0, i] += share * kick**2
        q_matrix[i, 0] += share * kick**2
        q_matrix[0, 0] += (share * kick) ** 2 + residual**2
    for j, p in enumerate(ou, start=1 + len(iou)):
        decay, scale = (float(c[0]) for c in p._coefficients(steps))
        a_matrix[j, j] = decay
        q_matrix[j, j] += scale**2
    return a_matrix, q_matrix


def _square_root(covariance: np.ndarray) -> np.ndarray:
    """L with L Lᵀ = covariance, from the eigenvectors of the correlation matrix (drops null directions)."""
    scale = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    live = scale > 0
    n = covariance.shape[0]
    if not live.any():
        return np.zeros((n, 0))
    corr = covariance[np.ix_(live, live)] / np.outer(scale[live], scale[live])
    values, vectors = np.linalg.eigh(corr)
    keep = values > RANK_TOLERANCE * values.max()
    root = np.zeros((n, int(keep.sum())))
    root[live] = scale[live, None] * vectors[:, keep] * np.sqrt(values[keep])
    return root


def state_step(process: Any, step_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, L): the state x of :func:`periodic_model` (same order) ``step_ns`` later is A x + L ξ, ξ ~ N(0, I), exactly.

    The same transition the trial law is built from, over any step (a loop switched out for
    seconds steps over the gap in one draw); L from the covariance's eigenvectors (null directions dropped).
    """
    primitives = gaussian_primitives(process)
    if primitives is None:
        raise ConfigError.at("noise", f"{type(process).__name__} is not a sum of Wiener, OU and integrated-OU phases")
    if isinstance(step_ns, bool) or not isinstance(step_ns, int | np.integer) or step_ns < 0:
        raise ConfigError.at("step_ns", f"{step_ns!r} is not an integer >= 0")
    a_matrix, q_matrix = _transition(primitives, int(step_ns))
    if not np.all(np.isfinite(q_matrix)):
        raise ConfigError.at("step_ns", f"{step_ns} ns: the step's covariance is not finite")
    return a_matrix, _square_root(0.5 * (q_matrix + q_matrix.T))


def periodic_model(process: Any, offsets_ns: np.ndarray, period_ns: int) -> PeriodicModel:
    """The trial law of ``process`` sampled at ``offsets_ns`` (sorted, within one period) every ``period_ns``."""
    primitives = gaussian_primitives(process)
    if primitives is None:
        raise ConfigError.at(
            "noise", f"{type(process).__name__} is not a sum of Wiener, OU and integrated-OU phases; the compiled "
            "loop samples only those (build the noise with metroqnet.noise, or pass its parts)"
        )
    offsets = np.asarray(offsets_ns, dtype=np.int64)
    if offsets.ndim != 1 or offsets.size == 0 or np.any(np.diff(offsets) < 0) or offsets[-1] - offsets[0] > period_ns:
        raise ConfigError.at("offsets_ns", f"{offsets.tolist()} are not sorted instants within one period {period_ns}")
    steps = [int(period_ns - (offsets[-1] - offsets[0])), *(int(s) for s in np.diff(offsets))]
    iou = [p for p in primitives if isinstance(p, IntegratedOUPhase)]
    ou = [p for p in primitives if isinstance(p, OrnsteinUhlenbeckPhase)]
    d = 1 + len(iou) + len(ou)
    observe = np.zeros(d)
    observe[0] = 1.0
    observe[1 + len(iou):] = 1.0
    # x_s = F x_{-1} + Σ_t G[t] ε_t: propagate F and the noise maps instant by instant.
    transitions = [_transition(primitives, s) for s in steps]
    f_map = np.eye(d)
    noise_maps: list[np.ndarray] = []
    rows_mean, rows_noise = [], []
    for s, (a_matrix, _) in enumerate(transitions):
        f_map = a_matrix @ f_map
        noise_maps = [a_matrix @ g for g in noise_maps] + [np.eye(d)]
        if s < len(steps) - 1:
            rows_mean.append(observe @ f_map)
            rows_noise.append([observe @ g for g in noise_maps])
    mean_map = np.vstack([*(r[None, :] for r in rows_mean), f_map])
    n = len(rows_mean) + d
    covariance = np.zeros((n, n))
    for t, (_, q_matrix) in enumerate(transitions):
        # the map from ε_t to y: zero for observed instants before t
        g_rows = [rows_noise[s][t] if t <= s else np.zeros(d) for s in range(len(rows_mean))]
        g_t = np.vstack([*(r[None, :] for r in g_rows), noise_maps[t]])
        covariance += g_t @ q_matrix @ g_t.T
    covariance = 0.5 * (covariance + covariance.T)
    stationary = np.zeros(d)
    for i, p in enumerate(iou, start=1):
        stationary[i] = p.rate_std_rad_per_s
    for j, p in enumerate(ou, start=1 + len(iou)):
        stationary[j] = p.std_rad
    if not np.all(np.isfinite(covariance)):
        raise ConfigError.at("noise", "the trial covariance is not finite (a std or rate too large for float64)")
    return PeriodicModel(offsets.size, mean_map, _square_root(covariance), observe, stationary)

