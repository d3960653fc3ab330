"""The connector under faults: retries, dropped connections, expired sessions, the quota reserve."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import responses
from structlog.testing import capture_logs

from okrsync.connector import Cursor, Page, UpsertStatus
from okrsync.crm_objects import OBJECTIVE
from okrsync.errors import FatalConnectorError, QuotaReserveReached, RetriableConnectorError
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.faults import FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

ROWS = 1_200


def org() -> dict[str, list[dict[str, Any]]]:
    """1 200 opportunities, a second apart."""
    start = datetime(2026, 8, 1, tzinfo=UTC)
    return {
        "Opportunity": [
            {
                "Id": make_id("006", 1000 + n),
                "Name": f"Deal {n}",
                "StageName": "Prospecting",
                "CloseDate": "2026-09-30",
                "Amount": n,
                "SystemModstamp": (start + timedelta(seconds=n)).isoformat(),
            }
            for n in range(ROWS)
        ]
    }


def connector_for(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    """A connector on the sandbox's static session, pinned to its CA, on the sandbox's clock."""
    values: dict[str, Any] = {
        "auth": "session",
        "instance_url": box.instance_url,
        "session_id": box.session_id,
        "ca_file": box.ca_file,
        "retry_backoff_seconds": 0.001,
        "timeout_seconds": 10,
        "page_size": 200,
    }
    values.update(overrides)
    return SalesforceConnector("salesforce", SalesforceSettings(**values), clock=box.app.clock)


def credentials_for(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceConnector:
    """A connector logging in with client credentials at the sandbox's token endpoint."""
    values: dict[str, Any] = {
        "auth": "client_credentials",
        "login_url": box.instance_url,
        "consumer_key": box.app.sessions.consumer_key,
        "consumer_secret": box.app.sessions.consumer_secret,
        "session_id": None,
        "instance_url": None,
    }
    values.update(overrides)
    return connector_for(box, **values)


def pulled_ids(connector: SalesforceConnector, cursor: Cursor | None = None) -> list[str]:
    pull = connector.pull("Opportunity", ["Name", "Amount"], (), cursor or Cursor())
    return [r["Id"] for page in pull for r in page.records]


def test_a_storm_of_server_errors_and_drops_completes_with_retries(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """5xx answers and dropped connections are retried: every record once, every write done."""
    box = start(org())
    connector = connector_for(box, max_retries=10)
    connector.provision([OBJECTIVE])
    box.faults.set_spec(FaultSpec.parse("5xx=0.3,drop=0.15,seed=11"))
    with capture_logs() as logs:
        ids = pulled_ids(connector)
        outcomes = connector.write(
            OBJECTIVE, [{"key": f"2026-Q3/s{i}", "title": f"O {i}"} for i in range(250)]
        )
    assert len(ids) == ROWS
    assert len(set(ids)) == ROWS
    assert all(o.status is UpsertStatus.CREATED for o in outcomes)
    faults = box.app.accounting.snapshot()["salesforce"]["faults"]
    assert faults.get("5xx", 0) > 0
    assert faults.get("drop", 0) > 0
    retries = [e for e in logs if e["event"] == "connector.retry"]
    assert len(retries) == faults["5xx"] + faults["drop"]
    assert {e["object"] for e in retries} <= {"Opportunity", "OKR_Objective__c"}
    connector.close()


def test_retries_are_bounded(start: Callable[..., RunningSalesforceSandbox]) -> None:
    """A server that keeps failing is reported retriable after ``max_retries`` more attempts."""
    box = start(org())
    connector = connector_for(box, max_retries=2)
    box.faults.set_spec(FaultSpec.parse("5xx=1"))
    with pytest.raises(RetriableConnectorError) as caught:
        connector.describe("Opportunity")
    assert caught.value.crm == "salesforce"
    assert caught.value.object_name == "Opportunity"
    assert connector.usage().calls == 3
    connector.close()


def test_timeouts_apply_to_every_call(start: Callable[..., RunningSalesforceSandbox]) -> None:
    """A call slower than ``timeout_seconds`` is abandoned and retried, then reported retriable."""
    box = start(org())
    connector = connector_for(box, timeout_seconds=0.2, max_retries=1)
    box.faults.set_spec(FaultSpec.parse("latency=1500ms"))
    began = time.monotonic()
    with pytest.raises(RetriableConnectorError, match="Timeout"):
        connector.describe("Opportunity")
    assert time.monotonic() - began < 1.4
    box.faults.set_spec(FaultSpec())
    connector.close()


def test_session_expiry_mid_pull_logs_in_again(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """An access token expiring between two pages: a new login, the same page, nothing lost."""
    box = start(org())
    connector = credentials_for(box)
    pull = connector.pull("Opportunity", ["Name"], (), Cursor())
    pages = iter(pull)
    ids = [r["Id"] for r in next(pages).records]
    token = connector.transport._token
    assert token is not None
    assert box.expire_session(token.access_token)
    with capture_logs() as logs:
        ids += [r["Id"] for page in pages for r in page.records]
    assert len(ids) == ROWS
    assert len(set(ids)) == ROWS
    assert [e["event"] for e in logs].count("salesforce.auth.relogin") == 1
    assert connector.transport._token is not token
    connector.close()


def test_expired_session_faults_are_survived_with_credentials(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """Random INVALID_SESSION_ID answers are met with a new login and the same call."""
    box = start(org())
    connector = credentials_for(box, max_retries=6)
    box.faults.set_spec(FaultSpec.parse("expired=0.3,seed=4"))
    ids = pulled_ids(connector)
    assert sorted(ids) == sorted(make_id("006", 1000 + n) for n in range(ROWS))
    assert box.app.accounting.snapshot()["salesforce"]["faults"]["expired"] > 0
    connector.close()


def test_a_rejected_static_session_fails_clearly_after_one_more_try(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """A static session id cannot be renewed: one more try, then a fatal error that says so."""
    box = start(org())
    connector = connector_for(box)
    box.expire_session()
    with pytest.raises(FatalConnectorError, match="static session id was rejected") as caught:
        connector.describe("Opportunity")
    assert caught.value.code == "INVALID_SESSION_ID"
    assert box.session_id not in str(caught.value)
    assert box.app.accounting.snapshot()["salesforce"]["by_endpoint"]["describe"] == 2
    connector.close()


def test_the_quota_reserve_stops_a_pull_cleanly(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """Before the org's quota falls under the reserve the pull stops; the old cursor stays."""
    box = start(org(), daily_api_requests=20)
    connector = connector_for(box, quota_reserve_percent=90)
    old = Cursor()
    pull = connector.pull("Opportunity", ["Name"], (), old)
    pages: list[Page] = []
    with pytest.raises(QuotaReserveReached) as caught:
        pages.extend(pull)
    seen = sum(len(page.records) for page in pages)
    assert seen == 200  # describe, the first page; the second page would cross the reserve
    assert pull.cursor == old
    assert connector.usage().remaining == 18
    assert connector.usage().limit == 20
    assert "18 of 20" in str(caught.value)
    connector.close()


def test_a_spent_quota_is_not_slept_on(start: Callable[..., RunningSalesforceSandbox]) -> None:
    """REQUEST_LIMIT_EXCEEDED stops at once as QuotaReserveReached, without backing off."""
    box = start(org(), daily_api_requests=1)
    spender = connector_for(box)
    spender.describe("Opportunity")
    connector = connector_for(box, retry_backoff_seconds=5)  # knows nothing of the quota yet
    began = time.monotonic()
    with pytest.raises(QuotaReserveReached, match="REQUEST_LIMIT_EXCEEDED"):
        pulled_ids(connector)
    assert time.monotonic() - began < 1
    assert connector.usage().calls == 1
    box.reset_quota(100)
    box.faults.set_spec(FaultSpec.parse("daily=1"))
    with pytest.raises(QuotaReserveReached):
        pulled_ids(connector)
    assert connector.usage().remaining == 0  # the refusal's Sforce-Limit-Info says so too
    spender.close()
    connector.close()


def test_the_concurrent_request_limit_is_retried_and_the_pull_completes(
    start: Callable[..., RunningSalesforceSandbox],
) -> None:
    """The sandbox's transient REQUEST_LIMIT_EXCEEDED (concurrent requests) is retried; every row arrives once."""
    box = start(org())
    connector = connector_for(box, max_retries=8)
    box.faults.set_spec(FaultSpec.parse("429=0.4,seed=5"))
    with capture_logs() as logs:
        ids = pulled_ids(connector)
    box.faults.set_spec(FaultSpec())
    assert len(ids) == len(set(ids)) == ROWS
    refused = box.app.accounting.snapshot()["salesforce"]["faults"]["429"]
    assert refused >= 1
    retries = [e for e in logs if e["event"] == "connector.retry"]
    assert len(retries) == refused
    assert {e["code"] for e in retries} == {"REQUEST_LIMIT_EXCEEDED"}
    connector.close()


@pytest.mark.parametrize(
    ("usage", "outcome"),
    [("api-usage=20/15000", "retried"), ("api-usage=15000/15000", "stopped")],
    ids=["requests-left", "allocation-spent"],
)
@responses.activate
def test_a_request_limit_of_unknown_wording_is_judged_by_the_reported_quota(
    usage: str, outcome: str
) -> None:
    """REQUEST_LIMIT_EXCEEDED whose message names no limit: requests left mean transient, none left mean the daily limit."""
    url = "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Account/describe/"
    refusal = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "Limit exceeded."}]
    responses.get(url, json=refusal, status=403, headers={"Sforce-Limit-Info": usage})
    responses.get(url, json={"name": "Account", "label": "Account", "fields": []})
    settings = SalesforceSettings(
        auth="session",
        instance_url="https://acme.my.salesforce.com",
        session_id="00D!token-for-a-test",
        retry_backoff_seconds=0.001,
        quota_reserve_percent=0,
    )
    connector = SalesforceConnector("salesforce", settings)
    if outcome == "retried":
        assert connector.describe("Account").name == "Account"
        assert connector.usage().calls == 2
    else:
        with pytest.raises(QuotaReserveReached, match="daily API request limit is spent"):
            connector.describe("Account")
        assert connector.usage().calls == 1
    connector.close()


@responses.activate
def test_too_many_concurrent_requests_is_retried_not_a_spent_quota() -> None:
    """REQUEST_LIMIT_EXCEEDED for concurrent long requests is transient: retried, then served."""
    url = "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Account/describe/"
    busy = [
        {"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn Limit exceeded"}
    ]
    responses.get(url, json=busy, status=403)
    responses.get(url, json={"name": "Account", "label": "Account", "fields": []})
    settings = SalesforceSettings(
        auth="session",
        instance_url="https://acme.my.salesforce.com",
        session_id="00D!token-for-a-test",
        retry_backoff_seconds=0.001,
    )
    connector = SalesforceConnector("salesforce", settings)
    assert connector.describe("Account").name == "Account"
    assert connector.usage().calls == 2
    connector.close()
