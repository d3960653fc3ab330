"""How long the command line takes to start: ``okrsync --help`` and ``okrsync validate``.

Each command runs ``--runs`` times in a fresh interpreter (the installed
``okrsync`` script of this environment); the report gives the fastest and the
median wall time and CPU time (user + system of the child), the load average
before and after (the machine may be shared: wall time moves with it, CPU
time much less), and the slowest imports of ``import okrsync.cli`` as
``python -X importtime`` measures them. Targets (issue 13): ``--help`` at
most 0.3 s, ``validate`` of the shipped mappings at most 0.8 s.

Run: ``uv run python bench/startup.py [--runs 9]``
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("okrsync")
COMMANDS = {
    "okrsync --help": [str(SCRIPT), "--help"],
    "okrsync validate": [
        str(SCRIPT),
        "validate",
        "--config",
        str(ROOT / "config" / "okrsync.yaml"),
        "--mappings",
        str(ROOT / "mappings"),
    ],
}
TARGETS = {"okrsync --help": 0.3, "okrsync validate": 0.8}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)  # noqa: S603
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _imports(top: int) -> list[tuple[int, str]]:
    """The ``top`` slowest imports of ``import okrsync.cli`` (cumulative µs, module)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import okrsync.cli"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():  # noqa: PLR2004
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    """Measure and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command")
    args = parser.parse_args(argv)
    print(f"load average before: {_load()} ({os.cpu_count()} CPUs)")
    for argv_ in COMMANDS.values():  # warm the file cache once
        _once(argv_)
    print("| command | runs | wall min s | wall median s | CPU min s | CPU median s | target s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, command in COMMANDS.items():
        runs = [_once(command) for _ in range(args.runs)]
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"| `{name}` | {args.runs} | {min(walls):.3f} | {statistics.median(walls):.3f} "
            f"| {min(cpus):.3f} | {statistics.median(cpus):.3f} | {TARGETS[name]:.1f} |",
            flush=True,
        )
    print(f"load average after: {_load()}")
    print("\nslowest imports of `import okrsync.cli` (cumulative, python -X importtime):")
    for micros, module in _imports(8):
        print(f"  {micros / 1000:7.1f} ms {module}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
