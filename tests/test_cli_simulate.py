"""`metroqnet simulate`: JSON layout mirrors `link --json` with standard errors; files; refusals."""

from __future__ import annotations

import json

import pytest

from metroqnet.analysis.count_files import read_count_file
from metroqnet.analysis.events import read_event_file
from metroqnet.cli.arguments import duration_s
from metroqnet.cli.main import main

HEFEI = ["simulate", "--preset", "hefei2024", "--nodes", "alice,bob"]
FIGURES = {"p00", "p01", "p10", "p11", "E", "d", "concurrence", "atomic_concurrence", "d_general",
           "concurrence_general", "atomic_concurrence_general", "zz", "xx", "yy", "fidelity", "pme_probability"}


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_layout_and_reproducibility(capsys):
    argv = [*HEFEI, "--trials", "20000000", "--seed", "3", "--json"]
    status, out, _ = run(argv, capsys)
    assert status == 0
    document = json.loads(out)
    for key in ("herald_probability", "herald_probability_stderr", "herald_probability_plus", "counts", "trials",
                "entangling_rate_hz", "entangling_rate_hz_stderr", "pme_rate_hz"):
        assert key in document, key
    assert document["trials"] == 20_000_000
    for sign in ("plus", "minus"):
        assert FIGURES | {f"{name}_stderr" for name in FIGURES} <= set(document[sign])
    assert json.loads(run(argv, capsys)[1]) == document  # same seed, same numbers


def test_duration_and_files(tmp_path, capsys):
    status, out, err = run([*HEFEI, "--duration", "1h", "--seed", "5", "--events", "--out", str(tmp_path)], capsys)
    assert status == 0 and "PME fidelity" in out and "wrote" in err
    counts = read_count_file(tmp_path / "counts.csv")["alice-bob"]
    assert counts.trials == 3600 * 2760  # the preset's 2.76 kHz at 5 µs
    assert read_event_file(tmp_path / "events.csv").to_counts().counts.tolist() == counts.counts.tolist()
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    assert analysis["trials"] == counts.trials
    # The run drew from the seed's child stream 0 (the background run would take stream 1).
    assert analysis["runs"] == [{"entropy": 5, "spawn_key": [0], "trials": counts.trials}]
    assert analysis["strong_id"] == counts.strong_id


def test_seed_is_chosen_and_recorded_when_not_given(tmp_path, capsys):
    status, out, _ = run([*HEFEI, "--trials", "1000", "--out", str(tmp_path)], capsys)
    assert status == 0
    printed = int(out.splitlines()[0].removeprefix("seed "))
    (run_record,) = json.loads((tmp_path / "analysis.json").read_text())["runs"]
    assert run_record["entropy"] == printed >= 0


@pytest.mark.parametrize(
    "extra, field",
    [
        (["--trials", "10", "--duration", "1h"], "--trials/--duration"),
        ([], "--trials/--duration"),
        (["--duration", "soon"], "--duration"),
        (["--duration", "0h"], "--duration"),
        (["--trials", "-5"], "--trials"),
        (["--trials", "10", "--seed", "-1"], "--seed"),
        (["--trials", "10", "--basis-weights", "1,1"], "--basis-weights"),
        (["--trials", "10", "--basis-weights", "1,-1,1"], "--basis-weights"),
        # Beyond what a float or an int64 count holds: refused up front (were a traceback or a hang).
        (["--duration", "1e400"], "--duration"),
        (["--duration", "1e16h"], "--duration"),
        # A rate at which the link's phase loop (17 µs of probes, feedback and gap) cannot fit in a trial.
        (["--duration", "76h", "--repetition-rate-hz", "1e308"], "--repetition-rate-hz"),
        (["--trials", "10", "--repetition-rate-hz", "1e5"], "--repetition-rate-hz"),
        (["--trials", str(10**20)], "--trials"),
        (["--trials", "10", "--background-trials", str(10**20)], "--background-trials"),
    ],
)
def test_refusals_name_the_field(extra, field, capsys):
    status, out, err = run([*HEFEI, *extra], capsys)
    assert status == 2 and out == "" and field in err and "Traceback" not in err


def test_a_background_run_without_a_herald_keeps_the_run_and_says_so(tmp_path, capsys):
    # No noise fraction without a background herald (was a ValueError traceback, then a refusal that
    # threw the whole run away): the run is written, and a note says why the noise fraction is absent.
    argv = [*HEFEI, "--trials", "2e7", "--seed", "1", "--background-trials", "10", "--json", "--out", str(tmp_path)]
    status, out, _ = run(argv, capsys)
    document = json.loads(out)
    assert status == 0 and "noise_herald_fraction" not in document
    assert any(note.startswith("noise_herald_fraction, snr: background: no herald in 10") for note in document["notes"])
    assert (tmp_path / "counts.csv").exists() and (tmp_path / "background.csv").exists()


def test_duration_needs_a_rate(tmp_path, capsys):
    status, _, err = run([*HEFEI, "--storage-us", "50", "--duration", "1h"], capsys)
    assert status == 2 and "--repetition-rate-hz" in err


@pytest.mark.parametrize("text, seconds", [("76h", 273600.0), ("90min", 5400.0), ("3600s", 3600.0), ("2d", 172800.0),
                                           ("1.5e3s", 1500.0)])
def test_durations(text, seconds):
    assert duration_s(text) == seconds


def test_background_run_gives_the_noise_fraction(tmp_path, capsys):
    # Exact: with the write off only noise heralds, P_bg = 2q(1-q); with it on, P_h from the engine.
    from metroqnet.config.presets import load_preset
    from metroqnet.link.evaluate import evaluate_link
    from metroqnet.experiments.link_setup import experiment_link_parameters

    params = experiment_link_parameters(load_preset("hefei2024"), "storage_5us")
    q = params.herald_noise_probability
    expected = 2 * q * (1 - q) / evaluate_link(params).herald_probability
    argv = [*HEFEI, "--duration", "10h", "--seed", "9", "--background-trials", "300000000", "--json",
            "--out", str(tmp_path)]
    status, out, _ = run(argv, capsys)
    document = json.loads(out)
    assert status == 0 and (tmp_path / "background.csv").exists()
    assert abs(document["noise_herald_fraction"] - expected) <= 5 * document["noise_herald_fraction_stderr"]
    status, out, _ = run(["analyze", str(tmp_path / "counts.csv"), "--background", str(tmp_path / "background.csv"),
                          "--json", "--out", str(tmp_path / "a.json")], capsys)
    assert status == 0 and json.loads(out)["snr"] == pytest.approx(document["snr"])
