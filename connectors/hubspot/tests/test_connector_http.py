"""The HubSpot connector's HTTP behaviour against the sandbox: retries, pacing, limits, errors, secrecy."""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, SecretStr
from structlog.testing import capture_logs

from okrsync.connector import Cursor, Predicate
from okrsync.crm_objects import KEY_RESULT, OBJECTIVE, OKR_OBJECTS
from okrsync.errors import (
    ConnectorError,
    FatalConnectorError,
    QuotaReserveReached,
    RetriableConnectorError,
)
from okrsync_hubspot import HubSpotSettings, plugin
from okrsync_hubspot._http import Pacer
from okrsync_hubspot.connector import HubSpotConnector
from okrsync_sandbox.faults import FaultKind, FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from okrsync_hubspot_sandbox import RunningHubSpotSandbox

COMPANIES = 450


def connect_to(
    box: RunningHubSpotSandbox, token: str | None = None, **overrides: Any
) -> HubSpotConnector:
    """A connector to ``box`` through the plugin, with fast retries."""
    values: dict[str, Any] = {
        "access_token": SecretStr(token or box.access_token),
        "host": box.url,
        "search_requests_per_second": 10,
        "timeout_seconds": 5,
        "retry_backoff_seconds": 0.01,
        "retry_max_wait_seconds": 0.05,
        "deletion_check_seconds": 0,
    }
    values.update(overrides)
    connector = plugin.connect("hubspot", HubSpotSettings(**values), clock=box.app.clock)
    assert isinstance(connector, HubSpotConnector)
    return connector


@pytest.fixture
def connect() -> Iterator[Callable[..., HubSpotConnector]]:
    """Make connectors (closed after the test)."""
    made: list[HubSpotConnector] = []

    def make(
        box: RunningHubSpotSandbox, token: str | None = None, **overrides: Any
    ) -> HubSpotConnector:
        connector = connect_to(box, token, **overrides)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def write_companies(root: Path, n: int = COMPANIES) -> Path:
    """``root/hubspot/companies.jsonl`` with ``n`` companies (ids ``501…``)."""
    folder = root / "hubspot"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "companies.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(1, n + 1):
            row = {"id": str(500 + i), "properties": {"name": f"C{i}", "numberofemployees": i}}
            handle.write(json.dumps(row) + "\n")
    return root


@pytest.fixture
def companies(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path
) -> RunningHubSpotSandbox:
    """A sandbox with 450 companies."""
    return start_box(data_dir=write_companies(tmp_path))


def served(box: RunningHubSpotSandbox) -> dict[str, Any]:
    """The sandbox's accounting for HubSpot."""
    return box.app.accounting.snapshot().get(
        "hubspot", {"calls": 0, "faults": {}, "by_endpoint": {}}
    )


def all_ids(connector: HubSpotConnector) -> list[str]:
    """Ids of a cold pull of every company."""
    return [
        r["Id"]
        for page in connector.pull("companies", ["name"], (), Cursor())
        for r in page.records
    ]


# -- retries ------------------------------------------------------------------------


def test_a_429_storm_completes_with_retries_and_every_call_is_counted(
    companies: Any, connect: Any
) -> None:
    """With half the calls answered 429, the pull completes; usage counts every attempt, as HubSpot does."""
    connector = connect(companies, max_retries=10)
    companies.faults.set_spec(FaultSpec(rates={FaultKind.THROTTLE: 0.5}, seed=1))
    ids = all_ids(connector)
    assert len(ids) == len(set(ids)) == COMPANIES
    stats = served(companies)
    assert stats["faults"]["429"] >= 3
    # the describe and three search pages, each refused call once more
    assert connector.usage().calls == stats["calls"] == 4 + stats["faults"]["429"]
    usage = connector.usage()
    assert usage.limit == 500_000
    assert usage.remaining is not None
    assert usage.remaining < usage.limit


def test_server_errors_and_dropped_connections_are_retried(companies: Any, connect: Any) -> None:
    """502/503 answers and connections closed without an answer are retried until the pull completes."""
    connector = connect(companies, max_retries=10)
    companies.faults.set_spec(
        FaultSpec(rates={FaultKind.ERROR_5XX: 0.3, FaultKind.DROP: 0.2}, seed=2)
    )
    ids = all_ids(connector)
    assert len(ids) == len(set(ids)) == COMPANIES
    stats = served(companies)
    assert stats["faults"]["5xx"] >= 1
    assert stats["faults"]["drop"] >= 1
    assert connector.usage().calls == stats["calls"]


def test_exhausted_retries_are_retriable_errors(companies: Any, connect: Any) -> None:
    """A call still failing after the retries raises RetriableConnectorError naming the CRM and object."""
    connector = connect(companies, max_retries=2)
    companies.faults.set_spec(FaultSpec(rates={FaultKind.ERROR_5XX: 1.0}))
    with pytest.raises(RetriableConnectorError) as caught:
        connector.describe("companies")
    assert caught.value.crm == "hubspot"
    assert caught.value.object_name == "companies"
    assert caught.value.code in {"BAD_GATEWAY", "SERVICE_UNAVAILABLE"}  # HubSpot's own category
    assert connector.usage().calls == 3  # the first attempt and two retries
    assert served(companies)["calls"] == connector.usage().calls == 3


def test_every_call_has_a_timeout(companies: Any, connect: Any) -> None:
    """A server slower than ``timeout_seconds`` times out; the call is retried, then fails as retriable."""
    connector = connect(companies, timeout_seconds=0.1, max_retries=1)
    companies.faults.set_spec(FaultSpec(latency_ms=400))
    began = time.monotonic()
    with pytest.raises(RetriableConnectorError, match="timed out"):
        connector.describe("companies")
    assert time.monotonic() - began < 1.5
    assert connector.usage().calls == 2
    companies.faults.set_spec(FaultSpec())


def test_a_batch_write_keeps_per_record_outcomes_when_retries_run_out(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """A write whose only batch keeps failing returns FAILED retriable outcomes instead of raising."""
    box = start_box(data_dir=tmp_path)
    connector = connect(box, max_retries=1)
    connector.provision(OKR_OBJECTS)
    connector.read_back(OBJECTIVE, [])
    box.faults.set_spec(FaultSpec(rates={FaultKind.DROP: 1.0}))
    outcomes = connector.write(OBJECTIVE, [{"key": "a", "title": "A"}, {"key": "b", "title": "B"}])
    assert [(o.key, o.status.value, o.retriable) for o in outcomes] == [
        ("a", "failed", True),
        ("b", "failed", True),
    ]


def test_the_daily_limit_is_not_waited_out(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """A spent daily quota stops the run at once (sleeping until midnight is pointless)."""
    box = start_box(data_dir=write_companies(tmp_path, 5), extra={"daily_limit": 1})
    connector = connect(box, retry_max_wait_seconds=30, max_retries=5, quota_reserve_percent=0)
    connector.describe("companies")
    began = time.monotonic()
    with pytest.raises(QuotaReserveReached, match="0 of 1 daily API requests left"):
        all_ids(connector)
    assert time.monotonic() - began < 1
    assert connector.usage().calls == 1  # nothing sent once HubSpot reported 0 left
    assert connector.usage().remaining == 0


def test_search_is_paced_below_its_rate_limit(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """Searches keep under the pacing setting, so search's own limit is never hit (no retry allowed)."""
    box = start_box(data_dir=write_companies(tmp_path, 1000), extra={"search_per_second": 3})
    connector = connect(box, search_requests_per_second=2, max_retries=0)
    connector.describe("companies")
    began = time.monotonic()
    ids = all_ids(connector)  # 5 pages: 5 searches
    elapsed = time.monotonic() - began
    assert len(ids) == 1000
    assert served(box)["by_endpoint"]["search"] == 5
    assert elapsed >= 2.2  # 5 searches, 2 in any 1.1 s: at 0, 1.1 and 2.2 s


def test_the_pacer_lets_a_burst_through_then_keeps_the_rate() -> None:
    """Up to the limit at once; the next waits for the oldest to leave the (1.1 s) window."""
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(4, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pacer.wait()
    assert slept == []
    pacer.wait()
    assert slept == [1.1]
    now[0] += 5.0  # a quiet while: a full burst again
    for _ in range(4):
        pacer.wait()
    assert slept == [1.1]
    slow = Pacer(0.5, monotonic=lambda: now[0], sleep=sleep)
    slow.wait()
    slow.wait()
    assert slept[-1] == 2.2  # one call per 2 s (and the margin)


# -- errors that are not retried ------------------------------------------------------


def test_an_invalid_token_is_fatal_at_once(companies: Any, connect: Any) -> None:
    """A token the portal does not know is fatal after one call, saying the token is invalid or expired."""
    connector = connect(companies, "pat-na1-00000000-0000-0000-0000-000000000000")
    with pytest.raises(FatalConnectorError) as caught:
        connector.describe("companies")
    assert "token invalid or expired" in str(caught.value)
    assert caught.value.code == "INVALID_AUTHENTICATION"
    assert connector.usage().calls == 1


def test_a_missing_read_scope_names_the_scope(
    start_box: Callable[..., RunningHubSpotSandbox], tmp_path: Path, connect: Any
) -> None:
    """Pulling deals without ``crm.objects.deals.read`` says exactly which scope to add."""
    box = start_box(data_dir=tmp_path, extra={"missing_scopes": ["crm.objects.deals.read"]})
    connector = connect(box)
    with pytest.raises(FatalConnectorError) as caught:
        list(connector.pull("deals", ["amount"], (), Cursor()))
    message = str(caught.value)
    assert caught.value.code == "MISSING_SCOPES"
    assert caught.value.object_name == "deals"
    assert "missing the scope `crm.objects.deals.read`" in message
    assert "add the scope `crm.objects.deals.read` to the private app" in message


def test_no_token_is_a_fatal_error_naming_the_variable(companies: Any) -> None:
    """Without an access token the connector refuses to start and names the environment variable."""
    settings = HubSpotSettings(host=companies.url)
    with pytest.raises(FatalConnectorError, match="OKRSYNC_CONNECTORS__HS_EMEA__ACCESS_TOKEN"):
        plugin.connect("hs-emea", settings)


def test_connect_wants_hubspot_settings() -> None:
    """The plugin refuses settings of another connector type."""

    class Other(BaseModel):
        host: str = "x"

    with pytest.raises(TypeError):
        plugin.connect("hubspot", Other())


# -- secrecy ----------------------------------------------------------------------


def _texts(error: BaseException) -> list[str]:
    """Every text an error can show: str, repr, the formatted traceback, its causes."""
    found = []
    seen: BaseException | None = error
    while seen is not None:
        found += [str(seen), repr(seen), *traceback.format_exception(seen)]
        seen = seen.__cause__ or seen.__context__
    return found


def test_the_token_never_appears_in_logs_or_errors(
    start_box: Callable[..., RunningHubSpotSandbox],
    tmp_path: Path,
    connect: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Across failure paths (401, 403, 400, 429, 5xx, drops, expiry, 207) no log line or error text holds the token."""
    box = start_box(
        data_dir=write_companies(tmp_path, 30),
        extra={"missing_scopes": ["crm.objects.deals.read"]},
    )
    wrong = "pat-na1-11111111-2222-3333-4444-555555555555"
    texts: list[str] = []

    def failing(action: Callable[[], Any]) -> None:
        try:
            action()
        except ConnectorError as exc:
            texts.extend(_texts(exc))
        else:
            texts.append(repr(action))

    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        good = connect(box, max_retries=1)
        good.provision(OKR_OBJECTS)
        failing(lambda: connect(box, wrong).describe("companies"))  # 401
        failing(lambda: list(good.pull("deals", ["amount"], (), Cursor())))  # 403
        failing(lambda: good.describe("no_such_object"))  # 400
        failing(lambda: good.pull("companies", ["nope"], ((Predicate("x", "eq", 1),),), Cursor()))
        for spec in ("429=1.0", "5xx=1.0", "drop=1.0", "expired=1.0"):
            box.faults.set_spec(FaultSpec.parse(spec))
            failing(lambda: list(good.pull("companies", ["name"], (), Cursor())))
        box.faults.set_spec(FaultSpec.parse("partial=1.0,seed=3"))
        outcomes = good.write(OBJECTIVE, [{"key": f"k{i}", "title": "t"} for i in range(5)])
        outcomes += good.write(KEY_RESULT, [{"key": "kr", "objective": "k0"}])
        box.faults.set_spec(FaultSpec())
        texts += [repr(o) for o in outcomes]
    assert any(o.status.value == "failed" for o in outcomes)
    assert len([t for t in texts if "crm=hubspot" in t]) >= 8
    texts += [json.dumps(e, default=repr) for e in events]
    texts += [r.getMessage() for r in caplog.records]
    texts += [caplog.text, *capsys.readouterr()]
    assert any("connector.retry" in t for t in texts)  # structlog events were captured
    for secret in (box.access_token, wrong):
        leaking = [t for t in texts if secret in t]
        assert leaking == [], leaking[:1]
