"""The connector's Bulk API 2.0 reader against the sandbox: typed pages, failures, resumes, fallback."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from structlog.testing import capture_logs

from okrsync.connector import Cursor, Page, Predicate
from okrsync.errors import FatalConnectorError
from okrsync_salesforce._bulk import (
    DEFAULT_BULK_THRESHOLD,
    BulkEndpoint,
    BulkOptions,
    BulkRead,
    bulk_calls,
    choose_read,
    rest_calls,
)
from okrsync_sandbox.faults import FaultSpec

from .test_connector_pull import connector_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

    from okrsync.connector import RowFilter
    from okrsync_salesforce._pull import PullSpec
    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

FIELDS = [
    "Name",
    "Amount",
    "CloseDate",
    "IsWon",
    "CreatedDate",
    "LeadSource",
    "AccountId",
    "Account.Name",
    "Owner.Email",
]


def rest_pull(
    box: RunningSalesforceSandbox,
    obj: str = "Opportunity",
    fields: list[str] = FIELDS,
    filters: RowFilter = (),
) -> tuple[PullSpec, list[dict[str, Any]]]:
    """The connector's REST pull of an object: its spec and its records."""
    connector = connector_for(box)
    try:
        pull = connector.pull(obj, fields, filters, Cursor())
        records = [r for page in pull for r in page.records]
    finally:
        connector.close()
    return pull.spec, records


def waiting(box: RunningSalesforceSandbox) -> Callable[[float], None]:
    """A sleep that moves the sandbox's clock instead of waiting."""

    def sleep(seconds: float) -> None:
        box.clock.move_to(box.clock() + timedelta(seconds=seconds))

    return sleep


def drain(read: BulkRead) -> tuple[list[dict[str, Any]], list[str], int]:
    """Records, deleted ids and pages of a read."""
    records: list[dict[str, Any]] = []
    deleted: list[str] = []
    pages = 0
    for page in read:
        assert isinstance(page, Page)
        records.extend(page.records)
        deleted.extend(page.deleted)
        pages += 1
    return records, deleted, pages


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records keyed by Id (a bulk job's order is not REST's)."""
    return {r["Id"]: r for r in records}


@pytest.fixture
def endpoint_for(
    session_for: Callable[[RunningSalesforceSandbox], requests.Session],
) -> Callable[[RunningSalesforceSandbox], BulkEndpoint]:
    """``endpoint_for(box)``: the reader's endpoint on a sandbox's static session."""

    def make(box: RunningSalesforceSandbox) -> BulkEndpoint:
        return BulkEndpoint(
            box.instance_url,
            "59.0",
            session_for(box),
            {"Authorization": f"Bearer {box.session_id}"},
            timeout=10,
        )

    return make


@pytest.fixture
def box(start: Callable[..., RunningSalesforceSandbox]) -> RunningSalesforceSandbox:
    """A sandbox with the small org."""
    return start()


def read_of(
    box: RunningSalesforceSandbox,
    endpoint: BulkEndpoint,
    spec: PullSpec,
    **options: Any,
) -> BulkRead:
    """A bulk read on the sandbox's clock, with fast retries."""
    resume = options.pop("resume", None)
    since = options.pop("since", None)
    values: dict[str, Any] = {"retry_backoff": 0.01, "page_size": 3, "max_records": 4}
    values.update(options)
    return BulkRead(
        endpoint, spec, since=since, options=BulkOptions(**values), resume=resume,
        sleep=waiting(box),
    )  # fmt: skip


def test_bulk_read_yields_the_rest_pulls_typed_records(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """A full job lifecycle gives the same typed records as the REST pull, nulls included."""
    spec, rest = rest_pull(box)
    box.org.accounting.reset()
    read = read_of(box, endpoint_for(box), spec)
    records, deleted, pages = drain(read)
    assert by_id(records) == by_id(rest)
    assert len(records) == 10
    assert deleted == []
    assert pages == 5  # sets of 4, 4, 2 rows in pages of at most 3
    assert read.path == "bulk"
    assert read.counts["sets"] == 3
    trial = next(r for r in records if r["Name"] == "Pure Trial")
    assert trial["Amount"] is None
    orphan = next(r for r in records if r["Name"] == "Orphan Deal")
    assert (orphan["AccountId"], orphan["Account.Name"], orphan["LeadSource"]) == (None, None, None)
    assert read.newest is not None
    stats = box.org.accounting.snapshot()["salesforce"]["by_endpoint"]
    assert stats["bulk_create"] == 1
    assert stats["bulk_results"] == 3
    assert stats["bulk_delete"] == 1  # the org keeps no copy
    assert read.calls == sum(stats.values())


def test_filters_reach_the_job(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """A first read pushes the row filter down, as the REST pull does."""
    filters: RowFilter = ((Predicate("IsWon", "eq", value=True),),)
    spec, rest = rest_pull(box, filters=filters)
    records, _, _ = drain(read_of(box, endpoint_for(box), spec))
    assert by_id(records) == by_id(rest)
    assert {r["Name"] for r in records} == {"Acme Expansion", "Umbrella Starter", "Acme Services"}


def test_a_failed_job_is_run_once_more(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """One failed job is retried with a new job; the read stays on bulk."""
    spec, rest = rest_pull(box)
    box.app.bulk.fail_next(1)
    read = read_of(box, endpoint_for(box), spec)
    records, _, _ = drain(read)
    assert by_id(records) == by_id(rest)
    assert (read.path, read.counts["jobs"], read.counts["failed_jobs"]) == ("bulk", 2, 1)


def test_jobs_that_keep_failing_fall_back_to_rest(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """After two failed jobs the read goes through the REST query and says why."""
    spec, rest = rest_pull(box)
    box.app.bulk.fail_next(2, "Retried more than 15 times")
    read = read_of(box, endpoint_for(box), spec)
    with capture_logs() as logs:
        records, _, _ = drain(read)
    assert by_id(records) == by_id(rest)
    assert read.path == "rest"
    assert "Retried more than 15 times" in read.reason
    assert any(e["event"] == "salesforce.bulk.fallback" for e in logs)


def test_an_object_bulk_cannot_serve_is_read_through_rest(
    start: Callable[..., RunningSalesforceSandbox], endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """INVALIDENTITY at job creation sends the read to REST (crm-api-notes point 6)."""
    box = start(bulk_unsupported_objects="NPS_Response__c")
    fields = ["Score__c", "Response_Date__c", "Comment__c", "Account__r.Name"]
    spec, rest = rest_pull(box, "NPS_Response__c", fields)
    read = read_of(box, endpoint_for(box), spec)
    records, _, _ = drain(read)
    assert by_id(records) == by_id(rest)
    assert len(records) == 6
    assert read.path == "rest"
    assert "not supported by the Bulk API" in read.reason


def test_dropped_connections_resume_the_locator_chain(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """Calls dropped mid-chain are asked again from the same locator; nothing lost or doubled."""
    spec, rest = rest_pull(box)
    box.faults.set_spec(FaultSpec.parse("drop=0.3,5xx=0.1,seed=11"))
    read = read_of(box, endpoint_for(box), spec, max_retries=8)
    records, _, _ = drain(read)
    box.faults.set_spec(FaultSpec())
    assert len(records) == len(rest) == 10
    assert by_id(records) == by_id(rest)
    assert read.counts["retried_calls"] > 0


def test_a_result_set_broken_off_mid_stream_is_read_again_from_its_locator(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """A set cut after some rows is asked again from its locator; its first rows are skipped."""
    spec, rest = rest_pull(box)
    box.app.bulk.cut_next(2, after_rows=3)
    box.org.accounting.reset()
    read = read_of(box, endpoint_for(box), spec)
    records, _, _ = drain(read)
    assert sorted(r["Id"] for r in records) == sorted(r["Id"] for r in rest)
    assert by_id(records) == by_id(rest)
    assert read.counts["interruptions"] == 2
    assert box.org.accounting.snapshot()["salesforce"]["by_endpoint"]["bulk_results"] == 5


def test_a_checkpoint_resumes_the_chain_in_a_new_reader(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """A reader stopped mid-set resumes from its checkpoint: no new job, no row twice."""
    spec, rest = rest_pull(box)
    endpoint = endpoint_for(box)
    first = read_of(box, endpoint, spec, delete_when_done=False)
    pages: Iterator[Page] = iter(first)
    seen = [r for _ in range(2) for r in next(pages).records]  # 3 + 1 rows: the first set
    seen += next(pages).records  # 3 rows of the second set
    checkpoint = first.checkpoint
    assert checkpoint is not None
    assert checkpoint.rows_in_set == 3
    box.org.accounting.reset()
    second = read_of(box, endpoint, spec, resume=checkpoint)
    rest_of, _, _ = drain(second)
    assert len(seen) + len(rest_of) == 10
    assert by_id(seen + rest_of) == by_id(rest)
    stats = box.org.accounting.snapshot()["salesforce"]["by_endpoint"]
    assert "bulk_create" not in stats
    assert stats["bulk_results"] == 2


def test_expired_results_run_the_job_again(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """Resuming after the 7-day lifespan finds the job gone, runs a new one and reads it all."""
    spec, rest = rest_pull(box)
    endpoint = endpoint_for(box)
    first = read_of(box, endpoint, spec, delete_when_done=False)
    next(iter(first))
    checkpoint = first.checkpoint
    assert checkpoint is not None
    box.clock.move_to(box.clock() + timedelta(days=8))
    second = read_of(box, endpoint, spec, resume=checkpoint)
    records, _, _ = drain(second)
    assert by_id(records) == by_id(rest)
    assert second.counts["reruns"] == 1
    assert second.counts["jobs"] == 1


def test_a_read_since_a_stamp_reports_soft_deletes(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """Since a stamp the job is queryAll: a deleted record arrives as deleted, not as a record."""
    spec, _ = rest_pull(box)
    victim = next(iter(by_id(rest_pull(box)[1])))
    box.org.delete(box.org.sobject("Opportunity"), victim, box.org.api_user_id)
    since = box.clock() - timedelta(days=365 * 3)
    read = read_of(box, endpoint_for(box), spec, since=since)
    records, deleted, _ = drain(read)
    assert deleted == [victim]
    assert victim not in by_id(records)
    assert len(records) == 9


def test_choose_read_counts_rows_once_and_applies_the_threshold(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """COUNT() learns the rows (one call); at or above the threshold the read goes bulk."""
    spec, _ = rest_pull(box, filters=((Predicate("IsWon", "eq", value=False),),))
    endpoint = endpoint_for(box)
    box.org.accounting.reset()
    assert choose_read(endpoint, spec, threshold=7).bulk is True
    choice = choose_read(endpoint, spec, threshold=8)
    assert (choice.rows, choice.bulk) == (7, False)
    assert box.org.accounting.calls("salesforce") == 2
    assert choose_read(endpoint, spec, threshold=0).bulk is False
    assert box.org.accounting.calls("salesforce") == 2  # threshold 0: no COUNT()


def test_a_refused_field_is_fatal_not_a_fallback(
    box: RunningSalesforceSandbox, endpoint_for: Callable[..., BulkEndpoint]
) -> None:
    """A SOQL error REST would share (an unknown field) is a fatal connector error."""
    spec, _ = rest_pull(box)
    broken = type(spec)(
        spec.object_name,
        spec.fields,
        "Nope__c = 1",
        spec.stamp_field,
        soft_deletes=spec.soft_deletes,
        hard_deletes=spec.hard_deletes,
    )
    with pytest.raises(FatalConnectorError, match="INVALID_FIELD"):
        drain(read_of(box, endpoint_for(box), broken))


def test_call_arithmetic_behind_the_default_threshold() -> None:
    """From the default threshold on, a job costs fewer calls than REST pages."""
    assert rest_calls(DEFAULT_BULK_THRESHOLD) == 10
    assert bulk_calls(DEFAULT_BULK_THRESHOLD, polls=5) == 8
    assert rest_calls(10_000) <= bulk_calls(10_000, polls=3)
    assert (rest_calls(1_000_000), bulk_calls(1_000_000, polls=8)) == (500, 20)
