"""Throughput of the control-loop noise processes on one core (samples/s), for benchmarks/.

Run: PYTHONPATH=src python benchmarks/bench_control_noise.py [--trials N]
A "sample" is one time point of the link's relative phase with every component
computed; the grid is 4 instants per trial at 2.76 kHz (the loop's use).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from metroqnet.noise import pooled
from metroqnet.config.presets import load_preset
from metroqnet.physics.noise_mapping import cavity_drift, fibre, link_phase_noise, write_laser

PERIOD_NS = 362_319  # 2.76 kHz
OFFSETS_NS = np.array([0, 6_000, 12_000, 17_000], dtype=np.int64)


def trial_times(first_trial: int, trials: int) -> np.ndarray:
    return ((first_trial + np.arange(trials, dtype=np.int64))[:, None] * PERIOD_NS + OFFSETS_NS).reshape(-1)


def rate(process, times: np.ndarray, repeats: int = 5) -> float:
    best = np.inf
    for repeat in range(repeats):
        rng = np.random.default_rng(repeat)
        start = time.perf_counter()
        process.simulate(times, rng=rng)
        best = min(best, time.perf_counter() - start)
    return times.size / best


def normal_rate(samples: int, per_sample: int, repeats: int = 5) -> float:
    rng = np.random.default_rng(0)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for first in range(0, samples, 65536):
            rng.standard_normal((min(65536, samples - first), per_sample))
        best = min(best, time.perf_counter() - start)
    return samples / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=500_000)
    args = parser.parse_args()
    times = trial_times(0, args.trials)
    irregular = np.sort(np.random.default_rng(1).integers(0, int(times[-1]), times.size))
    network = load_preset("hefei2024")
    drift = cavity_drift(network, duration_h=1.0, seed=0)
    link = link_phase_noise(network, "alice", "bob", drift=drift)
    rows = [
        ("laser (Wiener + integrated OU)", write_laser(network.node("alice"))),
        ("fibre (integrated OU + OU)", fibre(network.node("alice"))),
        ("drift (deterministic)", drift),
        ("link, all 7 terms", link),
        ("link, pooled (same law)", pooled(link)),
    ]
    print(f"{times.size:,} samples ({args.trials:,} trials x {OFFSETS_NS.size})")
    for name, process in rows:
        print(f"{name:32s} trial grid {rate(process, times):12,.0f} samples/s   irregular {rate(process, irregular):12,.0f}")
    for k in (6, 18):
        print(f"{'numpy normals alone, ' + str(k) + '/sample':32s} {normal_rate(times.size, k):12,.0f} samples/s (the floor)")
    pooled_rate = rate(pooled(link), times)
    print(f"76 h at 2.76 kHz x 4 instants = {76 * 3600 * 2760 * 4:.2e} samples: "
          f"{76 * 3600 * 2760 * 4 / pooled_rate / 60:.1f} min pooled")


if __name__ == "__main__":
    main()
