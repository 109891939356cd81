"""Fig. 3e,h and Fig. 4c,d: PME correlators and F, sampled beside the exact engine (experiments.fig3/fig4_correlators).

Statistical checks (DESIGN rule 4): seeded, two-sided, within 5 standard errors of the exact engine's
value (:func:`metroqnet.link.evaluate.evaluate_link`), the standard error the run's own delta-method one.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from metroqnet.config.presets import load_preset
from metroqnet.config.seeds import child, seed_record
from metroqnet.experiments.correlator_bars import CSV_COLUMNS, FIGURES, IDEAL, SIGNS, trials_per_series
from metroqnet.experiments.fig3_correlators import EXPERIMENTS, fig3_correlators, plot_fig3_correlators
from metroqnet.experiments.fig4_correlators import LINKS, fig4_correlators, plot_fig4_correlators
from metroqnet.experiments.link_setup import experiment_link_parameters
from metroqnet.link.evaluate import evaluate_link

TRIALS = 10**9
SEED = 20241


@pytest.fixture(scope="module")
def network():
    return load_preset("hefei2024")


@pytest.fixture(scope="module")
def fig3(network):
    return fig3_correlators(network, trials=TRIALS, seed=SEED)


@pytest.fixture(scope="module")
def fig4(network):
    return fig4_correlators(network, trials={name: TRIALS for name in LINKS}, seed=SEED)


def _check_table(result, keys):
    rows = list(csv.DictReader(io.StringIO(result.to_csv())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(keys) * len(SIGNS) * len(FIGURES)
    assert {(r["series"], r["sign"], r["figure"]) for r in rows} == {
        (k, s, f) for k in keys for s in SIGNS for f in FIGURES}
    for row in rows:
        assert float(row["ideal"]) == IDEAL[row["sign"]][row["figure"]]
        assert row["sampled"] and row["sampled_stderr"] and row["exact"]
    data = json.loads(json.dumps(result.as_dict()))
    assert list(data["series"]) == list(keys)
    return rows


def _within_5_sigma(result):
    for one in result.series:
        for sign in SIGNS:
            for name in FIGURES:
                value, error, exact = one.sampled[sign][name], one.sampled_stderr[sign][name], one.exact[sign][name]
                assert math.isfinite(value) and 0 < error < 0.1, (one.key, sign, name, value, error)
                assert abs(value - exact) <= 5 * error, (one.key, sign, name, value, error, exact)


def test_fig3_table_and_values(network, fig3):
    rows = _check_table(fig3, EXPERIMENTS)
    assert {r["storage_us"] for r in rows} == {"5.0", "107.0"}
    for index, name in enumerate(EXPERIMENTS):
        one = fig3[name]
        assert one.link == "alice-bob" and one.trials == TRIALS and one.seed == seed_record(child(SEED, index))
        exact = evaluate_link(experiment_link_parameters(network, name)).figures
        for sign in SIGNS:
            for figure in FIGURES:
                assert one.exact[sign][figure] == getattr(exact[sign], figure)
        # The paper's F of Fig. 3e,h (the preset's [published.experiments.*]), in the table.
        published = network.published.experiments[name]
        assert one.published_fidelity["plus"][0] == published.pme_fidelity_plus.value
    _within_5_sigma(fig3)


def test_fig4_table_and_values(network, fig4):
    _check_table(fig4, tuple(LINKS))
    for index, (name, pair) in enumerate(LINKS.items()):
        one = fig4[name]
        assert one.experiment == "storage_5us" and one.link == "-".join(pair)
        assert one.seed == seed_record(child(SEED, index)) and not one.published_fidelity
        exact = evaluate_link(experiment_link_parameters(network, "storage_5us", nodes=pair)).figures
        assert one.exact["minus"]["fidelity"] == exact["minus"].fidelity
    _within_5_sigma(fig4)


def test_seeded_runs_repeat(network, fig3):
    again = fig3_correlators(network, trials={"storage_5us": TRIALS, "storage_107us": TRIALS}, seed=SEED)
    assert again.to_csv() == fig3.to_csv()


def test_trials_refused():
    with pytest.raises(ValueError, match="missing"):
        trials_per_series({"alice-bob": 10}, ["alice-bob", "bob-charlie"])
    with pytest.raises(ValueError, match="unknown"):
        trials_per_series({"a": 10, "b": 10, "c": 1}, ["a", "b"])
    with pytest.raises(Exception, match="trials"):
        trials_per_series(-1, ["a"])
    assert trials_per_series(7, ["a", "b"]) == {"a": 7, "b": 7}


def test_pngs_written(fig3, fig4, tmp_path):
    pytest.importorskip("matplotlib")
    for plot, result, name in ((plot_fig3_correlators, fig3, "fig3_correlators.png"),
                               (plot_fig4_correlators, fig4, "fig4_correlators.png")):
        path = plot(result, tmp_path / name)
        assert path == tmp_path / name and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 20_000


def test_panels_labelled_and_legend_hides_nothing(fig3, fig4):
    pytest.importorskip("matplotlib")
    from metroqnet.experiments.fig3_correlators import draw_fig3_correlators
    from metroqnet.experiments.fig4_correlators import draw_fig4_correlators

    for draw, result, letters, entries in ((draw_fig3_correlators, fig3, ["e", "h"], 6),
                                           (draw_fig4_correlators, fig4, ["c", "d"], 8)):
        figure = draw(result)
        figure.canvas.draw()  # lay out, so that extents are final
        assert [ax.get_title(loc="left")[0] for ax in figure.axes] == letters
        assert all(ax.get_xlabel() for ax in figure.axes) and figure.axes[0].get_ylabel()
        (legend,) = figure.legends
        assert len(legend.get_texts()) == entries
        box = legend.get_window_extent()
        for ax in figure.axes:  # below the panels: overlaps none of them
            assert not box.overlaps(ax.get_window_extent()), ax.get_title(loc="left")
