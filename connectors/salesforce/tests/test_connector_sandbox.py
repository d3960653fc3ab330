"""What the sandbox gained for the connector: the OAuth ``userinfo`` endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox


def test_userinfo_names_the_token_user_without_spending_quota(
    sandbox: RunningSalesforceSandbox,
    session_for: Callable[[RunningSalesforceSandbox], requests.Session],
) -> None:
    """``GET /services/oauth2/userinfo`` says who a token acts as; a bad token gets 403."""
    http = session_for(sandbox)
    used = sandbox.app.quota.used
    answer = http.get(
        f"{sandbox.instance_url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {sandbox.session_id}"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["user_id"] == sandbox.org.api_user_id
    assert body["organization_id"] == sandbox.org.org_id
    assert body["preferred_username"] == "integration@okrsync_sandbox"
    assert (
        body["sub"] == f"{sandbox.instance_url}/id/{sandbox.org.org_id}/{sandbox.org.api_user_id}"
    )
    refused = http.get(
        f"{sandbox.instance_url}/services/oauth2/userinfo",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert (refused.status_code, refused.text) == (403, "Bad_OAuth_Token")
    assert sandbox.app.quota.used == used


def test_connector_finds_its_user_with_a_static_session(sandbox: RunningSalesforceSandbox) -> None:
    """With a static session the connector asks ``userinfo`` who it is, once."""
    connector = SalesforceConnector(
        "salesforce",
        SalesforceSettings(
            auth="session",
            instance_url=sandbox.instance_url,
            session_id=sandbox.session_id,
            ca_file=sandbox.ca_file,
        ),
    )
    assert connector.transport.current_user_id() == sandbox.org.api_user_id
    calls = connector.usage().calls
    assert connector.transport.current_user_id() == sandbox.org.api_user_id
    assert connector.usage().calls == calls
    connector.close()
