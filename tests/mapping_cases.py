"""Broken mapping inputs: each case is files → the exact problem lines expected."""

from __future__ import annotations

from textwrap import dedent

BASE = """\
version: 1
cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: o1
    title: Objective
    key_results:
      - key: k1
        title: KR
        source: salesforce
        metric: win_rate
        target: 35%
"""


def kr(extra: str, *, metric: str = "win_rate", target: str | None = "35%") -> str:
    """A file with one key result; ``extra`` lines are added to it (8 spaces indented)."""
    lines = [
        "version: 1",
        "cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}",
        "objectives:",
        "  - key: o1",
        "    title: Objective",
        "    key_results:",
        "      - key: k1",
        "        title: KR",
        "        source: salesforce",
        f"        metric: {metric}",
    ]
    if target is not None:
        lines.append(f"        target: {target}")
    lines.extend("        " + line for line in dedent(extra).strip("\n").splitlines() if extra)
    return "\n".join(lines) + "\n"


CASES: dict[str, dict[str, str | bytes]] = {
    "unknown_top_key": {"b.yaml": BASE + "objectivs: []\n"},
    "unknown_kr_key": {"b.yaml": kr("targt: 5")},
    "title_wrong_type": {"b.yaml": BASE.replace("title: KR", "title: [a, b]")},
    "target_not_a_number": {"b.yaml": kr("", target="eight")},
    "percentage_over_100": {"b.yaml": kr("", target="150%")},
    "ratio_target_as_whole_number": {"b.yaml": kr("", target="35")},
    "percentage_on_currency": {"b.yaml": kr("", metric="pipeline_value", target="15%")},
    "duplicate_yaml_key": {"b.yaml": kr("target: 40%")},
    "start_equals_target": {"b.yaml": kr("start: 35%")},
    "unknown_source": {"b.yaml": BASE.replace("source: salesforce", "source: pipedrive")},
    "unknown_metric_name": {"b.yaml": kr("", metric="win_rat")},
    "ratio_without_denominator": {
        "b.yaml": kr("", metric="{ratio: {numerator: {count: Opportunity}}}")
    },
    "unknown_where_operator": {
        "b.yaml": kr("", metric="{count: Task, where: {Status: {like: Done}}}", target="3")
    },
    "where_null_value": {
        "b.yaml": kr("", metric="{count: Task, where: {Status: null}}", target="3")
    },
    "window_bad_range": {
        "b.yaml": kr("", metric="{count: Task, window: {ActivityDate: last_week}}", target="3")
    },
    "window_two_fields": {
        "b.yaml": kr(
            "",
            metric="{count: Task, window: {ActivityDate: cycle, CreatedDate: cycle}}",
            target="3",
        )
    },
    "two_aggregations": {
        "b.yaml": kr("", metric="{count: Task, sum: Opportunity.Amount}", target="3")
    },
    "aggregation_of_nothing": {
        "b.yaml": kr("", metric="{sum: null, where: {IsWon: true}}", target="3")
    },
    "expression_without_kind": {"b.yaml": kr("", metric="{total: Task}", target="3")},
    "sum_without_field": {"b.yaml": kr("", metric="{sum: Opportunity}", target="3")},
    "cycle_end_before_start": {"b.yaml": BASE.replace("end: 2026-09-30", "end: 2026-06-30")},
    "unknown_cycle_reference": {
        "b.yaml": BASE.replace(
            "cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}", "cycle: 2026-Q5"
        )
    },
    "cycle_redefined_with_other_dates": {
        "a.yaml": BASE,
        "b.yaml": BASE.replace("end: 2026-09-30", "end: 2026-09-29").replace("key: o1", "key: o2"),
    },
    "duplicate_objective_across_files": {"a.yaml": BASE, "b.yaml": BASE},
    "duplicate_kr_key": {
        "b.yaml": BASE
        + (
            "      - key: k1\n"
            "        title: Again\n"
            "        source: salesforce\n"
            "        metric: win_rate\n"
            "        target: 40%\n"
        )
    },
    "owner_both": {
        "b.yaml": BASE.replace(
            "    title: Objective\n",
            "    title: Objective\n    owner: {team: EMEA, user: a@b.example}\n",
        )
    },
    "owner_bad_email": {"b.yaml": kr("owner: {user: jane}")},
    "accumulates_not_a_flag": {"b.yaml": kr("accumulates: sometimes")},
    "named_metric_accumulates_not_a_flag": {
        "a.yaml": (
            "version: 1\n"
            "metrics:\n"
            "  salesforce:\n"
            "    trainings:\n"
            "      accumulates: 1\n"
            "      metric: {count: Event, window: {ActivityDate: cycle_to_date}}\n"
        ),
        "b.yaml": BASE,
    },
    "aligns_to_unknown": {
        "b.yaml": BASE.replace(
            "    title: Objective\n", "    title: Objective\n    aligns_to: grow-revenue\n"
        )
    },
    "alignment_loop": {
        "b.yaml": BASE.replace(
            "    title: Objective\n", "    title: Objective\n    aligns_to: o2\n"
        )
        + (
            "  - key: o2\n"
            "    title: Other\n"
            "    aligns_to: o1\n"
            "    key_results:\n"
            "      - key: k1\n"
            "        title: KR\n"
            "        source: salesforce\n"
            "        metric: win_rate\n"
            "        target: 35%\n"
        )
    },
    "milestone_target_below_start": {
        "b.yaml": kr("kind: milestone\nstart: 2", metric="{count: Task}", target="1")
    },
    "metric_without_target": {"b.yaml": kr("", target=None)},
    "unsupported_version": {"b.yaml": BASE.replace("version: 1", "version: 2")},
    "yaml_syntax_error": {"b.yaml": BASE.replace("start: 2026-07-01,", "start: [2026-07-01,")},
    "empty_file": {"b.yaml": ""},
    "top_level_list": {"b.yaml": "- version: 1\n"},
    "invalid_utf8": {"b.yaml": BASE.encode().replace(b"title: KR", b"title: K\xe9R")},
    "nps_out_of_range": {"b.yaml": kr("", metric="nps", target="150")},
    "weight_zero": {"b.yaml": kr("weight: 0")},
    "unknown_kind": {"b.yaml": kr("kind: goal")},
    "metrics_unknown_source": {"b.yaml": BASE + "metrics:\n  pipedrive: {}\n"},
    "named_metric_unknown_reference": {
        "b.yaml": BASE
        + dedent("""\
        metrics:
          salesforce:
            my_rate:
              metric: {ratio: {numerator: won_deals, denominator: {count: Opportunity}}}
        """)
    },
    "named_metric_loop": {
        "b.yaml": BASE
        + dedent("""\
        metrics:
          salesforce:
            a_rate: {metric: b_rate}
            b_rate: {metric: a_rate}
        """)
    },
    "objectives_without_cycle": {
        "b.yaml": BASE.replace("cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}\n", "")
    },
    "no_key_results": {"b.yaml": "\n".join(BASE.splitlines()[:5]) + "\n    key_results: []\n"},
    "key_with_spaces": {"b.yaml": BASE.replace("key: o1", "key: Grow Revenue")},
    "impossible_date": {"b.yaml": BASE.replace("start: 2026-07-01", "start: 2026-13-01")},
    "nan_target": {"b.yaml": kr("", target=".nan")},
    "huge_number": {"b.yaml": kr("", metric="pipeline_value", target="1e300")},
    "yaml_tag": {"b.yaml": kr("", target="!!binary aGk=")},
    "publish_to_unknown": {"b.yaml": kr("publish_to: [pipedrive]")},
    "negative_count": {"b.yaml": kr("", metric="{count: Task}", target="-3")},
    "many_problems_one_run": {
        "b.yaml": kr("weight: -1\nkind: goal\nstart: eight", metric="win_rat")
    },
}
