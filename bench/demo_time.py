"""Wall time of ``okrsync demo``: the whole loop over a quarter of weekly check-ins.

The demo's test (``tests/test_demo.py``) checks what it does; how long it takes
is measured here, where a slow shared machine does not fail a test. Prints the
seconds of each phase and in all.

Run: ``uv run python bench/demo_time.py [--size 6000] [--weeks 8]``
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from rich.console import Console

from okrsync.logging import configure_logging
from okrsync_sandbox.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the demo quietly and print how long it took."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=6000, help="rows per sandbox CRM")
    parser.add_argument("--weeks", type=int, default=None, help="weeks of check-ins (all: 8)")
    args = parser.parse_args()
    configure_logging("warning", "console")
    began = time.monotonic()
    summary = run_demo(
        ROOT / "mappings",
        size=args.size,
        weeks=args.weeks,
        console=Console(file=io.StringIO(), width=80),
    )
    seconds = time.monotonic() - began
    reports = summary["reports"]
    print(f"demo: size {args.size}, {len(reports)} runs (first sync + weekly check-ins)")
    print(f"wall time: {seconds:.1f} s ({seconds / len(reports):.2f} s a run on average)")


if __name__ == "__main__":
    main()
