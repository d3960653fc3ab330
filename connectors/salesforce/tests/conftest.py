"""Fixtures for the Salesforce sandbox tests: a small deterministic org, clients that pin the CA."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from okrsync_salesforce_sandbox import RunningSalesforceSandbox, plugin, start_sandbox
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.accounting import Accounting
from okrsync_sandbox.server import SandboxOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

AS_OF = datetime(2026, 8, 15, 12, 0, tzinfo=UTC)
"""The sandbox's "now" in these tests: a Saturday in the third quarter of 2026."""


class PinnedCA(HTTPAdapter):
    """Verifies TLS with one CA file whatever ``REQUESTS_CA_BUNDLE`` says.

    requests lets ``REQUESTS_CA_BUNDLE`` override ``session.verify`` (even a
    path) for requests that do not pass ``verify`` themselves, which is how
    simple-salesforce calls; an adapter sees the final value and can pin it.
    """

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with the pinned CA."""
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


def pinned_session(ca_file: str | Path) -> requests.Session:
    """A session that verifies the sandbox with its CA."""
    session = requests.Session()
    session.verify = str(ca_file)
    session.mount("https://", PinnedCA(str(ca_file)))
    return session


def client(box: RunningSalesforceSandbox, session_id: str | None = None) -> Salesforce:
    """simple-salesforce pointed at the sandbox with a session id."""
    return Salesforce(
        instance_url=box.instance_url,
        session_id=session_id or box.session_id,
        session=pinned_session(box.ca_file),
    )


def write_folder(root: Path, objects: dict[str, list[dict[str, Any]]]) -> Path:
    """Write ``root/salesforce/<SObject>.jsonl`` files; return ``root``."""
    folder = root / "salesforce"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in objects.items():
        lines = [json.dumps(row) for row in rows]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@contextmanager
def running(root: Path, **extra: Any) -> Iterator[RunningSalesforceSandbox]:
    """A sandbox loaded from ``root/salesforce`` (options.extra from keywords)."""
    box = start_sandbox(SandboxOptions(data_dir=root, as_of=AS_OF, extra=extra), Accounting())
    try:
        yield box
    finally:
        box.stop()


# -- the small org ---------------------------------------------------------------------------


def uid(n: int) -> str:
    """Id of test user ``n``."""
    return make_id("005", 100 + n)


def aid(n: int) -> str:
    """Id of test account ``n``."""
    return make_id("001", 100 + n)


def oid(n: int) -> str:
    """Id of test opportunity ``n``."""
    return make_id("006", 100 + n)


def _opportunity(row: tuple[Any, ...]) -> dict[str, Any]:
    """An opportunity from (n, name, account, owner, amount, stage, close, source, created)."""
    n, name, account, owner, amount, stage, close, source, created = row
    return {
        "Id": oid(n),
        "Name": name,
        "AccountId": aid(account) if account else None,
        "OwnerId": uid(owner),
        "Amount": amount,
        "StageName": stage,
        "CloseDate": close,
        "LeadSource": source,
        "CreatedDate": created,
        "SystemModstamp": created,
    }


def small_org() -> dict[str, list[dict[str, Any]]]:
    """Seven accounts, ten opportunities, tasks and NPS responses with hand-computable answers."""
    users = [
        {"Id": uid(1), "Username": "ada@acme.example", "Email": "ada@acme.example",
         "FirstName": "Ada", "LastName": "Lovelace", "Title": "VP Sales", "Department": "EMEA Sales"},
        {"Id": uid(2), "Username": "bob@acme.example", "Email": "bob@acme.example",
         "FirstName": "Bob", "LastName": "Builder", "Department": "US Sales", "ManagerId": uid(1)},
        {"Id": uid(3), "Username": "cy@acme.example", "Email": "cy@acme.example",
         "FirstName": "Cy", "LastName": "Young", "IsActive": False},
    ]  # fmt: skip
    accounts = [
        (1, "Acme Corp", "Customer", "Technology", "DE", 1_000_000, 120, 1, "2025-01-15", None),
        (2, "Globex", "Customer", "Finance", "US", 5_000_000, 800, 2, "2025-06-01", "2026-07-20"),
        (3, "Initech", "Prospect", "Technology", "US", None, 50, 2, None, None),
        (
            4,
            "Umbrella O'Hare",
            "Customer",
            "Healthcare",
            "DE",
            2_500_000,
            300,
            1,
            "2026-07-10",
            None,
        ),
        (5, "100% Pure", "Prospect", "Retail", "FR", 200_000, 10, 3, None, None),
        (6, "Soylent", "Former Customer", "Food & Beverage", "FR", 750_000, None, 1, None, None),
        (7, "bluebird Ltd", "Prospect", "Technology", "GB", None, 5, 1, None, None),
    ]
    opportunities = [
        _opportunity((1, "Acme Expansion", 1, 1, 50000, "Closed Won", "2026-07-05", "Web", "2026-05-01T10:00:00Z")),
        _opportunity((2, "Acme Renewal", 1, 1, 20000, "Negotiation/Review", "2026-09-15", "Partner", "2026-06-15T08:30:00Z")),
        _opportunity((3, "Globex Pilot", 2, 2, 15000, "Closed Lost", "2026-07-18", "Web", "2026-04-20T14:00:00Z")),
        _opportunity((4, "Globex Rollout", 2, 2, 120000, "Prospecting", "2026-10-30", "Referral", "2026-08-10T16:45:00Z")),
        _opportunity((5, "Initech Deal", 3, 2, 30000, "Qualification", "2026-08-14", "Web", "2026-08-14T23:30:00Z")),
        _opportunity((6, "Umbrella Starter", 4, 1, 8000, "Closed Won", "2026-08-15", "Event", "2026-08-15T00:00:00Z")),
        _opportunity((7, "Pure Trial", 5, 3, None, "Needs Analysis", "2026-08-16", "Web", "2026-08-09T12:00:00Z")),
        _opportunity((8, "Soylent Winback", 6, 1, 45000, "Proposal/Price Quote", "2026-12-20", "Outbound", "2025-11-30T10:00:00Z")),
        _opportunity((9, "Orphan Deal", None, 2, 5000, "Closed Lost", "2025-12-31", None, "2025-10-01T10:00:00Z")),
        _opportunity((10, "Acme Services", 1, 2, 12500.5, "Closed Won", "2026-04-30", "Referral", "2026-03-01T10:00:00Z")),
    ]  # fmt: skip
    tasks = [
        {"Subject": "Interview: why Globex declined", "Type": "Customer Interview",
         "Status": "Completed", "ActivityDate": "2026-07-20", "WhatId": oid(3), "OwnerId": uid(2)},
        {"Subject": "Call guide v2 published", "Type": "Other", "Status": "Completed",
         "ActivityDate": "2026-08-14", "OwnerId": uid(1), "Priority": "High"},
        {"Subject": "Follow up", "Type": "Call", "Status": "Not Started",
         "ActivityDate": "2026-08-20", "WhatId": aid(1), "OwnerId": uid(1)},
        {"Subject": "Interview: Pure", "Type": "Customer Interview", "Status": "In Progress",
         "ActivityDate": "2026-08-16", "WhatId": aid(5), "OwnerId": uid(3)},
    ]  # fmt: skip
    nps = [
        (1, 1, 10, "2026-07-10", "NPS", "Great onboarding"),
        (2, 1, 9, "2026-08-01", "NPS", None),
        (3, 2, 3, "2026-07-15", "NPS", "Too slow"),
        (4, 4, 7, "2026-08-14", "NPS", None),
        (5, 4, 4, "2026-05-05", "CSAT", None),
        (6, 2, 6, "2026-06-20", "NPS", None),
    ]
    return {
        "User": users,
        "Account": [
            {
                "Id": aid(n),
                "Name": name,
                "Type": kind,
                "Industry": industry,
                "BillingCountry": country,
                "AnnualRevenue": revenue,
                "NumberOfEmployees": staff,
                "OwnerId": uid(owner),
                "Customer_Since__c": since,
                "Churned_On__c": churned,
                "CreatedDate": "2025-01-10T09:00:00Z",
            }
            for n, name, kind, industry, country, revenue, staff, owner, since, churned in accounts
        ],
        "Opportunity": opportunities,
        "Task": tasks,
        "NPS_Response__c": [
            {
                "Account__c": aid(account),
                "Score__c": score,
                "Response_Date__c": day,
                "Survey_Type__c": survey,
                "Comment__c": comment,
            }
            for _, account, score, day, survey, comment in nps
        ],
    }


@pytest.fixture(scope="module")
def seeded() -> Iterator[RunningSalesforceSandbox]:
    """The sandbox seeded from the small dataset (seed 3), through the sandbox plugin."""
    box = plugin.start_sandbox(SandboxOptions(seed=3, size="small", as_of=AS_OF), Accounting())
    yield box
    box.stop()


@pytest.fixture(scope="session")
def org_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small org as a data folder."""
    return write_folder(tmp_path_factory.mktemp("small-org"), small_org())


@pytest.fixture(scope="session")
def sandbox(org_folder: Path) -> Iterator[RunningSalesforceSandbox]:
    """One read-only sandbox with the small org, shared by the query tests."""
    with running(org_folder) as box:
        yield box


@pytest.fixture(scope="session")
def sf(sandbox: RunningSalesforceSandbox) -> Iterator[Salesforce]:
    """A simple-salesforce client of the shared sandbox."""
    api = client(sandbox)
    yield api
    api.session.close()


@pytest.fixture(scope="session")
def launch(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningSalesforceSandbox]]:
    """Start sandboxes from any scope (``launch(objects=None, **extra)``); stopped at the end.

    Default objects: the small org. A fixture may stop its sandbox earlier (``stop`` is idempotent).
    """
    boxes: list[RunningSalesforceSandbox] = []

    def make(
        objects: dict[str, list[dict[str, Any]]] | None = None, **extra: Any
    ) -> RunningSalesforceSandbox:
        root = write_folder(
            tmp_path_factory.mktemp("org"), small_org() if objects is None else objects
        )
        box = start_sandbox(SandboxOptions(data_dir=root, as_of=AS_OF, extra=extra), Accounting())
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.stop()


@pytest.fixture(scope="session")
def make_client() -> Callable[..., Salesforce]:
    """``make_client(box, session_id=None)``: a client the caller closes."""
    return client


@pytest.fixture
def connect() -> Iterator[Callable[..., Salesforce]]:
    """Make clients of a sandbox (``connect(box, session_id=None)``); closed afterwards."""
    made: list[Salesforce] = []

    def make(box: RunningSalesforceSandbox, session_id: str | None = None) -> Salesforce:
        api = client(box, session_id)
        made.append(api)
        return api

    yield make
    for api in made:
        api.session.close()


@pytest.fixture
def session_for() -> Iterator[Callable[[RunningSalesforceSandbox], requests.Session]]:
    """Make raw ``requests`` sessions that trust a sandbox's CA; closed afterwards."""
    made: list[requests.Session] = []

    def make(box: RunningSalesforceSandbox) -> requests.Session:
        session = pinned_session(box.ca_file)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


@pytest.fixture
def start(
    launch: Callable[..., RunningSalesforceSandbox],
) -> Iterator[Callable[..., RunningSalesforceSandbox]]:
    """Start sandboxes for one test (``start(objects=None, **extra)``); stopped after it."""
    boxes: list[RunningSalesforceSandbox] = []

    def make(
        objects: dict[str, list[dict[str, Any]]] | None = None, **extra: Any
    ) -> RunningSalesforceSandbox:
        box = launch(objects, **extra)
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.stop()


@pytest.fixture
def scratch(
    launch: Callable[..., RunningSalesforceSandbox],
) -> Iterator[RunningSalesforceSandbox]:
    """A fresh sandbox with the small org, for tests that write or break things."""
    box = launch()
    yield box
    box.stop()


@pytest.fixture
def scratch_sf(scratch: RunningSalesforceSandbox) -> Iterator[Salesforce]:
    """A client of the scratch sandbox."""
    api = client(scratch)
    yield api
    api.session.close()


KEY_RESULT_FIELDS: list[dict[str, Any]] = [
    {"FullName": "OKR_Key_Result__c.OKR_Key__c", "Metadata": {"type": "Text", "length": 255, "label": "OKR key", "externalId": True, "unique": True}},
    {"FullName": "OKR_Key_Result__c.Score__c", "Metadata": {"type": "Number", "precision": 18, "scale": 2, "label": "Score"}},
    {"FullName": "OKR_Key_Result__c.Progress__c", "Metadata": {"type": "Percent", "precision": 5, "scale": 1, "label": "Progress"}},
    {"FullName": "OKR_Key_Result__c.Status__c", "Metadata": {"type": "Picklist", "label": "Status", "valueSet": {"restricted": True, "valueSetDefinition": {"value": [{"fullName": v, "label": v, "default": v == "no_data"} for v in ("on_track", "at_risk", "off_track", "done", "no_data", "not_started")]}}}},
    {"FullName": "OKR_Key_Result__c.Objective__c", "Metadata": {"type": "Lookup", "referenceTo": "OKR_Objective__c", "relationshipName": "Key_Results", "label": "Objective"}},
    {"FullName": "OKR_Key_Result__c.Last_Synced__c", "Metadata": {"type": "DateTime", "label": "Last synced"}},
    {"FullName": "OKR_Key_Result__c.Milestone__c", "Metadata": {"type": "Checkbox", "defaultValue": "false", "label": "Milestone"}},
    {"FullName": "OKR_Key_Result__c.Sync_Error__c", "Metadata": {"type": "LongTextArea", "length": 32768, "visibleLines": 3, "label": "Sync error"}},
]  # fmt: skip
"""The key-result fields a connector would provision."""


def provision_okr_objects(sf: Salesforce) -> dict[str, str]:
    """Create OKR_Objective__c and OKR_Key_Result__c with their fields; return tooling ids by name."""
    ids: dict[str, str] = {}
    for name, label in (
        ("OKR_Objective__c", "OKR Objective"),
        ("OKR_Key_Result__c", "OKR Key Result"),
    ):
        answer = sf.toolingexecute(
            "sobjects/CustomObject",
            method="POST",
            data={
                "FullName": name,
                "Metadata": {
                    "label": label,
                    "pluralLabel": f"{label}s",
                    "nameField": {"type": "Text", "label": f"{label} Name"},
                    "deploymentStatus": "Deployed",
                    "sharingModel": "ReadWrite",
                },
            },
        )
        ids[name] = answer["id"]
    objective_key = {
        "FullName": "OKR_Objective__c.OKR_Key__c",
        "Metadata": {
            "type": "Text",
            "length": 255,
            "label": "OKR key",
            "externalId": True,
            "unique": True,
        },
    }
    for body in (objective_key, *KEY_RESULT_FIELDS):
        ids[body["FullName"]] = sf.toolingexecute("sobjects/CustomField", method="POST", data=body)[
            "id"
        ]
    return ids


@pytest.fixture(scope="session")
def provision() -> Callable[[Salesforce], dict[str, str]]:
    """``provision(sf)``: create the OKR objects and fields through the Tooling API."""
    return provision_okr_objects
