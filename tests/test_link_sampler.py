"""Link sampler: cell counts against the exact engine (two-sided 5σ binomial bands), reproducibility."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from metroqnet.analysis.outcomes import BASES, HERALD_SIGNS
from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.link.fock_engine import joint_tables, phase_resolved_tables
from metroqnet.sampling.link_sampler import BLOCK_TRIALS, LinkSampler
from metroqnet.sampling.phase_processes import FixedPhase, GaussianPhase

from .conftest import HEFEI_LIKE

#: A point where every cell is populated in a short run (strong χ and EP, asymmetric nodes).
BUSY = LinkParameters.from_mapping(HEFEI_LIKE).replace(
    excitation_probability_x=0.15, excitation_probability_y=0.08, herald_efficiency_x=0.3, herald_efficiency_y=0.2,
    herald_noise_probability=5e-4, read_efficiency_x=0.6, probe_mean_photon_number_x=0.2,
    probe_mean_photon_number_y=0.1, phase_noise_std_rad=0.6, local_noise_probability_y=1e-3,
)


#: Two-sided tail of a 5σ band of the normal distribution.
FIVE_SIGMA_TAIL = 2 * stats.norm.sf(5.0)


def assert_cells_match(record, expected_probability: np.ndarray, weights: np.ndarray) -> None:
    """Every (sign, basis, a, b) count inside the binomial(trials, P) central interval of 5σ probability.

    Exact binomial quantiles rather than mean ± 5 sd, so cells with a handful of expected
    counts are judged correctly too.
    """
    trials = record.trials
    for s in range(len(HERALD_SIGNS)):
        for b in range(len(BASES)):
            p = np.clip(weights[b] * expected_probability[s, b], 0.0, 1.0)
            low = stats.binom.ppf(FIVE_SIGMA_TAIL / 2, trials, p)
            high = stats.binom.isf(FIVE_SIGMA_TAIL / 2, trials, p)
            counts = record.counts[s, b]
            assert ((counts >= low) & (counts <= high)).all(), (HERALD_SIGNS[s], BASES[b], counts, trials * p)


def exact_array(params: LinkParameters) -> np.ndarray:
    tables = joint_tables(params).tables
    return np.array([[tables[s][b] for b in BASES] for s in HERALD_SIGNS])


def test_gaussian_phase_counts_match_exact_engine():
    record = LinkSampler(BUSY).sample(3 * BLOCK_TRIALS, seed=11)
    assert_cells_match(record, exact_array(BUSY), np.full(3, 1 / 3))
    # Bases of all trials, heralded or not, follow the weights (multinomial, 5σ).
    share = record.trials_per_basis / record.trials
    assert np.all(np.abs(share - 1 / 3) <= 5 * np.sqrt((1 / 3) * (2 / 3) / record.trials))


def test_every_trial_phase_path_has_the_same_distribution():
    sampler = LinkSampler(BUSY, phase_process=GaussianPhase(std_rad=BUSY.phase_noise_std_rad, every_trial=True))
    assert_cells_match(sampler.sample(2 * BLOCK_TRIALS, seed=5), exact_array(BUSY), np.full(3, 1 / 3))


def test_fixed_phase_and_basis_weights():
    theta = 1.1
    sampler = LinkSampler(BUSY, phase_process=FixedPhase(phase_rad=theta), basis_weights=(0.0, 3.0, 1.0))
    record = sampler.sample(2 * BLOCK_TRIALS, seed=8)
    expected = phase_resolved_tables(BUSY).at_phase(theta)  # exact tables at δ = θ
    assert_cells_match(record, expected, np.array([0.0, 0.75, 0.25]))
    assert record.trials_per_basis[0] == 0


def test_same_seed_same_record_for_any_chunking():
    sampler = LinkSampler(BUSY)
    trials = 3 * BLOCK_TRIALS + 12345
    first = sampler.sample(trials, seed=2024, chunk_blocks=1)
    assert first == sampler.sample(trials, seed=2024, chunk_blocks=2)
    assert first == sampler.sample(trials, seed=2024, chunk_blocks=100)
    assert first.trials == trials
    other = sampler.sample(trials, seed=2025)
    assert not np.array_equal(first.counts, other.counts)


def test_records_add_and_carry_provenance():
    sampler = LinkSampler(BUSY.replace(repetition_rate_hz=1000.0), link="alice-bob")
    a, b = sampler.sample(1000, seed=1), sampler.sample(2000, seed=2)
    total = a + b
    assert total.trials == 3000 and total.heralds == a.heralds + b.heralds
    assert a.strong_id == b.strong_id == total.strong_id == sampler.strong_id
    assert [run.as_dict() for run in a.runs] == [{"entropy": 1, "spawn_key": [], "trials": 1000}]
    assert [(run.entropy, run.trials) for run in total.runs] == [(1, 1000), (2, 2000)]
    assert a.duration_s == pytest.approx(1.0)
    assert isinstance(a.metadata["metroqnet_version"], str)


def test_a_seed_sequence_draws_as_its_entropy_and_spawn_key_say():
    sampler = LinkSampler(BUSY)
    child = np.random.SeedSequence(99, spawn_key=(3, 1))
    record = sampler.sample(20_000, seed=child)
    (run,) = record.runs
    assert (run.entropy, run.spawn_key) == (99, (3, 1))
    # Replay from what the record says.
    again = sampler.sample(20_000, seed=np.random.SeedSequence(run.entropy, spawn_key=run.spawn_key))
    assert again == record
    assert sampler.sample(20_000, seed=99) != record  # the parent's stream is another run


def test_nothing_heralded_gives_empty_counts():
    silent = BUSY.replace(herald_efficiency_x=0.0, herald_efficiency_y=0.0, herald_noise_probability=0.0)
    record = LinkSampler(silent).sample(BLOCK_TRIALS + 7, seed=3)
    assert record.heralds == 0 and record.trials == BLOCK_TRIALS + 7


@pytest.mark.parametrize("seed", [-1, 1.5, "7", None, True])
def test_bad_seed_refused(seed):
    with pytest.raises(ConfigError, match="seed"):
        LinkSampler(BUSY).sample(10, seed=seed)


def test_bad_basis_weights_refused():
    with pytest.raises(ConfigError, match="basis_weights"):
        LinkSampler(BUSY, basis_weights=(1.0, -1.0, 1.0))


@pytest.mark.parametrize("trials", [-1, 2**63, 1.0e6])
def test_bad_trials_refused(trials):
    # Counts are int64: a run beyond 2**63 - 1 trials cannot be recorded (and would never finish).
    with pytest.raises(ConfigError, match="trials"):
        LinkSampler(BUSY).sample(trials, seed=1)


def test_vanishing_herald_probability_gives_no_phantom_heralds():
    # P_h ≈ 2e-18: the geometric gaps are ~1e18 and their int64 sum used to wrap negative, putting
    # heralds at negative trial indices (a 1e6-trial run reported ~10 heralds instead of ~2e-12).
    faint = BUSY.replace(excitation_probability_x=1e-9, excitation_probability_y=1e-9, herald_efficiency_x=1e-9,
                         herald_efficiency_y=1e-9, herald_noise_probability=0.0)
    sampler = LinkSampler(faint)
    assert sampler.herald_probability == pytest.approx(2e-18, rel=1e-6)
    for seed in range(5):
        record = sampler.sample(10**6, seed=seed)
        assert record.heralds == 0 and record.trials == 10**6
        assert sampler.sample_events(10**6, seed=seed).trial_index.size == 0


@dataclass(frozen=True)
class BrokenPhase:
    """A user's phase process that returns a non-finite phase."""

    value: float

    def phases_at(self, trial_indices, *, block_start, block_trials, rng):
        return np.full(trial_indices.size, self.value)


@pytest.mark.parametrize("phase_rad", [float("nan"), float("inf")])
def test_non_finite_phase_is_refused(phase_rad):
    # Was silent: NaN outcome probabilities put every herald in the (none, none) cell.
    with pytest.raises(ConfigError, match="phase_rad: expected a finite number"):
        FixedPhase(phase_rad=phase_rad)
    sampler = LinkSampler(BUSY, phase_process=BrokenPhase(value=phase_rad))
    with pytest.raises(ConfigError, match="phase_process"):
        sampler.sample(100_000, seed=1)


def test_a_phase_process_without_an_identity_is_refused():
    class Anonymous:
        def phases_at(self, trial_indices, *, block_start, block_trials, rng):
            return np.zeros(trial_indices.size)

    with pytest.raises(ConfigError, match="phase_process: Anonymous cannot be identified"):
        LinkSampler(BUSY, phase_process=Anonymous())
