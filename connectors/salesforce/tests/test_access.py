"""Sessions, OAuth logins, TLS verification, the daily quota, limits headers and injected faults."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import certifi
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import Usage

from okrsync_sandbox.faults import FaultKind, FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

QUERY = "SELECT Id FROM Account LIMIT 1"


def test_usage_header_is_parsed_by_the_client(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """Every API response carries Sforce-Limit-Info, which the client keeps in api_usage."""
    box = start(daily_api_requests=500)
    sf = connect(box)
    sf.query(QUERY)
    sf.query(QUERY)
    assert sf.api_usage["api-usage"] == Usage(used=2, total=500)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 500, "Remaining": 497}
    assert sf.api_usage["api-usage"] == Usage(used=3, total=500)


def test_quota_runs_out(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """After the daily quota every call is refused with REQUEST_LIMIT_EXCEEDED (403)."""
    box = start(daily_api_requests=20)
    sf = connect(box)
    for _ in range(20):
        sf.query(QUERY)
    assert sf.api_usage["api-usage"] == Usage(used=20, total=20)
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query(QUERY)
    assert caught.value.status == 403
    assert caught.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    with pytest.raises(SalesforceRefusedRequest):
        sf.Account.describe()
    box.reset_quota()
    assert sf.query(QUERY)["totalSize"] == 1


@pytest.mark.parametrize(
    "case",
    [
        (FaultKind.EXPIRED, SalesforceExpiredSession, 401, {"INVALID_SESSION_ID"}),
        (FaultKind.THROTTLE, SalesforceRefusedRequest, 403, {"REQUEST_LIMIT_EXCEEDED"}),
        (
            FaultKind.ERROR_5XX,
            SalesforceGeneralError,
            None,
            {"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"},
        ),
    ],
    ids=["expired", "429", "5xx"],
)
def test_injected_faults_render_as_salesforce_errors(
    sandbox: RunningSalesforceSandbox,
    sf: Salesforce,
    case: tuple[FaultKind, type[Exception], int | None, set[str]],
) -> None:
    """An injected fault answers with Salesforce's status and error body."""
    kind, error, status, codes = case
    sandbox.faults.set_spec(FaultSpec(rates={kind: 1.0}, seed=1))
    try:
        with pytest.raises(error) as caught:
            sf.query(QUERY)
    finally:
        sandbox.faults.set_spec(FaultSpec())
    answer: Any = caught.value
    assert answer.status in ({status} if status else {500, 503})
    assert answer.content[0]["errorCode"] in codes
    assert sf.query(QUERY)["totalSize"] == 1


def test_request_limit_faults_say_which_limit_in_salesforces_words(
    scratch: RunningSalesforceSandbox, connect: Callable[..., Salesforce]
) -> None:
    """`429` is the concurrent-request limit; `daily` spends the day's allocation, refused until it resets."""
    sf = connect(scratch)
    scratch.faults.set_spec(FaultSpec(rates={FaultKind.THROTTLE: 1.0}))
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query(QUERY)
    assert caught.value.content == [
        {
            "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    scratch.faults.set_spec(FaultSpec(rates={FaultKind.DAILY: 1.0}))
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query(QUERY)
    scratch.faults.set_spec(FaultSpec())
    assert caught.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    quota = scratch.app.quota
    assert quota.used == quota.limit
    with pytest.raises(SalesforceRefusedRequest):  # spent until the day's allocation resets
        sf.query(QUERY)
    scratch.reset_quota()
    assert sf.query(QUERY)["totalSize"] == 1


def test_dropped_connection(sandbox: RunningSalesforceSandbox, sf: Salesforce) -> None:
    """A drop fault closes the connection without an answer."""
    sandbox.faults.set_spec(FaultSpec(rates={FaultKind.DROP: 1.0}))
    try:
        with pytest.raises(requests.ConnectionError):
            sf.query(QUERY)
    finally:
        sandbox.faults.set_spec(FaultSpec())


def test_expired_and_unknown_sessions(
    scratch: RunningSalesforceSandbox, connect: Callable[..., Salesforce]
) -> None:
    """An expired or unknown session id is INVALID_SESSION_ID; a new session works."""
    sf = connect(scratch)
    assert sf.query(QUERY)["totalSize"] == 1
    assert scratch.expire_session() is True
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query(QUERY)
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    with pytest.raises(SalesforceExpiredSession):
        connect(scratch, "00Dnope!AQ-made-up").query(QUERY)
    assert connect(scratch, scratch.new_session()).query(QUERY)["totalSize"] == 1


@pytest.fixture
def login_relay(
    sandbox: RunningSalesforceSandbox, session_for: Callable[..., requests.Session]
) -> Iterator[responses.RequestsMock]:
    """Relay simple-salesforce's logins at *.salesforce.com to the sandbox's token endpoint."""
    relay = session_for(sandbox)
    token_url = sandbox.info()["token_url"]

    def forward(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        headers = {
            k: v for k, v in request.headers.items() if k in {"Content-Type", "Authorization"}
        }
        answer = relay.post(token_url, data=request.body, headers=headers)
        return answer.status_code, {"Content-Type": "application/json"}, answer.text

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(sandbox.instance_url)
        for host in ("https://acme.my.salesforce.com", "https://login.salesforce.com"):
            mock.add_callback(responses.POST, f"{host}/services/oauth2/token", callback=forward)
        yield mock


def test_client_credentials_login(
    sandbox: RunningSalesforceSandbox,
    login_relay: responses.RequestsMock,
    session_for: Callable[..., requests.Session],
) -> None:
    """The client credentials flow gets a token and instance URL that the client then uses."""
    info = sandbox.info()
    sf = Salesforce(
        consumer_key=info["consumer_key"],
        consumer_secret=info["consumer_secret"],
        domain="acme.my",
        session=session_for(sandbox),
    )
    assert sf.sf_instance == sandbox.instance_url.removeprefix("https://")
    assert sf.query(QUERY)["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            consumer_key=info["consumer_key"],
            consumer_secret="wrong",  # noqa: S106  (a deliberately wrong test secret)
            domain="acme.my",
            session=session_for(sandbox),
        )
    assert len(login_relay.calls) == 2


def test_jwt_bearer_login(
    sandbox: RunningSalesforceSandbox,
    login_relay: responses.RequestsMock,
    session_for: Callable[..., requests.Session],
) -> None:
    """A JWT signed with the app's key is accepted; another key, user or app is refused."""
    del login_relay
    info = sandbox.info()
    pem = Path(info["private_key_file"]).read_text(encoding="ascii")
    sf = Salesforce(
        username="ada@acme.example",
        consumer_key=info["consumer_key"],
        privatekey=pem,
        session=session_for(sandbox),
    )
    assert sf.query(QUERY)["totalSize"] == 1
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    for username, consumer_key, key in (
        ("ada@acme.example", info["consumer_key"], wrong),
        ("nobody@acme.example", info["consumer_key"], pem),
        ("ada@acme.example", "other-app", pem),
    ):
        with pytest.raises(SalesforceAuthenticationFailed):
            Salesforce(
                username=username,
                consumer_key=consumer_key,
                privatekey=key,
                session=session_for(sandbox),
            )


def test_token_endpoint_raw(
    sandbox: RunningSalesforceSandbox, session_for: Callable[..., requests.Session]
) -> None:
    """The token endpoint answers Salesforce's token JSON, and OAuth errors for bad grants."""
    http = session_for(sandbox)
    info = sandbox.info()
    ok = http.post(
        info["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": info["consumer_key"],
            "client_secret": info["consumer_secret"],
        },
    )
    assert ok.status_code == 200
    body = ok.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["token_type"] == "Bearer"  # noqa: S105  (a token type, not a secret)
    assert body["instance_url"] == sandbox.instance_url
    assert "Sforce-Limit-Info" not in ok.headers
    bad = http.post(info["token_url"], data={"grant_type": "password"})
    assert (bad.status_code, bad.json()["error"]) == (400, "unsupported_grant_type")
    junk = http.post(
        info["token_url"],
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": "not.a.jwt",
        },
    )
    assert (junk.status_code, junk.json()["error"]) == (400, "invalid_grant")


def test_ca_is_used_even_with_requests_ca_bundle(
    sandbox: RunningSalesforceSandbox,
    monkeypatch: pytest.MonkeyPatch,
    session_for: Callable[..., requests.Session],
) -> None:
    """With REQUESTS_CA_BUNDLE pointing elsewhere, a session pinned to the sandbox CA still verifies."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    plain = requests.Session()
    plain.verify = str(sandbox.ca_file)
    unpinned = Salesforce(
        instance_url=sandbox.instance_url, session_id=sandbox.session_id, session=plain
    )
    with pytest.raises(requests.exceptions.SSLError):
        unpinned.query(QUERY)
    plain.close()
    pinned = Salesforce(
        instance_url=sandbox.instance_url,
        session_id=sandbox.session_id,
        session=session_for(sandbox),
    )
    assert pinned.query(QUERY)["totalSize"] == 1
    via_name = Salesforce(
        instance_url=sandbox.instance_url.replace("127.0.0.1", "localhost"),
        session_id=sandbox.session_id,
        session=session_for(sandbox),
    )
    assert via_name.query(QUERY)["totalSize"] == 1


def test_versions_and_unsupported_version(
    sandbox: RunningSalesforceSandbox, session_for: Callable[..., requests.Session]
) -> None:
    """/services/data/ lists versions without a session; an unknown version is NOT_FOUND."""
    http = session_for(sandbox)
    versions = http.get(f"{sandbox.instance_url}/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    old = Salesforce(
        instance_url=sandbox.instance_url,
        session_id=sandbox.session_id,
        session=session_for(sandbox),
        version="12.0",
    )
    with pytest.raises(SalesforceResourceNotFound):
        old.query(QUERY)


def test_calls_are_counted(
    start: Callable[..., RunningSalesforceSandbox], connect: Callable[..., Salesforce]
) -> None:
    """Accounting counts each call by endpoint and object."""
    box = start()
    sf = connect(box)
    sf.query("SELECT Id FROM Opportunity")
    sf.Account.get(sf.query(QUERY)["records"][0]["Id"])
    stats = box.app.accounting.snapshot()["salesforce"]
    assert stats["calls"] == 3
    assert stats["by_endpoint"] == {"query": 2, "get_record": 1}
    assert stats["by_object"] == {"Opportunity": 1, "Account": 2}
