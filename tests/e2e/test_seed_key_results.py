"""The six key results of OKR practice in sales, as shipped in mappings/, planned against the sandbox CRMs.

`okrsync plan --json` computes each from the CRMs; the new expressions
(durations, `per`, a filter on the response's account) are computed again
here by hand from the records the real clients read.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
import requests
from hubspot import HubSpot  # type: ignore[import-untyped]
from simple_salesforce import Salesforce

from okrsync_sandbox.runner import start_sandboxes, write_config
from okrsync_sandbox.server import SandboxOptions

from .conftest import MAPPINGS, _PinnedCA, run_okrsync

if TYPE_CHECKING:
    from collections.abc import Iterator

    from okrsync_sandbox.runner import SandboxGroup

AS_OF = date(2026, 9, 21)
CYCLE_START = datetime(2026, 7, 1, tzinfo=UTC)
END_OF_DAY = datetime(2026, 9, 22, tzinfo=UTC)
"""The end of the as-of day: later answers are not answers yet."""
SEEDS = {
    "active use of the core product by new customers": None,  # a commented `sql` example
    "NPS of customers onboarded in Q3": "2026-Q3/first-month-success/onboarded-nps",
    "churn of new customers in their first quarter": "2026-Q3/onboarding-delight/new-customer-churn",
    "answer within 4 hours (leads)": "2026-Q3/answer-within-hours/lead-first-response",
    "answer within 4 hours (median)": "2026-Q3/answer-within-hours/lead-median-response",
    "answer within 4 hours (contacts)": "2026-Q3/answer-within-hours/contact-first-response",
    "customer lifetime value": "2026-Q3/customers-grow-with-us/lifetime-value",
    "customer lifetime value (HubSpot)": "2026-Q3/customers-grow-with-us/hubspot-lifetime-value",
    "cross- and upsell rate": "2026-Q3/customers-grow-with-us/upsell-rate",
    "lead quality": "2026-Q3/healthy-pipeline/qualified-leads",
}
"""Each seed key result and the shipped key result that measures it."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxGroup]:
    """Both sandbox CRMs, seeded as of the as-of day (big enough for a few Q3 customers' surveys)."""
    group = start_sandboxes(
        SandboxOptions(seed=5, size=12_000, as_of=datetime(2026, 9, 21, 12, tzinfo=UTC))
    )
    yield group
    group.stop()


@pytest.fixture(scope="module")
def planned(sandbox: SandboxGroup, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`okrsync plan --json` over the shipped mappings: each key result's entry by full key."""
    folder = tmp_path_factory.mktemp("seeds")
    config = folder / "okrsync.yaml"
    write_config(sandbox, config, store_url=f"sqlite:///{folder / 'state.db'}")
    result = run_okrsync(
        "plan",
        "--json",
        "--config",
        str(config),
        "--mappings",
        str(MAPPINGS),
        "--as-of",
        AS_OF.isoformat(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {e["key"]: e for e in json.loads(result.stdout)["key_results"]}


@pytest.fixture(scope="module")
def sf(sandbox: SandboxGroup) -> Iterator[Salesforce]:
    """simple-salesforce on the Salesforce sandbox."""
    info = sandbox.sandboxes["salesforce"].info()
    with requests.Session() as session:
        session.mount("https://", _PinnedCA(info["ca_cert"]))
        yield Salesforce(
            instance_url=info["instance_url"], session_id=info["session_id"], session=session
        )


@pytest.fixture(scope="module")
def hs(sandbox: SandboxGroup) -> HubSpot:
    """hubspot-api-client on the HubSpot sandbox."""
    info = sandbox.sandboxes["hubspot"].info()
    return HubSpot(access_token=info["access_token"], host=info["host"])


def moment(text: str | None) -> datetime | None:
    """A CRM date-time (Salesforce ``…+0000``, HubSpot ``…Z``) or date, in UTC."""
    if not text:
        return None
    if len(text) == len("2026-07-01"):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(text.replace("+0000", "+00:00"))


def hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def first_after(start: datetime, candidates: list[datetime]) -> datetime | None:
    """The earliest of ``candidates`` not before ``start`` and within the as-of day."""
    found = [c for c in candidates if start <= c < END_OF_DAY]
    return min(found) if found else None


def test_every_seed_key_result_has_a_value(planned: dict[str, Any]) -> None:
    """Each seed key result the CRMs can measure plans to a value, without an error."""
    for seed, key in SEEDS.items():
        if key is not None:
            assert planned[key]["error"] is None, (seed, planned[key])
            assert planned[key]["value"] is not None, seed


def test_product_usage_is_a_commented_example_for_the_sql_source(planned: dict[str, Any]) -> None:
    """Product usage is not in any CRM: it is shipped as a commented example, not a key result."""
    text = (MAPPINGS / "customer-value-2026-q3.yaml").read_text()
    assert "#   source: sql" in text
    assert "# - key: core-product-usage" in text
    assert not any(key.endswith("/core-product-usage") for key in planned)


def test_lead_response_times_equal_the_hand_computed_ones(
    planned: dict[str, Any], sf: Salesforce
) -> None:
    """Average hours to a lead's first task, and the median to its first call or e-mail (unanswered leads open until the as-of day ends), as computed from the leads and tasks."""
    leads = {
        r["Id"]: moment(r["CreatedDate"])
        for r in sf.query_all(
            "SELECT Id, CreatedDate FROM Lead "
            "WHERE CreatedDate >= 2026-07-01T00:00:00Z AND CreatedDate < 2026-09-22T00:00:00Z"
        )["records"]
    }
    tasks: dict[str, list[tuple[datetime, str]]] = {}
    for r in sf.query_all("SELECT WhoId, CreatedDate, Type FROM Task WHERE WhoId != null")[
        "records"
    ]:
        created = moment(r["CreatedDate"])
        assert created is not None
        tasks.setdefault(r["WhoId"], []).append((created, r["Type"]))
    answered: list[float] = []
    by_phone_or_mail: list[float] = []
    for lead, created in leads.items():
        assert created is not None
        mine = tasks.get(lead, [])
        first = first_after(created, [at for at, _ in mine])
        if first is not None:
            answered.append(hours(created, first))
        reply = first_after(created, [at for at, kind in mine if kind in {"Call", "Email"}])
        by_phone_or_mail.append(hours(created, reply or END_OF_DAY))
    assert len(answered) > 20
    assert len(answered) < len(leads)  # some leads are not answered (yet)
    key = SEEDS["answer within 4 hours (leads)"]
    assert planned[key]["value"] == pytest.approx(statistics.fmean(answered), rel=1e-9)
    key = SEEDS["answer within 4 hours (median)"]
    assert planned[key]["value"] == pytest.approx(statistics.median(by_phone_or_mail), rel=1e-9)


def test_contact_response_time_equals_the_hand_computed_one(
    planned: dict[str, Any], hs: HubSpot
) -> None:
    """Average hours from a contact's creation to its first outreach, contacts created in the cycle."""
    contacts = hs.crm.contacts.get_all(properties=["createdate", "hs_first_outreach_date"])
    durations = []
    for contact in contacts:
        created = moment(contact.properties["createdate"])
        reached = moment(contact.properties.get("hs_first_outreach_date"))
        assert created is not None
        if CYCLE_START <= created < END_OF_DAY and reached is not None and reached < END_OF_DAY:
            durations.append(hours(created, reached))
    assert len(durations) > 20
    key = SEEDS["answer within 4 hours (contacts)"]
    assert planned[key]["value"] == pytest.approx(statistics.fmean(durations), rel=1e-9)


def test_lifetime_values_equal_the_hand_computed_ones(
    planned: dict[str, Any], sf: Salesforce, hs: HubSpot
) -> None:
    """Won revenue per customer: per account that won a priced opportunity, per company with total revenue."""
    won = sf.query_all("SELECT AccountId, Amount FROM Opportunity WHERE IsWon = true")["records"]
    revenue = sum(r["Amount"] or 0 for r in won)
    customers = {r["AccountId"] for r in won if (r["Amount"] or 0) > 0}
    key = SEEDS["customer lifetime value"]
    assert planned[key]["value"] == pytest.approx(revenue / len(customers), rel=1e-9)
    companies = hs.crm.companies.get_all(properties=["total_revenue"])
    totals = [float(c.properties["total_revenue"]) for c in companies if c.properties.get("total_revenue")]  # fmt: skip
    key = SEEDS["customer lifetime value (HubSpot)"]
    assert planned[key]["value"] == pytest.approx(sum(totals) / len(totals), rel=1e-9)


def test_onboarded_customers_nps_equals_the_hand_computed_one(
    planned: dict[str, Any], sf: Salesforce
) -> None:
    """NPS of the responses so far in the cycle from accounts that became customers in it."""
    scores = [
        r["Score__c"]
        for r in sf.query_all(
            "SELECT Score__c, Account__r.Customer_Since__c FROM NPS_Response__c "
            "WHERE Response_Date__c >= 2026-07-01 AND Response_Date__c <= 2026-09-21 "
            "AND Survey_Type__c = 'NPS'"
        )["records"]
        if r["Account__r"] and (r["Account__r"]["Customer_Since__c"] or "") >= "2026-07-01"
        if r["Score__c"] is not None and 0 <= r["Score__c"] <= 10
    ]
    assert len(scores) >= 3
    nps = (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores) * 100
    assert planned[SEEDS["NPS of customers onboarded in Q3"]]["value"] == pytest.approx(nps)
