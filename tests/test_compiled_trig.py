"""sin and cos of metroqnet.control.compiled_trig against numpy's (the C library's), to 1 ulp."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metroqnet.control.compiled_trig import LARGE, sincos_into


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.maximum(np.abs(want), np.finfo(float).tiny))


def _sincos(x: np.ndarray) -> dict[str, np.ndarray]:
    s, c = np.empty_like(x), np.empty_like(x)
    sincos_into(x, s, c)
    return {"sin": s, "cos": c}


@pytest.mark.parametrize(("name", "theirs"), [("cos", np.cos), ("sin", np.sin)])
def test_within_one_ulp_of_the_c_library(name, theirs):
    rng = np.random.default_rng(11)
    quadrants = np.arange(-400, 401) * (math.pi / 4)  # the reduction's edges, where rounding is hardest
    x = np.concatenate([
        rng.uniform(-60.0, 60.0, 200_000),
        rng.uniform(-LARGE, LARGE, 50_000),
        quadrants, np.nextafter(quadrants, np.inf), np.nextafter(quadrants, -np.inf),
        [0.0, -0.0, 1e-300, 5e-324, 1e-8, -1e-8],
    ])
    got = _sincos(x)[name]
    want = theirs(x)
    # 1 ulp of the value, or an absolute 1e-16 near the zeros (the last bits of the reduction of x)
    assert np.all((_ulps(got, want) <= 1.0) | (np.abs(got - want) <= 1e-16))


@pytest.mark.parametrize(("name", "theirs"), [("cos", np.cos), ("sin", np.sin)])
def test_large_and_non_finite_values_are_the_c_librarys(name, theirs):
    x = np.array([LARGE, -LARGE, 3e7, -1e300, np.inf, -np.inf, np.nan])
    got = _sincos(x)[name]
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got, theirs(x))
