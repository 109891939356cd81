"""`metroqnet stabilization`: Fig. 2 figures, tables and the PNG; refusals."""

from __future__ import annotations

import csv
import json

import pytest

from metroqnet.cli.main import main


def test_summary_tables_and_figure(tmp_path, capsys):
    status = main(["stabilization", "--trials", "20000", "--hours", "0.05", "--seed", "3", "--out", str(tmp_path),
                   "--json"])
    captured = capsys.readouterr()
    assert status == 0
    summary = json.loads(captured.out)
    # The numbers are the library's (tests/test_phase_loop.py); here: between the probes' shot-noise limit and
    # the uniform phase of the unstabilized loop.
    assert summary["shot_noise_limit_deg"] < summary["residual_std_deg_measured"] < summary["unstabilized_std_deg"]
    assert summary["unstabilized_std_deg"] > 90.0
    # The paper's figure comes from the preset's [published] section (Fig. 2b: 17°, ±1° stated there).
    assert summary["published_residual_std_deg"] == {"value": 17.0, "error": 1.0}
    for name in ("fig2b_phase_histogram.csv", "fig2b_visibility_vs_phase.csv", "fig2_sigma_vs_photons.csv",
                 "fig2c_visibility_vs_frequency.csv", "fig2d_drift_tracking.csv", "summary.json"):
        assert (tmp_path / name).is_file(), name
    with (tmp_path / "fig2d_drift_tracking.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 150 and set(rows[0]) == {"time_h", "drift_khz", "compensation_khz", "residual_khz",
                                                  "temperature_c"}
    pytest.importorskip("matplotlib")
    assert (tmp_path / "fig2.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, field", [(["--trials", "0"], "--trials"), (["--hours", "-1"], "--hours")])
def test_refusals(argv, field, capsys):
    assert main(["stabilization", *argv]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
