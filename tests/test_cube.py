"""Key results answered from grouped scans (okrsync.cube) equal the SQL path's values."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy import event

import okrsync.cube
from okrsync.compute import _evaluate, evaluate
from okrsync.connector import FieldInfo
from okrsync.cube import Cubes
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.replica import Replica

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from okrsync.catalog import Catalog
    from okrsync.model import MappingSet

AS_OF = date(2026, 8, 15)
FIELDS = {
    "Amount": FieldInfo("Amount", "currency"),
    "Quantity": FieldInfo("Quantity", "int"),
    "IsWon": FieldInfo("IsWon", "boolean"),
    "StageName": FieldInfo("StageName", "picklist"),
    "CloseDate": FieldInfo("CloseDate", "date"),
    "CreatedDate": FieldInfo("CreatedDate", "datetime"),
    "Score": FieldInfo("Score", "double"),
}
STAGES = ["Prospecting", "prospecting", "Closed Won", "MÜLLER", "Müller", None]

# Every kind the cube answers, and some it leaves to SQL (count_distinct, churn), under
# where clauses of every operator, windows of every kind, any-of groups and ratios.
METRICS = [
    "{count: Opportunity}",
    "{count: Opportunity, where: {IsWon: true}, window: {CloseDate: cycle_to_date}}",
    "{sum: Opportunity.Amount, window: {CloseDate: cycle}}",
    "{sum: Opportunity.Quantity, where: {StageName: prospecting}}",
    "{avg: Opportunity.Amount, where: {StageName: [Closed Won, müller]}, window: {CreatedDate: cycle_to_date}}",
    "{min: Opportunity.Amount, where: {Amount: {gt: 100, lte: 900}}, window: {CloseDate: last_30_days}}",
    "{max: Opportunity.Quantity, where: {StageName: {ne: Prospecting}}}",
    "{max: Opportunity.Amount, where: [{IsWon: true}, {StageName: {not_in: [Prospecting, MÜLLER]}}]}",
    "{count: Opportunity, where: {StageName: {is_null: true}}, window: {CloseDate: all_time}}",
    "{count: Opportunity, where: {CreatedDate: {gte: 2026-08-01}, Amount: {is_null: false}}}",
    "{avg: Opportunity.Score, window: {CloseDate: last_7_days}}",
    "{nps: Opportunity.Score, window: {CreatedDate: cycle_to_date}}",
    "{nps: Opportunity.Score, where: {IsWon: false}}",
    "{ratio: {numerator: {count: Opportunity, where: {IsWon: true}, window: {CloseDate: cycle_to_date}}, denominator: {count: Opportunity, window: {CloseDate: cycle_to_date}}}}",
    "{ratio: {numerator: {sum: Opportunity.Amount, where: {IsWon: true}}, denominator: {count_distinct: Opportunity.StageName}}}",
    "{count_distinct: Opportunity.StageName, window: {CloseDate: cycle}}",
]


def _rows(seed: int, n: int) -> list[dict[str, object]]:
    rnd = random.Random(seed)  # noqa: S311  (test data, not secrets)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    rows: list[dict[str, object]] = []
    for i in range(n):
        created = start + timedelta(minutes=rnd.randrange(0, 200 * 24 * 60))
        rows.append(
            {
                "Id": f"o{i}",
                "Amount": None if rnd.random() < 0.1 else round(rnd.uniform(0, 1000), 2),
                "Quantity": rnd.randrange(0, 50),
                "IsWon": None if rnd.random() < 0.05 else rnd.random() < 0.4,
                "StageName": rnd.choice(STAGES),
                "CloseDate": None
                if rnd.random() < 0.08
                else (created + timedelta(days=rnd.randrange(0, 90))).date(),
                "CreatedDate": created,
                "Score": None if rnd.random() < 0.1 else float(rnd.randrange(-1, 12)),
            }
        )
    return rows


def _load(tmp_path: Path, catalogs: dict[str, Catalog], metrics: list[str]) -> MappingSet:
    lines = [
        f"- {{key: k{i}, title: K{i}, source: salesforce, metric: {m}, "
        f"target: {'50%' if 'ratio' in m else 10}}}"
        for i, m in enumerate(metrics)
    ]
    body = "\n".join("      " + line for line in lines)
    (tmp_path / "m.yaml").write_text(
        dedent("""\
            version: 1
            cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
            objectives:
              - key: o
                title: O
                key_results:
            """)
        + body
        + "\n",
        encoding="utf-8",
    )
    return load_mappings(tmp_path, sources={"salesforce": "salesforce"}, catalogs=catalogs)


def _replica(engine: Engine, rows: list[dict[str, object]]) -> Replica:
    replica = Replica(engine)
    table = replica.ensure("salesforce", "Opportunity", FIELDS)
    with engine.begin() as conn:
        table.upsert(conn, rows)
    return replica


def _both(engine: Engine, replica: Replica, loaded: MappingSet, as_of: date) -> tuple[dict, dict]:
    krs = list(loaded.key_results())
    cubed = {k: (v.value, v.error) for k, v in evaluate(engine, replica, krs, as_of).items()}
    plain = {k: (v.value, v.error) for k, v in _evaluate(engine, replica, krs, as_of, None).items()}
    return cubed, plain


def _same(cubed: dict, plain: dict) -> None:
    assert cubed.keys() == plain.keys()
    for key, (value, error) in plain.items():
        assert cubed[key][1] == error, key
        if value is None:
            assert cubed[key][0] is None, key
        else:
            assert cubed[key][0] == pytest.approx(value, rel=1e-12, abs=1e-9), key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cubes_give_the_sql_paths_values(tmp_path: Path, catalogs, seed: int) -> None:
    """Every metric kind, operator and window gives the same value from a cube as from the SQL path."""
    engine = open_store("sqlite://")
    replica = _replica(engine, _rows(seed, 600))
    loaded = _load(tmp_path, catalogs, METRICS)
    for as_of in (AS_OF, date(2026, 6, 1), date(2026, 10, 15)):
        cubed, plain = _both(engine, replica, loaded, as_of)
        _same(cubed, plain)
    assert any(v is not None for v, _ in cubed.values())


@pytest.mark.postgres
def test_cubes_give_the_sql_paths_values_on_postgresql(
    tmp_path: Path, catalogs, postgres_url: str
) -> None:
    """On PostgreSQL too, cubes and the SQL path agree for every metric kind."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"cube_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = open_store(postgres_url.rsplit("/", 1)[0] + "/" + name)
    try:
        replica = _replica(engine, _rows(4, 400))
        cubed, plain = _both(engine, replica, _load(tmp_path, catalogs, METRICS), AS_OF)
        _same(cubed, plain)
    finally:
        engine.dispose()


def test_one_scan_per_object_and_window_field_whatever_the_key_results(
    tmp_path: Path, catalogs
) -> None:
    """Two hundred key results over one object and two window fields cost two SELECTs, as do two."""
    engine = open_store("sqlite://")
    replica = _replica(engine, _rows(5, 300))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for count in (2, 200):
        metrics = [
            "{count: Opportunity, where: {IsWon: true}, window: {CloseDate: cycle_to_date}}",
            "{sum: Opportunity.Amount, where: {StageName: Closed Won}, window: {CreatedDate: cycle}}",
        ]
        many = [
            m.replace("Closed Won", f"Stage {i % 7}") if i % 3 else m
            for i, m in enumerate(metrics * (count // 2))
        ]
        loaded = _load(tmp_path, catalogs, many)
        statements.clear()
        evaluate(engine, replica, list(loaded.key_results()), AS_OF)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        scans = [s for s in selects if not s.lstrip().startswith(("SELECT min(", "SELECT max("))]
        assert len(scans) == 2, count


def test_a_cube_of_too_many_groups_leaves_its_key_results_to_sql(
    tmp_path: Path, catalogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a cube would hold more groups than MAX_GROUPS its key results still get the SQL path's values."""
    engine = open_store("sqlite://")
    replica = _replica(engine, _rows(6, 400))
    loaded = _load(tmp_path, catalogs, METRICS)
    _, plain = _both(engine, replica, loaded, AS_OF)
    monkeypatch.setattr(okrsync.cube, "MAX_GROUPS", 3)
    cubes = Cubes()
    krs = list(loaded.key_results())
    got = {k: (v.value, v.error) for k, v in _evaluate(engine, replica, krs, AS_OF, cubes).items()}
    assert cubes.fallback == {("salesforce", "Opportunity")}
    _same(got, plain)


def test_a_missing_field_is_the_key_results_error_not_the_others(tmp_path: Path, catalogs) -> None:
    """A metric over a field not replicated gets its error; cube-answered neighbours keep their values."""
    engine = open_store("sqlite://")
    replica = _replica(engine, _rows(7, 50))
    loaded = _load(
        tmp_path,
        catalogs,
        [
            "{sum: Opportunity.Nope__c}",
            "{count: Opportunity, where: {Nope__c: 1}}",
            "{count: Opportunity}",
        ],
    )
    got = evaluate(engine, replica, list(loaded.key_results()), AS_OF)
    by_key = {k.rsplit("/", 1)[1]: v for k, v in got.items()}
    assert by_key["k0"].error == "field Nope__c of Opportunity is not replicated"
    assert by_key["k1"].error == "field Nope__c of Opportunity is not replicated"
    assert by_key["k2"].value == 50.0
