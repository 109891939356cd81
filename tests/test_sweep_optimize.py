"""Design optimisation (metroqnet.sweeps.optimize) on cases whose answer is known without the optimiser.

References: a rate increasing in χ puts the unconstrained optimum on the range's upper bound;
with a fidelity floor the optimum is the largest χ where the fidelity equals the floor, found
here by root-finding on the engine directly (brentq on evaluate_links of the link parameters,
without the optimiser's sampling, networks or gradients).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset, parse_override
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.link.batch import evaluate_links
from metroqnet.link.evaluate import evaluate_link
from metroqnet.sweeps.optimize import optimize_design, parse_optimize_table
from metroqnet.sweeps.optimize_figures import result_names
from metroqnet.sweeps.optimize_spec import Variable

CHI = {"low": 0.002, "high": 0.05, "scale": "log"}


@functools.lru_cache(maxsize=None)
def _network(items: tuple[tuple[str, float], ...]):
    return load_preset("hefei2024", overrides=[parse_override(f"{key}={value!r}") for key, value in items])


def network_at(settings):
    return _network(tuple(sorted(settings.items())))


def spec_of(**table):
    table.setdefault("variables", {"nodes.*.excitation_probability": CHI})
    return parse_optimize_table(table)


@functools.lru_cache(maxsize=None)
def base_link():
    return experiment_link_parameters(load_preset("hefei2024"), "storage_5us")


def reference_fidelity(chi: float) -> float:
    """The herald-weighted fidelity of the Alice-Bob link at χ, from one engine call on its parameters."""
    result = evaluate_link(base_link().replace(excitation_probability_x=chi, excitation_probability_y=chi))
    plus, minus = result.herald_probability_plus, result.herald_probability_minus
    return (plus * result.figures["plus"].fidelity + minus * result.figures["minus"].fidelity) / (plus + minus)


def test_unconstrained_rate_optimum_is_the_upper_bound():
    # Precondition, checked independently: the PME rate increases with χ over the whole range.
    chi = np.geomspace(CHI["low"], CHI["high"], 200)
    rates = evaluate_links({"excitation_probability": chi}, base=base_link()).pme_rate_hz
    assert np.all(np.diff(rates) > 0)
    result = optimize_design(spec_of(maximize="alice-bob.pme_rate_hz", links=["alice-bob"], samples=32),
                             network_at, seed=1)
    assert result.found and result.feasible_count == 32
    assert result.optimum_settings["nodes.*.excitation_probability"] == pytest.approx(CHI["high"], rel=1e-9)
    assert result.objective_value == pytest.approx(rates[-1], rel=1e-9)
    assert result.objective_value >= result.samples_figures["alice-bob.pme_rate_hz"].max()


def test_minimising_the_noise_share_also_goes_to_the_upper_bound():
    chi = np.geomspace(CHI["low"], CHI["high"], 200)
    noise = evaluate_links({"excitation_probability": chi}, base=base_link()).noise_herald_fraction
    assert np.all(np.diff(noise) < 0)  # precondition: more signal, smaller noise share
    result = optimize_design(spec_of(minimize="min.noise_herald_fraction", links=["alice-bob"], samples=16),
                             network_at, seed=3)
    assert result.optimum_settings["nodes.*.excitation_probability"] == pytest.approx(CHI["high"], rel=1e-9)
    assert result.objective_value == pytest.approx(noise[-1], rel=1e-9)


def test_fidelity_floor_is_active_at_the_optimum_and_beats_every_feasible_sample():
    floor = 0.72
    # Reference: the fidelity rises then falls with χ (noise heralds at small χ, multi-pairs at large χ);
    # the rate rises, so the optimum is the upper root of F(χ) = floor.
    grid = np.geomspace(CHI["low"], CHI["high"], 60)
    peak = float(grid[np.argmax([reference_fidelity(c) for c in grid])])
    root = brentq(lambda c: reference_fidelity(c) - floor, peak, CHI["high"], xtol=1e-14, rtol=1e-13)
    spec = spec_of(maximize="alice-bob.pme_rate_hz", constraints=[f"alice-bob.fidelity >= {floor}"],
                   links=["alice-bob"], samples=64)
    result = optimize_design(spec, network_at, seed=2024)
    assert result.optimum_source == "refined" and result.refinement_improved
    chi = result.optimum_settings["nodes.*.excitation_probability"]
    assert chi == pytest.approx(root, rel=1e-6)
    assert result.optimum_figures["alice-bob.fidelity"] == pytest.approx(floor, abs=1e-8)
    feasible_rates = result.samples_figures["alice-bob.pme_rate_hz"][result.feasible]
    assert 0 < feasible_rates.size < 64
    assert result.objective_value > feasible_rates.max()
    # Feasible is exactly F >= floor on the samples; the best feasible sample is on the (rate, F) front.
    fidelity = result.samples_figures["alice-bob.fidelity"]
    np.testing.assert_array_equal(result.feasible, fidelity >= floor)
    assert result.on_front[result.best_sample]
    # The front, in order of rising rate, has falling fidelity (a trade-off, no dominated point).
    order = result.front
    rates = result.samples_figures["alice-bob.pme_rate_hz"][order]
    assert np.all(np.diff(rates) >= 0) and np.all(np.diff(fidelity[order]) <= 0)


def test_figures_follow_the_sweep_conventions():
    spec = spec_of(maximize="min.pme_rate_hz", samples=4, refine=False,
                   variables={"nodes.*.excitation_probability": CHI,
                              "nodes.*.probe_mean_photon_number": {"low": 0.005, "high": 0.1, "scale": "log"}})
    calls = []
    result = optimize_design(spec, network_at, seed=5, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4)
    assert result.links == ("alice-bob", "alice-charlie", "bob-charlie")
    figures = result.samples_figures
    assert set(figures) == set(result_names(result.links))
    for figure in ("pme_rate_hz", "fidelity", "concurrence", "herald_probability"):
        stacked = np.column_stack([figures[f"{link}.{figure}"] for link in result.links])
        np.testing.assert_array_equal(figures[f"min.{figure}"], stacked.min(axis=1))
        np.testing.assert_array_equal(figures[f"max.{figure}"], stacked.max(axis=1))
    # Sample 2's Alice-Charlie figures by hand: its network, one link evaluated alone, signs weighted by P±.
    settings = {key: float(values[2]) for key, values in result.samples_settings.items()}
    alone = evaluate_link(experiment_link_parameters(network_at(settings), "storage_5us", nodes=("alice", "charlie")))
    plus, minus = alone.herald_probability_plus, alone.herald_probability_minus
    concurrence = (plus * alone.figures["plus"].concurrence + minus * alone.figures["minus"].concurrence) / (plus + minus)
    assert figures["alice-charlie.concurrence"][2] == pytest.approx(concurrence, rel=1e-12)
    assert figures["alice-charlie.pme_rate_hz"][2] == pytest.approx(alone.pme_rate_hz, rel=1e-12)
    assert figures["alice-charlie.write_residual_deg"][2] == pytest.approx(
        math.degrees(result.write_residual_rad["alice-charlie"]), rel=1e-15)
    records = result.to_records()
    assert len(records) == 4 and [r["task"] for r in records] == [0, 1, 2, 3]
    assert {"task", "task_id", "runs", "wall_s", "worker", "nodes.*.excitation_probability"} <= set(records[0])
    assert records[2]["nodes.*.probe_mean_photon_number"] == settings["nodes.*.probe_mean_photon_number"]
    assert len({r["task_id"] for r in records}) == 4 and sum(r["optimum"] for r in records) == 1


def test_same_seed_same_result_other_seed_other_samples():
    spec = spec_of(maximize="alice-bob.pme_rate_hz", constraints=["alice-bob.fidelity >= 0.72"],
                   links=["alice-bob"], samples=16)
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("wall_s", "worker")} for r in records]  # noqa: E731
    first = optimize_design(spec, network_at, seed=np.random.SeedSequence(9))
    again = optimize_design(spec, network_at, seed=np.random.SeedSequence(9))
    assert strip(first.to_records()) == strip(again.to_records())
    assert first.summary() == again.summary()
    other = optimize_design(spec, network_at, seed=np.random.SeedSequence(10))
    key = "nodes.*.excitation_probability"
    assert not np.array_equal(first.samples_settings[key], other.samples_settings[key])


def test_no_feasible_point_is_reported_with_the_best_constraint_value_reached():
    spec = spec_of(maximize="alice-bob.pme_rate_hz", constraints=["alice-bob.fidelity >= 0.9"],
                   links=["alice-bob"], samples=16)
    result = optimize_design(spec, network_at, seed=4)
    assert not result.found and result.feasible_count == 0 and result.optimum_settings is None
    best = result.samples_figures["alice-bob.fidelity"].max()
    assert result.best_constraint_values["alice-bob.fidelity"] == best
    assert "no feasible point" in result.summary() and f"{best:.6g}" in result.summary()
    assert not any(r["optimum"] for r in result.to_records())


def test_variable_ranges_map_linearly_and_logarithmically():
    log = Variable(key="nodes.*.excitation_probability", low=0.001, high=0.1, scale="log")
    np.testing.assert_allclose(log.from_unit([0.0, 0.5, 1.0]), [0.001, 0.01, 0.1], rtol=1e-14)
    linear = Variable(key="server.probe_photons_per_node", low=10.0, high=50.0)
    np.testing.assert_allclose(linear.from_unit([0.0, 0.25, 1.0]), [10.0, 20.0, 50.0], rtol=1e-15)
    np.testing.assert_allclose(log.to_unit(log.from_unit([0.3, 0.7])), [0.3, 0.7], rtol=1e-12)


@pytest.mark.parametrize("table, message", [
    ({"maximize": "min.pme_rate_hz", "colour": 1}, "optimize: unknown key(s) 'colour'"),
    ({"maximize": "min.pme_rate_hz", "minimize": "min.fidelity"}, "optimize: give exactly one of maximize"),
    ({"maximize": "min.pme_rate"}, "optimize.maximize: 'min.pme_rate': 'pme_rate' is not a figure"),
    ({"maximize": "pme_rate_hz"}, "optimize.maximize: 'pme_rate_hz' is not a result name"),
    ({"maximize": "min.pme_rate_hz", "constraints": ["min.fidelity > 0.7"]},
     "optimize.constraints[0]: 'min.fidelity > 0.7' is not a constraint"),
    ({"maximize": "min.pme_rate_hz", "constraints": ["min.fidelity >= high"]},
     "optimize.constraints[0]: 'min.fidelity >= high': the bound 'high' is not a finite number"),
    ({"maximize": "min.pme_rate_hz", "variables": {"nodes.*.excitation_probability": {"low": 0.05, "high": 0.05}}},
     "optimize.variables.nodes.*.excitation_probability: low 0.05 must be below high 0.05"),
    ({"maximize": "min.pme_rate_hz",
      "variables": {"nodes.*.excitation_probability": {"low": 0.0, "high": 0.05, "scale": "log"}}},
     "optimize.variables.nodes.*.excitation_probability.low: 0.0 with scale 'log'"),
    ({"maximize": "min.pme_rate_hz",
      "variables": {"nodes.*.excitation_probability": {"low": 0.01, "high": 0.05, "step": 2}}},
     "optimize.variables.nodes.*.excitation_probability: unknown key(s) 'step'"),
    ({"maximize": "min.pme_rate_hz", "variables": {"excitation_probability": CHI}},
     "optimize.variables.excitation_probability: 'excitation_probability' is not a key path"),
    ({"maximize": "min.pme_rate_hz", "samples": 0}, "optimize.samples: 0 is not allowed"),
    ({"maximize": "min.pme_rate_hz", "variables": {}}, "optimize.variables: missing or empty"),
])
def test_table_refusals_are_one_line_naming_the_key(table, message):
    table = dict(table)
    table.setdefault("variables", {"nodes.*.excitation_probability": CHI})
    with pytest.raises(ConfigError) as caught:
        parse_optimize_table(table)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_where_renames_the_table_in_refusals():
    with pytest.raises(ConfigError, match=r"^sweep.toml: optimize.samples: -1 is not allowed"):
        parse_optimize_table({"maximize": "min.pme_rate_hz", "samples": -1,
                              "variables": {"nodes.*.excitation_probability": CHI}}, where="sweep.toml: optimize")


@pytest.mark.parametrize("table, message", [
    ({"maximize": "alice-dave.pme_rate_hz"}, "optimize.maximize: 'alice-dave.pme_rate_hz': 'alice-dave' is not one"),
    ({"maximize": "min.pme_rate_hz", "constraints": ["bob-charlie.fidelity >= 0.7"], "links": ["alice-bob"]},
     "optimize.constraints[0]: 'bob-charlie.fidelity': 'bob-charlie' is not one of the optimised links (alice-bob)"),
    ({"maximize": "min.pme_rate_hz", "links": ["alice-dave"]}, "optimize.links: 'alice-dave' is not a link"),
    ({"maximize": "min.pme_rate_hz", "experiment": "fig2"}, "optimize.experiment: 'fig2' is not a link experiment"),
    ({"maximize": "min.pme_rate_hz", "variables": {"nodes.*.no_such_field": {"low": 1, "high": 2}}},
     "optimize.variables.nodes.*.no_such_field: at nodes.*.no_such_field=1.0: unknown key(s) 'no_such_field'"),
    ({"maximize": "min.pme_rate_hz", "variables": {"server.probe_photons_per_node": {"low": 20, "high": 60}}},
     "optimize.variables.server.probe_photons_per_node: at 20 it changes the phase loop of link alice-bob"),
])
def test_refusals_once_the_network_is_known(table, message):
    table.setdefault("variables", {"nodes.*.excitation_probability": CHI})
    spec = parse_optimize_table({**table, "samples": 2})
    with pytest.raises(ConfigError) as caught:
        optimize_design(spec, network_at, seed=0)
    assert str(caught.value).startswith(message), str(caught.value)
