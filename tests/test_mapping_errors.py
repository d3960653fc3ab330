"""Every broken mapping input gives exactly the located problems expected."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from okrsync.errors import MappingError
from okrsync.mapping.loader import load_mappings

from .mapping_cases import CASES

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.catalog import Catalog

EXPECTED: dict[str, list[str]] = {
    "unknown_top_key": [
        "b.yaml:12:1: objectivs: unknown key `objectivs` (did you mean `objectives`?); expected one of `version`, `cycle`, `objectives`, `metrics`, `teams`",
    ],
    "unknown_kr_key": [
        "b.yaml:12:9: objectives[0].key_results[0].targt: unknown key `targt` (did you mean `target`?); expected one of `key`, `title`, `description`, `kind`, `source`, `metric`, `start`, `target`, `weight`, `unit`, `owner`, `publish_to`, `accumulates`, `breakdown`, `for_each`, `targets`",
    ],
    "title_wrong_type": [
        "b.yaml:8:16: objectives[0].key_results[0].title: expected a non-empty text, got a list",
    ],
    "target_not_a_number": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a number or a percentage like `8%`, got 'eight'",
    ],
    "percentage_over_100": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a percentage between 0% and 100% for metric `win_rate`, got `150%`",
    ],
    "ratio_target_as_whole_number": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a percentage like `35%` or a fraction between 0 and 1 (metric `win_rate` is a ratio), got 35",
    ],
    "percentage_on_currency": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a number (metric `pipeline_value` is in currency, not a ratio), got `15%`",
    ],
    "duplicate_yaml_key": [
        "b.yaml:12:9: objectives[0].key_results[0].target: duplicate key `target` (first defined at line 11)",
    ],
    "start_equals_target": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a target different from the start (`35%`), got `35%`",
    ],
    "unknown_source": [
        "b.yaml:9:17: objectives[0].key_results[0].source: unknown source `pipedrive`; expected one of `hubspot`, `salesforce` (the connectors of the configuration)",
    ],
    "unknown_metric_name": [
        "b.yaml:10:17: objectives[0].key_results[0].metric: unknown metric `win_rat` for source `salesforce` (did you mean `win_rate`?); expected one of `avg_deal_size`, `customer_churn_rate`, `customer_lifetime_value`, `first_response_hours`, `lead_conversion_rate`, `new_pipeline`, `nps`, `pipeline_count`, `pipeline_value`, `qualified_lead_rate`, `win_rate`, `won_revenue` or a metric expression",
    ],
    "ratio_without_denominator": [
        "b.yaml:10:25: objectives[0].key_results[0].metric.ratio: missing required key `denominator`",
    ],
    "unknown_where_operator": [
        "b.yaml:10:48: objectives[0].key_results[0].metric.where.Status.like: unknown key `like`; expected one of `eq`, `ne`, `in`, `not_in`, `gt`, `gte`, `lt`, `lte`, `is_null`",
    ],
    "where_null_value": [
        "b.yaml:10:47: objectives[0].key_results[0].metric.where.Status: expected a value, a list of values or operators like `{gte: 100}` (use `{is_null: true}` for empty fields), got null",
    ],
    "window_bad_range": [
        "b.yaml:10:54: objectives[0].key_results[0].metric.window.ActivityDate: expected `cycle`, `cycle_to_date`, `last_N_days` (like `last_30_days`) or `all_time`, got 'last_week'",
    ],
    "window_two_fields": [
        "b.yaml:10:39: objectives[0].key_results[0].metric.window: expected exactly one date field like `{CloseDate: cycle}`, got 2",
    ],
    "two_aggregations": [
        "b.yaml:10:17: objectives[0].key_results[0].metric: expected exactly one of `count`, `sum`, `avg`, `min`, `max`, `count_distinct`, got `count` and `sum`",
    ],
    "aggregation_of_nothing": [
        "b.yaml:10:17: objectives[0].key_results[0].metric: expected one of `count`, `sum`, `avg`, `min`, `max`, `count_distinct` with an object or `Object.Field`, got none",
    ],
    "expression_without_kind": [
        "b.yaml:10:17: objectives[0].key_results[0].metric: expected a metric name or an expression with one of `count`, `sum`, `avg`, `min`, `max`, `count_distinct`, `ratio`, `per`, `nps`, `churn_rate`, `avg_duration`, `median_duration`, got keys `total`",
    ],
    "sum_without_field": [
        "b.yaml:10:23: objectives[0].key_results[0].metric.sum: expected `Object.Field` like `Opportunity.Amount`, got 'Opportunity'",
    ],
    "cycle_end_before_start": [
        "b.yaml:2:48: cycle.end: expected an end on or after the start 2026-07-01, got 2026-06-30",
    ],
    "unknown_cycle_reference": [
        "b.yaml:2:8: cycle: unknown cycle `2026-Q5`; expected a cycle defined in a mapping file (none defined) or a definition `{name, start, end}`",
    ],
    "cycle_redefined_with_other_dates": [
        "b.yaml:2:8: cycle: cycle `2026-Q3` is already defined as 2026-07-01..2026-09-30 at a.yaml:2:8; expected the same dates or just the name `cycle: 2026-Q3`",
    ],
    "duplicate_objective_across_files": [
        "b.yaml:4:10: objectives[0].key: duplicate objective key `o1` in cycle `2026-Q3` (first at a.yaml:4:10)",
    ],
    "duplicate_kr_key": [
        "b.yaml:12:14: objectives[0].key_results[1].key: duplicate key result key `k1` in objective `o1` (first at b.yaml:7:14)",
    ],
    "owner_both": [
        "b.yaml:6:12: objectives[0].owner: expected exactly one of `team` or `user`, got both",
    ],
    "owner_bad_email": [
        "b.yaml:12:23: objectives[0].key_results[0].owner.user: expected an e-mail address like `jane@acme.example`, got 'jane'",
    ],
    "accumulates_not_a_flag": [
        "b.yaml:12:22: objectives[0].key_results[0].accumulates: expected `true` or `false`, got 'sometimes'",
    ],
    "named_metric_accumulates_not_a_flag": [
        "a.yaml:5:20: metrics.salesforce.trainings.accumulates: expected `true` or `false`, got 1",
    ],
    "aligns_to_unknown": [
        "b.yaml:6:16: objectives[0].aligns_to: unknown objective `grow-revenue`; expected the key of an objective in cycle `2026-Q3` (none) or `<cycle>/<objective>`",
    ],
    "alignment_loop": [
        "b.yaml:6:16: objectives[0].aligns_to: objectives align to each other in a loop: 2026-Q3/o1 → 2026-Q3/o2 → 2026-Q3/o1",
        "b.yaml:15:16: objectives[1].aligns_to: objectives align to each other in a loop: 2026-Q3/o2 → 2026-Q3/o1 → 2026-Q3/o2",
    ],
    "milestone_target_below_start": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a milestone target above its start (2), got 1",
    ],
    "metric_without_target": [
        "b.yaml:7:9: objectives[0].key_results[0]: missing required key `target` (a metric key result needs a target)",
    ],
    "unsupported_version": [
        "b.yaml:1:10: version: expected 1, got 2",
    ],
    "yaml_syntax_error": [
        "b.yaml:2:59: invalid YAML: while parsing a flow sequence expected ',' or ']', but got '}'",
    ],
    "empty_file": [
        "b.yaml:1:1: expected a mapping with `version: 1`, got an empty file",
    ],
    "top_level_list": [
        "b.yaml:1:1: expected a mapping with `version: 1`, got a list",
    ],
    "invalid_utf8": [
        "b.yaml:8:17: expected UTF-8 text, got byte 0xe9",
    ],
    "nps_out_of_range": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected an NPS between -100 and 100 for metric `nps`, got 150",
    ],
    "weight_zero": [
        "b.yaml:12:17: objectives[0].key_results[0].weight: expected a weight greater than 0 and at most 1000, got 0",
    ],
    "unknown_kind": [
        "b.yaml:12:15: objectives[0].key_results[0].kind: expected 'metric' or 'milestone', got 'goal'",
    ],
    "metrics_unknown_source": [
        "b.yaml:13:3: metrics.pipedrive: unknown source `pipedrive`; expected one of `hubspot`, `salesforce` (the connectors of the configuration)",
    ],
    "named_metric_unknown_reference": [
        "b.yaml:15:35: metrics.salesforce.my_rate.metric.ratio.numerator: unknown metric `won_deals` for source `salesforce`; expected one of `avg_deal_size`, `customer_churn_rate`, `customer_lifetime_value`, `first_response_hours`, `lead_conversion_rate`, `my_rate`, `new_pipeline`, `nps`, `pipeline_count`, `pipeline_value`, `qualified_lead_rate`, `win_rate`, `won_revenue` or a metric expression",
    ],
    "named_metric_loop": [
        "b.yaml:14:22: metrics.salesforce.a_rate.metric: metric names refer to each other in a loop: b_rate → a_rate → b_rate",
        "b.yaml:15:22: metrics.salesforce.b_rate.metric: metric names refer to each other in a loop: a_rate → b_rate → a_rate",
    ],
    "objectives_without_cycle": [
        "b.yaml:1:1: missing required key `cycle` (the objectives of a file belong to one)",
    ],
    "no_key_results": [
        "b.yaml:6:18: objectives[0].key_results: expected at least 1 item(s), got none",
    ],
    "key_with_spaces": [
        "b.yaml:4:10: objectives[0].key: expected a key of lowercase letters, digits, `-` and `_` (at most 80), got 'Grow Revenue'",
    ],
    "impossible_date": [
        "b.yaml:2:31: cycle.start: expected a date like 2026-07-01, got '2026-13-01'",
    ],
    "nan_target": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a finite number, got nan",
    ],
    "huge_number": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a number of at most 1e15 in size, got 1e+300",
    ],
    "yaml_tag": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected no YAML tag here, got `!!binary`",
    ],
    "publish_to_unknown": [
        "b.yaml:12:22: objectives[0].key_results[0].publish_to[0]: unknown source `pipedrive`; expected one of `hubspot`, `salesforce` (the connectors of the configuration)",
    ],
    "negative_count": [
        "b.yaml:11:17: objectives[0].key_results[0].target: expected a count of 0 or more for this metric, got -3",
    ],
    "many_problems_one_run": [
        "b.yaml:10:17: objectives[0].key_results[0].metric: unknown metric `win_rat` for source `salesforce` (did you mean `win_rate`?); expected one of `avg_deal_size`, `customer_churn_rate`, `customer_lifetime_value`, `first_response_hours`, `lead_conversion_rate`, `new_pipeline`, `nps`, `pipeline_count`, `pipeline_value`, `qualified_lead_rate`, `win_rate`, `won_revenue` or a metric expression",
        "b.yaml:12:17: objectives[0].key_results[0].weight: expected a weight greater than 0 and at most 1000, got -1",
        "b.yaml:13:15: objectives[0].key_results[0].kind: expected 'metric' or 'milestone', got 'goal'",
        "b.yaml:14:16: objectives[0].key_results[0].start: expected a number or a percentage like `8%`, got 'eight'",
    ],
}


def test_every_case_has_an_expectation() -> None:
    """The corpus and the expectations name the same cases (at least 25 of them)."""
    assert set(CASES) == set(EXPECTED)
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_mapping_is_reported_with_location(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalogs: dict[str, Catalog]
) -> None:
    """A broken mapping folder raises MappingError listing every problem as file:line:col."""
    for name, content in CASES[case].items():
        data = content if isinstance(content, bytes) else content.encode()
        (tmp_path / name).write_bytes(data)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MappingError) as caught:
        load_mappings(
            tmp_path, sources={"salesforce": "salesforce", "hubspot": "hubspot"}, catalogs=catalogs
        )
    assert [str(p) for p in caught.value.problems] == EXPECTED[case]


def test_a_reused_anchor_is_a_located_error() -> None:
    """Two anchors of one name (ruamel only warns; the later would win) are an error at the second."""
    from okrsync._yaml import load_yaml  # noqa: PLC0415

    _, problems = load_yaml("&a version: 1\n&a version: 1\n", "m.yaml")
    assert [(p.line, p.col) for p in problems] == [(2, 1)]
    assert "duplicate anchor 'a'" in problems[0].message
