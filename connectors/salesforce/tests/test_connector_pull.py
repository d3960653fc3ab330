"""The connector's pulls against the sandbox: paging, typed values, filters, cursors, deletions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from structlog.testing import capture_logs

from okrsync.connector import Cursor, Page, Predicate
from okrsync.errors import FatalConnectorError
from okrsync.kit import SEEN_LIMIT, TRUNCATED_EVENT
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce._soql import quote
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_salesforce_sandbox.ids import make_id

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simple_salesforce import Salesforce

    from okrsync.connector import RowFilter
    from okrsync_salesforce._pull import SalesforcePull
    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

BIG = 2_500
HOSTILE = "O'Brien \\ ' OR Id != null"
START = datetime(2026, 6, 1, tzinfo=UTC)
STAGES = ("Prospecting", "Closed Won", "Closed Lost", "Negotiation/Review")


def connector_for(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    """A connector on the sandbox's static session, pinned to its CA, on the sandbox's clock."""
    values: dict[str, Any] = {
        "auth": "session",
        "instance_url": box.instance_url,
        "session_id": box.session_id,
        "ca_file": box.ca_file,
        "retry_backoff_seconds": 0.001,
        "timeout_seconds": 10,
        "deletion_check_seconds": 0,
    }
    values.update(overrides)
    return SalesforceConnector("salesforce", SalesforceSettings(**values), clock=box.app.clock)


def drain(pull: SalesforcePull) -> tuple[list[dict[str, Any]], list[str], int]:
    """Records, deleted ids and page count of a pull."""
    records: list[dict[str, Any]] = []
    deleted: list[str] = []
    pages = 0
    for page in pull:
        assert isinstance(page, Page)
        records.extend(page.records)
        deleted.extend(page.deleted)
        pages += 1
    return records, deleted, pages


def uid(n: int) -> str:
    return make_id("005", 100 + n)


def aid(n: int) -> str:
    return make_id("001", 100 + n)


def big_id(n: int) -> str:
    return make_id("006", 1000 + n)


def big_org() -> dict[str, list[dict[str, Any]]]:
    """Two users, four accounts (one with a hostile name), 2 500 opportunities a minute apart."""
    users = [
        {"Id": uid(1), "Username": "ada@acme.example", "Email": "ada@acme.example", "LastName": "Lovelace"},
        {"Id": uid(2), "Username": "bob@acme.example", "Email": "bob@acme.example", "LastName": "Builder"},
    ]  # fmt: skip
    names = ["Acme", HOSTILE, "O'Brien", "O\\'Brien"]
    accounts = [{"Id": aid(i), "Name": name, "OwnerId": uid(1)} for i, name in enumerate(names)]
    opportunities = []
    for n in range(BIG):
        stamp = START + timedelta(minutes=n)
        opportunities.append(
            {
                "Id": big_id(n),
                "Name": f"Deal {n}",
                "AccountId": aid(n % 4) if n % 5 else None,
                "OwnerId": uid(1 + n % 2),
                "Amount": None if n % 7 == 0 else 1000 + n * 10.5,
                "StageName": STAGES[n % 4],
                "CloseDate": (date(2026, 6, 1) + timedelta(days=n % 200)).isoformat(),
                "CreatedDate": stamp.isoformat().replace("+00:00", "Z"),
                "SystemModstamp": stamp.isoformat().replace("+00:00", "Z"),
            }
        )
    return {"User": users, "Account": accounts, "Opportunity": opportunities}


def expected(n: int) -> dict[str, Any]:
    """What a pull of ``FIELDS`` says about opportunity ``n``."""
    stamp = START + timedelta(minutes=n)
    account = n % 4 if n % 5 else None
    stage = STAGES[n % 4]
    return {
        "Id": big_id(n),
        "Name": f"Deal {n}",
        "Amount": None if n % 7 == 0 else 1000 + n * 10.5,
        "CloseDate": date(2026, 6, 1) + timedelta(days=n % 200),
        "CreatedDate": stamp,
        "IsWon": stage == "Closed Won",
        "StageName": stage,
        "Owner.Email": "ada@acme.example" if n % 2 == 0 else "bob@acme.example",
        "Account.Name": None
        if account is None
        else ["Acme", HOSTILE, "O'Brien", "O\\'Brien"][account],
    }


FIELDS = [
    "Name",
    "Amount",
    "CloseDate",
    "CreatedDate",
    "IsWon",
    "StageName",
    "Owner.Email",
    "Account.Name",
]


@pytest.fixture(scope="module")
def big(launch: Callable[..., RunningSalesforceSandbox]) -> Iterator[RunningSalesforceSandbox]:
    """A read-only sandbox with 2 500 opportunities."""
    box = launch(big_org())
    yield box
    box.stop()


def test_full_pull_pages_with_typed_values_and_paths(big: RunningSalesforceSandbox) -> None:
    """A first pull pages through 2 500 rows, each once, typed, with parent paths flattened."""
    connector = connector_for(big)
    pull = connector.pull("Opportunity", FIELDS, (), Cursor())
    before = connector.usage().calls
    records, deleted, pages = drain(pull)
    assert pages == 2
    assert deleted == []
    assert connector.usage().calls - before == 2
    assert len(records) == BIG
    assert len({r["Id"] for r in records}) == BIG
    by_id = {r["Id"]: r for r in records}
    for n in (0, 1, 7, 13, 2_499):
        assert by_id[big_id(n)] == expected(n)
    created = by_id[big_id(3)]["CreatedDate"]
    assert isinstance(created, datetime)
    assert created.utcoffset() == timedelta(0)
    assert [r["Id"] for r in records] == [big_id(n) for n in range(BIG)]  # stamp order
    newest = START + timedelta(minutes=BIG - 1)
    assert pull.cursor.stamp == newest.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert pull.skipped == []
    usage = connector.usage()
    assert usage.limit == 100_000
    assert usage.remaining is not None
    assert usage.remaining < usage.limit
    connector.close()


def test_pages_follow_the_page_size(big: RunningSalesforceSandbox) -> None:
    """``page_size`` asks for smaller pages; the cursor is only final after the last one."""
    connector = connector_for(big, page_size=500)
    pull = connector.pull("Opportunity", ["Name"], (), Cursor())
    pages = iter(pull)
    assert len(next(pages).records) == 500
    assert pull.cursor == Cursor()
    assert sum(len(p.records) for p in pages) == BIG - 500
    assert pull.cursor.stamp is not None
    connector.close()


def _matches(n: int, filters: RowFilter) -> bool:
    row = expected(n)
    row["Probability"] = None

    def holds(pred: Predicate) -> bool:
        value = row[pred.field]
        if pred.op == "in":
            return value in pred.value
        if pred.op == "is_null":
            return (value is None) == pred.value
        if value is None:
            return pred.op == "ne"
        bound = pred.value
        if isinstance(value, datetime) and not isinstance(bound, datetime):
            value = value.date()
        if isinstance(value, str):
            value, bound = value.lower(), bound.lower()  # SOQL compares text in any case
        return {
            "eq": value == bound,
            "ne": value != bound,
            "gt": value > bound,
            "gte": value >= bound,
            "lt": value < bound,
            "lte": value <= bound,
        }[pred.op]

    return any(all(holds(p) for p in group) for group in filters)


@pytest.mark.parametrize(
    "filters",
    [
        (
            (
                Predicate("StageName", "in", ("Closed Won", "Closed Lost")),
                Predicate("CloseDate", "gte", date(2026, 7, 1)),
                Predicate("CloseDate", "lte", date(2026, 9, 30)),
            ),
            (Predicate("Amount", "gt", 26_000), Predicate("IsWon", "eq", value=False)),
        ),
        (
            (
                Predicate("CreatedDate", "gte", date(2026, 6, 2)),
                Predicate("CreatedDate", "lte", date(2026, 6, 2)),
            ),
        ),
        ((Predicate("Amount", "is_null", value=True),),),
        ((Predicate("CreatedDate", "gt", date(2026, 6, 1)), Predicate("Amount", "lt", 20_000.5)),),
        (
            (
                Predicate("Owner.Email", "eq", "ADA@acme.example"),
                Predicate("CloseDate", "lt", date(2026, 6, 3)),
            ),
        ),
    ],
    ids=["groups", "datetime-day", "null", "datetime-gt", "parent-path"],
)
def test_filtered_first_pull_returns_exactly_the_matching_ids(
    big: RunningSalesforceSandbox, filters: RowFilter
) -> None:
    """A first pull pushes the filter down: exactly the ids a literal evaluation selects, in its pages only.

    No query asks for the object's newest stamp: the cursor is the org's clock
    (its answers' ``Date``) when the pull began, less the lookback, so the next
    pull starts there rather than at the newest row the filter kept.
    """
    connector = connector_for(big)
    pull = connector.pull("Opportunity", ["Name", "CreatedDate"], filters, Cursor())
    calls = connector.usage().calls
    began = big.app.clock()
    records, _, pages = drain(pull)
    ended = big.app.clock()
    assert connector.usage().calls - calls == pages
    want = {big_id(n) for n in range(BIG) if _matches(n, filters)}
    assert want
    assert len(records) == len(want)
    assert {r["Id"] for r in records} == want
    assert pull.cursor.stamp is not None
    stamp = datetime.fromisoformat(pull.cursor.stamp)
    lookback = timedelta(seconds=connector.settings.lookback_seconds)
    assert began - lookback - timedelta(seconds=2) <= stamp <= ended - lookback
    connector.close()


def test_date_bounds_on_a_datetime_field_are_midnight_utc(big: RunningSalesforceSandbox) -> None:
    """``lte`` a day on a datetime field includes that whole day and stops at the next midnight."""
    connector = connector_for(big)
    filters = ((Predicate("CreatedDate", "lte", date(2026, 6, 1)),),)
    records, _, _ = drain(connector.pull("Opportunity", ["CreatedDate"], filters, Cursor()))
    assert len(records) == 24 * 60
    assert max(r["CreatedDate"] for r in records) == datetime(2026, 6, 1, 23, 59, tzinfo=UTC)
    connector.close()


def test_hostile_filter_values_match_literally(big: RunningSalesforceSandbox) -> None:
    """Quotes, backslashes and SOQL keywords in a value select exactly the literal match."""
    assert quote(HOSTILE) == "'O\\'Brien \\\\ \\' OR Id != null'"
    assert quote('a\nb\r\t\b\f"c\x01') == "'a\\nb\\r\\t\\b\\f\\\"c\\u0001'"
    connector = connector_for(big)
    for name, account in ((HOSTILE, 1), ("O'Brien", 2), ("O\\'Brien", 3)):
        filters = ((Predicate("Account.Name", "eq", name),),)
        records, _, _ = drain(connector.pull("Opportunity", ["Account.Name"], filters, Cursor()))
        want = {big_id(n) for n in range(BIG) if n % 5 and n % 4 == account}
        assert {r["Id"] for r in records} == want
        assert {r["Account.Name"] for r in records} == {name}
    filters = ((Predicate("Account.Name", "in", (HOSTILE, "a'\n")),),)
    records, _, _ = drain(connector.pull("Opportunity", ["Name"], filters, Cursor()))
    assert len(records) == len([n for n in range(BIG) if n % 5 and n % 4 == 1])
    connector.close()


def test_unknown_names_fail_before_any_query(big: RunningSalesforceSandbox) -> None:
    """Unknown objects, fields and paths are errors naming them; describe says LookupError."""
    connector = connector_for(big)
    with pytest.raises(LookupError):
        connector.describe("Nope__c")
    with pytest.raises(LookupError):
        connector.describe("Bad Name")
    with pytest.raises(FatalConnectorError, match="no object Nope__c"):
        connector.pull("Nope__c", ["Name"], (), Cursor())
    with pytest.raises(FatalConnectorError, match="no field 'Name, Id'"):
        connector.pull("Opportunity", ["Name, Id"], (), Cursor())
    with pytest.raises(FatalConnectorError, match=r"no field 'Owner\.Nope'"):
        connector.pull("Opportunity", ["Owner.Nope"], (), Cursor())
    with pytest.raises(FatalConnectorError, match="salesforce"):
        connector.pull(
            "Opportunity", ["Name"], ((Predicate("IsWon", "gt", value=True),),), Cursor()
        )
    info = connector.describe("opportunity")
    assert info.name == "Opportunity"
    assert info.field("amount") is not None
    assert info.field("AccountId").reference_to == "Account"  # type: ignore[union-attr]
    assert info.field("StageName").type == "picklist"  # type: ignore[union-attr]
    assert "Closed Won" in info.field("StageName").picklist  # type: ignore[union-attr]
    calls = connector.usage().calls
    connector.describe("Opportunity")
    assert connector.usage().calls == calls  # cached
    connector.close()


# -- incremental pulls -----------------------------------------------------------------------------


def _stamp(box: RunningSalesforceSandbox) -> str:
    return box.app.clock().strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_incremental_pull_reports_each_change_once(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """After inserts, updates, soft and hard deletes: exactly those ids, each once, then nothing."""
    box = start(big_org())
    sf = connect(box)
    connector = connector_for(box)
    first = connector.pull("Opportunity", ["Name", "Amount"], (), Cursor())
    records, _, _ = drain(first)
    assert len(records) == BIG
    new = [
        sf.Opportunity.create(
            {"Name": f"New {i}", "StageName": "Prospecting", "CloseDate": "2026-09-01"}
        )["id"]
        for i in range(2)
    ]
    sf.Opportunity.update(big_id(10), {"Amount": 5})
    sf.Opportunity.delete(big_id(11))
    assert box.hard_delete("Opportunity", big_id(12))
    second = connector.pull("Opportunity", ["Name", "Amount"], (), first.cursor)
    records, deleted, _ = drain(second)
    assert sorted(r["Id"] for r in records) == sorted([*new, big_id(10)])
    assert next(r for r in records if r["Id"] == big_id(10))["Amount"] == 5.0
    assert sorted(deleted) == sorted([big_id(11), big_id(12)])
    assert second.cursor.stamp is not None
    assert second.cursor.stamp > (first.cursor.stamp or "")
    third = connector.pull("Opportunity", ["Name", "Amount"], (), second.cursor)
    records, deleted, _ = drain(third)
    assert (records, deleted) == ([], [])
    assert third.counts["duplicates"] >= 3  # the overlap window was read again, and recognised
    connector.close()


def test_incremental_pull_ignores_the_filter(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """A record that stopped matching still comes back, so the replica can drop it."""
    box = start(big_org())
    sf = connect(box)
    connector = connector_for(box)
    filters = ((Predicate("StageName", "eq", "Closed Won"),),)
    first = connector.pull("Opportunity", ["StageName"], filters, Cursor())
    assert len(drain(first)[0]) == BIG // 4
    sf.Opportunity.update(big_id(1), {"StageName": "Closed Lost"})
    records, _, _ = drain(connector.pull("Opportunity", ["StageName"], filters, first.cursor))
    # The seeded rows are months old: the window starts after the newest of them.
    assert records == [{"Id": big_id(1), "StageName": "Closed Lost"}]
    connector.close()


def test_late_commit_inside_the_lookback_window_is_caught(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """A change stamped before the cursor but committed after the pull is found by the overlap, once."""
    box = start(big_org())
    sf = connect(box)
    connector = connector_for(box, lookback_seconds=600)
    sf.Opportunity.update(big_id(7), {"Amount": 7.0})  # the newest change, stamped now
    first = connector.pull("Opportunity", ["Amount"], (), Cursor())
    drain(first)
    assert first.cursor.stamp is not None
    late = datetime.fromisoformat(first.cursor.stamp) - timedelta(minutes=7, seconds=30)
    box.org.store.update("Opportunity", big_id(5), {"Amount": 1.5, "SystemModstamp": late})
    second = connector.pull("Opportunity", ["Amount"], (), first.cursor)
    records, deleted, _ = drain(second)
    assert records == [{"Id": big_id(5), "Amount": 1.5}]  # big_id(7) is recognised, not repeated
    assert deleted == []
    assert second.counts["duplicates"] == 1
    connector.close()


def test_a_burst_larger_than_the_seen_set_loses_nothing(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """More changes in the window than the cursor keeps: it keeps the newest, and the next pull repeats only the forgotten ones."""
    box = start(big_org())
    connector = connector_for(box, lookback_seconds=3600)
    first = connector.pull("Opportunity", ["Amount"], (), Cursor())
    drain(first)
    now = box.app.clock()
    burst = SEEN_LIMIT + 100
    for n in range(burst):  # stamped one second apart, the oldest last
        box.org.store.update(
            "Opportunity", big_id(n), {"Amount": 7.0, "SystemModstamp": now - timedelta(seconds=n)}
        )
    with capture_logs() as logs:
        second = connector.pull("Opportunity", ["Amount"], (), first.cursor)
        records, _, _ = drain(second)
    assert len(records) == burst
    assert len(second.cursor.seen) == SEEN_LIMIT + 1  # and the start marker
    assert any(e["event"] == TRUNCATED_EVENT for e in logs)
    again, deleted, _ = drain(connector.pull("Opportunity", ["Amount"], (), second.cursor))
    assert deleted == []
    assert {r["Id"] for r in again} == {big_id(n) for n in range(SEEN_LIMIT, burst)}
    connector.close()


def test_unreadable_records_are_skipped_not_fatal(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """A record with a value that cannot be read is reported in ``skipped``; the rest arrive."""
    box = start(big_org())
    box.org.store.update("Opportunity", big_id(3), {"Amount": "nan"})
    connector = connector_for(box)
    pull = connector.pull("Opportunity", ["Amount"], (), Cursor())
    records, _, _ = drain(pull)
    assert len(records) == BIG - 1
    assert big_id(3) not in {r["Id"] for r in records}
    assert [(i, "Amount" in reason) for i, reason in pull.skipped] == [(big_id(3), True)]
    connector.close()


def test_old_cursor_means_a_full_pull(start: Callable[..., RunningSalesforceSandbox]) -> None:
    """Deletions older than 15 days cannot be listed: the replica is reset and refilled, logged."""
    box = start(big_org())
    connector = connector_for(box)
    now = box.app.clock()
    old = (now - timedelta(days=16)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with capture_logs() as logs:
        pull = connector.pull("Opportunity", ["Name"], (), Cursor(old, (), old))
        pages = list(pull)
    assert pages[0] == Page(reset=True)
    records = [r for page in pages for r in page.records]
    deleted = [i for page in pages for i in page.deleted]
    assert len(records) == BIG
    assert deleted == []
    assert any(e["event"] == "salesforce.pull.full_repull" for e in logs)
    assert pull.cursor.deleted_since is not None
    assert pull.cursor.deleted_since > old
    connector.close()


def test_deletions_are_listed_at_most_every_check_interval(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """With a check interval, a warm pull costs one query; soft deletes still arrive at once."""
    box = start(big_org())
    sf = connect(box)
    connector = connector_for(box, deletion_check_seconds=3600)
    first = connector.pull("Opportunity", ["Name"], (), Cursor())
    drain(first)
    calls = connector.usage().calls
    warm = connector.pull("Opportunity", ["Name"], (), first.cursor)
    assert drain(warm)[:2] == ([], [])
    assert connector.usage().calls - calls == 1
    assert warm.cursor.deleted_since == first.cursor.deleted_since
    sf.Opportunity.delete(big_id(20))
    box.hard_delete("Opportunity", big_id(21))
    records, deleted, _ = drain(connector.pull("Opportunity", ["Name"], (), warm.cursor))
    assert (records, deleted) == ([], [big_id(20)])
    counts = Counter(e for e in first.cursor.seen)
    assert all(n == 1 for n in counts.values())
    connector.close()
