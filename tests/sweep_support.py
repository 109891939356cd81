"""Shared by the sweep execution tests: a store of synthetic tasks, a run into it, the comparable table."""

from __future__ import annotations

import pandas as pd

from metroqnet.sweeps.execute import run_tasks
from metroqnet.sweeps.store import SweepStore, open_store
from metroqnet.sweeps.synthetic import synthetic_compute


def make_store(folder, *, name: str, seed: int) -> SweepStore:
    return SweepStore.create_or_open(folder, sweep_id=f"{name}-test", sweep_record={"name": name, "seed": seed},
                                     sweep_text="# synthetic tasks\n")


def run_into(folder, tasks, *, name: str, seed: int, **options):
    """Run ``tasks`` into the store at ``folder``: the summary, each task's run count and the stored table."""
    store = make_store(folder, name=name, seed=seed)
    try:
        summary = run_tasks(tasks, synthetic_compute, store, **options)
        runs = store.runs()
    finally:
        store.close()
    return summary, runs, open_store(folder).table()


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """The table without what depends on where and how fast a task ran."""
    return table.drop(columns=["wall_s", "worker"])
