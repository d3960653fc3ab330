"""Fixtures of the HubSpot sandbox tests: running sandboxes, clients, raw HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import hubspot  # type: ignore[import-untyped]
import pytest
import urllib3

from okrsync_hubspot_sandbox import RunningHubSpotSandbox, start_sandbox
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.faults import FaultSpec
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

AS_OF = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)
"""The "now" of the seeded sandbox."""
UNLIMITED = {"ten_second_limit": 10_000_000, "search_per_second": 10_000_000}
"""Limits no test reaches (the limits have their own sandboxes)."""
TASKS = 10_050
"""Tasks in the folder sandbox: more than the 10 000 search results that can be read."""


@dataclass
class Raw:
    """Plain HTTP against a sandbox, for status codes and headers the client hides."""

    box: RunningHubSpotSandbox
    http: urllib3.PoolManager

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "",
    ) -> urllib3.BaseHTTPResponse:
        """Send one request (``token=None``: no Authorization header; ``""``: the right one)."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.box.access_token}"
        return self.http.request(
            method,
            self.box.url + path,
            body=json.dumps(body) if body is not None else None,
            headers=headers,
            retries=False,
        )


def start(**kwargs: Any) -> RunningHubSpotSandbox:
    """A sandbox with the given options (unlimited rates unless ``extra`` says otherwise)."""
    extra = {**UNLIMITED, **kwargs.pop("extra", {})}
    options = SandboxOptions(as_of=AS_OF, extra=extra, **kwargs)
    return start_sandbox(options, Accounting())


def error_body(error: Any) -> dict[str, Any]:
    """The JSON body of a hubspot-api-client ``ApiException``."""
    data = error.body
    parsed: dict[str, Any] = json.loads(data.decode() if isinstance(data, bytes) else data)
    return parsed


@pytest.fixture(scope="session")
def body_of() -> Callable[[Any], dict[str, Any]]:
    """Parse the JSON body of a hubspot-api-client ``ApiException``."""
    return error_body


@pytest.fixture(scope="session")
def box() -> Iterator[RunningHubSpotSandbox]:
    """One sandbox seeded with the small dataset (seed 7) as of 2026-09-15."""
    running = start(seed=7, size="small")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def client(box: RunningHubSpotSandbox) -> Any:
    """hubspot-api-client pointed at the seeded sandbox."""
    return hubspot.HubSpot(access_token=box.access_token, host=box.url)


@pytest.fixture(scope="session")
def http() -> Iterator[urllib3.PoolManager]:
    """A connection pool for raw requests."""
    pool = urllib3.PoolManager()
    yield pool
    pool.clear()


@pytest.fixture(scope="session")
def raw(box: RunningHubSpotSandbox, http: urllib3.PoolManager) -> Raw:
    """Raw HTTP against the seeded sandbox."""
    return Raw(box, http)


@pytest.fixture
def start_box() -> Iterator[Callable[..., RunningHubSpotSandbox]]:
    """Start dedicated sandboxes (``start``'s arguments); they stop after the test."""
    started: list[RunningHubSpotSandbox] = []

    def starter(**kwargs: Any) -> RunningHubSpotSandbox:
        running = start(**kwargs)
        started.append(running)
        return running

    yield starter
    for running in started:
        running.stop()


@pytest.fixture(scope="session")
def tasks_total() -> int:
    """How many tasks the folder sandbox holds."""
    return TASKS


@pytest.fixture
def faults(box: RunningHubSpotSandbox) -> Iterator[Callable[[FaultSpec], None]]:
    """Set the seeded sandbox's fault spec for one test (cleared afterwards)."""
    yield box.faults.set_spec
    box.faults.set_spec(FaultSpec())


# -- the folder sandbox: small, exactly known data --------------------------------


def company(i: int) -> dict[str, Any]:
    """Company ``i`` (1–100) of the folder sandbox, id ``500 + i``."""
    props: dict[str, Any] = {
        "name": f"Acme Holding {i:03d}" if i % 10 == 0 else f"Company {i:03d}",
        "domain": None if i % 7 == 0 else f"c{i}.example",
        "industry": ("Software", "Retail", "Energy")[i % 3],
        "annualrevenue": str(i * 1000.5),
        "numberofemployees": i,
        "lifecyclestage": "customer" if i % 2 == 0 else "lead",
        "customer_since": (date(2026, 1, 1) + timedelta(days=i)).isoformat() if i % 2 == 0 else "",
        "createdate": (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)).isoformat(),
    }
    return {"id": str(500 + i), "properties": {k: v for k, v in props.items() if v is not None}}


def _write(path: Path, rows: Any) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def write_folder(root: Path) -> Path:
    """``root/hubspot/*.jsonl``: 99 contacts, 100 companies, 101 deals, 10 050 tasks, 3 owners."""
    folder = root / "hubspot"
    folder.mkdir(parents=True)
    _write(
        folder / "contacts.jsonl",
        (
            {
                "id": str(i),
                "properties": {
                    "email": f"p{i}@x.example",
                    "firstname": f"P{i}",
                    "createdate": "2026-02-01T08:00:00.000Z",
                },
            }
            for i in range(1, 100)
        ),
    )
    _write(folder / "companies.jsonl", (company(i) for i in range(1, 101)))
    _write(
        folder / "deals.jsonl",
        (
            {
                "id": str(2000 + i),
                "properties": {
                    "dealname": f"Deal {i}",
                    "amount": i * 100,
                    "dealstage": "closedwon" if i % 4 == 0 else "qualifiedtobuy",
                    "hs_is_closed_won": "true" if i % 4 == 0 else "false",
                    "closedate": f"{1767225600000 + i * 86_400_000}",
                },
                "associations": {"companies": [str(500 + (i % 100) + 1)]},
            }
            for i in range(1, 102)
        ),
    )
    _write(
        folder / "tasks.jsonl",
        (
            {
                "id": str(100_000 + i),
                "properties": {
                    "hs_task_subject": f"Task {i}",
                    "hs_task_status": "COMPLETED" if i % 2 else "NOT_STARTED",
                    "hs_timestamp": "2026-03-01T09:30:00Z",
                },
            }
            for i in range(1, TASKS + 1)
        ),
    )
    _write(
        folder / "owners.jsonl",
        (
            {
                "id": str(70 + i),
                "email": f"owner{i}@acme.example",
                "firstName": f"Owner{i}",
                "lastName": "Test",
                "userId": 900 + i,
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z",
                "archived": i == 3,
                "teams": [{"id": "5", "name": "Sales", "primary": True}],
            }
            for i in range(1, 4)
        ),
    )
    return root


@pytest.fixture(scope="session")
def folder_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHubSpotSandbox]:
    """A sandbox loaded from JSON Lines files with exactly known records (read-only in tests)."""
    root = write_folder(tmp_path_factory.mktemp("data"))
    running = start(data_dir=root)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def folder_client(folder_box: RunningHubSpotSandbox) -> Any:
    """hubspot-api-client pointed at the folder sandbox."""
    return hubspot.HubSpot(access_token=folder_box.access_token, host=folder_box.url)


@pytest.fixture(scope="session")
def folder_raw(folder_box: RunningHubSpotSandbox, http: urllib3.PoolManager) -> Raw:
    """Raw HTTP against the folder sandbox."""
    return Raw(folder_box, http)


@pytest.fixture(scope="session")
def key_results(client: Any) -> Any:
    """The custom object ``okr_key_result`` (unique ``okr_key``), created through the schemas API."""
    from hubspot.crm.schemas import ObjectSchemaEgg  # type: ignore[import-untyped]  # noqa: PLC0415

    return client.crm.schemas.core_api.create(
        ObjectSchemaEgg(
            name="okr_key_result",
            labels={"singular": "OKR key result", "plural": "OKR key results"},
            primary_display_property="title",
            required_properties=["okr_key"],
            searchable_properties=["title", "okr_key"],
            secondary_display_properties=["progress"],
            properties=[
                {
                    "name": "okr_key",
                    "label": "Key",
                    "type": "string",
                    "fieldType": "text",
                    "hasUniqueValue": True,
                },
                {"name": "title", "label": "Title", "type": "string", "fieldType": "text"},
                {"name": "progress", "label": "Progress", "type": "number", "fieldType": "number"},
                {"name": "due", "label": "Due", "type": "date", "fieldType": "date"},
                {"name": "done", "label": "Done", "type": "bool", "fieldType": "booleancheckbox"},
                {
                    "name": "status",
                    "label": "Status",
                    "type": "enumeration",
                    "fieldType": "select",
                    "options": [
                        {"label": "On track", "value": "on_track", "hidden": False},
                        {"label": "At risk", "value": "at_risk", "hidden": False},
                    ],
                },
            ],
            associated_objects=["COMPANY", "0-3"],
        )
    )
