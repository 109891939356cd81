"""Fig. 2a on the twin: the trial sequence is read from the network (paper: Fig. 2a caption; main text's two
storage times and rates), not written in the plotting code."""

from __future__ import annotations

import dataclasses

import pytest

from metroqnet.config.presets import load_preset
from metroqnet.experiments.trial_timing_plot import draw_trial_timing, trial_sequence
from metroqnet.physics.trial_timing import fit_cycle


@pytest.fixture(scope="module")
def hefei():
    return load_preset("hefei2024")


def test_sequence_is_the_papers(hefei):
    """Fig. 2a: 2 × (4 + 2) + 5 = 17 µs to the write; 5 µs reads before the herald is back (2·10 km·5 µs/km),
    107 µs after it."""
    sequence = trial_sequence(hefei, ("alice", "bob"))
    short, long = sequence.lanes.values()
    assert (short.storage_us, long.storage_us) == (5.0, 107.0)
    assert (short.readout_mode, long.readout_mode) == ("delayed-choice", "after-herald")
    events = short.event_times_us()
    assert events["probe_1_start"] == 0.0 and events["write"] == 17.0
    assert events["herald_at_server"] == 17.0 + 50.0 and events["herald_at_node"] == 17.0 + 100.0
    # The hatched block is T0 − 17 µs, T0 fitted to 2.76 kHz at 5 µs and 1.03 kHz at 107 µs.
    fitted = fit_cycle(2760.0, 5.0, 1030.0, 107.0).fixed_duration_us
    assert sequence.fitted_fixed_us == pytest.approx(fitted, rel=1e-12)
    assert events["trial_end"] == pytest.approx(fitted + 5.0, rel=1e-12)
    assert long.event_times_us()["trial_end"] == pytest.approx(fitted + 107.0, rel=1e-12)


def test_sequence_follows_the_network(hefei):
    """Other server and fibre values move the drawing's times: nothing is written in the plotting code."""
    network = dataclasses.replace(hefei, server=hefei.server.replace(probe_duration_us=3.0, probe_rounds=1))
    network = dataclasses.replace(network, nodes={**network.nodes,
                                                  "bob": network.node("bob").replace(fibre_length_km=12.0)})
    sequence = trial_sequence(network, ("alice", "bob"))
    assert sequence.node == "bob"  # the longer round trip
    events = next(iter(sequence.lanes.values())).event_times_us()
    assert events["write"] == 3.0 + 2.0 + 5.0
    assert events["herald_at_node"] - events["write"] == pytest.approx(120.0, rel=1e-12)


def test_without_two_storages_no_fitted_block(hefei):
    """One link experiment: no fit, so no read-out block (the paper does not give it)."""
    network = dataclasses.replace(hefei, experiments={name: experiment for name, experiment in hefei.experiments.items()
                                                      if name != "storage_107us"})
    sequence = trial_sequence(network, ("alice", "bob"))
    assert sequence.fitted_fixed_us is None and list(sequence.lanes) == ["storage_5us"]
    assert next(iter(sequence.lanes.values())).readout_overhead_us == 0.0
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    figure = Figure()
    zoom, whole = figure.subplots(1, 2)
    draw_trial_timing(zoom, whole, sequence)
    labels = [text.get_text() for text in whole.get_legend().get_texts()]
    assert labels and not any("reset" in label for label in labels)
