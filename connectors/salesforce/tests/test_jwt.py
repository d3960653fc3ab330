"""JWT bearer logins are verified as an org verifies them, with Salesforce's error for each fault.

The token endpoint is exercised with plain HTTP (simple-salesforce hides the
error body) and through the connector, which must log in with the sandbox's
own key and be refused with any other.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okrsync.connector import Cursor
from okrsync.errors import FatalConnectorError
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

LOGIN = "https://login.salesforce.com"


def other_key() -> str:
    """A PEM private key the connected app has never seen."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def app_key(box: RunningSalesforceSandbox) -> str:
    """The connected app's private key, as the sandbox hands it out."""
    return Path(box.info()["private_key_file"]).read_text(encoding="ascii")


def assertion(box: RunningSalesforceSandbox, key: str | None = None, **claims: Any) -> str:
    """A signed assertion: the sandbox's app, user ada, audience login, 3 minutes."""
    body = {
        "iss": box.info()["consumer_key"],
        "sub": "ada@acme.example",
        "aud": LOGIN,
        "exp": int(time.time()) + 180,
    }
    body.update(claims)
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, key or app_key(box), "RS256"
    )


def token(
    box: RunningSalesforceSandbox, http: requests.Session, signed: str
) -> tuple[int, dict[str, Any]]:
    """``POST /services/oauth2/token`` with a JWT bearer grant."""
    answer = http.post(
        box.info()["token_url"],
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": signed},
    )
    return answer.status_code, answer.json()


def refused(error: str, description: str) -> tuple[int, dict[str, str]]:
    """Salesforce's OAuth error response."""
    return 400, {"error": error, "error_description": description}


def test_assertions_with_the_app_key_and_a_valid_audience_are_accepted(
    sandbox: RunningSalesforceSandbox, session_for: Callable[..., requests.Session]
) -> None:
    """login, test and the org's My Domain URL are the audiences; the token then works."""
    http = session_for(sandbox)
    for audience in (LOGIN, "https://test.salesforce.com", sandbox.instance_url):
        status, body = token(sandbox, http, assertion(sandbox, aud=audience))
        assert status == 200, body
        assert body["instance_url"] == sandbox.instance_url
    answer = http.get(
        f"{sandbox.instance_url}/services/data/v59.0/limits/",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"iss": "someone-else"}, refused("invalid_client_id", "client identifier invalid")),
        ({"aud": "https://login.salesforce.com/"}, refused("invalid_grant", "audience is invalid")),
        ({"aud": "https://evil.example"}, refused("invalid_grant", "audience is invalid")),
        ({"aud": None}, refused("invalid_grant", "audience is invalid")),
        ({"exp": int(time.time()) - 5}, refused("invalid_grant", "expired authorization code")),
        ({"exp": None}, refused("invalid_grant", "invalid assertion")),
        ({"sub": "nobody@acme.example"}, refused("invalid_grant", "invalid assertion")),
        ({"sub": "cy@acme.example"}, refused("invalid_grant", "invalid assertion")),  # inactive
    ],
)
def test_each_faulty_claim_gets_salesforces_error(
    sandbox: RunningSalesforceSandbox,
    session_for: Callable[..., requests.Session],
    claims: dict[str, Any],
    expected: tuple[int, dict[str, str]],
) -> None:
    """Issuer, audience, expiry and subject are each checked, with the documented error."""
    assert token(sandbox, session_for(sandbox), assertion(sandbox, **claims)) == expected


def test_a_wrong_key_or_algorithm_is_an_invalid_assertion(
    sandbox: RunningSalesforceSandbox, session_for: Callable[..., requests.Session]
) -> None:
    """The signature must verify against the app's certificate, with RS256."""
    http = session_for(sandbox)
    expected = refused("invalid_grant", "invalid assertion")
    assert token(sandbox, http, assertion(sandbox, key=other_key())) == expected
    claims = {"iss": sandbox.info()["consumer_key"], "sub": "ada@acme.example", "aud": LOGIN}
    hmac_signed = jwt.encode(
        {**claims, "exp": int(time.time()) + 60}, "a-shared-secret-of-32-bytes-or-more", "HS256"
    )
    assert token(sandbox, http, hmac_signed) == expected
    good = assertion(sandbox)
    head, body, signature = good.split(".")
    tampered = jwt.encode({**claims, "sub": "bob@acme.example", "exp": 1}, "x" * 32, "HS256")
    forged = f"{head}.{tampered.split('.')[1]}.{signature}"
    assert token(sandbox, http, forged) == expected
    assert token(sandbox, http, f"{head}.{body}.{signature}")[0] == 200


def test_a_user_not_pre_authorised_has_not_approved_the_app(
    scratch: RunningSalesforceSandbox, session_for: Callable[..., requests.Session]
) -> None:
    """Only users the admin pre-authorised may log in: others get Salesforce's wording."""
    scratch.app.sessions.preauthorized = {scratch.org.api_user_id}
    http = session_for(scratch)
    assert token(scratch, http, assertion(scratch)) == refused(
        "invalid_grant", "user hasn't approved this consumer"
    )
    status, _ = token(scratch, http, assertion(scratch, sub="integration@okrsync_sandbox"))
    assert status == 200


def settings(box: RunningSalesforceSandbox, **overrides: Any) -> SalesforceSettings:
    """The connector settings the sandbox hands out for the JWT bearer flow."""
    values = {
        k: v for k, v in box.connector_settings("jwt").items() if k not in {"type", "api_version"}
    }
    values |= box.connector_secrets("jwt") | {"retry_backoff_seconds": 0.001}
    values |= overrides
    return SalesforceSettings(**values)


def test_connector_logs_in_with_the_key_the_sandbox_hands_out(
    sandbox: RunningSalesforceSandbox,
) -> None:
    """The sandbox's JWT settings work out of the box: the connector logs in and pulls."""
    connector = SalesforceConnector("salesforce", settings(sandbox), clock=sandbox.app.clock)
    try:
        pages = list(connector.pull("Account", ["Name"], (), Cursor()))
        assert sum(len(p.records) for p in pages) == 7
    finally:
        connector.close()


def test_connector_with_a_wrong_key_fails_as_in_an_org(sandbox: RunningSalesforceSandbox) -> None:
    """Another key is refused with ``invalid_grant`` and the key never shows in the error."""
    key = other_key()
    connector = SalesforceConnector(
        "salesforce", settings(sandbox, private_key=key), clock=sandbox.app.clock
    )
    try:
        with pytest.raises(FatalConnectorError) as caught:
            list(connector.pull("Account", ["Name"], (), Cursor()))
    finally:
        connector.close()
    assert caught.value.code == "invalid_grant"
    assert "invalid assertion" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)
