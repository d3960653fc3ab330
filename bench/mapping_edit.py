"""What a mapping edit costs: the pull of what it adds, against a full re-pull of the object.

An admin edits a mapping between two cycles. Before, any change to an object's
fields or row filter cleared its replica and pulled it again from scratch; now a
cursor keeps the fields and filter it pulled, and an edit pulls only what it
adds. Two edits, each run in a fresh process against the sandbox CRMs (as
``bench/run.py`` runs its cycles), after a cold and a warm cycle of the
generated key results:

- **widen**: a key result over a cycle the mappings did not cover (won revenue
  in 2025-Q4 on both CRMs): the filter gains a group, and only its rows are pulled;
- **field**: a key result that filters on a field not pulled yet (Salesforce
  ``Opportunity.Type``, HubSpot ``dealtype``): every row the object's filter
  passes is read again for the new column (the replica keeps its rows
  meanwhile), which is the one case that costs as much as the object's first pull.

Run: ``uv run python bench/mapping_edit.py [--size 100000] [--krs 500]``. It prints,
per cycle, the calls by CRM and endpoint and the rows pulled by object, next to
what the cold cycle pulled for the same objects.
"""

# A script, not a package module: it prints its report.
# ruff: noqa: INP001, T201

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Sandbox, base_job, job_for, run_child

from mappings import write_mappings

WIDEN = """\
version: 1
cycle: {name: 2025-Q4, start: 2025-10-01, end: 2025-12-31}
objectives:
  - key: edit-widen
    title: An objective of last quarter, added by an edit
    owner: {team: Management}
    key_results:
      - {key: sf-won-q4, title: Won revenue 2025-Q4 (Salesforce), source: salesforce,
         metric: won_revenue, target: 1000000}
      - {key: hs-won-q4, title: Won revenue 2025-Q4 (HubSpot), source: hubspot,
         metric: won_revenue, target: 1000000}
"""
FIELD = """\
version: 1
cycle: {name: 2026-Q3-new, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: edit-field
    title: New business, added by an edit
    owner: {team: Management}
    key_results:
      - key: sf-new-business
        title: Won new business (Salesforce)
        source: salesforce
        metric: {sum: Opportunity.Amount, where: {IsWon: true, Type: New Business},
                 window: {CloseDate: cycle}}
        target: 1000000
      - key: hs-new-business
        title: Won new business (HubSpot)
        source: hubspot
        metric: {sum: deals.amount, where: {hs_is_closed_won: true, dealtype: newbusiness},
                 window: {closedate: cycle}}
        target: 1000000
"""


def _cycle(box: Sandbox, base: dict[str, Any], kind: str) -> dict[str, Any]:
    box.reset()
    result = run_child(job_for(box, base, kind))
    stats = box.stats()
    calls = {crm: int(entry.get("calls", 0)) for crm, entry in stats.items()}
    endpoints = {crm: dict(entry.get("by_endpoint", {})) for crm, entry in stats.items()}
    print(
        f"{kind:6} calls {sum(calls.values()):5} {calls} wall {result['wall']:6.2f} s "
        f"{result['outcome']}",
        flush=True,
    )
    print(f"       by endpoint {endpoints}")
    print(f"       rows pulled {result['pulled_by_object']}", flush=True)
    return {"calls": calls, "endpoints": endpoints, **result}


def main(argv: list[str] | None = None) -> int:
    """Cold, warm, then the two edits; print what each pulled."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="rows per CRM")
    parser.add_argument("--krs", type=int, default=500, help="generated key results")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="okrsync-edit-") as tmp:
        folder = Path(tmp)
        mappings = folder / "mappings"
        write_mappings(mappings, args.krs)
        box = Sandbox(args.size, 0.0, folder)
        print(f"== {args.size:,} rows/CRM, {args.krs} KRs, then two mapping edits")
        try:
            base = base_job(box, mappings, folder)
            run_child(job_for(box, base, "provision"))
            cold = _cycle(box, base, "cold")
            _cycle(box, base, "warm")
            (mappings / "edit-widen.yaml").write_text(WIDEN, encoding="utf-8")
            _cycle(box, base, "widen")
            (mappings / "edit-field.yaml").write_text(FIELD, encoding="utf-8")
            _cycle(box, base, "field")
            _cycle(box, base, "warm")
            print(f"cold pull by object, for comparison: {cold['pulled_by_object']}")
        finally:
            box.close()
    print(f"done in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
