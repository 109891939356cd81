"""Batch engine (metroqnet.link.batch): the same numbers as evaluate_link, in order, labelled; bad input refused.

The reference is the single-point engine (``evaluate_link``), which
tests/test_engine_cross_check.py checks against the independent Gaussian-state
oracle; ``figures_from_tables`` (the estimators applied one sign at a time) is the
reference for the batch's stacked estimators.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from metroqnet.analysis.estimators import UndefinedEstimate
from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.config.errors import ConfigError
from metroqnet.config.link_parameters import LinkParameters
from metroqnet.link.batch import LinkBatchResult, evaluate_links
from metroqnet.link.evaluate import evaluate_link, figures_from_tables
from metroqnet.link.figures import FIGURE_NAMES
from metroqnet.link.fock_engine import joint_tables, phase_resolved_tables, phase_resolved_tables_batch
from metroqnet.link.points import LinkPoints

from .conftest import HEFEI_LIKE
from .strategies import LINK_RANGES, LOG_SCALED, RANGES

#: Relative agreement asked of every figure. Figures of order one that are differences of
#: order-one terms (E, d, C, F near 0) are compared with an absolute 1e-14 as well: their
#: rounding is relative to the terms they are computed from, not to their own size.
RELATIVE = 1e-12
ABSOLUTE_ORDER_ONE = 1e-14
SEED = 20_240_611


def random_points(count: int, seed: int) -> list[LinkParameters]:
    """Points over the issue's ranges (tests/strategies.py), χ log-uniform up to 0.2, from one seeded generator."""
    rng = np.random.default_rng(seed)

    def draw(name: str, low: float, high: float) -> np.ndarray:
        u = rng.random(count)
        return low * (high / low) ** u if name in LOG_SCALED else low + (high - low) * u

    columns = {f"{name}_{s}": draw(name, *bounds) for name, bounds in RANGES.items() for s in ("x", "y")}
    columns |= {name: draw(name, *bounds) for name, bounds in LINK_RANGES.items()}
    columns["excitation_probability_x"][:10] = 0.2  # the strong end, several times
    return [LinkParameters(**{name: float(values[i]) for name, values in columns.items()}) for i in range(count)]


def assert_same_result(batch: LinkBatchResult, index: int, reference, *, context: str = "") -> None:
    got = batch.result(index)
    for name in ("herald_probability_plus", "herald_probability_minus", "noise_herald_fraction"):
        assert getattr(got, name) == pytest.approx(getattr(reference, name), rel=RELATIVE, abs=0), (context, name)
    assert got.photon_cutoff == reference.photon_cutoff
    for sign in HERALD_SIGNS:
        for name, value in reference.figures[sign].as_dict().items():
            other = getattr(got.figures[sign], name)
            if value is None:
                assert other is None, (context, sign, name)
            else:
                assert other == pytest.approx(value, rel=RELATIVE, abs=ABSOLUTE_ORDER_ONE), (context, sign, name)


@pytest.fixture(scope="module")
def points() -> list[LinkParameters]:
    return random_points(240, SEED)


@pytest.fixture(scope="module")
def batch(points) -> LinkBatchResult:
    return evaluate_links(points)


def test_every_figure_agrees_with_evaluate_link(points, batch):
    assert len(set(batch.photon_cutoff.tolist())) >= 5  # several cutoff groups, each one vectorized computation
    assert batch.photon_cutoff.max() == 21  # χ = 0.2
    for index, params in enumerate(points):
        assert_same_result(batch, index, evaluate_link(params), context=f"point {index}")


def test_stacked_estimators_agree_with_the_per_sign_estimators(points, batch):
    # The batch applies the estimators to stacks of tables; the reference applies them sign by sign.
    for index in range(0, len(points), 6):
        reference = figures_from_tables(joint_tables(points[index]), points[index])
        for s, sign in enumerate(HERALD_SIGNS):
            for name, value in reference[sign].as_dict().items():
                got = batch.figures[name][index, s]
                if value is None:
                    assert np.isnan(got), (index, sign, name)
                else:
                    assert got == pytest.approx(value, rel=RELATIVE, abs=ABSOLUTE_ORDER_ONE), (index, sign, name)


def test_a_batch_of_one_is_evaluate_link():
    params = LinkParameters.from_mapping(HEFEI_LIKE)
    assert evaluate_links([params]).result(0).as_dict() == evaluate_link(params).as_dict()


def test_order_is_kept_across_interleaved_cutoff_groups(points, batch):
    order = np.random.default_rng(SEED + 1).permutation(len(points))[:60]
    shuffled = evaluate_links([points[i] for i in order])
    for position, index in enumerate(order):
        for name in FIGURE_NAMES:
            np.testing.assert_allclose(shuffled.figures[name][position], batch.figures[name][index],
                                       rtol=RELATIVE, atol=ABSOLUTE_ORDER_ONE, err_msg=name)
        assert shuffled.photon_cutoff[position] == batch.photon_cutoff[index]


def test_arrays_broadcast_into_points_in_c_order():
    base = LinkParameters.from_mapping(HEFEI_LIKE)
    read = np.array([0.1, 0.5, 0.9])
    chi = np.array([[0.01], [0.15]])
    result = evaluate_links({"read_efficiency": read, "excitation_probability_x": chi}, base=base)
    assert len(result) == 6
    for index, (c, r) in enumerate((c, r) for c in chi[:, 0] for r in read):
        expected = evaluate_link(base.replace(read_efficiency_x=r, read_efficiency_y=r, excitation_probability_x=c))
        assert_same_result(result, index, expected, context=f"grid point {index}")


def test_phase_resolved_tables_batch_matches_one_at_a_time(points):
    chosen = points[:12]
    for params, resolved in zip(chosen, phase_resolved_tables_batch(chosen), strict=True):
        single = phase_resolved_tables(params)
        assert resolved.photon_cutoff == single.photon_cutoff
        np.testing.assert_array_equal(resolved.orders, single.orders)
        np.testing.assert_allclose(resolved.coefficients, single.coefficients, rtol=RELATIVE,
                                   atol=1e-15 * np.abs(single.coefficients).max())
        # The Gaussian phase average of the series is the engine's phase-averaged tables.
        tables = joint_tables(params).tables
        averaged = single.gaussian_average(params.phase_noise_std_rad)
        for s, sign in enumerate(HERALD_SIGNS):
            for b, basis in enumerate(("Z", "X", "Y")):
                np.testing.assert_allclose(averaged[s, b], tables[sign][basis], rtol=1e-10, atol=0)


def test_rates_and_absent_figures():
    base = LinkParameters.from_mapping(HEFEI_LIKE)
    result = evaluate_links([base.replace(repetition_rate_hz=2760.0), base.replace(read_efficiency_x=0.0)])
    assert result.entangling_rate_hz[0] == pytest.approx(evaluate_link(result.points[0]).entangling_rate_hz)
    assert np.isnan(result.entangling_rate_hz[1]) and np.isnan(result.repetition_rate_hz[1])
    assert np.isnan(result.figures["atomic_concurrence"][1]).all()
    assert result.result(1).figures["plus"].atomic_concurrence is None
    assert "1 point(s) (1)" in result.notes[0]


def test_dataset_is_labelled_like_the_single_result():
    pytest.importorskip("xarray")
    base = LinkParameters.from_mapping(HEFEI_LIKE).replace(repetition_rate_hz=2760.0)
    read = np.linspace(0.1, 0.9, 5)
    dataset = evaluate_links({"read_efficiency": read}, base=base).to_xarray()
    single = evaluate_link(base).to_xarray()
    assert dict(dataset.sizes) == {"point": 5, "sign": 2}
    assert list(dataset["sign"].values) == list(HERALD_SIGNS)
    np.testing.assert_array_equal(dataset["read_efficiency"].values, read)
    assert dataset["read_efficiency"].dims == ("point",)
    for name, variable in single.data_vars.items():
        assert dataset[name].dims == ("point", *variable.dims), name
    assert dataset["photon_cutoff"].dims == ("point",)
    for key in ("engine", "parameters_id", "metroqnet_version", "numpy_version", "parameters"):
        assert key in dataset.attrs
    assert dataset.attrs["engine"] == single.attrs["engine"]
    assert "read_efficiency_x" not in dataset.attrs["parameters"]  # varied: a coordinate, not a fixed value


def test_a_varied_rate_is_a_coordinate_not_a_variable_twice():
    pytest.importorskip("xarray")
    dataset = evaluate_links({"repetition_rate_hz": [1e3, 2e3]}, base=HEFEI).to_xarray()
    assert "repetition_rate_hz" in dataset.coords and "repetition_rate_hz" not in dataset.data_vars
    np.testing.assert_allclose(dataset["entangling_rate_hz"], dataset["herald_probability"] * [1e3, 2e3])


def test_dataset_without_xarray_says_how_to_install(monkeypatch):
    result = evaluate_links([LinkParameters.from_mapping(HEFEI_LIKE)])
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match=r"metroqnet\[data\]"):
        result.to_xarray()


HEFEI = LinkParameters.from_mapping(HEFEI_LIKE)


@pytest.mark.parametrize(
    "points, base, field, words",
    [
        ([], None, "points", "empty"),
        ((), None, "points", "empty"),
        ({}, HEFEI, "points", "empty mapping"),
        (HEFEI, None, "points", "one LinkParameters"),
        ("hefei", None, "points", "sequence of LinkParameters"),
        ([HEFEI, HEFEI.to_mapping()], None, "points[1]", "expected LinkParameters"),
        ([HEFEI, 3.0], None, "points[1]", "expected LinkParameters"),
        ({"read_efficiency": [0.1, 0.2], "excitation_probability": [0.1, 0.2, 0.3]}, HEFEI, "points", "broadcast"),
        ({"read_efficiency": [0.1, np.nan]}, HEFEI, "read_efficiency", "finite"),
        ({"read_efficiency_x": [0.1, 1.5]}, HEFEI, "read_efficiency_x", "1.5 is outside the allowed range [0, 1]"),
        ({"excitation_probability": [1.0]}, HEFEI, "excitation_probability", "[0, 1)"),
        ({"read_efficiency": [True, False]}, HEFEI, "read_efficiency", "booleans"),
        ({"read_efficiency": ["a"]}, HEFEI, "read_efficiency", "number"),
        ({"read_efficiency": [[0.1, 0.2], [0.3]]}, HEFEI, "read_efficiency", "number"),
        ({"read_eficiency": [0.1]}, HEFEI, "points", "did you mean 'read_efficiency'"),
        ({"read_efficiency": [0.1], "read_efficiency_x": [0.2]}, HEFEI, "points", "both given"),
        ({"read_efficiency": [0.1]}, None, "points", "missing required value"),
        ({"repetition_rate_hz": [0.0]}, HEFEI, "repetition_rate_hz", "(0, inf)"),
        ([HEFEI], HEFEI, "base", "only used with a mapping"),
        ({"read_efficiency": [0.1]}, {"read_efficiency": 0.1}, "base", "expected LinkParameters"),
    ],
)
def test_bad_input_is_refused_naming_the_field(points, base, field, words):
    with pytest.raises(ConfigError) as refused:
        evaluate_links(points, base=base)
    message = str(refused.value)
    assert message.startswith(f"{field}:"), message
    assert words in message, message


def test_a_point_without_figures_is_named():
    dark = HEFEI.replace(excitation_probability_x=0.0, excitation_probability_y=0.0, herald_noise_probability=0.0)
    with pytest.raises(UndefinedEstimate, match=r"^points\[2\]: Z basis: no heralded trials"):
        evaluate_links([HEFEI, HEFEI, dark])


def test_a_batch_of_one_names_its_point_too():
    dark = HEFEI.replace(excitation_probability_x=0.0, excitation_probability_y=0.0, herald_noise_probability=0.0)
    with pytest.raises(UndefinedEstimate, match=r"^points\[0\]: "):
        evaluate_links([dark])
    with pytest.raises(UndefinedEstimate, match=r"^Z basis: no heralded trials"):  # evaluate_link keeps its message
        evaluate_link(dark)


def test_a_point_beyond_the_largest_cutoff_is_named():
    with pytest.raises(ConfigError, match=r"^points\[1\]: excitation_probability: 0.9 needs a photon cutoff"):
        evaluate_links([HEFEI, HEFEI.replace(excitation_probability_y=0.9)])


def test_an_overflowing_point_is_named():
    with pytest.raises(ConfigError, match=r"^points\[1\]: the exact engine overflowed .*1e\+60"):
        evaluate_links([HEFEI, HEFEI.replace(probe_mean_photon_number_x=1e60)])


def test_points_round_trip_to_parameter_objects(points):
    built = LinkPoints.from_parameters(points[:5])
    assert [built[i] for i in range(5)] == points[:5]
    assert len(built) == 5
    # The first points share χ_x = 0.2: a fixed value, not a coordinate.
    assert "excitation_probability_y" in built.coordinates and "excitation_probability_x" not in built.coordinates
    assert built.fixed()["excitation_probability_x"] == 0.2


def test_the_facade_exports_it():
    import metroqnet as mq

    assert mq.evaluate_links is evaluate_links
