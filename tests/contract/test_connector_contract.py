"""The connector contract: the same tests for every connector, each against its own CRM's sandbox.

Every test runs once per connector (``salesforce``, ``hubspot``), over HTTP(S)
to the connector's sandbox emulator, with the real client library inside the
connector (simple-salesforce, hubspot-api-client). What differs between CRMs
lives in one driver class per CRM: starting the sandbox with small,
deterministic data, the connector's settings, how records of ONE object
(``Opportunity``, ``deals``) are inserted, changed and deleted behind the
connector's back, and which four fields are pulled (an amount, a close date,
a boolean, a stage). The tests talk to the connector only through okrsync's
``Connector`` protocol (see :mod:`okrsync.connector` and the reference
behaviour in :mod:`okrsync.testing`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import hubspot  # type: ignore[import-untyped]
import pytest
import requests
from hubspot.crm.deals import (  # type: ignore[import-untyped]
    BatchInputSimplePublicObjectId,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce

from okrsync.connector import Cursor, UpsertStatus, now_stamp
from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS
from okrsync.errors import QuotaReserveReached
from okrsync.state.db import open_store
from okrsync.state.schema_cache import StoreSchemaCache
from okrsync_hubspot import HubSpotSettings
from okrsync_hubspot import plugin as hubspot_plugin
from okrsync_hubspot_sandbox import RunningHubSpotSandbox
from okrsync_hubspot_sandbox import load_folder as hubspot_load_folder
from okrsync_hubspot_sandbox import start_sandbox as start_hubspot
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce import plugin as salesforce_plugin
from okrsync_salesforce_sandbox import RunningSalesforceSandbox
from okrsync_salesforce_sandbox import load_folder as salesforce_load_folder
from okrsync_salesforce_sandbox import start_sandbox as start_salesforce
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultSpec
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path

    from okrsync.connector import Connector, Pull, SchemaCache

AS_OF = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
"""The sandboxes' "now" when they start (their clocks then run in real time)."""
SEEDED_AT = AS_OF - timedelta(days=7)
"""Seeded record ``i`` was last modified ``i`` seconds after this."""
RECORDS = 450
"""Seeded records: three pages of 200 (200, 200, 50) for both connectors."""
PAGE = 200
CLOSE = date(2026, 7, 1)
NEW_AMOUNT = 99.5
"""The amount an update sets."""
SYNCED = datetime(2026, 8, 15, 6, 30, tzinfo=UTC)

# -- helpers -------------------------------------------------------------------------------


def drain(pull: Pull) -> tuple[list[dict[str, Any]], list[str], list[int]]:
    """Records and deleted ids of a whole pull, and the sizes of the pages holding records."""
    records: list[dict[str, Any]] = []
    deleted: list[str] = []
    sizes: list[int] = []
    for page in pull:
        records.extend(page.records)
        deleted.extend(page.deleted)
        if page.records:
            sizes.append(len(page.records))
    return records, deleted, sizes


def ids_of(records: Iterable[dict[str, Any]]) -> list[str]:
    return [str(r["Id"]) for r in records]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def key_results(count: int, prefix: str, *, value: float = 0.0) -> list[dict[str, Any]]:
    """``count`` key-result records with logical field names (no objective: no lookups)."""
    return [
        {
            "key": f"2026-Q3/{prefix}/kr-{i:03d}",
            "title": f"KR {prefix} {i}",
            "kind": "metric",
            "source": "crm",
            "metric": "won_revenue",
            "unit": "currency",
            "start_value": 0.0,
            "target_value": 1000.0,
            "current_value": value + i,
            "progress": 0.25,
            "score": 0.3,
            "expected": 0.5,
            "forecast_score": 0.6,
            "status": "at_risk",
            "weight": 1.0,
            "owner_name": "Sales",
            "last_synced_at": SYNCED,
            "confidence": 7.0,
            "comment": "rep-owned: never sent",
        }
        for i in range(count)
    ]


class PinnedCA(HTTPAdapter):
    """Verifies TLS with one CA file whatever ``REQUESTS_CA_BUNDLE`` says (setup client only)."""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with the pinned CA."""
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


# -- drivers: the only CRM-specific code -----------------------------------------------------


class Driver:
    """One CRM's sandbox and connector, behind the same methods for every CRM."""

    name: ClassVar[str]
    object_name: ClassVar[str]
    fields: ClassVar[tuple[str, str, str, str]]
    """The fields pulled: an amount, a close date, a boolean and a stage."""
    batch_limit: ClassVar[int]
    """Most records one write call carries."""
    write_endpoint: ClassVar[str]
    """The sandbox endpoint (accounting name) of a batch upsert."""
    describe_endpoint: ClassVar[str]
    """The sandbox endpoint of an object's field list."""
    stale_okr_schema: ClassVar[tuple[str, Any]]
    """A schema cache entry saying okrsync's key-result object has no fields (or does not exist)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.connectors: list[Connector] = []
        self._loads = 0

    @property
    def amount(self) -> str:
        """The amount field's name."""
        return self.fields[0]

    def folder(self) -> Path:
        """A fresh folder for data files."""
        self._loads += 1
        return self.workdir / f"data-{self._loads}"

    def seeded(self, i: int) -> datetime:
        """When seeded record ``i`` was last modified."""
        return SEEDED_AT + timedelta(seconds=i)

    def connect(
        self,
        *,
        renewable: bool = False,
        reserve_percent: float | None = None,
        max_retries: int | None = None,
        backoff_seconds: float | None = None,
        schema_cache: SchemaCache | None = None,
    ) -> Connector:
        """A connector built through the plugin, on the sandbox's clock (closed at the end)."""
        connector = self._connect(
            renewable=renewable,
            reserve_percent=reserve_percent,
            max_retries=max_retries,
            backoff_seconds=backoff_seconds,
            schema_cache=schema_cache,
        )
        self.connectors.append(connector)
        return connector

    def pull(self, connector: Connector, cursor: Cursor) -> Pull:
        """Pull the four fields of the driver's object, unfiltered, from ``cursor``."""
        return connector.pull(self.object_name, list(self.fields), (), cursor)

    def stop_connectors(self) -> None:
        """Close every connector made."""
        for connector in self.connectors:
            connector.close()

    # -- what each CRM implements ----------------------------------------------------------

    def _connect(
        self,
        *,
        renewable: bool,
        reserve_percent: float | None,
        max_retries: int | None,
        backoff_seconds: float | None,
        schema_cache: SchemaCache | None,
    ) -> Connector:
        raise NotImplementedError

    def start(self, records: int = RECORDS, *, quota: int | None = None) -> None:
        """Start the sandbox holding seeded records ``0 … records-1`` (and a daily quota)."""
        raise NotImplementedError

    def record_id(self, i: int) -> str:
        """The CRM id of seeded record ``i``."""
        raise NotImplementedError

    def expected(self, i: int) -> dict[str, Any]:
        """Seeded record ``i`` as a pull returns it (typed values)."""
        raise NotImplementedError

    def insert(self, count: int) -> list[str]:
        """Create records through the CRM's API; their ids."""
        raise NotImplementedError

    def update(self, ids: Sequence[str]) -> None:
        """Set the amount of records to :data:`NEW_AMOUNT` through the CRM's API."""
        raise NotImplementedError

    def soft_delete(self, record_id: str) -> None:
        """Delete a record the ordinary way (recycle bin, archive)."""
        raise NotImplementedError

    def hard_delete(self, record_id: str) -> None:
        """Delete a record the other way the CRM knows."""
        raise NotImplementedError

    def bulk_insert(self, count: int, after: str) -> list[str]:
        """Load ``count`` records straight into the sandbox's store, stamped after ``after``."""
        raise NotImplementedError

    def faults(self, text: str) -> None:
        """Set the sandbox's fault spec (``""``: none)."""
        raise NotImplementedError

    def throttle(self, text: str) -> None:
        """Set a fault spec whose ``429`` answers are the CRM's transient throttling."""
        self.faults(text)

    def accounting(self) -> Accounting:
        """The running sandbox's accounting."""
        raise NotImplementedError

    def _stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = (
            self.accounting()
            .snapshot()
            .get(self.name, {"calls": 0, "by_endpoint": {}, "faults": {}})
        )
        return stats

    def served(self, endpoint: str | None = None) -> int:
        """Calls the sandbox served (to one endpoint), from its accounting."""
        stats = self._stats()
        return int(stats["calls"] if endpoint is None else stats["by_endpoint"].get(endpoint, 0))

    def injected(self, kind: str) -> int:
        """Faults of a kind the sandbox injected, from its accounting."""
        return int(self._stats()["faults"].get(kind, 0))

    def has_okr_objects(self) -> bool:
        """Whether okrsync's key-result object exists in the CRM."""
        raise NotImplementedError

    def quota_left(self) -> int:
        """Daily API requests the sandbox would still serve."""
        raise NotImplementedError

    def spend_quota(self) -> None:
        """Use up the sandbox's daily quota (behind the connector's back)."""
        raise NotImplementedError

    def expire(self, connector: Connector) -> None:
        """Make the connector's session expire (between two pages of a pull)."""
        raise NotImplementedError

    def renewed(self, connector: Connector) -> bool:
        """Whether the connector met an expired session and carried on."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connectors and clients; stop the sandbox."""
        raise NotImplementedError


class SalesforceDriver(Driver):
    """Opportunities in the Salesforce sandbox (HTTPS, its own CA), through simple-salesforce.

    A soft delete goes to the recycle bin (``DELETE sobjects/Opportunity/{id}``);
    a hard delete removes the row for good (an emptied recycle bin: only the
    deletion log remembers it).
    """

    name = "salesforce"
    object_name = "Opportunity"
    fields = ("Amount", "CloseDate", "IsWon", "StageName")
    batch_limit = 200
    write_endpoint = "composite_upsert"
    describe_endpoint = "describe"
    stale_okr_schema = ("describe/okr_key_result__c", {"name": "OKR_Key_Result__c", "fields": []})

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.box: RunningSalesforceSandbox | None = None
        self.clients: list[Salesforce] = []
        self._expired: str | None = None

    @property
    def sandbox(self) -> RunningSalesforceSandbox:
        """The running sandbox."""
        assert self.box is not None
        return self.box

    def start(self, records: int = RECORDS, *, quota: int | None = None) -> None:
        """An org loaded from ``Opportunity.jsonl`` (``daily_api_requests`` from ``quota``)."""
        root = self.folder()
        write_jsonl(
            root / "salesforce" / "Opportunity.jsonl",
            (self._row(make_id("006", 1000 + i), i, self.seeded(i)) for i in range(records)),
        )
        extra = {} if quota is None else {"daily_api_requests": quota}
        self.box = start_salesforce(
            SandboxOptions(data_dir=root, as_of=AS_OF, extra=extra), Accounting()
        )

    @staticmethod
    def _row(record_id: str, i: int, stamp: datetime) -> dict[str, Any]:
        return {
            "Id": record_id,
            "Name": f"Deal {i}",
            "StageName": "Closed Won" if i % 3 == 0 else "Prospecting",
            "CloseDate": (CLOSE + timedelta(days=i % 60)).isoformat(),
            "Amount": 1000 + i * 10.5,
            "CreatedDate": now_stamp(stamp),
            "SystemModstamp": now_stamp(stamp),
        }

    def record_id(self, i: int) -> str:
        """``006…`` number ``1000 + i``."""
        return make_id("006", 1000 + i)

    def expected(self, i: int) -> dict[str, Any]:
        """Amount as float, CloseDate as date, IsWon as bool, the stage."""
        return {
            "Id": self.record_id(i),
            "Amount": 1000 + i * 10.5,
            "CloseDate": CLOSE + timedelta(days=i % 60),
            "IsWon": i % 3 == 0,
            "StageName": "Closed Won" if i % 3 == 0 else "Prospecting",
        }

    def _connect(
        self,
        *,
        renewable: bool,
        reserve_percent: float | None,
        max_retries: int | None,
        backoff_seconds: float | None,
        schema_cache: SchemaCache | None,
    ) -> Connector:
        box = self.sandbox
        values: dict[str, Any] = {
            k: v for k, v in box.connector_settings().items() if k != "type"
        } | box.connector_secrets()
        values |= {
            "retry_backoff_seconds": 0.001 if backoff_seconds is None else backoff_seconds,
            "timeout_seconds": 10,
            "deletion_check_seconds": 0,
            "page_size": PAGE,
        }
        if renewable:  # the client credentials flow can log in again; a static session cannot
            info = box.info()
            values |= {
                "auth": "client_credentials",
                "login_url": box.instance_url,
                "consumer_key": info["consumer_key"],
                "consumer_secret": info["consumer_secret"],
                "instance_url": None,
                "session_id": None,
            }
        if reserve_percent is not None:
            values["quota_reserve_percent"] = reserve_percent
        if max_retries is not None:
            values["max_retries"] = max_retries
        return salesforce_plugin.connect(
            "salesforce", SalesforceSettings(**values), clock=box.clock, schema_cache=schema_cache
        )

    def client(self) -> Salesforce:
        """simple-salesforce on the static session, pinned to the sandbox's CA."""
        box = self.sandbox
        session = requests.Session()
        session.mount("https://", PinnedCA(str(box.ca_file)))
        api = Salesforce(instance_url=box.instance_url, session_id=box.session_id, session=session)
        self.clients.append(api)
        return api

    def insert(self, count: int) -> list[str]:
        """Create opportunities one by one through the REST API."""
        api = self.client()
        return [
            str(
                api.Opportunity.create(  # type: ignore[operator]
                    {
                        "Name": f"New {n}",
                        "StageName": "Prospecting",
                        "CloseDate": "2026-09-30",
                        "Amount": 500 + n,
                    }
                )["id"]
            )
            for n in range(count)
        ]

    def update(self, ids: Sequence[str]) -> None:
        """Set the amounts through the REST API."""
        api = self.client()
        for record_id in ids:
            api.Opportunity.update(record_id, {"Amount": NEW_AMOUNT})  # type: ignore[operator]

    def soft_delete(self, record_id: str) -> None:
        """Delete to the recycle bin through the REST API."""
        self.client().Opportunity.delete(record_id)  # type: ignore[operator]

    def hard_delete(self, record_id: str) -> None:
        """Remove the row for good (the sandbox's admin drill)."""
        assert self.sandbox.hard_delete("Opportunity", record_id)

    def bulk_insert(self, count: int, after: str) -> list[str]:
        """Load rows a second apart, the first a second after ``after``."""
        start = datetime.fromisoformat(after) + timedelta(seconds=1)
        base = 100_000 + self._loads * 20_000
        rows = [
            self._row(make_id("006", base + i), i, start + timedelta(seconds=i))
            for i in range(count)
        ]
        folder = self.folder()
        write_jsonl(folder / "Opportunity.jsonl", rows)
        assert salesforce_load_folder(self.sandbox.org, folder) == {"Opportunity": count}
        return [str(r["Id"]) for r in rows]

    def faults(self, text: str) -> None:
        """Set the org's fault spec."""
        self.sandbox.faults.set_spec(FaultSpec.parse(text))

    def accounting(self) -> Accounting:
        """The running sandbox's accounting."""
        return self.sandbox.app.accounting

    def has_okr_objects(self) -> bool:
        """Whether ``OKR_Key_Result__c`` is in the org's schema."""
        return self.sandbox.org.schema.get("OKR_Key_Result__c") is not None

    def quota_left(self) -> int:
        """``DailyApiRequests`` not used yet."""
        quota = self.sandbox.app.quota
        return quota.limit - quota.used

    def spend_quota(self) -> None:
        """Take every request left."""
        quota = self.sandbox.app.quota
        while quota.take():
            pass

    def expire(self, connector: Connector) -> None:
        """Expire the access token the connector logged in with."""
        token = connector.transport._token  # type: ignore[attr-defined]
        assert token is not None
        self._expired = token.access_token
        assert self.sandbox.expire_session(token.access_token)

    def renewed(self, connector: Connector) -> bool:
        """Whether the connector logged in again (its token changed)."""
        token = connector.transport._token  # type: ignore[attr-defined]
        return self._expired is not None and token.access_token != self._expired

    def close(self) -> None:
        """Close connectors and clients; stop the sandbox."""
        self.stop_connectors()
        for api in self.clients:
            api.session.close()
        if self.box is not None:
            self.box.stop()


class HubSpotDriver(Driver):
    """Deals in the HubSpot sandbox (HTTP), through hubspot-api-client.

    HubSpot's API deletes one way, by archiving (the sandbox has no GDPR
    purge): a soft delete archives one deal (``DELETE /crm/v3/objects/deals/{id}``),
    a hard delete archives through the batch endpoint. Private-app tokens do
    not expire; an expired OAuth token is the ``expired`` fault.
    """

    name = "hubspot"
    object_name = "deals"
    fields = ("amount", "closedate", "hs_is_closed_won", "dealstage")
    batch_limit = 100
    write_endpoint = "batch_upsert"
    describe_endpoint = "properties"
    stale_okr_schema = ("schemas", [])

    UNLIMITED: ClassVar[dict[str, int]] = {
        "ten_second_limit": 10_000_000,
        "search_per_second": 10_000_000,
    }
    EXPIRED = "expired=0.5,seed=27"
    """Expired tokens on about half the calls, never twice in a row for the pulls here."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.box: RunningHubSpotSandbox | None = None

    @property
    def sandbox(self) -> RunningHubSpotSandbox:
        """The running sandbox."""
        assert self.box is not None
        return self.box

    def start(self, records: int = RECORDS, *, quota: int | None = None) -> None:
        """A portal loaded from ``deals.jsonl``, unlimited rates (``daily_limit`` from ``quota``)."""
        root = self.folder()
        write_jsonl(
            root / "hubspot" / "deals.jsonl",
            (self._row(1000 + i, i, self.seeded(i)) for i in range(records)),
        )
        extra: dict[str, Any] = dict(self.UNLIMITED)
        if quota is not None:
            extra["daily_limit"] = quota
        self.box = start_hubspot(
            SandboxOptions(data_dir=root, as_of=AS_OF, extra=extra), Accounting()
        )

    @staticmethod
    def _row(number: int, i: int, stamp: datetime) -> dict[str, Any]:
        won = i % 3 == 0
        close = datetime.combine(CLOSE + timedelta(days=i % 60), datetime.min.time(), UTC)
        return {
            "id": str(number),
            "properties": {
                "dealname": f"Deal {i}",
                "dealstage": "closedwon" if won else "qualifiedtobuy",
                "pipeline": "default",
                "closedate": now_stamp(close),
                "amount": 1000 + i * 10.5,
                "hs_is_closed": won,
                "hs_is_closed_won": won,
                "createdate": now_stamp(stamp),
                "hs_lastmodifieddate": now_stamp(stamp),
            },
        }

    def record_id(self, i: int) -> str:
        """Deal ``1000 + i``."""
        return str(1000 + i)

    def expected(self, i: int) -> dict[str, Any]:
        """Amount as float, closedate as aware datetime, hs_is_closed_won as bool, the stage."""
        return {
            "Id": self.record_id(i),
            "amount": 1000 + i * 10.5,
            "closedate": datetime.combine(CLOSE + timedelta(days=i % 60), datetime.min.time(), UTC),
            "hs_is_closed_won": i % 3 == 0,
            "dealstage": "closedwon" if i % 3 == 0 else "qualifiedtobuy",
        }

    def _connect(
        self,
        *,
        renewable: bool,
        reserve_percent: float | None,
        max_retries: int | None,
        backoff_seconds: float | None,
        schema_cache: SchemaCache | None,
    ) -> Connector:
        del renewable  # see the class docstring
        box = self.sandbox
        values: dict[str, Any] = {k: v for k, v in box.connector_settings().items() if k != "type"}
        values |= {k: SecretStr(v) for k, v in box.connector_secrets().items()}
        values |= {
            "search_requests_per_second": 10,
            "timeout_seconds": 5,
            "retry_backoff_seconds": 0.01 if backoff_seconds is None else backoff_seconds,
            "retry_max_wait_seconds": 0.05 if backoff_seconds is None else 30,
            "deletion_check_seconds": 0,
        }
        if max_retries is not None:
            values["max_retries"] = max_retries
        if reserve_percent is not None:
            values["quota_reserve_percent"] = reserve_percent
        return hubspot_plugin.connect(
            "hubspot", HubSpotSettings(**values), clock=box.clock, schema_cache=schema_cache
        )

    def client(self) -> Any:
        """hubspot-api-client with the private app's token."""
        return hubspot.HubSpot(access_token=self.sandbox.access_token, host=self.sandbox.url)

    def insert(self, count: int) -> list[str]:
        """Create deals one by one through the objects API."""
        api = self.client().crm.deals.basic_api
        return [
            str(
                api.create(
                    SimplePublicObjectInputForCreate(
                        properties={
                            "dealname": f"New {n}",
                            "dealstage": "qualifiedtobuy",
                            "closedate": "2026-09-30T00:00:00Z",
                            "amount": str(500 + n),
                        }
                    )
                ).id
            )
            for n in range(count)
        ]

    def update(self, ids: Sequence[str]) -> None:
        """Set the amounts through the objects API."""
        api = self.client().crm.deals.basic_api
        for record_id in ids:
            api.update(record_id, SimplePublicObjectInput(properties={"amount": str(NEW_AMOUNT)}))

    def soft_delete(self, record_id: str) -> None:
        """Archive one deal."""
        self.client().crm.deals.basic_api.archive(record_id)

    def hard_delete(self, record_id: str) -> None:
        """Archive through the batch endpoint (see the class docstring)."""
        self.client().crm.deals.batch_api.archive(
            BatchInputSimplePublicObjectId(inputs=[SimplePublicObjectId(id=record_id)])
        )

    def bulk_insert(self, count: int, after: str) -> list[str]:
        """Load deals a second apart, the first a second after ``after``."""
        start = datetime.fromisoformat(after) + timedelta(seconds=1)
        base = 100_000 + self._loads * 20_000
        rows = [self._row(base + i, i, start + timedelta(seconds=i)) for i in range(count)]
        folder = self.folder()
        write_jsonl(folder / "deals.jsonl", rows)
        assert hubspot_load_folder(self.sandbox.app, folder) == {"deals": count}
        return [str(r["id"]) for r in rows]

    def faults(self, text: str) -> None:
        """Set the portal's fault spec."""
        self.sandbox.faults.set_spec(FaultSpec.parse(text))

    def accounting(self) -> Accounting:
        """The running sandbox's accounting."""
        return self.sandbox.app.accounting

    def has_okr_objects(self) -> bool:
        """Whether the custom object ``okr_key_result`` exists."""
        return self.sandbox.app.portal.find("okr_key_result") is not None

    def quota_left(self) -> int:
        """``X-HubSpot-RateLimit-Daily-Remaining`` as of now."""
        headers = self.sandbox.app.limits.headers()
        return int(headers["X-HubSpot-RateLimit-Daily-Remaining"])

    def spend_quota(self) -> None:
        """Count requests until the daily limit refuses."""
        limits = self.sandbox.app.limits
        while limits.acquire() is None:
            pass

    def expire(self, connector: Connector) -> None:
        """Expired tokens from now on (``EXPIRED``): each is retried once."""
        del connector
        self.faults(self.EXPIRED)

    def renewed(self, connector: Connector) -> bool:
        """Whether an expired token was met (and the pull went on)."""
        del connector
        return self.injected("expired") > 0

    def close(self) -> None:
        """Close the connectors; stop the sandbox."""
        self.stop_connectors()
        if self.box is not None:
            self.box.stop()


DRIVERS: dict[str, type[Driver]] = {"salesforce": SalesforceDriver, "hubspot": HubSpotDriver}


@pytest.fixture(params=sorted(DRIVERS, reverse=True))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    """The driver of one CRM (its sandbox is started by the test, stopped afterwards)."""
    made = DRIVERS[request.param](tmp_path)
    yield made
    made.close()


def crms(**gaps: str) -> pytest.MarkDecorator:
    """Run a test for every CRM; ``crm="reason"`` marks a known connector gap xfail(strict)."""
    return pytest.mark.parametrize(
        "driver",
        [
            pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=gaps[name]))
            if name in gaps
            else name
            for name in sorted(DRIVERS, reverse=True)
        ],
        indirect=True,
    )


# -- 1. full pull --------------------------------------------------------------------------


def test_full_pull_returns_every_record_once_typed_over_several_pages(driver: Driver) -> None:
    """A first pull returns every record exactly once, over several pages, with typed values."""
    driver.start()
    connector = driver.connect()
    pull = driver.pull(connector, Cursor())
    records, deleted, sizes = drain(pull)
    assert sizes == [PAGE, PAGE, RECORDS - 2 * PAGE]
    assert deleted == []
    ids = ids_of(records)
    assert len(ids) == len(set(ids)) == RECORDS
    assert set(ids) == {driver.record_id(i) for i in range(RECORDS)}
    by_id = {r["Id"]: r for r in records}
    for i in (0, 1, 2, 59, 60, 199, 200, RECORDS - 1):
        assert by_id[driver.record_id(i)] == driver.expected(i)
    amount, close, flag, stage = driver.fields
    for record in records:
        assert type(record[amount]) is float
        assert isinstance(record[close], date)
        assert type(record[flag]) is bool
        assert isinstance(record[stage], str)
    assert pull.cursor.stamp == now_stamp(driver.seeded(RECORDS - 1))
    assert pull.skipped == []


# -- 2. incremental pull -------------------------------------------------------------------


def test_incremental_pull_returns_exactly_the_changes_and_the_deletions_once(
    driver: Driver,
) -> None:
    """After inserts, updates, a soft and a hard delete the next pull returns exactly those; the one after, nothing."""
    driver.start()
    connector = driver.connect()
    cold = driver.pull(connector, Cursor())
    drain(cold)
    created = driver.insert(3)
    updated = [driver.record_id(5), driver.record_id(7)]
    driver.update(updated)
    soft, hard = driver.record_id(10), driver.record_id(11)
    driver.soft_delete(soft)
    driver.hard_delete(hard)
    warm = driver.pull(connector, cold.cursor)
    records, deleted, _ = drain(warm)
    ids = ids_of(records)
    assert sorted(ids) == sorted([*created, *updated])
    assert len(ids) == len(set(ids))
    assert sorted(deleted) == sorted([soft, hard])
    by_id = {r["Id"]: r for r in records}
    assert [by_id[i][driver.amount] for i in updated] == [NEW_AMOUNT, NEW_AMOUNT]
    assert warm.cursor.stamp is not None
    assert warm.cursor.stamp > (cold.cursor.stamp or "")
    quiet = driver.pull(connector, warm.cursor)
    assert drain(quiet)[:2] == ([], [])


# -- 3. ten thousand changes -----------------------------------------------------------------


def test_10000_then_10001_changed_records_are_each_pulled_once(driver: Driver) -> None:
    """Exactly 10 000 and then 10 001 changed records are all returned, each once (HubSpot: past the search cap)."""
    driver.start(records=5)
    connector = driver.connect()
    cold = driver.pull(connector, Cursor())
    assert len(drain(cold)[0]) == 5
    assert cold.cursor.stamp is not None
    first = driver.bulk_insert(10_000, cold.cursor.stamp)
    pull = driver.pull(connector, cold.cursor)
    ids = ids_of(drain(pull)[0])
    assert len(ids) == len(set(ids)) == 10_000
    assert set(ids) == set(first)
    assert pull.cursor.stamp is not None
    second = driver.bulk_insert(10_001, pull.cursor.stamp)
    again = driver.pull(connector, pull.cursor)
    records, deleted, _ = drain(again)
    ids = ids_of(records)
    assert len(ids) == len(set(ids)) == 10_001
    assert set(ids) == set(second)
    assert deleted == []


# -- 4. writes in batches ---------------------------------------------------------------------


def test_writes_of_one_batch_and_one_more_are_created_then_updated(driver: Driver) -> None:
    """The batch limit of records is one write call and one more record two; all created, then all updated."""
    driver.start(records=1)
    connector = driver.connect()
    connector.provision(OKR_OBJECTS)
    limit = driver.batch_limit
    for count, batches in ((limit, 1), (limit + 1, 2)):
        records = key_results(count, f"w{count}")
        before = driver.served(driver.write_endpoint)
        first = connector.write(KEY_RESULT, records)
        assert driver.served(driver.write_endpoint) - before == batches
        assert [o.key for o in first] == [r["key"] for r in records]
        assert {o.status for o in first} == {UpsertStatus.CREATED}
        assert all(o.id for o in first)
        changed = key_results(count, f"w{count}", value=500.0)
        before = driver.served(driver.write_endpoint)
        again = connector.write(KEY_RESULT, changed)
        assert driver.served(driver.write_endpoint) - before == batches
        assert {o.status for o in again} == {UpsertStatus.UPDATED}
        assert [o.id for o in again] == [o.id for o in first]
        last = changed[-1]["key"]
        back = connector.read_back(KEY_RESULT, [last, "2026-Q3/none/kr-000"])
        assert list(back) == [last]
        assert back[last]["current_value"] == 500.0 + count - 1
        assert back[last]["progress"] == 0.25
        assert back[last]["status"] == "at_risk"
        assert back[last]["last_synced_at"] == SYNCED
        assert back[last]["comment"] is None  # rep-owned: never written


# -- 5. partial failures -----------------------------------------------------------------------


def test_partial_failures_map_to_their_records_and_repeat_with_the_seed(driver: Driver) -> None:
    """In a partially failed batch exactly the failed records are FAILED with a code; the same seed fails the same ones."""
    driver.start(records=1)
    connector = driver.connect(max_retries=0)  # every injected failure reaches its outcome
    connector.provision(OKR_OBJECTS)
    connector.write(KEY_RESULT, key_results(1, "warm-up"))  # the schema is read before the faults
    records = key_results(30, "partial")
    keys = [r["key"] for r in records]
    driver.faults("partial=1,seed=5")
    first = connector.write(KEY_RESULT, records)
    driver.faults("")
    assert [o.key for o in first] == keys
    failed = [o.key for o in first if o.status is UpsertStatus.FAILED]
    assert 1 <= len(failed) < len(records)
    assert all(o.code for o in first if o.status is UpsertStatus.FAILED)
    assert all(o.id is None for o in first if o.status is UpsertStatus.FAILED)
    assert {o.status for o in first if o.key not in failed} == {UpsertStatus.CREATED}
    back = connector.read_back(KEY_RESULT, keys)
    assert sorted(back) == sorted(set(keys) - set(failed))
    assert all(
        back[r["key"]]["current_value"] == r["current_value"] for r in records if r["key"] in back
    )
    driver.faults("partial=1,seed=5")
    second = connector.write(KEY_RESULT, records)
    driver.faults("")
    assert [o.key for o in second if o.status is UpsertStatus.FAILED] == failed
    assert [o.code for o in second if o.status is UpsertStatus.FAILED] == [
        o.code for o in first if o.status is UpsertStatus.FAILED
    ]
    assert {o.status for o in second if o.key not in failed} == {UpsertStatus.UPDATED}


# -- 6. session expiry ---------------------------------------------------------------------------


def test_a_session_expiring_mid_pull_does_not_lose_records(driver: Driver) -> None:
    """A session expiring between two pages is renewed (or retried) and the pull still returns every record once."""
    driver.start()
    connector = driver.connect(renewable=True)
    pages = iter(driver.pull(connector, Cursor()))
    records = list(next(pages).records)
    assert len(records) == PAGE
    driver.expire(connector)
    for page in pages:
        records.extend(page.records)
    driver.faults("")
    ids = ids_of(records)
    assert len(ids) == len(set(ids)) == RECORDS
    assert driver.renewed(connector)


# -- 7. throttling ------------------------------------------------------------------------------


def test_a_storm_of_429s_is_retried_and_a_pull_and_a_write_complete(driver: Driver) -> None:
    """Under a storm of 429s a pull and a write complete; every refused call was sent again."""
    driver.start()
    connector = driver.connect(max_retries=8)
    connector.provision(OKR_OBJECTS)
    drain(driver.pull(connector, Cursor()))  # warm-up: describes are cached from here on
    connector.write(KEY_RESULT, key_results(30, "warm-up"))
    began = connector.usage().calls
    drain(driver.pull(connector, Cursor()))
    connector.write(KEY_RESULT, key_results(30, "calm"))
    baseline = connector.usage().calls - began

    driver.throttle("429=0.4,latency=2ms,seed=3")
    began, served = connector.usage().calls, driver.served()
    records, _, _ = drain(driver.pull(connector, Cursor()))
    outcomes = connector.write(KEY_RESULT, key_results(30, "storm"))
    driver.faults("")
    calls = connector.usage().calls - began
    throttled = driver.injected("429")
    ids = ids_of(records)
    assert len(ids) == len(set(ids)) == RECORDS
    assert {o.status for o in outcomes} == {UpsertStatus.CREATED}
    assert throttled > 0
    assert calls == baseline + throttled  # each refused call once more, nothing else
    assert calls == driver.served() - served
    assert calls > RECORDS // PAGE + 2  # more calls than pages plus the write: retries happened


# -- 8. the daily quota --------------------------------------------------------------------------


@crms()
def test_the_quota_reserve_stops_a_pull_before_the_quota_is_gone(driver: Driver) -> None:
    """With a tiny daily quota the pull stops with QuotaReserveReached while quota is left; the cursor stays."""
    driver.start(quota=4)
    connector = driver.connect(reserve_percent=50)
    old = Cursor()
    pull = driver.pull(connector, old)
    seen: list[dict[str, Any]] = []
    with pytest.raises(QuotaReserveReached) as caught:
        seen.extend(record for page in pull for record in page.records)
    assert caught.value.crm == driver.name
    assert len(seen) < RECORDS
    assert pull.cursor == old
    assert driver.quota_left() > 0


@crms()
def test_a_spent_daily_quota_stops_the_run_at_once(driver: Driver) -> None:
    """When the CRM says the daily quota is spent the connector raises QuotaReserveReached at once, without backing off."""
    driver.start(quota=5)
    driver.spend_quota()
    connector = driver.connect(backoff_seconds=5)  # a back-off would show in the time taken
    began = time.monotonic()
    with pytest.raises(QuotaReserveReached) as caught:
        drain(driver.pull(connector, Cursor()))
    assert time.monotonic() - began < 1
    assert caught.value.crm == driver.name
    assert connector.usage().calls == 1
    assert driver.quota_left() == 0


# -- 9. provisioning ----------------------------------------------------------------------------


def test_provisioning_is_idempotent_and_a_dry_run_changes_nothing(driver: Driver) -> None:
    """A dry run lists what the real run then does, changing nothing; a second run makes no change."""
    driver.start(records=1)
    connector = driver.connect()
    planned = connector.provision(OKR_OBJECTS, dry_run=True)
    assert planned
    assert not driver.has_okr_objects()
    assert driver.served(driver.write_endpoint) == 0
    assert connector.provision(OKR_OBJECTS, dry_run=True) == planned
    assert not driver.has_okr_objects()
    made = connector.provision(OKR_OBJECTS)
    assert made == planned
    assert driver.has_okr_objects()
    assert connector.provision(OKR_OBJECTS) == []
    assert driver.connect().provision(OKR_OBJECTS, dry_run=True) == []


# -- 10. describes kept across processes ---------------------------------------------------------


def test_a_new_connector_starts_from_the_kept_describes(driver: Driver, tmp_path: Path) -> None:
    """With a store-backed schema cache, a connector in a new process pulls without describing.

    ``refresh`` asks the CRM again; provisioning drops what was kept, so the
    next connector sees the objects it created.
    """
    driver.start()
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    first = driver.connect(schema_cache=StoreSchemaCache(db, "w", driver.name))
    cold = driver.pull(first, Cursor())
    drain(cold)
    described = driver.served(driver.describe_endpoint)
    assert described >= 1
    second = driver.connect(schema_cache=StoreSchemaCache(db, "w", driver.name))
    info = second.describe(driver.object_name)
    assert info.field(driver.amount) is not None
    records, _, _ = drain(driver.pull(second, cold.cursor))
    assert records == []
    assert driver.served(driver.describe_endpoint) == described  # no describe in the new process
    other = driver.connect(schema_cache=StoreSchemaCache(db, "other-workspace", driver.name))
    other.describe(driver.object_name)
    assert driver.served(driver.describe_endpoint) == described + 1  # caches do not leak
    second.describe(driver.object_name, refresh=True)
    assert driver.served(driver.describe_endpoint) == described + 2
    key, stale = driver.stale_okr_schema  # kept before okrsync's objects existed
    StoreSchemaCache(db, "w", driver.name).put(key, stale)
    second.provision(OKR_OBJECTS)
    third = driver.connect(schema_cache=StoreSchemaCache(db, "w", driver.name))
    outcomes = third.write(KEY_RESULT, key_results(2, "kept"))
    assert {o.status for o in outcomes} == {UpsertStatus.CREATED}, outcomes
