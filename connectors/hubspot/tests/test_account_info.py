"""Who a token is: the account details, the private apps' daily usage and the token's scopes, as HubSpot serves them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from okrsync.crm_objects import OKR_OBJECTS
from okrsync.diagnosis import CheckStatus, DiagnosisRequest
from okrsync_hubspot import HubSpotSettings, plugin
from okrsync_hubspot._doctor import needed_scopes

from .conftest import Raw

if TYPE_CHECKING:
    from collections.abc import Callable

    import urllib3

    from okrsync.diagnosis import Check
    from okrsync_hubspot.connector import HubSpotConnector
    from okrsync_hubspot_sandbox import RunningHubSpotSandbox

TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"  # noqa: S105  (a path, not a secret)
DETAILS = "/account-info/v3/details"
USAGE = "/account-info/v3/api-usage/daily/private-apps"


def body(response: urllib3.BaseHTTPResponse) -> Any:
    """The JSON body of an answer."""
    return json.loads(response.data)


def connector(box: RunningHubSpotSandbox) -> HubSpotConnector:
    """The HubSpot connector on a sandbox (no retries: a refusal shows at once)."""
    settings = HubSpotSettings(
        access_token=SecretStr(box.access_token), host=box.url, max_retries=0
    )
    return plugin.connect("hubspot", settings)


def by_name(checks: list[Check]) -> dict[str, Check]:
    """Checks by name."""
    return {c.name: c for c in checks}


def test_account_details_name_the_portal_of_the_token(
    start_box: Callable[..., RunningHubSpotSandbox], http: urllib3.PoolManager
) -> None:
    """GET /account-info/v3/details answers the documented fields; without a token, 401."""
    box = start_box(size=200, extra={"portal_id": 4242})
    raw = Raw(box, http)
    answer = raw("GET", DETAILS)
    assert answer.status == 200
    details = body(answer)
    assert details["portalId"] == 4242
    assert set(details) == {
        "portalId",
        "accountType",
        "timeZone",
        "companyCurrency",
        "additionalCurrencies",
        "utcOffset",
        "utcOffsetMilliseconds",
        "uiDomain",
        "dataHostingLocation",
    }
    assert details["accountType"] in {"STANDARD", "SANDBOX", "DEVELOPER_TEST", "APP_DEVELOPER"}
    assert raw("GET", DETAILS, token=None).status == 401


def test_the_daily_usage_counts_the_days_calls_against_the_limit(
    start_box: Callable[..., RunningHubSpotSandbox], http: urllib3.PoolManager
) -> None:
    """The current usage grows with each call; the usage limit is the portal's daily limit."""
    box = start_box(size=200, extra={"daily_limit": 1000})
    raw = Raw(box, http)
    first = body(raw("GET", USAGE))["results"][0]
    raw("GET", "/crm/v3/objects/deals?limit=1")
    raw("GET", "/crm/v3/objects/deals?limit=1")
    second = body(raw("GET", USAGE))["results"][0]
    assert first["usageLimit"] == second["usageLimit"] == 1000
    assert second["currentUsage"] == first["currentUsage"] + 3
    assert first["name"] == "private-apps-api-calls-daily"
    assert first["fetchStatus"] == "SUCCESS"
    assert {"collectedAt", "resetsAt"} <= set(first)


def test_the_token_info_lists_the_apps_scopes_less_the_missing_and_revoked(
    start_box: Callable[..., RunningHubSpotSandbox], http: urllib3.PoolManager
) -> None:
    """The token's scopes lack those the portal withholds; a revoked one is also refused as MISSING_SCOPES."""
    box = start_box(size=200, extra={"missing_scopes": ["crm.objects.deals.read"]})
    raw = Raw(box, http)
    info = body(raw("POST", TOKEN_INFO, {"tokenKey": box.access_token}))
    assert info["hubId"] == box.app.settings.portal_id
    assert {"userId", "appId"} <= set(info)
    assert "crm.objects.deals.read" not in info["scopes"]
    assert {"crm.objects.contacts.read", "crm.objects.custom.write", "oauth"} <= set(info["scopes"])
    box.revoke_scopes("crm.objects.owners.read")
    info = body(raw("POST", TOKEN_INFO, {"tokenKey": box.access_token}))
    assert "crm.objects.owners.read" not in info["scopes"]
    refused = raw("GET", "/crm/v3/owners/")
    assert refused.status == 403
    assert body(refused)["category"] == "MISSING_SCOPES"
    box.restore_scopes()
    assert raw("GET", "/crm/v3/owners/").status == 200
    assert raw("POST", TOKEN_INFO, {"tokenKey": "pat-na1-someone-else"}).status == 404
    assert raw("POST", TOKEN_INFO, {}).status == 400


def test_diagnose_names_the_portal_and_passes_once_provisioned(
    start_box: Callable[..., RunningHubSpotSandbox],
) -> None:
    """Login, quota and scopes pass on a fresh portal; okrsync's objects fail until provisioned."""
    box = start_box(size=200)
    hub = connector(box)
    request = DiagnosisRequest(OKR_OBJECTS, {"deals": frozenset({"amount"})})
    checks = by_name(hub.diagnose(request))
    assert [c.status for c in checks.values()] == [
        CheckStatus.PASS,
        CheckStatus.PASS,
        CheckStatus.PASS,
        CheckStatus.FAIL,
    ]
    assert checks["auth"].facts["portal_id"] == box.app.settings.portal_id
    assert "crm.objects.deals.read" in checks["scopes"].facts["needed"]
    assert checks["objects"].fix.startswith("run `okrsync provision`")
    assert any(p.startswith("create_object okr_key_result") for p in checks["objects"].problems)
    hub.provision(OKR_OBJECTS)
    assert all(c.status is CheckStatus.PASS for c in hub.diagnose(request))
    hub.close()


def test_diagnose_names_each_missing_scope_and_why(
    start_box: Callable[..., RunningHubSpotSandbox],
) -> None:
    """A token without the custom-object scopes fails the scopes and the objects checks, naming them."""
    box = start_box(size=200)
    hub = connector(box)
    hub.provision(OKR_OBJECTS)
    box.revoke_scopes("crm.objects.custom.write", "crm.schemas.custom.read")
    checks = by_name(hub.diagnose(DiagnosisRequest(OKR_OBJECTS, {})))
    scopes, objects = checks["scopes"], checks["objects"]
    assert scopes.status is CheckStatus.FAIL
    assert scopes.facts["missing"] == ["crm.objects.custom.write", "crm.schemas.custom.read"]
    assert scopes.problems[0].startswith("crm.objects.custom.write: okrsync writes")
    assert "`crm.objects.custom.write`, `crm.schemas.custom.read`" in scopes.fix
    assert objects.status is CheckStatus.FAIL
    assert "`crm.schemas.custom.read`" in objects.detail
    box.restore_scopes()
    assert all(c.status is CheckStatus.PASS for c in hub.diagnose(DiagnosisRequest(OKR_OBJECTS)))
    hub.close()


def test_diagnose_reports_a_spent_day_and_a_refused_token(
    start_box: Callable[..., RunningHubSpotSandbox],
) -> None:
    """A spent daily limit fails the quota check (the rest skipped); a wrong token fails the login."""
    box = start_box(size=200)
    hub = connector(box)
    box.spend_daily_quota()
    checks = hub.diagnose(DiagnosisRequest(OKR_OBJECTS))
    assert [(c.name, c.status) for c in checks] == [
        ("auth", CheckStatus.SKIP),
        ("quota", CheckStatus.FAIL),
        ("scopes", CheckStatus.SKIP),
        ("objects", CheckStatus.SKIP),
    ]
    assert "daily API limit is spent" in checks[1].detail
    assert "midnight" in checks[1].fix
    box.reset_daily_quota()
    hub.close()
    settings = HubSpotSettings(
        access_token=SecretStr("pat-na1-not-the-portals-token"), host=box.url, max_retries=0
    )
    wrong = plugin.connect("hubspot", settings)
    checks = wrong.diagnose(DiagnosisRequest(OKR_OBJECTS))
    assert (checks[0].name, checks[0].status) == ("auth", CheckStatus.FAIL)
    assert "Private Apps" in checks[0].fix
    assert "OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN" in checks[0].fix
    assert {c.status for c in checks[1:]} == {CheckStatus.SKIP}
    assert "pat-na1-not-the-portals-token" not in json.dumps([c.as_json() for c in checks])
    wrong.close()


def test_needed_scopes_follow_what_the_mappings_read_and_write() -> None:
    """Standard objects need their read (and schema) scopes, custom ones the custom scopes; engagements claim none."""
    reads = {
        "deals": frozenset({"amount"}),
        "feedback_submissions": frozenset({"hs_response_value"}),
        "tasks": frozenset({"hs_timestamp"}),
        "2-1234": frozenset({"score"}),
    }
    need = needed_scopes(DiagnosisRequest((), reads), standard={"deals", "tasks"})
    assert sorted(need) == [
        "crm.objects.custom.read",
        "crm.objects.deals.read",
        "crm.objects.feedback_submissions.read",
        "crm.schemas.custom.read",
        "crm.schemas.deals.read",
    ]
    writing = needed_scopes(DiagnosisRequest(OKR_OBJECTS, {}))
    assert sorted(writing) == [
        "crm.objects.custom.read",
        "crm.objects.custom.write",
        "crm.objects.owners.read",
        "crm.schemas.custom.read",
    ]
    assert "crm.schemas.custom.write" not in writing  # provision's alone
