"""Signed sums of independent processes, each keeping its own state, and their pooled equivalent.

A :class:`PhaseSum` advances every term on the same times with its own columns
of the normals (term by term, in order) and returns Σ signᵢ · valueᵢ. Its state's
``parts`` are the terms' states. The spectrum and structure function of a sum
of independent terms are the sums of theirs (deterministic terms, such as a
frequency drift, have none and are left out).

:func:`pooled` merges terms with the same dynamics into one — Wiener phases
into one Wiener phase with the summed diffusion, OU (or integrated-OU) phases
with equal correlation times into one with the summed variance. The result has
the same joint distribution at every set of times (a difference or sum of
independent Gaussian processes with the same linear dynamics is one such
process), draws fewer normals, and runs faster; it no longer tells the terms
apart (its realisations are not those of the unpooled sum).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.config.errors import ConfigError
from metroqnet.noise.gaussian import IntegratedOUPhase, OrnsteinUhlenbeckPhase, WienerPhase, frequencies_hz, lags_s
from metroqnet.noise.processes import ProcessBase, ProcessState, slices, start_run

__all__ = ["PhaseSum", "PhaseTerm", "gaussian_primitives", "pooled"]

_PRIMITIVES = (WienerPhase, OrnsteinUhlenbeckPhase, IntegratedOUPhase)


@dataclass(frozen=True, kw_only=True)
class PhaseTerm:
    """One named term ``sign · process`` of a :class:`PhaseSum` (sign +1 or −1)."""

    name: str
    process: Any
    sign: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"name: expected a non-empty string, got {self.name!r}")
        if self.sign not in (1, -1) or isinstance(self.sign, bool):
            raise ConfigError(f"sign: {self.sign!r} is not +1 or -1 (term {self.name!r})")
        object.__setattr__(self, "sign", float(self.sign))
        for needed in ("advance", "initial_state", "normals_per_sample"):
            if not hasattr(self.process, needed):
                raise ConfigError(f"process: {type(self.process).__name__} of term {self.name!r} has no {needed}")


@dataclass(frozen=True, kw_only=True)
class PhaseSum(ProcessBase):
    """Σ sign · process over ``terms`` (independent; each keeps its state in ``state.parts``)."""

    terms: tuple[PhaseTerm, ...]

    def __post_init__(self) -> None:
        terms = tuple(self.terms)
        if not terms or not all(isinstance(t, PhaseTerm) for t in terms):
            raise ConfigError("terms: expected a non-empty sequence of PhaseTerm")
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise ConfigError(f"terms: names must be unique, got {names}")
        object.__setattr__(self, "terms", terms)

    @cached_property
    def normals_per_sample(self) -> int:  # type: ignore[override]
        return sum(t.process.normals_per_sample for t in self.terms)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

    def initial_state(self, time_ns: int, *, rng: np.random.Generator) -> ProcessState:
        parts = tuple(t.process.initial_state(time_ns, rng=rng) for t in self.terms)
        return ProcessState(time_ns=time_ns, parts=parts)

    def advance_terms(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[dict[str, np.ndarray], ProcessState]:
        """Each term's own values (before its sign) and the new state."""
        if len(state.parts) != len(self.terms):
            raise ConfigError(
                f"state: this sum has {len(self.terms)} terms, the state {len(state.parts)} parts "
                "(a state from another process?)"
            )
        values, parts, column = {}, [], 0
        for term, part in zip(self.terms, state.parts, strict=True):
            k = term.process.normals_per_sample
            values[term.name], new = term.process.advance(steps_ns, normals[:, column : column + k], part)
            parts.append(new)
            column += k
        return values, ProcessState(time_ns=state.time_ns + int(steps_ns.sum()), parts=tuple(parts))

    def advance(
        self, steps_ns: np.ndarray, normals: np.ndarray, state: ProcessState
    ) -> tuple[np.ndarray, ProcessState]:
        values, new = self.advance_terms(steps_ns, normals, state)
        total: np.ndarray | None = None
        for term in self.terms:
            value = values[term.name]
            if total is None:
                total = value if term.sign > 0 else np.negative(value, out=value)
            elif term.sign > 0:
                total += value
            else:
                total -= value
        assert total is not None
        return total, new

    def simulate_terms(
        self, times_ns: Any, *, rng: np.random.Generator, state: ProcessState | None = None
    ) -> tuple[dict[str, np.ndarray], ProcessState | None]:
        """Like :meth:`simulate` (same draws, same state) but each term's values (before its sign)."""
        times, state = start_run(self, times_ns, rng, state)
        out = {name: np.empty(times.size) for name in self.names}
        for first, last, steps, normals in slices(self, times, rng, state):
            values, state = self.advance_terms(steps, normals, state)
            for name, array in values.items():
                out[name][first:last] = array
        return out, state

    def psd_rad2_per_hz(self, frequency_hz: ArrayLike) -> np.ndarray:
        """Σ of the terms' one-sided PSDs (rad²/Hz); deterministic terms have none."""
        total = np.zeros_like(frequencies_hz(frequency_hz))
        for term in self.terms:
            if hasattr(term.process, "psd_rad2_per_hz"):
                total = total + term.process.psd_rad2_per_hz(frequency_hz)
        return total

    def structure_function_rad2(self, lag_s: ArrayLike) -> np.ndarray:
        """Σ of the terms' structure functions (rad²); deterministic terms have none."""
        total = np.zeros_like(lags_s(lag_s))
        for term in self.terms:
            if hasattr(term.process, "structure_function_rad2"):
                total = total + term.process.structure_function_rad2(lag_s)
        return total


def gaussian_primitives(process: Any) -> list[Any] | None:
    """The Wiener, OU and integrated-OU parts of ``process`` (signs dropped), or None if it has other parts."""
    if isinstance(process, _PRIMITIVES):
        return [process]
    if hasattr(process, "gaussian_parts"):
        return list(process.gaussian_parts())
    if isinstance(process, PhaseSum):
        found: list[Any] = []
        for term in process.terms:
            inner = gaussian_primitives(term.process)
            if inner is None:
                return None
            found += inner
        return found
    return None


def pooled(process: PhaseSum) -> PhaseSum:
    """The same process in distribution with like Gaussian terms merged (module docstring).

    Terms that are not Gaussian (a deterministic drift) are kept as they are, with their sign.
    """
    diffusion = 0.0
    ou: dict[float, float] = {}
    integrated: dict[float, float] = {}
    kept: list[PhaseTerm] = []
    for term in process.terms:
        parts = gaussian_primitives(term.process)
        if parts is None:
            kept.append(term)
            continue
        for part in parts:
            if isinstance(part, WienerPhase):
                diffusion += part.diffusion_rad2_per_s
            elif isinstance(part, OrnsteinUhlenbeckPhase):
                ou[part.correlation_s] = ou.get(part.correlation_s, 0.0) + part.std_rad**2
            else:
                integrated[part.correlation_s] = (
                    integrated.get(part.correlation_s, 0.0) + part.rate_std_rad_per_s**2
                )
    terms: list[PhaseTerm] = []
    if diffusion > 0:
        terms.append(PhaseTerm(name="wiener", process=WienerPhase(diffusion_rad2_per_s=diffusion)))
    for tau, variance in sorted(integrated.items()):
        if variance > 0:
            process_ = IntegratedOUPhase(rate_std_rad_per_s=math.sqrt(variance), correlation_s=tau)
            terms.append(PhaseTerm(name=f"integrated_ou_{tau:g}s", process=process_))
    for tau, variance in sorted(ou.items()):
        if variance > 0:
            process_ = OrnsteinUhlenbeckPhase(std_rad=math.sqrt(variance), correlation_s=tau)
            terms.append(PhaseTerm(name=f"ou_{tau:g}s", process=process_))
    terms += kept
    if not terms:  # everything switched off: keep one silent term so the sum stays valid
        terms.append(PhaseTerm(name="wiener", process=WienerPhase(diffusion_rad2_per_s=0.0)))
    return PhaseSum(terms=tuple(terms))
