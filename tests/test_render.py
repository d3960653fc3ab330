"""Terminal output: values by unit everywhere, tables that fit 80 columns, honest wording."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from textwrap import dedent
from typing import TYPE_CHECKING, Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from okrsync.app import App, load_config, load_mappings_for
from okrsync.cli import app
from okrsync.connector import FieldInfo
from okrsync.render import format_score, format_value, print_report, wrap_key
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.plugins import PluginRegistry

runner = CliRunner()
AS_OF = date(2026, 8, 17)
MAPPING = dedent("""\
    version: 1
    cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}
    objectives:
      - key: grow-recurring-revenue-with-customers-who-stay
        title: Grow
        key_results:
          - key: won-revenue-from-new-business-in-the-quarter
            title: Won revenue
            source: SOURCE
            metric: {sum: deals.amount, where: {won: true}}
            target: 6000000
            unit: currency
          - key: win-rate-of-deals-closed-in-the-quarter
            title: Win rate
            source: SOURCE
            metric:
              ratio:
                numerator: {count: deals, where: {won: true}}
                denominator: {count: deals}
            start: 20%
            target: 35%
          - key: average-deal-size
            title: Average deal
            source: SOURCE
            metric: {avg: deals.amount}
            start: 18000
            target: 25000
""")
KEYS = (
    "won-revenue-from-new-business-in-the-quarter",
    "win-rate-of-deals-closed-in-the-quarter",
    "average-deal-size",
)


def test_values_are_formatted_by_unit() -> None:
    """Fractions are percentages, amounts compact, NPS and counts whole; never an exponent."""
    assert format_value(0.047619, "percent") == "4.8%"
    assert format_value(1.0869e06, "currency") == "1.09 M"
    assert format_value(750_000.0, "currency") == "750 k"
    assert format_value(19_057.14, "currency") == "19,057"
    assert format_value(1.0869e06, "currency", "eur") == "EUR 1.09 M"
    assert format_value(-11.1111, "nps") == "-11.1"
    assert format_value(40.0, "nps") == "40"
    assert format_value(12.0, "count") == "12"
    assert format_value(0.388889, "number") == "0.39"
    assert format_value(1.0869e06, "number") == "1,086,900"
    assert format_value(-0.0001, "percent") == "0%"
    assert format_value(None, "percent") == format_value(float("nan")) == "—"
    assert format_score(0.4) == "0.40"


def test_keys_wrap_at_their_separators() -> None:
    """A long key breaks after `-` or `/`, never inside a word unless a word is too long."""
    assert wrap_key("2026-Q3/consultation-conversion/lost-deal-interviews", 20).splitlines() == [
        "2026-Q3/",
        "consultation-",
        "conversion/lost-",
        "deal-interviews",
    ]
    assert wrap_key("abcdefghij", 4).splitlines() == ["abcd", "efgh", "ij"]


@pytest.fixture
def store(tmp_path: Path, registry: PluginRegistry) -> tuple[Path, App, InMemoryConnector]:
    """A configuration, its mappings and an app over an in-memory CRM posing as a connector."""
    source = min(registry)
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING.replace("SOURCE", source))
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {tmp_path / 'maps'}\n"
    )
    settings = load_config(config, registry=registry, env={}, log=False)
    fields = {"amount": FieldInfo("amount", "currency"), "won": FieldInfo("won", "boolean")}
    crm = InMemoryConnector(source, objects={"deals": fields})
    for amount, won in [(1_086_900.0, True), (20_000.0, False), (3_000.0, False)]:
        crm.put("deals", {"amount": amount, "won": won})
    ticks = (datetime(2026, 8, 17, 8, minute, tzinfo=UTC) for minute in range(60))
    application = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(settings.store_url.get_secret_value()),
        {source: crm},
        lambda: next(ticks),
    )
    return config, application, crm


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def _rows(text: str) -> dict[str, str]:
    """Key result rows (indented, with a score) by the first part of their key."""
    return {
        line.split()[0]: line
        for line in _lines(text)
        if line.startswith("  ") and len(line.split()) > 1
    }


def _check_fits(text: str, width: int = 80) -> None:
    lines = _lines(text)
    assert max(Console().measure(line).maximum for line in lines if line) <= width, text
    assert "…" not in text, text  # nothing cut off
    for key in KEYS:  # each key result readable on its own line(s), not folded letter by letter
        assert any(key.split("-")[0] in line for line in lines), key


def test_plan_report_fits_80_columns_and_says_would(
    store: tuple[Path, App, InMemoryConnector],
) -> None:
    """At 80 columns the plan table fits, values are by unit and writes are what a sync *would* do."""
    _, application, _ = store
    report = application.engine().run("plan", AS_OF)
    units = {r.kr.full_key: r.kr.unit.value for r in report.key_results}
    console = Console(width=80, record=True, color_system=None)
    print_report(report.as_json(), units, console)
    text = console.export_text()
    _check_fits(text)
    rows = _rows(text)
    assert "1.09 M" in rows["won-revenue-from-new-business-"]
    assert "33.3%" in rows["win-rate-of-deals-closed-in-"]
    assert "20% → 35%" in rows["win-rate-of-deals-closed-in-"]
    assert "would upsert 4" in text
    assert "upserted" not in text


def test_status_fits_80_columns_with_values_by_unit(
    store: tuple[Path, App, InMemoryConnector],
) -> None:
    """`status` at COLUMNS=80 shows whole keys, values by unit, and a plan as "would upsert"."""
    config, application, _ = store
    application.engine().run("plan", AS_OF)
    application.engine().run("sync", AS_OF)
    application.close()
    result = runner.invoke(app, ["status", "--config", str(config)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    _check_fits(result.stdout)
    lines = _lines(result.stdout)
    runs = [line for line in lines if line.startswith("2026")]
    assert "would upsert 4" in runs[1]  # the plan: it wrote nothing
    assert "4 upserted" in runs[0]
    krs = _rows(result.stdout)
    assert len(krs) == 3  # three distinct rows, not three identical truncated ones
    assert "1.09 M" in krs["won-revenue-from-new-business-"]
    assert "33.3%" in krs["win-rate-of-deals-closed-in-"]
    assert "0.333333" not in result.stdout
    assert "e+06" not in result.stdout
    data: dict[str, Any] = json.loads(
        runner.invoke(app, ["status", "--config", str(config), "--json"], env={}).stdout
    )
    assert [r["kind"] for r in data["runs"]] == ["sync", "plan"]
