"""Owners through hubspot-api-client: by email, paging, archived owners, by id."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.owners import ApiException  # type: ignore[import-untyped]


def test_owner_by_email(client: Any) -> None:
    """Filtering by email returns exactly that owner, with its primary team."""
    everyone = client.crm.owners.owners_api.get_page(limit=500).results
    target = everyone[3]
    found = client.crm.owners.owners_api.get_page(email=target.email.upper()).results
    assert [o.id for o in found] == [target.id]
    assert found[0].type == "PERSON"
    assert found[0].teams[0].primary is True
    assert client.crm.owners.owners_api.get_page(email="nobody@nowhere.example").results == []


def test_owner_paging_and_archived(folder_client: Any) -> None:
    """Owners page by ``after``; deactivated ones appear only with ``archived=true``."""
    api = folder_client.crm.owners.owners_api
    first = api.get_page(limit=1)
    assert [o.email for o in first.results] == ["owner1@acme.example"]
    second = api.get_page(limit=1, after=first.paging.next.after)
    assert [o.email for o in second.results] == ["owner2@acme.example"]
    assert second.paging is None
    archived = api.get_page(archived=True)
    assert [(o.email, o.archived) for o in archived.results] == [("owner3@acme.example", True)]


def test_owner_by_id_and_user_id(folder_client: Any) -> None:
    """An owner is found by owner id or, with idProperty=userId, by user id."""
    api = folder_client.crm.owners.owners_api
    assert api.get_by_id(71).email == "owner1@acme.example"
    assert api.get_by_id(902, id_property="userId").email == "owner2@acme.example"
    with pytest.raises(ApiException) as caught:
        api.get_by_id(99)
    assert caught.value.status == 404
