"""`plan` blames a field the CRM lacks where a mapping writes it, and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest

from okrsync.catalog import load_plugin_catalog
from okrsync.connector import FieldInfo
from okrsync.mapping.loader import load_mappings
from okrsync.plan import build_plan, check_fields
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.catalog import Catalog

BUILT_IN = dedent("""\
    version: 1
    connector: memory
    metrics:
      won_revenue:
        unit: currency
        metric: {sum: deals.amount, where: {won: true}, window: {close_day: cycle_to_date}}
      win_rate:
        unit: percent
        metric:
          ratio:
            numerator: {count: deals, where: {won: true}}
            denominator: {count: deals, where: {closed: true}}
      churn:
        unit: percent
        metric: {churn_rate: accounts, customer_since: since, churned_on: churned}
""")
OKRS = dedent("""\
    version: 1
    cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
    objectives:
      - key: grow
        title: Grow
        key_results:
          - {key: won, title: Won, source: crm, metric: won_revenue, target: 1000}
          - {key: rate, title: Rate, source: crm, metric: win_rate, start: 10%, target: 30%}
          - key: emea
            title: EMEA pipeline
            source: crm
            metric:
              sum: deals.amount
              where: {region: EMEA, closed: false}
            target: 500
          - {key: trainings, title: Trainings, source: crm, metric: trainings, target: 5}
          - {key: churn, title: Churn, source: crm, metric: churn, start: 9%, target: 5%}
""")
OWN_METRICS = dedent("""\
    version: 1
    metrics:
      crm:
        trainings:
          unit: count
          metric:
            count: events
            where: {kind: Training}
            window: {held_on: cycle_to_date}
""")
DEALS = {
    name: FieldInfo(name, kind)
    for name, kind in [
        ("amount", "currency"),
        ("won", "boolean"),
        ("closed", "boolean"),
        ("close_day", "date"),
    ]
}


@dataclass
class _Plugin:
    """Just enough of a connector plugin to load a built-in catalog."""

    name: str = "memory"

    def catalog(self) -> tuple[str, str]:
        return "memory/catalog.yaml", BUILT_IN


@pytest.fixture
def catalog() -> Catalog:
    """The built-in catalog of the `memory` connector type."""
    return load_plugin_catalog(_Plugin())  # type: ignore[arg-type]


def _problems(tmp_path: Path, catalog: Catalog, crm: InMemoryConnector) -> list[str]:
    folder = tmp_path / "maps"
    folder.mkdir(exist_ok=True)
    (folder / "q3.yaml").write_text(OKRS)
    (folder / "metrics.yaml").write_text(OWN_METRICS)
    mappings = load_mappings(folder, sources={"crm": "memory"}, catalogs={"memory": catalog})
    _, problems = check_fields(build_plan(mappings), {"crm": crm})
    return [str(p).removeprefix(f"{folder}/") for p in problems]


def _crm(**objects: dict[str, FieldInfo]) -> InMemoryConnector:
    return InMemoryConnector("crm", objects=objects)


def test_a_field_in_one_where_is_blamed_there_only(tmp_path: Path, catalog: Catalog) -> None:
    """A `where` field the CRM lacks is reported at that key, not at others reading the object."""
    events = {"kind": FieldInfo("kind", "picklist"), "held_on": FieldInfo("held_on", "date")}
    accounts = {"since": FieldInfo("since", "date"), "churned": FieldInfo("churned", "date")}
    problems = _problems(tmp_path, catalog, _crm(deals=DEALS, events=events, accounts=accounts))
    assert problems == [
        (
            "q3.yaml:14:19: objectives[0].key_results[2].metric.where.region: "
            "crm has no field `deals.region`"
        )
    ]


def test_a_field_in_an_own_metric_is_blamed_in_metrics_yaml(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A field missing from an admin's named metric is reported at its entry in metrics.yaml."""
    deals = {**DEALS, "region": FieldInfo("region", "picklist")}
    accounts = {"since": FieldInfo("since", "date"), "churned": FieldInfo("churned", "date")}
    problems = _problems(
        tmp_path,
        catalog,
        _crm(deals=deals, events={"kind": FieldInfo("kind", "picklist")}, accounts=accounts),
    )
    assert problems == [
        (
            "metrics.yaml:9:18: metrics.crm.trainings.metric.window.held_on: "
            "crm has no field `events.held_on`"
        )
    ]


def test_a_field_of_a_built_in_metric_is_blamed_at_its_name(
    tmp_path: Path, catalog: Catalog
) -> None:
    """A built-in metric's missing field is reported where the name is used, saying how to override."""
    deals = {**DEALS, "region": FieldInfo("region", "picklist")}
    events = {"kind": FieldInfo("kind", "picklist"), "held_on": FieldInfo("held_on", "date")}
    problems = _problems(
        tmp_path, catalog, _crm(deals=deals, events=events, accounts={"since": DEALS["won"]})
    )
    assert problems == [
        (
            "q3.yaml:17:57: objectives[0].key_results[4].metric: crm has no field "
            "`accounts.churned`, which the built-in metric `churn` uses; define your own `churn` "
            f"under `metrics: {{crm: …}}` (for example in {tmp_path}/maps/metrics.yaml) with the "
            "fields your CRM has"
        )
    ]


def test_a_missing_object_is_blamed_where_each_metric_names_it(
    tmp_path: Path, catalog: Catalog
) -> None:
    """An object the CRM lacks is reported at each place that names it."""
    deals = {**DEALS, "region": FieldInfo("region", "picklist")}
    accounts = {"since": FieldInfo("since", "date"), "churned": FieldInfo("churned", "date")}
    problems = _problems(tmp_path, catalog, _crm(deals=deals, accounts=accounts))
    assert problems == [
        "metrics.yaml:7:16: metrics.crm.trainings.metric.count: crm has no object `events`"
    ]
