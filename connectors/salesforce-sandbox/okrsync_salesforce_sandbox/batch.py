"""sObject Collections: batch writes with one result per record, allOrNone and partial faults.

Every record of a batch is validated before any is written, so ``allOrNone``
rolls back by not writing; records at the indices a partial fault picked fail
with ``UNABLE_TO_LOCK_ROW``. A value the JSON deserializer cannot read
(``JSON_PARSER_ERROR``) fails the whole request, as in Salesforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.errors import SalesforceError
from okrsync_salesforce_sandbox.ids import is_id, normalize_id
from okrsync_salesforce_sandbox.values import read_value

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from okrsync_salesforce_sandbox.org import Org, Prepared
    from okrsync_salesforce_sandbox.schema import SField, SObjectType

__all__ = ["Outcome", "delete_batch", "upsert_batch", "write_batch"]

Entry = tuple["SObjectType", dict[str, Any], str | None] | SalesforceError
"""A record to write: ``(object, body, id or None to create)``, or its error already known."""

_ROLLED_BACK = SalesforceError(
    400,
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    [],
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one record of a batch."""

    record_id: str | None
    created: bool
    error: SalesforceError | None

    def deletion(self) -> dict[str, Any]:
        """The record's entry in a collection delete answer (which always names the id)."""
        errors = [self.error.record_error()] if self.error else []
        return {"id": self.record_id, "success": self.error is None, "errors": errors}

    def result(self, *, with_created: bool) -> dict[str, Any]:
        """The record's entry in an sObject Collections answer."""
        if self.error is not None:
            return {"success": False, "errors": [self.error.record_error()]}
        out: dict[str, Any] = {"id": self.record_id, "success": True, "errors": []}
        if with_created:
            out["created"] = self.created
        return out


def _locked(record_id: str) -> SalesforceError:
    return SalesforceError(
        400,
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id}",
        [],
    )


def _roll_back(outcomes: list[Outcome], all_or_none: bool) -> list[Outcome] | None:
    """With allOrNone and a failure: every result, the good ones marked rolled back."""
    if not all_or_none or all(o.error is None for o in outcomes):
        return None
    return [o if o.error else Outcome(None, created=False, error=_ROLLED_BACK) for o in outcomes]


def write_batch(
    org: Org,
    entries: Sequence[Entry],
    *,
    user_id: str,
    all_or_none: bool,
    failing: Iterable[int] = (),
    key_field: str | None = None,
) -> list[Outcome]:
    """Validate every entry, then write the valid ones (none, under allOrNone, if any fails)."""
    failing = set(failing)
    outcomes: list[Outcome] = []
    prepared: list[Prepared] = []
    claimed: dict[tuple[str, str, str], int] = {}
    with org.lock:
        now = org.clock()
        for index, entry in enumerate(entries):
            if isinstance(entry, SalesforceError):
                outcomes.append(Outcome(None, created=False, error=entry))
                continue
            obj, body, record_id = entry
            try:
                ready = org.prepare(
                    obj, body, record_id=record_id, user_id=user_id, now=now, key_field=key_field
                )
                _claim(ready, claimed, index)
            except SalesforceError as exc:
                if exc.code == "JSON_PARSER_ERROR":
                    raise
                outcomes.append(Outcome(None, created=False, error=exc))
                continue
            if index in failing:
                outcomes.append(Outcome(None, created=False, error=_locked(ready.record_id)))
                continue
            prepared.append(ready)
            outcomes.append(Outcome(ready.record_id, created=ready.created, error=None))
        rolled_back = _roll_back(outcomes, all_or_none)
        if rolled_back is not None:
            return rolled_back
        org.apply(prepared)
    return outcomes


def _claim(ready: Prepared, claimed: dict[tuple[str, str, str], int], index: int) -> None:
    """Refuse a unique value another record of the same batch already takes."""
    for name, value in ready.values.items():
        item = ready.sobject.fields[name.lower()]
        if item.column.unique and value is not None and item.name != "Id":
            key = (ready.sobject.name, item.name, str(value).lower())
            if claimed.setdefault(key, index) != index:
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {item.name} duplicates value on another record "
                    "of this request",
                    [],
                )


def _keyed(
    obj: SObjectType, item: SField, record: Any
) -> tuple[Any, dict[str, Any]] | SalesforceError:
    """The external id value and body of one upsert record, or its error."""
    if not isinstance(record, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR", "a record must be a JSON object")
    attributes = record.get("attributes")
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if kind and str(kind).lower() != obj.name.lower():
        return SalesforceError(
            400, "INVALID_TYPE", f"Record type {kind} does not match {obj.name}", []
        )
    body = {k: v for k, v in record.items() if k != "attributes"}
    raw = next((v for k, v in body.items() if k.lower() == item.name.lower()), None)
    if raw is None or raw == "":
        return SalesforceError(400, "MISSING_ARGUMENT", f"{item.name} not specified", [])
    try:
        return read_value(item, raw), body
    except SalesforceError as exc:
        if exc.code == "JSON_PARSER_ERROR":
            raise
        return exc


def upsert_batch(
    org: Org,
    obj: SObjectType,
    item: SField,
    records: Sequence[Any],
    *,
    user_id: str,
    all_or_none: bool,
    failing: Iterable[int] = (),
) -> list[Outcome]:
    """Upsert records of ``obj`` matched on the external id ``item``, one outcome each."""
    with org.lock:
        keyed = [_keyed(obj, item, record) for record in records]
        counts: dict[str, int] = {}
        for entry in keyed:
            if not isinstance(entry, SalesforceError):
                text = str(entry[0]).lower()
                counts[text] = counts.get(text, 0) + 1
        entries: list[Entry] = []
        for entry in keyed:
            if isinstance(entry, SalesforceError):
                entries.append(entry)
                continue
            key, body = entry
            found = org.find_by(obj, item, key)
            if counts[str(key).lower()] > 1:
                entries.append(
                    SalesforceError(
                        400,
                        "DUPLICATE_EXTERNAL_ID",
                        f"Duplicate external id specified: {key}",
                        [item.name],
                    )
                )
            elif len(found) > 1:
                entries.append(
                    SalesforceError(
                        400,
                        "DUPLICATE_EXTERNAL_ID",
                        f"{item.name}: more than one record found for external id field: "
                        f"[{', '.join(found)}]",
                        [item.name],
                    )
                )
            elif item.name == "Id" and not found:
                entries.append(
                    SalesforceError(
                        400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
                    )
                )
            else:
                entries.append((obj, body, found[0] if found else None))
        return write_batch(
            org,
            entries,
            user_id=user_id,
            all_or_none=all_or_none,
            failing=failing,
            key_field=item.name,
        )


def delete_batch(
    org: Org, ids: Sequence[str], *, user_id: str, all_or_none: bool, failing: Iterable[int] = ()
) -> list[Outcome]:
    """Soft-delete records by id (any objects), one outcome each."""
    failing = set(failing)
    outcomes: list[Outcome] = []
    targets: list[tuple[SObjectType, str]] = []
    with org.lock:
        for index, raw in enumerate(ids):
            obj = org.schema.by_prefix(raw[:3]) if is_id(raw) else None
            try:
                if obj is None:
                    _malformed(raw)
                record_id = str(org.row(obj, normalize_id(raw), fields=["Id"])["Id"])  # type: ignore[arg-type]
            except SalesforceError as exc:
                outcomes.append(Outcome(raw, created=False, error=exc))
                continue
            if index in failing:
                outcomes.append(Outcome(record_id, created=False, error=_locked(record_id)))
                continue
            outcomes.append(Outcome(record_id, created=False, error=None))
            targets.append((obj, record_id))  # type: ignore[arg-type]
        rolled_back = _roll_back(outcomes, all_or_none)
        if rolled_back is not None:
            return [
                Outcome(o.record_id or old.record_id, created=False, error=o.error)
                for o, old in zip(rolled_back, outcomes, strict=True)
            ]
        for obj, record_id in targets:
            org.delete(obj, record_id, user_id)
    return outcomes


def _malformed(raw: str) -> None:
    raise SalesforceError(400, "MALFORMED_ID", f"malformed id {raw}", [])
