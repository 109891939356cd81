"""Phase-stabilization loop and frequency calibration simulated trial by trial: speed, and the 76 h run.

Prints trials/s of the loop (lasers, fibres, drift, two probe rounds with Poisson counts, the
estimator, the calibration) on one core, the time this gives for the paper's 76 h at 2.76 kHz
(7.55e8 trials), and, with ``--hours 76``, runs all of it and prints the drift tracking figures
(max |Δf| after calibration against the raw drift). Default: 1 h, then the extrapolation.

    python benchmarks/bench_control_loop.py [--hours 76]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from metroqnet.config.presets import load_preset  # noqa: E402
from metroqnet.experiments.phase_stabilization import drift_tracking, stabilization_setup  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    setup = stabilization_setup(load_preset("hefei2024"))  # the preset's Fig. 2 run: its loop, noise and 76 h
    settings = setup.settings
    trials = int(args.hours * 3600 * settings.repetition_rate_hz)
    start = time.perf_counter()
    tracked = drift_tracking(setup, hours=args.hours, seed=2024)
    elapsed = time.perf_counter() - start
    rate = trials / elapsed
    paper_hours = setup.duration_h
    paper_trials = paper_hours * 3600 * settings.repetition_rate_hz
    print(f"bench_control_loop: {args.hours:g} h = {trials:.3e} trials in {elapsed:.1f} s, {rate:.3e} trials/s (one core)")
    print(f"  {paper_hours:g} h at {settings.repetition_rate_hz / 1e3:g} kHz ({paper_trials:.3e} trials): "
          f"{paper_trials / rate / 60:.1f} min"
          f"{' (measured above)' if args.hours >= paper_hours else ' (extrapolated)'} [target: minutes, not hours]")
    drift = tracked.drift_hz
    print(f"  drift {(drift.max() - drift.min()) / 1e3:.2f} kHz peak to peak over {tracked.time_h[-1]:.1f} h;"
          f" max |residual Δf| after the first 3 windows {tracked.max_abs_residual_hz() / 1e3:.3f} kHz"
          " [paper: <= 0.15 kHz against 5 kHz over 76 h]")


if __name__ == "__main__":
    main()
