"""Writing okrsync's objects: batch upserts by ``okr_key``, associations, and reading them back.

Each batch (at most ``batch_size`` inputs) ends in one outcome per record: a
200 makes every record created or updated (HubSpot's ``new`` flag), a 207
maps each error back to its inputs through the ids in its ``context``, a 400
is split in halves until the invalid records are alone, and a batch that
still fails after the retries makes each of its records FAILED and retriable
— so one batch failing never loses the outcomes of the others. Lookups become
associations (v4 batch create) once the upserts are done, the parents found
by ``okr_key``. A lookup is one parent: a record that existed before (a key
result moved to another objective) first has its associations of that type
read, and those to any other parent are removed (v4 batch archive), so it
ends linked to exactly one. The links made are remembered in the connector's
schema cache (child id → parent key), so a record written again under the
same parent is not read or linked again: a warm write-back costs its upserts
only. What the cache forgets (after a day) is checked again, harmlessly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from okrsync.connector import NoSchemaCache, UpsertOutcome, UpsertStatus
from okrsync.errors import FatalConnectorError, RetriableConnectorError
from okrsync.kit import run_each
from okrsync_hubspot._errors import CRM, retriable_category
from okrsync_hubspot._okr import (
    KEY_PROPERTY,
    association_label,
    check_value,
    field_property,
    logical_value,
    object_name,
    wire_value,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from okrsync.connector import LogicalField, LogicalObject, SchemaCache
    from okrsync_hubspot._http import Transport
    from okrsync_hubspot._schemas import SchemaInfo, Schemas

__all__ = ["Writer"]

_BATCH = "crm.objects.batch_api"
_ASSOCIATIONS = "crm.associations.v4.batch_api"
_LABELS = "crm.associations.v4.schema.definitions_api"
READ_LIMIT = 100
LINKS_KEPT = 50_000
"""Most links (child id → parent key) remembered per object and lookup field: every
contribution of 500 key results × 100 owners; check-ins add links every week, and the
newest are kept."""
_PER_RECORD_CODES = frozenset({"VALIDATION_ERROR", "CONFLICT", "HTTP_400", "HTTP_409"})
"""Whole-batch refusals caused by some of its records (found by splitting the batch)."""


@dataclass(frozen=True, slots=True)
class _Input:
    index: int
    key: str
    properties: dict[str, str]


_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _failed(
    key: str, code: str, message: str, *, retriable: bool = False, ident: str | None = None
) -> UpsertOutcome:
    return UpsertOutcome(
        key, UpsertStatus.FAILED, id=ident, code=code, message=message, retriable=retriable
    )


def _inputs_of(
    error: dict[str, Any], chunk: Sequence[_Input], by_key: dict[str, _Input]
) -> list[_Input]:
    """The inputs a batch error names (by id value, or by position)."""
    hit = [by_key[k] for k in _context_values(error, "ids", "id") if k in by_key]
    hit += [
        chunk[int(p)]
        for p in _context_values(error, "inputIndex")
        if p.isdigit() and int(p) < len(chunk)
    ]
    return hit


def _context_values(error: dict[str, Any], *names: str) -> list[str]:
    context = error.get("context") or {}
    found: list[str] = []
    for name in names:
        values = context.get(name) if isinstance(context, dict) else None
        if isinstance(values, list):
            found.extend(str(v) for v in values)
        elif values is not None:
            found.append(str(values))
    return found


class Writer:
    """Upserts and reads okrsync's objects in one portal."""

    def __init__(
        self,
        transport: Transport,
        schemas: Schemas,
        *,
        batch_size: int,
        connector: str,
        concurrent: int = 1,
        owner_id: Callable[[str], str | None],
        owner_email: Callable[[str], str | None],
        cache: SchemaCache | None = None,
    ) -> None:
        self._http = transport
        self._schemas = schemas
        self._cache = cache or NoSchemaCache()
        self._batch_size = batch_size
        self._concurrent = concurrent
        """Upsert batches sent at once (they are independent: links are made after all)."""
        self._connector = connector
        self._owner_id = owner_id
        self._owner_email = owner_email
        self._ids: dict[str, dict[str, str]] = {}
        """HubSpot ids by ``okr_key``, per physical object (from writes and reads)."""
        self._types: dict[tuple[str, str, str], tuple[str, int]] = {}
        """Association category and type id, by (from type, to type, lookup field)."""

    def _log(self, obj: str) -> Any:
        return structlog.get_logger("okrsync.hubspot").bind(
            crm=CRM, connector=self._connector, object=obj
        )

    def schema(self, obj: LogicalObject) -> SchemaInfo:
        """The custom object of ``obj``, checked to hold every property okrsync writes.

        Raises:
            FatalConnectorError: when the object or some properties are missing (not provisioned).
        """
        name = object_name(obj.name)
        info = self._schemas.get(name)
        missing = (
            [p for f in obj.fields if (p := field_property(f)) and p not in info.properties]
            if info is not None
            else []
        )
        if info is None or missing:
            what = f"lacks the properties {', '.join(missing)}" if missing else "does not exist"
            raise FatalConnectorError(
                f"the HubSpot custom object `{name}` {what}: run `okrsync provision`",
                crm=CRM,
                object_name=name,
                code="NOT_PROVISIONED",
            )
        return info

    # -- write -------------------------------------------------------------------

    def write(self, obj: LogicalObject, records: Sequence[dict[str, Any]]) -> list[UpsertOutcome]:
        """Upsert ``records`` (logical field names); one outcome per record, in order."""
        if not records:
            return []
        info = self.schema(obj)
        outcomes: list[UpsertOutcome | None] = [None] * len(records)
        inputs: list[_Input] = []
        keys: set[str] = set()
        for index, record in enumerate(records):
            key = record.get("key")
            if not isinstance(key, str) or not key.strip():
                outcomes[index] = _failed(str(key or ""), "MISSING_KEY", "the record has no key")
                continue
            if key in keys:
                outcomes[index] = _failed(
                    key, "DUPLICATE_KEY", "the key appears more than once in this write"
                )
                continue
            keys.add(key)
            properties, problem = self._properties(obj, record)
            if problem:
                outcomes[index] = _failed(key, "INVALID_VALUE", problem)
                continue
            inputs.append(_Input(index, key, properties))
        run_each(
            [
                partial(self._upsert, obj, info, chunk, outcomes)
                for chunk in _chunks(inputs, self._batch_size)
            ],
            name="okrsync-hubspot-upsert",
            width=self._concurrent,
        )
        done = [o if o is not None else _failed("", "NO_RESULT", "not written") for o in outcomes]
        self._associate(obj, info, records, done)
        log = self._log(info.name)
        counts = {s.value: sum(1 for o in done if o.status is s) for s in UpsertStatus}
        log.info("hubspot.write.completed", records=len(records), **counts)
        return done

    def _properties(
        self, obj: LogicalObject, record: dict[str, Any]
    ) -> tuple[dict[str, str], str | None]:
        properties: dict[str, str] = {}
        for field in obj.fields:
            name = field_property(field)
            if field.rep_owned or name is None or field.type == "key" or field.name not in record:
                continue
            value = record[field.name]
            if field.type == "owner":
                found = self._owner_id(str(value)) if value else None
                properties[name] = found or ""
                continue
            problem = check_value(field, value)
            if problem:
                return {}, f"{field.name}: {problem}"
            properties[name] = wire_value(field, value)
        return properties, None

    def _upsert(
        self,
        obj: LogicalObject,
        info: SchemaInfo,
        chunk: Sequence[_Input],
        outcomes: list[UpsertOutcome | None],
    ) -> None:
        log = self._log(info.name)
        body = {
            "inputs": [
                {"id": i.key, "idProperty": KEY_PROPERTY, "properties": i.properties} for i in chunk
            ]
        }
        try:
            reply = self._http.call(
                f"upsert {len(chunk)} {obj.plural}",
                _BATCH,
                "upsert",
                info.object_type_id,
                body,
                object_name=info.name,
                record=chunk[0].key if len(chunk) == 1 else "",
            )
        except RetriableConnectorError as exc:
            log.warning("hubspot.write.batch_failed", inputs=len(chunk), code=exc.code)
            for item in chunk:
                outcomes[item.index] = _failed(item.key, exc.code, str(exc), retriable=True)
            return
        except FatalConnectorError as exc:
            if exc.code not in _PER_RECORD_CODES:
                raise
            if len(chunk) > 1:
                log.info("hubspot.write.batch_split", inputs=len(chunk), code=exc.code)
                half = len(chunk) // 2
                self._upsert(obj, info, chunk[:half], outcomes)
                self._upsert(obj, info, chunk[half:], outcomes)
                return
            outcomes[chunk[0].index] = _failed(chunk[0].key, exc.code, str(exc))
            return
        self._outcomes(info, chunk, reply.body if isinstance(reply.body, dict) else {}, outcomes)
        log.debug("hubspot.write.batch", inputs=len(chunk), status=reply.status)

    def _outcomes(
        self,
        info: SchemaInfo,
        chunk: Sequence[_Input],
        body: dict[str, Any],
        outcomes: list[UpsertOutcome | None],
    ) -> None:
        by_key = {i.key: i for i in chunk}
        ids = self._ids.setdefault(info.name, {})
        unmatched: list[dict[str, Any]] = []
        for result in body.get("results") or []:
            key = str((result.get("properties") or {}).get(KEY_PROPERTY) or "")
            item = by_key.get(key)
            if item is None or outcomes[item.index] is not None:
                unmatched.append(result)
                continue
            outcomes[item.index] = self._written(item.key, result)
            ids[item.key] = str(result.get("id"))
        for error in body.get("errors") or []:
            code = str(error.get("category") or "ERROR")
            message = self._http.redactor.text(str(error.get("message") or ""))
            for item in _inputs_of(error, chunk, by_key):
                if outcomes[item.index] is None:
                    outcomes[item.index] = _failed(
                        item.key, code, message, retriable=retriable_category(code)
                    )
        pending = [i for i in chunk if outcomes[i.index] is None]
        if len(unmatched) == len(pending):  # results without their key: in input order
            for item, result in zip(pending, unmatched, strict=True):
                outcomes[item.index] = self._written(item.key, result)
                ids[item.key] = str(result.get("id"))
        for item in chunk:
            if outcomes[item.index] is None:
                outcomes[item.index] = _failed(
                    item.key, "NO_RESULT", "HubSpot returned no result for it", retriable=True
                )

    @staticmethod
    def _written(key: str, result: dict[str, Any]) -> UpsertOutcome:
        status = UpsertStatus.CREATED if result.get("new") else UpsertStatus.UPDATED
        return UpsertOutcome(key, status, id=str(result.get("id")))

    # -- associations ----------------------------------------------------------

    def _association_type(
        self, obj: LogicalObject, field: LogicalField, child: SchemaInfo, parent: SchemaInfo
    ) -> tuple[str, int]:
        """Category and type id of the association a lookup is written as.

        A lookup to another object uses the association defined between the two
        types; a lookup to the object's own type uses its paired label (the
        direction child → parent, e.g. "Parent objective").
        """
        own = association_label(obj, field)
        known = child.associations.get(parent.object_type_id)
        if own is None and known is not None:
            return "USER_DEFINED", known
        memo = (child.object_type_id, parent.object_type_id, field.name)
        if memo in self._types:
            return self._types[memo]
        reply = self._http.call(
            f"read association types {child.name} → {parent.name}",
            _LABELS,
            "get_all",
            child.object_type_id,
            parent.object_type_id,
            object_name=child.name,
        )
        body = reply.body if isinstance(reply.body, dict) else {}
        types = [t for t in body.get("results") or [] if isinstance(t, dict)]
        if own is not None:
            types = [t for t in types if t.get("label") == own[1]]
        types.sort(key=lambda t: t.get("label") is not None)
        if not types:
            what = f"no association labelled `{own[1]}`" if own else "no association"
            raise FatalConnectorError(
                f"{what} is defined between `{child.name}` and `{parent.name}`: "
                "run `okrsync provision`",
                crm=CRM,
                object_name=child.name,
                code="NOT_PROVISIONED",
            )
        found = (str(types[0].get("category") or "USER_DEFINED"), int(types[0]["typeId"]))
        self._types[memo] = found
        return found

    def ids_by_key(self, info: SchemaInfo, keys: Iterable[str]) -> dict[str, str]:
        """HubSpot ids of the records with these keys (cached; batch reads by ``okr_key``)."""
        cache = self._ids.setdefault(info.name, {})
        wanted = list(dict.fromkeys(keys))
        missing = [k for k in wanted if k not in cache]
        for chunk in _chunks(missing, READ_LIMIT):
            for result in self._read(info, chunk, [KEY_PROPERTY], by_key=True):
                key = (result.get("properties") or {}).get(KEY_PROPERTY)
                if key:
                    cache[str(key)] = str(result.get("id"))
        return {k: cache[k] for k in wanted if k in cache}

    def _associate(
        self,
        obj: LogicalObject,
        info: SchemaInfo,
        records: Sequence[dict[str, Any]],
        outcomes: list[UpsertOutcome],
    ) -> None:
        for field in obj.fields:
            if field.type != "lookup" or not field.lookup:
                continue
            wanted = [
                (index, str(records[index][field.name]))
                for index, outcome in enumerate(outcomes)
                if outcome.status is not UpsertStatus.FAILED and records[index].get(field.name)
            ]
            if wanted:
                self._link(obj, field, info, wanted, outcomes)

    def _link(
        self,
        obj: LogicalObject,
        field: LogicalField,
        info: SchemaInfo,
        wanted: list[tuple[int, str]],
        outcomes: list[UpsertOutcome],
    ) -> None:
        log = self._log(info.name)
        parent_name = object_name(field.lookup or "")
        parent = self._schemas.get(parent_name)
        if parent is None:
            raise FatalConnectorError(
                f"the HubSpot custom object `{parent_name}` does not exist: "
                "run `okrsync provision`",
                crm=CRM,
                object_name=parent_name,
                code="NOT_PROVISIONED",
            )
        linked_key = f"links/{info.name}/{field.name}"
        cached = self._cache.get(linked_key)
        linked: dict[str, str] = dict(cached) if isinstance(cached, dict) else {}
        wanted = [(i, k) for i, k in wanted if linked.get(str(outcomes[i].id)) != k]
        if not wanted:
            return  # every record is linked to that parent already
        parent_of = dict(wanted)
        kind = self._association_type(obj, field, info, parent)
        pairs, stale = self._plan_links(field, (info, parent, kind[1]), wanted, outcomes)
        for index, child, _ in [(i, c, t) for i, c, t in pairs if t == ""]:
            linked[child] = parent_of[index]  # linked already (seen in HubSpot)
        pairs = [item for item in pairs if item[2]]
        unlinked = self._unlink(info, parent, stale, outcomes)
        for child in unlinked:
            linked.pop(child, None)
        for chunk in _chunks(pairs, self._batch_size):
            failed = self._create_links(info, parent, kind, chunk)
            for index, child, _ in chunk:
                linked.pop(child, None)
                if child not in failed and child not in unlinked:
                    linked[child] = parent_of[index]
                elif child in failed:
                    code, message, retriable = failed[child]
                    outcomes[index] = _failed(
                        outcomes[index].key,
                        "ASSOCIATION_FAILED",
                        f"linking {field.name}: {code}: {message}",
                        retriable=retriable,
                        ident=child,
                    )
            log.debug("hubspot.write.associations", pairs=len(chunk), failed=len(failed))
        if len(linked) > LINKS_KEPT:  # check-ins add links every day: keep the newest
            linked = dict(list(linked.items())[-LINKS_KEPT:])
        self._cache.put(linked_key, linked)

    def _plan_links(
        self,
        field: LogicalField,
        ends: tuple[SchemaInfo, SchemaInfo, int],
        wanted: list[tuple[int, str]],
        outcomes: list[UpsertOutcome],
    ) -> tuple[list[tuple[int, str, str]], list[tuple[int, str, list[str]]]]:
        """Links to make (child, parent id; ``""``: made already) and former ones to remove.

        ``ends``: the child's and parent's schemas and the association type id.

        Records created by this write have no associations yet; the others'
        are read, for a moved record still points at its former parent.
        """
        info, parent, type_id = ends
        parents = self.ids_by_key(parent, (k for _, k in wanted))
        older = [
            str(outcomes[i].id) for i, _ in wanted if outcomes[i].status is UpsertStatus.UPDATED
        ]
        current = self._current_links(info, parent, type_id, older)
        pairs: list[tuple[int, str, str]] = []
        stale: list[tuple[int, str, list[str]]] = []
        for index, parent_key in wanted:
            outcome = outcomes[index]
            if parent_key not in parents:
                outcomes[index] = _failed(
                    outcome.key,
                    "PARENT_NOT_FOUND",
                    f"{field.name} `{parent_key}` is not in HubSpot (write it first)",
                    ident=outcome.id,
                )
                continue
            child, target = str(outcome.id), parents[parent_key]
            have = current.get(child, set())
            if have - {target}:
                stale.append((index, child, sorted(have - {target})))
            pairs.append((index, child, "" if target in have else target))
        return pairs, stale

    def _current_links(
        self, info: SchemaInfo, parent: SchemaInfo, type_id: int, children: Sequence[str]
    ) -> dict[str, set[str]]:
        """The parent ids each child is associated with, by association type ``type_id``."""
        found: dict[str, set[str]] = {}
        for chunk in _chunks(list(dict.fromkeys(children)), READ_LIMIT):
            reply = self._http.call(
                f"read associations {info.name} → {parent.name}",
                _ASSOCIATIONS,
                "get_page",
                info.object_type_id,
                parent.object_type_id,
                {"inputs": [{"id": c} for c in chunk]},
                object_name=info.name,
            )
            body = reply.body if isinstance(reply.body, dict) else {}
            for result in body.get("results") or []:
                child = str((result.get("from") or {}).get("id"))
                for target in result.get("to") or []:
                    types = target.get("associationTypes") or []
                    if any(int(t.get("typeId", -1)) == type_id for t in types):
                        found.setdefault(child, set()).add(str(target.get("toObjectId")))
        return found

    def _unlink(
        self,
        info: SchemaInfo,
        parent: SchemaInfo,
        stale: list[tuple[int, str, list[str]]],
        outcomes: list[UpsertOutcome],
    ) -> set[str]:
        """Remove the associations to former parents; the children still linked to one."""
        failed: set[str] = set()
        for chunk in _chunks(stale, READ_LIMIT):
            body = {
                "inputs": [
                    {"from": {"id": child}, "to": [{"id": o} for o in others]}
                    for _, child, others in chunk
                ]
            }
            try:
                self._http.call(
                    f"remove {len(chunk)} former {info.name} → {parent.name} associations",
                    _ASSOCIATIONS,
                    "archive",
                    info.object_type_id,
                    parent.object_type_id,
                    body,
                    object_name=info.name,
                )
            except (RetriableConnectorError, FatalConnectorError) as exc:
                if isinstance(exc, FatalConnectorError) and exc.code not in _PER_RECORD_CODES:
                    raise
                for index, child, _ in chunk:
                    failed.add(child)
                    outcomes[index] = _failed(
                        outcomes[index].key,
                        "ASSOCIATION_FAILED",
                        f"removing the former parent: {exc.code}: {exc}",
                        retriable=isinstance(exc, RetriableConnectorError),
                        ident=child,
                    )
                continue
            self._log(info.name).info(
                "hubspot.write.associations_moved",
                records=len(chunk),
                removed=sum(len(others) for _, _, others in chunk),
            )
        return failed

    def _create_links(
        self,
        info: SchemaInfo,
        parent: SchemaInfo,
        kind: tuple[str, int],
        chunk: Sequence[tuple[int, str, str]],
    ) -> dict[str, tuple[str, str, bool]]:
        """Create a batch of associations; the failed ones by child id: code, message, retriable."""
        category, type_id = kind
        body = {
            "inputs": [
                {
                    "from": {"id": child},
                    "to": {"id": target},
                    "types": [{"associationCategory": category, "associationTypeId": type_id}],
                }
                for _, child, target in chunk
            ]
        }
        try:
            reply = self._http.call(
                f"associate {len(chunk)} {info.name} with {parent.name}",
                _ASSOCIATIONS,
                "create",
                info.object_type_id,
                parent.object_type_id,
                body,
                object_name=info.name,
            )
        except (RetriableConnectorError, FatalConnectorError) as exc:
            if isinstance(exc, FatalConnectorError) and exc.code not in _PER_RECORD_CODES:
                raise
            retriable = isinstance(exc, RetriableConnectorError)
            return {child: (exc.code, str(exc), retriable) for _, child, _ in chunk}
        failed: dict[str, tuple[str, str, bool]] = {}
        errors = reply.body.get("errors") if isinstance(reply.body, dict) else None
        for error in errors or []:
            code = str(error.get("category") or "ERROR")
            message = self._http.redactor.text(str(error.get("message") or ""))
            for child in _context_values(error, "fromObjectId"):
                failed[child] = (code, message, retriable_category(code))
        return failed

    # -- read back -------------------------------------------------------------

    def _read(
        self, info: SchemaInfo, ids: Sequence[str], properties: list[str], *, by_key: bool
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"inputs": [{"id": i} for i in ids], "properties": properties}
        if by_key:
            body["idProperty"] = KEY_PROPERTY
        reply = self._http.call(
            f"read {len(ids)} {info.name} records",
            _BATCH,
            "read",
            info.object_type_id,
            body,
            archived=False,
            object_name=info.name,
        )
        found = reply.body.get("results") if isinstance(reply.body, dict) else None
        return [r for r in found or [] if isinstance(r, dict)]

    def read_back(self, obj: LogicalObject, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records with these keys, with logical field names (absent keys are left out)."""
        info = self.schema(obj)
        properties = [p for f in obj.fields if (p := field_property(f))]
        out: dict[str, dict[str, Any]] = {}
        ids: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), READ_LIMIT):
            for result in self._read(info, chunk, properties, by_key=True):
                values = result.get("properties") or {}
                key = str(values.get(KEY_PROPERTY) or "")
                if not key:
                    continue
                ids[key] = str(result.get("id"))
                out[key] = self._logical(info, obj, key, values)
        self._ids.setdefault(info.name, {}).update(ids)
        for field in obj.fields:
            if field.type == "lookup" and field.lookup and ids:
                parents = self._parents(obj, info, field, ids)
                for key, record in out.items():
                    record[field.name] = parents.get(ids[key])
        return out

    def _logical(
        self, info: SchemaInfo, obj: LogicalObject, key: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for field in obj.fields:
            name = field_property(field)
            if name is None:
                continue
            raw = values.get(name)
            if field.type == "key":
                record[field.name] = key
            elif field.type == "owner":
                record[field.name] = self._owner_email(str(raw)) if raw else None
            else:
                try:
                    record[field.name] = logical_value(field, raw)
                except (TypeError, ValueError, OverflowError) as exc:
                    self._log(info.name).warning(
                        "hubspot.read_back.unreadable",
                        record=key,
                        field=field.name,
                        reason=str(exc),
                    )
                    record[field.name] = None
        return record

    def _parents(
        self, obj: LogicalObject, info: SchemaInfo, field: LogicalField, ids: dict[str, str]
    ) -> dict[str, str]:
        """The parent key of each child id, through the associations of the lookup's type."""
        parent = self._schemas.get(object_name(field.lookup or ""))
        if parent is None:
            return {}
        try:
            _, type_id = self._association_type(obj, field, info, parent)
        except FatalConnectorError:
            return {}  # not provisioned: no record can be linked
        current = self._current_links(info, parent, type_id, list(ids.values()))
        parent_of = {child: min(found) for child, found in current.items() if found}
        keys_by_id = {v: k for k, v in self._ids.get(parent.name, {}).items()}
        unknown = [i for i in dict.fromkeys(parent_of.values()) if i not in keys_by_id]
        for chunk in _chunks(unknown, READ_LIMIT):
            for result in self._read(parent, chunk, [KEY_PROPERTY], by_key=False):
                key = (result.get("properties") or {}).get(KEY_PROPERTY)
                if key:
                    keys_by_id[str(result.get("id"))] = str(key)
                    self._ids.setdefault(parent.name, {})[str(key)] = str(result.get("id"))
        return {c: keys_by_id[p] for c, p in parent_of.items() if p in keys_by_id}
