"""One hour of network operation: the Hefei three nodes and stars of 10 and 100 nodes with random requests.

Prints, in one run on one core (BLAS threads pinned to 1 before numpy loads), the wall time of
``run_network`` for one hour of 5.8 s timeslots (621 slots at the 5 µs run's 2.76 kHz, 9.9e6 trials):

* the baseline: the Hefei preset's three nodes, QRNG switching (3 links);
* a 10-node and a 100-node star (copies of Alice, fibres uniform in 2–20 km, seed 1), the switch serving a
  queue of 621 random requests (one per slot; each request two different nodes drawn uniformly): up to
  621 distinct links, each with its own phase-loop run for its residual at the write;

each with the loop's residual from 2e5 trials per link (the default, 0.16 % standard error of σ) and
from 2e4 (0.5 %), and the share of the time in the loop. Timings only: nothing is asserted.
Run: ``PYTHONPATH=src python benchmarks/bench_network.py`` or ``python benchmarks/run_all.py network``.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from metroqnet.config.presets import load_preset  # noqa: E402
from metroqnet.experiments import link_setup  # noqa: E402
from metroqnet.experiments.network_run import run_network, trials_per_slot  # noqa: E402
from metroqnet.network.star import star_network  # noqa: E402

HOURS = 1.0
EXPERIMENT = "storage_5us"
SEED = 1
LOOP_TRIALS = (200_000, 20_000)


def _timed_loop() -> dict[str, float]:
    """Wrap the loop's residual so the run can say how much of its time the loop took."""
    spent = {"s": 0.0}
    original = link_setup.write_residual_std_rad

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["s"] += time.perf_counter() - start

    link_setup.write_residual_std_rad = timed
    return spent


def main() -> None:
    hefei = load_preset("hefei2024")
    rng = np.random.default_rng(SEED)
    slots = round(HOURS * 3600 / hefei.server.timeslot_s + 0.5)
    per_slot = trials_per_slot(hefei.server.timeslot_s, hefei.experiment(EXPERIMENT).repetition_rate_hz)
    print(f"one hour: {slots} slots of {hefei.server.timeslot_s:g} s, {per_slot} trials each "
          f"({slots * per_slot:.3g} trials), experiment {EXPERIMENT}")
    cases = [("hefei2024, 3 nodes, qrng", hefei, "qrng", ())]
    for nodes in (10, 100):
        star = star_network(hefei, rng.uniform(2.0, 20.0, size=nodes).round(2))
        names = list(star.nodes)
        requests = [tuple(rng.choice(names, size=2, replace=False)) for _ in range(slots)]
        cases.append((f"star of {nodes}, random requests", star, "requests", requests))
    spent = _timed_loop()
    run_network(hefei, hours=0.01, seed=SEED, experiment=EXPERIMENT)  # compile the kernels outside the timings
    print(f"{'network':<34}{'loop trials':>12}{'links':>7}{'wall (s)':>10}{'in the loop (s)':>17}{'heralds':>9}")
    for label, network, policy, requests in cases:
        for loop_trials in LOOP_TRIALS:
            link_setup._CACHE.clear()  # every run computes its residuals afresh
            spent["s"] = 0.0
            start = time.perf_counter()
            run = run_network(network, hours=HOURS, seed=SEED, experiment=EXPERIMENT, policy=policy,
                              requests=requests, residual_trials=loop_trials)
            wall = time.perf_counter() - start
            heralds = sum(link.heralds for link in run.links.values())
            print(f"{label:<34}{loop_trials:>12.0e}{len(run.links):>7}{wall:>10.2f}{spent['s']:>17.2f}{heralds:>9}",
                  flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
