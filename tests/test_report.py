"""The status page's model, page and digest, built from a store the engine filled."""

from __future__ import annotations

import html.parser
import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.report import (
    OwnerShare,
    UnknownCycleError,
    build_report,
    render_digest,
    render_page,
)
from okrsync.report.chart import burn_up, nice_ticks
from okrsync.report.digest import markdown_text
from okrsync.report.fmt import format_change, format_value
from okrsync.scoring import progress, round2

from .report_world import HOSTILE, WEEKS, build_world

if TYPE_CHECKING:
    from pathlib import Path

    from tests.report_world import World


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Four weekly check-ins of three aligned objectives (built once for the module)."""
    built = build_world(tmp_path_factory.mktemp("report"))
    yield built
    built.app.close()


def report_of(world: World, **kwargs):  # type: ignore[no-untyped-def]
    return build_report(world.app.settings, world.app.db, world.app.mappings, **kwargs)


class _Elements(html.parser.HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.tags


def test_report_shows_each_key_result_as_the_engine_evaluated_it(world: World) -> None:
    """Values, scores, expected progress, forecast scores and statuses are the engine's latest."""
    report = report_of(world)
    engine = {r.kr.full_key: r for r in world.last.key_results}
    shown = {kr.key: kr for kr in report.key_results()}
    assert set(shown) == set(engine)
    for key, kr in shown.items():
        result = engine[key]
        assert kr.as_of == world.last.as_of
        assert (kr.value, kr.score, kr.expected, kr.forecast_score, kr.status) == (
            result.value.value,
            result.score.score,
            result.score.expected,
            result.score.forecast_score,
            result.status,
        )
        assert kr.title == result.kr.title
        assert kr.unit == result.kr.unit.value


def test_forecast_is_the_scoring_modules_and_scores_as_the_engine_did(world: World) -> None:
    """Each key result's forecast is the engine's own forecast value, and scores to its forecast score."""
    report = report_of(world)
    engine = {r.kr.full_key: r for r in world.last.key_results}
    for kr in report.key_results():
        mapped = engine[kr.key].kr
        projected = engine[kr.key].score.forecast
        assert projected is not None
        assert kr.forecast == pytest.approx(projected.value)
        score = round2(progress(kr.forecast, kr.start, kr.target, milestone=mapped.is_milestone))
        assert score == engine[kr.key].score.forecast_score


def test_the_chart_ends_its_forecast_line_at_the_forecast(world: World) -> None:
    """The burn-up chart's forecast line ends, on the cycle's last day, at the key result's forecast."""
    for kr in report_of(world).key_results():
        chart = burn_up(kr)
        assert chart.forecast is not None
        assert chart.forecast.end_value == kr.forecast
        assert chart.forecast.x2 == chart.right
        tolerance = (chart.y_max - chart.y_min) / (chart.bottom - chart.top) * 0.01
        assert chart.value_at(chart.forecast.y2) == pytest.approx(kr.forecast, abs=tolerance)
        assert len(chart.dots) == len(kr.check_ins) == WEEKS
        assert chart.value_at(chart.expected.y1) == pytest.approx(kr.start, abs=tolerance)
        assert chart.value_at(chart.expected.y2) == pytest.approx(kr.target, abs=tolerance)


def test_check_ins_keep_the_reps_voice_and_the_weekly_change(world: World) -> None:
    """Check-ins come oldest first with confidence and comment; the change is since the previous Monday."""
    deals = next(kr for kr in report_of(world).key_results() if kr.short_key == "deals")
    assert [c.on for c in deals.check_ins] == [date(2026, 7, d) for d in (6, 13, 20, 27)]
    assert [c.confidence for c in deals.check_ins] == [None, 7, 7, 3]
    assert deals.latest_voice is not None
    assert deals.latest_voice.comment == "Need marketing's help with events"
    assert deals.change is not None
    assert deals.change.since == date(2026, 7, 20)
    assert deals.change.before == deals.check_ins[2].value
    assert deals.change.delta == deals.value - deals.check_ins[2].value  # type: ignore[operator]


def test_objectives_form_the_alignment_tree_with_the_engines_roll_up(world: World) -> None:
    """Company → team → personal: the half-year objective is the root; scores are the engine's."""
    report = report_of(world)
    assert report.cycle.name == "2026-Q3"  # the quarter, not the half that also contains the day
    [root] = report.objectives
    assert (root.key, root.context) == ("2026-H2/grow", True)
    [team] = root.children
    [personal] = team.children
    assert (team.key, personal.key) == ("2026-Q3/hunt", "2026-Q3/mine")
    assert personal.owner_kind == "user"
    for objective in report.all_objectives():
        engine = world.last.objectives[objective.key]
        assert (objective.score, objective.forecast_score, objective.status) == (
            engine.score,
            engine.forecast_score,
            engine.status.value,
        )
    page = render_page(report)
    tiers = re.findall(r'<p class="eyebrow">([^<·]+)', page)
    assert [t.strip() for t in tiers] == [
        "Company objective",
        "Team objective",
        "Personal objective",
    ]


def test_another_cycle_by_name_and_an_unknown_one(world: World) -> None:
    """The half year can be asked for by name; an unknown name lists the cycles there are."""
    half = report_of(world, cycle="2026-H2")
    assert [(o.key, o.context) for o in half.objectives] == [("2026-H2/grow", False)]
    assert half.objectives[0].children == ()
    with pytest.raises(UnknownCycleError, match="2026-H2, 2026-Q3"):
        report_of(world, cycle="2026-Q4")


def test_page_shows_what_a_person_reads(world: World) -> None:
    """Titles, scores, status words with icons, units, the reps' voice and one chart per key result."""
    report = report_of(world)
    page = render_page(report)
    for kr in report.key_results():
        assert f'data-key="{kr.key}"' in page
        assert kr.title in page
    assert "€" not in page  # no currency configured: amounts without a symbol
    assert "300\N{NARROW NO-BREAK SPACE}k" in page  # won revenue, compact
    assert "15%" in page  # a percentage key result's value
    assert "Confidence 3/10" in page
    assert "Need marketing&#39;s help with events" in page
    assert page.count('class="burnup"') == len(report.key_results())
    assert page.count('<circle class="checkin') == WEEKS * len(report.key_results())
    assert '<span aria-hidden="true">✔</span> Done' in page
    assert "<script" not in page
    assert 'http-equiv="Content-Security-Policy"' in page
    for tag, attrs in elements(page):
        assert (
            tag not in {"script", "iframe", "object", "embed", "link"}
            or attrs.get("href") == "data:,"
        )
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith(("#", "?", "data:")), (tag, attrs)


def test_hostile_titles_and_comments_are_text(tmp_path: Path) -> None:
    """Markup in titles and rep comments is escaped on the page and in the digest."""
    world = build_world(tmp_path, hostile=True, weeks=2)
    try:
        report = report_of(world)
    finally:
        world.app.close()
    page = render_page(report)
    tags = [tag for tag, _ in elements(page)]
    assert "script" not in tags
    assert "img" not in tags
    assert "&lt;script&gt;" in page
    digest = render_digest(report)
    assert not re.search(r"(?<!\\)[<>\[\]]", digest)  # every bracket escaped
    assert markdown_text(HOSTILE) in digest


def test_breakdowns_render_when_given(world: World) -> None:
    """A key result with a per-owner breakdown shows a row per owner; without one, no table."""
    plain = render_page(report_of(world))
    assert 'class="breakdown"' not in plain
    parts = {
        "2026-Q3/hunt/deals": [
            OwnerShare("anna@acme.example", 22, 0.55, "on_track"),
            OwnerShare("<b>ben</b>", 18, 0.45, "at_risk"),
        ]
    }
    page = render_page(report_of(world, breakdowns=parts))
    table = page[page.index('class="breakdown"') :]
    table = table[: table.index("</table>")]
    assert "anna@acme.example" in table
    assert "&lt;b&gt;ben&lt;/b&gt;" in table
    assert "At risk" in table


def test_digest_walks_through_a_weekly_check_in(world: World) -> None:
    """The digest says what moved, what is at risk and who asked for help."""
    digest = render_digest(report_of(world))
    moved = digest.split("## What moved since the last check-in")[1].split("##")[0]
    assert "**Open 40 deals**: 25 → 40 (+15, better, score 0.63 → 1.00)" in moved
    assert "**Win half of the deals**: 16% → 15%" in moved
    assert "worse" in moved
    help_ = digest.split("## Needs help")[1].split("##")[0]
    assert "confidence 3/10 (low)" in help_
    assert "Need marketing's help with events" in help_
    assert "## Objectives" in digest
    assert (
        "2026-H2" not in digest.split("## What moved")[1]
    )  # the half's key results are not this week's


def test_a_failed_pull_shows_per_key_result_errors(tmp_path: Path) -> None:
    """When a run's pull fails, every key result of that CRM carries the error and the last sync says so."""
    from okrsync.errors import RetriableConnectorError  # noqa: PLC0415

    world = build_world(tmp_path, weeks=1)
    try:
        world.crm.fail_next = [RetriableConnectorError("CRM unavailable")] * 50
        world.run(date(2026, 7, 8), kind="sync")
        report = report_of(world)
    finally:
        world.app.close()
    assert report.last_run is not None
    assert report.last_run.outcome == "partial"
    assert report.last_success is not None
    errors = {kr.key: kr.error for kr in report.key_results()}
    assert all(e and "CRM unavailable" in e for e in errors.values()), errors
    page = render_page(report)
    assert page.count('class="problem"') >= len(errors)
    assert "Partly failed" in page
    assert "error: pull from salesforce failed" in render_digest(report)


def test_before_any_run_the_page_says_so(tmp_path: Path) -> None:
    """With an empty store, the page and the digest render and say nothing has run."""
    world = build_world(tmp_path, weeks=0)
    try:
        report = build_report(
            world.app.settings,
            world.app.db,
            world.app.mappings,
            now=datetime(2026, 7, 2, tzinfo=UTC),
        )
    finally:
        world.app.close()
    assert report.as_of is None
    assert report.cycle.name == "2026-Q3"
    assert "No sync has run yet." in render_page(report)
    assert "No sync has evaluated this cycle yet." in render_digest(report)


@pytest.mark.parametrize(
    ("value", "unit", "currency", "shown"),
    [
        (0.15, "percent", None, "15%"),
        (0.1234, "percent", None, "12.3%"),
        (2_500_000, "currency", "EUR", "€2.5\N{NARROW NO-BREAK SPACE}M"),
        (750_000, "currency", "USD", "$750\N{NARROW NO-BREAK SPACE}k"),
        (999_999, "currency", None, "1\N{NARROW NO-BREAK SPACE}M"),
        (48_260, "currency", "CHF", "48.3\N{NARROW NO-BREAK SPACE}k\N{NARROW NO-BREAK SPACE}CHF"),
        (1234, "count", None, "1,234"),
        (-12, "nps", None, "\N{MINUS SIGN}12"),
        (36.5, "number", None, "36.5"),
        (None, "count", None, "—"),
    ],
)
def test_values_by_unit(value, unit, currency, shown) -> None:
    """Values read as their unit: percentages, compact amounts with the currency, counts, NPS."""
    assert format_value(value, unit, currency) == shown


@pytest.mark.parametrize(
    ("delta", "unit", "shown"),
    [
        (0.015, "percent", "+1.5\N{NARROW NO-BREAK SPACE}pp"),
        (-20_000, "currency", "\N{MINUS SIGN}20\N{NARROW NO-BREAK SPACE}k"),
        (3, "count", "+3"),
        (0, "count", "±0"),
        (0.0001, "percent", "±0 pp"),
    ],
)
def test_changes_are_signed(delta, unit, shown) -> None:
    """A weekly change always carries its sign (percentage points for percentages)."""
    assert format_change(delta, unit) == shown


def test_nice_ticks_cover_the_range_in_round_steps() -> None:
    """The y axis starts and ends on round numbers around the data."""
    assert nice_ticks(0, 47) == (0, 60, [0, 20, 40, 60])
    low, high, ticks = nice_ticks(0.08, 0.153)
    assert low <= 0.08
    assert high >= 0.153
    assert len(ticks) <= 6
    assert nice_ticks(5, 5)[0] < 5 < nice_ticks(5, 5)[1]


def test_a_running_cycle_keeps_the_last_evaluations(world: World) -> None:
    """While a cycle runs (no evaluation stored yet), the page shows the previous ones and says it runs."""
    from sqlmodel import Session  # noqa: PLC0415

    from okrsync.state.models import RunRow  # noqa: PLC0415

    before = report_of(world)
    started = datetime(2026, 7, 27, 9, tzinfo=UTC)
    with Session(world.app.db) as session:
        session.add(
            RunRow(
                id="20260727T090000-aaaaaa",
                workspace=world.app.settings.workspace,
                kind="sync",
                as_of=date(2026, 7, 27),
                started_at=started,
            )
        )
        session.commit()
    try:
        during = report_of(world)
    finally:
        with Session(world.app.db) as session:
            row = session.get(RunRow, "20260727T090000-aaaaaa")
            session.delete(row)
            session.commit()
    assert during.last_run is not None
    assert (during.last_run.outcome, during.last_run.run_id) == (
        "running",
        "20260727T090000-aaaaaa",
    )
    assert [(k.key, k.value, k.score) for k in during.key_results()] == [
        (k.key, k.value, k.score) for k in before.key_results()
    ]
    assert "↻</span> Running" in render_page(during)


def test_old_data_is_flagged(world: World) -> None:
    """When the last good sync is older than twice the sync interval, the page says the numbers may be out of date."""
    last = world.last
    fresh = report_of(world, now=datetime(2026, 7, 27, 8, 30, tzinfo=UTC))
    old = report_of(world, now=datetime(2026, 7, 27, 9, 1, tzinfo=UTC))  # interval 1 h: after 2 h
    assert last.as_of == date(2026, 7, 27)
    assert not fresh.stale
    assert old.stale
    assert "Out of date:" not in render_page(fresh)
    assert "Out of date:</b> the last good sync started Mon 27 Jul 2026 07:00 UTC" in render_page(
        old
    )
