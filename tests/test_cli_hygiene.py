"""Input a new user types: every refusal is exit status 2 and one line naming the field, the value and
what is allowed; where the input is physically meaningful, the command answers instead."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from metroqnet.cli.main import main
from metroqnet.config.calibration_file import Calibration, write_calibration
from metroqnet.config.presets import load_preset
from metroqnet.experiments.phase_stabilization import residual_phase, stabilization_setup

LINK = ["link", "--preset", "hefei2024", "--nodes", "alice,bob"]
SIMULATE = ["simulate", "--preset", "hefei2024", "--nodes", "alice,bob"]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "counts_example.csv"


def run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_refusal(status, out, err, *fragments):
    assert status == 2, (status, err)
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), f"expected one line, got {err!r}"
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["stabilization", "--seed", "-3"], ["--seed", "'-3'", "integer >= 0"]),
        (["stabilization", "--trials", "1"], ["--trials", "at least 2"]),
        (["stabilization", "--hours", "1e-9"], ["--hours", "1e-09 h", "calibration windows", ">="]),
        (["stabilization", "--hours", "nan"], ["--hours", "nan"]),
        (["stabilization", "--hours", "1e9"], ["--hours", "(0, 10000]"]),
        (["stabilization", "--trials", "abc"], ["--trials", "'abc'", "whole number"]),
        ([*SIMULATE, "--trials", "1.5"], ["--trials", "'1.5'", "whole number"]),
        ([*SIMULATE, "--duration", "3600"], ["--duration", "'3600' has no unit", "3600s"]),
        ([*SIMULATE, "--duration", "3600 years"], ["--duration", "unknown unit 'years'"]),
        ([*LINK, "--storage", "5"], ["unrecognized arguments: --storage"]),
        ([*LINK, "--stor", "5"], ["unrecognized arguments: --stor"]),
        ([*LINK, "--jsn"], ["unrecognized arguments: --jsn", "did you mean --json?"]),
        (["sweep", "f.toml", "--out", "s", "--worker", "2"], ["unrecognized arguments: --worker 2",
                                                               "did you mean --workers?"]),
        (["link", "--params", "/dev/null"], ["--params", "character device"]),
        (["link", "--preset", "/dev/null", "--nodes", "a,b"], ["network file", "character device"]),
        (["analyze", "/dev/null"], ["count file", "character device"]),
        (["stabilization", "--calibration", "/dev/null"], ["calibration file", "character device"]),
        ([*LINK, "--set", "nodes.alice.fibre_length_km=-2"], ["--set nodes.alice.fibre_length_km", "-2",
                                                              "[0, inf)"]),
        ([*LINK, "--set", "server.swich_loss_db=1"], ["swich_loss_db", "did you mean 'switch_loss_db'"]),
        ([*LINK, "--set", "nodes.zed.fibre_length_km=1"], ["'zed' is not one of the nodes"]),
        ([*LINK, "--set", "fibre_length_km"], ["--set", "KEY=VALUE"]),
        # Values a loop cannot run with are refused before the run, not after it (were a traceback at the
        # end of Fig. 2, a 305 GiB allocation, a window silently widened).
        (["stabilization", "--set", "server.probe_photons_per_node=0"], ["probe_photons_per_node", "never detected"]),
        (["stabilization", "--set", "server.calibration_window_s=1e-6"], ["calibration_window_s", "at least 2"]),
        (["stabilization", "--set", "drift.temperature_step_s=1e-9"], ["step_s", "knots"]),
    ],
)
def test_refusals(argv, fragments, capsys):
    assert_one_line_refusal(*run(argv, capsys), *fragments)


def test_the_last_value_set_is_the_one_blamed(tmp_path, capsys):
    calibration = tmp_path / "cal.json"
    write_calibration(calibration, Calibration(network="hefei2024", procedure="a test", values={
        "nodes.*.writeout_mode_overlap": (0.7, "a calibrated value")}))
    argv = [*LINK, "--calibration", str(calibration), "--set", "nodes.*.writeout_mode_overlap=2"]
    assert_one_line_refusal(*run(argv, capsys), "--set nodes.*.writeout_mode_overlap", "[0, 1]")


def test_a_directory_given_as_a_file_says_so(tmp_path, capsys):
    assert_one_line_refusal(*run(["link", "--params", str(tmp_path)], capsys), "--params", "is a directory")
    assert_one_line_refusal(*run(["analyze", str(tmp_path)], capsys), "is a directory")


def test_trials_in_scientific_notation_are_a_number_of_trials(capsys):
    status, out, _ = run([*SIMULATE, "--trials", "1e6", "--seed", "1", "--json"], capsys)
    assert status == 0 and json.loads(out)["trials"] == 1_000_000


def test_typo_in_a_count_file_metadata_key_is_refused(tmp_path, capsys):
    path = tmp_path / "lab.csv"
    path.write_text(EXAMPLE.read_text().replace("# read_efficiency_x:", "# read_eficiency_x:"))
    assert_one_line_refusal(*run(["analyze", str(path)], capsys), "'read_eficiency_x'", "read_efficiency_x")


def test_counts_beyond_what_a_record_holds_say_so(tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_text("link,herald,basis,outcome_x,outcome_y,events\nab,*,Z,*,*,99999999999999999999\n")
    assert_one_line_refusal(*run(["analyze", str(path)], capsys), "exceeds", "largest count a record holds")


def test_simulate_refuses_a_folder_with_an_earlier_run_and_overwrites_cleanly(tmp_path, capsys):
    first = [*SIMULATE, "--trials", "200000", "--seed", "1", "--events", "--background-trials", "100000",
             "--out", str(tmp_path)]
    assert run(first, capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json", "background.csv", "counts.csv",
                                                           "events.csv"]
    second = [*SIMULATE, "--trials", "100000", "--seed", "2", "--out", str(tmp_path)]
    assert_one_line_refusal(*run(second, capsys), "--out", "not empty", "--overwrite")
    status, _, err = run([*second, "--overwrite"], capsys)
    assert status == 0
    # Only this run's files remain, and the command lists what it wrote and what it removed.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json", "counts.csv"]
    assert "removed" in err and "events.csv" in err and "background.csv" in err
    assert str(tmp_path / "counts.csv") in err and str(tmp_path / "analysis.json") in err
    assert json.loads((tmp_path / "analysis.json").read_text())["trials"] == 100_000


def test_analyze_in_a_read_only_folder_prints_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    lab = folder / "counts.csv"
    lab.write_text(EXAMPLE.read_text())
    folder.chmod(0o555)
    try:
        status, out, err = run(["analyze", str(lab), "--json"], capsys)
    finally:
        folder.chmod(0o755)
    assert status == 0 and json.loads(out)["link"] == "alice-bob" and err == ""


def test_residual_statistics_keep_memory_flat():
    # The loop's trials are summarized chunk by chunk: four times the trials, about the same peak memory
    # (was ~45 MB/s of growth, without bound, for --trials 10^12).
    setup = stabilization_setup(load_preset("hefei2024"))
    peaks = []
    for trials in (300_000, 1_200_000):
        tracemalloc.start()
        residual_phase(setup, trials=trials, seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.3 * peaks[0], peaks


def test_a_long_run_shows_progress_and_the_time_left():
    # 10^15 trials: the bar on a terminal gives the count, the rate and the estimated time left
    # ([elapsed<left, rate]). Stopped after a few seconds.
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "metroqnet.cli.main", *SIMULATE, "--trials", "1e15", "--seed", "1"]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not re.search(rb"<\d[\d:]+,.*trial/s", shown):
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                shown += os.read(controller, 4096)
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    text = shown.decode(errors="replace")
    assert re.search(r"simulate:.*/1\.00P \[\d[\d:]*<\d[\d:]+, [\d.]+[kMGT]?trial/s\]", text), text
