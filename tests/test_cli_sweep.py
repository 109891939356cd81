"""``metroqnet sweep`` and ``metroqnet plot`` end to end: the store, resuming, the answer, the plots, refusals.

Independent checks: each stored result equals the exact engine's figure for the same network built
with ``--set`` (``load_preset`` + ``parse_override``, not the sweep's own path); the selection's
answer equals a brute-force scan of the table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metroqnet.cli.main import main
from metroqnet.config.presets import load_preset, parse_override
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.link.evaluate import evaluate_link
from metroqnet.sweeps.store import open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sweeps"

GRID = """
[sweep]
name = "cli-grid"
base = "hefei2024"
seed = 3

[compute]
kind = "exact"
links = ["alice-bob"]
residual_seed = 2024

[[vary]]
key = "nodes.*.excitation_probability"
values = [0.005, 0.01, 0.02]

[[vary]]
key = "nodes.alice.fibre_length_km"
values = [5.0, 10.0]

[select]
maximize = "alice-bob.pme_rate_hz"
constraints = ["alice-bob.fidelity >= 0.7"]
"""


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    sweep_file = folder / "grid.toml"
    sweep_file.write_text(GRID)
    store = folder / "store"
    code = main(["sweep", str(sweep_file), "--out", str(store), "--workers", "1"])
    return code, sweep_file, store


def test_each_stored_result_is_the_exact_engine_at_the_same_settings(grid_run):
    code, _, store = grid_run
    assert code == 0
    table = open_store(store).table()
    assert len(table) == 6 and (table["runs"] == 1).all()
    for _, row in table.iterrows():
        network = load_preset("hefei2024", overrides=[
            parse_override(f"nodes.*.excitation_probability={row['nodes.*.excitation_probability']!r}"),
            parse_override(f"nodes.alice.fibre_length_km={row['nodes.alice.fibre_length_km']!r}")])
        # residual_seed = 2024 is the library's own loop seed: the same write residual as the reference path
        result = evaluate_link(experiment_link_parameters(network, "storage_5us"))
        assert row["alice-bob.pme_rate_hz"] == pytest.approx(result.pme_rate_hz, rel=1e-9)
        assert row["alice-bob.herald_probability"] == pytest.approx(result.herald_probability, rel=1e-9)


def test_the_answer_is_the_best_task_meeting_the_constraint(grid_run):
    _, _, store = grid_run
    table = open_store(store).table()
    feasible = table[table["alice-bob.fidelity"] >= 0.7]
    best = json.loads((store / "best.json").read_text())
    assert best["feasible"] == len(feasible) and best["tasks"] == 6
    # the question's own plots, with its constraint: the rate against each setting and the frontier
    plots = {path.name for path in (store / "plots").iterdir()}
    assert {"rate_fidelity_frontier.png", "pme_rate_hz_vs_excitation_probability.png"} <= plots
    assert len(feasible) > 0  # this grid has feasible points (F ≈ 0.72 at χ = 0.005)
    assert best["task"]["alice-bob.pme_rate_hz"] == feasible["alice-bob.pme_rate_hz"].max()


def test_a_rerun_computes_nothing_and_plot_draws_the_curves(grid_run, capsys, tmp_path):
    _, sweep_file, store = grid_run
    capsys.readouterr()
    assert main(["sweep", str(sweep_file), "--out", str(store), "--workers", "1"]) == 0
    assert "0 tasks computed, 6 already in the store" in capsys.readouterr().out
    assert set(open_store(store).table()["runs"]) == {1}
    out = tmp_path / "plots"
    assert main(["plot", str(store), "--out", str(out), "--threshold", "min.fidelity=0.7"]) == 0
    names = {path.name for path in out.iterdir()}
    assert "rate_fidelity_frontier.png" in names and any(name.startswith("pme_rate_hz_vs_") for name in names)
    for path in out.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_another_sweep_into_the_same_store_is_refused_and_the_store_kept(grid_run, capsys, tmp_path):
    _, _, store = grid_run
    other = tmp_path / "other.toml"
    other.write_text(GRID.replace('seed = 3', 'seed = 4'))
    before = open_store(store).table()
    assert main(["sweep", str(other), "--out", str(store)]) == 2
    error = capsys.readouterr().err
    assert "--out" in error and "another --out" in error and error.count("\n") == 1
    assert open_store(store).table().equals(before)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda text: text.replace('kind = "exact"', 'kind = "exakt"'), "compute.kind"),
    (lambda text: text.replace("values = [5.0, 10.0]", "values = [5.0, -1.0]"), "-1.0"),
    (lambda text: text.replace("nodes.alice.fibre_length_km", "nodes.alice.fibre_lenght_km"), "fibre_lenght_km"),
    (lambda text: text.replace("[select]", "[selekt]"), "selekt"),
    (lambda text: text.replace('seed = 3', 'seed = "three"'), "sweep.seed"),
    (lambda text: text + "\n[[vary]\n", "grid.toml"),
    # found when the file is read, not after every task failed (the store would be left under a dead id)
    (lambda text: text.replace('links = ["alice-bob"]', 'links = ["alice-bobb"]'), "compute.links"),
    (lambda text: text.replace("values = [5.0, 10.0]", "values = [5.0, 10.0, 5]"), "given twice"),
    (lambda text: text.replace('maximize = "alice-bob.pme_rate_hz"', 'maximize = "alice-bob.pme_rate"'),
     "select"),
    (lambda text: text.replace('key = "nodes.alice.fibre_length_km"\nvalues = [5.0, 10.0]',
                               'label = "min.fidelity"\nzip = { "nodes.alice.fibre_length_km" = [5.0, 10.0] }'),
     "label"),
])
def test_a_malformed_sweep_file_is_refused_in_one_line_naming_the_field(edit, expected, capsys, tmp_path):
    sweep_file = tmp_path / "grid.toml"
    sweep_file.write_text(edit(GRID))
    store = tmp_path / "store"
    assert main(["sweep", str(sweep_file), "--out", str(store)]) == 2
    error = capsys.readouterr().err
    assert expected in error and error.count("\n") == 1 and "Traceback" not in error
    assert not store.exists()  # nothing written for a file that does not parse


def test_an_unreachable_scheduler_is_refused_quickly_and_the_store_untouched(grid_run, capsys):
    _, sweep_file, store = grid_run
    before = open_store(store).table()
    # port 9 (discard) on loopback: nothing listens there
    assert main(["sweep", str(sweep_file), "--out", str(store), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    error = capsys.readouterr().err
    assert "tcp://127.0.0.1:9" in error and error.count("\n") == 1
    assert open_store(store).table().equals(before)


def test_an_unreachable_scheduler_leaves_no_store_behind(capsys, tmp_path):
    sweep_file = tmp_path / "grid.toml"
    sweep_file.write_text(GRID)
    store = tmp_path / "new-store"
    assert main(["sweep", str(sweep_file), "--out", str(store), "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "connection refused" in capsys.readouterr().err
    assert not store.exists()


def test_bad_options_are_refused_in_one_line(grid_run, capsys, tmp_path):
    _, sweep_file, store = grid_run
    for argv, expected in (
        (["sweep", str(sweep_file), "--out", str(store), "--workers", "0"], "--workers"),
        (["sweep", str(sweep_file), "--out", str(store), "--scheduler", "localhost"], "scheduler"),
        (["sweep", str(tmp_path / "missing.toml"), "--out", str(store)], "does not exist"),
        (["plot", str(tmp_path / "nothing")], "nothing"),
        (["plot", str(store), "--threshold", "fidelity"], "--threshold"),
        (["plot", str(store), "--x", "nodes.alice.fibre_length"], "fibre_length"),
    ):
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert expected in error and error.count("\n") == 1 and "Traceback" not in error, (argv, error)


def test_a_store_folder_that_is_a_file_is_refused(tmp_path, capsys):
    sweep_file = tmp_path / "grid.toml"
    sweep_file.write_text(GRID)
    blocker = tmp_path / "store"
    blocker.write_text("not a folder")
    assert main(["sweep", str(sweep_file), "--out", str(blocker)]) == 2
    error = capsys.readouterr().err
    assert str(blocker) in error and error.count("\n") == 1
    assert blocker.read_text() == "not a folder"


def test_the_shipped_examples_parse(capsys):
    from metroqnet.sweeps.sweep_file import load_sweep_file

    five = load_sweep_file(EXAMPLES / "five_node_design.toml")
    assert five.n_tasks == 72 and five.select is not None
    assert five.select.thresholds == {"min.fidelity": 0.7}
    assert load_sweep_file(EXAMPLES / "small_grid.toml").n_tasks == 6


OPTIMIZE = """
[optimize]
maximize = "min.pme_rate_hz"
constraints = ["min.fidelity >= 0.7"]
links = ["alice-bob"]
samples = 64

[optimize.variables]
"nodes.*.excitation_probability" = { low = 0.002, high = 0.05, scale = "log" }
"""


def test_an_optimisation_beside_a_grid_writes_its_optimum_and_plots_apart(tmp_path, capsys):
    sweep_file = tmp_path / "both.toml"
    sweep_file.write_text(GRID + OPTIMIZE)
    store = tmp_path / "store"
    assert main(["sweep", str(sweep_file), "--out", str(store), "--workers", "1"]) == 0
    optimum = json.loads((store / "optimum.json").read_text())
    assert optimum["samples"] == 64 and optimum["found"]
    assert optimum["figures"]["min.fidelity"] >= 0.7 - 1e-9
    # the optimum beats every feasible grid point at the base's fibre (there the grid is inside the χ box)
    table = open_store(store).table()
    base_km = load_preset("hefei2024").nodes["alice"].fibre_length_km
    feasible = table[(table["alice-bob.fidelity"] >= 0.7) & (table["nodes.alice.fibre_length_km"] == base_km)]
    assert len(feasible) > 0
    assert optimum["figures"]["min.pme_rate_hz"] >= feasible["alice-bob.pme_rate_hz"].max()
    assert (store / "plots" / "optimization" / "rate_fidelity_frontier.png").is_file()
    assert (store / "plots" / "rate_fidelity_frontier.png").is_file()
    samples = (store / "optimization.csv").read_text().splitlines()
    assert len(samples) >= 1 + 64  # a header, the samples (and the refined optimum)
    # editing the optimisation keeps the grid's store: nothing recomputed
    sweep_file.write_text(GRID + OPTIMIZE.replace("samples = 64", "samples = 32"))
    capsys.readouterr()
    assert main(["sweep", str(sweep_file), "--out", str(store), "--workers", "1"]) == 0
    assert "0 tasks computed, 6 already in the store" in capsys.readouterr().out
    assert json.loads((store / "optimum.json").read_text())["samples"] == 32
    assert main(["plot", str(store), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "optimization" / "rate_fidelity_frontier.png").is_file()


def test_an_optimisation_alone_refuses_worker_options_and_a_file_as_its_folder(tmp_path, capsys):
    text = GRID.split("[compute]")[0] + OPTIMIZE
    sweep_file = tmp_path / "optimize.toml"
    sweep_file.write_text(text)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    for argv, expected in (
        (["--workers", "2", "--out", str(tmp_path / "a")], "--workers"),
        (["--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "b")], "--scheduler"),
        (["--out", str(blocker)], str(blocker)),
    ):
        assert main(["sweep", str(sweep_file), *argv]) == 2
        error = capsys.readouterr().err
        assert expected in error and error.count("\n") == 1 and "Traceback" not in error, error
    assert not (tmp_path / "a").exists() and blocker.read_text() == "a file"
    assert main(["sweep", str(sweep_file), "--out", str(tmp_path / "c")]) == 0
    assert main(["plot", str(tmp_path / "c")]) == 0  # an optimisation-only store: its samples
    assert (tmp_path / "c" / "plots" / "rate_fidelity_frontier.png").is_file()
