"""The frequency calibration of each node pair when the server's switch shares its time (Fig. 2d under switching).

Liu et al. 2024: the server switches node pairs in 5.8 s timeslots chosen by a QRNG; "the
phase stabilization is executed for every entanglement trial and is unaffected by switching"
(hot swapping), and "the good laser stability guarantees an ignorable relative frequency drift
although a one-third effective calibration time is assigned for each pair of nodes". Here each
pair's loop (:class:`metroqnet.control.phase_loop.PhaseLoop`) runs only in its own slots of a
switch schedule (:func:`metroqnet.network.schedule.run_schedule`) and jumps over the rest
(:meth:`~metroqnet.control.phase_loop.PhaseLoop.skip`): the drift keeps moving while the pair
is switched out, the compensation and the EOM setting are held, and the lasers' and fibres'
phase steps exactly over the gap.

**The clock.** The server's trials run on one grid, trial k at k/f_rep from the run's start. A
pair's *stretch* is a run of consecutive slots of that pair (the QRNG picks the same pair
again with probability 1/P: no switch, the loop runs on); the stretch's trials are those that
start and end inside it. The loop runs whole 1 s calibration windows from the stretch's first
trial; what is left at the stretch's end, less than a window (0.8 s of a lone 5.8 s slot at
2.76 kHz: 5 windows of 2,760 trials and 2,208 trials), is not simulated: its lock would run but
its window would give no estimate (a window never straddles a gap), and the EOM setting it
would leave is forgotten over the gap — switched out for ≥ 5.8 s, the relative phase moves by
hundreds of radians (2π × a residual Δf of tens of Hz × seconds, plus the lasers' random walk),
so the phase the lock meets after the gap is uniform whatever θ was. Only windows that start
before ``hours`` are run, as in :func:`~metroqnet.experiments.phase_stabilization.drift_tracking`,
so a pair holding every slot is exactly the fixed link's run (the same record, bit for bit).

**Each pair's drift.** Every pair's relative cavity drift Δf follows the preset's ``[drift]``
model (it describes the relative drift of a linked pair, Fig. 2d), drawn on a child seed of its
own (``child(seed, pair_index)``, the same stream the fixed-link comparison uses). Closure —
Δf_AB + Δf_BC = Δf_AC for three nodes' cavities — is not enforced: it ties the pairs' drifts
together, but each pair's loop sees only its own Δf, so the law of one pair's residual depends
only on that pair's marginal drift law, which is the preset's model for every pair either way;
the joint law of the residuals of several pairs (not reported) is what closure would change.

**Hot swapping.** After each switch-in (a stretch after the run's first), the residual phase at
the write of the first ``first_trials`` trials is kept per position (how the lock re-acquires),
beside that of the rest of the stretch's first window (the locked steady state).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from metroqnet.config.errors import ConfigError
from metroqnet.config.hardware import NetworkHardware
from metroqnet.config.seeds import Seed, child, seed_record
from metroqnet.config.units import NS_PER_S, S_PER_H
from metroqnet.config.validation import Count, check
from metroqnet.control.phase_loop import PhaseLoop
from metroqnet.experiments.link_setup import loop_setup
from metroqnet.experiments.phase_stabilization import (
    CHUNK_TRIALS,
    SETTLE_WINDOWS,
    DriftTracking,
    StabilizationSetup,
    check_tracking_hours,
    drift_tracking,
    tracking_trials,
)
from metroqnet.network.schedule import ScheduleResult

#: Trials after each switch-in whose residual is kept per position (hot swapping).
FIRST_TRIALS = 16

Progress = Callable[[int], None]


@dataclass(frozen=True)
class PairDriftTracking:
    """One pair's calibration run in its slots: per window (as :class:`DriftTracking`) and per switch-in.

    ``time_h``, ``drift_hz``, ``compensation_hz``, ``residual_hz``, ``temperature_c``: one entry per
    calibration window the pair ran (at the true time of the run). ``stretches``: runs of the
    pair's consecutive slots; ``windows``: windows run; ``calibration_share``: the windows' time over
    the run's. Hot swapping, over the ``switch_ins`` stretches after the first: ``switch_in_std_deg``
    (``first_trials``,) the std of the residual at the write at each position after the switch-in,
    ``first_trials_std_deg`` the std over those positions together, ``steady_std_deg`` over the rest of
    each switch-in's first window.
    """

    pair: tuple[str, str]
    time_h: np.ndarray
    drift_hz: np.ndarray
    compensation_hz: np.ndarray
    residual_hz: np.ndarray
    temperature_c: np.ndarray
    stretches: int
    windows: int
    calibration_share: float
    switch_ins: int
    first_trials: int
    switch_in_std_deg: np.ndarray
    first_trials_std_deg: float
    steady_std_deg: float
    seed: dict[str, object] = field(default_factory=dict)

    def max_abs_residual_hz(self, *, settle_windows: int = SETTLE_WINDOWS) -> float:
        """Largest |residual| after the pair's first windows (the loop starts with no compensation)."""
        return float(np.abs(self.residual_hz[settle_windows:]).max())

    def tracking(self) -> DriftTracking:
        """The window record as a :class:`DriftTracking`."""
        return DriftTracking(self.time_h, self.drift_hz, self.compensation_hz, self.residual_hz, self.temperature_c,
                             self.seed)


def _pair_setup(source: NetworkHardware | StabilizationSetup, pair: tuple[str, str],
                repetition_rate_hz: float | None) -> StabilizationSetup:
    if isinstance(source, StabilizationSetup):
        if set(source.nodes) != set(pair):
            raise ConfigError.at("pair", f"{pair!r} is not the setup's node pair {source.nodes!r}")
        if repetition_rate_hz is not None:
            raise ConfigError.at("repetition_rate_hz", "given with a setup, which has its own rate; give a network")
        return source
    if not isinstance(source, NetworkHardware):
        raise ConfigError.at("network", f"expected a NetworkHardware or a StabilizationSetup, got {type(source).__name__}")
    return loop_setup(source, *pair, repetition_rate_hz=repetition_rate_hz)


def pair_stretches(schedule: ScheduleResult, pair_index: int) -> list[tuple[int, int]]:
    """(start_ns, end_ns) of each run of consecutive slots the switch gives pair ``pair_index``."""
    slot_ns = schedule.setting.timeslot_ns
    mine = np.flatnonzero(schedule.pair == pair_index)
    if mine.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(mine) > 1)
    firsts = mine[np.concatenate([[0], breaks + 1])]
    lasts = mine[np.concatenate([breaks, [mine.size - 1]])]
    return [(int(schedule.start_ns[a]), int(schedule.start_ns[b]) + slot_ns) for a, b in zip(firsts, lasts, strict=True)]


def _std_deg(values: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    if values.size == 0:
        return np.full(values.shape[1], math.nan) if axis == 0 else math.nan
    return np.degrees(values.std(axis=axis))


def pair_drift_tracking(
    network: NetworkHardware | StabilizationSetup,
    schedule: ScheduleResult,
    pair: tuple[str, str],
    *,
    seed: Seed,
    repetition_rate_hz: float | None = None,
    first_trials: int = FIRST_TRIALS,
    progress: Progress | None = None,
) -> PairDriftTracking:
    """The pair's drift tracking (Fig. 2d) when its loop and calibration run only in its slots of ``schedule``.

    ``network`` gives the pair's loop (:func:`metroqnet.experiments.link_setup.loop_setup` at
    ``repetition_rate_hz``, default the network's stabilization rate), or is the pair's setup itself.
    The drift is the preset's model drawn over ``schedule.hours`` on ``child(seed, pair_index)``, as
    the fixed link's ``drift_tracking(setup, hours=schedule.hours, seed=child(seed, pair_index))``
    draws it (module docstring); ``first_trials`` after each switch-in are kept per position.
    """
    pair = tuple(pair)  # type: ignore[assignment]
    index = schedule.pair_index(pair)
    setup = _pair_setup(network, pair, repetition_rate_hz)
    first_trials = check("first_trials", first_trials, Count)
    hours = check_tracking_hours(setup, schedule.hours)
    pair_seed = child(seed, index)
    drift = setup.drift(hours=hours, seed=child(pair_seed, 0))
    loop = PhaseLoop(setup.settings, noise=setup.noise, drift=drift, calibration=setup.calibration,
                     seed=child(pair_seed, 1))
    period_ns, window = setup.settings.period_ns, loop.window_trials
    if first_trials >= window:
        raise ConfigError.at("first_trials", f"{first_trials} is not below the calibration window's {window} trials")
    horizon = tracking_trials(setup, hours)  # windows start before it, as in drift_tracking
    step = max(1, CHUNK_TRIALS // window) * window
    heads: list[np.ndarray] = []
    steady: list[np.ndarray] = []
    stretches = pair_stretches(schedule, index)
    windows_run = 0
    for number, (start_ns, end_ns) in enumerate(stretches):
        first = -(-start_ns // period_ns)
        if first >= horizon:
            break
        windows = min((end_ns // period_ns - first) // window, -(-(horizon - first) // window))
        if windows <= 0:
            continue
        loop.skip(first - loop.next_trial)
        kept = loop.advance(window).residual_rad
        if number > 0:
            heads.append(kept[:first_trials])
            steady.append(kept[first_trials:])
        remaining = (windows - 1) * window
        for done in range(0, remaining, step):
            loop.run(min(step, remaining - done))
        windows_run += windows
        if progress is not None:
            progress(windows * window)
    log = loop.log.arrays()
    time_h = log["time_s"] / S_PER_H
    head = np.array(heads).reshape(len(heads), first_trials)
    run_s = horizon * period_ns / NS_PER_S
    return PairDriftTracking(
        pair=pair,  # type: ignore[arg-type]
        time_h=time_h,
        drift_hz=log["drift_hz"],
        compensation_hz=log["compensation_hz"],
        residual_hz=log["residual_hz"],
        temperature_c=drift.temperature.temperature_c(time_h),
        stretches=len(stretches),
        windows=windows_run,
        calibration_share=windows_run * window * period_ns / NS_PER_S / run_s,
        switch_ins=len(heads),
        first_trials=first_trials,
        switch_in_std_deg=np.asarray(_std_deg(head, axis=0)),
        first_trials_std_deg=float(_std_deg(head)),
        steady_std_deg=float(_std_deg(np.concatenate(steady) if steady else np.zeros(0))),
        seed=seed_record(seed),
    )


@dataclass(frozen=True)
class PairDriftComparison:
    """One pair's calibration in its slots beside the same pair as a fixed link (same drift, same loop seed)."""

    switched: PairDriftTracking
    fixed: DriftTracking

    @property
    def pair(self) -> tuple[str, str]:
        return self.switched.pair

    @property
    def switched_max_abs_residual_hz(self) -> float:
        return self.switched.max_abs_residual_hz()

    @property
    def fixed_max_abs_residual_hz(self) -> float:
        return self.fixed.max_abs_residual_hz()

    def summary(self) -> dict[str, object]:
        """The figures ``metroqnet network --drift`` reports: shares, max and sd of the residual beside the fixed link's,
        the phase at the write in the first trial after a switch-in and in steady lock."""
        switched = self.switched
        first = switched.switch_in_std_deg
        return {
            "calibration_share": switched.calibration_share,
            "windows": switched.windows,
            "switch_ins": switched.switch_ins,
            "max_abs_residual_hz": self.switched_max_abs_residual_hz,
            "fixed_link_max_abs_residual_hz": self.fixed_max_abs_residual_hz,
            "residual_std_hz": float(np.std(switched.residual_hz[SETTLE_WINDOWS:])),
            "fixed_link_residual_std_hz": float(np.std(self.fixed.residual_hz[SETTLE_WINDOWS:])),
            "first_trial_phase_std_deg": float(first[0]) if first.size else None,
            "first_trials": switched.first_trials,
            "first_trials_phase_std_deg": switched.first_trials_std_deg,
            "steady_phase_std_deg": switched.steady_std_deg,
        }


def network_drift_comparison(
    network: NetworkHardware,
    schedule: ScheduleResult,
    *,
    seed: Seed,
    repetition_rate_hz: float | None = None,
    first_trials: int = FIRST_TRIALS,
    progress: Progress | None = None,
) -> tuple[PairDriftComparison, ...]:
    """For every pair of ``schedule`` the switch connects: :func:`pair_drift_tracking` beside the fixed link's
    :func:`drift_tracking` over the same hours, on the same drift and loop seed (``child(seed, pair_index)``)."""
    out = []
    for index, pair in enumerate(schedule.pairs):
        if schedule.slot_count[index] == 0:
            continue
        setup = loop_setup(network, *pair, repetition_rate_hz=repetition_rate_hz)
        switched = pair_drift_tracking(setup, schedule, pair, seed=seed, first_trials=first_trials, progress=progress)
        fixed = drift_tracking(setup, hours=schedule.hours, seed=child(seed, index), progress=progress)
        out.append(PairDriftComparison(switched=switched, fixed=fixed))
    return tuple(out)


__all__ = [
    "FIRST_TRIALS",
    "PairDriftComparison",
    "PairDriftTracking",
    "network_drift_comparison",
    "pair_drift_tracking",
    "pair_stretches",
]
