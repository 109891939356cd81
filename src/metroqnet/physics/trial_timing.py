"""The timing of one entanglement trial at a node, and the repetition rate it implies.

One trial, on the node's clock (µs, t = 0 at the start of the trial; the sequence of Fig. 2a of
the paper, then the write, the storage and the read):

    reset/preparation  [0, t_reset]
    probe_rounds × [phase probe τ_pp + feedback (up to) τ_fb]
    gap τ_Δ (afterpulse-like noise of the SNSPDs)
    write            t_w = t_reset + rounds · (τ_pp + τ_fb) + τ_Δ
    herald           t_w + L·v   (the write-out photon reaches the server)
    herald at node   t_w + 2·L·v (the server's classical message is back)
    read             t_w + t_s   (storage t_s)
    trial end        t_w + t_s + t_ro (read pulse, detection window, write pulse: ``readout_overhead_us``)

so the trial lasts T = T0 + t_s with the storage-independent part
T0 = t_reset + rounds · (τ_pp + τ_fb) + τ_Δ + t_ro. The read-out mode follows from the storage:
'delayed-choice' (the node reads before the herald can be known there, t_s < 2 L v, the paper's
5 µs) or 'after-herald' (t_s >= 2 L v, the paper's 107 µs on ~10 km). Classical processing at the
server and the node (detection, FPGA, message) is not modelled: it would add to 2 L v.

The repetition rate is R = D / T with D the duty cycle: the fraction of the cold-atom cycle (MOT
loading, then an experiment window) spent on trials. The paper's two rates at two storage times
(2.76 kHz at 5 µs, 1.03 kHz at 107 µs) fix T0 and D exactly (:func:`fit_cycle`): they are fitted,
not predicted. See ``docs/trial_timing.md``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, NamedTuple

from metroqnet.config.errors import ConfigError
from metroqnet.config.units import US_PER_S
from metroqnet.config.validation import NonNegative, Positive, Rounds, bounded, check, parameters
from metroqnet.physics import fibre

#: A duty cycle: a fraction of the cold-atom cycle, (0, 1].
DutyCycle = bounded(gt=0.0, le=1.0)

DELAYED_CHOICE = "delayed-choice"
AFTER_HERALD = "after-herald"
ReadoutMode = Literal["delayed-choice", "after-herald"]


def required_storage_us(fibre_length_km: float, delay_us_per_km: float) -> float:
    """The shortest storage that reads after the herald is back at the node: 2 · L · v."""
    length = check("fibre_length_km", fibre_length_km, NonNegative)
    delay = check("delay_us_per_km", delay_us_per_km, Positive)
    return float(fibre.round_trip_us(length, delay_us_per_km=delay))


def repetition_rate_hz(trial_duration_us: float, duty_cycle: float) -> float:
    """R = D / T: trials per second of wall-clock time, with a fraction D of it spent on trials."""
    duration = check("trial_duration_us", trial_duration_us, Positive)
    duty = check("duty_cycle", duty_cycle, DutyCycle)
    return duty * US_PER_S / duration


@parameters
class TrialTiming:
    """One trial's sequence (µs) and the node's fibre to the server.

    ``probe_duration_us`` τ_pp of one phase probe; ``feedback_latency_us`` the (longest) feedback
    after it; ``probe_rounds`` probe-feedback rounds (the paper: 2); ``probe_gap_us`` τ_Δ before
    the write; ``readout_overhead_us`` what a trial spends besides the storage after the write starts
    (write pulse, read pulse, detection window); ``storage_us`` write to read; ``fibre_length_km``
    and ``fibre_delay_us_per_km`` the node–server fibre; ``reset_us`` the per-trial reset and
    preparation (optical pumping, clean pulse) before the first probe.
    """

    probe_duration_us: Positive
    feedback_latency_us: NonNegative
    probe_rounds: Rounds  # type: ignore[valid-type]
    probe_gap_us: NonNegative
    readout_overhead_us: NonNegative
    storage_us: NonNegative
    fibre_length_km: NonNegative
    fibre_delay_us_per_km: Positive
    reset_us: NonNegative

    @property
    def pre_write_us(self) -> float:
        """Probes, feedback and the gap: rounds · (τ_pp + τ_fb) + τ_Δ (the paper's sequence: 17 µs)."""
        return self.probe_rounds * (self.probe_duration_us + self.feedback_latency_us) + self.probe_gap_us

    @property
    def fixed_duration_us(self) -> float:
        """T0: the storage-independent part of a trial."""
        return self.reset_us + self.pre_write_us + self.readout_overhead_us

    @property
    def trial_duration_us(self) -> float:
        """T = T0 + storage."""
        return self.fixed_duration_us + self.storage_us

    @property
    def round_trip_us(self) -> float:
        """2 · L · v: the write-out photon to the server and the herald back."""
        return required_storage_us(self.fibre_length_km, self.fibre_delay_us_per_km)

    @property
    def readout_mode(self) -> ReadoutMode:
        """'delayed-choice' when the read comes before the herald can be back (storage < 2 L v), else 'after-herald'."""
        return DELAYED_CHOICE if self.storage_us < self.round_trip_us else AFTER_HERALD

    def event_times_us(self) -> dict[str, float]:
        """The named instants of one trial (µs from its start), in time order (herald before read on a tie)."""
        events: list[tuple[str, float]] = [("reset_start", 0.0)]
        t = self.reset_us
        for k in range(1, self.probe_rounds + 1):
            events.append((f"probe_{k}_start", t))
            t += self.probe_duration_us
            events.append((f"probe_{k}_end", t))
            t += self.feedback_latency_us
            events.append((f"feedback_{k}_end", t))
        write = t + self.probe_gap_us
        one_way_us = self.round_trip_us / 2.0
        events += [
            ("write", write),
            ("herald_at_server", write + one_way_us),
            ("herald_at_node", write + self.round_trip_us),
            ("read", write + self.storage_us),
            ("trial_end", write + self.storage_us + self.readout_overhead_us),
        ]
        return dict(sorted(events, key=lambda item: item[1]))  # stable: insertion order breaks ties

    def repetition_rate_hz(self, duty_cycle: float) -> float:
        """D / T of this trial."""
        return repetition_rate_hz(self.trial_duration_us, duty_cycle)

    def replace(self, **changes: object) -> TrialTiming:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


class CycleFit(NamedTuple):
    """T0 (µs) and the duty cycle D fixed by two rates at two storage times."""

    fixed_duration_us: float
    duty_cycle: float


def fit_cycle(rate_a_hz: float, storage_a_us: float, rate_b_hz: float, storage_b_us: float) -> CycleFit:
    """Solve R_i = D / (T0 + s_i) for T0 and D in closed form (two equations, two unknowns: an exact fit).

    T0 = (R_b s_b − R_a s_a) / (R_a − R_b), D = R_a (T0 + s_a). Refused when the storages are equal,
    when the longer storage does not have the lower rate, or when the solution is not T0 >= 0 and
    D in (0, 1].
    """
    ra = check("rate_a_hz", rate_a_hz, Positive)
    rb = check("rate_b_hz", rate_b_hz, Positive)
    sa = check("storage_a_us", storage_a_us, NonNegative)
    sb = check("storage_b_us", storage_b_us, NonNegative)
    if sa == sb:
        raise ConfigError.at("storage_b_us", f"{sb!r} equals storage_a_us; two different storage times are needed")
    if (ra - rb) * (sb - sa) <= 0:
        raise ConfigError.at("rate_b_hz", f"{rb!r} Hz: the longer storage must have the lower rate "
                             f"(rate_a_hz = {ra!r} at {sa!r} µs, storage_b_us = {sb!r})")
    fixed_us = (rb * sb - ra * sa) / (ra - rb)
    if fixed_us < 0:
        raise ConfigError.at("rate_b_hz", f"{rb!r} Hz implies a negative storage-independent trial time "
                             f"{fixed_us:.6g} µs; allowed: T0 >= 0")
    duty = ra * (fixed_us + sa) / US_PER_S
    if not 0 < duty <= 1:
        raise ConfigError.at("rate_a_hz", f"{ra!r} Hz implies a duty cycle {duty:.6g}; allowed: (0, 1]")
    return CycleFit(fixed_duration_us=fixed_us, duty_cycle=duty)
