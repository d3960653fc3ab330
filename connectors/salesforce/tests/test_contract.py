"""The connector contract suite (:mod:`okrsync.testing.contract`) against the Salesforce sandbox.

Over HTTPS to the sandbox emulator, with simple-salesforce inside the
connector; the driver inserts, changes and deletes opportunities behind the
connector's back, through simple-salesforce and the sandbox's admin drills.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce

from okrsync.connector import now_stamp
from okrsync.testing.contract import ConnectorContract
from okrsync.testing.driver import AS_OF, CLOSE, NEW_AMOUNT, RECORDS, Capability
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce import plugin as salesforce_plugin
from okrsync_salesforce_sandbox import RunningSalesforceSandbox
from okrsync_salesforce_sandbox import load_folder as salesforce_load_folder
from okrsync_salesforce_sandbox import start_sandbox as start_salesforce
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultSpec
from okrsync_sandbox.server import SandboxOptions
from okrsync_sandbox.testing import SandboxDriver, write_jsonl

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from okrsync.connector import Connector, SchemaCache


class PinnedCA(HTTPAdapter):
    """Verifies TLS with one CA file whatever ``REQUESTS_CA_BUNDLE`` says (setup client only)."""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with the pinned CA."""
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


class SalesforceDriver(SandboxDriver):
    """Opportunities in the Salesforce sandbox (HTTPS, its own CA), through simple-salesforce.

    A soft delete goes to the recycle bin (``DELETE sobjects/Opportunity/{id}``);
    a hard delete removes the row for good (an emptied recycle bin: only the
    deletion log remembers it).
    """

    name = "salesforce"
    capabilities = frozenset(
        {
            Capability.WRITES,
            Capability.DELETIONS,
            Capability.QUOTA,
            Capability.FAULTS,
            Capability.SESSIONS,
            Capability.SCHEMA_CACHE,
            Capability.CLOCK,
        }
    )
    object_name = "Opportunity"
    fields = ("Amount", "CloseDate", "IsWon", "StageName")
    batch_limit = 200
    write_endpoint = "composite_upsert"
    describe_endpoint = "describe"
    stale_okr_schema = ("describe/okr_key_result__c", {"name": "OKR_Key_Result__c", "fields": []})
    settings: ClassVar[dict[str, Any]] = {}
    """Connector settings on top of the driver's own."""
    sandbox_extra: ClassVar[dict[str, Any]] = {}
    """Sandbox options (``SandboxOptions.extra``) on top of the driver's own."""

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
        extra = dict(self.sandbox_extra)
        if quota is not None:
            extra["daily_api_requests"] = quota
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
            "page_size": self.page_size,
            **self.settings,
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
            "salesforce",
            SalesforceSettings(**values),
            clock=self.clock_for(box.clock),
            schema_cache=schema_cache,
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

    def now(self) -> datetime:
        """The sandbox's clock."""
        return self.sandbox.clock()

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


class TestSalesforceContract(ConnectorContract):
    """The connector contract, for Salesforce."""

    driver_class = SalesforceDriver


class SalesforceBulkDriver(SalesforceDriver):
    """The same org, every first pull of more than a page through a Bulk API 2.0 query job.

    A threshold of one row sends each first pull that does not fit one REST page
    through a job (the REST page that told its size is dropped); jobs complete at
    once on the sandbox's clock, so the suite does not wait for them.
    """

    pages_are_calls = False
    settings: ClassVar[dict[str, Any]] = {"bulk_threshold_rows": 1}
    sandbox_extra: ClassVar[dict[str, Any]] = {"bulk_job_seconds": 0}


class TestSalesforceBulkContract(ConnectorContract):
    """The connector contract, for Salesforce with first pulls through Bulk API 2.0 jobs."""

    driver_class = SalesforceBulkDriver
