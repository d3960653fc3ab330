"""Valid mappings load into the domain model with the documented defaults."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest

from okrsync.errors import MappingError
from okrsync.mapping.loader import catalogs_for, load_mappings
from okrsync.mapping.schema import json_schema
from okrsync.metric import Aggregate, ChurnRate, Nps, Percentage, Ratio, Unit, window_bounds
from okrsync.model import KeyResultKind, OwnerKind

if TYPE_CHECKING:
    from okrsync.catalog import Catalog
    from okrsync.model import MappingSet

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"salesforce": "salesforce", "hubspot": "hubspot"}
DESIGN_METRICS = {
    "pipeline_value",
    "pipeline_count",
    "won_revenue",
    "win_rate",
    "avg_deal_size",
    "new_pipeline",
    "lead_conversion_rate",
    "qualified_lead_rate",
    "nps",
    "customer_churn_rate",
    "first_response_hours",
    "customer_lifetime_value",
}


def load(tmp_path: Path, catalogs: dict[str, Catalog], **files: str) -> MappingSet:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(dedent(text))
    return load_mappings(tmp_path, sources=SOURCES, catalogs=catalogs)


def test_shipped_mappings_are_valid(catalogs: dict[str, Catalog]) -> None:
    """The example mappings load and use every catalog metric of both CRMs and every KR kind."""
    loaded = load_mappings(ROOT / "mappings", sources=SOURCES, catalogs=catalogs)
    used = {(kr.source, kr.metric.name) for kr in loaded.key_results()}
    for source in SOURCES:
        assert {name for src, name in used if src == source} >= DESIGN_METRICS
    assert {kr.kind for kr in loaded.key_results()} == set(KeyResultKind)
    assert any(o.aligns_to for o in loaded.objectives)
    assert [c.name for c in loaded.cycles] == ["2026-H2", "2026-Q3"]


def test_shipped_mappings_reference_the_committed_schema() -> None:
    """Each example file starts with the yaml-language-server schema line editors read."""
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=./okrsync-mapping.schema.json", path


def test_committed_schema_is_current() -> None:
    """mappings/okrsync-mapping.schema.json equals what `okrsync schema` generates."""
    committed = json.loads((ROOT / "mappings" / "okrsync-mapping.schema.json").read_text())
    assert committed == json_schema()


def test_catalogs_resolve_every_design_metric(catalogs: dict[str, Catalog]) -> None:
    """Both connectors' catalogs define exactly the design's metric names."""
    for name in ("salesforce", "hubspot"):
        assert set(catalogs[name].names()) == DESIGN_METRICS


def test_catalog_resolves_to_concrete_expressions(
    catalogs: dict[str, Catalog], tmp_path: Path
) -> None:
    """Catalog names become CRM-specific expressions with the design's filters and windows."""
    loaded = load(
        tmp_path,
        catalogs,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            key_results:
              - {key: sf-win, title: W, source: salesforce, metric: win_rate, target: 35%}
              - {key: hs-win, title: W, source: hubspot, metric: win_rate, target: 35%}
              - {key: hs-nps, title: N, source: hubspot, metric: nps, start: 30, target: 50}
              - {key: sf-churn, title: C, source: salesforce, metric: customer_churn_rate, start: 15%, target: 8%}
        """,
    )
    krs = {kr.key: kr for kr in loaded.key_results()}
    sf = krs["sf-win"].metric.expr
    assert isinstance(sf, Ratio)
    num, den = sf.ratio.numerator, sf.ratio.denominator
    assert isinstance(num, Aggregate)
    assert isinstance(den, Aggregate)
    assert (num.function, num.object_name, num.where) == ("count", "Opportunity", {"IsWon": True})
    assert den.where == {"IsClosed": True}
    assert num.window_field() == ("CloseDate", "cycle_to_date")
    hs = krs["hs-win"].metric.expr
    assert isinstance(hs, Ratio)
    assert isinstance(hs.ratio.numerator, Aggregate)
    assert hs.ratio.numerator.where == {"hs_is_closed_won": True}
    nps = krs["hs-nps"].metric.expr
    assert isinstance(nps, Nps)
    assert (nps.object_name, nps.field) == ("feedback_submissions", "hs_response_value")
    assert nps.where == {"hs_survey_type": "NPS"}
    churn = krs["sf-churn"].metric.expr
    assert isinstance(churn, ChurnRate)
    assert (churn.churn_rate, churn.customer_since, churn.churned_on) == (
        "Account",
        "Customer_Since__c",
        "Churned_On__c",
    )
    assert krs["sf-churn"].unit is Unit.PERCENT
    assert krs["sf-churn"].lower_is_better
    assert krs["hs-nps"].unit is Unit.NPS


def test_defaults_and_percentages(catalogs: dict[str, Catalog], tmp_path: Path) -> None:
    """The start defaults to 0, a milestone's target to 1, and "15%" equals 0.15."""
    loaded = load(
        tmp_path,
        catalogs,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            owner: {user: jane@acme.example}
            key_results:
              - {key: a, title: A, source: salesforce, metric: {count: Task}, target: 10}
              - {key: b, title: B, kind: milestone, source: salesforce, metric: {count: Task}}
              - {key: c, title: C, source: salesforce, metric: win_rate, start: 0.15, target: 35%}
              - {key: d, title: D, source: salesforce, metric: win_rate, target: 0.35, owner: {team: EMEA}}
        """,
    )
    a, b, c, d = loaded.key_results()
    assert (a.start, a.target, a.kind) == (0.0, 10.0, KeyResultKind.METRIC)
    assert (b.start, b.target, b.kind) == (0.0, 1.0, KeyResultKind.MILESTONE)
    assert c.start == pytest.approx(0.15)
    assert c.target == pytest.approx(0.35)
    assert isinstance(c.target, Percentage)
    assert d.target == pytest.approx(c.target)
    assert a.owner is not None
    assert (a.owner.kind, a.owner.name) == (OwnerKind.USER, "jane@acme.example")
    assert d.owner is not None
    assert (d.owner.kind, d.owner.name) == (OwnerKind.TEAM, "EMEA")
    assert a.full_key == "Q/o/a"
    assert loaded.objectives[0].full_key == "Q/o"


ACCUMULATING = {"won_revenue", "new_pipeline", "customer_churn_rate"}
"""The catalog metrics the design names as accumulating; every other one is a level."""


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_catalog_carries_each_metric_nature(catalogs: dict[str, Catalog], source: str) -> None:
    """Each catalog states `accumulates` for every entry: won revenue, new pipeline and churn accumulate."""
    catalog = catalogs[source]
    for name in DESIGN_METRICS:
        assert catalog.definition(name).spec.accumulates is (name in ACCUMULATING), name


@pytest.mark.parametrize(
    ("metric", "accumulates"),
    [
        ("{count: Task, window: {ActivityDate: cycle_to_date}}", True),
        ("{sum: Opportunity.Amount, window: {CloseDate: cycle}}", True),
        ("{count_distinct: Task.WhoId, window: {ActivityDate: cycle}}", True),
        (
            "{churn_rate: Account, customer_since: Customer_Since__c, churned_on: Churned_On__c}",
            True,
        ),
        ("{count: Task}", False),  # no window: a snapshot of every row
        ("{sum: Opportunity.Amount, window: {CloseDate: last_30_days}}", False),
        ("{count: Task, window: {ActivityDate: all_time}}", False),
        ("{avg: Opportunity.Amount, window: {CloseDate: cycle_to_date}}", False),
        ("{min: Opportunity.Amount, window: {CloseDate: cycle_to_date}}", False),
        ("{max: Opportunity.Amount, window: {CloseDate: cycle}}", False),
        ("{nps: NPS_Response__c.Score__c, window: {Response_Date__c: cycle_to_date}}", False),
        (
            "{ratio: {numerator: {count: Task, window: {ActivityDate: cycle}}, denominator: {count: Task}}}",
            False,
        ),
    ],
)
def test_nature_inferred_from_the_expression(
    catalogs: dict[str, Catalog], tmp_path: Path, metric: str, accumulates: bool
) -> None:
    """Counts, sums and distinct counts over the cycle and churn rates accumulate; the rest are levels."""
    loaded = load(
        tmp_path,
        catalogs,
        m=f"""\
        version: 1
        cycle: {{name: Q, start: 2026-07-01, end: 2026-09-30}}
        objectives:
          - key: o
            title: O
            key_results:
              - {{key: k, title: K, source: salesforce, metric: {metric}, start: 0.5, target: 0.9}}
        """,
    )
    assert next(loaded.key_results()).accumulates is accumulates


def test_nature_from_catalog_admin_metrics_and_key_result_override(
    catalogs: dict[str, Catalog], tmp_path: Path
) -> None:
    """A key result's `accumulates` wins over its named metric's, which wins over the inference."""
    loaded = load(
        tmp_path,
        catalogs,
        metrics="""\
        version: 1
        metrics:
          salesforce:
            signed_contracts:
              accumulates: false
              metric: {count: Contract, window: {StartDate: cycle_to_date}}
            contracts: {metric: signed_contracts}
            open_pipeline:
              metric: {sum: Opportunity.Amount, where: {IsClosed: false}, window: {CloseDate: cycle}}
        """,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            key_results:
              - {key: won, title: W, source: hubspot, metric: won_revenue, target: 10}
              - {key: pipe, title: P, source: salesforce, metric: pipeline_value, target: 10}
              - {key: won-level, title: WL, source: salesforce, metric: won_revenue, target: 10, accumulates: false}
              - {key: avg-acc, title: AA, source: salesforce, metric: avg_deal_size, target: 10, accumulates: true}
              - {key: signed, title: S, source: salesforce, metric: signed_contracts, target: 10}
              - {key: alias, title: A, source: salesforce, metric: contracts, target: 10}
              - {key: own, title: O, source: salesforce, metric: open_pipeline, target: 10}
        """,
    )
    natures = {kr.key: kr.accumulates for kr in loaded.key_results()}
    assert natures == {
        "won": True,  # the catalog says so
        "pipe": False,  # the catalog says so, against the inference (a snapshot)
        "won-level": False,  # the key result overrides
        "avg-acc": True,
        "signed": False,  # the admin's named metric says so, against the inference
        "alias": False,  # a name for that name carries its nature
        "own": True,  # an admin metric without `accumulates` is inferred
    }


def test_cycle_shared_across_files_and_alignment(
    catalogs: dict[str, Catalog], tmp_path: Path
) -> None:
    """A file may name a cycle defined in another; aligns_to resolves in the cycle or across."""
    loaded = load(
        tmp_path,
        catalogs,
        a="""\
        version: 1
        cycle: {name: 2026, start: 2026-01-01, end: 2026-12-31}
        objectives:
          - key: company
            title: Company
            key_results: [{key: k, title: K, source: hubspot, metric: won_revenue, target: 1000}]
        """,
        b="""\
        version: 1
        cycle: {name: 2026-Q3, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: team
            title: Team
            aligns_to: 2026/company
            key_results: [{key: k, title: K, source: hubspot, metric: won_revenue, target: 100}]
          - key: squad
            title: Squad
            aligns_to: team
            key_results: [{key: k, title: K, source: hubspot, metric: won_revenue, target: 10}]
        """,
        c="""\
        version: 1
        cycle: 2026-Q3
        objectives:
          - key: other
            title: Other
            key_results: [{key: k, title: K, source: salesforce, metric: won_revenue, target: 5}]
        """,
    )
    by_key = {o.full_key: o for o in loaded.objectives}
    assert by_key["2026-Q3/team"].aligns_to == "2026/company"
    assert by_key["2026-Q3/squad"].aligns_to == "2026-Q3/team"
    assert by_key["2026-Q3/other"].cycle.start == date(2026, 7, 1)
    assert loaded.sources() == {"hubspot", "salesforce"}


def test_admin_metrics_override_and_extend_catalog(
    catalogs: dict[str, Catalog], tmp_path: Path
) -> None:
    """metrics.yaml can redefine a catalog name (NPS in Survey__c) and add new names."""
    loaded = load(
        tmp_path,
        catalogs,
        metrics="""\
        version: 1
        metrics:
          salesforce:
            nps:
              metric: {nps: Survey__c.Score__c, window: {Completed_On__c: cycle_to_date}}
            demo_calls:
              unit: count
              metric: {count: Event, where: {Type: Demo}}
            demo_share:
              metric: {ratio: {numerator: demo_calls, denominator: {count: Event}}}
        """,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            key_results:
              - {key: n, title: N, source: salesforce, metric: nps, start: 30, target: 50}
              - {key: h, title: H, source: hubspot, metric: nps, start: 30, target: 50}
              - {key: s, title: S, source: salesforce, metric: demo_share, target: 50%}
        """,
    )
    n, h, s = loaded.key_results()
    assert isinstance(n.metric.expr, Nps)
    assert n.metric.expr.nps == "Survey__c.Score__c"
    assert isinstance(h.metric.expr, Nps)
    assert h.metric.expr.object_name == "feedback_submissions"
    assert isinstance(s.metric.expr, Ratio)
    numerator = s.metric.expr.ratio.numerator
    assert isinstance(numerator, Aggregate)
    assert numerator.where == {"Type": "Demo"}
    assert s.unit is Unit.PERCENT


def test_instance_metrics_apply_to_that_instance_only(
    catalogs: dict[str, Catalog], tmp_path: Path
) -> None:
    """Metrics under an instance name override the type-level ones for that instance only."""
    (tmp_path / "m.yaml").write_text(
        dedent("""\
        version: 1
        metrics:
          salesforce:
            calls: {metric: {count: Task, where: {Type: Call}}}
          sf-emea:
            calls: {metric: {count: Task, where: {Type: Call, Region__c: EMEA}}}
        """)
    )
    sources = {"salesforce": "salesforce", "sf-emea": "salesforce"}
    per = catalogs_for(tmp_path, sources=sources, catalogs=catalogs)
    emea = per["sf-emea"].definition("calls").spec.metric
    base = per["salesforce"].definition("calls").spec.metric
    assert isinstance(emea, Aggregate)
    assert isinstance(base, Aggregate)
    assert emea.where == {"Type": "Call", "Region__c": "EMEA"}
    assert base.where == {"Type": "Call"}
    assert "win_rate" in per["sf-emea"]


def test_where_forms(catalogs: dict[str, Catalog], tmp_path: Path) -> None:
    """A where takes values, lists (in), operators and a list of groups (any of)."""
    loaded = load(
        tmp_path,
        catalogs,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            key_results:
              - key: k
                title: K
                source: salesforce
                metric:
                  sum: Opportunity.Amount
                  where:
                    - {StageName: [Negotiation, Proposal], Amount: {gte: 1000, lt: 50000}}
                    - {IsWon: true, Owner.Email: {ne: bot@acme.example}, Region__c: {is_null: true}}
                target: 100000
        """,
    )
    expr = next(loaded.key_results()).metric.expr
    assert isinstance(expr, Aggregate)
    first, second = expr.where_groups()
    assert first["StageName"] == ("Negotiation", "Proposal")
    amount = first["Amount"]
    assert not isinstance(amount, (str, int, float, tuple))
    assert amount.items() == [("gte", 1000), ("lt", 50000)]
    owner = second["Owner.Email"]
    assert not isinstance(owner, (str, int, float, tuple))
    assert owner.items() == [("ne", "bot@acme.example")]


def test_yaml_anchors_and_merge_keys(catalogs: dict[str, Catalog], tmp_path: Path) -> None:
    """Anchors and `<<` merge keys let admins share settings between key results."""
    loaded = load(
        tmp_path,
        catalogs,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            key_results:
              - &base {key: a, title: A, source: hubspot, metric: won_revenue, target: 100}
              - {<<: *base, key: b, target: 200}
        """,
    )
    a, b = loaded.key_results()
    assert (b.key, b.title, b.target, b.source) == ("b", "A", 200.0, "hubspot")
    assert a.target == 100.0


def test_missing_folder_and_empty_folder(catalogs: dict[str, Catalog], tmp_path: Path) -> None:
    """A missing folder or one without YAML files is a clear error, not an empty success."""
    with pytest.raises(MappingError, match="does not exist"):
        load_mappings(tmp_path / "nope", sources=SOURCES, catalogs=catalogs)
    with pytest.raises(MappingError, match="found none"):
        load_mappings(tmp_path, sources=SOURCES, catalogs=catalogs)


@pytest.mark.parametrize(
    ("window", "as_of", "expected"),
    [
        ("cycle", date(2026, 8, 15), (date(2026, 7, 1), date(2026, 9, 30))),
        ("cycle_to_date", date(2026, 8, 15), (date(2026, 7, 1), date(2026, 8, 15))),
        ("cycle_to_date", date(2026, 12, 1), (date(2026, 7, 1), date(2026, 9, 30))),
        ("cycle_to_date", date(2026, 6, 1), (date(2026, 7, 1), date(2026, 6, 1))),
        ("last_7_days", date(2026, 8, 15), (date(2026, 8, 9), date(2026, 8, 15))),
        ("last_1_days", date(2026, 8, 15), (date(2026, 8, 15), date(2026, 8, 15))),
        ("all_time", date(2026, 8, 15), (None, None)),
    ],
)
def test_window_bounds(window: str, as_of: date, expected: tuple[date | None, date | None]) -> None:
    """Windows are inclusive day ranges relative to the cycle and the as-of date."""
    assert window_bounds(window, date(2026, 7, 1), date(2026, 9, 30), as_of) == expected


def test_folded_and_literal_scalars_read_as_yaml_defines_them(
    catalogs: dict[str, Catalog], tmp_path: Path
) -> None:
    """A folded description joins its lines with spaces and keeps no parser marks."""
    loaded = load(
        tmp_path,
        catalogs,
        m="""\
        version: 1
        cycle: {name: Q, start: 2026-07-01, end: 2026-09-30}
        objectives:
          - key: o
            title: O
            description: >-
              In the second
              half we win more.
            key_results:
              - key: k
                title: K
                description: |
                  line one
                  line two
                source: hubspot
                metric: won_revenue
                target: 100
        """,
    )
    assert loaded.objectives[0].description == "In the second half we win more."
    assert next(loaded.key_results()).description == "line one\nline two\n"
