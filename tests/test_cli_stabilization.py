"""`metroqnet stabilization`: Fig. 2 figures, tables and the PNG; refusals."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from metroqnet.cli.main import main
from metroqnet.cli.tables import format_stabilization
from metroqnet.config.presets import load_preset
from metroqnet.experiments.fig2_data import PHOTONS_PER_NODE, run_fig2
from metroqnet.experiments.phase_stabilization import stabilization_setup


def test_summary_tables_and_figure(tmp_path, capsys):
    status = main(["stabilization", "--trials", "20000", "--hours", "0.05", "--seed", "3", "--out", str(tmp_path),
                   "--json"])
    captured = capsys.readouterr()
    assert status == 0
    summary = json.loads(captured.out)
    # The numbers are the library's (tests/test_phase_loop.py); here: between the probes' shot-noise limit and
    # the uniform phase of the unstabilized loop.
    assert (summary["shot_noise_limit_deg"] < summary["residual_std_deg_measured"]
            < summary["unstabilized_std_deg_measured"] < summary["unstabilized_std_deg_at_write"])
    assert summary["unstabilized_std_deg_at_write"] > 90.0
    # Every σ says which quantity it is: at the write (the true residual) or as the probe reads it.
    stds = [key for key in summary if "std_deg" in key and key != "uniform_std_deg"]
    assert stds and all(key.endswith(("_at_write", "_measured")) or key.startswith("published") for key in stds)
    assert summary["uniform_std_deg"] == pytest.approx(360.0 / math.sqrt(12.0))
    # The paper's figure comes from the preset's [published] section (Fig. 2b: 17°, ±1° stated there).
    assert summary["published_residual_std_deg"] == {"value": 17.0, "error": 1.0}
    for name in ("fig2b_phase_histogram.csv", "fig2b_visibility_vs_phase.csv", "fig2_sigma_vs_photons.csv",
                 "fig2c_visibility_vs_frequency.csv", "fig2d_drift_tracking.csv", "summary.json"):
        assert (tmp_path / name).is_file(), name
    with (tmp_path / "fig2d_drift_tracking.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 150 and set(rows[0]) == {"time_h", "drift_khz", "compensation_khz", "residual_khz",
                                                  "temperature_c"}
    _check_histograms(tmp_path / "fig2b_phase_histogram.csv", summary)
    # The terminal names the quantity of each σ it prints, with the summary's value.
    text = format_stabilization(summary)
    assert f"without stabilization, at the write                {summary['unstabilized_std_deg_at_write']:6.1f}" in text
    assert f"without stabilization, as the probe reads it       {summary['unstabilized_std_deg_measured']:6.1f}" in text
    pytest.importorskip("matplotlib")
    png = (tmp_path / "fig2.png").read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    # A laptop screen's size: at most ~1700 px wide; three rows (a, then b and c, then d and e) fit 1400 px high.
    assert len(png) > 10_000 and 1200 <= width <= 1700 and 700 <= height <= 1400


def _histogram_std_deg(centres: np.ndarray, counts: np.ndarray) -> float:
    mean = np.average(centres, weights=counts)
    return math.sqrt(np.average((centres - mean) ** 2, weights=counts))


def _check_histograms(path, summary):
    """The unstabilized residual at the write covers the circle, and each histogram's σ is the summary's."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    centres = np.array([float(row["phase_deg"]) for row in rows])
    column = {name: np.array([int(row[name]) for row in rows]) for name in rows[0] if name != "phase_deg"}
    assert centres.min() == pytest.approx(-177.5) and centres.max() == pytest.approx(177.5)
    trials = summary["trials_per_point"]
    for name, counts in column.items():
        assert counts.sum() == trials, name  # no sample falls outside (−180°, 180°]
    at_write = column["unstabilized_at_write"]
    outer = np.abs(centres) > 90.0
    # Uniform over the circle: about half the trials beyond ±90°, on both sides (binomial, > 5σ bounds).
    for side in (centres < -90.0, centres > 90.0):
        assert abs(at_write[side].sum() - trials / 4) < 5 * math.sqrt(trials * 3 / 16)
    # The probe's arcsine folds into ±90° (its reading ±1 lands in the bins just beside ±90°).
    for name in ("unstabilized_measured", "stabilized_measured"):
        assert column[name][np.abs(centres) > 92.5].sum() == 0, name
    assert outer.any()
    # σ from the binned samples is the summary's σ of the same samples (5° bins: within 1°, against the 50°
    # between the two readings of the same uniform phase).
    for name, key in (("unstabilized_at_write", "unstabilized_std_deg_at_write"),
                      ("unstabilized_measured", "unstabilized_std_deg_measured"),
                      ("stabilized_at_write", "residual_std_deg_at_write"),
                      ("stabilized_measured", "residual_std_deg_measured")):
        assert _histogram_std_deg(centres, column[name]) == pytest.approx(summary[key], abs=1.0), name


@pytest.fixture(scope="module")
def small_fig2():
    setup = stabilization_setup(load_preset("hefei2024"))
    return run_fig2(setup, trials=2000, hours=0.05, seed=5)


def test_figure_panels_are_labelled_and_legends_hide_no_data(small_fig2):
    pytest.importorskip("matplotlib")
    from metroqnet.experiments.fig2_plot import draw_fig2

    figure = draw_fig2(small_fig2)
    figure.canvas.draw()  # lay out, so that extents are final
    main_axes = [ax for ax in figure.axes if ax.get_title()]
    # The paper's panel letters (a: the timing, zoomed before the write and whole; b and its inset, c, d) and e for
    # the extra panel, each with labelled axes.
    assert [ax.get_title()[0] for ax in main_axes] == ["a", "a", "b", "b", "c", "d", "e"]
    for ax in figure.axes:
        assert ax.get_ylabel(), ax.get_title()
        assert ax.get_xlabel() or not ax.get_title(), ax.get_title()  # the twin axis shares d's x label
    drift, photons = main_axes[5], main_axes[6]
    # a: both time axes in µs, the lanes named by their storage.
    for timing in main_axes[:2]:
        assert timing.get_xlabel() == "time from the first probe (µs)"
        assert all("µs" in label.get_text() for label in timing.get_yticklabels())
    assert "T0 = 55.7 µs" in main_axes[1].get_title()
    twin = next(ax for ax in figure.axes if not ax.get_title())
    assert twin.get_ylabel() == "temperature (°C)"
    # The temperature has its own colour and is in d's legend.
    colours = {line.get_label(): line.get_color() for line in drift.get_lines() + twin.get_lines()}
    assert len(set(colours.values())) == len(colours) == 3
    assert any("temperature" in text.get_text() for text in drift.get_legend().get_texts())
    # e: plain photon numbers on the x axis, no 4×10¹ style labels.
    labels = [label.get_text() for label in photons.get_xticklabels()]
    assert labels == [f"{n:g}" for n in PHOTONS_PER_NODE]
    assert not any("times" in label.get_text() or "^" in label.get_text() for label in photons.get_yticklabels())
    # No legend covers a data point of any line of the figure.
    renderer = figure.canvas.get_renderer()
    for ax in main_axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        for other in figure.axes:
            for line in other.get_lines():
                points = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
                inside = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                          & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
                assert not inside.any(), (ax.get_title(), line.get_label())


@pytest.mark.parametrize("argv, field", [(["--trials", "0"], "--trials"), (["--hours", "-1"], "--hours")])
def test_refusals(argv, field, capsys):
    assert main(["stabilization", *argv]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
