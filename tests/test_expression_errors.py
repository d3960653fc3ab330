"""Broken duration and `per` expressions are reported at file:line:col with what was expected."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from okrsync.errors import MappingError
from okrsync.mapping.loader import load_mappings

from .mapping_cases import kr

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.catalog import Catalog

AT = "b.yaml:10:17: objectives[0].key_results[0].metric"
"""Where the metric of ``kr``'s key result starts."""


def at(metric: str, token: str) -> str:
    """Where ``token`` is on the metric's line (the metric starts at column 17)."""
    return f"b.yaml:10:{17 + metric.index(token)}"


DURATION = "{avg_duration: Lead, from: CreatedDate, to: ConvertedDate, in: hours}"
KR = "objectives[0].key_results[0]"


def case(metric: str, target: str, *problems: tuple[str | None, str]) -> tuple[str, str, list[str]]:
    """A metric, a target and the problems expected: (token the problem points at, text)."""
    return metric, target, [f"{AT if t is None else at(metric, t)}{text}" for t, text in problems]


UNIT = DURATION.replace("in: hours", "in: minutes")
NO_VIA = "{avg_duration: Lead, from: CreatedDate, to: {first: Task.CreatedDate}, in: hours}"
PLAIN_FIRST = "{avg_duration: Lead, from: CreatedDate, to: {first: CreatedDate, via: WhoId}, in: hours}"  # fmt: skip
TWICE = "{avg_duration: Lead, from: CreatedDate, to: {first: [Task.CreatedDate, Task.ActivityDate], via: WhoId}, in: hours}"  # fmt: skip
WHER = "{avg_duration: Lead, from: CreatedDate, to: {first: Task.CreatedDate, via: WhoId, wher: {Type: Call}}, in: hours}"  # fmt: skip
PER_NAME = "{per: {numerator: {sum: Opportunity.Amount}, denominator: customers}}"
PER_WINDOW = "{per: {numerator: {sum: Opportunity.Amount}, denominator: {count: Account}}, window: {CloseDate: cycle}}"  # fmt: skip

CASES: dict[str, tuple[str, str, list[str]]] = {
    "unknown_unit": case(
        UNIT, "4", ("minutes", f": {KR}.metric.in: expected `hours` or `days`, got 'minutes'")
    ),
    "no_unit": case(
        "{avg_duration: Lead, from: CreatedDate, to: ConvertedDate}",
        "4",
        (None, ": missing required key `in`"),
    ),
    "no_end": case(
        "{median_duration: Lead, from: CreatedDate, in: days}",
        "4",
        (None, ": missing required key `to`"),
    ),
    "avg_and_median": case(
        "{avg_duration: Lead, median_duration: Lead, from: a, to: b, in: days}",
        "4",
        (None, ": expected exactly one of `avg_duration` or `median_duration`, got both"),
    ),
    "end_not_a_field": case(
        "{avg_duration: Lead, from: CreatedDate, to: 3, in: days}",
        "4",
        (
            "3,",
            (
                f": {KR}.metric.to: expected a date field of the same record like `ConvertedDate`, "
                "or the first related record like `{first: Task.CreatedDate, via: WhoId}`, got 3"
            ),
        ),
    ),
    "related_without_via": case(
        NO_VIA, "4", ("{first", f": {KR}.metric.to: missing required key `via`")
    ),
    "related_not_object_field": case(
        PLAIN_FIRST,
        "4",
        (
            "CreatedDate, via",
            (
                f": {KR}.metric.to.first: expected `Object.Field` like `Task.CreatedDate`, "
                "or a list of them, got 'CreatedDate'"
            ),
        ),
    ),
    "related_object_twice": case(
        TWICE,
        "4",
        (
            "[Task",
            (
                f": {KR}.metric.to.first: expected one date field per related object, "
                "got object `Task` more than once"
            ),
        ),
    ),
    "unknown_key_in_related": case(
        WHER,
        "4",
        (
            "wher",
            (
                f": {KR}.metric.to.wher: unknown key `wher` (did you mean `where`?); "
                "expected one of `where`, `first`, `via`"
            ),
        ),
    ),
    "unknown_missing_end": case(
        DURATION.replace("}", ", missing_end: zero}"),
        "4",
        (
            "zero",
            (
                f": {KR}.metric.missing_end: expected `exclude` (records without an end are left "
                "out) or `as_of` (they count as open up to the end of the as-of date), got 'zero'"
            ),
        ),
    ),
    "bad_window": case(
        DURATION.replace("}", ", window: weekly}"),
        "4",
        (
            "weekly",
            (
                f": {KR}.metric.window: expected `cycle`, `cycle_to_date`, `last_N_days` "
                "(like `last_30_days`) or `all_time`, got 'weekly'"
            ),
        ),
    ),
    "unknown_duration_key": case(
        DURATION.replace("}", ", unit: hours}"),
        "4",
        (
            "unit",
            (
                f": {KR}.metric.unit: unknown key `unit`; expected one of `where`, "
                "`avg_duration`, `median_duration`, `from`, `to`, `in`, `window`, `missing_end`"
            ),
        ),
    ),
    "per_without_denominator": case(
        "{per: {numerator: {sum: Opportunity.Amount}}}",
        "50000",
        ("{numerator", f": {KR}.metric.per: missing required key `denominator`"),
    ),
    "per_unknown_side": case(
        PER_NAME,
        "50000",
        (
            "customers",
            (
                f": {KR}.metric.per.denominator: unknown metric `customers` for source `salesforce`; "
                "expected one of `avg_deal_size`, `customer_churn_rate`, `customer_lifetime_value`, "
                "`first_response_hours`, `lead_conversion_rate`, `new_pipeline`, `nps`, "
                "`pipeline_count`, `pipeline_value`, `qualified_lead_rate`, `win_rate`, "
                "`won_revenue` or a metric expression"
            ),
        ),
    ),
    "per_with_window": case(
        PER_WINDOW,
        "50000",
        ("window", f": {KR}.metric.window: unknown key `window`; expected one of `per`"),
    ),
}
NEGATIVE = [
    f"b.yaml:11:17: {KR}.target: expected a duration of 0 hours or more for this metric, got -2"
]


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_expression_is_reported_with_location(
    name: str, tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """Each broken duration or `per` gives exactly the located problems expected."""
    metric, target, want = CASES[name]
    assert problems(tmp_path, catalogs, metric, target) == want


def test_a_duration_target_below_zero_is_refused(
    tmp_path: Path, catalogs: dict[str, Catalog]
) -> None:
    """A duration's start and target are 0 or more, in its unit."""
    assert problems(tmp_path, catalogs, DURATION, "-2") == NEGATIVE


def problems(tmp_path: Path, catalogs: dict[str, Catalog], metric: str, target: str) -> list[str]:
    """The problems of a file with one key result, as `okrsync validate` prints them."""
    (tmp_path / "b.yaml").write_text(kr("", metric=metric, target=target))
    with pytest.raises(MappingError) as caught:
        load_mappings(tmp_path, sources={"salesforce": "salesforce"}, catalogs=catalogs)
    return [str(p).removeprefix(f"{tmp_path}/") for p in caught.value.problems]
