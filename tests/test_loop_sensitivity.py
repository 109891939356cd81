"""The sensitivity table of the residual phase (docs/control_noise.md): its shape and the directions it must show."""

from __future__ import annotations

import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset
from metroqnet.config.seeds import seed_record
from metroqnet.experiments.loop_sensitivity import LOOP_INPUTS, LoopInput, sensitivity_table
from metroqnet.experiments.phase_stabilization import residual_phase, stabilization_setup

NET = load_preset("hefei2024")
SETUP = stabilization_setup(NET)


@pytest.fixture(scope="module")
def table():
    return sensitivity_table(SETUP, trials=60_000, seed=9)


def test_table_has_a_row_per_input_at_the_preset_and_both_ends(table):
    assert [row.input for row in table.rows] == list(LOOP_INPUTS)
    base = residual_phase(SETUP, trials=60_000, seed=9)
    for row in table.rows:
        assert row.input.low <= row.preset <= row.input.high
        # the middle column is the preset's own run: every row shares it (the same seed throughout)
        assert row.measured_deg[1] == base.measured_std_deg and row.write_deg[1] == base.std_deg
        assert all(0.0 < value < 104.0 for value in (*row.measured_deg, *row.write_deg))  # below uniform's 103.9°
        owner = NET.node("alice") if row.input.owner == "nodes" else NET.server
        assert row.preset == getattr(owner, row.input.fields[0])
    assert table.two_rounds == (base.measured_std_deg, base.std_deg)  # the preset runs two rounds
    assert (table.trials, table.seed) == (60_000, seed_record(9))
    text = table.markdown()
    assert text.count("\n") == len(LOOP_INPUTS) + 2
    assert all(row.input.name in text for row in table.rows) and "probe rounds" in text


def test_table_moves_the_way_the_physics_says(table):
    # Declared directions (LOOP_INPUTS): more coherent lasers, more photons, a higher visibility and a more
    # efficient detector lower σ; a wider white floor (at the same coherence time: more diffusion between trials)
    # and more acoustic noise raise it. Common random numbers make these differences far larger than the draws'.
    for row in table.rows:
        low, _, high = row.write_deg
        if row.input.direction:
            assert (high - low) * row.input.direction > 0, row.input.name
    one_round, two_rounds = table.one_round, table.two_rounds
    assert one_round[1] > two_rounds[1]  # the second round helps (the paper: "for better performance")


def test_inputs_apply_to_every_node_or_the_server():
    coherence = LOOP_INPUTS[0]
    changed = coherence.apply(NET, 2.0)
    assert all(node.laser_coherence_time_ms == node.pump_laser_coherence_time_ms == 2.0 for node in changed.nodes.values())
    assert NET.node("alice").laser_coherence_time_ms == 1.0  # the network itself is not changed
    with pytest.raises(ConfigError, match="owner"):
        LoopInput("x", "nowhere", ("y",), "", 0.0, 1.0, "").apply(NET, 1.0)
    with pytest.raises(ConfigError, match="trials"):
        sensitivity_table(SETUP, trials=1, seed=1)
