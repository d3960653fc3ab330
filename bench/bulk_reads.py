"""Salesforce full reads of one object: REST pages against a Bulk API 2.0 job, on the sandbox.

For each size the sandbox is seeded (``--size`` rows in the CRM), then the
connector's REST pull and the bulk reader (:mod:`okrsync_salesforce._bulk`)
read every ``Task`` (the largest object) with the same fields. Calls come from
the sandbox's accounting; the bulk reader's waits move the sandbox clock (a
job of N rows takes 2 s + N / 200 000 s of sandbox time), so wall time is the
work of reading, not the waiting. Peak memory is the process's, read after
each read (``ru_maxrss`` only grows: compare it with the size of the data).

Run: ``uv run python bench/bulk_reads.py [--sizes 10000,100000,1000000] [--rtt 0]``
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from okrsync.connector import Cursor
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce._bulk import BulkEndpoint, BulkOptions, BulkRead, choose_read
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_salesforce_sandbox import start_sandbox
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultSpec
from okrsync_sandbox.server import SandboxOptions

AS_OF = datetime(2026, 9, 14, 12, tzinfo=UTC)
OBJECT = "Task"
FIELDS = ["Subject", "Type", "Status", "ActivityDate", "OwnerId", "WhatId", "IsClosed"]


class _Pinned(HTTPAdapter):
    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(size: int, rtt_ms: float) -> dict[str, Any]:
    """One size: rows, calls and seconds of each path."""
    accounting = Accounting()
    box = start_sandbox(
        SandboxOptions(size=size, seed=1, as_of=AS_OF, faults=FaultSpec(latency_ms=rtt_ms)),
        accounting,
    )
    try:
        settings = SalesforceSettings(
            auth="session",
            instance_url=box.instance_url,
            session_id=box.session_id,
            ca_file=box.ca_file,
        )
        connector = SalesforceConnector("salesforce", settings, clock=box.app.clock)
        accounting.reset()
        started = time.perf_counter()
        pull = connector.pull(OBJECT, FIELDS, (), Cursor())
        rest_rows = sum(len(p.records) for p in pull)
        rest = {"rows": rest_rows, "calls": accounting.calls("salesforce")}
        rest["seconds"] = round(time.perf_counter() - started, 2)
        rest["rss_mb"] = round(_rss_mb(), 1)
        session = requests.Session()
        session.mount("https://", _Pinned(str(box.ca_file)))
        endpoint = BulkEndpoint(
            box.instance_url, "59.0", session, {"Authorization": f"Bearer {box.session_id}"}
        )

        def sleep(seconds: float) -> None:
            box.clock.move_to(box.clock() + timedelta(seconds=seconds))

        accounting.reset()
        started = time.perf_counter()
        choice = choose_read(endpoint, pull.spec)
        read = BulkRead(endpoint, pull.spec, options=BulkOptions(), sleep=sleep)
        bulk_rows = sum(len(p.records) for p in read)
        bulk = {
            "rows": bulk_rows,
            "calls": accounting.calls("salesforce"),
            "seconds": round(time.perf_counter() - started, 2),
            "rss_mb": round(_rss_mb(), 1),
            "path": read.path,
            "chosen": "bulk" if choice.bulk else "rest",
            "by_endpoint": {
                k: v
                for k, v in accounting.snapshot()["salesforce"]["by_endpoint"].items()
                if k.startswith(("bulk", "query"))
            },
        }
        connector.close()
        session.close()
        return {"size": size, "object_rows": rest_rows, "rest": rest, "bulk": bulk}
    finally:
        box.stop()


def main() -> None:
    """Print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rtt", type=float, default=0.0, help="added round trip, ms")
    args = parser.parse_args()
    print(f"object {OBJECT}, {len(FIELDS)} fields, round trip +{args.rtt:g} ms")
    for size in (int(s) for s in args.sizes.split(",")):
        result = measure(size, args.rtt)
        rest, bulk = result["rest"], result["bulk"]
        print(
            f"CRM size {size:>9,}: {OBJECT} rows {result['object_rows']:>8,} | "
            f"REST {rest['calls']:>4} calls {rest['seconds']:>6} s | "
            f"bulk (COUNT() + job) {bulk['calls']:>3} calls {bulk['seconds']:>6} s "
            f"chosen={bulk['chosen']} path={bulk['path']} {bulk['by_endpoint']} | "
            f"peak RSS {bulk['rss_mb']} MB"
        )
        assert rest["rows"] == bulk["rows"], (rest["rows"], bulk["rows"])  # noqa: S101


if __name__ == "__main__":
    main()
