"""Record owners and teams in Salesforce: ``Owner.Email``, roles and public groups.

A record's owner is its ``OwnerId`` user, pulled as ``Owner.Email`` with the
record (a relationship field: no call of its own), so owners are e-mail
addresses already. A team is a role (``UserRole.Name``) or a public group
(``Group`` of type ``Regular``, its direct user members) of that name: the
active users of either, asked in at most five queries and kept in the schema
cache for a day, as describes are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync.connector import NoSchemaCache, cached
from okrsync_salesforce._soql import quote, select
from okrsync_salesforce._write import _chunks

if TYPE_CHECKING:
    from collections.abc import Collection

    from okrsync.connector import SchemaCache
    from okrsync_salesforce._http import Transport

__all__ = ["OWNER_EMAIL", "Teams", "owner_emails"]

OWNER_EMAIL = "Owner.Email"
USER_PREFIX = "005"
"""Key prefix of user ids (a group member may be a group too)."""


def owner_emails(values: Collection[str]) -> dict[str, str]:
    """The e-mail of each pulled ``Owner.Email`` value: itself (a queue may have none)."""
    return {value: value.strip().lower() for value in values if "@" in value}


class Teams:
    """Members of roles and public groups, by name.

    Args:
        transport: How calls reach Salesforce.
        cache: Where the members are kept for a day (default: nowhere).
    """

    def __init__(self, transport: Transport, cache: SchemaCache | None = None) -> None:
        self.transport = transport
        self.cache = cache or NoSchemaCache()
        self._known: dict[str, list[str] | None] = {}

    def members(self, team: str) -> list[str] | None:
        """E-mails of the active users of the role or public group ``team`` (``None``: neither)."""
        if team not in self._known:
            self._known[team] = cached(
                self.cache, f"team/{team.lower()}", list, lambda: self._ask(team)
            )
        found = self._known[team]
        return None if found is None else list(found)

    def _ids(self, sobject: str, where: str) -> list[str]:
        soql = select(["Id"], sobject, where=where)
        return [
            str(row["Id"])
            for rows in self.transport.query_rows(f"find {sobject}", soql, object_name=sobject)
            for row in rows
        ]

    def _emails(self, where: str) -> list[str]:
        soql = select(["Email"], "User", where=f"IsActive = true AND {where}", order_by="Email")
        return [
            str(row["Email"]).lower()
            for rows in self.transport.query_rows("read team members", soql, object_name="User")
            for row in rows
            if row.get("Email")
        ]

    def _ask(self, team: str) -> list[str] | None:
        roles = self._ids("UserRole", f"Name = {quote(team)}")
        groups = self._ids("Group", f"Name = {quote(team)} AND Type = 'Regular'")
        if not roles and not groups:
            return None
        found: list[str] = []
        for chunk in _chunks(roles):
            found += self._emails(f"UserRoleId IN ({', '.join(quote(i) for i in chunk)})")
        users: list[str] = []
        for chunk in _chunks(groups):
            soql = select(
                ["UserOrGroupId"],
                "GroupMember",
                where=f"GroupId IN ({', '.join(quote(i) for i in chunk)})",
            )
            for rows in self.transport.query_rows(
                "read group members", soql, object_name="GroupMember"
            ):
                users += [
                    str(row["UserOrGroupId"])
                    for row in rows
                    if str(row.get("UserOrGroupId") or "").startswith(USER_PREFIX)
                ]
        for chunk in _chunks(sorted(set(users))):
            found += self._emails(f"Id IN ({', '.join(quote(i) for i in chunk)})")
        return list(dict.fromkeys(found))
