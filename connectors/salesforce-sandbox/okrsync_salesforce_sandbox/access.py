"""Object and field-level security of the emulated org: what a user may read, create and edit.

Salesforce answers every call as the calling user. Describe leaves out the
fields the user may not read and says ``createable`` and ``updateable`` false
for those it may only read (an object it may not read is not found); SOQL
treats a hidden field as a column that does not exist (``INVALID_FIELD``); a
write that sets a field the user may only read fails with
``INVALID_FIELD_FOR_INSERT_UPDATE`` ("Unable to create/update fields: …"),
one that names a hidden field with ``INVALID_FIELD``.

A user's access is the union of their profile's and their permission sets'.
The emulator's profile grants everything (as System Administrator's does)
except what :meth:`Access.restrict_field` and :meth:`Access.restrict_object`
take away; each permission set assigned to the user (``PermissionSetAssignment``)
gives back what its ``FieldPermissions`` and ``ObjectPermissions`` rows grant,
as in a real org, so ``okrsync provision``'s permission set restores what a
restricted profile lacks. Only restricted names are ever looked up: an org
without restrictions pays nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from okrsync_salesforce_sandbox.values import escape_like
from okrsync_sandbox.store import And, Cmp

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync_sandbox.store import Store

__all__ = ["Access", "FieldAccess", "ObjectAccess"]


@dataclass(frozen=True, slots=True)
class FieldAccess:
    """What a user may do with one field."""

    read: bool = True
    edit: bool = True


@dataclass(frozen=True, slots=True)
class ObjectAccess:
    """What a user may do with the records of one object."""

    read: bool = True
    create: bool = True
    edit: bool = True


_FULL_FIELD = FieldAccess()
_FULL_OBJECT = ObjectAccess()


class Access:
    """The profile's restrictions, and the permission sets that lift them (thread-safe).

    Args:
        store: Where the permission set records live.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._fields: dict[str, FieldAccess] = {}
        self._objects: dict[str, ObjectAccess] = {}

    # -- what the profile lacks ---------------------------------------------------------

    def restrict_field(self, path: str, *, read: bool, edit: bool = False) -> None:
        """Make the profile grant only ``read`` (and ``edit``, needing it) on ``Object.Field``."""
        with self._lock:
            self._fields[path.lower()] = FieldAccess(read, edit and read)

    def restrict_object(
        self, name: str, *, read: bool, create: bool = False, edit: bool = False
    ) -> None:
        """Make the profile grant only these on the records of ``name``."""
        with self._lock:
            self._objects[name.lower()] = ObjectAccess(read, create and read, edit and read)

    def lift(self) -> None:
        """The profile grants everything again."""
        with self._lock:
            self._fields.clear()
            self._objects.clear()

    @property
    def restricted(self) -> bool:
        """Whether the profile lacks anything."""
        return bool(self._fields or self._objects)

    # -- what a user may do ---------------------------------------------------------------

    def field(self, user_id: str, sobject: str, field: str) -> FieldAccess:
        """``user_id``'s access to ``sobject.field``: the profile's, with their permission sets'."""
        path = f"{sobject}.{field}".lower()
        profile = self._fields.get(path)
        if profile is None:
            return _FULL_FIELD
        if profile.read and profile.edit:
            return profile
        read = edit = False
        for row in self._granted(user_id, "FieldPermissions", "Field", f"{sobject}.{field}"):
            read = read or bool(row.get("PermissionsRead"))
            edit = edit or bool(row.get("PermissionsEdit"))
        read = profile.read or read or edit
        return FieldAccess(read, profile.edit or edit)

    def obj(self, user_id: str, sobject: str) -> ObjectAccess:
        """``user_id``'s access to the records of ``sobject``."""
        profile = self._objects.get(sobject.lower())
        if profile is None:
            return _FULL_OBJECT
        read = create = edit = False
        for row in self._granted(user_id, "ObjectPermissions", "SobjectType", sobject):
            read = read or bool(row.get("PermissionsRead"))
            create = create or bool(row.get("PermissionsCreate"))
            edit = edit or bool(row.get("PermissionsEdit"))
        return ObjectAccess(
            profile.read or read or create or edit, profile.create or create, profile.edit or edit
        )

    def hidden(self, user_id: str) -> Callable[[str, str | None], bool] | None:
        """What SOQL may not name for ``user_id``: ``(object, field or None)`` → hidden.

        ``None`` when nothing is restricted (every name is visible).
        """
        if not self.restricted:
            return None

        def hidden(sobject: str, field: str | None) -> bool:
            if field is None:
                return not self.obj(user_id, sobject).read
            return not self.field(user_id, sobject, field).read

        return hidden

    def _granted(self, user_id: str, table: str, key: str, value: str) -> list[dict[str, object]]:
        """Permission rows of ``table`` with ``key`` = ``value`` in the user's permission sets."""
        sets = tuple(
            str(row["PermissionSetId"])
            for row in self.store.select(
                "PermissionSetAssignment",
                ["PermissionSetId"],
                Cmp("AssigneeId", "=", user_id),
            )
        )
        if not sets:
            return []
        fields = ["PermissionsRead", "PermissionsEdit"]
        if table == "ObjectPermissions":
            fields.append("PermissionsCreate")
        where = And((Cmp("ParentId", "in", sets), Cmp(key, "like", escape_like(value))))
        return list(self.store.select(table, fields, where))
