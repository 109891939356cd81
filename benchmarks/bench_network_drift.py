"""Each node pair's frequency calibration in its switch slots (QRNG, 5.8 s) beside the fixed link: Fig. 2d under switching.

Prints, for the Hefei preset's three nodes on a QRNG schedule of ``--hours`` (default 4 h; the
paper's run is 76 h, ~5 min on one core), per pair: slots, stretches, calibration share, max |residual Δf| after settling in
its slots and as a fixed link on the same drift and loop seed
(what ``metroqnet.experiments.network_drift.network_drift_comparison`` returns, timed apart), the residual's std per window,
the hot-swap figures (residual phase std at the write in the first trials after each switch-in
against the rest of that window), and the wall time (one core).

    python benchmarks/bench_network_drift.py [--hours 4] [--seed 1]      # --hours 76: the paper's run
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from metroqnet.config.presets import load_preset  # noqa: E402
from metroqnet.config.seeds import child  # noqa: E402
from metroqnet.experiments.link_setup import loop_setup  # noqa: E402
from metroqnet.experiments.network_drift import PairDriftComparison, pair_drift_tracking  # noqa: E402
from metroqnet.experiments.phase_stabilization import SETTLE_WINDOWS, drift_tracking  # noqa: E402
from metroqnet.network import SwitchSchedule, run_schedule  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=4.0, help="hours of the schedule (default 4; the paper: 76)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the schedule and of every pair (default 1)")
    args = parser.parse_args()
    network = load_preset("hefei2024")
    schedule = run_schedule(SwitchSchedule(nodes=tuple(network.nodes)), hours=args.hours, seed=args.seed)
    # what network_drift_comparison does, with the switched and the fixed runs timed apart
    comparisons, times = [], {"switched": [0.0, 0.0], "fixed": [0.0, 0.0]}
    for index, pair in enumerate(schedule.pairs):
        setup = loop_setup(network, *pair)
        wall, cpu = time.perf_counter(), time.process_time()
        switched = pair_drift_tracking(setup, schedule, pair, seed=args.seed)
        times["switched"][0] += time.perf_counter() - wall
        times["switched"][1] += time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        fixed = drift_tracking(setup, hours=schedule.hours, seed=child(args.seed, index))
        times["fixed"][0] += time.perf_counter() - wall
        times["fixed"][1] += time.process_time() - cpu
        comparisons.append(PairDriftComparison(switched=switched, fixed=fixed))
    print(f"bench_network_drift: Hefei 2024, {len(schedule.pairs)} pairs, QRNG {schedule.setting.timeslot_s:g} s slots, "
          f"{args.hours:g} h, seed {args.seed}, one core: the pairs in their slots {times['switched'][0]:.1f} s wall "
          f"({times['switched'][1]:.1f} s CPU), the fixed links {times['fixed'][0]:.1f} s wall "
          f"({times['fixed'][1]:.1f} s CPU)")
    for c in comparisons:
        s = c.switched
        print(f"  {'-'.join(c.pair):14s} slots {schedule.slot_count[schedule.pair_index(c.pair)]:6d}, stretches "
              f"{s.stretches:6d}, calibration share {s.calibration_share:.3f}; max |residual| after "
              f"{SETTLE_WINDOWS} windows: switched {c.switched_max_abs_residual_hz:6.1f} Hz, fixed "
              f"{c.fixed_max_abs_residual_hz:6.1f} Hz; residual std switched "
              f"{s.residual_hz[SETTLE_WINDOWS:].std():5.1f} Hz, fixed {c.fixed.residual_hz[SETTLE_WINDOWS:].std():5.1f} Hz")
        print(f"  {'':14s} hot swap over {s.switch_ins} switch-ins: residual std at the write by trial after the "
              f"switch-in {np.array2string(s.switch_in_std_deg[:5], precision=1)} deg, first {s.first_trials} "
              f"together {s.first_trials_std_deg:.1f} deg, rest of the window {s.steady_std_deg:.1f} deg")
    print("  [paper: max |residual| <= 0.15 kHz over 76 h against ~5 kHz of drift; each pair calibrates a third of the time]")


if __name__ == "__main__":
    main()
