"""What a sweep task computes (metroqnet.sweeps.compute): each kind against an independent call of the library.

Small trial counts throughout (the loop 2,000 trials, the sampler 10⁵–10⁶ skipped trials): the
whole file runs in a few seconds.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.config.errors import ConfigError
from metroqnet.config.identity import strong_id
from metroqnet.config.presets import load_preset, parse_override
from metroqnet.experiments.link_setup import WRITE_RESIDUAL_SEED, experiment_link_parameters, write_residual_std_rad
from metroqnet.link.evaluate import evaluate_link
from metroqnet.sweeps.compute import (
    ExactCompute,
    LoopCompute,
    SimulateCompute,
    compute_table,
    compute_task,
    parse_compute_table,
)
from metroqnet.sweeps.compute_links import aggregates, sign_mean, sign_mean_stderr

LOOP_TRIALS = 2_000
PAIRS = {"alice-bob": ("alice", "bob"), "alice-charlie": ("alice", "charlie"), "bob-charlie": ("bob", "charlie")}


@pytest.fixture(scope="module")
def network():
    return load_preset("hefei2024")


def task_seed(k: int) -> np.random.SeedSequence:
    """A task's seed as sweeps/tasks.py makes one (entropy = sweep seed, spawn key from the task id)."""
    return np.random.SeedSequence(entropy=2024, spawn_key=(k,))


def per_link(result: dict, name: str) -> dict[str, object]:
    return {key.rsplit(".", 1)[0]: value for key, value in result.items()
            if key.endswith(f".{name}") and not key.startswith(("min.", "max."))}


# --- exact ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("experiment", ["storage_5us", "storage_107us"])
def test_exact_equals_evaluate_link_at_the_experiments_parameters(network, experiment):
    """With the library's loop seed the exact kind is experiment_link_parameters + evaluate_link, link by link."""
    spec = parse_compute_table({"kind": "exact", "experiment": experiment, "links": ["alice-bob", "charlie-bob"],
                                "residual_trials": LOOP_TRIALS, "residual_seed": WRITE_RESIDUAL_SEED,
                                "figures": ["herald_probability_plus", "xx", "pme_probability"]})
    result = compute_task(spec, network, task_seed(0))
    rate_hz = network.experiments[experiment].repetition_rate_hz
    for label, pair in (("alice-bob", ("alice", "bob")), ("charlie-bob", ("charlie", "bob"))):
        params = experiment_link_parameters(network, experiment, nodes=pair, residual_trials=LOOP_TRIALS)
        reference = evaluate_link(params)
        plus, minus = reference.herald_probability_plus, reference.herald_probability_minus

        def pooled(name):  # herald-weighted mean over the two signs
            return (plus * getattr(reference.figures["plus"], name)
                    + minus * getattr(reference.figures["minus"], name)) / (plus + minus)

        expected = {
            "herald_probability": plus + minus,
            "herald_probability_plus": plus,
            "entangling_rate_hz": (plus + minus) * rate_hz,
            "pme_rate_hz": reference.pme_rate_hz,
            "noise_herald_fraction": reference.noise_herald_fraction,
            "fidelity": pooled("fidelity"),
            "concurrence": pooled("concurrence"),
            "atomic_concurrence": pooled("atomic_concurrence"),
            "xx": pooled("xx"),
            "pme_probability": pooled("pme_probability"),
            "write_residual_deg": math.degrees(write_residual_std_rad(
                network, *pair, repetition_rate_hz=rate_hz, trials=LOOP_TRIALS)),
        }
        for name, value in expected.items():
            assert result[f"{label}.{name}"] == pytest.approx(value, rel=1e-10, abs=1e-15), name
    # the PME rate is the herald-weighted PME probability times the rate: a hand check of the pooling
    assert result["alice-bob.pme_rate_hz"] == pytest.approx(
        result["alice-bob.pme_probability"] * result["alice-bob.herald_probability"] * rate_hz, rel=1e-10)


def test_exact_loop_seed_comes_from_the_task_seed(network):
    """Default residual_seed = "task": same seed, same result; another seed moves only the loop's residual."""
    spec = ExactCompute(links=("alice-bob",), residual_trials=LOOP_TRIALS)
    first, again = compute_task(spec, network, task_seed(1)), compute_task(spec, network, task_seed(1))
    other = compute_task(spec, network, task_seed(2))
    assert first == again
    assert first["alice-bob.write_residual_deg"] != other["alice-bob.write_residual_deg"]
    assert first["alice-bob.fidelity"] != other["alice-bob.fidelity"]
    # the loop kind runs the same loop on the same seed
    loop = compute_task(LoopCompute(links=("alice-bob",), trials=LOOP_TRIALS, experiment="storage_5us"),
                        network, task_seed(1))
    assert loop["alice-bob.write_residual_deg"] == first["alice-bob.write_residual_deg"]
    # σ/√(2N) ≈ 1.6 % at 2,000 trials: two seeds agree within 10 % (a loose two-sided sanity bound)
    assert other["alice-bob.write_residual_deg"] == pytest.approx(first["alice-bob.write_residual_deg"], rel=0.1)


def test_exact_all_links_and_aggregates(network):
    """links = "all" is every pair on the server; min./max. are the min and max over them of every figure."""
    spec = parse_compute_table({"kind": "exact", "links": "all", "residual_trials": LOOP_TRIALS,
                                "figures": ["zz"]})
    result = compute_task(spec, network, task_seed(3))
    assert set(per_link(result, "fidelity")) == set(PAIRS)
    for name in spec.figure_names:
        values = list(per_link(result, name).values())
        assert result[f"min.{name}"] == min(values) and result[f"max.{name}"] == max(values), name
    assert json.loads(json.dumps(result, allow_nan=False)) == result  # plain JSON scalars, no NaN


def test_exact_names_a_link_without_heralds():
    """No photons and no noise: nothing heralds, so no figure is defined; the refusal names the link."""
    dark = load_preset("hefei2024", overrides=[parse_override(text) for text in (
        "nodes.charlie.excitation_probability=0", "nodes.bob.excitation_probability=0",
        "server.snspd_dark_count_rate_hz=0", "nodes.*.qfc_noise_rate_hz=0")])
    spec = ExactCompute(links=("alice-bob", "bob-charlie"), residual_trials=LOOP_TRIALS)
    with pytest.raises(UndefinedEstimate, match="^link bob-charlie: Z basis: no heralded trials"):
        compute_task(spec, dark, task_seed(0))


def test_aggregates_are_absent_when_a_link_is():
    links = {"a-b": {"f": 0.5, "g": 1.0}, "b-c": {"f": None, "g": 3.0}}
    assert aggregates(links, ("f", "g")) == {"min.f": None, "max.f": None, "min.g": 1.0, "max.g": 3.0}


def test_sign_weighted_mean_and_its_stderr_by_hand():
    """w = n₊/n; Var = w₊²σ₊² + w₋²σ₋² + (f₊ − f₋)² w₊w₋/n (binomial spread of the weights)."""
    mean, error = sign_mean_stderr([0.8, 0.6], [0.02, 0.04], [30, 10])
    assert mean == pytest.approx(0.75)
    assert error == pytest.approx(math.sqrt(0.75**2 * 0.02**2 + 0.25**2 * 0.04**2 + 0.2**2 * 0.75 * 0.25 / 40))
    assert sign_mean_stderr([0.8, None], [0.02, None], [30, 0]) == (pytest.approx(0.8), pytest.approx(0.02))
    assert sign_mean([0.8, None], [0.3, 0.1]) is None  # a sign with heralds but no figure: absent, not half a mean


# --- simulate ---------------------------------------------------------------------------------------


def simulate(network, seed, **options):
    table = {"kind": "simulate", "residual_trials": LOOP_TRIALS, "links": ["alice-bob"], **options}
    return compute_task(parse_compute_table(table), network, seed)


def test_simulate_is_deterministic_per_seed_and_per_link(network):
    first = simulate(network, task_seed(4), trials=300_000, links=["alice-bob", "bob-charlie"])
    assert first == simulate(network, task_seed(4), trials=300_000, links=["alice-bob", "bob-charlie"])
    other = simulate(network, task_seed(5), trials=300_000, links=["alice-bob", "bob-charlie"])
    assert first["alice-bob.herald_probability"] != other["alice-bob.herald_probability"]
    # a link's stream does not depend on the other links the task lists
    alone = simulate(network, task_seed(4), trials=300_000, links=["alice-bob"])
    assert {k: v for k, v in first.items() if k.startswith("alice-bob.")} == \
        {k: v for k, v in alone.items() if k.startswith("alice-bob.")}
    for name in SimulateCompute(trials=2).figure_names:
        values = [v for v in per_link(first, name).values()]
        if all(v is not None for v in values):
            assert first[f"min.{name}"] == min(values) and first[f"max.{name}"] == max(values)
        else:
            assert first[f"min.{name}"] is None
    assert first["alice-bob.trials"] == 300_000


def test_simulate_herald_probability_has_the_binomial_stderr(network):
    result = simulate(network, task_seed(6), trials=200_000, chunks=3)
    p, n = result["alice-bob.herald_probability"], result["alice-bob.trials"]
    assert n == 600_000
    assert result["alice-bob.herald_probability_stderr"] == pytest.approx(math.sqrt(p * (1 - p) / n), rel=1e-9)
    assert (p * n) == pytest.approx(round(p * n), abs=1e-6)  # a count over the trials


def test_simulate_agrees_with_exact_within_five_sigma(network):
    """Both kinds map the task's links with the same loop seed, so the Monte Carlo estimates the exact figures."""
    seed = task_seed(13)
    exact = compute_task(ExactCompute(links=("alice-bob",), residual_trials=LOOP_TRIALS), network, seed)
    sampled = simulate(network, seed, trials=4_000_000)
    for name in ("herald_probability", "entangling_rate_hz", "pme_rate_hz", "fidelity"):
        value, error = sampled[f"alice-bob.{name}"], sampled[f"alice-bob.{name}_stderr"]
        assert error > 0 and abs(value - exact[f"alice-bob.{name}"]) < 5 * error, name


def test_target_stderr_stops_at_the_first_chunk_below_target(network):
    """Stops after k chunks: binomial stderr of the counts < target there, >= after k−1 chunks; equals chunks = k."""
    chunk, target = 200_000, 3.2e-5
    result = simulate(network, task_seed(7), trials=chunk, max_trials=10 * chunk,
                      target_stderr={"figure": "herald_probability", "value": target})
    n = result["alice-bob.trials"]
    k = n // chunk
    assert n == k * chunk and 1 < k < 10 and result["alice-bob.target_reached"] == 1
    p = result["alice-bob.herald_probability"]
    assert math.sqrt(p * (1 - p) / n) < target
    before = simulate(network, task_seed(7), trials=chunk, chunks=k - 1)
    q = before["alice-bob.herald_probability"]
    assert math.sqrt(q * (1 - q) / ((k - 1) * chunk)) >= target
    fixed = simulate(network, task_seed(7), trials=chunk, chunks=k)
    assert {key: value for key, value in result.items() if not key.endswith("target_reached")} == fixed


def test_target_stderr_stops_at_max_trials(network):
    result = simulate(network, task_seed(8), trials=100_000, max_trials=350_000,
                      target_stderr={"figure": "herald_probability", "value": 1e-9})
    assert result["alice-bob.trials"] == 300_000 and result["alice-bob.target_reached"] == 0


# --- network and loop -------------------------------------------------------------------------------


def test_network_rates_are_heralds_over_the_run(network):
    """Σ trials = slots × floor(timeslot × rate); rate × duration is a whole number of heralds; Poisson error."""
    spec = parse_compute_table({"kind": "network", "hours": 0.05, "residual_trials": LOOP_TRIALS,
                                "policy": "round-robin", "figures": ["schedule_rate_hz"]})
    result = compute_task(spec, network, task_seed(9))
    assert result == compute_task(spec, network, task_seed(9))
    timeslot_s, rate_hz = network.server.timeslot_s, network.experiments["storage_5us"].repetition_rate_hz
    slots = math.ceil(0.05 * 3600 / timeslot_s)
    per_slot = math.floor(timeslot_s * rate_hz * (1 + 1e-12))
    trials = per_link(result, "trials")
    assert sum(trials.values()) == slots * per_slot
    assert sorted(trials.values()) == sorted([per_slot * (slots // 3 + (i < slots % 3)) for i in range(3)])
    duration_s = slots * timeslot_s
    for label in PAIRS:
        heralds = result[f"{label}.rate_hz"] * duration_s
        assert heralds == pytest.approx(round(heralds), abs=1e-6)
        assert result[f"{label}.rate_hz_stderr"] == pytest.approx(math.sqrt(max(round(heralds), 1)) / duration_s)
    other = compute_task(spec, network, task_seed(10))
    assert any(result[f"{label}.rate_hz"] != other[f"{label}.rate_hz"] for label in PAIRS)


def test_network_link_never_connected_has_rate_zero_and_no_figures(network):
    """One slot (3.6 s < a 5.8 s timeslot), round robin: only the first pair runs."""
    spec = parse_compute_table({"kind": "network", "hours": 0.001, "residual_trials": LOOP_TRIALS,
                                "policy": "round-robin"})
    result = compute_task(spec, network, task_seed(9))
    trials = per_link(result, "trials")
    assert sorted(trials.values()) == [0, 0, math.floor(network.server.timeslot_s * 2760.0 * (1 + 1e-12))]
    idle = [label for label, count in trials.items() if count == 0]
    for label in idle:
        assert result[f"{label}.rate_hz"] == 0.0 and result[f"{label}.fidelity"] is None
        assert result[f"{label}.rate_hz_stderr"] == pytest.approx(1 / network.server.timeslot_s)
    assert result["min.rate_hz"] == 0.0 and result["min.fidelity"] is None


def test_loop_kind_is_seeded_and_deterministic(network):
    spec = LoopCompute(trials=LOOP_TRIALS)
    first = compute_task(spec, network, task_seed(11))
    assert first == compute_task(spec, network, task_seed(11))
    assert first != compute_task(spec, network, task_seed(12))
    values = per_link(first, "write_residual_deg")
    assert set(values) == set(PAIRS)
    assert first["min.write_residual_deg"] == min(values.values())


# --- the spec -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [
    {"kind": "exact"},
    {"kind": "exact", "links": ["bob-alice"], "experiment": "storage_107us", "figures": ["zz"], "residual_seed": 7},
    {"kind": "simulate", "trials": 1000, "target_stderr": {"figure": "fidelity", "value": 0.01}, "max_trials": 10**6},
    {"kind": "network", "hours": 2.0, "policy": "round-robin"},
    {"kind": "loop", "trials": 5000},
])
def test_spec_round_trips_pickles_and_has_an_identity(table):
    spec = parse_compute_table(table)
    assert parse_compute_table(compute_table(spec)) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert strong_id(spec) == strong_id(parse_compute_table(dict(table)))
    assert spec.kind == table["kind"]


def test_spec_identity_differs_between_specs():
    assert strong_id(ExactCompute()) != strong_id(ExactCompute(residual_seed=1))
    assert strong_id(LoopCompute()) != strong_id(ExactCompute())


@pytest.mark.parametrize("table, field, words", [
    ({"kind": "exactly"}, "compute.kind", "allowed: exact, simulate, network, loop"),
    ({}, "compute.kind", "missing"),
    ({"kind": "exact", "trials": 10}, "compute", "unknown key(s) 'trials'"),
    ({"kind": "exact", "residual_trails": 10}, "compute", "did you mean 'residual_trials'"),
    ({"kind": "exact", "figures": ["fidelty"]}, "compute.figures", "'fidelty' is not a figure of the exact kind"),
    ({"kind": "loop", "figures": ["fidelity"]}, "compute", "unknown key(s) 'figures'"),
    ({"kind": "exact", "links": "alice-bob"}, "compute.links", "\"all\" or a list"),
    ({"kind": "exact", "links": ["alice-bob", "alice-bob"]}, "compute.links", "listed twice"),
    ({"kind": "exact", "residual_seed": True}, "compute.residual_seed", "True"),
    ({"kind": "exact", "residual_trials": 1}, "compute.residual_trials", "at least 2"),
    ({"kind": "simulate", "trials": 0}, "compute.trials", ">= 1"),
    ({"kind": "simulate", "trials": 10, "target_stderr": {"figure": "fidelity", "value": 0.1}},
     "compute.max_trials", "missing"),
    ({"kind": "simulate", "trials": 10, "max_trials": 100, "target_stderr": {"figure": "p00", "value": 0.1}},
     "compute.target_stderr.figure", "allowed: herald_probability"),
    ({"kind": "simulate", "trials": 10, "max_trials": 100, "target_stderr": {"figure": "fidelity", "value": 0}},
     "compute.target_stderr.value", "outside the allowed range"),
    ({"kind": "simulate", "trials": 10, "max_trials": 100, "target_stderr": {"figure": "fidelity"}},
     "compute.target_stderr.value", "missing"),
    ({"kind": "network", "hours": 1, "policy": "fifo"}, "compute.policy", "allowed: qrng, round-robin"),
    ({"kind": "network", "hours": -1}, "compute.hours", "outside the allowed range"),
])
def test_refusals_name_the_key_and_what_is_allowed(table, field, words):
    with pytest.raises(ConfigError) as refused:
        parse_compute_table(table)
    assert refused.value.field == field and words in str(refused.value)
    assert str(refused.value).startswith(field) and "\n" not in str(refused.value)


@pytest.mark.parametrize("table, words", [
    ({"kind": "exact", "links": ["alice-dave"]}, "'alice-dave' is not a link of network 'hefei2024'"),
    ({"kind": "simulate", "trials": 10, "links": ["alice-alice"]}, "is not a link"),
    ({"kind": "exact", "experiment": "fig2"}, "allowed: storage_5us, storage_107us"),
    ({"kind": "network", "hours": 0.01, "experiment": "nope"}, "allowed: storage_5us, storage_107us"),
])
def test_refusals_against_the_network(network, table, words):
    with pytest.raises(ConfigError) as refused:
        compute_task(parse_compute_table(table), network, task_seed(0))
    assert refused.value.field in ("compute.links", "compute.experiment") and words in str(refused.value)
