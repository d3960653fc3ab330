"""Rate limits, their headers and injected faults, as HubSpot reports them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import hubspot  # type: ignore[import-untyped]
from hubspot.crm.objects import PublicObjectSearchRequest  # type: ignore[import-untyped]
from urllib3.util.retry import Retry

from okrsync_sandbox.faults import FaultKind, FaultSpec

if TYPE_CHECKING:
    import urllib3

HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
)


def _raw(
    box: Any, http: urllib3.PoolManager, method: str, path: str, body: bytes | None = None
) -> Any:
    return http.request(
        method,
        box.url + path,
        body=body,
        headers={"Authorization": f"Bearer {box.access_token}", "Content-Type": "application/json"},
        retries=False,
    )


def test_every_response_carries_the_rate_limit_headers(raw: Any) -> None:
    """Successes and errors alike report the daily and ten-second budgets."""
    for response in (
        raw("GET", "/crm/v3/objects/contacts?limit=1"),
        raw("GET", "/crm/v3/objects/contacts", token=None),
    ):
        assert all(h in response.headers for h in HEADERS)
        assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert int(response.headers["X-HubSpot-RateLimit-Daily-Remaining"]) < int(
            response.headers["X-HubSpot-RateLimit-Daily"]
        )


def test_ten_second_window_runs_out(
    start_box: Any, tmp_path: Any, http: urllib3.PoolManager
) -> None:
    """The 6th request within ten seconds of a 5-request window is HubSpot's 429 with Retry-After."""
    box = start_box(data_dir=tmp_path, extra={"ten_second_limit": 5})
    remaining = [
        _raw(box, http, "GET", "/crm/v3/objects/contacts").headers["X-HubSpot-RateLimit-Remaining"]
        for _ in range(5)
    ]
    assert remaining == ["4", "3", "2", "1", "0"]
    refused = _raw(box, http, "GET", "/crm/v3/objects/contacts")
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert refused.headers["X-HubSpot-RateLimit-Max"] == "5"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    body = refused.json()
    assert body.pop("correlationId")
    assert body == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
    }


def test_daily_quota_runs_out(start_box: Any, tmp_path: Any, http: urllib3.PoolManager) -> None:
    """Past the daily quota every request is a 429 DAILY until midnight."""
    box = start_box(data_dir=tmp_path, extra={"daily_limit": 3})
    statuses = [_raw(box, http, "GET", "/crm/v3/objects/deals").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = _raw(box, http, "GET", "/crm/v3/objects/deals")
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["message"] == "You have reached your daily limit."
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 86_400


def test_search_has_its_own_per_second_limit(
    start_box: Any, tmp_path: Any, http: urllib3.PoolManager
) -> None:
    """Search beyond its per-second limit is a 429 SECONDLY while other calls still pass."""
    box = start_box(data_dir=tmp_path, extra={"search_per_second": 2})
    statuses = [
        _raw(box, http, "POST", "/crm/v3/objects/contacts/search", b"{}").status for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert _raw(box, http, "GET", "/crm/v3/objects/contacts").status == 200
    refused = _raw(box, http, "POST", "/crm/v3/objects/contacts/search", b"{}")
    assert refused.json()["policyName"] == "SECONDLY"
    assert refused.headers["Retry-After"] == "1"


def test_client_retry_recovers_from_a_search_429(
    start_box: Any, tmp_path: Any, http: urllib3.PoolManager
) -> None:
    """The client's urllib3 Retry honours Retry-After on a POST search and then succeeds."""
    box = start_box(data_dir=tmp_path, extra={"search_per_second": 1})
    retry = Retry(
        total=3, status_forcelist=[429], allowed_methods=None, respect_retry_after_header=True
    )
    client = hubspot.HubSpot(access_token=box.access_token, host=box.url, retry=retry)
    assert _raw(box, http, "POST", "/crm/v3/objects/contacts/search", b"{}").status == 200
    began = time.monotonic()
    result = client.crm.objects.search_api.do_search("contacts", PublicObjectSearchRequest(limit=5))
    assert result.total == 0
    assert time.monotonic() - began >= 0.5
    assert box.app.accounting.snapshot()["hubspot"]["by_endpoint"]["search"] == 3


def test_injected_429_renders_the_ten_second_policy(raw: Any, faults: Any) -> None:
    """The ``429`` fault answers like the ten-second window running out."""
    faults(FaultSpec(rates={FaultKind.THROTTLE: 1.0}))
    response = raw("GET", "/crm/v3/objects/contacts")
    assert response.status == 429
    assert response.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert int(response.headers["Retry-After"]) >= 1


def test_injected_5xx_is_502_or_503_with_an_error_body(raw: Any, faults: Any) -> None:
    """The ``5xx`` fault answers 502 or 503 with HubSpot's error body."""
    faults(FaultSpec(rates={FaultKind.ERROR_5XX: 1.0}, seed=3))
    statuses = set()
    for _ in range(8):
        response = raw("GET", "/crm/v3/objects/contacts")
        statuses.add(response.status)
        assert response.json()["status"] == "error"
    assert statuses == {502, 503}


def test_injected_expiry_is_expired_authentication(raw: Any, faults: Any) -> None:
    """The ``expired`` fault answers 401 EXPIRED_AUTHENTICATION."""
    faults(FaultSpec(rates={FaultKind.EXPIRED: 1.0}))
    response = raw("GET", "/crm/v3/objects/contacts")
    assert response.status == 401
    assert response.json()["category"] == "EXPIRED_AUTHENTICATION"


def test_partial_faults_leave_reads_alone(raw: Any, faults: Any) -> None:
    """A partial-batch fault only touches batch writes."""
    faults(FaultSpec(rates={FaultKind.PARTIAL: 1.0}))
    assert raw("GET", "/crm/v3/objects/contacts").status == 200
    assert raw("POST", "/crm/v3/objects/contacts/search", {}).status == 200
