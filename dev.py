#!/usr/bin/env python3
"""Bootstrap and run metroqnet with nothing but Python >= 3.11.

    python3 dev.py run      # the main job: the paper regenerated from the Hefei 2024 preset (metroqnet-report/)
    python3 dev.py test     # the test suite (extra arguments go to pytest)
    python3 dev.py bench    # the benchmarks

Creates ``.venv`` next to this file on first use and installs the package with
its test extra into it; reinstalls only when ``pyproject.toml`` changes. ``test`` also
installs Chromium (Debian's package, with apt-get as root) for the report's browser test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".metroqnet-install"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"metroqnet needs Python >= 3.11; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as error:  # e.g. Debian without python3-venv
            sys.exit(f"could not create {VENV} ({error}); install your system's venv package (python3-venv)")
    print("installing metroqnet and its test dependencies", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def ensure_browser() -> None:
    """The report's browser test renders report.html in headless Chromium: install Debian's package if missing."""
    if any(shutil.which(name) for name in BROWSERS):
        return
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("note: no Chromium here and no apt-get as root to install it; the report's browser test is skipped "
              "(install Chromium to run it)", flush=True)
        return
    print("installing chromium (Debian's package) for the report's browser test", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "chromium"]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run(install, **quiet).returncode != 0:
        subprocess.run([apt, "update", "-qq"], **quiet)
        if subprocess.run(install, **quiet).returncode != 0:
            print("note: apt-get could not install chromium; the report's browser test is skipped", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "bench"}:
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "run":
        cmd = [str(BIN / "metroqnet"), *(rest or ["reproduce", "--out", "metroqnet-report", "--overwrite"])]
    elif command == "test":
        ensure_browser()
        cmd = [str(PYTHON), "-m", "pytest", *rest]
    else:
        cmd = [str(PYTHON), str(ROOT / "benchmarks" / "run_all.py"), *rest]
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
