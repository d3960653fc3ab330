"""The check-in step: a dated snapshot of every key result, kept and written to the CRM.

On check-in days each key result of a running cycle is stored with the
confidence and comment reps entered on it in its source CRM, and becomes a
check-in record for its destinations. The stored check-ins are the history
the forecast is drawn from (:func:`history`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from sqlmodel import Session, col, select

from okrsync.crm_objects import CHECK_IN, KEY_RESULT
from okrsync.errors import ConnectorError
from okrsync.scoring import CheckInPoint
from okrsync.state.models import CheckInRow

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date, datetime

    from sqlalchemy.engine import Engine

    from okrsync.connector import Connector
    from okrsync.diff import Wanted
    from okrsync.model import KeyResult
    from okrsync.score import KeyResultResult

__all__ = ["check_in", "history"]

log = structlog.get_logger("okrsync.engine")  # one logger for the events of a cycle


def history(engine: Engine, krs: Sequence[KeyResult], day: date) -> dict[str, list[CheckInPoint]]:
    """The check-in history of each key result: check-ins dated before ``day`` only.

    Never the day's own check-in, so every run of one day (the check-in, a
    re-run after a crash, a sync minutes later) scores the same.
    """
    keys = [kr.full_key for kr in krs]
    out: dict[str, list[CheckInPoint]] = {}
    statement = select(CheckInRow).where(col(CheckInRow.kr_key).in_(keys), col(CheckInRow.on) < day)
    with Session(engine) as session:
        for row in session.exec(statement):
            out.setdefault(row.kr_key, []).append(CheckInPoint(row.on, row.value))
    return out


def check_in(
    engine: Engine,
    connectors: Mapping[str, Connector],
    results: Sequence[KeyResultResult],
    day: date,
    now: datetime,
) -> tuple[Wanted, int]:
    """Record the day's check-in of every key result; the CRM check-in records and how many.

    A check-in replaces one recorded earlier for the same key result and day
    (a re-run, a backfill run again), except that a metric failing now never
    replaces a recorded value, and a rep's confidence and comment are kept
    when the CRM cannot be read.
    """
    rep_fields = _rep_fields(connectors, results)
    keys = [r.kr.full_key for r in results]
    out: Wanted = {}
    recorded_now = 0
    with Session(engine) as session:
        recorded = {
            row.kr_key: row
            for row in session.exec(
                select(CheckInRow).where(col(CheckInRow.kr_key).in_(keys), CheckInRow.on == day)
            )
        }
        for result in results:
            kr = result.kr
            if not kr.cycle.start <= day <= kr.cycle.end:
                continue
            kept = recorded.get(kr.full_key)
            if kept is not None and kept.value is not None and result.value.error:
                row = kept
            else:
                confidence, comment = rep_fields.get(
                    kr.full_key, (kept.confidence, kept.comment) if kept else (None, None)
                )
                row = CheckInRow(
                    kr_key=kr.full_key,
                    on=day,
                    value=result.value.value,
                    progress=result.score.progress,
                    score=result.score.score,
                    forecast_score=result.score.forecast_score,
                    status=result.status,
                    confidence=confidence,
                    comment=comment,
                    recorded_at=now,
                )
                session.merge(row)
            recorded_now += 1
            record = {
                "key": f"{kr.full_key}/{day.isoformat()}",
                "key_result": kr.full_key,
                "check_in_date": day,
                "current_value": row.value,
                "progress": row.progress,
                "score": row.score,
                "forecast_score": row.forecast_score,
                "status": row.status,
                "confidence": row.confidence,
                "comment": row.comment,
            }
            for connector in kr.destinations:
                if connector in connectors:
                    out.setdefault((connector, CHECK_IN.name), []).append(record)
        session.commit()
    log.info("sync.check_in.recorded", on=day.isoformat(), check_ins=recorded_now)
    return out, recorded_now


def _rep_fields(
    connectors: Mapping[str, Connector], results: Sequence[KeyResultResult]
) -> dict[str, tuple[float | None, str | None]]:
    """Confidence and comment reps entered on each key result, from its source CRM."""
    by_source: dict[str, list[str]] = {}
    for result in results:
        by_source.setdefault(result.kr.source, []).append(result.kr.full_key)
    found: dict[str, tuple[float | None, str | None]] = {}
    for source, keys in by_source.items():
        connector = connectors.get(source)
        if connector is None:
            continue
        try:
            records = connector.read_back(KEY_RESULT, keys)
        except ConnectorError as exc:
            log.warning("sync.check_in.read_back_failed", connector=source, error=str(exc))
            continue
        for key, record in records.items():
            confidence = record.get("confidence")
            found[key] = (
                float(confidence) if isinstance(confidence, (int, float)) else None,
                record.get("comment") or None,
            )
    return found
