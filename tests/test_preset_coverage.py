"""Every value of the Hefei preset is used by a model: perturbing it changes an output.

Outputs (each a model's result, not a copy of the value): the exact figures of every
node pair at every declared link experiment's settings (with the phase loop's residual at
the write) and the node-server round trips; the
structure function of every pair's laser and fibre phase noise; every node's Fig. 3b HOM curve; and, for the values
that touch only the loop, a short run of the phase stabilization and of the drift
tracking, and for the server's timeslot a short network run. A value that no model reads yet must say so in its tag (``reserved``,
naming the open work that will read it).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.listing import value_rows
from metroqnet.config.presets import Override, load_preset
from metroqnet.experiments.phase_stabilization import (
    drift_tracking,
    residual_phase,
    stabilization_setup,
    tracking_trials,
)
from metroqnet.link.evaluate import evaluate_link
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.experiments.hom_fig3b import run_fig3b
from metroqnet.experiments.network_run import run_network
from metroqnet.physics.mapping import round_trip_us
from metroqnet.physics.noise_mapping import link_phase_noise

PRESET = "hefei2024"
LAGS_S = np.array([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1.0, 100.0])


def link_outputs(network) -> list[object]:
    out: list[object] = []
    for experiment in network.experiments_of_kind("link"):
        for x, y in itertools.combinations(network.nodes, 2):
            params = experiment_link_parameters(network, experiment.name, nodes=(x, y))
            out.append(evaluate_link(params).as_dict())
    out += [round_trip_us(node) for node in network.nodes.values()]
    for x, y in itertools.combinations(network.nodes, 2):
        out.append(link_phase_noise(network, x, y).structure_function_rad2(LAGS_S).tolist())
    for name in network.nodes:  # Fig. 3b's HOM curve, g2 against detuning (MHz)
        hom = run_fig3b(network, node=name)
        out.append([hom.curve_mhz.tolist(), hom.curve_g2.tolist()])
    return out


def loop_outputs(network) -> list[object]:
    setup = stabilization_setup(network)
    residual = residual_phase(setup, trials=20_000, seed=1)
    tracking = drift_tracking(setup, hours=0.02, seed=2)
    return [
        residual.std_deg, residual.measured_std_deg, residual.at_write.histogram.tolist(),
        tracking.drift_hz.tolist(), tracking.compensation_hz.tolist(), tracking.temperature_c.tolist(),
        tracking_trials(setup, setup.duration_h),
    ]


def network_outputs(network) -> list[object]:
    """A short network run: the slots, each link's share and heralds (the timeslot is read only here)."""
    run = run_network(network, hours=0.05, seed=3, experiment="storage_5us", residual_trials=20_000)
    return [run.schedule.slot_total, run.trials_per_slot,
            [(label, link.slots, link.trials, link.heralds) for label, link in run.links.items()]]


def perturbations(value: object) -> list[object]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):  # probe rounds
        return [value - 1, value + 1]
    if isinstance(value, float):
        return [value * 1.1, value * 0.9] if value else [0.1, 1.0]
    raise AssertionError(f"no perturbation for {value!r}")


def keys_of(row) -> list[str]:
    """A value shared by every node is perturbed node by node: each node's value must count."""
    if not row.key.startswith("nodes.*."):
        return [row.key]
    field = row.key.removeprefix("nodes.*.")
    return [f"nodes.{name}.{field}" for name in load_preset(PRESET).nodes]


ROWS = [row for row in value_rows(load_preset(PRESET)) if row.source is not None]
CASES = [(key, row) for row in ROWS if row.reserved is None for key in keys_of(row)]


@pytest.fixture(scope="module")
def reference():
    network = load_preset(PRESET)
    return {"link": link_outputs(network), "loop": loop_outputs(network), "network": network_outputs(network)}


@pytest.mark.parametrize("key, row", CASES, ids=[key for key, _ in CASES])
def test_perturbing_a_value_changes_an_output(key, row, reference):
    for value in perturbations(row.value):
        try:
            network = load_preset(PRESET, overrides=[Override(key=key, value=value)])
        except ConfigError:
            continue  # outside the value's allowed range: try the other direction
        break
    else:
        pytest.fail(f"{key}: no allowed perturbation of {row.value!r}")
    assert network != load_preset(PRESET)
    if link_outputs(network) != reference["link"] or loop_outputs(network) != reference["loop"]:
        return
    assert network_outputs(network) != reference["network"], f"{key} = {row.value!r}: no model output depends on it"


def test_values_no_model_reads_are_reserved_for_named_work():
    reserved = [row for row in ROWS if row.reserved is not None]
    assert [row.key for row in reserved] == ["topology.servers.server.switch_outputs"]
    assert all("issue" in row.reserved for row in reserved)


def test_the_coverage_cases_span_the_whole_preset():
    # Nodes, topology, server, drift and experiments all appear (so a new section cannot slip past this test).
    sections = {key.split(".")[0] for key, _ in CASES}
    assert sections == {"nodes", "topology", "server", "drift", "experiments"}
    assert len(CASES) >= 90
