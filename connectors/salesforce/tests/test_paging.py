"""Query paging: 2 000-row pages, batchSize, query locators, queryAll, keyset and offset cursors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

LEADS = 2001
SMALL_PAGES = {"Sforce-Query-Options": "batchSize=200"}


def bulk_leads() -> list[dict[str, Any]]:
    """2 001 leads; every 7 share a creation instant, so sort keys tie across page edges."""
    return [
        {
            "LastName": f"Bulk {i:04d}",
            "Company": "Bulk" if i % 2 else "bulk",
            "CreatedDate": f"2026-08-{1 + (i // 7) % 14:02d}T{(i // 98) % 24:02d}:00:00Z",
        }
        for i in range(1, LEADS + 1)
    ]


@pytest.fixture(scope="module")
def paging_box(
    launch: Callable[..., RunningSalesforceSandbox],
) -> Iterator[RunningSalesforceSandbox]:
    """A sandbox whose only leads are the 2 001 bulk leads."""
    box = launch({"Lead": bulk_leads()})
    yield box
    box.stop()


@pytest.fixture(scope="module")
def api(
    paging_box: RunningSalesforceSandbox, make_client: Callable[..., Salesforce]
) -> Iterator[Salesforce]:
    """A client of the paging sandbox."""
    sf = make_client(paging_box)
    yield sf
    sf.session.close()


@pytest.mark.parametrize(
    ("last", "rows", "pages"),
    [("Bulk 1999", 1999, 1), ("Bulk 2000", 2000, 1), ("Bulk 2001", 2001, 2)],
)
def test_default_pages_of_2000(api: Salesforce, last: str, rows: int, pages: int) -> None:
    """Results up to 2 000 rows come in one page; one more row needs a second page."""
    result = api.query(f"SELECT Id, LastName FROM Lead WHERE LastName <= '{last}'")  # noqa: S608  (SOQL from test constants)
    seen = list(result["records"])
    assert result["totalSize"] == rows
    assert len(seen) == min(rows, 2000)
    count = 1
    while not result["done"]:
        assert result["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
        assert result["nextRecordsUrl"].endswith(f"-{len(seen)}")
        result = api.query_more(result["nextRecordsUrl"], identifier_is_url=True)
        assert result["totalSize"] == rows
        seen.extend(result["records"])
        count += 1
    assert "nextRecordsUrl" not in result
    assert count == pages
    assert [r["LastName"] for r in seen] == [f"Bulk {i:04d}" for i in range(1, rows + 1)]


def test_query_all_follows_every_page(api: Salesforce) -> None:
    """query_all gathers the 2 001 rows across pages."""
    result = api.query_all("SELECT Id FROM Lead")
    assert result["totalSize"] == LEADS
    assert len({r["Id"] for r in result["records"]}) == LEADS


def test_batch_size_header_sets_page_size(api: Salesforce) -> None:
    """Sforce-Query-Options: batchSize=200 gives pages of 200 for the whole cursor."""
    result = api.query("SELECT Id FROM Lead", headers=SMALL_PAGES)
    sizes = [len(result["records"])]
    while not result["done"]:
        result = api.query_more(result["nextRecordsUrl"], identifier_is_url=True)
        sizes.append(len(result["records"]))
    assert sizes == [200] * 10 + [1]


def test_batch_size_is_kept_within_limits(api: Salesforce) -> None:
    """A batch size below 200 is raised to 200, above 2 000 lowered to 2 000."""
    small = api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=5"})
    large = api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=9000"})
    assert len(small["records"]) == 200
    assert len(large["records"]) == 2000


@pytest.mark.parametrize(
    "order",
    [
        "CreatedDate, Id",
        "CreatedDate DESC",
        "LastName DESC",
        "Company, LastName",
        "Company DESC NULLS FIRST",
    ],
)
def test_ordered_paging_neither_skips_nor_repeats(api: Salesforce, order: str) -> None:
    """Ordered results page by sort key or offset without losing or repeating a row."""
    records = api.query_all(
        f"SELECT Id, LastName, Company, CreatedDate FROM Lead ORDER BY {order}",  # noqa: S608  (SOQL from test constants)
        headers=SMALL_PAGES,
    )["records"]
    ids = [r["Id"] for r in records]
    assert len(ids) == LEADS
    assert len(set(ids)) == LEADS
    first = order.split(",", maxsplit=1)[0].split(maxsplit=1)[0]
    values = [r[first] for r in records]
    key = str.casefold if first in {"LastName", "Company"} else str
    expected = sorted(values, key=key, reverse="DESC" in order.split(",", maxsplit=1)[0])
    assert [key(v) for v in values] == [key(v) for v in expected]


def test_limit_and_offset_across_pages(api: Salesforce) -> None:
    """LIMIT caps totalSize and OFFSET skips rows, also over several pages."""
    result = api.query_all(
        "SELECT LastName FROM Lead ORDER BY LastName LIMIT 450 OFFSET 10", headers=SMALL_PAGES
    )
    names = [r["LastName"] for r in result["records"]]
    assert names == [f"Bulk {i:04d}" for i in range(11, 461)]


def test_a_page_can_be_fetched_again(api: Salesforce) -> None:
    """Re-reading the same locator (a client retry) gives the same page."""
    first = api.query("SELECT Id FROM Lead", headers=SMALL_PAGES)
    url = first["nextRecordsUrl"]
    again = api.query_more(url, identifier_is_url=True)
    retry = api.query_more(url, identifier_is_url=True)
    assert again["records"] == retry["records"]
    assert again["nextRecordsUrl"] == retry["nextRecordsUrl"]


def test_unknown_locator_is_invalid(api: Salesforce) -> None:
    """An unknown or out-of-step locator is INVALID_QUERY_LOCATOR."""
    first = api.query("SELECT Id FROM Lead", headers=SMALL_PAGES)
    stepped = first["nextRecordsUrl"].rsplit("-", 1)[0] + "-1234"
    for url in ("/services/data/v59.0/query/01g000000000000-2000", stepped):
        with pytest.raises(SalesforceMalformedRequest) as caught:
            api.query_more(url, identifier_is_url=True)
        assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_oldest_cursor_is_released(
    paging_box: RunningSalesforceSandbox, connect: Callable[..., Salesforce]
) -> None:
    """Opening an eleventh cursor releases the least recently used one, as Salesforce does."""
    sf = connect(paging_box)
    urls = [
        sf.query("SELECT Id FROM Lead", headers=SMALL_PAGES)["nextRecordsUrl"] for _ in range(11)
    ]
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_more(urls[0], identifier_is_url=True)
    assert len(sf.query_more(urls[-1], identifier_is_url=True)["records"]) == 200


def test_query_all_pages_use_the_query_all_path(
    paging_box: RunningSalesforceSandbox, connect: Callable[..., Salesforce]
) -> None:
    """QueryAll cursors continue on /queryAll/ and keep including deleted rows."""
    sf = connect(paging_box)
    doomed = sf.query("SELECT Id FROM Lead WHERE LastName = 'Bulk 2001'")["records"][0]["Id"]
    sf.Lead.delete(doomed)
    try:
        live = sf.query_all("SELECT Id FROM Lead")
        everything = sf.query("SELECT Id, IsDeleted FROM Lead", include_deleted=True)
        assert everything["nextRecordsUrl"].startswith("/services/data/v59.0/queryAll/")
        rest = sf.query_more(everything["nextRecordsUrl"], identifier_is_url=True)
        assert live["totalSize"] == LEADS - 1
        assert everything["totalSize"] == LEADS
        assert rest["records"][-1]["Id"] == doomed
        assert rest["records"][-1]["IsDeleted"] is True
    finally:
        paging_box.hard_delete("Lead", doomed)
