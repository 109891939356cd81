"""Pareto fronts (metroqnet.sweeps.pareto) against a brute-force double loop, and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metroqnet.config.errors import ConfigError
from metroqnet.sweeps.pareto import front_order, pareto_mask


def brute_force_mask(values, maximize) -> np.ndarray:
    """The definition, literally: i is on the front unless some j is >= in every objective and > in one."""
    values = np.asarray(values, dtype=float)
    signs = np.where(maximize, 1.0, -1.0)  # compare "better" as larger after the sign
    mask = np.zeros(len(values), dtype=bool)
    for i, row in enumerate(values):
        if np.isnan(row).any():
            continue
        dominated = False
        for j, other in enumerate(values):
            if j == i or np.isnan(other).any():
                continue
            a, b = other * signs, row * signs
            if all(a[k] >= b[k] for k in range(len(row))) and any(a[k] > b[k] for k in range(len(row))):
                dominated = True
                break
        mask[i] = not dominated
    return mask


@pytest.mark.parametrize("objectives", [1, 2, 3, 4])
def test_matches_brute_force_on_seeded_data_with_ties_duplicates_and_nan(objectives):
    rng = np.random.default_rng(20240 + objectives)
    for _ in range(60):
        n = int(rng.integers(0, 40))
        values = rng.integers(0, 4, size=(n, objectives)).astype(float)  # small integers: many ties
        if n > 3:
            values[1] = values[0]  # an exact duplicate
            values[int(rng.integers(0, n))] = np.nan
            values[int(rng.integers(0, n)), int(rng.integers(0, objectives))] = np.nan
        maximize = [bool(flag) for flag in rng.integers(0, 2, size=objectives)]
        np.testing.assert_array_equal(pareto_mask(values, maximize=maximize), brute_force_mask(values, maximize))


def test_two_objective_sweep_agrees_with_brute_force_on_continuous_data():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(300, 2))
    values[:20] = np.round(values[:20], 0)  # some ties in each coordinate
    for maximize in ([True, True], [True, False], [False, True], [False, False]):
        np.testing.assert_array_equal(pareto_mask(values, maximize=maximize), brute_force_mask(values, maximize))


def test_hand_cases():
    # Maximise both: (3,1), (1,3), (2,2) trade off; (1,1) is beaten by all; (2,2) duplicate stays.
    values = [[3, 1], [1, 3], [2, 2], [1, 1], [2, 2]]
    assert pareto_mask(values, maximize=[True, True]).tolist() == [True, True, True, False, True]
    # Equal first objective, worse second: dominated (the tie does not save it).
    assert pareto_mask([[1, 5], [1, 4]], maximize=[True, True]).tolist() == [True, False]
    # Minimise the second: (1, 4) now wins.
    assert pareto_mask([[1, 5], [1, 4]], maximize=[True, False]).tolist() == [False, True]
    # One objective: every point equal to the best.
    assert pareto_mask([[2], [5], [5], [np.nan]], maximize=[True]).tolist() == [False, True, True, False]
    # A NaN row is never on the front and beats nothing.
    assert pareto_mask([[np.nan, 9], [0, 0]], maximize=[True, True]).tolist() == [False, True]
    assert pareto_mask(np.zeros((0, 2)), maximize=[True, True]).tolist() == []


def test_blocked_path_with_many_points_equals_two_objective_sweep():
    # k = 3 with a constant third column: the front is the 2-D front of the first two.
    rng = np.random.default_rng(11)
    values = rng.random((2500, 2))
    padded = np.column_stack([values, np.ones(len(values))])
    np.testing.assert_array_equal(
        pareto_mask(padded, maximize=[True, False, True]), pareto_mask(values, maximize=[True, False])
    )


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), max_size=25))
def test_front_points_are_mutually_non_dominating_and_cover_the_rest(rows):
    values = np.array(rows, dtype=float).reshape(-1, 3)
    mask = pareto_mask(values, maximize=[True, False, True])
    np.testing.assert_array_equal(mask, brute_force_mask(values, [True, False, True]))
    if len(values):
        assert mask.any()  # a finite non-empty set always has a front


def test_front_order_sorts_the_front_along_the_first_objective():
    values = np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [0.5, 0.5], [2.0, 2.5]])
    mask = pareto_mask(values, maximize=[True, True])
    assert mask.tolist() == [True, True, False, False, True]
    assert front_order(values, mask).tolist() == [1, 4, 0]
    # Ties in the first objective are broken by the next.
    tied = np.array([[1.0, 2.0], [1.0, 1.0], [0.0, 5.0]])
    assert front_order(tied, [True, True, True]).tolist() == [2, 1, 0]


def test_refusals_name_the_argument():
    with pytest.raises(ConfigError, match="maximize: 1 flags given for 2 objectives"):
        pareto_mask([[1, 2]], maximize=[True])
    with pytest.raises(ConfigError, match="values: expected a 2-D"):
        pareto_mask([1, 2, 3], maximize=[True])
    with pytest.raises(ConfigError, match="mask: shape"):
        front_order([[1, 2], [3, 4]], [True])
