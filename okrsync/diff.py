"""The diff step: okrsync's records for the CRM, compared with what was last written.

After scoring, each key result and objective becomes the record its
destination connectors should hold (by logical field name, keyed by an
external id). :func:`diff` compares every record with the digest of what was
last confirmed written; ``plan`` counts the outcome (:func:`preview`) and
``sync`` stages the changed records for write-back
(:func:`okrsync.writeback.stage`), both through this one comparison.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from okrsync.alignment import parents_first, with_ancestors
from okrsync.crm_objects import KEY_RESULT, OBJECTIVE
from okrsync.model import OwnerKind
from okrsync.scoring import Status
from okrsync.state.models import WrittenRow

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping, Sequence

    from sqlalchemy.engine import Engine

    from okrsync.model import Objective
    from okrsync.score import KeyResultResult
    from okrsync.scoring import ObjectiveScore
    from okrsync.writeback import WriteReport

__all__ = ["VOLATILE", "RecordDiff", "Wanted", "diff", "digest", "preview", "wanted_records"]

Wanted = dict[tuple[str, str], list[dict[str, Any]]]
"""Records okrsync wants in the CRMs, by (connector, logical object)."""

VOLATILE = frozenset({"last_synced_at"})
"""Fields that change on every write and so do not make a record "changed"."""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value


def digest(record: Mapping[str, Any]) -> str:
    """A digest of a record's content (volatile fields left out)."""
    data = {k: _plain(v) for k, v in sorted(record.items()) if k not in VOLATILE}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


# -- the records for the CRM --------------------------------------------------------------------


def wanted_records(
    results: Sequence[KeyResultResult],
    objectives: Sequence[Objective],
    scores: Mapping[str, ObjectiveScore],
    connectors: Collection[str],
    now: datetime,
) -> Wanted:
    """Each key result's record for its destinations, and each objective's for theirs.

    Only connectors in ``connectors`` (the configured ones) get records; an
    objective goes where at least one of its key results goes, and so do its
    ancestors (its alignment is a real link there), parents before children.
    """
    wanted: Wanted = {}
    destinations: dict[str, set[str]] = {}
    for result in results:
        kr = result.kr
        objective_key = f"{kr.cycle.name}/{kr.objective_key}"
        for connector in kr.destinations:
            if connector not in connectors:
                continue
            destinations.setdefault(objective_key, set()).add(connector)
            wanted.setdefault((connector, KEY_RESULT.name), []).append(
                _kr_record(result, objective_key, now)
            )
    destinations = with_ancestors(objectives, destinations)
    for objective in parents_first(objectives):
        score = scores[objective.full_key]
        for connector in sorted(destinations.get(objective.full_key, ())):
            wanted.setdefault((connector, OBJECTIVE.name), []).append(
                _objective_record(objective, score, now)
            )
    return wanted


def _owner(owner: Any) -> tuple[str | None, str | None]:
    if owner is None:
        return None, None
    if owner.kind is OwnerKind.USER:
        return owner.name, owner.name
    return None, owner.name


def _kr_record(result: KeyResultResult, objective_key: str, now: datetime) -> dict[str, Any]:
    kr, score = result.kr, result.score
    email, owner_name = _owner(kr.owner)
    return {
        "key": kr.full_key,
        "title": kr.title,
        "objective": objective_key,
        "parent_key_result": kr.parent,
        "kind": kr.kind.value,
        "source": kr.source,
        "metric": kr.metric.label,
        "unit": kr.unit.value,
        "start_value": kr.start,
        "target_value": kr.target,
        "current_value": result.value.value,
        "progress": score.progress,
        "score": score.score,
        "expected": score.expected,
        "forecast_score": score.forecast_score,
        "status": result.status,
        "weight": kr.weight,
        "owner": email,
        "owner_name": owner_name,
        "last_synced_at": now,
        "sync_error": result.value.error,
    }


def _objective_record(objective: Objective, score: ObjectiveScore, now: datetime) -> dict[str, Any]:
    email, owner_name = _owner(objective.owner)
    status = score.status.value if score.status is not Status.NO_DATA else "no_data"
    return {
        "key": objective.full_key,
        "title": objective.title,
        "description": objective.description,
        "cycle": objective.cycle.name,
        "cycle_start": objective.cycle.start,
        "cycle_end": objective.cycle.end,
        "owner": email,
        "owner_name": owner_name,
        "aligns_to": objective.aligns_to,
        "parent_objective": objective.aligns_to,
        "score": score.score,
        "forecast_score": score.forecast_score,
        "status": status,
        "last_synced_at": now,
    }


# -- the comparison -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordDiff:
    """One wanted record against what was last written."""

    connector: str
    obj: str
    """Logical object (``key_result``)."""
    key: str
    """External id."""
    digest: str
    """Of the wanted record (see :func:`digest`)."""
    record: Mapping[str, Any]
    changed: bool
    """``False`` when the last confirmed write has the same digest."""


def diff(
    session: Session, wanted: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]]
) -> Iterator[RecordDiff]:
    """Each wanted record, changed or not, in order (what was written is read per object).

    Lazy, so a caller may act in the same session (and transaction) as it goes.
    """
    for (connector, obj), records in wanted.items():
        written = {
            str(key): str(found)
            for key, found in session.exec(
                select(WrittenRow.key, WrittenRow.digest).where(
                    WrittenRow.connector == connector, WrittenRow.object == obj
                )
            )
        }
        for record in records:
            key = str(record["key"])
            current = digest(record)
            yield RecordDiff(connector, obj, key, current, record, written.get(key) != current)


def preview(
    engine: Engine,
    wanted: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    report: WriteReport,
) -> None:
    """Count what a write-back would send and leave unchanged, writing and staging nothing."""
    with Session(engine) as session:
        for change in diff(session, wanted):
            report.add(report.upserted if change.changed else report.unchanged, change.connector)
