"""The ``[select]`` answer against a brute-force scan of a hand-made table."""

from __future__ import annotations

import numpy as np
import pandas
import pytest

from metroqnet.config.errors import ConfigError
from metroqnet.sweeps.select import parse_select_table, select_best


def _table(seed: int) -> pandas.DataFrame:
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(-4, 1, size=40)
    fidelity = rng.uniform(0.5, 0.8, size=40)
    fidelity[3] = np.nan  # a task without a figure is never the answer
    return pandas.DataFrame({"nodes.*.excitation_probability": rng.uniform(0, 0.05, size=40),
                             "min.pme_rate_hz": rate, "min.fidelity": fidelity})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_best_feasible_task_is_the_brute_force_one(seed):
    table = _table(seed)
    selection = parse_select_table({"maximize": "min.pme_rate_hz", "constraints": ["min.fidelity >= 0.7"]})
    answer = select_best(table, selection)
    best, count = None, 0
    for position in range(len(table)):  # the plain loop a reader would write
        fidelity, rate = table["min.fidelity"].iloc[position], table["min.pme_rate_hz"].iloc[position]
        if fidelity >= 0.7:
            count += 1
            if best is None or rate > table["min.pme_rate_hz"].iloc[best]:
                best = position
    assert answer.feasible == count
    assert answer.best["min.pme_rate_hz"] == table["min.pme_rate_hz"].iloc[best]


def test_minimise_and_an_upper_bound():
    table = _table(4)
    selection = parse_select_table({"minimize": "min.fidelity", "constraints": ["min.pme_rate_hz <= 0.02"]})
    answer = select_best(table, selection)
    allowed = table[table["min.pme_rate_hz"] <= 0.02]
    assert answer.best["min.fidelity"] == allowed["min.fidelity"].min()


def test_nothing_feasible_says_how_close_the_tasks_came():
    table = _table(5)
    selection = parse_select_table({"maximize": "min.pme_rate_hz", "constraints": ["min.fidelity >= 0.95"]})
    answer = select_best(table, selection)
    assert answer.best is None and answer.feasible == 0
    assert answer.closest["min.fidelity"] == np.nanmax(table["min.fidelity"])
    assert "no task of 40 meets min.fidelity >= 0.95" in answer.summary(selection)


@pytest.mark.parametrize(("table", "field"), [
    ({"maximize": "a.b", "minimize": "c.d"}, "select"),
    ({}, "select"),
    ({"maximize": 3}, "select.maximize"),
    ({"maximize": "min.fidelity", "constraints": "min.fidelity > 0.7"}, "select.constraints"),
    ({"maximize": "min.fidelity", "constraints": ["min.fidelity > 0.7"]}, "select.constraints[0]"),
    ({"maximize": "min.fidelity", "maximise": "x"}, "maximise"),
])
def test_a_malformed_select_table_is_refused_naming_the_field(table, field):
    with pytest.raises(ConfigError) as caught:
        parse_select_table(table)
    assert field in str(caught.value) and "\n" not in str(caught.value)


def test_a_name_the_sweep_does_not_have_is_refused_listing_its_results():
    selection = parse_select_table({"maximize": "min.pme_rate"})
    with pytest.raises(ConfigError, match="'min.pme_rate' is not a result of this sweep; results: .*min.pme_rate_hz"):
        select_best(_table(1), selection)


def test_a_constrained_figure_without_any_value_is_none_not_nan():
    table = _table(6)
    table["min.fidelity"] = np.nan  # e.g. C~ at a read efficiency of 0: undefined on every task
    selection = parse_select_table({"maximize": "min.pme_rate_hz", "constraints": ["min.fidelity >= 0.7"]})
    answer = select_best(table, selection)
    assert answer.best is None and answer.closest == {"min.fidelity": None}
    assert "min.fidelity has no value" in answer.summary(selection)
