"""Write-back: upserts of okrsync's records by external id, and reading them back.

:meth:`Writer.write` sends ``PATCH composite/sobjects/{type}/OKR_Key__c`` with at
most ``batch_size`` records and ``allOrNone: false``; Salesforce answers one
result per record, in order. Records refused with ``UNABLE_TO_LOCK_ROW`` are
sent again (as often and after the same waits as the toolkit's retry policy
allows a call) and reported retriable if still locked;
every other refusal (``DUPLICATE_VALUE``, ``DUPLICATE_EXTERNAL_ID``, a bad
picklist value…) is reported for its record. A batch that fails as a whole
after the transport's retries yields a retriable failure for each of its
records, not an exception.

An objective whose parent is written in the same call goes in a later request
than its parent (see :func:`_parents_first`).

Values: percent fields go as 0–100, lookups as ``{"Objective__r": {"OKR_Key__c":
key}}``, the owner as ``OwnerId`` (resolved from the e-mail, left out when
unknown), rep-owned fields never. Fields the org does not have (not provisioned
yet) are left out and logged.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from okrsync.connector import NoSchemaCache, UpsertOutcome, UpsertStatus
from okrsync.errors import FatalConnectorError, RetriableConnectorError
from okrsync.kit import RETRY_EVENT, run_each
from okrsync_salesforce._errors import CRM, LOCKED, RETRIABLE_CODES
from okrsync_salesforce._okr import (
    KEY_FIELD,
    LONG_TEXT_LENGTH,
    NAME_LENGTH,
    TEXT_LENGTH,
    field_name,
    object_name,
    relationship_name,
)
from okrsync_salesforce._soql import quote, select
from okrsync_salesforce._values import dig, to_python

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from okrsync.connector import LogicalField, LogicalObject, SchemaCache
    from okrsync_salesforce._http import Transport
    from okrsync_salesforce._plugin import SalesforceSettings
    from okrsync_salesforce._schema import Schemas

__all__ = ["Owners", "Writer"]

_SOQL_KEYS_CHARS = 8000
"""Characters of quoted keys per ``IN (…)`` (the query travels in the URL)."""
_SOQL_KEYS = 200

log = structlog.get_logger()


def _chunks(values: Sequence[str], budget: int = _SOQL_KEYS_CHARS) -> Iterator[list[str]]:
    """Values in groups whose quoted form stays within ``budget`` characters."""
    chunk: list[str] = []
    size = 0
    for value in values:
        length = len(quote(value)) + 2
        if chunk and (size + length > budget or len(chunk) >= _SOQL_KEYS):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += length
    if chunk:
        yield chunk


_OWNERS_KEY = "owners/by-email"
"""The schema-cache entry of the e-mail → user id map."""


class Owners:
    """E-mail → active user id, asked once per address (misses remembered too).

    What was found is kept in the schema cache for a day, as HubSpot's owners
    directory is: a fresh process does not ask again for the owners of the
    records it writes (a rep added meanwhile is found the next day).

    Args:
        transport: How calls reach Salesforce.
        cache: Where the addresses found are kept for a day (default: nowhere).
    """

    def __init__(self, transport: Transport, cache: SchemaCache | None = None) -> None:
        self.transport = transport
        self.cache = cache or NoSchemaCache()
        kept = self.cache.get(_OWNERS_KEY)
        self._known: dict[str, str | None] = (
            {str(k): (str(v) if v is not None else None) for k, v in kept.items()}
            if isinstance(kept, dict)
            else {}
        )

    def resolve(self, email: str) -> str | None:
        """The id of the active user with that e-mail address, if any."""
        self.resolve_many([email])
        return self._known.get(email.strip().lower())

    def resolve_many(self, emails: Iterable[str]) -> None:
        """Look up every address not asked yet, in as few queries as fit."""
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()} - set(self._known))
        for chunk in _chunks(wanted):
            listed = ", ".join(quote(e) for e in chunk)
            soql = select(
                ["Id", "Email"],
                "User",
                where=f"Email IN ({listed}) AND IsActive = true",
                order_by="CreatedDate, Id",
            )
            answer = self.transport.query("resolve owners", soql, object_name="User")
            found: dict[str, str] = {}
            for row in answer.get("records") or []:
                found.setdefault(str(row.get("Email") or "").lower(), str(row.get("Id")))
            for email in chunk:
                self._known[email] = found.get(email)
        if wanted:
            self.cache.put(_OWNERS_KEY, dict(self._known))

    def get(self, email: str) -> str | None:
        """An address already resolved (``None`` when unknown or not asked)."""
        return self._known.get(email.strip().lower())


class Writer:
    """Upserts and reads back okrsync's objects.

    Args:
        transport: How calls reach Salesforce.
        schemas: Describe results (which fields the org has).
        owners: E-mail → user id.
        settings: Batch size and retries.
        connector: The instance's name, for the logs.
    """

    def __init__(
        self,
        transport: Transport,
        schemas: Schemas,
        owners: Owners,
        settings: SalesforceSettings,
        connector: str,
    ) -> None:
        self.transport = transport
        self.schemas = schemas
        self.owners = owners
        self.settings = settings
        self.connector = connector

    # -- writing ------------------------------------------------------------------------

    def _existing_fields(self, sobject: str) -> set[str]:
        try:
            info = self.schemas.info(sobject)
        except LookupError:
            raise FatalConnectorError(
                f"{sobject} does not exist in the org: run `okrsync provision` first",
                crm=CRM,
                object_name=sobject,
            ) from None
        return set(info.fields)

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Upsert ``records`` (logical names) in batches; one outcome per record, in order."""
        sobject = object_name(obj.name)
        bound = log.bind(connector=self.connector, crm=CRM, object=sobject)
        if not records:
            return []
        existing = self._existing_fields(sobject)
        missing = sorted(
            field_name(f)
            for f in obj.fields
            if not f.rep_owned and f.type != "owner" and field_name(f).lower() not in existing
        )
        if missing:
            bound.warning("salesforce.write.fields_missing", fields=missing)
        owner = next((f for f in obj.fields if f.type == "owner"), None)
        if owner is not None:
            self.owners.resolve_many(
                str(r[owner.name]) for r in records if isinstance(r.get(owner.name), str)
            )
        outcomes: list[UpsertOutcome | None] = [None] * len(records)
        ready: list[tuple[int, str, dict[str, Any]]] = []
        for index, record in enumerate(records):
            key = record.get("key")
            if not isinstance(key, str) or not key.strip():
                outcomes[index] = UpsertOutcome(
                    str(key or ""), UpsertStatus.FAILED, code="MISSING_KEY", message="no key"
                )
                continue
            try:
                body = self._body(obj, sobject, record, existing)
            except (TypeError, ValueError) as exc:
                outcomes[index] = UpsertOutcome(
                    key, UpsertStatus.FAILED, code="INVALID_VALUE", message=str(exc)
                )
                continue
            ready.append((index, key, body))
        size = self.settings.batch_size
        for wave in _parents_first(obj, records, ready):
            # a wave's records point at none of each other: its batches may go at once
            batches = [wave[start : start + size] for start in range(0, len(wave), size)]
            run_each(
                [partial(self._send_batch, sobject, batch, bound, outcomes) for batch in batches],
                name="okrsync-salesforce-upsert",
                width=self.settings.concurrent_writes,
            )
        done = [o for o in outcomes if o is not None]
        bound.info(
            "salesforce.write.completed",
            records=len(records),
            created=sum(o.status is UpsertStatus.CREATED for o in done),
            updated=sum(o.status is UpsertStatus.UPDATED for o in done),
            failed=sum(o.status is UpsertStatus.FAILED for o in done),
        )
        return done

    def _send_batch(
        self,
        sobject: str,
        batch: list[tuple[int, str, dict[str, Any]]],
        bound: Any,
        outcomes: list[UpsertOutcome | None],
    ) -> None:
        for index, outcome in self._batch(sobject, batch, bound):
            outcomes[index] = outcome

    def _body(
        self, obj: LogicalObject, sobject: str, record: dict[str, Any], existing: set[str]
    ) -> dict[str, Any]:
        key = str(record["key"])
        body: dict[str, Any] = {"attributes": {"type": sobject}, KEY_FIELD: key}
        names = {f.name for f in obj.fields}
        title = record.get("title") if "title" in names else None
        body["Name"] = str(title or key)[:NAME_LENGTH]
        for item in obj.fields:
            if item.rep_owned or item.type == "key" or item.name not in record:
                continue
            value = record[item.name]
            if item.type == "owner":
                owner = self.owners.get(value) if isinstance(value, str) else None
                if owner is not None:
                    body["OwnerId"] = owner
                continue
            name = field_name(item)
            if name.lower() not in existing:
                continue
            if item.type == "lookup":
                if value is None or value == "":
                    body[name] = None
                else:
                    body[relationship_name(item)] = {KEY_FIELD: str(value)}
                continue
            body[name] = _wire_value(item, value)
        return body

    def _batch(
        self, sobject: str, batch: list[tuple[int, str, dict[str, Any]]], bound: Any
    ) -> list[tuple[int, UpsertOutcome]]:
        """Send one batch; locked records again (bounded); one outcome per record."""
        path = f"composite/sobjects/{sobject}/{KEY_FIELD}"
        results: list[tuple[int, UpsertOutcome]] = []
        pending = batch
        attempt = 0
        policy = self.transport.retry
        while pending:
            body = {"allOrNone": False, "records": [item[2] for item in pending]}
            try:
                answer = self._send(sobject, path, body, len(pending))
            except (RetriableConnectorError, FatalConnectorError) as exc:
                bound.warning("salesforce.write.batch_failed", records=len(pending), error=str(exc))
                retriable = isinstance(exc, RetriableConnectorError)
                results.extend(
                    (
                        index,
                        UpsertOutcome(
                            key,
                            UpsertStatus.FAILED,
                            code=exc.code or "BATCH_FAILED",
                            message=str(exc),
                            retriable=retriable,
                        ),
                    )
                    for index, key, _ in pending
                )
                return results
            locked: list[tuple[int, str, dict[str, Any]]] = []
            for item, result in zip(pending, answer, strict=True):
                index, key, _ = item
                outcome = _outcome(key, result)
                if outcome.code == LOCKED and attempt < policy.max_retries:
                    locked.append(item)
                    continue
                results.append((index, outcome))
            bound.info(
                "salesforce.write.batch",
                records=len(pending),
                locked=len(locked),
                attempt=attempt + 1,
            )
            pending = locked
            attempt += 1
            if pending:
                delay = policy.wait(attempt)
                bound.warning(
                    RETRY_EVENT,
                    what=f"upsert {len(pending)} locked {sobject}",
                    attempt=attempt,
                    attempts=policy.max_retries + 1,
                    code=LOCKED,
                    sleep_seconds=round(delay, 3),
                )
                policy.sleep(delay)
        return results

    def _send(self, sobject: str, path: str, body: dict[str, Any], count: int) -> list[Any]:
        """One composite upsert; its per-record results (as many as records sent)."""
        answer = self.transport.rest(
            f"upsert {count} {sobject}", path, method="PATCH", json=body, object_name=sobject
        )
        if not isinstance(answer, list) or len(answer) != count:
            got = len(answer) if isinstance(answer, list) else type(answer).__name__
            raise RetriableConnectorError(
                f"upsert {sobject}: expected {count} results, got {got}",
                crm=CRM,
                object_name=sobject,
            )
        return answer

    # -- reading back -------------------------------------------------------------------

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records by key with logical names; keys the org lacks are absent."""
        sobject = object_name(obj.name)
        wanted = {k.lower(): k for k in keys if isinstance(k, str) and k}
        if not wanted:
            return {}
        columns = self._columns(obj, self._existing_fields(sobject))
        names = ["Id", KEY_FIELD, *(".".join(path) for _, path in columns)]
        if any(f.name == "title" for f in obj.fields):
            names.append("Name")
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(wanted.values()))):
            listed = ", ".join(quote(k) for k in chunk)
            soql = select(names, sobject, where=f"{KEY_FIELD} IN ({listed})")
            for rows in self.transport.query_rows(
                f"read back {sobject}", soql, object_name=sobject
            ):
                for row in rows:
                    key = wanted.get(str(row.get(KEY_FIELD) or "").lower())
                    if key is not None:
                        out[key] = self._logical(obj, row, columns)
        return out

    @staticmethod
    def _columns(
        obj: LogicalObject, existing: set[str]
    ) -> list[tuple[LogicalField, tuple[str, ...]]]:
        """Each logical field the org has, with its path in a query record."""
        columns: list[tuple[LogicalField, tuple[str, ...]]] = []
        for item in obj.fields:
            if item.type == "key":
                continue
            if item.type == "owner":
                columns.append((item, ("Owner", "Email")))
            elif field_name(item).lower() not in existing:
                continue
            elif item.type == "lookup":
                columns.append((item, (relationship_name(item), KEY_FIELD)))
            else:
                columns.append((item, (field_name(item),)))
        return columns

    @staticmethod
    def _logical(
        obj: LogicalObject,
        row: dict[str, Any],
        columns: list[tuple[LogicalField, tuple[str, ...]]],
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"key": row.get(KEY_FIELD)}
        for item, path in columns:
            value = dig(row, path)
            try:
                record[item.name] = _logical_value(item, value)
            except (TypeError, ValueError):
                record[item.name] = None
        if any(f.name == "title" for f in obj.fields) and not record.get("title"):
            record["title"] = row.get("Name")
        return record


def _parents_first(
    obj: LogicalObject,
    records: Sequence[dict[str, Any]],
    ready: list[tuple[int, str, dict[str, Any]]],
) -> list[list[tuple[int, str, dict[str, Any]]]]:
    """``ready`` in waves: records whose parent (same object) is in this write come after it.

    Salesforce resolves a reference by external id before it writes any record
    of a request, so a child cannot name a parent created in the same request.
    Without a lookup to its own object, an object's records go in one wave.
    """
    own = next((f for f in obj.fields if f.type == "lookup" and f.lookup == obj.name), None)
    if own is None:
        return [ready] if ready else []
    parent_of = {key: str(records[index].get(own.name) or "") for index, key, _ in ready}
    depth: dict[str, int] = {}
    for key, parent in parent_of.items():
        chain = [key]
        above = parent
        while above in parent_of and above not in chain and above not in depth:
            chain.append(above)
            above = parent_of[above]
        base = depth[above] + 1 if above in depth else 0
        for offset, name in enumerate(reversed(chain)):
            depth.setdefault(name, base + offset)
    waves: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
    for item in ready:
        waves.setdefault(depth[item[1]], []).append(item)
    return [waves[level] for level in sorted(waves)]


def _outcome(key: str, result: Any) -> UpsertOutcome:
    if not isinstance(result, dict):
        return UpsertOutcome(
            key, UpsertStatus.FAILED, code="BAD_RESPONSE", message=repr(result)[:200]
        )
    if result.get("success"):
        status = UpsertStatus.CREATED if result.get("created") else UpsertStatus.UPDATED
        return UpsertOutcome(key, status, id=str(result.get("id") or "") or None)
    errors = result.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
    message = str(first.get("message") or "")
    fields = first.get("fields") or []
    if fields:
        message += f" (fields: {', '.join(str(f) for f in fields)})"
    return UpsertOutcome(
        key, UpsertStatus.FAILED, code=code, message=message, retriable=code in RETRIABLE_CODES
    )


def _finite(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    number = float(value)
    return number if math.isfinite(number) else None


def _wire_date(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value)).isoformat()


def _wire_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00.000Z"
    return str(value)


def _wire_percent(value: Any) -> float | None:
    number = _finite(value)
    return None if number is None else round(number * 100, 6)


_WIRE: dict[str, Callable[[Any], Any]] = {
    "number": _finite,
    "percent": _wire_percent,
    "date": _wire_date,
    "datetime": _wire_datetime,
    "long_text": lambda value: str(value)[:LONG_TEXT_LENGTH],
    "text": lambda value: str(value)[:TEXT_LENGTH],
    "picklist": lambda value: str(value)[:TEXT_LENGTH],
}


def _wire_value(item: LogicalField, value: Any) -> Any:
    """A logical value as Salesforce's JSON expects it (``ValueError`` when it cannot be)."""
    if value is None:
        return None
    convert = _WIRE.get(item.type)
    return value if convert is None else convert(value)


def _logical_value(item: LogicalField, value: Any) -> Any:
    """A Salesforce value read back as the logical field's value."""
    kind = item.type
    if value is None:
        return None
    if kind == "percent":
        number = to_python("percent", value)
        return None if number is None else round(float(number) / 100, 6)
    if kind == "number":
        return to_python("double", value)
    if kind in {"date", "datetime"}:
        return to_python(kind, value)
    return to_python("string", value)
