"""The network in operation: the switch's shares, each link's rate and figures (metroqnet.experiments.network_run).

Sources: the rate a schedule predicts is the fixed link's herald probability (the exact engine,
independent of the sampler) times the link's trials; heralds are binomial, so counts are checked
two-sided at 5σ. That switching adds no decoherence is checked against the fixed link's exact figures.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from metroqnet.cli.main import main
from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_preset
from metroqnet.experiments.network_run import run_network, trials_per_slot
from metroqnet.link.evaluate import evaluate_link

HEFEI = load_preset("hefei2024")
LINKS = ("alice-bob", "alice-charlie", "bob-charlie")


@pytest.fixture(scope="module")
def qrng_run():
    return run_network(HEFEI, hours=2.0, seed=11, experiment="storage_5us", residual_trials=20_000)


def test_trials_per_slot_is_the_whole_trials_of_a_timeslot():
    # 5.8 s at 2.76 kHz: 16 008 trials exactly (the paper's slot and rate)
    assert trials_per_slot(5.8, 2760.0) == 16008
    assert trials_per_slot(1.0, 2.5) == 2
    with pytest.raises(ConfigError, match="timeslot_s"):
        trials_per_slot(0.1, 5.0)


def test_every_slot_goes_to_one_link_and_the_shares_are_the_schedules(qrng_run):
    schedule = qrng_run.schedule
    assert tuple(qrng_run.links) == LINKS
    assert sum(link.slots for link in qrng_run.links.values()) == schedule.slot_total
    for index, label in enumerate(LINKS):
        link = qrng_run.links[label]
        assert link.slots == int(np.sum(schedule.pair == index))
        assert link.trials == link.slots * qrng_run.trials_per_slot
        assert link.heralds_per_slot.size == link.slots
        assert link.heralds == int(link.record.counts.sum())
        # the schedule's prediction: the fixed link's rate times the link's share of the run's slots
        assert link.schedule_rate_hz == pytest.approx(link.fixed_link_rate_hz * schedule.time_share[index], rel=1e-12)


def test_each_link_runs_at_its_share_of_the_fixed_links_rate(qrng_run):
    for label in LINKS:
        link = qrng_run.links[label]
        probability = evaluate_link(link.params).herald_probability  # exact engine, not the sampler
        expected = probability * link.trials
        assert abs(link.heralds - expected) < 5 * math.sqrt(expected * (1 - probability))
        # about one third: with 1242 slots the QRNG's share of each pair is 1/3 ± 0.013 (binomial sd)
        share = link.slots / qrng_run.schedule.slot_total
        assert abs(share - 1 / 3) < 5 * math.sqrt((1 / 3) * (2 / 3) / qrng_run.schedule.slot_total)


def test_switching_adds_no_decoherence_alice_bob_equals_the_fixed_link():
    # Alice-Bob in network operation against the exact figures of the same link connected all the time.
    run = run_network(HEFEI, hours=9.0, seed=5, experiment="storage_5us", policy="round-robin",
                      residual_trials=20_000)
    link = run.links["alice-bob"]
    exact = evaluate_link(link.params)
    assert link.slots == run.schedule.slot_total // 3 + (run.schedule.slot_total % 3 > 0)
    compared = 0
    for sign in ("plus", "minus"):
        figures, errors = link.analysis.figures[sign], link.analysis.figures_stderr[sign]
        for name in ("p00", "p01", "p11", "xx", "yy", "fidelity", "concurrence", "atomic_concurrence"):
            expected = getattr(exact.figures[sign], name, None)
            if expected is None or name not in figures or not np.isfinite(figures[name]):
                continue
            assert abs(figures[name] - expected) < 5 * errors[name], (sign, name, figures[name], expected)
            compared += 1
    assert compared >= 14  # 3 h of Alice-Bob: every figure but minus's zz-based fidelity is defined


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    first = run_network(HEFEI, hours=0.2, seed=3, experiment="storage_5us", residual_trials=20_000).as_dict()
    again = run_network(HEFEI, hours=0.2, seed=3, experiment="storage_5us", residual_trials=20_000).as_dict()
    other = run_network(HEFEI, hours=0.2, seed=4, experiment="storage_5us", residual_trials=20_000).as_dict()
    assert json.dumps(first) == json.dumps(again)
    assert json.dumps(first) != json.dumps(other)


def test_a_stabilization_experiment_or_bad_hours_are_refused():
    with pytest.raises(ConfigError, match="experiment"):
        run_network(HEFEI, hours=1.0, seed=1, experiment="fig2")
    with pytest.raises(ConfigError, match="hours"):
        run_network(HEFEI, hours=-1.0, seed=1, experiment="storage_5us")
    with pytest.raises(ConfigError, match="policy"):
        run_network(HEFEI, hours=1.0, seed=1, experiment="storage_5us", policy="lottery")


def test_cli_network_json_has_every_link_with_its_rate_and_figures(capsys):
    assert main(["network", "--hours", "0.5", "--seed", "7", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document["links"]) == set(LINKS)
    for link in document["links"].values():
        for key in ("slots", "trials", "heralds", "rate_hz", "rate_hz_stderr", "fixed_link_rate_hz"):
            assert key in link
        for sign in ("plus", "minus"):
            # figures the counts define, each with its standard error (undefined ones are left out, with a note)
            assert "p00" in link[sign] and "p00_stderr" in link[sign]
            assert "concurrence" in link["fixed_link"][sign]


@pytest.mark.parametrize(("argv", "field"), [
    (["--policy", "lottery"], "--policy"),
    (["--hours", "0"], "--hours"),
    (["--hours", "ten"], "--hours"),
    (["--seed", "-3"], "--seed"),
    (["--experiment", "fig2"], "--experiment"),
    (["--experiment", "storage_9us"], "--experiment"),
])
def test_cli_network_refuses_bad_arguments_in_one_line(capsys, argv, field):
    assert main(["network", *argv]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and field in error and "Traceback" not in error


def test_cli_network_out_writes_the_run_and_refuses_a_full_folder(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["network", "--hours", "0.2", "--seed", "7", "--out", str(folder)]) == 0
    assert {path.name for path in folder.iterdir()} == {"network.json", "schedule.csv", "counts.csv"}
    schedule = (folder / "schedule.csv").read_text().splitlines()
    assert schedule[0] == "slot,start_s,link" and len(schedule) == 1 + math.ceil(0.2 * 3600 / 5.8)
    assert main(["network", "--hours", "0.2", "--seed", "7", "--out", str(folder)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["analyze", str(folder / "counts.csv"), "--link", "alice-bob", "--json"]) == 0


def test_a_request_queue_is_served_in_order_then_the_switch_idles(capsys):
    argv = ["network", "--policy", "requests", "--requests", "alice-bob,charlie-bob,alice-bob", "--hours", "0.01",
            "--seed", "1", "--json"]
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    # 0.01 h = 36 s: 7 slots of 5.8 s; three requests, then four idle slots; the pair never asked for is absent
    assert document["slots"] == 7 and document["idle_slots"] == 4
    assert {label: link["slots"] for label, link in document["links"].items()} == {"alice-bob": 2, "bob-charlie": 1}


@pytest.mark.parametrize(("argv", "message"), [
    (["--policy", "requests"], "missing"),
    (["--requests", "alice-bob"], "needs --policy requests"),
    (["--policy", "requests", "--requests", "alice-dave"], "'alice-dave' is not a link"),
    (["--policy", "requests", "--requests", "alice-alice"], "'alice-alice' is not a link"),
])
def test_a_bad_request_queue_is_refused_in_one_line(capsys, argv, message):
    assert main(["network", *argv]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--requests" in error and message in error


def test_cli_theta_scan_at_charlie_leaves_alice_bob_flat_and_writes_its_files(tmp_path, capsys):
    folder = tmp_path / "scan"
    argv = ["network", "--hours", "0.1", "--seed", "3", "--theta-scan", "--theta-trials", "2e6", "--json",
            "--out", str(folder)]
    assert main(argv) == 0
    scan = json.loads(capsys.readouterr().out)["theta_scan"]
    assert scan["node"] == "charlie" and len(scan["thetas_rad"]) == 13
    # exact: a phase at Charlie cannot reach the Alice-Bob state (docs/theta_scan.md); the others oscillate
    flat = scan["links"]["alice-bob"]["plus"]["xx_exact"]
    assert max(flat) - min(flat) < 1e-12
    swing = scan["links"]["alice-charlie"]["plus"]["xx_exact"]
    assert max(swing) - min(swing) > 0.5
    assert {"theta_scan.csv", "theta_scan.json", "network.json"} <= {path.name for path in folder.iterdir()}


def test_cli_theta_scan_refuses_an_unknown_node(capsys):
    assert main(["network", "--theta-scan", "--theta-node", "dave"]) == 2
    assert "--theta-node" in capsys.readouterr().err


def test_cli_drift_tracks_each_pair_with_its_calibration_in_its_slots(tmp_path, capsys):
    folder = tmp_path / "drift"
    assert main(["network", "--hours", "0.1", "--seed", "2", "--drift", "--json", "--out", str(folder)]) == 0
    links = json.loads(capsys.readouterr().out)["links"]
    for link in links.values():
        drift = link["drift"]
        # about a third of the time calibrating (a lone slot's last partial window runs no estimate)
        assert 0.1 < drift["calibration_share"] < 0.5
        # the fixed link and the shared calibration track the same drift to the same scale (tens of Hz here;
        # the paper's bound is 150 Hz over 76 h)
        assert drift["max_abs_residual_hz"] < 150 and drift["fixed_link_max_abs_residual_hz"] < 150
    header = (folder / "drift.csv").read_text().splitlines()[0]
    assert header == "link,time_h,drift_hz,compensation_hz,residual_hz"


def test_cli_drift_refuses_a_run_too_short_to_track(capsys):
    assert main(["network", "--hours", "0.0005", "--drift"]) == 2
    assert "--hours" in capsys.readouterr().err


def test_cli_table1_gives_the_twelve_published_values_beside_the_model(capsys):
    assert main(["network", "--hours", "0.05", "--seed", "4", "--table1", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["table1"]
    published = {(row["link"], row["figure"]) for row in table["rows"] if row["paper"] is not None}
    # Table 1: C and C~ for both signs on three links (the paper's 12 values)
    assert len(published) == 12
    assert {figure for _, figure in published} == {"C_plus", "C_minus", "Ct_plus", "Ct_minus"}
    simulated = [row for row in table["rows"] if row["source"] == "simulated" and row["paper"] is not None]
    assert len(simulated) == 12 and all(row["model_stderr"] > 0 for row in simulated)
    # Fig. 4c,d: the model's correlators and fidelities with no published value, and the note says why
    assert any(row["figure"] == "F_plus" and row["paper"] is None for row in table["rows"])
    assert any("not in the text" in note for note in table["notes"])
