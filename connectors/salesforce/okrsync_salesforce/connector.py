"""The Salesforce connector: okrsync's ``Connector`` protocol over simple-salesforce.

Build one with :meth:`okrsync_salesforce.SalesforcePlugin.connect` or directly::

    connector = SalesforceConnector("salesforce", SalesforceSettings(auth="jwt", ...))
    pull = connector.pull("Opportunity", ["Amount", "CloseDate", "Owner.Email"], (), Cursor())
    for page in pull:
        ...
    cursor = pull.cursor

Login, budget, retries and errors live in :mod:`okrsync_salesforce._http`;
how pulls page, resume and de-duplicate in :mod:`okrsync_salesforce._pull`;
SOQL and its escaping in :mod:`okrsync_salesforce._soql`; writes in
:mod:`okrsync_salesforce._write`; provisioning in
:mod:`okrsync_salesforce._provision`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from okrsync.errors import FatalConnectorError
from okrsync_salesforce._bulk import BulkOptions
from okrsync_salesforce._doctor import Doctor
from okrsync_salesforce._errors import CRM
from okrsync_salesforce._http import Transport
from okrsync_salesforce._okr import field_name, logical_object, object_name
from okrsync_salesforce._people import OWNER_EMAIL, Teams, owner_emails
from okrsync_salesforce._provision import Provisioner
from okrsync_salesforce._pull import PullSpec, SalesforcePull
from okrsync_salesforce._schema import Schemas
from okrsync_salesforce._soql import where_clause
from okrsync_salesforce._write import Owners, Writer

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from okrsync.connector import (
        Change,
        Cursor,
        LogicalObject,
        ObjectInfo,
        RowFilter,
        SchemaCache,
        UpsertOutcome,
        Usage,
    )
    from okrsync.diagnosis import Check, DiagnosisRequest
    from okrsync_salesforce._plugin import SalesforceSettings
    from okrsync_salesforce._schema import Resolved

__all__ = ["SalesforceConnector"]

_STAMP_FIELDS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")

log = structlog.get_logger()


class SalesforceConnector:
    """One Salesforce org, implementing :class:`okrsync.connector.Connector`.

    Args:
        name: The connector instance's name (``salesforce``, ``sf-emea``).
        settings: The instance's validated settings.
        clock: "Now" (UTC), for the deletion listing's window; default the system clock.
        schema_cache: Where describes are kept across processes (default: nowhere).
    """

    def __init__(
        self,
        name: str,
        settings: SalesforceSettings,
        *,
        clock: Callable[[], datetime] | None = None,
        schema_cache: SchemaCache | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.transport = Transport(name, settings, self.clock)
        self.schemas = Schemas(self.transport, schema_cache)
        self.owners = Owners(self.transport, schema_cache)
        self.writer = Writer(self.transport, self.schemas, self.owners, settings, name)
        self.teams = Teams(self.transport, schema_cache)
        self.log = log.bind(connector=name, crm=CRM)
        self.concurrent_pulls = settings.concurrent_pulls
        self.concurrent_writes = settings.concurrent_writes
        """Pulls of different objects that may run at once (the transport is shared safely)."""

    # -- reading ----------------------------------------------------------------------

    def describe(self, object_name: str, *, refresh: bool = False) -> ObjectInfo:
        """Fields and normalised types of an object (``LookupError`` when the org has none).

        Answered from the schema cache unless ``refresh``.
        """
        if refresh:
            self.schemas.forget(object_name)
        return self.schemas.info(object_name)

    def pull(
        self,
        object_name: str,
        fields: Sequence[str],
        filters: RowFilter,
        cursor: Cursor,
    ) -> SalesforcePull:
        """Records changed since ``cursor`` and ids deleted since, fetched lazily page by page.

        Raises:
            FatalConnectorError: The object, a field or a filter does not fit the org.
        """
        try:
            raw = self.schemas.raw(object_name)
        except LookupError:
            raise FatalConnectorError(
                f"the org has no object {object_name}", crm=CRM, object_name=object_name
            ) from None
        canonical = str(raw.get("name") or object_name)
        info = self.schemas.info(canonical)

        def resolve(path: str) -> Resolved:
            try:
                return self.schemas.resolve(canonical, path)
            except (KeyError, LookupError):
                raise FatalConnectorError(
                    f"{canonical} has no field {path!r}", crm=CRM, object_name=canonical
                ) from None

        resolved = tuple((name, resolve(name)) for name in dict.fromkeys(fields))
        where = None
        if cursor.stamp is None:
            try:
                where = where_clause(filters, resolve)
            except (TypeError, ValueError) as exc:
                raise FatalConnectorError(
                    f"filter on {canonical}: {exc}", crm=CRM, object_name=canonical
                ) from None
        stamp = next((s for s in _STAMP_FIELDS if info.field(s) is not None), None)
        if stamp is None:
            raise FatalConnectorError(
                f"{canonical} has no modification stamp to pull by", crm=CRM, object_name=canonical
            )
        spec = PullSpec(
            canonical,
            resolved,
            where,
            stamp,
            soft_deletes=info.field("IsDeleted") is not None,
            archives=info.field("IsArchived") is not None,
            hard_deletes=bool(raw.get("replicateable", True)),
        )
        return SalesforcePull(
            self.transport,
            spec,
            cursor,
            lookback=timedelta(seconds=self.settings.lookback_seconds),
            deletion_check=timedelta(seconds=self.settings.deletion_check_seconds),
            page_size=self.settings.page_size,
            clock=self.clock,
            connector=self.name,
            bulk_threshold=self.settings.bulk_threshold_rows,
            bulk_options=BulkOptions(
                page_size=self.settings.page_size,
                max_retries=self.settings.max_retries,
                retry_backoff=self.settings.retry_backoff_seconds,
            ),
        )

    # -- okrsync's objects ------------------------------------------------------------

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Upsert records of one of okrsync's objects by ``OKR_Key__c``; one outcome each."""
        return self.writer.write(obj, records)

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records of one of okrsync's objects by key, with logical field names."""
        return self.writer.read_back(obj, keys)

    def provision(self, objects: Sequence[LogicalObject], *, dry_run: bool = False) -> list[Change]:
        """Create missing objects, fields and access (idempotent); a dry run only lists them."""
        return Provisioner(self.transport, self.schemas, self.name).run(objects, dry_run=dry_run)

    def physical_name(self, obj: str, logical_field: str | None = None) -> str:
        """``key_result`` → ``OKR_Key_Result__c``, ``forecast_score`` → ``Forecast_Score__c``."""
        logical = logical_object(obj)
        if logical_field is None:
            return object_name(obj)
        for item in logical.fields:
            if item.name == logical_field:
                return field_name(item)
        raise ValueError(f"okrsync's {obj} has no field {logical_field!r}")

    def resolve_owner(self, email: str) -> str | None:
        """The id of the active user with that e-mail address (cached), if any."""
        return self.owners.resolve(email)

    def diagnose(self, request: DiagnosisRequest) -> list[Check]:
        """``okrsync doctor``'s checks: login, API version, quota, okrsync's objects and access."""
        return Doctor(self.transport, self.schemas, self.settings, self.name).run(request)

    # -- record owners (okrsync.connector.RecordOwners) ---------------------------------

    def owner_field(self, object_name: str) -> str | None:
        """``Owner.Email`` where the object's records have an owner (``OwnerId``), else ``None``.

        Raises:
            LookupError: when the org has no such object.
        """
        owner = self.schemas.info(object_name).field("OwnerId")
        return OWNER_EMAIL if owner is not None and owner.reference_to else None

    def owner_emails(self, values: Collection[str]) -> dict[str, str]:
        """Pulled ``Owner.Email`` values are the owners' e-mail addresses already."""
        return owner_emails(values)

    def team_members(self, team: str) -> list[str] | None:
        """Active users of the role or public group ``team`` (``None``: the org has neither)."""
        return self.teams.members(team)

    def usage(self) -> Usage:
        """Calls made and ``DailyApiRequests`` remaining/max as last reported."""
        return self.transport.usage()

    def close(self) -> None:
        """Release the connections."""
        self.transport.close()
