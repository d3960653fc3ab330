"""How fast the sandbox data set generates, and whether its memory stays flat.

Each size runs in a fresh process that generates every record of every kind as of
2026-11-21, counting and dropping them as a loader streaming into a store would:

* a timed pass gives rows per second (and seconds per kind);
* a second pass under ``tracemalloc`` gives the peak of memory allocated while
  generating (the `Dataset` itself is built first and reported apart: it holds the
  users, at most 3 000, and a few tables; ``--quick`` skips this slower pass);
* ``ru_maxrss`` is the process's peak resident size, interpreter included.

Run: ``uv run python bench/dataset_speed.py [--quick] [small medium large 12345 ...]``
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import multiprocessing
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from okrsync_sandbox.dataset import SIZES, Dataset

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from multiprocessing.queues import Queue

AS_OF = datetime(2026, 11, 21, tzinfo=UTC)
SEED = 42


def _views(ds: Dataset) -> Iterator[tuple[str, Iterable[object]]]:
    yield "teams", ds.teams()
    yield "users", ds.users()
    yield "accounts", ds.accounts(AS_OF)
    yield "deals", ds.deals(AS_OF)
    yield "leads", ds.leads(AS_OF)
    yield "activities", ds.activities(AS_OF)
    yield "cases", ds.cases(AS_OF)
    yield "nps_responses", ds.nps_responses(AS_OF)


def _measure(size: str | int, trace: bool, out: Queue[dict[str, Any]]) -> None:
    """Generate everything in this fresh process: timed, then (optionally) traced."""
    result: dict[str, Any] = {"size": size}
    start = time.perf_counter()
    ds = Dataset(SEED, size)
    per_kind: dict[str, float] = {}
    rows = 0
    for kind, records in _views(ds):
        t = time.perf_counter()
        rows += sum(1 for _ in records)
        per_kind[kind] = time.perf_counter() - t
    result |= {
        "planned": ds.total_rows,
        "rows": rows,
        "seconds": time.perf_counter() - start,
        "per_kind": per_kind,
    }
    if trace:
        tracemalloc.start()
        traced = Dataset(SEED, size)
        result["dataset_bytes"] = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for _, records in _views(traced):
            for _ in records:
                pass
        result["generation_peak_bytes"] = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put(result)


def _size(arg: str) -> str | int:
    return int(arg) if arg.isdigit() else arg


def main(args: list[str]) -> None:
    """Measure each size in its own process and print one line per size."""
    trace = "--quick" not in args
    sizes = [_size(a) for a in args if a != "--quick"] or list(SIZES)
    context = multiprocessing.get_context("spawn")
    print(f"seed {SEED}; every record of every kind as of {AS_OF:%Y-%m-%d}")
    header = f"{'size':>7} {'planned':>8} {'rows':>8} {'seconds':>7} {'rows/s':>7} {'maxrss':>9}"
    if trace:
        header += f" {'dataset':>9} {'generation peak':>15}"
    print(header)
    for size in sizes:
        queue: Queue[dict[str, Any]] = context.Queue()
        process = context.Process(target=_measure, args=(size, trace, queue))
        process.start()
        r = queue.get()
        process.join()
        line = (
            f"{r['size']!s:>7} {r['planned']:>8} {r['rows']:>8} {r['seconds']:>7.2f}"
            f" {r['rows'] / r['seconds']:>7.0f} {r['maxrss_kib'] / 1024:>5.1f} MiB"
        )
        if trace:
            line += (
                f" {r['dataset_bytes'] / 1024:>5.0f} KiB"
                f" {r['generation_peak_bytes'] / 1024:>11.0f} KiB"
            )
        print(line)
        print("        " + ", ".join(f"{k} {v:.2f}s" for k, v in r["per_kind"].items()))


if __name__ == "__main__":
    main(sys.argv[1:])
