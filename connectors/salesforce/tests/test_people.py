"""Record owners and teams in Salesforce: Owner.Email with the pull, roles and public groups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.connector import Cursor, RecordOwners
from okrsync.state.db import open_store
from okrsync.state.schema_cache import StoreSchemaCache
from okrsync_salesforce import SalesforceSettings
from okrsync_salesforce.connector import SalesforceConnector
from okrsync_sandbox.dataset import Dataset

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from simple_salesforce import Salesforce

    from okrsync_salesforce_sandbox import RunningSalesforceSandbox

AS_OF = datetime(2026, 8, 15, 12, tzinfo=UTC)


def settings_of(box: RunningSalesforceSandbox) -> SalesforceSettings:
    """A session on the sandbox, retrying at once."""
    return SalesforceSettings(
        auth="session",
        instance_url=box.instance_url,
        session_id=box.session_id,
        ca_file=box.ca_file,
        retry_backoff_seconds=0.001,
    )


@pytest.fixture
def connector(seeded: RunningSalesforceSandbox) -> Iterator[SalesforceConnector]:
    """A connector on the seeded sandbox."""
    made = SalesforceConnector("salesforce", settings_of(seeded), clock=seeded.app.clock)
    yield made
    made.close()


def test_owners_are_pulled_as_owner_email_with_the_records(
    connector: SalesforceConnector,
) -> None:
    """Opportunities are owned: Owner.Email joins their pull; owner values are e-mails already."""
    assert isinstance(connector, RecordOwners)
    assert connector.owner_field("Opportunity") == "Owner.Email"
    assert connector.owner_field("User") is None  # users own nothing
    with pytest.raises(LookupError):
        connector.owner_field("Nothing__c")
    calls = connector.usage().calls
    pull = connector.pull("Opportunity", ["Amount", "Owner.Email"], (), Cursor())
    pages = list(pull)
    emails = {r["Owner.Email"] for p in pages for r in p.records}
    users = {u.email for u in Dataset(3, "small", history="salesforce").users()}
    assert emails
    assert emails <= users
    assert connector.usage().calls - calls == len(pages)  # no call for the owners
    assert connector.owner_emails(["Jane@Acme.example", ""]) == {
        "Jane@Acme.example": "jane@acme.example"
    }


def test_a_team_is_a_role_or_a_public_group(
    connector: SalesforceConnector,
    seeded: RunningSalesforceSandbox,
    make_client: Callable[..., Salesforce],
) -> None:
    """Members of a role, of a public group, of both; inactive users and unknown teams left out."""
    dataset = Dataset(3, "small", history="salesforce")
    teams = {t.id: t.name for t in dataset.teams()}
    emea = sorted(u.email for u in dataset.users() if u.active and teams[u.team_id] == "EMEA Sales")
    assert connector.team_members("EMEA Sales") == emea
    assert connector.team_members("Nobody's team") is None
    sf = make_client(seeded)
    group = sf.Group.create({"Name": "Key Accounts", "Type": "Regular"})["id"]
    people = sorted(
        (u for u in dataset.users() if teams[u.team_id] == "Americas Sales"), key=lambda u: u.email
    )
    for user in people[:2]:
        row = sf.query(f"SELECT Id FROM User WHERE Email = '{user.email}'")["records"][0]  # noqa: S608  (test data)
        sf.GroupMember.create({"GroupId": group, "UserOrGroupId": row["Id"]})
    assert connector.team_members("Key Accounts") == sorted(u.email for u in people[:2] if u.active)
    calls = connector.usage().calls
    connector.team_members("Key Accounts")
    assert connector.usage().calls == calls  # asked once per connector (and cached a day)


def test_owner_ids_are_kept_a_day_across_processes(
    seeded: RunningSalesforceSandbox, tmp_path: Path
) -> None:
    """A second connector on the same store resolves the owners the first found without a query."""
    settings = settings_of(seeded)
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    users = sorted(u.email for u in Dataset(3, "small", history="salesforce").users() if u.active)
    first = SalesforceConnector(
        "salesforce",
        settings,
        clock=seeded.app.clock,
        schema_cache=StoreSchemaCache(db, "default", "salesforce", clock=seeded.app.clock),
    )
    found = {e: first.resolve_owner(e) for e in [*users[:3], "nobody@acme.example"]}
    first.close()
    assert all(found[e] for e in users[:3])
    assert found["nobody@acme.example"] is None
    later = SalesforceConnector(
        "salesforce",
        settings,
        clock=seeded.app.clock,
        schema_cache=StoreSchemaCache(db, "default", "salesforce", clock=seeded.app.clock),
    )
    try:
        assert {e: later.resolve_owner(e) for e in found} == found
        assert later.usage().calls == 0  # nothing asked: the store kept them
        assert later.resolve_owner(users[3]) is not None  # a new address is asked for
        assert later.usage().calls == 1
    finally:
        later.close()
