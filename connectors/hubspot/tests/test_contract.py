"""The connector contract suite (:mod:`okrsync.testing.contract`) against the HubSpot sandbox.

Over HTTP to the sandbox emulator, with hubspot-api-client inside the
connector; the driver inserts, changes and archives deals behind the
connector's back, through hubspot-api-client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import hubspot  # type: ignore[import-untyped]
from hubspot.crm.deals import (  # type: ignore[import-untyped]
    BatchInputSimplePublicObjectId,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from pydantic import SecretStr

from okrsync.connector import now_stamp
from okrsync.testing.contract import ConnectorContract
from okrsync.testing.driver import AS_OF, CLOSE, NEW_AMOUNT, RECORDS, Capability
from okrsync_hubspot import HubSpotSettings
from okrsync_hubspot import plugin as hubspot_plugin
from okrsync_hubspot_sandbox import RunningHubSpotSandbox
from okrsync_hubspot_sandbox import load_folder as hubspot_load_folder
from okrsync_hubspot_sandbox import start_sandbox as start_hubspot
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultSpec
from okrsync_sandbox.server import SandboxOptions
from okrsync_sandbox.testing import SandboxDriver, write_jsonl

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from okrsync.connector import Connector, SchemaCache


class HubSpotDriver(SandboxDriver):
    """Deals in the HubSpot sandbox (HTTP), through hubspot-api-client.

    HubSpot's API deletes one way, by archiving (the sandbox has no GDPR
    purge): a soft delete archives one deal (``DELETE /crm/v3/objects/deals/{id}``),
    a hard delete archives through the batch endpoint. Private-app tokens do
    not expire; an expired OAuth token is the ``expired`` fault.
    """

    name = "hubspot"
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
            "hubspot",
            HubSpotSettings(**values),
            clock=self.clock_for(box.clock),
            schema_cache=schema_cache,
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

    def now(self) -> datetime:
        """The sandbox's clock."""
        return self.sandbox.clock()

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


class TestHubSpotContract(ConnectorContract):
    """The connector contract, for HubSpot."""

    driver_class = HubSpotDriver
