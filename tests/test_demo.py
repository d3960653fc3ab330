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
    console = Console(file=out, width=80)
    summary = run_demo(ROOT / "mappings", size=2000, weeks=2, console=console)
    reports = summary["reports"]
    assert [r.as_of.isoformat() for r in reports] == ["2026-08-03", "2026-08-10", "2026-08-17"]
    first = reports[0]
    assert len(first.key_results) == 26
    assert all(r.status != "error" for r in first.key_results), [
        (r.kr.full_key, r.value.error) for r in first.key_results if r.value.error
    ]
    # each CRM has its own history: the same metric differs between them
    values = {r.kr.full_key: r.value.value for r in first.key_results}
    by_source = {
        r.kr.source: values[r.kr.full_key]
        for r in first.key_results
        if r.kr.metric.name == "won_revenue"
    }
    assert len(by_source) == 2
    assert len(set(by_source.values())) == 2, by_source
    writes = first.writes.as_dict()
    # 26 KRs + their objectives + a check-in each, in both CRMs; nothing failed
    assert writes["salesforce"]["failed"] == writes["hubspot"]["failed"] == 0
    assert writes["salesforce"]["upserted"] > 26
    assert writes["hubspot"]["upserted"] > 13
    text = out.getvalue()
    assert "Trends over the weekly check-ins" in text
    assert f"Sync as of {DEMO_START}" in text
    # at 80 columns: nothing wider, nothing cut off, every key result on a row of its own
    assert max(console.measure(line).maximum for line in text.splitlines()) <= 80
    assert "…" not in text
    trends = text.split("Trends over the weekly check-ins")[1].splitlines()
    for result in first.key_results:
        assert any(line.startswith(f"  {result.kr.key} ") for line in trends), result.kr.key
