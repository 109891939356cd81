"""Cost of one exact link evaluation, beside the Gaussian-state reference, and of a design sweep.

Prints, in one run and on one core (BLAS threads pinned to 1 before numpy loads):

(a) time per ``evaluate_link`` (exact Fock engine + SPEC §2.6 figures), median and
    minimum of REPEATS calls after WARMUP calls, at the Hefei Alice–Bob point of
    the preset (5 µs storage), at a strong asymmetric point (χ = 0.2, μ = 0.3) and
    at the weak corner (χ = herald efficiency = 1e-3);
(b) the baseline: ``gaussian_joint_probabilities`` (mpmath, 30 digits, 32 phase
    nodes) on the Hefei point, and the speed-up of the exact engine over it;
(c) a sweep of SWEEP_POINTS random design points (χ, herald efficiency, read
    efficiency per node over the ranges of issue 2, seeded), in points/s and the
    time 10^5 points would take on one core;
(d) side by side, a loop of single-point ``evaluate_link`` calls and one batch call
    ``evaluate_links``: points/s at Hefei-like points (the preset's link, χ <= 0.02,
    herald and read efficiencies varied) and at χ = 0.2, for batches of 1, 100 and
    10^4 points, and the peak memory (tracemalloc) of the 10^4-point batch. A loop over
    more than LOOP_CAP points is timed on its first LOOP_CAP (a rate either way).

Timings only: nothing is asserted. Run: ``PYTHONPATH=src:. python benchmarks/bench_link_engine.py`` (the repository root for ``tests/oracles``).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from metroqnet.config.link_parameters import LinkParameters  # noqa: E402
from metroqnet.config.presets import load_preset  # noqa: E402
from metroqnet.link.batch import evaluate_links  # noqa: E402
from metroqnet.link.evaluate import evaluate_link  # noqa: E402
from metroqnet.link.fock_engine import joint_tables  # noqa: E402
from metroqnet.experiments.link_setup import link_parameters_from_loop as link_parameters  # noqa: E402

WARMUP = 5
REPEATS = 50
REFERENCE_CALLS = 2
SWEEP_POINTS = 2_000
SWEEP_SEED = 20_240_515
EXTRAPOLATE_POINTS = 100_000

BATCH_SIZES = (1, 100, 10_000)
BATCH_SEED = 20_240_612
LOOP_CAP = 2_000
#: Hefei-like points: per node χ in [0.005, 0.02], herald efficiency x [0.5, 2] of the preset's, read efficiency [0.05, 0.9].
HEFEI_CHI = (0.005, 0.02)

#: Issue 2 ranges of the swept parameters (per node); χ and herald efficiency log-uniform.
SWEEP_RANGES = {
    "excitation_probability": (1e-3, 0.2, "log"),
    "herald_efficiency": (1e-3, 0.5, "log"),
    "read_efficiency": (0.05, 0.9, "linear"),
}


def hefei_point() -> LinkParameters:
    return link_parameters(load_preset("hefei2024"), "alice", "bob", storage_us=5.0)


def strong_point() -> LinkParameters:
    """The asymmetric strong point of tests/test_engine_cross_check.py (χ_x = 0.2, μ_x = 0.3)."""
    return hefei_point().replace(
        excitation_probability_x=0.2, excitation_probability_y=0.05, herald_efficiency_x=0.5,
        herald_efficiency_y=0.01, herald_mode_overlap_x=0.5, read_efficiency_y=0.9, phase_noise_std_rad=1.0,
        probe_mean_photon_number_x=0.3, probe_mode_overlap_y=0.5, local_noise_probability_x=1e-3,
    )


def weak_corner() -> LinkParameters:
    """χ = herald efficiency = 1e-3 (the values of tests/conftest.py WEAK_CORNER)."""
    return LinkParameters.from_mapping(
        dict(
            excitation_probability=1e-3, herald_efficiency=1e-3, herald_noise_probability=0.0,
            read_efficiency=0.05, phase_noise_std_rad=0.3, probe_mean_photon_number=0.005,
            probe_mode_overlap=0.5, local_noise_probability=0.0,
        )
    )


def call_times_s(function: Callable[[], object], *, warmup: int, repeats: int) -> list[float]:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def sweep_points(count: int, seed: int) -> list[dict[str, float]]:
    """``count`` random (χ, herald efficiency, read efficiency) per node, from one seeded Generator."""
    rng = np.random.default_rng(seed)
    columns = {}
    for base, (low, high, scale) in SWEEP_RANGES.items():
        for suffix in ("x", "y"):
            u = rng.random(count)
            columns[f"{base}_{suffix}"] = low * (high / low) ** u if scale == "log" else low + (high - low) * u
    return [{name: float(values[i]) for name, values in columns.items()} for i in range(count)]


def batch_points(base: LinkParameters, count: int, *, chi: float | None, seed: int) -> list[LinkParameters]:
    """``count`` points around ``base``: χ per node uniform in HEFEI_CHI (or fixed at ``chi``), herald efficiency
    x [0.5, 2] of the base's, read efficiency uniform in [0.05, 0.9] (storage time); one seeded Generator."""
    rng = np.random.default_rng(seed)
    columns = {}
    for suffix in ("x", "y"):
        columns[f"excitation_probability_{suffix}"] = (
            rng.uniform(*HEFEI_CHI, count) if chi is None else np.full(count, chi)
        )
        columns[f"herald_efficiency_{suffix}"] = base.node("herald_efficiency", suffix) * 2.0 ** rng.uniform(-1, 1, count)
        columns[f"read_efficiency_{suffix}"] = rng.uniform(0.05, 0.9, count)
    return [base.replace(**{name: float(values[i]) for name, values in columns.items()}) for i in range(count)]


def points_per_s(function: Callable[[], object], count: int, *, repeats: int) -> float:
    """``count`` / median time of ``repeats`` calls (after one warm-up call)."""
    return count / statistics.median(call_times_s(function, warmup=1, repeats=repeats))


def loop_vs_batch(label: str, points: list[LinkParameters]) -> None:
    for size in BATCH_SIZES:
        chosen = points[:size]
        timed = chosen[:LOOP_CAP]
        repeats = 200 if size == 1 else (10 if size <= 100 else 1)
        loop = points_per_s(lambda c=timed: [evaluate_link(p) for p in c], len(timed), repeats=repeats)
        batch = points_per_s(lambda c=chosen: evaluate_links(c), len(chosen), repeats=repeats)
        capped = "*" if len(timed) < size else " "
        print(f"    {label:22s} {size:>6d} {loop:>13,.0f}{capped} {batch:>12,.0f} {batch / loop:>8.1f}x"
              f" {1e3 / batch:>10.3f}")


def peak_memory_mib(function: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> int:
    print(f"bench_link_engine: python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.machine()}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")

    # (a) exact evaluation
    points = {
        "hefei2024 alice-bob, 5 us": hefei_point(),
        "strong: chi 0.2/0.05, mu 0.3": strong_point(),
        "weak corner: chi = eta_h = 1e-3": weak_corner(),
    }
    print(f"\n(a) evaluate_link, median/min of {REPEATS} calls after {WARMUP} warm-up")
    print(f"    {'point':34s} {'cutoff':>6s} {'median ms':>10s} {'min ms':>8s}")
    exact_median_s = {}
    for label, params in points.items():
        times = call_times_s(lambda p=params: evaluate_link(p), warmup=WARMUP, repeats=REPEATS)
        exact_median_s[label] = statistics.median(times)
        cutoff = evaluate_link(params).photon_cutoff
        print(f"    {label:34s} {cutoff:6d} {1e3 * statistics.median(times):10.3f} {1e3 * min(times):8.3f}")

    # (b) baseline: the Gaussian-state reference on the Hefei point
    try:
        from tests.oracles.gaussian_reference import gaussian_joint_probabilities
    except ImportError as error:  # mpmath is a test dependency; the oracle lives in tests/oracles
        print(f"\n(b) Gaussian-state reference skipped: {error}")
    else:
        hefei = points["hefei2024 alice-bob, 5 us"]
        reference: dict = {}
        times = call_times_s(
            lambda: reference.update(gaussian_joint_probabilities(hefei)), warmup=0, repeats=REFERENCE_CALLS
        )
        fock = joint_tables(hefei).tables
        largest_relative = max(
            float(np.max(np.abs(fock[s][b] - reference[s][b]) / np.abs(reference[s][b])))
            for s in fock for b in fock[s]
        )
        median_s = statistics.median(times)
        print(f"\n(b) baseline: gaussian_joint_probabilities (mpmath 30 digits, 32 phase nodes), hefei point")
        print(f"    {REFERENCE_CALLS} calls: median {median_s:.3f} s, min {min(times):.3f} s;"
              f" exact engine {1e3 * exact_median_s['hefei2024 alice-bob, 5 us']:.3f} ms"
              f" -> speed-up x{median_s / exact_median_s['hefei2024 alice-bob, 5 us']:,.0f}"
              f" (largest relative difference of the joint tables {largest_relative:.1e})")

    # (c) design sweep
    base = points["hefei2024 alice-bob, 5 us"]
    designs = sweep_points(SWEEP_POINTS, SWEEP_SEED)
    evaluate_link(base.replace(**designs[0]))  # warm the engine's caches
    start = time.perf_counter()
    for design in designs:
        evaluate_link(base.replace(**design))
    elapsed_s = time.perf_counter() - start
    rate = SWEEP_POINTS / elapsed_s
    ranges = ", ".join(f"{name} [{low:g}, {high:g}]{' log' if scale == 'log' else ''}"
                       for name, (low, high, scale) in SWEEP_RANGES.items())
    print(f"\n(c) sweep: {SWEEP_POINTS} random points (seed {SWEEP_SEED}; per node {ranges})")
    print(f"    {elapsed_s:.2f} s, {rate:,.0f} points/s, {1e3 / rate:.2f} ms/point;"
          f" {EXTRAPOLATE_POINTS:.0e} points on one core: {EXTRAPOLATE_POINTS / rate / 60:.1f} min")
    swept = [base.replace(**design) for design in designs]
    start = time.perf_counter()
    evaluate_links(swept)
    batch_rate = SWEEP_POINTS / (time.perf_counter() - start)
    print(f"    the same points in one evaluate_links call: {batch_rate:,.0f} points/s;"
          f" {EXTRAPOLATE_POINTS:.0e} points: {EXTRAPOLATE_POINTS / batch_rate / 60:.1f} min")

    # (d) single-point loop against the batch engine
    largest = max(BATCH_SIZES)
    sets = {
        "hefei-like, chi<=0.02": batch_points(base, largest, chi=None, seed=BATCH_SEED),
        "chi = 0.2": batch_points(base, largest, chi=0.2, seed=BATCH_SEED + 1),
    }
    print(f"\n(d) evaluate_link loop vs evaluate_links batch, points/s (one core; seed {BATCH_SEED};"
          f" * = loop timed on its first {LOOP_CAP} points)")
    print(f"    {'points':22s} {'batch':>6s} {'loop pts/s':>14s} {'batch pts/s':>12s} {'speed-up':>9s}"
          f" {'ms/point':>10s}")
    for label, chosen in sets.items():
        loop_vs_batch(label, chosen)
    for label, chosen in sets.items():
        cutoffs = sorted(set(evaluate_links(chosen[:200]).photon_cutoff.tolist()))
        peak = peak_memory_mib(lambda c=chosen: evaluate_links(c))
        print(f"    peak memory of the {largest}-point batch, {label}: {peak:.1f} MiB (tracemalloc;"
              f" photon cutoffs {cutoffs[0]}..{cutoffs[-1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
