"""Speed and memory of the link sampler on the Hefei Alice–Bob link (5 µs), beside SeQUeNCe.

Prints, in one run and on one core (BLAS threads pinned to 1 before numpy loads),
for the preset ``hefei2024`` experiment ``storage_5us``:

(a) trials per second with herald skipping (``LinkSampler(params).sample(N)``)
    for N = 76 h of the link at 2.76 kHz (7.55e8 trials), and that run's wall time
    (issue 3 targets: >= 1e9 trial-equivalents/s, 76 h in < 10 s);
(b) trials per second with every trial's phase drawn
    (``GaussianPhase(std_rad=σ, every_trial=True)``), N = 5e7 (target >= 1e7/s);
(c) peak resident memory (``resource.getrusage(...).ru_maxrss``, and VmHWM of
    /proc/self/status beside it) of a fresh process that imports, compiles and
    samples 0 (compile only), 1e8, 1e9 and 1e10 trials with skipping (target
    < 500 MB, not growing with the trials);
(d) the baseline: the closest SeQUeNCe model of this link
    (``benchmarks/sequence_single_heralded.py``: its Fock-formalism SPDC sources,
    absorptive memories and single-click interference herald, on the same χ, herald
    and read efficiencies and noise), once with a fixed read-out phase and once
    with a random phase per shot, in attempts/s, and the ratio of metroqnet's
    trials/s to them. If no SeQUeNCe interpreter is found or it fails, a
    "skipped: <reason>" line and the issue's reference figures (not measured here).

SeQUeNCe needs Python >= 3.12, so it runs in its own interpreter: the one named by
``METROQNET_SEQUENCE_PYTHON``, else ``.bench-envs/sequence/bin/python`` under the
repository (ignored by git). Create it with::

    python3.12 -m venv .bench-envs/sequence
    .bench-envs/sequence/bin/pip install sequence "scipy<1.18"

(SciPy 1.18's ``sqrtm`` breaks SeQUeNCe 1.3.1's Fock measurement; see the
docstring of ``sequence_single_heralded.py``.)

Timings only: nothing is asserted. Run: ``PYTHONPATH=src python benchmarks/bench_sampler.py``
or ``python benchmarks/run_all.py sampler``.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from metroqnet.config.presets import load_preset  # noqa: E402
from metroqnet.experiments.link_setup import experiment_link_parameters  # noqa: E402
from metroqnet.sampling.link_sampler import LinkSampler  # noqa: E402
from metroqnet.sampling.phase_processes import GaussianPhase  # noqa: E402

PRESET = "hefei2024"
EXPERIMENT = "storage_5us"
SEED = 20_240_515
LAB_HOURS = 76.0
S_PER_H = 3600.0
EVERY_TRIAL_TRIALS = 50_000_000
WARMUP_TRIALS = 1_000_000
MEMORY_TRIALS = (0, 10**8, 10**9, 10**10)
KIB_PER_MB = 1024.0  # ru_maxrss is in KiB on Linux; MB here means MiB

REPOSITORY = Path(__file__).resolve().parent.parent
SEQUENCE_SCRIPT = Path(__file__).resolve().parent / "sequence_single_heralded.py"
SEQUENCE_PYTHON_VARIABLE = "METROQNET_SEQUENCE_PYTHON"
SEQUENCE_DEFAULT_PYTHON = REPOSITORY / ".bench-envs" / "sequence" / "bin" / "python"
#: Attempts per SeQUeNCe run and the wall-time cap of each (it stops after the round that passes it).
SEQUENCE_RUNS = {"fixed": dict(attempts=2000, max_seconds=20.0), "random": dict(attempts=1500, max_seconds=20.0)}
SEQUENCE_TIMEOUT_S = 120
#: Issue 3: SeQUeNCe's Fock-formalism single-click model on a 2-core machine (not measured here).
REFERENCE_ATTEMPTS_PER_S = {"fixed": 150.0, "random": 11.0}


def hefei():
    network = load_preset(PRESET)
    return network, experiment_link_parameters(network, EXPERIMENT)


def timed_sample(sampler: LinkSampler, trials: int) -> tuple[float, int]:
    """Wall seconds of ``sampler.sample(trials)`` and the heralds it drew."""
    start = time.perf_counter()
    record = sampler.sample(trials, seed=SEED)
    return time.perf_counter() - start, int(record.counts.sum())


def high_water_kib() -> int | None:
    """VmHWM of /proc/self/status (Linux): the peak RSS of this process's own address space."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return None


def memory_child(trials: int) -> None:
    """In a fresh process: compile the Hefei sampler, sample ``trials``, print peak RSS as JSON."""
    _, params = hefei()
    sampler = LinkSampler(params)
    seconds, heralds = timed_sample(sampler, trials) if trials else (0.0, 0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"trials": trials, "seconds": seconds, "heralds": heralds, "peak_kib": peak_kib,
                      "high_water_kib": high_water_kib()}))


#: Linux keeps ru_maxrss across fork and exec, so a child started by this (large) process would report
#: at least this process's RSS. A bare Python in between, with nothing imported, starts it instead.
TRAMPOLINE = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"


def peak_memory(trials: int) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", TRAMPOLINE, sys.executable, str(Path(__file__).resolve()), "--memory-child",
         str(trials)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def sequence_python() -> tuple[Path | None, str]:
    """The SeQUeNCe interpreter and where it came from, or None and why not."""
    named = os.environ.get(SEQUENCE_PYTHON_VARIABLE)
    if named:
        path = Path(named)
        return (path, f"${SEQUENCE_PYTHON_VARIABLE}") if path.exists() else (
            None, f"${SEQUENCE_PYTHON_VARIABLE}={named} does not exist")
    if SEQUENCE_DEFAULT_PYTHON.exists():
        return SEQUENCE_DEFAULT_PYTHON, str(SEQUENCE_DEFAULT_PYTHON.relative_to(REPOSITORY))
    return None, (f"no SeQUeNCe interpreter: set ${SEQUENCE_PYTHON_VARIABLE} or create "
                  f"{SEQUENCE_DEFAULT_PYTHON.relative_to(REPOSITORY)} (see this script's docstring)")


def sequence_config(network, params) -> dict:
    """The link for sequence_single_heralded.py (symmetric link: the X node's values)."""
    storage_us = network.experiment(EXPERIMENT).storage_us
    return {
        "storage_us": storage_us,
        "excitation_probability": params.excitation_probability_x,
        "herald_efficiency": params.herald_efficiency_x,
        "snspd_efficiency": network.server.snspd_efficiency,
        "herald_noise_probability": params.herald_noise_probability,
        "read_efficiency": params.read_efficiency_x,
        "local_detector_efficiency": network.node(network.experiment(EXPERIMENT).nodes[0]).local_detector_efficiency,
        "local_noise_probability": params.local_noise_probability_x,
        "phase_noise_std_rad": params.phase_noise_std_rad,
        "seed": SEED % 1000,
    }


def run_sequence(python: Path, config: dict) -> dict:
    """One SeQUeNCe run; raises RuntimeError with the reason if it fails."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        completed = subprocess.run(
            [str(python), str(SEQUENCE_SCRIPT), json.dumps(config)],
            capture_output=True, text=True, env=env, timeout=SEQUENCE_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(str(error)) from error
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        raise RuntimeError(f"exit {completed.returncode}: {lines[-1] if lines else 'no output'}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    network, params = hefei()
    rate_hz = params.repetition_rate_hz
    lab_trials = round(LAB_HOURS * S_PER_H * rate_hz)
    print(f"bench_sampler: python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.machine()}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"link: {PRESET} {EXPERIMENT} (alice-bob, 5 us), chi {params.excitation_probability_x:g}, "
          f"herald eff {params.herald_efficiency_x:.4f}, herald noise {params.herald_noise_probability:.3g}, "
          f"read eff {params.read_efficiency_x:.4f}, phase std {params.phase_noise_std_rad:.3f} rad, "
          f"{rate_hz / 1e3:g} kHz")

    # (a) herald skipping
    start = time.perf_counter()
    sampler = LinkSampler(params)
    compile_s = time.perf_counter() - start
    sampler.sample(WARMUP_TRIALS, seed=SEED)
    skip_s, skip_heralds = timed_sample(sampler, lab_trials)
    skip_rate = lab_trials / skip_s
    print(f"\n(a) herald skipping: compile {1e3 * compile_s:.1f} ms, herald probability "
          f"{sampler.herald_probability:.3e}")
    print(f"    {lab_trials:.3e} trials = {lab_trials / rate_hz / S_PER_H:.1f} h of the link at {rate_hz / 1e3:g} kHz: "
          f"{skip_s:.2f} s ({skip_heralds:,} heralds), {skip_rate:.3e} trial-equivalents/s "
          f"[targets: < 10 s, >= 1e9/s]")

    # (b) every trial's phase drawn
    every = LinkSampler(params, phase_process=GaussianPhase(std_rad=params.phase_noise_std_rad, every_trial=True))
    every.sample(WARMUP_TRIALS, seed=SEED)
    every_s, every_heralds = timed_sample(every, EVERY_TRIAL_TRIALS)
    every_rate = EVERY_TRIAL_TRIALS / every_s
    print(f"\n(b) every trial's phase drawn (GaussianPhase every_trial=True): {EVERY_TRIAL_TRIALS:.1e} trials in "
          f"{every_s:.2f} s ({every_heralds:,} heralds), {every_rate:.3e} trials/s [target >= 1e7/s]")

    # (c) peak memory of a fresh process
    print("\n(c) peak RSS of a fresh process (import + compile + sample, herald skipping) [target < 500 MB]")
    print(f"    {'trials':>11s} {'sample s':>9s} {'heralds':>12s} {'ru_maxrss MB':>13s} {'VmHWM MB':>9s}")
    for trials in MEMORY_TRIALS:
        child = peak_memory(trials)
        label = f"{trials:.0e}" if trials else "0 (compile)"
        own = child["high_water_kib"]
        print(f"    {label:>11s} {child['seconds']:9.2f} {child['heralds']:12,d} "
              f"{child['peak_kib'] / KIB_PER_MB:13.1f} {own / KIB_PER_MB if own else float('nan'):9.1f}")

    # (d) SeQUeNCe
    rates = {"metroqnet, herald skipping": skip_rate, "metroqnet, every trial's phase": every_rate}
    print("\n(d) baseline: SeQUeNCe (benchmarks/sequence_single_heralded.py), every attempt simulated")
    python, origin = sequence_python()
    measured: dict[str, dict] = {}
    reason = origin if python is None else ""
    if python is not None:
        config = sequence_config(network, params)
        print(f"    interpreter {origin}; Fock truncation 2, 100 attempts per round; SPDC mean photon number "
              f"chi/(1-chi) = {config['excitation_probability'] / (1 - config['excitation_probability']):.5f}, "
              f"herald channel x SNSPD = {config['herald_efficiency']:.4f}, memory x local detector = "
              f"{config['read_efficiency']:.4f}, noise per attempt bin {config['herald_noise_probability']:.3g} "
              f"(server) / {config['local_noise_probability']:.3g} (read-out)")
        for phase, run in SEQUENCE_RUNS.items():
            try:
                measured[phase] = run_sequence(python, {**config, **run, "phase": phase})
            except RuntimeError as error:
                reason = f"SeQUeNCe run ({phase} phase) failed: {error}"
                break
    if reason:
        print(f"    skipped: {reason}")
    labels = {"fixed": "fixed read-out phase", "random": "random phase per shot"}
    for phase, result in measured.items():
        print(f"    SeQUeNCe {result['sequence_version']}, {labels[phase]:21s}: {result['attempts']:,} attempts in "
              f"{result['seconds']:.1f} s, {result['attempts_per_s']:,.1f} attempts/s "
              f"({sum(result['heralds_plus_minus'])} heralds; {result['attempts_at_server']:,} reached the server, "
              f"{result['attempts_read_out']:,} were read out)")
    print("    reference (issue 3, SeQUeNCe Fock single-click model on a 2-core machine; not measured here): "
          + ", ".join(f"{labels[phase]} ~{value:g} attempts/s" for phase, value in REFERENCE_ATTEMPTS_PER_S.items()))

    print(f"\n    ratio of trials/s, metroqnet / SeQUeNCe")
    columns = {**{f"SeQUeNCe {phase} (measured)": r["attempts_per_s"] for phase, r in measured.items()},
               **{f"reference {phase} (issue 3)": v for phase, v in REFERENCE_ATTEMPTS_PER_S.items()}}
    print(f"    {'':32s}" + "".join(f"{name:>28s}" for name in columns))
    for name, rate in rates.items():
        print(f"    {name:32s}" + "".join(f"{f'x{rate / baseline:.3g}':>28s}" for baseline in columns.values()))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        memory_child(int(sys.argv[2]))
        raise SystemExit(0)
    raise SystemExit(main())
