"""What the org computes when a record is saved, as Salesforce does for its standard objects.

- ``Name`` of users and leads is first name + last name;
- an opportunity's stage sets ``IsClosed``/``IsWon`` and, unless given,
  ``Probability`` and ``ForecastCategoryName``;
- a task is closed when its status is ``Completed``; a case when ``Closed``
  (which also stamps ``ClosedDate``);
- a task's or event's ``AccountId`` follows its ``WhatId``; an event's
  ``ActivityDate``, ``EndDateTime`` and ``DurationInMinutes`` follow each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.schema import (
    CASE_CLOSED_STATUSES,
    OPPORTUNITY_STAGES,
    TASK_CLOSED_STATUSES,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["derive"]


def derive(
    sobject: str,
    values: dict[str, Any],
    existing: dict[str, Any] | None,
    now: datetime,
    account_of: Callable[[str], str | None],
) -> None:
    """Add the fields the org computes to ``values`` (the fields being written).

    Args:
        sobject: The object's API name.
        values: Field values being written (canonical names); completed in place.
        existing: The record before the write (``None`` on create).
        now: The sandbox's time.
        account_of: The account id of a record id given as ``WhatId`` (or ``None``).
    """
    old = existing or {}

    def current(name: str) -> Any:
        return values[name] if name in values else old.get(name)

    if sobject in {"User", "Lead"} and ({"FirstName", "LastName"} & values.keys()):
        first, last = current("FirstName"), current("LastName")
        values["Name"] = " ".join(str(p) for p in (first, last) if p)
    elif sobject == "Opportunity" and "StageName" in values:
        _stage(values, existing)
    elif sobject == "Task" and "Status" in values:
        values["IsClosed"] = values["Status"] in TASK_CLOSED_STATUSES
    elif sobject == "Case" and "Status" in values:
        _case(values, old, now)
    if sobject in {"Task", "Event"} and "WhatId" in values:
        what = values["WhatId"]
        values["AccountId"] = account_of(what) if what else None
    if sobject == "Event":
        _event(values, current)


def _stage(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    stage = OPPORTUNITY_STAGES.get(values["StageName"])
    if stage is None:
        return
    probability, category, closed, won = stage
    values["IsClosed"], values["IsWon"] = closed, won
    if existing is None or existing.get("StageName") != values["StageName"]:
        values.setdefault("Probability", float(probability))
        values.setdefault("ForecastCategoryName", category)


def _case(values: dict[str, Any], old: dict[str, Any], now: datetime) -> None:
    closed = values["Status"] in CASE_CLOSED_STATUSES
    if closed and not old.get("IsClosed"):
        values["ClosedDate"] = now
    elif not closed:
        values["ClosedDate"] = None
    values["IsClosed"] = closed


def _event(values: dict[str, Any], current: Callable[[str], Any]) -> None:
    start = current("StartDateTime")
    if not isinstance(start, datetime):
        return
    if "StartDateTime" in values:
        values["ActivityDate"] = start.date()
    end = current("EndDateTime")
    if (
        "DurationInMinutes" in values
        and "EndDateTime" not in values
        and values["DurationInMinutes"] is not None
    ):
        values["EndDateTime"] = start + timedelta(minutes=int(values["DurationInMinutes"]))
    elif isinstance(end, datetime) and ({"StartDateTime", "EndDateTime"} & values.keys()):
        values["DurationInMinutes"] = int((end - start).total_seconds() // 60)
