"""`okrsync demo`: the whole loop against the sandboxes, shortened to the quarter's last five weeks."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from okrsync_sandbox.demo import DEMO_END, run_demo

ROOT = Path(__file__).resolve().parents[1]
START = date(2026, 8, 31)
"""Five Mondays before the quarter's end: enough check-ins for the trend to leave the origin."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    """The demo's summary, printed output and status page, from the last five weeks of the quarter."""
    out = io.StringIO()
    console = Console(file=out, width=80)
    page = tmp_path_factory.mktemp("demo") / "status.html"
    summary = run_demo(ROOT / "mappings", size=2000, start=START, console=console, page=page)
    return summary, out.getvalue(), page


def test_demo_syncs_checks_in_weekly_and_shows_trends(
    demo: tuple[dict[str, Any], str, Path],
) -> None:
    """The demo provisions, syncs every KR of the shipped mappings, records weekly check-ins and writes the page."""
    summary, text, page = demo
    reports = summary["reports"]
    assert [r.as_of.isoformat() for r in reports] == [
        "2026-08-31",
        "2026-09-07",
        "2026-09-14",
        "2026-09-21",
        "2026-09-28",
    ]
    first = reports[0]
    mapped = [r for r in first.key_results if r.kr.parent is None]
    personal = [r for r in first.key_results if r.kr.parent is not None]
    assert len(mapped) == 34
    # the template makes a key result for each member of EMEA Sales (its Salesforce role)
    assert {r.kr.parent for r in personal} == {"2026-Q3/every-rep-wins/rep-won-revenue"}
    assert "2026-Q3/every-rep-wins/rep-won-revenue/lena.hoffmann@acme.example" in {
        r.kr.full_key for r in personal
    }
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
    # the KRs + their objectives + a check-in each + contributions, in both CRMs; nothing failed
    assert writes["salesforce"]["failed"] == writes["hubspot"]["failed"] == 0
    assert writes["salesforce"]["upserted"] > 34
    assert writes["hubspot"]["upserted"] > 13
    # before syncing, the doctor's checklist of the provisioned sandboxes: all green
    assert summary["doctor"].ok
    assert summary["doctor"].counts() == {"pass": 17, "warn": 0, "fail": 0, "skip": 0}
    assert "okrsync doctor: is each CRM ready?" in text
    assert "Ready: 17 of 17 checks passed." in text
    assert text.index("Ready: 17 of 17") < text.index(f"Sync as of {START}")
    assert "Trends over the weekly check-ins" in text
    # each rep's part: after the first sync, and at the quarter's end
    assert text.count("2026-Q3/healthy-pipeline/q4-pipeline by owner") == 2
    assert "2026-Q3/true-hunters/won-revenue by owner" in text
    assert "Every rep's part at the end of the quarter" in text
    parts = {
        c.owner: c for c in first.breakdowns["2026-Q3/healthy-pipeline/q4-pipeline"].contributions
    }
    assert sum(c.value or 0 for c in parts.values()) == pytest.approx(
        values["2026-Q3/healthy-pipeline/q4-pipeline"]
    )
    assert f"Sync as of {START}" in text
    assert "App Launcher → OKRs" in text
    assert "/lightning/o/OKR_Key_Result__c/list?filterName=My_Key_Results" in text
    assert "sf project deploy start --source-dir " in text
    assert "CRM → OKR Key Results" in text
    flat = " ".join(text.split())
    assert "OKR Contributions" in flat  # every okrsync object a rep can open, in both CRMs
    assert "My contributions" in flat
    assert f"Status page: {page}" in text.replace("\n", "")
    html = page.read_text(encoding="utf-8")
    assert "Acme sales OKRs · 2026-Q3" in html
    # one burn-up chart per key result: the quarter's and, as context, its parents' (the half-year)
    assert html.count('class="burnup"') == len(reports[0].key_results)


def test_demo_trend_table_at_the_quarters_end_tells_the_truth(
    demo: tuple[dict[str, Any], str, Path],
) -> None:
    """Two days before the quarter ends, nothing falling shows on track below 0.7, nothing low shows on track, no level or growing churn is done early."""
    summary, text, _ = demo
    reports = summary["reports"]
    final = reports[-1]
    assert final.as_of == DEMO_END
    early_done = [
        (report.as_of, r.kr.full_key)
        for report in reports
        for r in report.key_results
        if r.status == "done"
        and report.as_of <= r.kr.cycle.end
        and not (r.kr.is_milestone or (r.kr.accumulates and r.kr.target > r.kr.start))
    ]
    assert early_done == []
    levels_at_target = [
        r for r in final.key_results if r.score.progress == 1 and not r.kr.accumulates
    ]
    assert levels_at_target, "the demo's data has levels at their target"
    falling = {
        r.kr.full_key: r
        for r in final.key_results
        if r.score.forecast is not None
        # away from the target by more than half a point of progress a week (the demo's ↘)
        and r.score.forecast.slope * 7 / (r.kr.target - r.kr.start) < -0.005
    }
    assert falling, "the demo's data has key results falling at the quarter's end"
    on_track_falling = {k: r.score.score for k, r in falling.items() if r.status == "on_track"}
    assert all(score is not None and score >= 0.7 for score in on_track_falling.values()), (
        on_track_falling
    )
    # two days before its end, a quarter's key result cannot climb from below 0.4 to 0.7
    # (the half-year's key results have three months left: a steep climb may be on track)
    low_on_track = [
        (r.kr.full_key, r.score.score)
        for r in final.key_results
        if r.kr.cycle.end == DEMO_END + timedelta(days=2)
        and r.status == "on_track"
        and (r.score.score or 0) < 0.4
    ]
    assert low_on_track == []
    table = text.split("Trends over the weekly check-ins", 1)[1]
    for result in falling.values():
        row = next(line for line in table.splitlines() if line.startswith(_label(result.kr)))
        assert "↘" in row, row


def _label(kr: Any) -> str:
    """How the trend table starts a key result's row: its key, a personal one's member deeper.

    A member's address may wrap after its ``.`` or ``@``: its name comes first.
    """
    return f"    {kr.member.split('@')[0]}" if kr.member else f"  {kr.key} "


def test_demo_output_fits_80_columns(demo: tuple[dict[str, Any], str, Path]) -> None:
    """At 80 columns nothing is wider or cut off, and every key result has a trend row of its own."""
    summary, text, _ = demo
    console = Console(width=80)
    # links and commands (indented, in "Where reps find their OKRs") are printed whole
    lines = [
        line
        for line in text.splitlines()
        if not line.startswith("  ") or ("://" not in line and "sf project" not in line)
    ]
    assert max(console.measure(line).maximum for line in lines) <= 80
    assert "…" not in text
    trends = text.split("Trends over the weekly check-ins")[1].splitlines()
    for result in summary["reports"][0].key_results:
        label = _label(result.kr)
        assert any(line.startswith(label) for line in trends), result.kr.key
