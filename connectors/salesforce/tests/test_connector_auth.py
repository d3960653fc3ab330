"""Logging in (client credentials, JWT bearer, static session) and keeping every secret out of sight."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from okrsync.connector import Cursor
from okrsync.errors import ConnectorError, FatalConnectorError, RetriableConnectorError
from okrsync_salesforce import SalesforceSettings, plugin
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_sandbox.faults import FaultSpec

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

INSTANCE = "https://acme.my.salesforce.com"
CONSUMER_SECRET = "consumer-SECRET-5f2a9c1e7b"  # noqa: S105  (made up; the tests look for it)
TOKENS = ("00D000000000001!ACCESS-TOKEN-one-7d1e", "00D000000000001!ACCESS-TOKEN-two-93c4")
USER = "0055g00000AbCdEFGH"
DESCRIBE = {
    "name": "Account",
    "label": "Account",
    "custom": False,
    "replicateable": True,
    "fields": [
        {"name": "Id", "type": "id", "label": "Account ID", "nillable": False},
        {"name": "Name", "type": "string", "label": "Account Name", "nillable": False},
    ],
}


@pytest.fixture(scope="module")
def private_key() -> tuple[str, Any]:
    """A PEM private key and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def token_body(token: str) -> dict[str, str]:
    return {
        "access_token": token,
        "instance_url": INSTANCE,
        "id": f"https://login.salesforce.com/id/00D000000000001AAA/{USER}",
        "token_type": "Bearer",
        "scope": "api",
    }


def describe_url(version: str = "59.0") -> str:
    return f"{INSTANCE}/services/data/v{version}/sobjects/Account/describe/"


@responses.activate
def test_client_credentials_login_request() -> None:
    """Client credentials go to the My Domain's token endpoint; the token is used as Bearer."""
    token_call = responses.post(f"{INSTANCE}/services/oauth2/token", json=token_body(TOKENS[0]))
    describe = responses.get(
        describe_url(), json=DESCRIBE, headers={"Sforce-Limit-Info": "api-usage=5/15000"}
    )
    settings = SalesforceSettings(
        auth="client_credentials",
        domain="acme.my",
        consumer_key="3MVG9-consumer-key",
        consumer_secret=CONSUMER_SECRET,
    )
    connector = plugin.connect("salesforce", settings)
    assert isinstance(connector, SalesforceConnector)
    info = connector.describe("Account")
    assert info.field("name") is not None
    assert token_call.call_count == 1
    sent = token_call.calls[0].request
    assert sent.url == "https://acme.my.salesforce.com/services/oauth2/token"
    form = parse_qs(str(sent.body))
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["3MVG9-consumer-key"],
        "client_secret": [CONSUMER_SECRET],
    }
    assert describe.calls[0].request.headers["Authorization"] == f"Bearer {TOKENS[0]}"
    assert connector.usage().remaining == 14995
    assert connector.transport.current_user_id() == USER
    connector.close()


@responses.activate
def test_jwt_bearer_login_request(private_key: tuple[str, Any]) -> None:
    """The JWT assertion is RS256-signed with iss, sub, aud and a short exp; no secret is sent."""
    pem, public = private_key
    token_call = responses.post(
        "https://test.salesforce.com/services/oauth2/token", json=token_body(TOKENS[0])
    )
    responses.get(describe_url("61.0"), json=DESCRIBE)
    settings = SalesforceSettings(
        auth="jwt",
        domain="test",
        username="okrsync@acme.example.com",
        consumer_key="3MVG9-consumer-key",
        private_key=pem,
        api_version="61.0",
    )
    connector = SalesforceConnector("sf-emea", settings)
    before = int(time.time())
    connector.describe("Account")
    form = parse_qs(str(token_call.calls[0].request.body))
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert set(form) == {"grant_type", "assertion"}
    claims = jwt.decode(
        form["assertion"][0], public, algorithms=["RS256"], audience="https://test.salesforce.com"
    )
    assert claims["iss"] == "3MVG9-consumer-key"
    assert claims["sub"] == "okrsync@acme.example.com"
    assert claims["aud"] == "https://test.salesforce.com"
    assert before + 170 <= claims["exp"] <= int(time.time()) + 180
    assert jwt.get_unverified_header(form["assertion"][0])["alg"] == "RS256"
    connector.close()


@responses.activate
def test_refused_login_is_fatal_and_names_the_error() -> None:
    """A refused login is not retried; the error names Salesforce's reason, never the secret."""
    token_call = responses.post(
        f"{INSTANCE}/services/oauth2/token",
        json={"error": "invalid_client", "error_description": "invalid client credentials"},
        status=400,
    )
    settings = SalesforceSettings(
        auth="client_credentials",
        login_url=INSTANCE,
        consumer_key="3MVG9-consumer-key",
        consumer_secret=CONSUMER_SECRET,
    )
    connector = SalesforceConnector("salesforce", settings)
    with pytest.raises(FatalConnectorError, match="invalid_client") as caught:
        connector.describe("Account")
    assert token_call.call_count == 1
    assert CONSUMER_SECRET not in str(caught.value)
    assert caught.value.crm == "salesforce"
    connector.close()


@responses.activate
def test_login_server_errors_are_retried() -> None:
    """A token endpoint answering 503 is asked again, with back-off, then succeeds."""
    url = f"{INSTANCE}/services/oauth2/token"
    responses.post(url, json={"error": "unavailable"}, status=503)
    responses.post(url, json=token_body(TOKENS[0]))
    responses.get(describe_url(), json=DESCRIBE)
    settings = SalesforceSettings(
        auth="client_credentials",
        login_url=INSTANCE,
        consumer_key="ck",
        consumer_secret=CONSUMER_SECRET,
        retry_backoff_seconds=0.001,
    )
    connector = SalesforceConnector("salesforce", settings)
    assert connector.describe("Account").name == "Account"
    connector.close()


@responses.activate
def test_a_static_session_needs_no_login() -> None:
    """With ``auth: session`` the session id is used as is; nothing goes to a token endpoint."""
    describe = responses.get(describe_url(), json=DESCRIBE)
    settings = SalesforceSettings(auth="session", instance_url=INSTANCE, session_id=TOKENS[1])
    connector = SalesforceConnector("salesforce", settings)
    connector.describe("Account")
    assert describe.calls[0].request.headers["Authorization"] == f"Bearer {TOKENS[1]}"
    connector.close()


def _texts(logs: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> str:
    events = "\n".join(repr(e) for e in logs)
    records = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    return events + "\n" + records


@responses.activate
def test_secrets_never_reach_logs_or_errors(
    private_key: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Over refused logins, expiries, re-logins and retries no secret appears in any text."""
    pem, _ = private_key
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    url = f"{INSTANCE}/services/oauth2/token"
    with capture_logs() as logs:
        responses.post(url, json={"error": "invalid_client"}, status=400)
        refused = SalesforceConnector(
            "salesforce",
            SalesforceSettings(
                auth="client_credentials",
                login_url=INSTANCE,
                consumer_key="ck",
                consumer_secret=CONSUMER_SECRET,
            ),
        )
        with pytest.raises(ConnectorError) as caught:
            refused.describe("Account")
        texts.append(str(caught.value))
        responses.reset()

        responses.post(url, json=token_body(TOKENS[0]))
        responses.post(url, json=token_body(TOKENS[1]))
        expired = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]
        responses.get(describe_url(), json=expired, status=401)
        for _ in range(4):
            responses.get(
                describe_url(),
                json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}],
                status=503,
            )
        connector = SalesforceConnector(
            "salesforce",
            SalesforceSettings(
                auth="jwt",
                login_url=INSTANCE,
                username="okrsync@acme.example.com",
                consumer_key="ck",
                private_key=pem,
                max_retries=3,
                retry_backoff_seconds=0.001,
            ),
        )
        with pytest.raises(RetriableConnectorError) as failed:
            connector.describe("Account")
        texts.append(str(failed.value))
        texts.append(repr(failed.value))
        assertions = [
            parse_qs(str(c.request.body))["assertion"][0]
            for c in responses.calls
            if "oauth2/token" in c.request.url
        ]
    assert len(assertions) == 2  # logged in, then again after the expiry
    secrets = [CONSUMER_SECRET, *TOKENS, *assertions]
    secrets += [line for line in pem.splitlines() if line and "-----" not in line]
    everything = "\n".join(texts) + _texts(logs, caplog)
    assert "salesforce.auth.relogin" in everything
    assert "connector.retry" in everything
    for secret in secrets:
        assert secret not in everything
    refused.close()
    connector.close()


def test_secrets_stay_out_of_sandbox_failures(
    start: Callable[..., RunningSalesforceSandbox], caplog: pytest.LogCaptureFixture
) -> None:
    """Against the sandbox, expired sessions and fault storms leave no token in logs or errors."""
    caplog.set_level(logging.DEBUG)
    box = start()
    values: dict[str, Any] = {
        "ca_file": box.ca_file,
        "retry_backoff_seconds": 0.001,
        "max_retries": 2,
    }
    texts: list[str] = []
    with capture_logs() as logs:
        creds = SalesforceConnector(
            "salesforce",
            SalesforceSettings(
                auth="client_credentials",
                login_url=box.instance_url,
                consumer_key=box.app.sessions.consumer_key,
                consumer_secret=box.app.sessions.consumer_secret,
                **values,
            ),
            clock=box.app.clock,
        )
        box.faults.set_spec(FaultSpec.parse("expired=0.3,5xx=0.3,drop=0.1,seed=2"))
        for _ in range(5):
            try:
                list(creds.pull("Account", ["Name"], (), Cursor()))
            except ConnectorError as exc:
                texts.append(str(exc))
        box.faults.set_spec(FaultSpec())
        static = SalesforceConnector(
            "salesforce",
            SalesforceSettings(
                auth="session", instance_url=box.instance_url, session_id=box.session_id, **values
            ),
        )
        box.expire_session()
        with pytest.raises(FatalConnectorError) as caught:
            static.describe("Account")
        texts.append(str(caught.value))
    token = creds.transport._token
    secrets = [box.session_id, box.app.sessions.consumer_secret]
    if token is not None:
        secrets.append(token.access_token)
    everything = "\n".join(texts) + _texts(logs, caplog)
    for secret in secrets:
        assert secret not in everything
    creds.close()
    static.close()
