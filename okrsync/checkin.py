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


def history(engine: Engine, krs: Sequence[KeyResult]) -> dict[str, list[CheckInPoint]]:
    """The check-ins recorded so far, by key result."""
    keys = [kr.full_key for kr in krs]
    out: dict[str, list[CheckInPoint]] = {}
    with Session(engine) as session:
        for row in session.exec(select(CheckInRow).where(col(CheckInRow.kr_key).in_(keys))):
            out.setdefault(row.kr_key, []).append(CheckInPoint(row.on, row.value))
    return out


def check_in(
    engine: Engine,
    connectors: Mapping[str, Connector],
    results: Sequence[KeyResultResult],
    day: date,
    now: datetime,
) -> Wanted:
    """Record today's check-in of every key result; return the CRM check-in records."""
    rep_fields = _rep_fields(connectors, results)
    out: Wanted = {}
    with Session(engine) as session:
        for result in results:
            kr = result.kr
            if not kr.cycle.start <= day <= kr.cycle.end:
                continue
            confidence, comment = rep_fields.get(kr.full_key, (None, None))
            session.merge(
                CheckInRow(
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
            )
            record = {
                "key": f"{kr.full_key}/{day.isoformat()}",
                "key_result": kr.full_key,
                "check_in_date": day,
                "current_value": result.value.value,
                "progress": result.score.progress,
                "score": result.score.score,
                "forecast_score": result.score.forecast_score,
                "status": result.status,
                "confidence": confidence,
                "comment": comment,
            }
            for connector in kr.destinations:
                if connector in connectors:
                    out.setdefault((connector, CHECK_IN.name), []).append(record)
        session.commit()
    return out


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
