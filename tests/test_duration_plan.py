"""What a duration pulls (the measured object and the related ones), and fields that are not dates."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from okrsync.connector import FieldInfo, Predicate
from okrsync.mapping.loader import load_mappings
from okrsync.plan import build_plan, check_fields
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.model import MappingSet

HEAD = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: o
    title: O
    key_results:
"""
Q3 = (date(2026, 7, 1), date(2026, 9, 30))
CRM = InMemoryConnector(
    "crm",
    objects={
        "Lead": {
            "CreatedDate": FieldInfo("CreatedDate", "datetime"),
            "ConvertedDate": FieldInfo("ConvertedDate", "date"),
            "Status": FieldInfo("Status", "picklist"),
        },
        "Task": {
            "WhoId": FieldInfo("WhoId", "reference"),
            "CreatedDate": FieldInfo("CreatedDate", "datetime"),
            "Type": FieldInfo("Type", "picklist"),
            "Subject": FieldInfo("Subject", "string"),
        },
    },
)


def load(tmp_path: Path, *krs: str) -> MappingSet:
    """Key results (one YAML flow mapping each, without `title`/`source`/`target`) in cycle Q3."""
    lines = [
        f"      - {{key: k{i}, title: T, source: crm, target: 1, {kr}}}" for i, kr in enumerate(krs)
    ]
    (tmp_path / "q3.yaml").write_text(HEAD + "\n".join(lines) + "\n")
    return load_mappings(tmp_path, sources={"crm": "memory"}, catalogs={})


def test_a_duration_to_the_first_task_pulls_the_tasks_pointing_at_a_record(
    tmp_path: Path,
) -> None:
    """The lead's dates and window are planned; tasks are pulled when they point at a record and date from the cycle's start."""
    plan = build_plan(
        load(
            tmp_path,
            "metric: {avg_duration: Lead, from: CreatedDate, in: hours, window: cycle_to_date, "
            "to: {first: Task.CreatedDate, via: WhoId, where: {Type: [Call, Email]}}}",
        )
    )
    lead, task = plan.get("crm", "Lead"), plan.get("crm", "Task")
    assert lead.fields == {"CreatedDate"}
    assert lead.filters == (
        (Predicate("CreatedDate", "gte", Q3[0]), Predicate("CreatedDate", "lte", Q3[1])),
    )
    assert task.fields == {"WhoId", "CreatedDate", "Type"}
    assert task.filters == (
        (
            Predicate("Type", "in", ("Call", "Email")),
            Predicate("WhoId", "is_null", value=False),
            Predicate("CreatedDate", "gte", Q3[0]),  # an answer to a Q3 lead is not older
        ),
    )
    assert [kr.key for kr in task.users] == ["k0"]


def test_without_a_cycle_window_on_the_start_every_related_date_counts(tmp_path: Path) -> None:
    """A window on another field, or none, cannot bound the related dates; two fields of a record pull just that object."""
    plan = build_plan(
        load(
            tmp_path,
            "metric: {median_duration: Lead, from: CreatedDate, in: hours, "
            "window: {ConvertedDate: cycle}, to: {first: Task.CreatedDate, via: WhoId}}",
            "metric: {avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: days}",
        )
    )
    assert plan.get("crm", "Task").filters == ((Predicate("WhoId", "is_null", value=False),),)
    assert plan.get("crm", "Lead").fields == {"CreatedDate", "ConvertedDate"}
    assert plan.get("crm", "Lead").filters == ()  # the second key result needs every lead


def test_a_field_that_is_not_a_date_is_located_in_the_mapping(tmp_path: Path) -> None:
    """A duration from or to a field the CRM does not describe as a date is an error at that key."""
    mappings = load(
        tmp_path,
        "metric: {avg_duration: Lead, from: Status, to: ConvertedDate, in: days}",
        "metric: {avg_duration: Lead, from: CreatedDate, to: {first: Task.Subject, via: WhoId}, in: hours}",
        "metric: {per: {numerator: {avg_duration: Lead, from: CreatedDate, to: Status, in: days}, denominator: {count: Lead}}}",
    )
    _, problems = check_fields(build_plan(mappings), {"crm": CRM})
    assert [str(p).removeprefix(f"{tmp_path}/") for p in problems] == [
        (
            "q3.yaml:7:88: objectives[0].key_results[0].metric.from: expected a date or date-time "
            "field, got `Lead.Status` (picklist): a duration is measured between dates"
        ),
        (
            "q3.yaml:8:113: objectives[0].key_results[1].metric.to.first: expected a date or "
            "date-time field, got `Task.Subject` (string): a duration is measured between dates"
        ),
        (
            "q3.yaml:9:61: objectives[0].key_results[2].metric: expected a date or date-time field, "
            "got `Lead.Status` (picklist): a duration is measured between dates"
        ),
    ]
