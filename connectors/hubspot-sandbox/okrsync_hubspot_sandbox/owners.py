"""Owners: the portal's users that records are assigned to (``GET /crm/v3/owners/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import not_found, validation_error
from okrsync_hubspot_sandbox.values import iso_millis
from okrsync_sandbox.store import Cmp, Column, FieldType, TableSchema

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from okrsync_sandbox.store import Store

__all__ = ["TABLE", "Owner", "Owners"]

TABLE = "hs_owners"
_FIELDS = [
    "id",
    "email",
    "firstName",
    "lastName",
    "userId",
    "createdAt",
    "updatedAt",
    "teamId",
    "teamName",
]


@dataclass(frozen=True, slots=True)
class Owner:
    """One owner (a HubSpot user), with its primary team."""

    id: int
    email: str
    first_name: str
    last_name: str
    user_id: int
    created_at: datetime
    updated_at: datetime
    team_id: str | None = None
    team_name: str | None = None
    archived: bool = False

    def row(self) -> dict[str, Any]:
        """The store row."""
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "teamId": self.team_id,
            "teamName": self.team_name,
            "_deleted": self.archived,
        }


def _render(row: dict[str, Any]) -> dict[str, Any]:
    teams = []
    if row.get("teamId"):
        teams.append({"id": str(row["teamId"]), "name": row.get("teamName") or "", "primary": True})
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "type": "PERSON",
        "firstName": row["firstName"],
        "lastName": row["lastName"],
        "userId": row["userId"],
        "userIdIncludingInactive": row["userId"],
        "createdAt": iso_millis(row["createdAt"]),
        "updatedAt": iso_millis(row["updatedAt"]),
        "archived": bool(row.get("_deleted")),
        "teams": teams,
    }


class Owners:
    """The owners of a portal, in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.create_table(
            TableSchema.of(
                TABLE,
                [
                    Column("id", FieldType.INT),
                    Column("email", FieldType.EMAIL),
                    Column("firstName", FieldType.STRING),
                    Column("lastName", FieldType.STRING),
                    Column("userId", FieldType.INT),
                    Column("createdAt", FieldType.DATETIME),
                    Column("updatedAt", FieldType.DATETIME),
                    Column("teamId", FieldType.STRING),
                    Column("teamName", FieldType.STRING),
                ],
                key="id",
            )
        )

    def add(self, owners: Iterable[Owner]) -> int:
        """Store owners; return how many."""
        return self.store.insert_many(TABLE, (o.row() for o in owners))

    def page(
        self, *, email: str | None, limit: int, after: int | None, archived: bool
    ) -> dict[str, Any]:
        """``GET /crm/v3/owners/``: a page of owners, optionally one email's.

        Raises:
            HubSpotError: 400 for a limit outside 1–500.
        """
        if not 0 < limit <= 500:  # noqa: PLR2004  (HubSpot's page-size ceiling for owners)
            raise validation_error(f"limit must be between 1 and 500, got {limit}.")
        where = Cmp("email", "like", _like(email)) if email else None
        rows = list(
            self.store.select(
                TABLE,
                _FIELDS,
                where,
                limit=limit + 1,
                after_rowid=after,
                only_deleted=archived,
                with_rowid=True,
            )
        )
        body: dict[str, Any] = {"results": [_render(r) for r in rows[:limit]]}
        if len(rows) > limit:
            last = str(rows[limit - 1]["id"])
            body["paging"] = {"next": {"after": last, "link": f"?after={last}"}}
        return body

    def get(self, owner_id: str, *, by_user_id: bool, archived: bool) -> dict[str, Any]:
        """One owner by owner id or user id.

        Raises:
            HubSpotError: 404 when there is none.
        """
        if not owner_id.isdigit():
            raise not_found()
        key = "userId" if by_user_id else "id"
        rows = list(
            self.store.select(
                TABLE,
                _FIELDS,
                Cmp(key, "=", int(owner_id)),
                only_deleted=archived,
                with_rowid=True,
                limit=1,
            )
        )
        if not rows:
            raise not_found()
        return _render(rows[0])


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
