"""okrsync against its floors and a naive per-KR script, on the sandbox CRMs.

For each CRM size (rows per CRM), round-trip time and number of key results:
the sandbox CRMs run in their own process (so the cycle's memory is okrsync's
alone); each cycle runs in a fresh process: cold, warm with no change, warm
after the CRMs moved forward a day (about 1 % of rows changed, deletions
listed: they are due daily), warm again 15 minutes later (a daemon's usual
interval: deletions not due); then a naive
per-KR script runs against the same CRMs. Calls come from the sandbox's own
accounting (admin ``/stats``), not from okrsync.

Run: ``uv run python bench/run.py [--sizes 10000,100000] [--krs 20,500] [--rtt 0,50]
[--out docs/benchmarks.md] [--breakdown]``

``--breakdown`` puts ``breakdown: owner`` on every key result: each is also
computed per owner (one grouped query per object) and written as one
contribution per owner; the floor counts those writes like any other.
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import queue as queue_module
import resource
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mappings import write_mappings

AS_OF = datetime(2026, 9, 14, 12, tzinfo=UTC)
"""The sandbox's "now" for the cold cycle (a Monday in the third quarter)."""
CHANGE_DAYS = 1
"""How far the CRMs move forward before the change cycle."""
QUARTER = timedelta(minutes=15)
"""How far they move again before the quarter-hour cycle (a daemon's usual interval)."""
SEED = 7
SEARCH_RPS = 10.0
"""okrsync's HubSpot search pacing in the benchmark (the connector's maximum)."""
SF_PAGE, HS_PAGE = 2000, 200
SF_BATCH, HS_BATCH = 200, 100
PAGE = {"salesforce": SF_PAGE, "hubspot": HS_PAGE}
BATCH = {"salesforce": SF_BATCH, "hubspot": HS_BATCH}
ROOT = Path(__file__).resolve().parent.parent


# -- the sandbox process -------------------------------------------------------------


def _sandbox_main(size: int, rtt: float, folder: str, out: Any, stop: Any) -> None:
    from okrsync_sandbox.faults import FaultSpec  # noqa: PLC0415
    from okrsync_sandbox.runner import start_sandboxes, write_config  # noqa: PLC0415
    from okrsync_sandbox.server import SandboxOptions  # noqa: PLC0415

    began = time.perf_counter()
    options = SandboxOptions(
        seed=SEED,
        size=size,
        as_of=AS_OF,
        faults=FaultSpec(latency_ms=rtt),
        extra={
            "search_per_second": 1000,
            "ten_second_limit": 1_000_000,
            "daily_limit": 100_000_000,
            "daily_api_requests": 100_000_000,
        },
    )
    group = start_sandboxes(options)
    config = Path(folder) / "okrsync.yaml"
    write_config(group, config, store_url=f"sqlite:///{Path(folder) / 'state.db'}")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            "  hubspot:\n", f"  hubspot:\n    search_requests_per_second: {SEARCH_RPS}\n", 1
        ),
        encoding="utf-8",
    )
    info = group.info()
    out.put({"info": info, "config": str(config), "seconds": time.perf_counter() - began})
    stop.wait()
    group.stop()


class Sandbox:
    """The sandbox CRMs in a child process, reached through the admin API."""

    def __init__(self, size: int, rtt: float, folder: Path) -> None:
        ctx = mp.get_context("spawn")
        self.queue = ctx.Queue()
        self.stop_event = ctx.Event()
        self.proc = ctx.Process(
            target=_sandbox_main, args=(size, rtt, str(folder), self.queue, self.stop_event)
        )
        self.proc.start()
        ready = self.queue.get(timeout=3600)
        self.info = ready["info"]
        self.config = Path(ready["config"])
        self.start_seconds = ready["seconds"]
        self.admin = self.info["admin_url"]
        self.moment = AS_OF
        self.mono = time.monotonic()  # the sandbox clock started about now (it runs in real time)

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        method = "GET" if body is None else "POST"
        req = urllib.request.Request(f"{self.admin}{path}", data=data, method=method)  # noqa: S310
        with urllib.request.urlopen(req, timeout=3600) as reply:  # noqa: S310
            return json.loads(reply.read())

    def stats(self) -> dict[str, Any]:
        """Calls, records written and faults counted since the last reset."""
        return self._call("/stats")

    def reset(self) -> None:
        """Forget what was counted."""
        self._call("/reset", {})

    def advance(self, moment: datetime) -> Any:
        """Move the CRMs' clocks and data to ``moment``."""
        self.mono = time.monotonic()
        self.moment = moment
        return self._call("/advance", {"as_of": moment.isoformat()})

    def rss_kib(self) -> int:
        """Peak resident size of the sandbox process (KiB)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="utf-8")
        except OSError:
            return 0
        return next(
            (int(line.split()[1]) for line in text.splitlines() if line.startswith("VmHWM")), 0
        )

    def close(self) -> None:
        """Stop the sandbox process."""
        self.stop_event.set()
        self.proc.join(timeout=60)
        if self.proc.is_alive():
            self.proc.terminate()


# -- a cycle in a fresh process ------------------------------------------------------------


def _by_owner(app: Any, engine: Any, krs: list[Any], day: date) -> dict[str, Any]:
    """Time of the per-owner evaluation of the key results broken down, and owners seen."""
    from okrsync.breakdown import evaluate_by_owner  # noqa: PLC0415

    owned = [kr for kr in krs if kr.by_owner]
    if not owned:
        return {"eval_by_owner": None, "owners": 0, "by_owner_errors": 0}
    t = time.perf_counter()
    found = evaluate_by_owner(app.db, engine.replica, owned, day, owner_fields(engine))
    seconds = time.perf_counter() - t
    owners = {o for values in found.values() for o in values.values if o is not None}
    errors = sum(1 for values in found.values() if values.error)
    return {"eval_by_owner": seconds, "owners": len(owners), "by_owner_errors": errors}


def owner_fields(engine: Any) -> dict[tuple[str, str], str]:
    """The owner field of each replicated object whose key results are computed per owner."""
    from okrsync.connector import RecordOwners  # noqa: PLC0415
    from okrsync.plan import build_plan  # noqa: PLC0415

    out: dict[tuple[str, str], str] = {}
    for (connector, obj), plan in build_plan(engine.mappings).objects.items():
        found = engine.connectors.get(connector)
        if plan.owned and isinstance(found, RecordOwners):
            name = found.owner_field(obj)
            if name is not None:
                out[connector, obj] = name
    return out


def _cycle_main(job: dict[str, Any], out: Any) -> None:
    import logging  # noqa: PLC0415

    import structlog  # noqa: PLC0415

    from okrsync.app import App, connect, load_config, load_mappings_for  # noqa: PLC0415
    from okrsync.compute import evaluate  # noqa: PLC0415
    from okrsync.crm_objects import OKR_OBJECTS  # noqa: PLC0415
    from okrsync.logging import configure_logging  # noqa: PLC0415, F401
    from okrsync.plan import build_plan  # noqa: PLC0415
    from okrsync.plugins import PluginRegistry  # noqa: PLC0415
    from okrsync.state.db import open_store  # noqa: PLC0415

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    origin = datetime.fromisoformat(job["moment"])
    mono = job["mono"]

    def clock() -> datetime:
        return origin + timedelta(seconds=time.monotonic() - mono)

    registry = PluginRegistry.from_entry_points()
    settings = load_config(
        Path(job["config"]), Path(job["mappings"]), registry=registry, env={}, log=False
    )
    loaded = load_mappings_for(settings, registry)
    db_url = f"sqlite:///{job['db']}"
    app = App(
        settings,
        registry,
        loaded,
        db := open_store(db_url),
        connect(settings, registry, set(settings.connectors), clock, db),
        clock,
    )
    day = date.fromisoformat(job["as_of"])
    result: dict[str, Any] = {}
    if job["kind"] == "provision":
        for connector in app.connectors.values():
            connector.provision(OKR_OBJECTS)
    elif job["kind"] == "naive":
        from naive import run_naive  # noqa: PLC0415

        from okrsync.crm_objects import KEY_RESULT  # noqa: PLC0415

        names = {
            name: {
                "object": c.physical_name(KEY_RESULT.name),
                "key": c.physical_name(KEY_RESULT.name, "key"),
                "value": c.physical_name(KEY_RESULT.name, "current_value"),
            }
            for name, c in app.connectors.items()
        }
        result = run_naive(list(loaded.key_results()), day, job["info"], names, SEARCH_RPS)
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.perf_counter()
        engine = app.engine()
        report = engine.run("sync", day)
        wall = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        krs = list(loaded.key_results())
        t = time.perf_counter()
        values = evaluate(app.db, engine.replica, krs, day)
        evaluation_full = time.perf_counter() - t
        by_owner = _by_owner(app, engine, krs, day)
        rows: dict[str, int] = {}
        with app.db.connect() as conn:
            for connector, obj in build_plan(loaded).objects:
                table = engine.replica.get(connector, obj)
                rows[f"{connector}:{obj}"] = table.count(conn) if table else 0
        result = {
            "outcome": report.outcome,
            "error": report.error,
            "wall": wall,
            "pulled": report.pulled,
            "pulled_by_object": report.pulled_by_object,
            "api_calls": report.api_calls,
            "writes": report.writes.as_dict(),
            "rows": rows,
            "eval": report.seconds.get("compute", 0.0),
            "eval_full": evaluation_full,
            "steps": dict(report.seconds),
            **by_owner,
            "contributions": sum(len(b.contributions) for b in report.breakdowns.values()),
            "values_with_error": sum(1 for v in values.values() if v.error),
            "rss_before_kib": base,
            "rss_peak_kib": peak,
            "db_bytes": Path(job["db"]).stat().st_size,
        }
    app.close()
    out.put(result)


def base_job(box: Sandbox, mappings: Path, folder: Path) -> dict[str, Any]:
    """What every cycle's job of one scenario shares: config, mappings, store, sandbox."""
    return {
        "config": str(box.config),
        "mappings": str(mappings),
        "db": str(folder / "state.db"),
        "info": box.info,
    }


def job_for(box: Sandbox, base: dict[str, Any], kind: str) -> dict[str, Any]:
    """A cycle's job: ``base`` with its kind and the sandbox's moment."""
    return base | {
        "kind": kind,
        "moment": box.moment.isoformat(),
        "mono": box.mono,
        "as_of": box.moment.date().isoformat(),
    }


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in a fresh (spawned) process and return its result."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_cycle_main, args=(job, queue))
    proc.start()
    try:
        while True:
            try:
                return queue.get(timeout=1)
            except queue_module.Empty:
                if not proc.is_alive():
                    msg = f"{job['kind']} process failed (exit {proc.exitcode})"
                    raise RuntimeError(msg) from None
    finally:
        proc.join(timeout=60)


# -- floors ------------------------------------------------------------------------------------


def _written(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {crm: dict(entry.get("records_written", {})) for crm, entry in stats.items()}


def _calls(stats: dict[str, Any]) -> int:
    return sum(int(entry.get("calls", 0)) for entry in stats.values())


BULK_SET = {"salesforce": 100_000, "hubspot": 1_000_000}
"""Rows per Bulk API 2.0 result set (okrsync asks 100 000) and per export file."""


def bulk_minimum(crm: str, rows: int) -> int:
    """The fewest calls a bulk read of ``rows`` can take: create, one poll, its result sets.

    (A HubSpot export: start, one status call, the download of its file.)
    """
    return 2 + max(1, math.ceil(rows / BULK_SET[crm]))


def floor_of(
    kind: str,
    rows: dict[str, int],
    changed: dict[str, int],
    written: dict[str, dict[str, int]],
    *,
    deletions_due: bool,
) -> dict[str, Any]:
    """The design's floor: pull pages (cold) or one query per object (warm), plus write batches.

    ``changed``: rows pulled per object in this cycle (change and quarter cycles);
    ``deletions_due``: the cycle comes a deletion interval (a day) after the last
    listing, so each object's deletions are listed (one call each at least).
    Returns calls, per CRM too (for the latency floor: the CRMs run at once, each
    CRM's calls in sequence), the longest chain of pages of one object, and the
    bulk floor of a cold cycle (each object through its CRM's cheapest read: REST
    or search pages, or a bulk job / an export).
    """
    pulls = bulk_pulls = 0
    longest = 0
    by_crm: dict[str, int] = {}
    for key, n in rows.items():
        crm = key.split(":", 1)[0]
        if kind == "cold":
            pages = max(1, math.ceil(n / PAGE[crm]))
            bulk_pulls += min(pages, bulk_minimum(crm, n))
        elif kind in {"change", "quarter"}:
            pages = max(1, math.ceil(changed.get(key, 0) / PAGE[crm]))
            if deletions_due:
                pages += 1
            bulk_pulls += pages
        else:
            pages = 1
            bulk_pulls += pages
        pulls += pages
        by_crm[crm] = by_crm.get(crm, 0) + pages
        longest = max(longest, pages)
    writes = 0
    for crm, per in written.items():
        batches = sum(math.ceil(n / BATCH[crm]) for n in per.values() if n)
        writes += batches
        by_crm[crm] = by_crm.get(crm, 0) + batches
    return {
        "calls": pulls + writes,
        "pulls": pulls,
        "writes": writes,
        "chain": longest,
        "by_crm": by_crm,
        "bulk_calls": bulk_pulls + writes,
    }


def search_pacing(searches: int, rtt: float) -> float:
    """The least time ``searches`` HubSpot searches take at okrsync's pacing, whatever the design.

    HubSpot limits search requests per second per token; okrsync's pacer
    (``search_requests_per_second``, :data:`SEARCH_RPS` here) lets a burst of
    that many go at once and each further one a window (1.1 s, a margin over
    HubSpot's second) after the one that many before it. The last answer comes
    one round trip after the last search leaves.
    """
    if searches <= 0:
        return 0.0
    from okrsync_hubspot._http import Pacer  # noqa: PLC0415  (the connector's own rule)

    pacer = Pacer(SEARCH_RPS)
    return (math.ceil(searches / pacer.capacity) - 1) * pacer.window + rtt / 1000


# -- the benchmark ------------------------------------------------------------------------------


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def scenario(
    size: int,
    rtt: float,
    kr_counts: list[int],
    rows_out: list[dict[str, Any]],
    *,
    breakdown: bool = False,
    naive: bool = True,
) -> None:
    """Every KR count at one size and RTT (a fresh sandbox per KR count)."""
    for krs in kr_counts:
        with tempfile.TemporaryDirectory(prefix="okrsync-bench-") as tmp:
            folder = Path(tmp)
            mappings = folder / "mappings"
            write_mappings(mappings, krs, breakdown=breakdown)
            t = time.perf_counter()
            box = Sandbox(size, rtt, folder)
            print(
                f"\n== size {size:,} rows/CRM, {krs} KRs{' broken down by owner' * breakdown}, "
                f"RTT {rtt:g} ms "
                f"(sandbox up in {time.perf_counter() - t:.1f} s, load {_load()})",
                flush=True,
            )
            try:
                base = base_job(box, mappings, folder)

                def job(
                    kind: str, box: Sandbox = box, base: dict[str, Any] = base
                ) -> dict[str, Any]:
                    return job_for(box, base, kind)

                run_child(job("provision"))
                previous_rows: dict[str, int] = {}
                for kind in ("cold", "warm", "change", "quarter"):
                    if kind == "change":
                        box.advance(box.moment + timedelta(days=CHANGE_DAYS))
                    elif kind == "quarter":
                        box.advance(box.moment + QUARTER)
                    box.reset()
                    result = run_child(job(kind))
                    stats = box.stats()
                    calls = _calls(stats)
                    written = _written(stats)
                    changed = {
                        k: abs(result["rows"].get(k, 0) - previous_rows.get(k, 0))
                        for k in result["rows"]
                    }
                    if kind in {"change", "quarter"}:  # records and deletions pulled
                        changed = dict(result["pulled_by_object"])
                    # deletions are listed daily (the connectors' default): the change cycle
                    # comes a day after the cold one, the quarter-hour cycle 15 minutes later
                    floor = floor_of(
                        kind, result["rows"], changed, written, deletions_due=kind == "change"
                    )
                    # the CRMs are independent: the critical path is the longer CRM's
                    # chain of round trips (each CRM's calls in sequence)
                    latency_floor = max(floor["by_crm"].values(), default=0) * rtt / 1000
                    searches = int(stats.get("hubspot", {}).get("by_endpoint", {}).get("search", 0))
                    replica_rows = sum(result["rows"].values())
                    row = {
                        "size": size,
                        "krs": krs,
                        "rtt": rtt,
                        "cycle": kind,
                        "calls": calls,
                        "floor": floor["calls"],
                        "floor_pulls": floor["pulls"],
                        "floor_writes": floor["writes"],
                        "by_endpoint": {c: e.get("by_endpoint", {}) for c, e in stats.items()},
                        "written": written,
                        "wall": result["wall"],
                        "latency_floor": latency_floor,
                        "latency_floor_sequential": floor["calls"] * rtt / 1000,
                        "searches": searches,
                        "search_pacing": search_pacing(searches, rtt),
                        "floor_by_crm": floor["by_crm"],
                        "pulled": result["pulled"],
                        "replica_rows": replica_rows,
                        "rows": result["rows"],
                        "eval": result["eval"],
                        "eval_by_owner": result["eval_by_owner"],
                        "owners": result["owners"],
                        "contributions": result["contributions"],
                        "breakdown": breakdown,
                        "eval_full": result["eval_full"],
                        "steps": result["steps"],
                        "floor_bulk": floor["bulk_calls"],
                        "rss_mib": result["rss_peak_kib"] / 1024,
                        "db_mib": result["db_bytes"] / 2**20,
                        "outcome": result["outcome"],
                        "error": result["error"],
                        "load": _load(),
                    }
                    previous_rows = result["rows"]
                    rows_out.append(row)
                    ratio = calls / floor["calls"] if floor["calls"] else float("nan")
                    print(
                        f"{kind:6s} calls {calls:6d} floor {floor['calls']:6d} ({ratio:5.2f}x) "
                        f"wall {row['wall']:7.2f} s latency floor {latency_floor:6.2f} s "
                        f"pulled {row['pulled']:7d} replica {replica_rows:7d} "
                        f"eval {row['eval'] * 1000:6.0f} ms (all {row['eval_full'] * 1000:6.0f}) "
                        f"peak RSS {row['rss_mib']:6.0f} MiB "
                        f"{row['outcome']}",
                        flush=True,
                    )
                    print(f"       by endpoint {row['by_endpoint']} written {written}", flush=True)
                    if breakdown:
                        by_owner = result["eval_by_owner"] or 0
                        print(
                            f"       per owner: {result['owners']} owners, "
                            f"{result['contributions']} contributions, evaluation "
                            f"{by_owner * 1000:.0f} ms (team values {row['eval'] * 1000:.0f} ms)",
                            flush=True,
                        )
                if not naive:
                    continue
                box.reset()
                naive_result = run_child(job("naive"))
                stats = box.stats()
                row = {
                    "size": size,
                    "krs": krs,
                    "rtt": rtt,
                    "cycle": "naive",
                    "calls": _calls(stats),
                    "wall": naive_result["wall"],
                    "errors": naive_result["errors"],
                    "load": _load(),
                }
                rows_out.append(row)
                print(
                    f"naive  calls {row['calls']:6d} wall {row['wall']:7.2f} s "
                    f"errors {naive_result['errors'] or 'none'}",
                    flush=True,
                )
                print(f"sandbox process peak RSS {box.rss_kib() / 1024:.0f} MiB")
            finally:
                box.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="rows per CRM, comma-separated")
    parser.add_argument("--krs", default="20,500", help="key-result counts, comma-separated")
    parser.add_argument("--rtt", default="0,50", help="simulated round trips in ms")
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown report to write")
    parser.add_argument("--json", default="bench/results.json", help="raw results (JSON)")
    parser.add_argument(
        "--breakdown", action="store_true", help="every key result broken down by owner"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive per-KR script")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    kr_counts = [int(s) for s in args.krs.split(",")]
    rtts = [float(s) for s in args.rtt.split(",")]
    rows: list[dict[str, Any]] = []
    began = time.perf_counter()
    started_at = datetime.now(UTC)
    load_before = _load()
    for size in sizes:
        for rtt in rtts:
            scenario(size, rtt, kr_counts, rows, breakdown=args.breakdown, naive=not args.no_naive)
            Path(args.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    from report import write_report  # noqa: PLC0415

    command = "uv run python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    write_report(
        rows,
        Path(args.out),
        command=command.strip(),
        started_at=started_at,
        seconds=time.perf_counter() - began,
        load=(load_before, _load()),
        machine={
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    )
    print(f"\nwrote {args.out} in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
