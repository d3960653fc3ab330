"""Durations and unbounded quotients over the replica equal hand-computed values, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy import event

from okrsync.compute import evaluate
from okrsync.connector import FieldInfo
from okrsync.errors import MappingError
from okrsync.mapping.loader import load_mappings
from okrsync.metric import Unit
from okrsync.render import key_result_table
from okrsync.state.db import open_store
from okrsync.state.replica import Replica

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from okrsync.catalog import Catalog
    from okrsync.model import MappingSet

MID = date(2026, 8, 15)


def at(day: str, hour: float = 0) -> datetime:
    """A UTC instant: ``day`` at ``hour`` o'clock."""
    moment = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return moment.replace(hour=int(hour), minute=round(hour % 1 * 60))


LEADS = [  # id, created, converted on, source
    ("L1", at("2026-07-01", 8), date(2026, 7, 3), "Web"),
    ("L2", at("2026-07-02", 9.5), None, "Web"),
    ("L3", at("2026-07-10", 10), date(2026, 7, 9), "Partner"),  # converted "before" created
    ("L4", at("2026-06-30", 12), date(2026, 7, 1), "Web"),  # created before the cycle
    ("L5", at("2026-08-14", 18), date(2026, 8, 20), "Event"),  # converted after MID
    ("L6", None, date(2026, 7, 1), "Web"),  # no start
]
TASKS = [  # id, who, created, type
    ("T1", "L1", at("2026-07-01", 9.5), "Call"),  # L1's first: 1.5 h
    ("T2", "L1", at("2026-07-01", 12), "Email"),
    ("T3", "L2", at("2026-07-02", 8), "Call"),  # before L2 was created: answers nothing
    ("T4", "L2", at("2026-07-03", 9.5), "Email"),  # L2's first: 24 h
    ("T5", "L3", at("2026-07-10", 10.5), "Other"),  # L3's first task: 0.5 h
    ("T6", "L5", at("2026-08-16", 9), "Call"),  # after MID: L5 is unanswered as of MID
    ("T7", None, at("2026-07-01", 9), "Call"),
    ("T8", "L4", at("2026-07-01", 12), "Call"),  # L4: 24 h, but L4 is outside the window
]
EVENTS = [("E1", "L3", at("2026-07-10", 10.25))]  # L3's first activity of all: 0.25 h
OPPORTUNITIES = [  # id, amount, won, account
    ("O1", 100.0, True, "A1"),
    ("O2", 300.0, True, "A1"),
    ("O3", 200.0, True, "A2"),
    ("O4", 1000.0, False, "A3"),
    ("O5", None, True, "A4"),  # won, never priced
]

FIRST_TASK = "{first: Task.CreatedDate, via: WhoId}"
CASES: list[tuple[str, str, float | None]] = [
    # leads created 07-01..08-15: L1 1.5 h, L2 24 h (T3 came before it), L3 0.5 h, L5 open
    (
        "avg-first",
        (
            f"{{avg_duration: Lead, from: CreatedDate, to: {FIRST_TASK}, in: hours, "
            "window: cycle_to_date}"
        ),
        (1.5 + 24 + 0.5) / 3,
    ),
    (
        "median-first",
        (
            f"{{median_duration: Lead, from: CreatedDate, to: {FIRST_TASK}, in: hours, "
            "window: cycle_to_date}"
        ),
        1.5,
    ),
    # only calls and e-mails answer: L3 is left without an end; two left, the middle two
    (
        "median-calls",
        (
            "{median_duration: Lead, from: CreatedDate, in: hours, window: cycle_to_date, "
            "to: {first: Task.CreatedDate, via: WhoId, where: {Type: [Call, Email]}}}"
        ),
        (1.5 + 24) / 2,
    ),
    # tasks and events: L3's event came first (0.25 h)
    (
        "avg-task-or-event",
        (
            "{avg_duration: Lead, from: CreatedDate, in: hours, window: cycle_to_date, "
            "to: {first: [Task.CreatedDate, Event.CreatedDate], via: WhoId}}"
        ),
        (1.5 + 24 + 0.25) / 3,
    ),
    # L5 unanswered counts as open up to the end of MID: 08-14 18:00 → 08-16 00:00 = 30 h
    (
        "median-open",
        (
            f"{{median_duration: Lead, from: CreatedDate, to: {FIRST_TASK}, in: hours, "
            "window: cycle_to_date, missing_end: as_of}"
        ),
        (1.5 + 24) / 2,
    ),
    # two fields of a lead, in days: L1 40 h, L4 12 h; L2 no end, L3 end before start,
    # L5 converted after MID, L6 no start
    (
        "avg-days",
        "{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}",
        (40 / 24 + 12 / 24) / 2,
    ),
    (
        "median-days-web",
        (
            "{median_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days, "
            "where: {LeadSource: Web}}"
        ),
        (12 / 24 + 40 / 24) / 2,
    ),
    # window on another field: converted in the cycle up to MID: L1, L4 (L3's end is bad)
    (
        "avg-converted-window",
        (
            "{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: hours, "
            "window: {ConvertedDate: cycle_to_date}}"
        ),
        (40 + 12) / 2,
    ),
    (
        "none",
        (
            "{median_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days, "
            "where: {LeadSource: Nope}}"
        ),
        None,
    ),
    # won revenue per account that won a priced deal: 600 / 2
    (
        "per",
        (
            "{per: {numerator: {sum: Opportunity.Amount, where: {IsWon: true}}, "
            "denominator: {count_distinct: Opportunity.AccountId, where: {IsWon: true, Amount: {gt: 0}}}}}"
        ),
        300.0,
    ),
    (
        "per-zero",
        (
            "{per: {numerator: {sum: Opportunity.Amount}, "
            "denominator: {count: Opportunity, where: {AccountId: nobody}}}}"
        ),
        None,
    ),
]


def load(tmp_path: Path, catalogs: dict[str, Catalog], krs: str) -> MappingSet:
    """A mapping of key results ``krs`` (YAML list items) in cycle Q3 2026."""
    body = dedent(krs).strip("\n")
    (tmp_path / "m.yaml").write_text(
        "version: 1\ncycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}\n"
        "objectives:\n  - key: o\n    title: O\n    key_results:\n"
        + "\n".join("      " + line for line in body.splitlines())
        + "\n"
    )
    return load_mappings(tmp_path, sources={"salesforce": "salesforce"}, catalogs=catalogs)


def cases_mapping(tmp_path: Path, catalogs: dict[str, Catalog]) -> MappingSet:
    """Every case of ``CASES`` as a key result."""
    items = "\n".join(
        f"- {{key: {key}, title: T, source: salesforce, metric: {metric}, target: 1000}}"
        for key, metric, _ in CASES
    )
    return load(tmp_path, catalogs, items)


def fill(engine: Engine) -> Replica:
    """A replica of the leads, tasks, events and opportunities above."""
    replica = Replica(engine)
    tables = {
        "Lead": (
            {
                "CreatedDate": FieldInfo("CreatedDate", "datetime"),
                "ConvertedDate": FieldInfo("ConvertedDate", "date"),
                "LeadSource": FieldInfo("LeadSource", "picklist"),
            },
            [
                {"Id": i, "CreatedDate": c, "ConvertedDate": d, "LeadSource": s}
                for i, c, d, s in LEADS
            ],
        ),
        "Task": (
            {
                "WhoId": FieldInfo("WhoId", "reference"),
                "CreatedDate": FieldInfo("CreatedDate", "datetime"),
                "Type": FieldInfo("Type", "picklist"),
            },
            [{"Id": i, "WhoId": w, "CreatedDate": c, "Type": t} for i, w, c, t in TASKS],
        ),
        "Event": (
            {
                "WhoId": FieldInfo("WhoId", "reference"),
                "CreatedDate": FieldInfo("CreatedDate", "datetime"),
            },
            [{"Id": i, "WhoId": w, "CreatedDate": c} for i, w, c in EVENTS],
        ),
        "Opportunity": (
            {
                "Amount": FieldInfo("Amount", "currency"),
                "IsWon": FieldInfo("IsWon", "boolean"),
                "AccountId": FieldInfo("AccountId", "reference"),
            },
            [{"Id": i, "Amount": a, "IsWon": w, "AccountId": c} for i, a, w, c in OPPORTUNITIES],
        ),
    }
    for obj, (fields, rows) in tables.items():
        table = replica.ensure("salesforce", obj, fields)
        with engine.begin() as conn:
            table.upsert(conn, rows)
    return replica


def values(engine: Engine, replica: Replica, loaded: MappingSet, as_of: date = MID) -> dict:
    """Each key result's value (or error) by its key."""
    result = evaluate(engine, replica, list(loaded.key_results()), as_of)
    return {k.rsplit("/", 1)[1]: v.value if v.error is None else v.error for k, v in result.items()}


def expected() -> dict[str, float | None]:
    return {key: want for key, _, want in CASES}


def approx(found: dict) -> dict:
    return {
        k: v if v is None or isinstance(v, str) else pytest.approx(v, abs=1e-6)
        for k, v in found.items()
    }


def test_durations_and_quotients_on_sqlite(tmp_path: Path, catalogs: dict[str, Catalog]) -> None:
    """Averages and medians of durations (fields, first related records, open ends) and per-quotients equal the hand-computed values."""
    engine = open_store("sqlite://")
    got = values(engine, fill(engine), cases_mapping(tmp_path, catalogs))
    assert approx(got) == expected()


@pytest.mark.postgres
def test_durations_and_quotients_on_postgresql(
    tmp_path: Path, catalogs: dict[str, Catalog], pg_store: str
) -> None:
    """PostgreSQL computes the same durations, medians and quotients as SQLite."""
    engine = open_store(pg_store)
    try:
        got = values(engine, fill(engine), cases_mapping(tmp_path, catalogs))
    finally:
        engine.dispose()
    assert approx(got) == expected()


@pytest.fixture
def pg_store(postgres_url: str) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server."""
    name = f"okrsync_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_ends_after_the_as_of_date_count_later(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """A conversion or an answer after the as-of date is not an end yet; later it is."""
    engine = open_store("sqlite://")
    replica = fill(engine)
    loaded = load(
        tmp_path,
        catalogs,
        f"""
        - {{key: days, title: T, source: salesforce, metric: {{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}}, target: 1}}
        - {{key: first, title: T, source: salesforce, metric: {{avg_duration: Lead, from: CreatedDate, to: {FIRST_TASK}, in: hours, window: cycle}}, target: 1}}
        """,
    )
    later = values(engine, replica, loaded, date(2026, 8, 31))
    # L5 converted 08-20: 08-14 18:00 → 08-20 00:00 = 126 h; answered 08-16 09:00 = 39 h
    assert later["days"] == pytest.approx((40 / 24 + 12 / 24 + 126 / 24) / 3)
    assert later["first"] == pytest.approx((1.5 + 24 + 0.5 + 39) / 4)
    # before any lead existed: nothing measured
    assert values(engine, replica, loaded, date(2026, 6, 1)) == {"days": None, "first": None}


def test_averages_share_the_objects_query_medians_have_their_own(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """An average between two fields of a record is one more term of its object's SELECT; a median or a related end is a query of its own."""
    engine = open_store("sqlite://")
    replica = fill(engine)
    loaded = load(
        tmp_path,
        catalogs,
        f"""
        - {{key: a, title: T, source: salesforce, metric: {{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: hours}}, target: 10}}
        - {{key: b, title: T, source: salesforce, metric: {{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}}, target: 1}}
        - {{key: c, title: T, source: salesforce, metric: {{median_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}}, target: 1}}
        - {{key: d, title: T, source: salesforce, metric: {{avg_duration: Lead, from: CreatedDate, to: {FIRST_TASK}, in: hours}}, target: 1}}
        """,
    )
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    got = values(engine, replica, loaded)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # Lead's terms (a, b), c's median, d's first tasks
    assert got["a"] == pytest.approx(got["b"] * 24)
    # without a window, L4 counts too: (1.5 + 24 + 0.5 + 24) / 4
    assert got["d"] == pytest.approx(50 / 4)


def test_a_failing_duration_query_spoils_only_its_key_result(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """A related object that is not replicated fails the duration's key result alone."""
    engine = open_store("sqlite://")
    replica = fill(engine)
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: bad, title: T, source: salesforce, metric: {median_duration: Lead, from: CreatedDate, to: {first: Case.CreatedDate, via: LeadId__c}, in: hours}, target: 1}
        - {key: ok, title: T, source: salesforce, metric: {median_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days, where: {LeadSource: Web}}, target: 1}
        - {key: count, title: T, source: salesforce, metric: {count: Lead}, target: 10}
        """,
    )
    assert values(engine, replica, loaded) == {
        "bad": "object Case of salesforce is not replicated",
        "ok": pytest.approx((12 / 24 + 40 / 24) / 2),
        "count": 6.0,
    }


def test_per_takes_any_number_where_ratio_takes_fractions(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """A `per` key result may target 50 000 (a number); the same target on a `ratio` is refused."""
    per = "{per: {numerator: {sum: Opportunity.Amount}, denominator: {count: Account}}}"
    loaded = load(
        tmp_path,
        catalogs,
        f"- {{key: clv, title: T, source: salesforce, metric: {per}, start: 40000, target: 50000}}",
    )
    kr = next(iter(loaded.key_results()))
    assert (kr.unit, kr.target) == (Unit.NUMBER, 50000.0)
    ratio = per.replace("per:", "ratio:")
    with pytest.raises(MappingError) as caught:
        load(
            tmp_path,
            catalogs,
            f"- {{key: clv, title: T, source: salesforce, metric: {ratio}, start: 40000, target: 50000}}",
        )
    assert "a fraction between 0 and 1" in str(caught.value)


def test_duration_key_results_are_in_the_stated_unit(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """A duration's unit is the one it states (hours or days), and its start and target cannot be negative."""
    loaded = load(
        tmp_path,
        catalogs,
        """
        - {key: h, title: T, source: salesforce, metric: first_response_hours, start: 12, target: 4}
        - {key: d, title: T, source: salesforce, metric: {avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}, start: 9, target: 5}
        """,
    )
    units = {kr.key: kr.unit for kr in loaded.key_results()}
    assert units == {"h": Unit.HOURS, "d": Unit.DAYS}
    assert all(kr.lower_is_better for kr in loaded.key_results())
    with pytest.raises(MappingError) as caught:
        load(
            tmp_path,
            catalogs,
            "- {key: h, title: T, source: salesforce, metric: first_response_hours, start: 12, target: -1}",
        )
    assert str(caught.value).endswith(
        "objectives[0].key_results[0].target: expected a duration of 0 hours or more for "
        "metric `first_response_hours`, got -1"
    )


def test_durations_show_with_their_unit_in_the_plan_table() -> None:
    """The plan table shows a duration's value, start and target in hours (`h`) or days (`d`)."""
    row = {
        "key": "Q3/o/k",
        "source": "salesforce",
        "metric": "first_response_hours",
        "value": 7.26,
        "start": 12.0,
        "target": 4.0,
        "progress": 0.59,
        "score": 0.59,
        "forecast_score": 0.8,
        "status": "on_track",
    }
    out = io.StringIO()
    Console(file=out, width=200).print(key_result_table([row], {"Q3/o/k": "hours"}))
    assert "7.3 h" in out.getvalue()
    assert "12 h → 4 h" in out.getvalue()
    out = io.StringIO()
    Console(file=out, width=200).print(key_result_table([row], {"Q3/o/k": "days"}))
    assert "12 d → 4 d" in out.getvalue()
