"""Run every ``benchmarks/bench_*.py`` with this interpreter; exit non-zero if any fails.

    python benchmarks/run_all.py            # all of them
    python benchmarks/run_all.py link_engine  # only bench_link_engine.py (names with or without bench_)

The repository's ``src`` is put first on ``PYTHONPATH``, so the benchmarks time this checkout; the
repository root follows it, for the test oracles (``tests/oracles``) that some benchmarks compare with.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = ROOT / "src"


def select(names: list[str]) -> list[Path]:
    benches = sorted(HERE.glob("bench_*.py"))
    if not names:
        return benches
    by_name = {path.stem: path for path in benches} | {path.stem.removeprefix("bench_"): path for path in benches}
    unknown = [name for name in names if name.removesuffix(".py") not in by_name]
    if unknown:
        raise SystemExit(f"run_all: unknown benchmark(s) {', '.join(unknown)}; available: "
                         f"{', '.join(path.stem for path in benches)}")
    return [by_name[name.removesuffix(".py")] for name in names]


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), str(ROOT), env.get("PYTHONPATH")]))
    failed = []
    for path in select(argv):
        print(f"=== {path.name}", flush=True)
        start = time.perf_counter()
        status = subprocess.run([sys.executable, str(path)], env=env, check=False).returncode
        print(f"=== {path.name}: {'ok' if status == 0 else f'FAILED (exit {status})'} "
              f"in {time.perf_counter() - start:.1f} s\n", flush=True)
        if status != 0:
            failed.append(path.name)
    if failed:
        print(f"run_all: {len(failed)} benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
