"""The sync engine over an in-memory CRM: pull, compute, write only changes, survive failures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, select

from okrsync.connector import Cursor, FieldInfo, Page
from okrsync.engine import SyncEngine
from okrsync.errors import MappingError, QuotaReserveReached, RetriableConnectorError
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.models import CheckInRow, CursorRow, OutboxRow, RunRow
from okrsync.testing import InMemoryConnector
from okrsync.testing.memory import _Pull

if TYPE_CHECKING:
    from pathlib import Path

AS_OF = date(2026, 8, 15)
DEALS = {
    "amount": FieldInfo("amount", "currency"),
    "won": FieldInfo("won", "boolean"),
    "closed": FieldInfo("closed", "boolean"),
    "close_day": FieldInfo("close_day", "date"),
    "stage": FieldInfo("stage", "picklist"),
}
CALLS = {"kind": FieldInfo("kind", "picklist"), "day": FieldInfo("day", "date")}

MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    owner: {user: jane@acme.example}
    key_results:
      - key: won
        title: Won revenue
        source: crm
        metric: {sum: deals.amount, where: {won: true}, window: {close_day: cycle_to_date}}
        target: 1000
      - key: win-rate
        title: Win rate
        source: crm
        metric:
          ratio:
            numerator: {count: deals, where: {won: true}, window: {close_day: cycle_to_date}}
            denominator: {count: deals, where: {closed: true}, window: {close_day: cycle_to_date}}
        start: 20%
        target: 50%
  - key: talk
    title: Talk to customers
    owner: {team: EMEA}
    key_results:
      - key: calls
        title: Calls
        source: other
        metric: {count: calls, where: {kind: Interview}}
        target: 10
"""


@pytest.fixture
def crm() -> InMemoryConnector:
    """A CRM with four deals in Q3 (two won) and one before."""
    c = InMemoryConnector("crm", objects={"deals": DEALS})
    for i, (amount, won, closed, day) in enumerate(
        [
            (100.0, True, True, date(2026, 7, 5)),
            (200.0, False, True, date(2026, 7, 6)),
            (300.0, True, True, date(2026, 8, 1)),
            (400.0, False, False, date(2026, 9, 1)),
            (500.0, True, True, date(2026, 6, 1)),
        ]
    ):
        c.put(
            "deals",
            {"Id": f"d{i}", "amount": amount, "won": won, "closed": closed, "close_day": day},
        )
    return c


@pytest.fixture
def other() -> InMemoryConnector:
    """A second CRM with three interview calls."""
    c = InMemoryConnector("other", objects={"calls": CALLS})
    for i in range(3):
        c.put("calls", {"kind": "Interview", "day": date(2026, 7, 10 + i)})
    c.put("calls", {"kind": "Demo", "day": date(2026, 7, 20)})
    return c


@pytest.fixture
def engine_for(tmp_path: Path, crm: InMemoryConnector, other: InMemoryConnector):
    """A factory of engines sharing one store and the two CRMs."""
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING)
    mappings = load_mappings(
        tmp_path / "maps", sources={"crm": "memory", "other": "memory"}, catalogs={}
    )
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")

    def make(**connectors) -> SyncEngine:
        return SyncEngine(
            workspace="test",
            mappings=mappings,
            connectors=connectors or {"crm": crm, "other": other},
            db=db,
            clock=lambda: datetime(2026, 8, 15, 8, tzinfo=UTC),
        )

    make.db = db  # type: ignore[attr-defined]
    return make


def by_key(report) -> dict[str, dict]:
    return {r["key"].rsplit("/", 1)[1]: r for r in report.as_json()["key_results"]}


def test_sync_computes_scores_and_writes_everything_once(engine_for, crm, other) -> None:
    """A first sync writes every objective and KR to its CRM with the computed values."""
    report = engine_for().run("sync", AS_OF)
    krs = by_key(report)
    assert krs["won"]["value"] == 400.0  # d0 + d2 (d4 closed before the cycle)
    assert krs["won"]["progress"] == 0.4
    assert krs["win-rate"]["value"] == pytest.approx(2 / 3)  # d0, d2 won of d0, d1, d2 closed
    assert krs["calls"]["value"] == 3.0
    assert report.outcome == "succeeded"
    assert report.writes.as_dict() == {
        "crm": {"upserted": 3, "unchanged": 0, "failed": 0},
        "other": {"upserted": 2, "unchanged": 0, "failed": 0},
    }
    written = crm.okr["key_result"]["Q3/grow/won"]
    assert written["current_value"] == 400.0
    assert written["objective"] == "Q3/grow"
    assert written["owner"] == "jane@acme.example"
    assert crm.okr["objective"]["Q3/grow"]["score"] == report.objectives["Q3/grow"].score
    assert set(other.okr["objective"]) == {"Q3/talk"}
    assert other.okr["objective"]["Q3/talk"]["owner_name"] == "EMEA"


def test_second_sync_without_change_writes_nothing(engine_for, crm) -> None:
    """With no CRM change, a second sync sends no write and pulls incrementally."""
    engine_for().run("sync", AS_OF)
    writes_before, calls_before = len(crm.writes), crm.calls
    report = engine_for().run("sync", AS_OF)
    assert len(crm.writes) == writes_before
    assert report.writes.as_dict()["crm"] == {"upserted": 0, "unchanged": 3, "failed": 0}
    assert report.pulled == 0
    # describe + one (empty) incremental pull of deals
    assert crm.calls - calls_before == 2


def test_changed_rows_write_only_affected_records(engine_for, crm) -> None:
    """A new won deal changes the revenue KR, the win rate and the objective, nothing else."""
    engine_for().run("sync", AS_OF)
    crm.put(
        "deals",
        {"Id": "d9", "amount": 50.0, "won": True, "closed": True, "close_day": date(2026, 8, 2)},
    )
    report = engine_for().run("sync", AS_OF)
    assert report.pulled == 1
    assert report.writes.as_dict()["crm"] == {"upserted": 3, "unchanged": 0, "failed": 0}
    assert report.writes.as_dict()["other"] == {"upserted": 0, "unchanged": 2, "failed": 0}
    assert crm.okr["key_result"]["Q3/grow/won"]["current_value"] == 450.0


def test_deletions_reach_the_replica(engine_for, crm) -> None:
    """A record deleted in the CRM no longer counts."""
    engine_for().run("sync", AS_OF)
    crm.remove("deals", "d2")
    report = engine_for().run("sync", AS_OF)
    assert by_key(report)["won"]["value"] == 100.0


def test_a_pull_that_starts_over_replaces_the_replica(engine_for, crm, monkeypatch) -> None:
    """A ``reset`` page drops the rows the CRM no longer has, though no deletion named them."""
    engine_for().run("sync", AS_OF)
    del crm.rows["deals"]["d2"]  # gone without a trace, as a hard delete past any listing
    assert by_key(engine_for().run("sync", AS_OF))["won"]["value"] == 400.0
    plain = crm.pull

    def starting_over(object_name, fields, filters, cursor):  # type: ignore[no-untyped-def]
        del cursor
        whole = plain(object_name, fields, filters, Cursor())
        return _Pull([Page(reset=True), *whole.pages], whole.cursor)

    monkeypatch.setattr(crm, "pull", starting_over)
    report = engine_for().run("sync", AS_OF)
    assert by_key(report)["won"]["value"] == 100.0
    assert report.writes.as_dict()["crm"]["upserted"] == 3


def test_plan_writes_nothing_but_says_what_would_change(engine_for, crm) -> None:
    """`plan` computes the same values and counts the writes a sync would make, writing none."""
    report = engine_for().run("plan", AS_OF)
    assert crm.writes == []
    assert report.writes.as_dict()["crm"] == {"upserted": 3, "unchanged": 0, "failed": 0}
    assert by_key(report)["won"]["value"] == 400.0


def test_failing_connector_marks_only_its_key_results(engine_for, crm, other) -> None:
    """When one CRM fails, its KRs carry the error and the other CRM is still written."""
    other.fail_next = [RetriableConnectorError("service unavailable", crm="other")] * 3
    report = engine_for().run("sync", AS_OF)
    krs = by_key(report)
    assert krs["calls"]["status"] == "error"
    assert "pull from other failed: service unavailable" in krs["calls"]["error"]
    assert krs["won"]["status"] != "error"
    assert report.outcome == "partial"
    assert "Q3/grow/won" in crm.okr["key_result"]


def test_failed_record_writes_are_retried_next_run(engine_for, crm) -> None:
    """A record the CRM refused is reported and sent again by the next run."""
    crm.fail_keys["Q3/grow/won"] = "VALIDATION_ERROR"
    report = engine_for().run("sync", AS_OF)
    assert report.writes.as_dict()["crm"] == {"upserted": 2, "unchanged": 0, "failed": 1}
    assert report.outcome == "partial"
    del crm.fail_keys["Q3/grow/won"]
    report = engine_for().run("sync", AS_OF)
    assert report.writes.as_dict()["crm"] == {"upserted": 1, "unchanged": 2, "failed": 0}


def test_interrupted_write_is_completed_without_duplicates(engine_for, crm) -> None:
    """A crash during write-back leaves pending writes that the next run sends exactly once."""
    engine = engine_for()
    original = crm.write
    calls = {"n": 0}

    def crash_after_objectives(obj, records):
        calls["n"] += 1
        if obj.name == "key_result":
            raise KeyboardInterrupt  # the process dies mid write-back
        return original(obj, records)

    crm.write = crash_after_objectives  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        engine.run("sync", AS_OF)
    with Session(engine_for.db) as session:
        pending = session.exec(select(OutboxRow).where(OutboxRow.state == "pending")).all()
    assert {r.key for r in pending} >= {"Q3/grow/won", "Q3/grow/win-rate"}
    crm.write = original  # type: ignore[method-assign]
    report = engine_for().run("sync", AS_OF)
    assert set(crm.okr["key_result"]) == {"Q3/grow/won", "Q3/grow/win-rate"}
    assert report.writes.as_dict()["crm"]["failed"] == 0
    with Session(engine_for.db) as session:
        assert session.exec(select(OutboxRow).where(OutboxRow.state == "pending")).all() == []


def test_check_in_records_history_and_rep_fields(engine_for, crm) -> None:
    """A check-in stores a snapshot with the rep's confidence and writes a check-in record."""
    engine_for().run("sync", AS_OF)
    crm.okr["key_result"]["Q3/grow/won"]["confidence"] = 7
    crm.okr["key_result"]["Q3/grow/won"]["comment"] = "two big deals in August"
    report = engine_for().run("check_in", AS_OF)
    with Session(engine_for.db) as session:
        rows = {r.kr_key: r for r in session.exec(select(CheckInRow))}
    assert rows["Q3/grow/won"].value == 400.0
    assert rows["Q3/grow/won"].confidence == 7.0
    assert rows["Q3/grow/won"].comment == "two big deals in August"
    check_in = crm.okr["check_in"]["Q3/grow/won/2026-08-15"]
    assert check_in["confidence"] == 7
    assert check_in["key_result"] == "Q3/grow/won"
    assert crm.okr["key_result"]["Q3/grow/won"]["confidence"] == 7  # never overwritten
    assert report.outcome == "succeeded"


def test_field_missing_in_crm_is_a_located_error(engine_for, crm) -> None:
    """A metric naming a field the CRM lacks fails the run with the mapping's file:line:col."""
    del crm.schemas["deals"]["won"]
    with pytest.raises(MappingError) as caught:
        engine_for().run("sync", AS_OF)
    assert (
        "q3.yaml:11:45: objectives[0].key_results[0].metric.where.won: crm has no field `deals.won`"
        in str(caught.value)
    )


def test_quota_reserve_stops_the_run_cleanly(engine_for, crm) -> None:
    """When a connector reaches the quota reserve, the run stops without writing or losing cursors."""
    engine = engine_for()
    original = crm.pull

    def refuse(*_args, **_kwargs):
        raise QuotaReserveReached("remaining 900 of 10000, reserve 1000", crm="crm")

    crm.pull = refuse  # type: ignore[method-assign]
    report = engine.run("sync", AS_OF)
    assert report.outcome == "stopped_quota"
    assert crm.writes == []
    crm.pull = original  # type: ignore[method-assign]
    assert engine_for().run("sync", AS_OF).outcome == "succeeded"
    with Session(engine_for.db) as session:
        runs = session.exec(select(RunRow).order_by(RunRow.started_at)).all()
        assert [r.outcome for r in runs] == ["stopped_quota", "succeeded"]
        assert session.get(CursorRow, ("crm", "deals")) is not None


def _edited(engine_for, crm, tmp_path, text: str) -> SyncEngine:
    (tmp_path / "maps" / "q3.yaml").write_text(text)
    mappings = load_mappings(
        tmp_path / "maps", sources={"crm": "memory", "other": "memory"}, catalogs={}
    )
    return SyncEngine(
        workspace="test",
        mappings=mappings,
        connectors={"crm": crm},
        db=engine_for.db,
        clock=lambda: datetime(2026, 8, 15, 8, tzinfo=UTC),
    )


def _recording(crm: InMemoryConnector) -> list[tuple[str, bool]]:
    """Record each pull of ``crm`` from now on: ``(object, whether a first pull)``."""
    pulls: list[tuple[str, bool]] = []
    real = crm.pull

    def pull(obj, fields, filters, cursor):
        pulls.append((obj, cursor.stamp is None))
        return real(obj, fields, filters, cursor)

    crm.pull = pull  # type: ignore[method-assign]
    return pulls


def _replica_ids(engine: SyncEngine) -> list[str]:
    table = engine.replica.get("crm", "deals")
    assert table is not None
    with engine.db.connect() as conn:
        return sorted(
            str(r[0])
            for r in conn.execute(table.table.select().with_only_columns(table.table.c.id))
        )


def test_an_added_field_reads_the_rows_of_the_filter_again_keeping_the_replica(
    engine_for, crm, tmp_path
) -> None:
    """A mapping edit that needs a new field reads every row of the new filter again, then goes on from the kept cursor."""
    engine_for().run("sync", AS_OF)
    engine = _edited(
        engine_for,
        crm,
        tmp_path,
        MAPPING.replace(
            "{won: true}, window: {close_day: cycle_to_date}}\n        target: 1000",
            "{stage: Won}}\n        target: 1000",
        ),
    )
    crm.put("deals", {"Id": "d0", "stage": "Won"})
    report = engine.run("plan", AS_OF)
    # the rows the new filter matches (stage Won, or the win rate's closed deals of the
    # cycle): d0, d1, d2; then the incremental pull from the kept cursor: d0, changed
    assert report.pulled == 4
    assert by_key(report)["won"]["value"] == 100.0
    assert _replica_ids(engine) == ["d0", "d1", "d2"]


def test_an_added_filter_group_pulls_only_its_rows(engine_for, crm, tmp_path) -> None:
    """A key result that needs rows no other one needed pulls those (open deals); the replica and cursor stay."""
    engine_for().run("sync", AS_OF)
    pulls = _recording(crm)
    engine = _edited(
        engine_for,
        crm,
        tmp_path,
        MAPPING.replace(
            "  - key: talk\n",
            "      - key: lost\n        title: Lost\n        source: crm\n"
            "        metric: {count: deals, where: {won: false}}\n        target: 10\n"
            "  - key: talk\n",
        ),
    )
    report = engine.run("plan", AS_OF)
    assert report.pulled == 2  # d1 (already there) and d3, the open deal; no incremental change
    assert _replica_ids(engine) == ["d0", "d1", "d2", "d3"]
    assert by_key(report)["lost"]["value"] == 2.0
    assert pulls == [("deals", True), ("deals", False)]  # the added group's, the incremental


def test_a_narrower_plan_pulls_nothing_new(engine_for, crm, tmp_path) -> None:
    """A removed key result (fewer fields, fewer rows) leaves the replica as it is: only the incremental pull runs."""
    engine_for().run("sync", AS_OF)
    pulls = _recording(crm)
    start = MAPPING.index("      - key: win-rate")
    engine = _edited(
        engine_for, crm, tmp_path, MAPPING[:start] + MAPPING[MAPPING.index("  - key: talk") :]
    )
    report = engine.run("plan", AS_OF)
    assert report.pulled == 0
    assert pulls == [("deals", False)]
    assert by_key(report)["won"]["value"] == 400.0
    assert _replica_ids(engine) == ["d0", "d1", "d2"]


# -- evaluations reused while nothing they depend on changed ---------------------------


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The key results each run computed (``okrsync.compute.evaluate`` still does the work)."""
    import okrsync.compute  # noqa: PLC0415

    calls: list[list[str]] = []
    real = okrsync.compute.evaluate

    def counting(db, replica, krs, day):
        calls.append(sorted(kr.full_key.rsplit("/", 1)[1] for kr in krs))
        return real(db, replica, krs, day)

    monkeypatch.setattr(okrsync.compute, "evaluate", counting)
    return calls


def test_unchanged_replica_reuses_values_and_a_change_recomputes_its_crm(
    engine_for, crm, evaluated
) -> None:
    """No pulled change: no evaluation; a changed deal recomputes the deals KRs only."""
    first = by_key(engine_for().run("sync", AS_OF))
    second = by_key(engine_for().run("sync", AS_OF))
    assert evaluated == [["calls", "win-rate", "won"]]  # the second run computed nothing
    assert {k: v["value"] for k, v in second.items()} == {k: v["value"] for k, v in first.items()}
    crm.put(
        "deals",
        {"Id": "d9", "amount": 50.0, "won": True, "closed": True, "close_day": date(2026, 8, 2)},
    )
    third = by_key(engine_for().run("sync", AS_OF))
    assert evaluated[-1] == ["win-rate", "won"]  # the other CRM's KR was reused
    assert third["won"]["value"] == 450.0
    assert third["win-rate"]["value"] == pytest.approx(3 / 4)


def test_another_day_recomputes_what_moves_with_it(engine_for, evaluated) -> None:
    """A new day computes the KRs whose windows move with the as-of date; a count with no window is reused."""
    engine_for().run("sync", AS_OF)
    report = engine_for().run("sync", date(2026, 8, 16))
    assert evaluated == [["calls", "win-rate", "won"], ["win-rate", "won"]]
    assert by_key(report)["calls"]["value"] == 3.0


def test_run_dying_after_its_pull_leaves_no_stale_value(
    engine_for, crm, evaluated, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that pulled a change and died before computing: the next run computes, not reuses."""
    import okrsync.compute  # noqa: PLC0415

    engine_for().run("sync", AS_OF)
    crm.put(
        "deals",
        {"Id": "d9", "amount": 50.0, "won": True, "closed": True, "close_day": date(2026, 8, 2)},
    )
    counting = okrsync.compute.evaluate

    def dying(*_args: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(okrsync.compute, "evaluate", dying)
    with pytest.raises(RuntimeError, match="killed"):
        engine_for().run("sync", AS_OF)
    monkeypatch.setattr(okrsync.compute, "evaluate", counting)
    report = engine_for().run("sync", AS_OF)
    assert report.pulled == 0  # the change is already in the replica
    assert by_key(report)["won"]["value"] == 450.0
    assert evaluated[-1] == ["win-rate", "won"]


def test_changed_metric_recomputes_only_that_key_result(tmp_path, crm, other, evaluated) -> None:
    """Editing one KR's metric computes that KR; a new target alone reuses the value."""
    db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    versions = iter(range(10))

    def run(text: str) -> dict[str, dict]:
        folder = tmp_path / f"maps{next(versions)}"
        folder.mkdir()
        (folder / "q3.yaml").write_text(text)
        mappings = load_mappings(folder, sources={"crm": "memory", "other": "memory"}, catalogs={})
        engine = SyncEngine(
            workspace="test",
            mappings=mappings,
            connectors={"crm": crm, "other": other},
            db=db,
            clock=lambda: datetime(2026, 8, 15, 8, tzinfo=UTC),
        )
        return by_key(engine.run("sync", AS_OF))

    run(MAPPING)
    retargeted = run(MAPPING.replace("target: 1000", "target: 800"))
    assert evaluated == [["calls", "win-rate", "won"]]
    assert retargeted["won"]["progress"] == 0.5  # 400 of 800: scores follow the new target
    edited = run(MAPPING.replace("where: {kind: Interview}", "where: {kind: Demo}"))
    assert evaluated[-1] == ["calls"]
    assert edited["calls"]["value"] == 1.0


# -- pulls from several CRMs at once ---------------------------------------------------


class _Meeting(InMemoryConnector):
    """An in-memory CRM whose pull waits until the other CRM's pull has started too."""

    def __init__(self, name: str, barrier, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.barrier = barrier

    def pull(self, *args, **kwargs):
        self.barrier.wait()  # BrokenBarrierError after the timeout when pulls run one by one
        return super().pull(*args, **kwargs)


def test_crms_are_pulled_at_the_same_time(engine_for) -> None:
    """Two CRMs' pulls overlap (one thread each), so a cycle waits for the slower, not both."""
    import threading  # noqa: PLC0415

    barrier = threading.Barrier(2, timeout=10)
    deals = _Meeting("crm", barrier, objects={"deals": DEALS})
    deals.put("deals", {"Id": "d1", "amount": 5.0, "won": True, "close_day": date(2026, 8, 1)})
    calls = _Meeting("other", barrier, objects={"calls": CALLS})
    calls.put("calls", {"kind": "Interview", "day": date(2026, 7, 10)})
    report = engine_for(crm=deals, other=calls).run("sync", AS_OF)
    assert report.outcome == "succeeded"
    assert (by_key(report)["won"]["value"], by_key(report)["calls"]["value"]) == (5.0, 1.0)


class _Describing(InMemoryConnector):
    """An in-memory CRM that records which describes asked for a fresh answer."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refreshed: list[str] = []

    def describe(self, object_name: str, *, refresh: bool = False):
        if refresh:
            self.refreshed.append(object_name)
        return super().describe(object_name, refresh=refresh)


def test_fatal_pull_error_describes_the_object_again(engine_for, other) -> None:
    """A pull refused for good (a field gone) replaces the cached describe for the next run."""
    from okrsync.errors import FatalConnectorError  # noqa: PLC0415

    crm = _Describing("crm", objects={"deals": DEALS})
    crm.fail_next = [
        None,  # the describe
        FatalConnectorError("No such column 'amount' on entity 'deals'", crm="crm"),
    ]
    report = engine_for(crm=crm, other=other).run("sync", AS_OF)
    assert report.outcome == "partial"
    assert crm.refreshed == ["deals"]


def _check_ins(db, day: date) -> dict[str, CheckInRow]:
    with Session(db) as session:
        return {r.kr_key: r for r in session.exec(select(CheckInRow).where(CheckInRow.on == day))}


def test_check_in_again_the_same_day_replaces_it_and_scores_the_same(engine_for, crm) -> None:
    """A second check-in on a day replaces the first with the same numbers; a sync then writes nothing."""
    engine_for().run("check_in", date(2026, 8, 8))  # last week's check-in: a history
    first = engine_for().run("check_in", AS_OF)
    crm_first = {k: dict(v) for k, v in crm.okr["check_in"].items()}
    stored_first = {k: r.model_dump() for k, r in _check_ins(engine_for.db, AS_OF).items()}
    again = engine_for().run("check_in", AS_OF)
    assert again.checked_in == first.checked_in == 3
    assert again.as_json()["key_results"] == first.as_json()["key_results"]
    assert {k: r.model_dump() for k, r in _check_ins(engine_for.db, AS_OF).items()} == stored_first
    assert crm.okr["check_in"] == crm_first
    assert again.writes.as_dict()["crm"] == {"upserted": 0, "unchanged": 5, "failed": 0}
    later = engine_for().run("sync", AS_OF)
    assert later.as_json()["key_results"] == first.as_json()["key_results"]
    assert later.writes.as_dict()["crm"] == {"upserted": 0, "unchanged": 3, "failed": 0}


def test_failing_metric_never_replaces_a_recorded_check_in(engine_for, other) -> None:
    """A re-run whose CRM fails keeps the day's recorded check-in (store and CRM) of the KRs it could not compute."""
    engine_for().run("check_in", AS_OF)
    recorded = _check_ins(engine_for.db, AS_OF)["Q3/talk/calls"].model_dump()
    assert recorded["value"] == 3.0
    other.fail_next = [RetriableConnectorError("service unavailable", crm="other")] * 3
    report = engine_for().run("check_in", AS_OF)
    assert by_key(report)["calls"]["status"] == "error"
    assert _check_ins(engine_for.db, AS_OF)["Q3/talk/calls"].model_dump() == recorded
    assert other.okr["check_in"]["Q3/talk/calls/2026-08-15"]["current_value"] == 3.0
    assert other.okr["check_in"]["Q3/talk/calls/2026-08-15"]["status"] == recorded["status"]


def test_backfilled_check_in_adds_history_and_leaves_the_key_results_alone(engine_for, crm) -> None:
    """A check-in for a day before the last sync writes its check-in records only, and later runs forecast from it."""
    engine_for().run("sync", AS_OF)
    before = {k: dict(v) for k, v in crm.okr["key_result"].items()}
    backfill = engine_for().run("check_in", date(2026, 7, 20))
    # as of July 20 only d0 (100) was won; the check-in says so, the key result keeps 400
    assert crm.okr["check_in"]["Q3/grow/won/2026-07-20"]["current_value"] == 100.0
    assert crm.okr["key_result"] == before
    assert backfill.writes.as_dict()["crm"] == {"upserted": 2, "unchanged": 0, "failed": 0}
    # the next day's forecast fits (0, 0), (19, 100) and (45, 400) (won revenue accumulates):
    # mean x 64/3, mean y 500/3, slope 13850/1531 = 9.0464; 400 + 9.0464 * 46 = 816.13
    # -> 0.82 of 1000 (without the backfilled point: 400 * 91 / 45 = 808.9 -> 0.81)
    later = by_key(engine_for().run("sync", AS_OF))["won"]
    assert later["forecast"] == pytest.approx(400 + 13850 / 1531 * 46)
    assert later["forecast_score"] == 0.82
    assert later["accumulates"] is True


def test_check_in_with_no_later_sync_writes_the_key_results(engine_for, crm) -> None:
    """A check-in for the newest day yet is the daemon's check-in job: key results are written too."""
    engine_for().run("check_in", date(2026, 7, 20))
    assert crm.okr["key_result"]["Q3/grow/won"]["current_value"] == 100.0
    engine_for().run("check_in", AS_OF)
    assert crm.okr["key_result"]["Q3/grow/won"]["current_value"] == 400.0
