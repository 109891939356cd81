"""The sweep plots (``metroqnet plot STORE``): files, the data each line holds, the Pareto front, legends, refusals.

Tables are built by hand from closed forms (:func:`rate_hz`, :func:`fidelity`), so every value a line
should hold is known without the plotting code; the Pareto front is checked against a brute-force double
loop written here.
"""

from __future__ import annotations

import itertools
import struct

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from metroqnet.config.errors import ConfigError  # noqa: E402
from metroqnet.sweeps.plots import build_figures, plot_sweep, unit_of  # noqa: E402

CHI = "nodes.*.excitation_probability"
MU = "nodes.*.probe_mean_photon_number"
N1 = "nodes.n1.fibre_length_km"
N2 = "nodes.n2.fibre_length_km"
CHIS = tuple(float(value) for value in np.geomspace(0.002, 0.05, 6))
MUS = (0.005, 0.01, 0.05, 0.1)
LAYOUTS = ((8.0, 9.5), (5.0, 6.0))  # a zipped [[vary]] group: n1 and n2 step together


def rate_hz(chi: float, mu: float, n1_km: float, n2_km: float) -> float:
    """A made-up but monotone rate: linear in χ, 0.2 dB/km of fibre, less with more probe light."""
    return 2760.0 * chi * 0.03 * 10 ** (-0.02 * (n1_km + n2_km)) * (1.0 - mu)


def fidelity(chi: float, mu: float) -> float:
    return 0.95 - 4.0 * chi - 0.8 * mu


def grid_table(*, name: str = "five-node-design") -> pd.DataFrame:
    """6 χ × 4 μ × 2 zipped layouts = 48 tasks, with the store's bookkeeping columns."""
    rows = []
    for index, (chi, mu, (n1, n2)) in enumerate(itertools.product(CHIS, MUS, LAYOUTS)):
        rate, fid = rate_hz(chi, mu, n1, n2), fidelity(chi, mu)
        rows.append({"task": index, "task_id": f"{index:064x}", CHI: chi, MU: mu, N1: n1, N2: n2,
                     "n1-n2.pme_rate_hz": rate, "n1-n2.fidelity": fid, "min.pme_rate_hz": rate,
                     "max.pme_rate_hz": rate, "min.fidelity": fid, "max.fidelity": fid,
                     "min.entangling_rate_hz": 3.0 * rate, "min.concurrence": 2.0 * fid - 1.2,
                     "runs": 1, "wall_s": 0.25, "worker": "local-1"})
    table = pd.DataFrame(rows).set_index("task")
    table.attrs["sweep"] = {"name": name, "seed": 2024}
    return table


def line(ax, label: str):
    (found,) = [one for one in ax.lines if one.get_label() == label]
    return found


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk (read here, not by matplotlib)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- the files ------------------------------------------------------------------------------------------


def test_default_plots_named_after_figure_and_setting():
    names = set(build_figures(grid_table()))
    settings = ("excitation_probability", "probe_mean_photon_number", "fibre_length_km")  # one panel per zip group
    figures = ("pme_rate_hz", "entangling_rate_hz", "fidelity", "concurrence")
    assert names == {f"{f}_vs_{s}.png" for f, s in itertools.product(figures, settings)} | {"rate_fidelity_frontier.png"}


def test_files_are_pngs_of_laptop_size(tmp_path):
    paths = plot_sweep(grid_table(), tmp_path / "store", y=["min.pme_rate_hz"])
    assert [path.name for path in paths] == [f"pme_rate_hz_vs_{s}.png" for s in (
        "excitation_probability", "probe_mean_photon_number", "fibre_length_km")] + ["rate_fidelity_frontier.png"]
    for path in paths:
        assert path.parent == tmp_path / "store" and path.is_file()
        assert png_size(path) == (840, 540)  # 7 × 4.5 in at 120 dpi
        assert 15_000 < path.stat().st_size < 500_000
    assert not list((tmp_path / "store").glob(".*partial"))


def test_replotting_replaces_the_files(tmp_path):
    first = plot_sweep(grid_table(), tmp_path, x=CHI, y=["min.fidelity"])
    second = plot_sweep(grid_table(), tmp_path, x=CHI, y=["min.fidelity"])
    assert first == second and sorted(tmp_path.iterdir()) == sorted(first)


def test_units_from_the_name():
    assert [unit_of(name) for name in ("min.pme_rate_hz", "n1-n2.write_residual_deg", N1, "min.fidelity",
                                       "min.fidelity_stderr", "min.pme_rate_hz_stderr")] == [
        "Hz", "deg", "km", None, None, "Hz"]


# --- what the lines hold --------------------------------------------------------------------------------


def test_one_line_per_combination_of_the_other_settings():
    figure = build_figures(grid_table(), x=CHI, y=["min.pme_rate_hz"])["pme_rate_hz_vs_excitation_probability.png"]
    ax = figure.axes[0]
    # 4 μ × 2 layouts; the layout is named by its first key (n2 steps with n1, so it is not a third setting)
    assert ax.get_legend().get_title().get_text() == f"{MU}\n{N1}"
    for mu, (n1, n2) in itertools.product(MUS, LAYOUTS):
        data = line(ax, f"{mu:.4g}, {n1:.4g}").get_xydata()
        expected = [(chi, rate_hz(chi, mu, n1, n2)) for chi in CHIS]
        np.testing.assert_allclose(data, expected, rtol=1e-12)
    assert len([one for one in ax.lines if not one.get_label().startswith("_")]) == 8
    # colour from μ (the first other setting), line style from the layout (the second)
    for mu in MUS:
        pair = [line(ax, f"{mu:.4g}, {n1:.4g}") for n1, _ in LAYOUTS]
        assert np.array_equal(pair[0].get_color(), pair[1].get_color())
        assert pair[0].get_linestyle() != pair[1].get_linestyle()
    assert len({tuple(line(ax, f"{mu:.4g}, 8").get_color()) for mu in MUS}) == len(MUS)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"  # χ and the rate span > 1 decade
    assert ax.get_xlabel() == CHI and ax.get_ylabel() == "min.pme_rate_hz (Hz), worst link"
    assert ax.get_title().startswith("five-node-design: min.pme_rate_hz against excitation_probability")


def test_linear_axes_within_a_decade():
    figure = build_figures(grid_table(), x=N1, y=["min.fidelity"])["fidelity_vs_fibre_length_km.png"]
    ax = figure.axes[0]
    assert ax.get_xscale() == "linear" and ax.get_yscale() == "linear"
    assert ax.get_xlabel() == f"{N1} (km)\n(steps with {N2})"


def test_band_with_median_when_more_combinations_than_lines():
    """Against the layout the other settings make 24 combinations: the median and min–max at each layout."""
    ax = build_figures(grid_table(), x=N1, y=["min.pme_rate_hz"])["pme_rate_hz_vs_fibre_length_km.png"].axes[0]
    assert "median and min–max over 24 combinations" in ax.get_title().replace("\n", " ")
    for n1, n2 in LAYOUTS:
        values = sorted(rate_hz(chi, mu, n1, n2) for chi, mu in itertools.product(CHIS, MUS))
        median = 0.5 * (values[11] + values[12])
        assert [tuple(point) for point in line(ax, "median over the others").get_xydata() if point[0] == n1] == [
            (n1, pytest.approx(median, rel=1e-12))]
        (band,) = ax.collections
        vertices = band.get_paths()[0].vertices
        at = vertices[vertices[:, 0] == n1, 1]
        assert at.min() == pytest.approx(values[0], rel=1e-12) and at.max() == pytest.approx(values[-1], rel=1e-12)


def test_error_bars_from_stderr_columns():
    table = grid_table()
    table["min.fidelity_stderr"] = 0.01 + 0.1 * table[CHI]
    ax = build_figures(table, x=CHI, y=["min.fidelity"])["fidelity_vs_excitation_probability.png"].axes[0]
    container = next(one for one in ax.containers if one.get_label() == f"{MUS[0]:.4g}, {LAYOUTS[0][0]:.4g}")
    bars = container.lines[2][0].get_segments()
    for (x0, low), (x1, high) in bars:
        chi = x0
        assert x0 == x1 and chi in CHIS
        centre, err = fidelity(chi, MUS[0]), 0.01 + 0.1 * chi
        assert (low, high) == (pytest.approx(centre - err, abs=1e-12), pytest.approx(centre + err, abs=1e-12))
    assert len(bars) == len(CHIS)


def test_one_setting_one_line_no_legend():
    table = grid_table()
    table = table[(table[MU] == MUS[1]) & (table[N1] == LAYOUTS[0][0])]
    ax = build_figures(table, y=["min.fidelity"])["fidelity_vs_excitation_probability.png"].axes[0]
    np.testing.assert_allclose(line(ax, "all tasks").get_xydata(), [(c, fidelity(c, MUS[1])) for c in CHIS])
    assert ax.get_legend() is None


def test_scatter_when_the_settings_are_not_on_a_grid():
    """An optimiser's samples: every task a point, the ones on its front ringed."""
    rng = np.random.default_rng(7)
    chi, mu = rng.uniform(0.002, 0.05, 40), rng.uniform(0.005, 0.1, 40)
    on_front = rng.random(40) < 0.2
    table = pd.DataFrame({CHI: chi, MU: mu, "min.fidelity": fidelity(chi, mu), "on_front": on_front})
    ax = build_figures(table, x=MU, y=["min.fidelity"])["fidelity_vs_probe_mean_photon_number.png"].axes[0]
    assert "each point a task" in ax.get_title().replace("\n", " ")
    np.testing.assert_allclose(line(ax, "a task").get_xydata(), np.column_stack([mu, fidelity(chi, mu)]))
    ringed = line(ax, "on the optimiser's front").get_xydata()
    np.testing.assert_allclose(ringed, np.column_stack([mu, fidelity(chi, mu)])[on_front])


def test_the_optimum_is_starred():
    rng = np.random.default_rng(8)
    chi, mu = rng.uniform(0.002, 0.05, 30), rng.uniform(0.005, 0.1, 30)
    optimum = np.arange(30) == 11
    table = pd.DataFrame({CHI: chi, MU: mu, "min.fidelity": fidelity(chi, mu), "optimum": optimum})
    ax = build_figures(table, x=MU, y=["min.fidelity"])["fidelity_vs_probe_mean_photon_number.png"].axes[0]
    np.testing.assert_allclose(line(ax, "optimum").get_xydata(), [[mu[11], fidelity(chi[11], mu[11])]])


def test_text_setting_is_a_categorical_axis():
    table = pd.DataFrame({"experiment": ["storage_5us", "storage_107us"] * 2, MU: [0.01, 0.01, 0.05, 0.05],
                          "min.fidelity": [0.9, 0.8, 0.85, 0.75]})
    ax = build_figures(table, x="experiment", y=["min.fidelity"])["fidelity_vs_experiment.png"].axes[0]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["storage_5us", "storage_107us"]  # 5 < 107
    np.testing.assert_allclose(line(ax, "0.01").get_xydata(), [(0, 0.9), (1, 0.8)])


def test_missing_values_are_counted_not_hidden():
    """The store keeps a missing value as None (object column): not drawn, and the title says how many."""
    table = grid_table()
    values = table["min.fidelity"].astype(object)
    values.iloc[[0, 5, 9]] = None
    table["min.fidelity"] = values
    ax = build_figures(table, x=CHI, y=["min.fidelity"])["fidelity_vs_excitation_probability.png"].axes[0]
    assert "3 tasks without a value not drawn" in ax.get_title().replace("\n", " ")
    drawn = sum(len(one.get_xydata()) for one in ax.lines if not one.get_label().startswith("_"))
    assert drawn == len(table) - 3


def test_table_read_back_from_the_store(tmp_path):
    """The store keeps None as None (an object column): the table it gives plots as the hand-built one."""
    store_module = pytest.importorskip("metroqnet.sweeps.store")
    table = grid_table()
    settings = [CHI, MU, N1, N2]
    results = [name for name in table.columns if name.startswith(("min.", "max.", "n1-n2."))]
    with store_module.SweepStore.create_or_open(tmp_path, sweep_id="plots-test", sweep_record=table.attrs["sweep"],
                                                sweep_text="[sweep]\n") as store:
        for task, row in table.iterrows():
            result = {name: (None if task in (3, 7) and name == "min.fidelity" else row[name]) for name in results}
            store.record(task_id=row["task_id"], index=task, settings={key: row[key] for key in settings},
                         result=result, wall_s=0.1, worker="local-1")
    stored = store_module.open_store(tmp_path).table()
    figures = build_figures(stored, x=CHI, y=["min.fidelity"])
    ax = figures["fidelity_vs_excitation_probability.png"].axes[0]
    assert ax.get_title().startswith("five-node-design: ")
    assert "2 tasks without a value not drawn" in ax.get_title().replace("\n", " ")
    expected = build_figures(table.drop(index=[3, 7]), x=CHI, y=["min.fidelity"])
    for mine, theirs in zip(ax.lines, expected["fidelity_vs_excitation_probability.png"].axes[0].lines):
        np.testing.assert_array_equal(mine.get_xydata(), theirs.get_xydata())
    assert len(ax.lines) >= 8


def test_settings_sharing_a_last_name_are_named_in_full():
    table = pd.DataFrame(list(itertools.product([1.0, 2.0, 4.0], [3.0, 5.0])), columns=[N1, "nodes.n3.fibre_length_km"])
    table["min.fidelity"] = 1.0 / (table[N1] + table["nodes.n3.fibre_length_km"])
    figures = build_figures(table)
    assert set(figures) == {"fidelity_vs_nodes.n1.fibre_length_km.png", "fidelity_vs_nodes.n3.fibre_length_km.png"}
    ax = figures["fidelity_vs_nodes.n1.fibre_length_km.png"].axes[0]
    assert f"against {N1}\none line per nodes.n3.fibre_length_km" in ax.get_title()
    for n3 in (3.0, 5.0):
        np.testing.assert_allclose(line(ax, f"{n3:g}").get_xydata(), [(n1, 1 / (n1 + n3)) for n1 in (1.0, 2.0, 4.0)])


def test_default_figure_without_any_value_is_left_out():
    """An explicit y without values is refused (see the refusals); a default one is simply not drawn."""
    names = set(build_figures(grid_table().assign(**{"min.concurrence": None}), x=CHI))
    assert "concurrence_vs_excitation_probability.png" not in names
    assert "fidelity_vs_excitation_probability.png" in names


def test_per_link_figures_without_aggregates():
    table = grid_table().drop(columns=[name for name in grid_table().columns if name.startswith(("min.", "max."))])
    names = set(build_figures(table, x=CHI))
    assert names == {"n1-n2.pme_rate_hz_vs_excitation_probability.png",
                     "n1-n2.fidelity_vs_excitation_probability.png", "rate_fidelity_frontier.png"}


# --- the frontier ---------------------------------------------------------------------------------------


def brute_force_front(points: np.ndarray) -> set[tuple[float, float]]:
    """Points no other point matches in both (maximised) objectives and beats in one: a double loop."""
    front = set()
    for i, p in enumerate(points):
        if not any(np.all(q >= p) and np.any(q > p) for j, q in enumerate(points) if j != i):
            front.add(tuple(p))
    return front


def frontier_table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 60
    fid = np.round(rng.uniform(0.6, 0.95, n), 2)  # rounded: ties in fidelity
    rate = np.round(rng.lognormal(0.0, 1.0, n), 1) + 0.1  # and in rate
    fid[:3], rate[:3] = fid[3], rate[3]  # duplicates
    return pd.DataFrame({CHI: rng.uniform(0.002, 0.05, n), "min.pme_rate_hz": rate, "min.fidelity": fid})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_frontier_is_the_brute_force_pareto_set(seed):
    table = frontier_table(seed)
    ax = build_figures(table, y=["min.fidelity"])["rate_fidelity_frontier.png"].axes[0]
    points = table[["min.fidelity", "min.pme_rate_hz"]].to_numpy()
    (front,) = [one for one in ax.lines if one.get_label().startswith("Pareto front")]
    data = front.get_xydata()
    assert {tuple(point) for point in data} == brute_force_front(points)
    assert len(data) == sum(tuple(point) in brute_force_front(points) for point in points)  # duplicates kept
    assert np.all(np.diff(data[:, 0]) >= 0)  # drawn along the fidelity axis
    grey = next(one for one in ax.lines if one.get_label().startswith("a task"))
    np.testing.assert_array_equal(grey.get_xydata(), points)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "min.fidelity, worst link"


def test_frontier_threshold_and_optimiser_front():
    table = frontier_table(4)
    table["on_front"] = table["min.fidelity"] > 0.9
    figures = build_figures(table, y=["min.fidelity"], threshold={"min.fidelity": 0.7, "min.pme_rate_hz": 1.5})
    ax = figures["rate_fidelity_frontier.png"].axes[0]
    vertical = line(ax, "threshold min.fidelity = 0.7")
    horizontal = line(ax, "threshold min.pme_rate_hz = 1.5")
    assert set(vertical.get_xdata()) == {0.7} and set(horizontal.get_ydata()) == {1.5}
    ringed = line(ax, "on the optimiser's front").get_xydata()
    np.testing.assert_array_equal(ringed, table.loc[table["on_front"], ["min.fidelity", "min.pme_rate_hz"]])
    panel = figures["fidelity_vs_excitation_probability.png"].axes[0]
    assert set(line(panel, "threshold min.fidelity = 0.7").get_ydata()) == {0.7}


def test_explicit_frontier_columns():
    table = grid_table()
    ax = build_figures(table, frontier=("min.entangling_rate_hz", "max.fidelity"), y=["min.fidelity"])[
        "rate_fidelity_frontier.png"].axes[0]
    assert ax.get_ylabel() == "min.entangling_rate_hz (Hz), worst link"
    assert ax.get_xlabel() == "max.fidelity, best link"


# --- legends --------------------------------------------------------------------------------------------


def data_points_in_display(ax) -> np.ndarray:
    points = [ax.transData.transform(one.get_xydata()) for one in ax.lines if len(one.get_xydata())]
    points += [ax.transData.transform(one.get_paths()[0].vertices) for one in ax.collections if one.get_paths()]
    return np.concatenate(points)


def test_no_legend_covers_a_point():
    table = frontier_table(5).assign(**{MU: np.tile([0.01, 0.05], 30)})
    figures = [*build_figures(grid_table(), y=["min.pme_rate_hz", "min.fidelity"], threshold={"min.fidelity": 0.7}).items(),
               *build_figures(table, x=MU).items()]
    checked = 0
    for name, figure in figures:
        figure.canvas.draw()
        for ax in figure.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box = legend.get_window_extent()
            points = data_points_in_display(ax)
            points = points[np.all(np.isfinite(points), axis=1)]
            inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & (points[:, 1] >= box.y0)
                      & (points[:, 1] <= box.y1))
            assert not inside.any(), (name, points[inside])
            assert box.x1 <= figure.bbox.x1 + 1 and box.y0 >= -1  # and the legend is on the page
            checked += 1
    assert checked >= 8


# --- refusals -------------------------------------------------------------------------------------------


NO_PAIR = {"max.fidelity": lambda t: np.where(t["min.pme_rate_hz"] > 0.5, np.nan, 0.9),
           "min.pme_rate_hz": lambda t: np.where(t["min.pme_rate_hz"] > 0.5, t["min.pme_rate_hz"], np.nan)}


@pytest.mark.parametrize(("change", "options", "field", "words"), [
    (lambda t: t.iloc[:0], {}, "table", ["no finished task"]),
    (lambda t: t[(t[CHI] == CHIS[0]) & (t[MU] == MUS[0]) & (t[N1] == 8.0)], {}, "table",
     ["no setting varies across the 1 tasks", CHI]),
    (None, {"x": "nodes.*.excitation_probabilty"}, "x", ["'nodes.*.excitation_probabilty' is not a setting",
                                                         f"did you mean {CHI!r}"]),
    (lambda t: t[t[MU] == MUS[0]], {"x": MU}, "x", [f"{MU!r} does not vary"]),
    (None, {"y": ["min.pme_rate"]}, "y", ["'min.pme_rate' is not a result", "did you mean 'min.pme_rate_hz'"]),
    (None, {"y": [CHI]}, "y", [f"{CHI!r} is not a numeric result"]),
    (lambda t: t.assign(**{"min.fidelity": np.nan}), {"y": ["min.fidelity"]}, "y",
     ["'min.fidelity' has no finite value in any of the 48 tasks"]),
    (None, {"frontier": ("min.pme_rate_hz", "min.fidelty")}, "frontier", ["did you mean 'min.fidelity'"]),
    (None, {"threshold": {"min.fid": 0.7}}, "threshold", ["'min.fid' is not a numeric result"]),
    (None, {"threshold": {"min.fidelity": float("nan")}}, "threshold.min.fidelity", ["nan is not a finite number"]),
    (None, {"y": ["min.fidelity"], "threshold": {"min.concurrence": 0.1}}, "threshold",
     ["'min.concurrence' is not an axis of any plot"]),
    (lambda t: t.assign(**NO_PAIR), {"frontier": ("min.pme_rate_hz", "max.fidelity")}, "frontier",
     ["no task has a value of both"]),
])
def test_refusals_name_the_field_and_value(change, options, field, words):
    table = grid_table()
    table = change(table) if change else table
    with pytest.raises(ConfigError) as refusal:
        build_figures(table, **options)
    message = str(refusal.value)
    assert refusal.value.field == field and message.startswith(f"{field}: ") and "\n" not in message
    for word in words:
        assert word in message


def test_output_folder_that_is_a_file(tmp_path):
    target = tmp_path / "results.sqlite"
    target.write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        plot_sweep(grid_table(), target)
