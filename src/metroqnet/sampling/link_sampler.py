"""Sample heralded trials of one link, trial by trial in distribution, skipping trials where nothing is heralded.

Compile once: the exact engine gives every joint outcome probability as a
Fourier series in the phase error δ of Y's read-out
(:func:`metroqnet.link.fock_engine.phase_resolved_tables`). Then per block of
``BLOCK_TRIALS`` trials, with the block's own generator:

1. the gaps between heralded trials are geometric with the (δ-independent)
   herald probability P_h — trials in between are never touched;
2. at each heralded trial: its sign (P_+/P_h), its measurement basis (drawn
   independently of everything, weights ``basis_weights``), its phase error
   from the phase process, and the joint click pattern of both nodes from
   ``P(a, b | sign, basis, δ)``;
3. the unheralded trials' bases are one multinomial draw.

**Streams.** A run's seed (an integer or a ``SeedSequence``) spawns block ``k``'s
generator as ``child(seed, 0, k)`` and the phase process's stream (a stateful
process such as the stabilization loop restarts on it) as ``child(seed, 1)``
(:mod:`metroqnet.config.seeds`), so a record depends only on (seed, trials,
configuration): grouping blocks into chunks changes nothing.

**Identity.** :attr:`LinkSampler.strong_id` hashes everything that fixes the
distribution of a record (:meth:`LinkSampler.description`): the link parameters,
the phase process with all its data, the basis weights, the sampler's version and
block layout. Records carry it and the seeds they came from
(:class:`metroqnet.analysis.records.CountRecord`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from metroqnet.analysis.events import EventRecord
from metroqnet.analysis.outcomes import BASES
from metroqnet.analysis.records import COUNT_SHAPE, CountRecord, SeedRun, tally
from metroqnet.config.errors import ConfigError
from metroqnet.config.identity import strong_id
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.config.seeds import Seed, child, generator, seed_record, seed_sequence
from metroqnet.config.versions import versions
from metroqnet.config.validation import INT64_MAX, Count, check
from metroqnet.link.fock_engine import DEFAULT_TOLERANCE, phase_resolved_tables
from metroqnet.sampling.phase_processes import GaussianPhase, PhaseProcess

#: Changes whenever the same seed and configuration would give other draws.
SAMPLER_VERSION = 2
BLOCK_STREAM = 0
PHASE_STREAM = 1
BLOCK_TRIALS = 1 << 22
CELLS = 16  # (pattern_x, pattern_y)
#: Geometric draws per block beyond the mean: mean + 8 sd + 16 covers the block almost always.
GAP_MARGIN_SD = 8.0
#: Relative size below which a Fourier order of the outcome probabilities is dropped.
ORDER_CUTOFF = 1e-15


@dataclass(frozen=True)
class HeraldedTrials:
    """The heralded trials of one block: absolute trial index, sign, basis and both nodes' patterns."""

    trial_index: np.ndarray
    sign: np.ndarray
    basis: np.ndarray
    outcome_x: np.ndarray
    outcome_y: np.ndarray
    trials_per_basis: np.ndarray


#: Counts and trials are stored as int64: a run may not hold more trials than that.
MAX_TRIALS = INT64_MAX


def _require_trials(trials: object) -> int:
    return check("trials", trials, Count)


def _require_weights(weights: Sequence[float]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    if array.shape != (len(BASES),) or not np.all(np.isfinite(array)) or (array < 0).any() or array.sum() <= 0:
        raise ConfigError(f"basis_weights: {tuple(weights)!r} must be {len(BASES)} non-negative weights for Z, X, Y")
    return array / array.sum()


class LinkSampler:
    """Compiled sampler of one link (``docs/link_model.md``), for a given phase process and basis choice."""

    def __init__(
        self,
        params: LinkParameters,
        *,
        phase_process: PhaseProcess | None = None,
        basis_weights: Sequence[float] = (1.0, 1.0, 1.0),
        link: str = "x-y",
    ) -> None:
        self.params = params
        self.link = link
        self.phase_process = phase_process if phase_process is not None else GaussianPhase(
            std_rad=params.phase_noise_std_rad
        )
        self.basis_weights = _require_weights(basis_weights)
        resolved = phase_resolved_tables(params)
        # [order, sign, basis, cell]; the herald marginal sits in order 0 (coherences trace to zero).
        coefficients = resolved.coefficients.reshape(resolved.orders.size, 2, len(BASES), CELLS)
        sign_probability = coefficients[resolved.orders == 0][0].real.sum(axis=-1)[:, 0]
        # Orders whose every coefficient is below ORDER_CUTOFF of the largest change no probability
        # by more than that (relative); dropping them saves most of the per-herald work at small χ.
        magnitude = np.abs(coefficients).reshape(resolved.orders.size, -1).max(axis=1)
        keep = magnitude > ORDER_CUTOFF * magnitude.max()
        self._orders = resolved.orders[keep].astype(float)
        self._coefficients = coefficients[keep]
        self.herald_probability_by_sign = np.clip(sign_probability, 0.0, None)
        self.herald_probability = float(self.herald_probability_by_sign.sum())
        try:
            self.strong_id = strong_id(self.description())
        except TypeError as error:
            raise ConfigError.at(
                "phase_process", f"{type(self.phase_process).__name__} cannot be identified ({error})"
            ) from None

    def description(self) -> dict[str, object]:
        """Everything that fixes the distribution of a record (what :attr:`strong_id` hashes)."""
        return {
            "sampler": "metroqnet.LinkSampler",
            "sampler_version": SAMPLER_VERSION,
            "block_trials": BLOCK_TRIALS,
            "gap_margin_sd": GAP_MARGIN_SD,
            "order_cutoff": ORDER_CUTOFF,
            "engine_tolerance": DEFAULT_TOLERANCE,
            # The phase process carries the phase noise (the default one is built from it); the rate
            # only labels time, so neither enters through the parameters.
            "params": self.params.replace(phase_noise_std_rad=0.0, repetition_rate_hz=None),
            "phase_process": self.phase_process,
            "basis_weights": self.basis_weights,
        }

    # --- one block ----------------------------------------------------------------------

    def _herald_positions(self, size: int, rng: np.random.Generator) -> np.ndarray:
        p = self.herald_probability
        if p <= 0.0:
            return np.zeros(0, dtype=np.int64)
        mean = size * p
        draws = int(mean + GAP_MARGIN_SD * math.sqrt(mean) + 16)

        def gaps() -> np.ndarray:
            # A gap > size already ends the block, so clipping there changes no position below size;
            # it keeps the sums far from int64 overflow (at P_h ~ 1e-18 the raw gaps are ~1e18 and
            # their cumulative sum would wrap negative: heralds at negative trial indices).
            return np.minimum(rng.geometric(p, size=draws), size + 1)

        positions = np.cumsum(gaps()) - 1
        while positions[-1] < size:  # rare: extend with more gaps
            more = np.cumsum(gaps()) + positions[-1]
            positions = np.concatenate([positions, more])
        return positions[positions < size]

    def _draw_cells(
        self, sign: np.ndarray, basis: np.ndarray, phase: np.ndarray, uniform: np.ndarray
    ) -> np.ndarray:
        """Joint pattern cell of each herald from ``P(a, b | sign, basis, δ)``, by inverse CDF."""
        cell = np.empty(sign.size, dtype=np.int64)
        group = sign.astype(np.int64) * len(BASES) + basis
        for key in np.unique(group):
            members = np.flatnonzero(group == key)
            coefficients = self._coefficients[:, key // len(BASES), key % len(BASES), :]  # [order, cell]
            rotation = np.exp(1j * np.multiply.outer(phase[members], self._orders))  # [herald, order]
            probabilities = (rotation @ coefficients).real
            np.clip(probabilities, 0.0, None, out=probabilities)
            cumulative = np.cumsum(probabilities, axis=1)
            threshold = uniform[members] * cumulative[:, -1]
            cell[members] = np.minimum((cumulative < threshold[:, None]).sum(axis=1), CELLS - 1)
        return cell

    def block(self, index: int, *, seed: Seed, total_trials: int) -> HeraldedTrials:
        """The heralded trials of block ``index`` of a run of ``total_trials`` trials."""
        start = index * BLOCK_TRIALS
        size = min(BLOCK_TRIALS, total_trials - start)
        rng = generator(child(seed, BLOCK_STREAM, index))
        offsets = self._herald_positions(size, rng)
        heralds = offsets.size
        minus_share = self.herald_probability_by_sign[1] / self.herald_probability if heralds else 0.0
        sign = (rng.random(heralds) < minus_share).astype(np.int8)
        basis = rng.choice(len(BASES), size=heralds, p=self.basis_weights).astype(np.int8)
        trial_index = start + offsets
        phase = np.asarray(
            self.phase_process.phases_at(trial_index, block_start=start, block_trials=size, rng=rng), dtype=float
        )
        if phase.shape != trial_index.shape or not np.all(np.isfinite(phase)):
            # A NaN phase would make every outcome probability NaN and put each herald in cell (none, none).
            raise ConfigError(
                f"phase_process: {self.phase_process!r} must give one finite phase per heralded trial "
                f"(block {index}: shape {phase.shape} for {trial_index.size} heralds, "
                f"{int(np.sum(~np.isfinite(phase)))} non-finite)"
            )
        cell = self._draw_cells(sign, basis, phase, rng.random(heralds))
        trials_per_basis = np.bincount(basis, minlength=len(BASES)) + rng.multinomial(
            size - heralds, self.basis_weights
        )
        return HeraldedTrials(
            trial_index=trial_index,
            sign=sign,
            basis=basis,
            outcome_x=(cell // 4).astype(np.int8),
            outcome_y=(cell % 4).astype(np.int8),
            trials_per_basis=trials_per_basis.astype(np.int64),
        )

    # --- runs -----------------------------------------------------------------------------

    def blocks(self, trials: int) -> int:
        return -(-trials // BLOCK_TRIALS)

    def _run(self, trials: int, seed: np.random.SeedSequence, chunk_blocks: int, progress):
        """Yield each block's heralded trials in order, reporting progress per chunk (arguments checked)."""
        if isinstance(chunk_blocks, bool) or not isinstance(chunk_blocks, int) or chunk_blocks < 1:
            raise ConfigError(f"chunk_blocks: {chunk_blocks!r} must be an integer >= 1")
        blocks = self.blocks(trials)
        begin_run = getattr(self.phase_process, "begin_run", None)
        if begin_run is not None:  # a stateful process (e.g. the stabilization loop) restarts per run
            begin_run(child(seed, PHASE_STREAM))
        for first in range(0, blocks, chunk_blocks):
            for index in range(first, min(first + chunk_blocks, blocks)):
                yield self.block(index, seed=seed, total_trials=trials)
            if progress is not None:
                progress(min((first + chunk_blocks) * BLOCK_TRIALS, trials), trials)

    def sample_events(
        self,
        trials: int,
        *,
        seed: Seed,
        chunk_blocks: int = 8,
        progress: Callable[[int, int], None] | None = None,
    ) -> EventRecord:
        """The time-tag form of :meth:`sample` (same seed, same events): one row per heralded trial.

        Memory grows with the number of heralds, unlike :meth:`sample`.
        """
        trials, seed = _require_trials(trials), seed_sequence(seed)
        batches = list(self._run(trials, seed, chunk_blocks, progress))
        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(b, name) for b in batches]) if batches else np.zeros(0, dtype=np.int64)
        return EventRecord(
            link=self.link,
            trial_index=joined("trial_index"),
            sign=joined("sign"),
            basis=joined("basis"),
            outcome_x=joined("outcome_x"),
            outcome_y=joined("outcome_y"),
            trials_per_basis=sum((b.trials_per_basis for b in batches), np.zeros(len(BASES), dtype=np.int64)),
            **self._provenance(trials, seed),
        )

    def sample(
        self,
        trials: int,
        *,
        seed: Seed,
        chunk_blocks: int = 8,
        progress: Callable[[int, int], None] | None = None,
    ) -> CountRecord:
        """Counts of a run of ``trials`` trials. ``chunk_blocks`` only sets how often ``progress`` is called."""
        trials, seed = _require_trials(trials), seed_sequence(seed)
        counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
        trials_per_basis = np.zeros(len(BASES), dtype=np.int64)
        for batch in self._run(trials, seed, chunk_blocks, progress):
            counts += tally(batch.sign, batch.basis, batch.outcome_x, batch.outcome_y)
            trials_per_basis += batch.trials_per_basis
        return CountRecord(
            link=self.link,
            counts=counts,
            trials_per_basis=trials_per_basis,
            **self._provenance(trials, seed),
        )

    def _provenance(self, trials: int, seed: np.random.SeedSequence) -> dict[str, object]:
        """The record fields every run of this sampler shares, and its seed."""
        record = seed_record(seed)
        entropy = record["entropy"] if isinstance(record["entropy"], int) else tuple(record["entropy"])
        return {
            "read_efficiency_x": self.params.read_efficiency_x,
            "read_efficiency_y": self.params.read_efficiency_y,
            "repetition_rate_hz": self.params.repetition_rate_hz,
            "strong_id": self.strong_id,
            "runs": (SeedRun(entropy=entropy, spawn_key=tuple(record["spawn_key"]), trials=trials),),
            "metadata": versions(),
        }
