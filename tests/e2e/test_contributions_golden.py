"""Per-owner values on both CRMs against hand-computed answers, read back through the real clients.

The CRMs are loaded from a data folder written here, record by record, so every
number below can be checked with pencil and paper:

Salesforce (as of 2026-08-17, cycle 2026-Q3). Role *Reps*: ada, bob, eve; cy is
in no role. Opportunities closed in the cycle so far: ada won 50 000 and 30 000
and lost 10 000; bob lost 20 000 and 5 000; eve won 40 000; cy has one open
deal (15 000, closing in September) and nothing closed: his win rate has a zero
denominator. A won deal of ada's closed in June does not count. Leads created
in the cycle so far: ada 2, bob 1, and 2 owned by a queue (no owner e-mail: the
unassigned row); one of ada's is from June, one of bob's is after the as-of day.
NPS responses: ada's 10, 9, 3 (NPS 33.3), bob's 6 (−100), one of the queue's 10.

HubSpot. Owners ada, bob, dee (team *Reps*) and fin (team *Ops*); eve has no
HubSpot user (an owner missing from the other CRM). Deals closed in the cycle:
ada won 25 000 and lost 5 000; bob won 10 000 (and one in June, not counted);
fin lost 3 000; a won deal of 7 000 has no owner.

The roster of *Reps* names dee, who owns nothing in either CRM (a rep without
records); the team's members are the roster's and the CRM's.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
from hubspot import HubSpot  # type: ignore[import-untyped]

from okrsync.crm_objects import CONTRIBUTION, KEY_RESULT
from okrsync.errors import MappingError
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_sandbox.runner import start_sandboxes
from okrsync_sandbox.server import SandboxOptions

from .conftest import Sandbox, provision

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync.engine import CycleReport
    from okrsync.plugins import PluginRegistry

AS_OF = date(2026, 8, 17)
MOMENT = datetime(2026, 8, 17, 12, tzinfo=UTC)
ADA, BOB, CY, DEE, EVE, FIN = (
    f"{n}@acme.example" for n in ("ada", "bob", "cy", "dee", "eve", "fin")
)

MAPPING = """\
version: 1
cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}
teams:
  Reps:
    members: [dee@acme.example]
    from_crm: true
objectives:
  - key: reps
    title: Every rep contributes
    owner: {team: Reps}
    key_results:
      - key: sf-won
        title: Won revenue
        source: salesforce
        metric: won_revenue
        target: 200000
        breakdown: owner
        publish_to: [hubspot]
      - key: sf-win-rate
        title: Win rate
        source: salesforce
        metric: win_rate
        start: 20%
        target: 60%
        breakdown: owner
      - key: sf-pipeline
        title: Open pipeline
        source: salesforce
        metric: pipeline_value
        target: 100000
      - key: sf-leads
        title: New leads
        source: salesforce
        metric: {count: Lead, window: {CreatedDate: cycle_to_date}}
        target: 20
        breakdown: owner
      - key: sf-nps
        title: NPS
        source: salesforce
        metric: nps
        start: 0
        target: 50
        breakdown: owner
      - key: hs-won
        title: HubSpot won revenue
        source: hubspot
        metric: won_revenue
        target: 100000
        breakdown: owner
      - key: hs-win-rate
        title: HubSpot win rate
        source: hubspot
        metric: win_rate
        start: 20%
        target: 60%
        breakdown: owner
      - key: rep-won
        title: Each rep wins 30 k
        source: salesforce
        metric: won_revenue
        target: 30000
        targets: {ada@acme.example: 60000}
        for_each: {team: Reps}
        publish_to: [hubspot]
"""


def _uid(n: int) -> str:
    return make_id("005", 200 + n)


def _salesforce() -> dict[str, list[dict[str, Any]]]:
    role, queue = make_id("00E", 201), make_id("00G", 201)
    people = [(1, "ada", True, role), (2, "bob", True, role), (3, "cy", True, None),
              (5, "eve", True, role)]  # fmt: skip
    users = [
        {"Id": _uid(n), "Username": f"{name}@acme.example", "Email": f"{name}@acme.example",
         "LastName": name.title(), "IsActive": active, "UserRoleId": role_id}
        for n, name, active, role_id in people
    ]  # fmt: skip
    won, lost, open_ = "Closed Won", "Closed Lost", "Negotiation/Review"
    deals = [
        (1, 1, 50000, won, "2026-07-05"), (2, 1, 30000, won, "2026-08-01"),
        (3, 1, 10000, lost, "2026-07-20"), (4, 2, 20000, lost, "2026-07-10"),
        (5, 2, 5000, lost, "2026-08-02"), (6, 5, 40000, won, "2026-08-10"),
        (7, 3, 15000, open_, "2026-09-15"), (8, 1, 99999, won, "2026-06-30"),
    ]  # fmt: skip
    leads = [
        (1, _uid(1), "2026-07-02"), (2, _uid(1), "2026-07-03"), (3, _uid(2), "2026-08-01"),
        (4, queue, "2026-07-15"), (5, queue, "2026-08-10"), (6, _uid(1), "2026-06-15"),
        (7, _uid(2), "2026-08-20"),
    ]  # fmt: skip
    nps = [(_uid(1), 10), (_uid(1), 9), (_uid(1), 3), (_uid(2), 6), (queue, 10)]
    return {
        "UserRole": [{"Id": role, "Name": "Reps"}],
        "Group": [{"Id": queue, "Name": "Inbound queue", "Type": "Queue"}],
        "User": users,
        "Opportunity": [
            {
                "Id": make_id("006", 200 + n),
                "Name": f"Deal {n}",
                "OwnerId": _uid(owner),
                "Amount": amount,
                "StageName": stage,
                "CloseDate": close,
                "CreatedDate": "2026-06-01T09:00:00Z",
            }
            for n, owner, amount, stage, close in deals
        ],
        "Lead": [
            {
                "Id": make_id("00Q", 200 + n),
                "LastName": f"Lead {n}",
                "Company": "Co",
                "Status": "Open - Not Contacted",
                "OwnerId": owner,
                "CreatedDate": f"{day}T10:00:00Z",
            }
            for n, owner, day in leads
        ],
        "NPS_Response__c": [
            {
                "OwnerId": owner,
                "Score__c": score,
                "Response_Date__c": "2026-08-03",
                "Survey_Type__c": "NPS",
            }
            for owner, score in nps
        ],
    }


def _hubspot() -> dict[str, list[dict[str, Any]]]:
    people = [(71, "ada", "Reps"), (72, "bob", "Reps"), (74, "dee", "Reps"), (75, "fin", "Ops")]
    owners = [
        {"id": str(n), "email": f"{name}@acme.example", "firstName": name.title(),
         "lastName": "Test", "userId": 900 + n, "teams": [{"id": team, "name": team,
                                                           "primary": True}]}
        for n, name, team in people
    ]  # fmt: skip
    deals = [
        (1, "71", 25000, "closedwon", "2026-07-10"), (2, "71", 5000, "closedlost", "2026-07-12"),
        (3, "72", 10000, "closedwon", "2026-08-05"), (4, None, 7000, "closedwon", "2026-08-06"),
        (5, "75", 3000, "closedlost", "2026-07-30"), (6, "72", 8000, "closedwon", "2026-06-15"),
    ]  # fmt: skip
    return {
        "owners": owners,
        "deals": [
            {
                "id": str(5000 + n),
                "properties": {
                    "dealname": f"Deal {n}",
                    "amount": str(amount),
                    "dealstage": stage,
                    "closedate": f"{close}T12:00:00Z",
                    "createdate": "2026-06-01T09:00:00Z",
                    **({"hubspot_owner_id": owner} if owner else {}),
                },
            }
            for n, owner, amount, stage, close in deals
        ],
    }


def _write(root: Path) -> Path:
    for crm, objects in (("salesforce", _salesforce()), ("hubspot", _hubspot())):
        folder = root / crm
        folder.mkdir(parents=True)
        for name, rows in objects.items():
            text = "\n".join(json.dumps(r) for r in rows) + "\n"
            (folder / f"{name}.jsonl").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def golden(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry
) -> Iterator[tuple[Sandbox, CycleReport]]:
    """Both CRMs loaded with the records above, okrsync provisioned and synced once."""
    root = _write(tmp_path_factory.mktemp("golden-data"))
    group = start_sandboxes(SandboxOptions(data_dir=root, as_of=MOMENT))
    sandbox = Sandbox(group, tmp_path_factory.mktemp("golden"), registry)
    try:
        maps = sandbox.folder / "maps"
        maps.mkdir()
        (maps / "reps.yaml").write_text(MAPPING, encoding="utf-8")
        app = sandbox.app(sandbox.write_config("golden"), maps)
        provision(app)
        report = app.engine().run("sync", AS_OF)
        assert report.outcome == "succeeded", (report.error, report.writes.errors)
        yield sandbox, report
    finally:
        sandbox.stop()


def _parts(report: CycleReport, key: str) -> dict[str | None, dict[str, Any]]:
    entry = next(e for e in report.as_json()["key_results"] if e["key"] == f"2026-Q3/reps/{key}")
    return {p["owner"]: p for p in entry["breakdown"]}


def _value(report: CycleReport, key: str) -> float | None:
    entry = next(e for e in report.as_json()["key_results"] if e["key"] == f"2026-Q3/reps/{key}")
    value: float | None = entry["value"]
    return value


def test_salesforce_sums_counts_and_shares(golden: tuple[Sandbox, CycleReport]) -> None:
    """Won revenue and new leads per owner, hand-computed; they add up to the team value."""
    _, report = golden
    won = _parts(report, "sf-won")
    assert {o: p["value"] for o, p in won.items()} == {
        ADA: 80000.0, EVE: 40000.0, BOB: 0.0, CY: 0.0, DEE: 0.0,
    }  # fmt: skip
    assert _value(report, "sf-won") == 120000.0 == sum(p["value"] for p in won.values())
    assert (won[ADA]["share"], won[EVE]["share"]) == pytest.approx((2 / 3, 1 / 3))
    assert [won[o]["rank"] for o in (ADA, EVE, BOB, CY, DEE)] == [1, 2, 3, 3, 3]
    leads = _parts(report, "sf-leads")
    # queue-owned leads have no owner e-mail: the unassigned row; cy is not in the team
    assert {o: p["value"] for o, p in leads.items()} == {
        ADA: 2.0, BOB: 1.0, None: 2.0, DEE: 0.0, EVE: 0.0,
    }  # fmt: skip
    assert _value(report, "sf-leads") == 5.0 == sum(p["value"] for p in leads.values())
    assert leads[None]["share"] == pytest.approx(0.4)
    assert leads[None]["rank"] is None


def test_salesforce_ratio_and_nps_keep_their_semantics(golden: tuple[Sandbox, CycleReport]) -> None:
    """Win rate per owner is their won over their closed; NPS per owner counts their responses."""
    _, report = golden
    rate = _parts(report, "sf-win-rate")
    assert rate[ADA]["value"] == pytest.approx(2 / 3)
    assert rate[BOB]["value"] == 0.0
    assert rate[EVE]["value"] == 1.0
    assert rate[CY]["value"] is None  # an open deal only: a zero denominator, no value
    assert rate[DEE]["value"] is None  # no records at all
    assert _value(report, "sf-win-rate") == 0.5  # 3 won of 6 closed, not a mean of the rates
    assert all(p["share"] is None for p in rate.values())
    nps = _parts(report, "sf-nps")
    assert nps[ADA]["value"] == pytest.approx(100 / 3)  # (2 promoters − 1 detractor) / 3
    assert nps[BOB]["value"] == -100.0
    assert nps[None]["value"] == 100.0
    assert _value(report, "sf-nps") == pytest.approx(20.0)  # (3 − 2) / 5


def test_hubspot_owners_resolve_through_the_owners_api(golden: tuple[Sandbox, CycleReport]) -> None:
    """HubSpot's owner ids become e-mails; a deal without an owner is unassigned; shares add up."""
    _, report = golden
    won = _parts(report, "hs-won")
    # the team's members in HubSpot: the roster's dee and HubSpot's team (ada, bob, dee)
    assert {o: p["value"] for o, p in won.items()} == {
        ADA: 25000.0, BOB: 10000.0, FIN: 0.0, None: 7000.0, DEE: 0.0,
    }  # fmt: skip
    assert _value(report, "hs-won") == 42000.0 == sum(p["value"] for p in won.values())
    rate = _parts(report, "hs-win-rate")
    assert (rate[ADA]["value"], rate[BOB]["value"], rate[FIN]["value"]) == (0.5, 1.0, 0.0)
    assert rate[None]["value"] == 1.0
    assert rate[DEE]["value"] is None
    assert EVE not in rate  # in Salesforce's role, not in HubSpot's team
    assert _value(report, "hs-win-rate") == pytest.approx(3 / 5)


def test_personal_key_results_of_the_team(golden: tuple[Sandbox, CycleReport]) -> None:
    """The roster's dee and the role's ada, bob, eve each get a KR; the team's is their sum."""
    _, report = golden
    rows = {e["key"]: e for e in report.as_json()["key_results"]}
    personal = {
        k.rsplit("/", 1)[1]: e for k, e in rows.items() if e["parent"] == "2026-Q3/reps/rep-won"
    }
    assert list(personal) == [DEE, ADA, BOB, EVE]
    assert {m: (e["value"], e["target"], e["score"]) for m, e in personal.items()} == {
        DEE: (0.0, 30000.0, 0.0),
        ADA: (80000.0, 60000.0, 1.0),
        BOB: (0.0, 30000.0, 0.0),
        EVE: (40000.0, 30000.0, 1.0),
    }
    team = rows["2026-Q3/reps/rep-won"]
    assert (team["value"], team["target"], team["score"]) == (120000.0, 150000.0, 0.8)


def test_records_read_back_equal_through_the_real_clients(
    golden: tuple[Sandbox, CycleReport],
) -> None:
    """Contributions and personal KRs in both CRMs equal the report; eve has no HubSpot owner."""
    sandbox, report = golden
    won = _parts(report, "sf-won")
    with sandbox.salesforce() as sf:
        rows = sf.query_all(
            "SELECT OKR_Key__c, Owner.Email, Owner_Email__c, Current_Value__c, Share__c, Rank__c, "
            "Key_Result__r.OKR_Key__c FROM OKR_Contribution__c"
        )["records"]
        krs = sf.query_all(
            "SELECT OKR_Key__c, Owner.Email, Current_Value__c, Target_Value__c, "
            "Parent_Key_Result__r.OKR_Key__c FROM OKR_Key_Result__c"
        )["records"]
    sf_won = {
        r["OKR_Key__c"]: r for r in rows if r["Key_Result__r"]["OKR_Key__c"].endswith("sf-won")
    }
    assert set(sf_won) == {f"2026-Q3/reps/sf-won/{o}" for o in won}
    for owner, part in won.items():
        row = sf_won[f"2026-Q3/reps/sf-won/{owner}"]
        assert row["Current_Value__c"] == part["value"]
        assert row["Share__c"] == pytest.approx(100 * part["share"], abs=0.01)
        assert row["Rank__c"] == part["rank"]
        assert row["Owner_Email__c"] == owner
    # a user of the org owns their contribution; dee has no Salesforce user: the integration user
    assert sf_won[f"2026-Q3/reps/sf-won/{ADA}"]["Owner"]["Email"] == ADA
    assert sf_won[f"2026-Q3/reps/sf-won/{DEE}"]["Owner"]["Email"] != DEE
    leads = {r["OKR_Key__c"] for r in rows if r["Key_Result__r"]["OKR_Key__c"].endswith("leads")}
    assert "2026-Q3/reps/sf-leads/unassigned" in leads
    personal = {r["OKR_Key__c"]: r for r in krs if r["Parent_Key_Result__r"]}
    eve = personal[f"2026-Q3/reps/rep-won/{EVE}"]
    assert eve["Parent_Key_Result__r"]["OKR_Key__c"] == "2026-Q3/reps/rep-won"
    assert (eve["Owner"]["Email"], eve["Current_Value__c"], eve["Target_Value__c"]) == (
        EVE,
        40000.0,
        30000.0,
    )
    info = sandbox.group.sandboxes["hubspot"].info()
    hs = HubSpot(access_token=info["access_token"], host=info["host"])
    page = hs.crm.objects.basic_api.get_page(
        object_type="okr_contribution",
        limit=100,
        properties=["okr_key", "owner_email", "current_value", "hubspot_owner_id", "share"],
    )
    published = {r.properties["okr_key"]: r.properties for r in page.results}
    ada_hs, eve_hs = (published[f"2026-Q3/reps/sf-won/{o}"] for o in (ADA, EVE))
    assert float(eve_hs["current_value"]) == 40000.0
    assert eve_hs["owner_email"] == EVE
    assert not eve_hs["hubspot_owner_id"]  # eve has no HubSpot user: the record has no owner
    assert ada_hs["hubspot_owner_id"] == "71"
    assert float(published["2026-Q3/reps/hs-won/unassigned"]["current_value"]) == 7000.0
    hs_krs = hs.crm.objects.basic_api.get_page(
        object_type="okr_key_result", limit=100, properties=["okr_key", "hubspot_owner_id"]
    )
    owners = {r.properties["okr_key"]: r.properties["hubspot_owner_id"] for r in hs_krs.results}
    assert owners[f"2026-Q3/reps/rep-won/{ADA}"] == "71"
    assert not owners[f"2026-Q3/reps/rep-won/{EVE}"]
    # linked: a contribution to its key result, a personal key result to its team's
    hubspot = sandbox.apps[0].connectors["hubspot"]
    back = hubspot.read_back(CONTRIBUTION, [f"2026-Q3/reps/hs-won/{ADA}"])
    assert back[f"2026-Q3/reps/hs-won/{ADA}"]["key_result"] == "2026-Q3/reps/hs-won"
    mine = hubspot.read_back(KEY_RESULT, [f"2026-Q3/reps/rep-won/{EVE}"])
    assert mine[f"2026-Q3/reps/rep-won/{EVE}"]["parent_key_result"] == "2026-Q3/reps/rep-won"


def test_a_breakdown_over_records_without_owners_is_a_located_error(
    golden: tuple[Sandbox, CycleReport],
) -> None:
    """HubSpot's NPS reads feedback submissions, which have no owner: `plan` says where and why."""
    sandbox, _ = golden
    maps = sandbox.folder / "nps-maps"
    maps.mkdir()
    broken = MAPPING.replace(
        "        metric: won_revenue\n        target: 100000\n        breakdown: owner\n",
        "        metric: nps\n        target: 50\n        breakdown: owner\n",
    )
    assert broken != MAPPING
    (maps / "reps.yaml").write_text(broken, encoding="utf-8")
    app = sandbox.app(sandbox.write_config("nps"), maps)
    with pytest.raises(MappingError) as caught:
        app.engine().run("plan", AS_OF)
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (49, "objectives[0].key_results[5].breakdown")
    assert problem.message.startswith(
        "hubspot object `feedback_submissions` has no owner field; expected a metric over an "
        "object whose records are owned by people"
    )
