#!/usr/bin/env python3
"""Developer tasks that need nothing but Python >= 3.11 and pip.

    python3 ./tasks.py demo    install, run the demo, then serve the API on it (--no-serve: do not)
    python3 ./tasks.py test    install into .venv (with dev tools), then run the whole test suite
    python3 ./tasks.py lint    ruff check, ruff format --check, mypy --strict src/, the import layering
    python3 ./tasks.py bench   run every benchmark in benchmarks/ and print the numbers

The virtual environment is (re)installed only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_installed() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (tasks.py runs under any python3 the machine has)
        sys.exit("lendcore needs Python 3.11 or newer")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
        run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        run(PY, "-m", "pip", "install", "-q", "-e", ".[dev]")
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()


def demo() -> None:
    run(BIN / "lendcore", "demo", *sys.argv[2:])


def test() -> None:
    # -n 2: this project's CI machine has two cores.
    run(PY, "-m", "pytest", "-n", "2", "-q", *sys.argv[2:])


def lint() -> None:
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "tasks.py")
    run(BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "tasks.py")
    run(BIN / "mypy", "--strict", "src/")
    run(BIN / "lint-imports")  # the layering contracts in pyproject.toml


def bench() -> None:
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        run(PY, script, *sys.argv[2:])


TASKS = {"demo": demo, "test": test, "lint": lint, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(__doc__)
    ensure_installed()
    TASKS[sys.argv[1]]()
