"""`okrsync demo`: the whole loop against the sandboxes, shortened to two weeks."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from okrsync_sandbox.demo import DEMO_START, run_demo

ROOT = Path(__file__).resolve().parents[1]


def test_demo_syncs_checks_in_weekly_and_shows_trends() -> None:
    """The demo provisions, syncs every KR of the shipped mappings and records weekly check-ins."""
    out = io.StringIO()
    summary = run_demo(ROOT / "mappings", size=2000, weeks=2, console=Console(file=out, width=160))
    reports = summary["reports"]
    assert [r.as_of.isoformat() for r in reports] == ["2026-08-03", "2026-08-10", "2026-08-17"]
    first = reports[0]
    assert len(first.key_results) == 33
    assert all(r.status != "error" for r in first.key_results), [
        (r.kr.full_key, r.value.error) for r in first.key_results if r.value.error
    ]
    writes = first.writes.as_dict()
    # 33 KRs + their objectives + a check-in each, in both CRMs; nothing failed
    assert writes["salesforce"]["failed"] == writes["hubspot"]["failed"] == 0
    assert writes["salesforce"]["upserted"] > 33
    assert writes["hubspot"]["upserted"] > 13
    text = out.getvalue()
    assert "Trends over the weekly check-ins" in text
    assert f"Sync as of {DEMO_START}" in text
    assert summary["seconds"] < 60
