"""The calibration (docs/calibration.md): priors as data, the numbers of the likelihood, PSIS and leverage against
closed forms, the forward model against the one mapping, the file, determinism, the command line; recovery of known
values from synthetic published numbers (slow)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from metroqnet.cli.main import main
from metroqnet.config.calibration_file import (
    FORMAT,
    Calibration,
    calibration_text,
    read_calibration,
    write_calibration,
)
from metroqnet.config.errors import ConfigError
from metroqnet.config.presets import load_network_file, load_preset, preset_text
from metroqnet.config.published import PublishedExperiment, PublishedLink, PublishedValue
from metroqnet.experiments.calibration import (
    SamplerSettings,
    calibrate,
    calibration_file,
    calibration_setup,
    calibration_targets,
    with_values,
)
from metroqnet.experiments.calibration.leave_one_out import TWO_SIGMA, predictive, psis
from metroqnet.experiments.calibration.model import LinkSetting
from metroqnet.experiments.calibration.posterior import leverages
from metroqnet.experiments.link_setup import experiment_link_parameters, write_residual_std_rad
from metroqnet.link.evaluate import evaluate_link
from metroqnet.physics.mapping import herald_mode_overlap

PRESET = preset_text("hefei2024")[0]
#: A quick run: few walkers and steps, a loop table of 2 points (the ends of the prior).
QUICK = SamplerSettings(walkers=26, steps=10, refit_steps=6)
QUICK_GRID = 2


@pytest.fixture(scope="module")
def hefei():
    return load_preset("hefei2024")


def load_changed(tmp_path, old: str, new: str):
    assert PRESET.count(old) == 1, old
    path = tmp_path / "net.toml"
    path.write_text(PRESET.replace(old, new))
    return load_network_file(path)


def prior_line(key: str) -> str:
    return next(line for line in PRESET.splitlines() if line.startswith(f'"{key}" = {{'))


# --- priors as data -------------------------------------------------------------------------------


def test_the_preset_declares_its_priors_and_the_links_it_fits(hefei):
    priors = hefei.calibration.priors
    # One per-node imperfection, each node's write-out overlap, lets Table 1's three links differ; the rest is shared.
    assert {"nodes.alice.writeout_mode_overlap", "nodes.bob.writeout_mode_overlap",
            "nodes.charlie.writeout_mode_overlap"} <= set(priors) and "nodes.*.writeout_mode_overlap" not in priors
    assert [key for key in priors if key.startswith("nodes.") and not key.startswith("nodes.*.")] == [
        "nodes.alice.writeout_mode_overlap", "nodes.bob.writeout_mode_overlap", "nodes.charlie.writeout_mode_overlap"]
    assert len({(p.low, p.high, p.scale) for key, p in priors.items() if key.endswith(".writeout_mode_overlap")}) == 1
    assert "server.herald_window_ns" in priors
    assert "experiments.storage_107us.herald_transmission_scale" in priors
    # The loop's calibrated input is the lasers' coherence time (the pumps follow it); the fibres' acoustic
    # variance stays at its estimate.
    assert "nodes.*.laser_coherence_time_ms" in priors and "nodes.*.fibre_acoustic_variance_rad2_per_km" not in priors
    for prior in priors.values():
        assert prior.low < prior.high and prior.reason.strip()
    # All of Table 1 is in the likelihood now that the nodes can differ (the AB-only fit had no per-node value).
    assert hefei.calibration.links == ("alice-bob", "alice-charlie", "bob-charlie")
    assert "per-node" in hefei.calibration.links_reason


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ('"nodes.alice.writeout_mode_overlap" =', '"nodes.alice.writeout_mode_overlapp" =',
         ["calibration.priors.nodes.alice.writeout_mode_overlapp", "'writeout_mode_overlapp' is not a numeric field of "
          "nodes", "did you mean 'writeout_mode_overlap'"]),
        ('"server.herald_window_ns" =', '"server.phase_residual_std_deg" =',
         ["'phase_residual_std_deg' is not a numeric field of server", "numeric fields are"]),
        ('"nodes.alice.writeout_mode_overlap" =', '"nodes.dave.writeout_mode_overlap" =', ["'dave' is not a node"]),
        ('"server.herald_window_ns" =', '"switch.herald_window_ns" =', ["is not a key path of a hardware value"]),
        ('"experiments.storage_107us.herald_transmission_scale" =', '"experiments.storage_9us.herald_transmission_scale" =',
         ["'storage_9us' is not a declared experiment"]),
        ('"experiments.storage_107us.herald_transmission_scale" =', '"experiments.storage_107us.kind" =',
         ["'kind' is not a numeric field of experiments"]),
        ('alice.writeout_mode_overlap" = { low = 0.3, high = 1.0,', 'alice.writeout_mode_overlap" = { low = 1.0, high = 0.3,',
         ["writeout_mode_overlap", "low 1.0 must be below high 0.3"]),
        ('alice.writeout_mode_overlap" = { low = 0.3, high = 1.0,', 'alice.writeout_mode_overlap" = { low = 0.3, high = 1.2,',
         ["writeout_mode_overlap.high", "1.2 is outside the allowed range [0, 1] (the field's own range)"]),
        ('probe_mean_photon_number" = { low = 0.005,', 'probe_mean_photon_number" = { low = 0.0,',
         ["probe_mean_photon_number.low", "a log-uniform prior needs low > 0"]),
        ('alice.writeout_mode_overlap" = { low = 0.3, high = 1.0, scale = "linear"',
         'alice.writeout_mode_overlap" = { low = 0.3, high = 1.0, scale = "cubic"', ["scale", "'cubic' is not one of"]),
        ('alice.writeout_mode_overlap" = { low = 0.3, high = 1.0, scale = "linear",',
         'alice.writeout_mode_overlap" = { low = 0.3, high = 1.0, scale = "linear", mean = 0.5,', ["unknown key(s) 'mean'"]),
        (prior_line("nodes.alice.writeout_mode_overlap"),
         '"nodes.alice.writeout_mode_overlap" = { low = 0.3, high = 1.0, scale = "linear" }',
         ["writeout_mode_overlap", "missing reason"]),
        ('alice.writeout_mode_overlap" = { low = 0.3, high = 1.0,', 'alice.writeout_mode_overlap" = { low = "a", high = 1.0,',
         ["writeout_mode_overlap.low", "expected a finite number, got 'a'"]),
        ("[calibration.priors]", "[calibration.prior]", ["unknown key(s) 'prior'", "did you mean 'priors'"]),
        ('links = ["alice-bob", "alice-charlie",', 'links = ["alice-bob", "alice-dave",',
         ["calibration.links", "'alice-dave' is not a published link"]),
        ('{ as = "experiments.storage_5us.heralding_probability"', '{ as = "experiments.storage_5us.heralding_prob"',
         ["same_measurement", "'experiments.storage_5us.heralding_prob' is not a published number"]),
    ],
)
def test_a_bad_prior_is_refused_naming_the_key_the_value_and_what_is_allowed(tmp_path, old, new, fragments):
    with pytest.raises(ConfigError) as caught:
        load_changed(tmp_path, old, new)
    message = str(caught.value)
    assert "net.toml" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_two_priors_on_one_value_are_refused(tmp_path):
    line = prior_line("nodes.*.probe_mode_overlap")
    with pytest.raises(ConfigError, match="set the same value twice"):
        load_changed(tmp_path, line, line + "\n" + line.replace("nodes.*.", "nodes.alice."))
    # A shared prior beside the per-node ones on the same field sets Alice's overlap twice.
    line = prior_line("nodes.alice.writeout_mode_overlap")
    with pytest.raises(ConfigError, match="set the same value twice"):
        load_changed(tmp_path, line, line + "\n" + line.replace("nodes.alice.", "nodes.*."))


def test_a_prior_on_a_run_setting_is_refused(tmp_path):
    line = prior_line("server.herald_window_ns")
    network = load_changed(tmp_path, line, line + '\n"experiments.storage_5us.storage_us" = '
                           '{ low = 1.0, high = 10.0, scale = "linear", reason = "a test" }')
    with pytest.raises(ConfigError, match="storage_us is a run's setting, not an estimated value"):
        calibration_setup(network, grid_points=QUICK_GRID)


def test_two_priors_on_the_loop_are_refused(tmp_path):
    line = prior_line("server.herald_window_ns")
    network = load_changed(tmp_path, line, line + '\n"nodes.*.fibre_acoustic_variance_rad2_per_km" = '
                           '{ low = 0.0005, high = 0.05, scale = "log", reason = "a test" }')
    with pytest.raises(ConfigError, match="all change the phase loop"):
        calibration_setup(network, grid_points=QUICK_GRID)


def test_a_network_without_priors_has_nothing_to_calibrate(tmp_path):
    text = PRESET[: PRESET.index("[calibration]")]
    path = tmp_path / "plain.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"no \[calibration.priors\]"):
        calibration_setup(load_network_file(path))


# --- the numbers in the likelihood ------------------------------------------------------------------


def test_the_numbers_fitted_and_the_numbers_only_predicted(hefei):
    targets = calibration_targets(hefei)
    fitted = [t for t in targets if t.fitted]
    # SPEC §3 at 5 µs and 107 µs (6 each), Table 1's C and C~ of all three links (12), the 17° of Fig. 2b: 25.
    assert len(fitted) == 25
    assert sum(t.in_likelihood for t in targets) == 23  # the two entangling rates recompute the heralding
    rates = [t for t in fitted if t.key.endswith("entangling_rate_hz")]
    assert [t.same_as for t in rates] == [
        "experiments.storage_5us.heralding_probability", "experiments.storage_107us.heralding_probability"]
    assert all(t.fitted for t in targets)  # per-node write-out overlaps: no published link left out of the fit
    table1 = [t for t in fitted if t.key.startswith("links.")]
    assert {(t.setting, t.nodes, t.experiment) for t in table1} == {
        ("table1 alice-bob", ("alice", "bob"), "storage_5us"), ("table1 alice-charlie", ("alice", "charlie"), "storage_5us"),
        ("table1 bob-charlie", ("bob", "charlie"), "storage_5us")}
    stated = {t.key for t in fitted if t.error_source == "stated"}
    assert "experiments.fig2.residual_phase_std_deg" in stated
    assert "experiments.storage_5us.pme_fidelity_plus" not in stated  # the paper prints 0.672(32)


def test_a_fitted_number_without_an_error_is_refused(tmp_path):
    old = 'pme_rate_hz = { value = 0.013, error = 0.001, error_reason = "'
    line = next(line for line in PRESET.splitlines() if line.startswith(old))
    network = load_changed(tmp_path, line, 'pme_rate_hz = { value = 0.013, where = "main text" }')
    with pytest.raises(ConfigError, match="storage_5us.pme_rate_hz: 0.013 has no error"):
        calibration_targets(network)


# --- PSIS, leverage and the predictive distribution against closed forms ---------------------------------


def test_psis_leave_one_out_matches_the_conjugate_normal_and_flags_the_number_that_pins_the_mean():
    # Flat prior, y_j ~ N(θ, s_j): the posterior and every leave-one-out posterior are normal, in closed form.
    rng = np.random.default_rng(20240)
    y, s = np.array([0.3, 0.1, -0.5, 0.8, 0.2]), np.array([0.1, 1.0, 1.0, 1.0, 1.0])
    w = 1 / s**2
    theta = rng.normal((w * y).sum() / w.sum(), w.sum() ** -0.5, 40_000)
    for left_out in range(5):
        weights, k_hat = psis(0.5 * ((theta - y[left_out]) / s[left_out]) ** 2)
        others = np.arange(5) != left_out
        mean = (w[others] * y[others]).sum() / w[others].sum()
        sd = w[others].sum() ** -0.5
        if left_out == 0:
            assert k_hat > 0.7  # y_0 alone pins θ: reweighting cannot reach the wider posterior
            continue
        assert k_hat < 0.5
        estimate = float(np.dot(weights, theta))
        spread = math.sqrt(float(np.dot(weights, (theta - estimate) ** 2)))
        # 40 000 draws: the weighted mean's error is ~sd/200; 5 of those, two-sided.
        assert abs(estimate - mean) < 5 * sd / 200
        assert spread == pytest.approx(sd, rel=0.03)


def test_leverage_is_each_numbers_share_of_the_information():
    # One parameter: h_i = w_i / (Σ w + prior precision).
    weighted = np.array([[10.0], [1.0], [1.0], [2.0]])
    h = leverages(weighted, prior_precision=12.0)
    assert h == pytest.approx(weighted[:, 0] ** 2 / (np.sum(weighted**2) + 12.0), rel=1e-12)
    assert h[0] > 0.5 > h[1]


def test_predictive_interval_of_one_model_value_is_the_numbers_own_error(hefei):
    target = next(t for t in calibration_targets(hefei) if t.key == "experiments.storage_5us.pme_fidelity_plus")
    row = predictive(target, np.array([0.7]), None, method="test", pareto_k=None)
    assert row.mean == 0.7 and row.sd == pytest.approx(target.error)
    assert row.low_2sigma == pytest.approx(0.7 + norm.ppf(TWO_SIGMA[0]) * target.error, abs=1e-9)
    assert row.high_68 == pytest.approx(0.7 + target.error, abs=1e-5)
    assert row.z == pytest.approx((target.value - 0.7) / target.error)
    assert row.inside_2sigma


# --- the forward model against the one mapping ------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_setup(hefei):
    return calibration_setup(hefei, grid_points=QUICK_GRID)


def test_the_model_gives_what_the_mapping_and_the_loop_give_at_a_grid_point(hefei, quick_setup):
    model = quick_setup.model
    unit = np.full(model.dimension, 0.4)
    unit[model.loop_index] = 1.0  # a grid point of the loop table: no interpolation
    network = with_values(hefei, model.values_at(unit))
    predicted = model.predict(unit[None, :])
    for experiment in ("storage_5us", "storage_107us"):
        params = experiment_link_parameters(network, experiment)
        fitted = model.link_parameters_at(unit, LinkSetting(experiment, ("alice", "bob")))
        # The table interpolates (PCHIP) even at a knot: equal to the last bits.
        assert fitted.to_mapping() == pytest.approx(params.to_mapping(), rel=1e-14)
        result = evaluate_link(params)
        assert predicted.values[f"experiments.{experiment}.heralding_probability"][0] == pytest.approx(
            result.herald_probability, rel=1e-12)
        assert predicted.values[f"experiments.{experiment}.pme_fidelity_minus"][0] == pytest.approx(
            result.figures["minus"].fidelity, rel=1e-12)
        assert predicted.values[f"experiments.{experiment}.pme_rate_hz"][0] == pytest.approx(
            result.pme_rate_hz, rel=1e-12)
    table = quick_setup.table
    for setting, values in table.write_rad.items():
        # The very run every command makes at that value (its trials, its seed): equal to the last bits.
        assert values[-1] == pytest.approx(
            write_residual_std_rad(network, *setting[0], repetition_rate_hz=setting[1]), rel=1e-14)


def test_each_nodes_overlap_moves_only_the_links_of_that_node(hefei, quick_setup):
    """Charlie's write-out overlap changes AC's and BC's Table 1 numbers, never AB's; each as the mapping gives it."""
    model = quick_setup.model
    keys = [p.key for p in model.priors]
    low, high = np.full(model.dimension, 0.5), np.full(model.dimension, 0.5)
    low[keys.index("nodes.charlie.writeout_mode_overlap")] = 0.1
    high[keys.index("nodes.charlie.writeout_mode_overlap")] = 0.9
    predicted = model.predict(np.array([low, high])).values
    for link in ("alice-bob", "alice-charlie", "bob-charlie"):
        values = predicted[f"links.{link}.concurrence_plus"]
        if link == "alice-bob":
            assert values[0] == values[1]
        else:
            assert values[1] > values[0] * 1.2  # a larger overlap, more coherence: C rises
        # The same number from the one mapping and the loop run, with the values set in the network.
        nodes = tuple(link.split("-"))
        network = with_values(hefei, model.values_at(high))
        params = model.link_parameters_at(high, LinkSetting("storage_5us", nodes))
        assert params.herald_mode_overlap_x == herald_mode_overlap(network.nodes[nodes[0]])
        assert params.herald_mode_overlap_y == herald_mode_overlap(network.nodes[nodes[1]])
        assert values[1] == pytest.approx(evaluate_link(params).figures["plus"].concurrence, rel=1e-12)
    assert with_values(hefei, model.values_at(high)).nodes["charlie"].writeout_mode_overlap == pytest.approx(0.3 + 0.9 * 0.7)


def test_a_point_the_mapping_refuses_has_no_probability(quick_setup):
    model = quick_setup.model
    unit = np.full(model.dimension, 0.5)
    scale = [p.key for p in model.priors].index("experiments.storage_107us.herald_transmission_scale")
    outside = unit.copy()
    outside[scale] = 1.5  # outside the box
    log_prob, predictions = quick_setup.posterior.evaluate(np.array([unit, outside]))
    assert np.isfinite(log_prob[0]) and log_prob[1] == -np.inf and np.isnan(predictions[1]).all()


# --- the file ----------------------------------------------------------------------------------------------


def test_format_1_files_are_still_read(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "metroqnet-calibration/1", "network": "hefei2024", "procedure": "a procedure",
                                "values": {"nodes.*.writeout_mode_overlap": {"value": 0.8, "reason": "old fit"}}}))
    calibration = read_calibration(path)
    assert calibration.values == {"nodes.*.writeout_mode_overlap": (0.8, "old fit")} and not calibration.report


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d.update(fit=[1]), "fit: expected a JSON object, got list"),
        (lambda d: d.update(extra={}), "unknown key(s) 'extra'"),
        (lambda d: d["leave_one_out"]["rows"][0].update(mean="x"), "leave_one_out.rows[0].mean: expected int or float"),
        (lambda d: d["leave_one_out"]["rows"][0].pop("inside_2sigma"), "rows[0].inside_2sigma: expected bool, got None"),
        (lambda d: d.update(format="metroqnet-calibration/9"), "is not one of 'metroqnet-calibration/1'"),
    ],
)
def test_a_malformed_report_is_refused(tmp_path, change, fragment):
    document = {
        "format": FORMAT, "network": "hefei2024", "procedure": "p",
        "values": {"server.herald_window_ns": {"value": 250.0, "reason": "r"}}, "fit": {},
        "leave_one_out": {"rows": [{"key": "k", "label": "l", "setting": "s", "paper": 1.0, "method": "psis",
                                    "mean": 1.0, "sd": 0.1, "low_68": 0.9, "high_68": 1.1, "low_2sigma": 0.8,
                                    "high_2sigma": 1.2, "inside_2sigma": True}]},
    }
    change(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError) as caught:
        read_calibration(path)
    assert fragment in str(caught.value) and str(path) in str(caught.value)


def test_a_report_round_trips_and_writes_no_nan(tmp_path):
    calibration = Calibration(network="hefei2024", procedure="p", values={"server.herald_window_ns": (250.0, "r")},
                              report={"diagnostics": {"tau": float("nan"), "list": [float("inf"), 1.5]}})
    path = tmp_path / "c.json"
    write_calibration(path, calibration)
    back = read_calibration(path)
    assert back.report["diagnostics"] == {"tau": None, "list": [None, 1.5]}
    assert calibration_text(back) == path.read_text()


# --- the whole procedure: same seed, same file ---------------------------------------------------------


@pytest.mark.slow  # three runs, ~12 s (the command line's same-seed check runs in the default suite)
def test_the_same_seed_gives_the_same_file_and_another_seed_another(hefei):
    first = calibration_text(calibration_file(calibrate(hefei, seed=11, settings=QUICK, grid_points=QUICK_GRID)))
    again = calibration_text(calibration_file(calibrate(hefei, seed=11, settings=QUICK, grid_points=QUICK_GRID)))
    other = calibration_text(calibration_file(calibrate(hefei, seed=12, settings=QUICK, grid_points=QUICK_GRID)))
    assert first == again
    assert first != other
    document = json.loads(first)
    assert document["format"] == FORMAT and document["settings"]["seed"] == 11
    assert set(document["values"]) == set(hefei.calibration.priors)
    assert document["leave_one_out"]["numbers"] == 25 and document["not_fitted"]["rows"] == []


def test_leave_one_link_out_refits_each_link_without_any_of_its_numbers(hefei, tmp_path):
    from metroqnet.cli.calibration_tables import format_calibration_report

    result = calibrate(hefei, seed=11, settings=QUICK, grid_points=QUICK_GRID, links_out=True)
    rows = result.links_out
    # Table 1: four numbers per link (C and C~ for both signs), each link refitted once without its four.
    assert [row.key for row in rows] == [t.key for t in result.targets if t.key.startswith("links.")]
    assert len(rows) == 12 and {row.method for row in rows} == {"refit, link left out"}
    assert [r["link"] for r in result.links_out_refits] == ["alice-bob", "alice-charlie", "bob-charlie"]
    assert all(len(r["left_out"]) == 4 for r in result.links_out_refits)
    path = tmp_path / "c.json"
    write_calibration(path, calibration_file(result))
    back = read_calibration(path)
    block = back.report["leave_one_out"]["links_out"]
    assert block["numbers"] == 12 and block["inside_2sigma"] == sum(row.inside_2sigma for row in rows)
    assert "Leave-one-link-out" in format_calibration_report(back)
    # Without it the file has no such block (a run without --links-out writes the same bytes as before).
    plain = calibration_file(calibrate(hefei, seed=11, settings=QUICK, grid_points=QUICK_GRID))
    assert "links_out" not in plain.report["leave_one_out"]


# --- the command line, end to end on a small run ------------------------------------------------------


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


SMALL_RUN = ["--walkers", "26", "--steps", "10", "--refit-steps", "6"]


@pytest.fixture(scope="module")
def calibrate_json(tmp_path_factory):
    """A small run of ``calibrate --json``: the file it wrote and what it printed."""
    path = tmp_path_factory.mktemp("calibrate") / "calibration.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["calibrate", "--out", str(path), *SMALL_RUN, "--json"]) == 0
    return path, printed.getvalue()


@pytest.fixture(scope="module")
def calibration_path(calibrate_json):
    return calibrate_json[0]


def test_calibrate_writes_a_file_every_command_applies(calibration_path, capsys):
    document = json.loads(calibration_path.read_text())
    assert document["settings"] == {**document["settings"], "walkers": 26, "steps": 10, "burn_in": 3, "refit_steps": 6}
    status, out, _ = run(["preset", "show", "hefei2024", "--calibration", str(calibration_path), "--json"], capsys)
    assert status == 0
    rows = {row["key"]: row for row in json.loads(out)["values"]}
    for key, entry in document["values"].items():
        assert rows[key]["source"] == "calibrated" and rows[key]["value"] == pytest.approx(entry["value"])
        assert "MAP of metroqnet calibrate (seed 2024)" in rows[key]["reason"]
    status, out, _ = run(["link", "--preset", "hefei2024", "--nodes", "alice,bob", "--calibration",
                          str(calibration_path), "--json"], capsys)
    assert status == 0 and json.loads(out)["herald_probability"] > 0


def test_reproduce_with_the_file_shows_the_leave_one_out_prediction(calibration_path, capsys):
    status, out, _ = run(["reproduce", "--calibration", str(calibration_path), "--json"], capsys)
    assert status == 0
    rows = json.loads(out)
    predicted = [row for row in rows if "predicted" in row]
    assert len(predicted) == 25  # every fitted number, Table 1's three links among them
    assert {row["predicted"]["method"] for row in predicted} <= {"psis", "refit"}
    assert {row["experiment"] for row in predicted if row["experiment"].startswith("table1")} == {
        "table1 alice-bob", "table1 alice-charlie", "table1 bob-charlie"}
    status, out, _ = run(["reproduce", "--calibration", str(calibration_path)], capsys)
    assert status == 0 and "predicted" in out and "leave-one-out" in out


def test_calibrate_prints_the_report_tables_and_the_same_seed_writes_the_same_file(calibrate_json, capsys, tmp_path):
    path, printed = calibrate_json
    assert json.loads(printed) == json.loads(path.read_text())  # --json prints the file
    again = tmp_path / "again.json"
    status, out, err = run(["calibrate", "--out", str(again), *SMALL_RUN], capsys)
    assert status == 0 and f"wrote {again}" in err
    assert again.read_bytes() == path.read_bytes()  # same seed (2024), same file
    for heading in ("Posterior of the estimated values", "Fit at the MAP", "FITTED, not predictions",
                    "Identifiability: Fisher eigendirections", "Link quantities over the posterior",
                    "Leave-one-out", "inside 2σ: ", "Table 1, every link", "The storage_107us run",
                    "writeout_mode_overlap[charlie]"):
        assert heading in out, heading
    assert "Outside the fit" not in out  # every published number is in the fit


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--walkers", "5"], "--walkers: 5 is not allowed; an even number >= 4 is"),
        (["--walkers", "24"], "--walkers: 24 is too few for 13 estimated values; the ensemble sampler needs at least "
         "twice as many walkers as values (26)"),
        (["--walkers", "2"], "--walkers: '2' is outside the allowed range [4,"),
        (["--steps", "1"], "--steps: '1' is outside the allowed range [2,"),
        (["--steps", "10", "--burn-in", "10"], "--burn-in: 10 must be below steps (10)"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_calibrate_refuses_bad_sampler_options_in_one_line(options, fragment, capsys, tmp_path):
    status, out, err = run(["calibrate", "--out", str(tmp_path / "c.json"), *options], capsys)
    assert status == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.json").exists()


def test_reproduce_calibrate_fits_the_map_and_says_it_is_fitted(capsys):
    status, out, _ = run(["reproduce", "--calibrate"], capsys)
    assert status == 0
    assert "as estimated" in out and "FITTED, not predicted" in out and "metroqnet calibrate --out FILE" in out
    status, out, _ = run(["reproduce", "--calibrate", "--json"], capsys)
    document = json.loads(out)
    assert set(document) == {"calibration", "estimated", "calibrated"}
    assert "fitted, not predicted" in document["calibration"]["method"]


# --- recovery of known values (slow) ------------------------------------------------------------------------

TRUTH = {
    "nodes.*.writeout_collection_efficiency": 0.25,
    "nodes.alice.writeout_mode_overlap": 0.9,
    "nodes.bob.writeout_mode_overlap": 0.7,
    "nodes.charlie.writeout_mode_overlap": 0.5,
    "nodes.*.retrieval_efficiency_zero_storage": 0.5,
    "nodes.*.probe_mean_photon_number": 0.03,
    "nodes.*.probe_mode_overlap": 0.85,
    "nodes.*.memory_lifetime_us": 250.0,
    "nodes.*.memory_decay_exponent": 1.5,
    "nodes.*.spin_wave_detuning_rms_hz": 100.0,
    "nodes.*.laser_coherence_time_ms": 2.0,
    "server.herald_window_ns": 300.0,
    "experiments.storage_107us.herald_transmission_scale": 1.1,
}


def synthetic(network, values: dict[str, float]):
    """``network`` with its published numbers replaced by the given ones (errors kept)."""
    published = network.published

    def replaced(figures, prefix: str, skip: tuple[str, ...]):
        changes = {}
        for field in dataclasses.fields(figures):
            key = f"{prefix}.{field.name}"
            if field.name not in skip and key in values:
                changes[field.name] = dataclasses.replace(getattr(figures, field.name), value=values[key])
        return dataclasses.replace(figures, **changes)

    experiments = {name: replaced(e, f"experiments.{name}", ("name",)) for name, e in published.experiments.items()}
    links = {name: replaced(link, f"links.{name}", ("nodes",)) for name, link in published.links.items()}
    assert all(isinstance(e, PublishedExperiment) for e in experiments.values())
    assert all(isinstance(link, PublishedLink) for link in links.values())
    return dataclasses.replace(network, published=dataclasses.replace(published, experiments=experiments, links=links))


@pytest.mark.slow
def test_known_values_are_recovered_from_synthetic_published_numbers(hefei):
    """The published numbers replaced by the model's own at known values, plus noise of their errors (seeded)."""
    setup = calibration_setup(hefei)
    unit = np.array([prior.to_unit(TRUTH[prior.key]) for prior in setup.priors])
    exact = setup.full_model.predict(unit[None, :]).values
    rng = np.random.default_rng(99)
    noisy = {t.key: float(exact[t.key][0]) + (t.error or 0.0) * float(rng.standard_normal())
             for t in setup.targets}
    for target in setup.targets:  # a number that recomputes another is that number recomputed, not new noise
        if target.same_as is not None:
            source = next(t for t in setup.targets if t.key == target.same_as)
            noisy[target.key] = noisy[source.key] / float(exact[source.key][0]) * float(exact[target.key][0])
    network = synthetic(hefei, noisy)
    result = calibrate(network, seed=7, settings=SamplerSettings(walkers=32, steps=800))

    # Every value: the truth within four half-widths of the 68 % interval around the median (two-sided).
    for marginal in result.marginals:
        prior = next(p for p in result.priors if p.key == marginal.key)
        truth, median = prior.to_unit(TRUTH[marginal.key]), prior.to_unit(marginal.median)
        half = 0.5 * (prior.to_unit(marginal.high_68) - prior.to_unit(marginal.low_68))
        assert abs(truth - median) <= 4 * half + 1e-9, marginal
    # The determined link quantities are recovered tightly: the truth within four half-widths.
    truth_links = {s: setup.model.link_parameters_at(unit, s) for s in setup.model.link_settings}
    from metroqnet.experiments.calibration.identifiability import LINK_QUANTITIES

    readers = dict(LINK_QUANTITIES)
    for quantity in result.link_quantities:
        # A quantity's setting names the experiment and the node pair ("storage_5us bob-charlie (5 us)"): three
        # links share the 5 µs run's settings now.
        setting = next(s for s in setup.model.link_settings
                       if quantity.setting.startswith(f"{s.experiment} {'-'.join(s.nodes)} "))
        truth = readers[quantity.name](truth_links[setting])
        half = 0.5 * (quantity.high_68 - quantity.low_68)
        assert abs(truth - quantity.median) <= 4 * half + 1e-12, quantity
    # Leave-one-out: each number predicted without it. With data drawn from the model, a number lies in its 2σ
    # interval with probability 0.954; 25 numbers (correlated; 23.9 expected): at least 21.
    inside, total = result.inside_2sigma()
    assert total == 25 and inside >= 21
    for row in result.leave_one_out:
        assert abs(row.z) < 4, row


@pytest.mark.slow
def test_psis_agrees_with_an_exact_refit_where_it_is_trusted(hefei):
    """For a low-leverage number, the reweighted posterior predicts what a refit without the number predicts."""
    from metroqnet.config.seeds import child, generator
    from metroqnet.experiments.calibration.leave_one_out import leave_one_out
    from metroqnet.experiments.calibration.posterior import fisher_matrix, maximum_posterior
    from metroqnet.experiments.calibration.procedure import preset_unit
    from metroqnet.experiments.calibration.sampling import laplace_start, run_chain

    setup = calibration_setup(hefei)
    posterior = setup.posterior
    best = maximum_posterior(posterior, starts=[preset_unit(setup)], rng=generator(child(5, 0)))
    settings = SamplerSettings(walkers=32, steps=900, refit_steps=900)
    start = laplace_start(best.unit, fisher_matrix(posterior, best.unit), 32, generator(child(5, 1)), posterior)
    chain = run_chain(posterior, start, settings=settings, seed=child(5, 2))
    key = "experiments.storage_5us.pme_fidelity_plus"
    forced = np.zeros(len(posterior.keys))
    forced[posterior.keys.index(key)] = 1.0  # above the limit: refit this one
    refit, _ = leave_one_out(posterior, chain, settings=settings, seed=child(5, 3), leverage=forced,
                             refit_limit=math.inf)
    reweighted, _ = leave_one_out(posterior, chain, settings=settings, seed=child(5, 3),
                                  leverage=np.zeros(len(posterior.keys)), refit_limit=math.inf)
    a = next(p for p in refit if p.key == key)
    b = next(p for p in reweighted if p.key == key)
    assert a.method == "refit" and b.method == "psis"
    assert abs(a.mean - b.mean) < 0.25 * a.sd
    assert b.sd == pytest.approx(a.sd, rel=0.15)


def test_published_values_keep_their_errors_in_a_synthetic_network(hefei):
    network = synthetic(hefei, {"experiments.storage_5us.pme_rate_hz": 0.02})
    value = network.published.experiments["storage_5us"].pme_rate_hz
    assert isinstance(value, PublishedValue) and value.value == 0.02 and value.error == 0.001


def test_the_command_lines_defaults_are_the_librarys():
    from metroqnet.cli.main import DEFAULT_SAMPLER

    defaults = SamplerSettings()
    assert DEFAULT_SAMPLER == {"walkers": defaults.walkers, "steps": defaults.steps}
