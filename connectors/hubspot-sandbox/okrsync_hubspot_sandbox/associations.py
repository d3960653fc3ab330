"""Associations between objects (v4): create, create the default, read, list, archive.

HubSpot's associations are two-way (``contact → company`` type 279 is
``company → contact`` type 280 seen from the other side): each is one store
row with the type id of both directions, indexed from both ends.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import validation_error
from okrsync_hubspot_sandbox.records import BatchOutcome, batch_error
from okrsync_sandbox.store import And, Cmp, Column, FieldType, Or, TableSchema

if TYPE_CHECKING:
    from collections.abc import Iterable

    from okrsync_hubspot_sandbox.schema import AssociationType, ObjectType, Portal
    from okrsync_sandbox.accounting import Accounting

__all__ = ["TABLE", "Associations"]

TABLE = "hs_associations"
_DELETE = (
    f'DELETE FROM "{TABLE}" '  # noqa: S608  (the table name is a module constant)
    "WHERE from_type = ? AND from_id = ? AND to_type = ? AND to_id = ?"
)


class Associations:
    """The associations of a portal's objects."""

    def __init__(self, portal: Portal, accounting: Accounting, batch_limit: int = 100) -> None:
        self.portal = portal
        self.store = portal.store
        self.accounting = accounting
        self.batch_limit = batch_limit
        self._lock = threading.Lock()
        self.store.create_table(
            TableSchema.of(
                TABLE,
                [
                    Column("id", FieldType.INT),
                    Column("from_type", FieldType.STRING),
                    Column("from_id", FieldType.INT),
                    Column("to_type", FieldType.STRING),
                    Column("to_id", FieldType.INT),
                    Column("type_id", FieldType.INT),
                    Column("inverse_id", FieldType.INT),
                ],
                key="id",
            )
        )
        db = self.store.connection()
        db.execute(f'CREATE INDEX "ix_{TABLE}_from" ON "{TABLE}" (from_type, from_id, to_type)')
        db.execute(f'CREATE INDEX "ix_{TABLE}_to" ON "{TABLE}" (to_type, to_id, from_type)')
        db.commit()

    @staticmethod
    def row(kind: AssociationType, from_id: int, to_id: int) -> dict[str, Any]:
        """The store row of one association (both directions)."""
        return {
            "from_type": kind.from_type,
            "from_id": from_id,
            "to_type": kind.to_type,
            "to_id": to_id,
            "type_id": kind.type_id,
            "inverse_id": kind.inverse_id,
        }

    def insert_pairs(self, rows: Iterable[tuple[AssociationType, int, int]]) -> int:
        """Store associations without checks; return how many."""
        return self.store.insert_many(TABLE, (self.row(k, a, b) for k, a, b in rows))

    def _exists(self, kind: ObjectType, object_id: int) -> bool:
        return self.store.count(kind.table, Cmp("hs_object_id", "=", object_id)) > 0

    def _has(self, spec: AssociationType, from_id: int, to_id: int) -> bool:
        forward = And(
            (
                Cmp("from_type", "=", spec.from_type),
                Cmp("from_id", "=", from_id),
                Cmp("to_type", "=", spec.to_type),
                Cmp("to_id", "=", to_id),
                Cmp("type_id", "=", spec.type_id),
            )
        )
        backward = And(
            (
                Cmp("from_type", "=", spec.to_type),
                Cmp("from_id", "=", to_id),
                Cmp("to_type", "=", spec.from_type),
                Cmp("to_id", "=", from_id),
                Cmp("type_id", "=", spec.inverse_id),
            )
        )
        return self.store.count(TABLE, Or((forward, backward))) > 0

    def _inputs(self, body: Any) -> list[dict[str, Any]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise validation_error("Invalid input JSON: inputs must be a list of objects.")
        if len(inputs) > self.batch_limit:
            raise validation_error(
                f"The maximum number of inputs supported in a batch request is "
                f"{self.batch_limit}. Please reduce the number of items and try again"
            )
        return inputs

    @staticmethod
    def _object_id(raw: Any, where: str) -> int:
        value = raw.get("id") if isinstance(raw, dict) else raw
        text = str(value if value is not None else "").strip()
        if not text.isdigit():
            raise validation_error(f"Invalid object id {value!r} in {where}.")
        return int(text)

    def _specs(self, source: ObjectType, target: ObjectType, raw: Any) -> list[AssociationType]:
        if not isinstance(raw, list) or not raw:
            raise validation_error("Each input needs a non-empty types list.")
        specs = []
        for item in raw:
            if not isinstance(item, dict):
                raise validation_error("Each association type must be an object.")
            try:
                type_id = int(item.get("associationTypeId"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise validation_error("associationTypeId must be an integer.") from None
            spec = self.portal.association_type(
                source.object_type_id, target.object_type_id, type_id
            )
            category = str(item.get("associationCategory") or "")
            if spec is None or spec.category != category:
                raise validation_error(
                    f"{category} association type {type_id} is not valid between "
                    f"{source.name} ({source.object_type_id}) and {target.name} "
                    f"({target.object_type_id})."
                )
            specs.append(spec)
        return specs

    def _link(self, specs: list[AssociationType], from_id: int, to_id: int) -> None:
        fresh = [s for s in specs if not self._has(s, from_id, to_id)]
        if fresh:
            self.insert_pairs((s, from_id, to_id) for s in fresh)

    def _missing(
        self, source: ObjectType, target: ObjectType, from_id: int, to_id: int
    ) -> dict[str, Any] | None:
        for kind, object_id in ((source, from_id), (target, to_id)):
            if not self._exists(kind, object_id):
                return batch_error(
                    "VALIDATION_ERROR",
                    f"{kind.singular} {object_id} was not found; it may be archived or never "
                    "existed.",
                    {"fromObjectId": [str(from_id)], "toObjectId": [str(to_id)]},
                )
        return None

    def create(
        self, source: ObjectType, target: ObjectType, body: Any, failing: set[int], now: str
    ) -> BatchOutcome:
        """``batch/create``: labelled or unlabeled associations, with the types given."""
        inputs = self._inputs(body)
        parsed = [
            (
                self._object_id(i.get("from"), "from"),
                self._object_id(i.get("to"), "to"),
                self._specs(source, target, i.get("types")),
            )
            for i in inputs
        ]
        outcome = BatchOutcome(started_at=now)
        with self._lock:
            for index, (from_id, to_id, specs) in enumerate(parsed):
                if index in failing:
                    outcome.errors.append(
                        batch_error(
                            "VALIDATION_ERROR",
                            f"Input {index} could not be written (the sandbox injected a "
                            "partial-batch failure); retry it.",
                            {"fromObjectId": [str(from_id)], "toObjectId": [str(to_id)]},
                        )
                    )
                    continue
                problem = self._missing(source, target, from_id, to_id)
                if problem is not None:
                    outcome.errors.append(problem)
                    continue
                self._link(specs, from_id, to_id)
                outcome.results.append(
                    {
                        # strings, as HubSpot's specification (LabelsBetweenObjectPair) has them
                        "fromObjectTypeId": source.object_type_id,
                        "fromObjectId": str(from_id),
                        "toObjectTypeId": target.object_type_id,
                        "toObjectId": str(to_id),
                        "labels": [s.label for s in specs if s.label],
                    }
                )
        self.accounting.written("hubspot", "associations", len(outcome.results))
        return outcome

    def create_default(
        self, source: ObjectType, target: ObjectType, body: Any, now: str
    ) -> BatchOutcome:
        """``batch/associate/default``: the unlabeled association for each pair."""
        inputs = self._inputs(body)
        spec = self.portal.default_association(source.object_type_id, target.object_type_id)
        if spec is None:
            raise validation_error(
                f"There is no default association between {source.name} and {target.name}."
            )
        outcome = BatchOutcome(started_at=now)
        with self._lock:
            for item in inputs:
                from_id = self._object_id(item.get("from"), "from")
                to_id = self._object_id(item.get("to"), "to")
                problem = self._missing(source, target, from_id, to_id)
                if problem is not None:
                    outcome.errors.append(problem)
                    continue
                self._link([spec], from_id, to_id)
                outcome.results.append(
                    {
                        "from": {"id": str(from_id)},
                        "to": {"id": str(to_id)},
                        "associationSpec": {
                            "associationCategory": spec.category,
                            "associationTypeId": spec.type_id,
                        },
                    }
                )
        self.accounting.written("hubspot", "associations", len(outcome.results))
        return outcome

    def targets(self, source: ObjectType, target: ObjectType, from_id: int) -> list[dict[str, Any]]:
        """The objects of type ``target`` associated with one object, with the types."""
        grouped: dict[int, list[dict[str, Any]]] = {}
        ends = (("from", "to", "type_id"), ("to", "from", "inverse_id"))
        for near, far, type_field in ends:
            rows = self.store.select(
                TABLE,
                [f"{far}_id", type_field],
                And(
                    (
                        Cmp(f"{near}_type", "=", source.object_type_id),
                        Cmp(f"{near}_id", "=", from_id),
                        Cmp(f"{far}_type", "=", target.object_type_id),
                    )
                ),
            )
            for row in rows:
                spec = self.portal.association_type(
                    source.object_type_id, target.object_type_id, int(row[type_field])
                )
                if spec is not None:
                    grouped.setdefault(int(row[f"{far}_id"]), []).append(spec.spec())
        return [{"toObjectId": k, "associationTypes": v} for k, v in sorted(grouped.items())]

    def read(self, source: ObjectType, target: ObjectType, body: Any, now: str) -> BatchOutcome:
        """``batch/read``: for each source id, its associated objects; ids without any fail."""
        inputs = self._inputs(body)
        outcome = BatchOutcome(started_at=now)
        for item in inputs:
            from_id = self._object_id(item, "inputs")
            found = self.targets(source, target, from_id)
            if found:
                outcome.results.append({"from": {"id": str(from_id)}, "to": found})
            else:
                error = batch_error(
                    "OBJECT_NOT_FOUND",
                    f"No {target.singular.lower()} is associated with "
                    f"{source.singular.lower()} {from_id}.",
                    {"fromObjectId": [str(from_id)]},
                )
                error["subCategory"] = "crm.associations.NO_ASSOCIATIONS_FOUND"
                outcome.errors.append(error)
        return outcome

    def archive(self, source: ObjectType, target: ObjectType, body: Any) -> int:
        """``batch/archive``: remove every association between the pairs given."""
        inputs = self._inputs(body)
        removed = 0
        db = self.store.connection()
        with self._lock:
            for item in inputs:
                from_id = self._object_id(item.get("from"), "from")
                to_ids = item.get("to") or []
                for raw in to_ids if isinstance(to_ids, list) else [to_ids]:
                    to_id = self._object_id(raw, "to")
                    for a, b, x, y in (
                        (source, target, from_id, to_id),
                        (target, source, to_id, from_id),
                    ):
                        cursor = db.execute(_DELETE, (a.object_type_id, x, b.object_type_id, y))
                        removed += cursor.rowcount
            db.commit()
        return removed
