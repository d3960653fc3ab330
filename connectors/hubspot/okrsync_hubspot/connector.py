"""The HubSpot connector: okrsync's ``Connector`` protocol over hubspot-api-client.

Build one with :meth:`okrsync_hubspot.HubSpotPlugin.connect` or directly::

    connector = HubSpotConnector("hubspot", HubSpotSettings(access_token=..., host=...))
    pull = connector.pull("deals", ["amount", "closedate"], (), Cursor())
    for page in pull:
        ...
    cursor = pull.cursor

How pulls window and de-duplicate is told in :mod:`okrsync_hubspot._pull`;
writes in :mod:`okrsync_hubspot._write`; HTTP (retries, pacing, metering,
errors) in :mod:`okrsync_hubspot._http`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from okrsync.connector import (
    FieldInfo,
    LogicalObject,
    NoSchemaCache,
    ObjectInfo,
    Usage,
    cached,
)
from okrsync.crm_objects import OKR_OBJECTS
from okrsync.errors import FatalConnectorError
from okrsync_hubspot._doctor import Doctor
from okrsync_hubspot._errors import CRM
from okrsync_hubspot._export import ExportBudget
from okrsync_hubspot._http import Transport
from okrsync_hubspot._okr import PREFIX, association_label, field_property, object_name
from okrsync_hubspot._provision import Provisioner
from okrsync_hubspot._pull import OBJECT_ID, HubSpotPull, PullSpec, stamp_property
from okrsync_hubspot._schemas import Schemas
from okrsync_hubspot._values import PropertyMeta
from okrsync_hubspot._write import Writer

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from okrsync.connector import Change, Cursor, RowFilter, SchemaCache, UpsertOutcome
    from okrsync.diagnosis import Check, DiagnosisRequest
    from okrsync_hubspot._plugin import HubSpotSettings

__all__ = ["HubSpotConnector"]

_PROPERTIES = "crm.properties.core_api"
_OWNERS = "crm.owners.owners_api"
OWNER_PROPERTY = "hubspot_owner_id"
_DIRECTORY = "owners/directory"
_OWNERS_PAGE = 500
_LOGICAL: dict[str, LogicalObject] = {o.name: o for o in OKR_OBJECTS}
_STANDARD = frozenset(
    {
        "contacts",
        "companies",
        "deals",
        "tickets",
        "products",
        "line_items",
        "quotes",
        "calls",
        "emails",
        "meetings",
        "notes",
        "tasks",
        "feedback_submissions",
        "leads",
        "goal_targets",
        "communications",
        "postal_mail",
        "taxes",
        "carts",
        "orders",
        "invoices",
        "users",
    }
)
_TYPE_ID = re.compile(r"^\d+-\d+$")


def _props_key(object_type: str) -> str:
    return f"properties/{object_type}"


class HubSpotConnector:
    """One HubSpot portal, reached with a private app's access token.

    Args:
        name: The connector instance's name (``hubspot``, ``hs-emea``).
        settings: Its validated settings.
        clock: Where "now" comes from (default: the real UTC clock); used for
            the deletion check's time.
        schema_cache: Where properties and schemas are kept across processes
            (default: nowhere).

    Raises:
        FatalConnectorError: when the settings hold no access token.
    """

    def __init__(
        self,
        name: str,
        settings: HubSpotSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        schema_cache: SchemaCache | None = None,
    ) -> None:
        self.name = name
        self._settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._http = Transport(settings, instance=name, clock=self._clock)
        self._cache = schema_cache or NoSchemaCache()
        self._export_budget = ExportBudget(self._cache, settings.exports_per_day, self._clock)
        self.concurrent_pulls = settings.concurrent_pulls
        self.concurrent_writes = settings.concurrent_writes
        """Pulls of different objects that may run at once (the transport is shared safely)."""
        self._schemas = Schemas(self._http, self._cache)
        self._props: dict[str, dict[str, PropertyMeta]] = {}
        self._owner_ids: dict[str, str | None] = {}
        self._owner_emails: dict[str, str | None] = {}
        self._directory: list[dict[str, Any]] | None = None
        """Every owner (id, e-mail, teams, archived), once read (see :meth:`owners`)."""
        self._writer = Writer(
            self._http,
            self._schemas,
            batch_size=settings.batch_size,
            connector=name,
            concurrent=settings.concurrent_writes,
            owner_id=self.resolve_owner,
            owner_email=self._owner_email,
            cache=self._cache,
        )
        self._provisioner = Provisioner(self._http, self._schemas, connector=name)

    def __repr__(self) -> str:
        return f"HubSpotConnector({self.name!r}, host={self._settings.host!r})"

    def _log(self) -> Any:
        return structlog.get_logger("okrsync.hubspot").bind(crm=CRM, connector=self.name)

    # -- objects and their properties ----------------------------------------------

    def _object_type(self, object_name_: str) -> tuple[str, str, bool]:
        """How the API addresses an object, its label, and whether it is custom."""
        if object_name_ in _LOGICAL:
            object_name_ = object_name(object_name_)
        if object_name_.lower() in _STANDARD or _TYPE_ID.match(object_name_):
            return object_name_, object_name_, object_name_.startswith("2-")
        info = self._schemas.get(object_name_)
        if info is not None:
            return info.object_type_id, info.label, True
        if object_name_.startswith(PREFIX):
            raise FatalConnectorError(
                f"the HubSpot custom object `{object_name_}` does not exist: "
                "run `okrsync provision`",
                crm=CRM,
                object_name=object_name_,
                code="NOT_PROVISIONED",
            )
        return object_name_, object_name_, False

    def _properties(self, object_type: str, object_name_: str) -> dict[str, PropertyMeta]:
        """The object's properties by lower-case name (cached per connector)."""
        found = self._props.get(object_type)
        if found is None:

            def fetch() -> list[Any]:
                reply = self._http.call(
                    f"read the properties of {object_name_}",
                    _PROPERTIES,
                    "get_all",
                    object_type,
                    archived=False,
                    object_name=object_name_,
                )
                body = reply.body if isinstance(reply.body, dict) else {}
                return [PropertyMeta.from_json(p).to_json() for p in body.get("results") or []]

            entries = cached(self._cache, _props_key(object_type), list, fetch) or []
            metas = [PropertyMeta.from_json(p) for p in entries if isinstance(p, dict)]
            found = {m.name.lower(): m for m in metas}
            self._props[object_type] = found
        return found

    def describe(self, object_name: str, *, refresh: bool = False) -> ObjectInfo:
        """Fields and normalised types of an object (``GET /crm/v3/properties/{objectType}``).

        Answered from the schema cache unless ``refresh``.
        """
        if refresh:
            self._schemas.forget()
        object_type, label, custom = self._object_type(object_name)
        if refresh:
            self._props.pop(object_type, None)
            self._cache.forget(_props_key(object_type))
        props = self._properties(object_type, object_name)
        fields = {name: meta.field_info() for name, meta in props.items()}
        fields.setdefault(
            "id",
            FieldInfo("Id", "id", "Record ID", nullable=False, writable=False, unique=True),
        )
        return ObjectInfo(object_name, label, fields, custom=custom)

    # -- pull ----------------------------------------------------------------------

    def pull(
        self,
        object_name: str,
        fields: Sequence[str],
        filters: RowFilter,
        cursor: Cursor,
    ) -> HubSpotPull:
        """Records of an object changed since ``cursor`` and ids archived since; lazy pages.

        Raises:
            FatalConnectorError: when a field or filter names no property of the object.
        """
        object_type, _, _ = self._object_type(object_name)
        props = dict(self._properties(object_type, object_name))
        if OBJECT_ID in props:
            props.setdefault("id", props[OBJECT_ID])
        asked = [f for f in dict.fromkeys(fields) if f.lower() != "id"]
        unknown = [f for f in asked if f.lower() not in props]
        unknown += [p.field for group in filters for p in group if p.field.lower() not in props]
        if unknown:
            raise FatalConnectorError(
                f"{object_name} has no propert{'y' if len(unknown) == 1 else 'ies'} "
                + ", ".join(f"`{u}`" for u in dict.fromkeys(unknown)),
                crm=CRM,
                object_name=object_name,
                code="UNKNOWN_PROPERTY",
            )
        stamp = stamp_property(object_type)
        if stamp.lower() not in props:
            stamp = "hs_lastmodifieddate"
        spec = PullSpec(
            object_name=object_name,
            object_type=object_type,
            props=props,
            fields=tuple((f, props[f.lower()]) for f in asked),
            filters=filters,
            cursor=cursor,
            stamp=stamp,
            lookback=timedelta(seconds=self._settings.lookback_seconds),
            deletion_interval=timedelta(seconds=self._settings.deletion_check_seconds),
            clock=self._clock,
            export_threshold=self._settings.export_threshold_rows,
            export_budget=self._export_budget,
        )
        return HubSpotPull(self._http, spec, connector=self.name)

    # -- okrsync's objects ---------------------------------------------------------

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Upsert records of one of okrsync's objects by ``okr_key``; one outcome per record."""
        return self._writer.write(obj, records)

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records of one of okrsync's objects by key, with logical field names."""
        return self._writer.read_back(obj, keys)

    def provision(self, objects: Sequence[LogicalObject], *, dry_run: bool = False) -> list[Change]:
        """Create or complete okrsync's custom objects; the changes (none on a second run)."""
        changes = self._provisioner.provision(objects, dry_run=dry_run)
        if changes and not dry_run:  # what was kept of the portal's schema may be stale now
            self._props.clear()
            self._cache.forget()
        return changes

    def physical_name(self, obj: str, logical_field: str | None = None) -> str:
        """``key_result`` → ``okr_key_result``; its field ``key`` → ``okr_key``.

        A lookup field is an association, named ``<object>_to_<parent>`` (a lookup
        to the object's own type: its label's name, ``okr_parent_objective``). Names of
        other objects and fields are returned as they are.
        """
        logical = _LOGICAL.get(obj) or _LOGICAL.get(obj.removeprefix(PREFIX))
        if logical is None:
            return logical_field if logical_field is not None else obj
        name = object_name(logical.name)
        if logical_field is None:
            return name
        field = next((f for f in logical.fields if f.name == logical_field), None)
        if field is None:
            return logical_field
        prop = field_property(field)
        if prop is not None:
            return prop
        own = association_label(logical, field)
        return own[0] if own else f"{name}_to_{object_name(field.lookup or '')}"

    # -- owners ----------------------------------------------------------------------

    def owners(self) -> list[dict[str, Any]]:
        """Every owner of the portal, active and archived: ``{id, email, teams, archived}``.

        Read with ``GET /crm/v3/owners/`` (500 a page, archived ones too) and kept
        in the schema cache for a day, as properties are.
        """
        if self._directory is None:

            def fetch() -> list[Any]:
                found: list[dict[str, Any]] = []
                for archived in (False, True):
                    after: str | None = None
                    while True:
                        page: dict[str, Any] = {"after": after} if after else {}
                        reply = self._http.call(
                            "list the owners",
                            _OWNERS,
                            "get_page",
                            limit=_OWNERS_PAGE,
                            archived=archived,
                            object_name="owners",
                            **page,
                        )
                        body = reply.body if isinstance(reply.body, dict) else {}
                        found += [
                            _owner_entry(o, archived=archived)
                            for o in body.get("results") or []
                            if isinstance(o, dict)
                        ]
                        after = ((body.get("paging") or {}).get("next") or {}).get("after")
                        if not after:
                            break
                return found

            entries = cached(self._cache, _DIRECTORY, list, fetch) or []
            self._directory = [e for e in entries if isinstance(e, dict)]
        return self._directory

    def owner_field(self, object_name: str) -> str | None:
        """``hubspot_owner_id`` where the object has that property, else ``None``."""
        object_type, _, _ = self._object_type(object_name)
        props = self._properties(object_type, object_name)
        return OWNER_PROPERTY if OWNER_PROPERTY in props else None

    def owner_emails(self, values: Collection[str]) -> dict[str, str]:
        """The e-mail of each owner id, archived owners' too (those the portal knows)."""
        by_id = {str(o.get("id")): str(o.get("email") or "") for o in self.owners()}
        return {v: by_id[v].lower() for v in values if by_id.get(v)}

    def team_members(self, team: str) -> list[str] | None:
        """E-mails of the active owners in the team ``team`` (``None``: the portal has none)."""
        wanted = team.strip().lower()
        found = False
        members: list[str] = []
        for owner in self.owners():
            if wanted not in [str(t).lower() for t in owner.get("teams") or []]:
                continue
            found = True
            if not owner.get("archived") and owner.get("email"):
                members.append(str(owner["email"]).lower())
        return sorted(set(members)) if found else None

    def resolve_owner(self, email: str) -> str | None:
        """The owner id with that e-mail address (cached; ``None`` when there is none).

        Answered from the owners already listed (:meth:`owners`) when they are.
        """
        key = email.strip().lower()
        if not key:
            return None
        if key not in self._owner_ids and self._directory is not None:
            self._owner_ids[key] = next(
                (
                    str(o["id"])
                    for o in self._directory
                    if not o.get("archived") and str(o.get("email") or "").lower() == key
                ),
                None,
            )
        if key not in self._owner_ids:
            reply = self._http.call(
                "look up an owner by e-mail",
                _OWNERS,
                "get_page",
                email=email.strip(),
                limit=100,
                archived=False,
                object_name="owners",
            )
            body = reply.body if isinstance(reply.body, dict) else {}
            found = next(
                (
                    str(o.get("id"))
                    for o in body.get("results") or []
                    if str(o.get("email") or "").strip().lower() == key
                ),
                None,
            )
            self._owner_ids[key] = found
            if found is not None:
                self._owner_emails[found] = email.strip()
            self._log().debug("hubspot.owner.resolved", found=found is not None)
        return self._owner_ids[key]

    def _owner_email(self, owner_id: str) -> str | None:
        """The e-mail address of an owner id (cached; ``None`` when unknown)."""
        if owner_id not in self._owner_emails and self._directory is not None:
            known = next((o for o in self._directory if o.get("id") == owner_id), None)
            if known is not None:
                self._owner_emails[owner_id] = str(known.get("email") or "") or None
        if owner_id not in self._owner_emails:
            try:
                reply = self._http.call(
                    "read an owner",
                    _OWNERS,
                    "get_by_id",
                    owner_id,
                    archived=False,
                    object_name="owners",
                    record=owner_id,
                )
            except FatalConnectorError as exc:
                if exc.code not in {"OBJECT_NOT_FOUND", "HTTP_404"}:
                    raise
                self._owner_emails[owner_id] = None
            else:
                body = reply.body if isinstance(reply.body, dict) else {}
                self._owner_emails[owner_id] = str(body.get("email") or "") or None
        return self._owner_emails[owner_id]

    # -- doctor --------------------------------------------------------------------

    def diagnose(self, request: DiagnosisRequest) -> list[Check]:
        """``okrsync doctor``'s checks: token and portal, quota, scopes, okrsync's objects."""
        secret = self._settings.access_token
        token = secret.get_secret_value() if secret is not None else ""

        def dry_run(objects: Sequence[LogicalObject]) -> list[Change]:
            self._schemas.forget()  # the portal as it is now
            self._props.clear()
            return self._provisioner.provision(objects, dry_run=True)

        return Doctor(
            self._http, self._settings, self.name, token, dry_run, standard=_STANDARD
        ).run(request)

    # -- usage ---------------------------------------------------------------------

    def usage(self) -> Usage:
        """Calls made (every attempt) and the daily quota HubSpot last reported."""
        return self._http.meter.usage()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()


def _owner_entry(owner: dict[str, Any], *, archived: bool) -> dict[str, Any]:
    """What the directory keeps of an owner: id, e-mail, team names, archived."""
    teams = [str(t.get("name")) for t in owner.get("teams") or [] if isinstance(t, dict)]
    return {
        "id": str(owner.get("id")),
        "email": str(owner.get("email") or ""),
        "teams": [t for t in teams if t],
        "archived": archived or bool(owner.get("archived")),
    }
