"""Per-owner breakdowns, contributions and personal key results, over an in-memory CRM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select

from okrsync.connector import FieldInfo
from okrsync.engine import SyncEngine
from okrsync.errors import MappingError
from okrsync.mapping.loader import load_mappings
from okrsync.state.db import open_store
from okrsync.state.models import ContributionRow
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

AS_OF = date(2026, 8, 15)
DEALS = {
    "amount": FieldInfo("amount", "currency"),
    "won": FieldInfo("won", "boolean"),
    "closed": FieldInfo("closed", "boolean"),
    "close_day": FieldInfo("close_day", "date"),
    "owner": FieldInfo("owner", "reference"),
}
NOTES = {"day": FieldInfo("day", "date")}
OWNERS = {"u1": "Jane@Acme.example", "u2": "omar@acme.example", "u4": "kai@acme.example"}

WON = "{sum: deals.amount, where: {won: true}, window: {close_day: cycle_to_date}}"
CLOSED = "{count: deals, where: {closed: true}, window: {close_day: cycle_to_date}}"
WON_COUNT = "{count: deals, where: {won: true}, window: {close_day: cycle_to_date}}"
MAPPING = f"""\
version: 1
cycle: {{name: Q3, start: 2026-07-01, end: 2026-09-30}}
teams:
  EMEA:
    members: [jane@acme.example, omar@acme.example, lena@acme.example]
objectives:
  - key: grow
    title: Grow
    owner: {{team: EMEA}}
    key_results:
      - key: won
        title: Won revenue
        source: crm
        metric: {WON}
        target: 1000
        breakdown: owner
      - key: win-rate
        title: Win rate
        source: crm
        metric: {{ratio: {{numerator: {WON_COUNT}, denominator: {CLOSED}}}}}
        start: 20%
        target: 50%
        breakdown: owner
      - key: rep-won
        title: Each rep wins
        source: crm
        metric: {WON}
        target: 300
        targets: {{jane@acme.example: 500}}
        for_each: {{team: EMEA}}
      - key: rep-win-rate
        title: Each rep's win rate
        source: crm
        metric: {{ratio: {{numerator: {WON_COUNT}, denominator: {CLOSED}}}}}
        start: 20%
        target: 40%
        for_each: {{team: EMEA}}
      - key: open
        title: Open deals
        source: crm
        metric: {{count: deals, where: {{closed: false}}}}
        target: 5
"""

# (owner, amount, won, closed, day): jane wins 100 and 300 and loses 200; omar loses 50;
# kai (not in the team) has one open deal; one won deal of 70 has no owner; one deal is
# before the cycle
DEALS_ROWS = [
    ("u1", 100.0, True, True, date(2026, 7, 5)),
    ("u1", 200.0, False, True, date(2026, 7, 6)),
    ("u1", 300.0, True, True, date(2026, 8, 1)),
    ("u2", 50.0, False, True, date(2026, 7, 20)),
    ("u4", 400.0, False, False, date(2026, 9, 1)),
    (None, 70.0, True, True, date(2026, 8, 2)),
    ("u2", 999.0, True, True, date(2026, 6, 1)),
]


@pytest.fixture
def crm() -> InMemoryConnector:
    """A CRM whose deals have owners (and one without)."""
    c = InMemoryConnector(
        "crm", objects={"deals": DEALS, "notes": NOTES}, owner_fields={"deals": "owner"}
    )
    c.owners.update(OWNERS)
    for i, (owner, amount, won, closed, day) in enumerate(DEALS_ROWS):
        c.put(
            "deals",
            {
                "Id": f"d{i}",
                "owner": owner,
                "amount": amount,
                "won": won,
                "closed": closed,
                "close_day": day,
            },
        )
    return c


def _engine(tmp_path: Path, crm: InMemoryConnector, mapping: str = MAPPING) -> SyncEngine:
    folder = tmp_path / "maps"
    folder.mkdir(exist_ok=True)
    (folder / "q3.yaml").write_text(mapping)
    mappings = load_mappings(folder, sources={"crm": "memory"}, catalogs={})
    return SyncEngine(
        workspace="test",
        mappings=mappings,
        connectors={"crm": crm},
        db=open_store(f"sqlite:///{tmp_path / 'state.db'}"),
        clock=lambda: datetime(2026, 8, 15, 8, tzinfo=UTC),
    )


def _by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in report["key_results"]}


def _rows(entry: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {row["owner"]: row for row in entry["breakdown"]}


def test_a_sum_per_owner_adds_up_to_the_team_value(tmp_path: Path, crm: InMemoryConnector) -> None:
    """Won revenue per owner: each owner's sum, unassigned apart, adding up to the team's exactly."""
    report = _engine(tmp_path, crm).run("plan", AS_OF).as_json()
    won = _by_key(report)["Q3/grow/won"]
    rows = _rows(won)
    assert won["value"] == 470.0
    assert {o: r["value"] for o, r in rows.items()} == {
        "jane@acme.example": 400.0,
        None: 70.0,
        "kai@acme.example": 0.0,  # an open deal only
        "omar@acme.example": 0.0,  # a lost deal (his won one is before the cycle)
        "lena@acme.example": 0.0,  # a member of the owning team without records
    }
    assert sum(r["value"] for r in rows.values()) == won["value"]
    assert rows["jane@acme.example"]["share"] == pytest.approx(400 / 470)
    assert rows[None]["share"] == pytest.approx(70 / 470)
    assert next(r["owner"] for r in won["breakdown"]) == "jane@acme.example"
    assert won["breakdown"][-1]["owner"] is None  # the unassigned row comes last
    assert rows["jane@acme.example"]["rank"] == 1
    assert rows[None]["rank"] is None
    assert {rows[o]["rank"] for o in ("kai@acme.example", "omar@acme.example")} == {2}


def test_a_ratio_per_owner_is_their_numerator_over_their_denominator(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """Win rate per owner: 2 of 3, 0 of 1, no value without closed deals; no shares."""
    report = _engine(tmp_path, crm).run("plan", AS_OF).as_json()
    rate = _by_key(report)["Q3/grow/win-rate"]
    rows = _rows(rate)
    assert rate["value"] == pytest.approx(3 / 5)  # the team: 3 won of 5 closed
    assert rows["jane@acme.example"]["value"] == pytest.approx(2 / 3)
    assert rows["omar@acme.example"]["value"] == 0.0
    assert rows["kai@acme.example"]["value"] is None  # denominator 0: no value, not 0
    assert rows["lena@acme.example"]["value"] is None
    assert rows[None]["value"] == 1.0
    assert all(r["share"] is None for r in rate["breakdown"])
    assert rows["kai@acme.example"]["rank"] is None
    assert (rows["jane@acme.example"]["rank"], rows["omar@acme.example"]["rank"]) == (1, 2)


def test_a_template_makes_one_personal_key_result_per_member(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """Personal key results: key <kr>/<e-mail>, their records only, their target, under the team's."""
    report = _engine(tmp_path, crm).run("plan", AS_OF).as_json()
    rows = _by_key(report)
    personal = {k: r for k, r in rows.items() if r["parent"] == "Q3/grow/rep-won"}
    assert list(personal) == [
        "Q3/grow/rep-won/jane@acme.example",
        "Q3/grow/rep-won/omar@acme.example",
        "Q3/grow/rep-won/lena@acme.example",
    ]
    jane, omar, lena = personal.values()
    assert (jane["value"], jane["target"], jane["score"]) == (400.0, 500.0, 0.8)
    assert (omar["value"], omar["target"], omar["score"]) == (0.0, 300.0, 0.0)
    assert (lena["value"], lena["target"]) == (0.0, 300.0)  # no records: 0, not missing
    team = rows["Q3/grow/rep-won"]
    # a sum rolls up: the members' values (not kai's, not the unassigned deal) against
    # the sum of their targets
    assert (team["value"], team["target"]) == (400.0, 1100.0)
    assert team["score"] == pytest.approx(0.36)
    assert team["breakdown"] is None  # no contributions asked for


def test_a_template_of_a_ratio_rolls_up_as_the_mean_of_scores(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """A ratio template: the team's score is the mean of the members' with a value."""
    report = _engine(tmp_path, crm).run("plan", AS_OF).as_json()
    rows = _by_key(report)
    jane = rows["Q3/grow/rep-win-rate/jane@acme.example"]
    omar = rows["Q3/grow/rep-win-rate/omar@acme.example"]
    lena = rows["Q3/grow/rep-win-rate/lena@acme.example"]
    assert jane["score"] == 1.0  # 67% against 20% → 40%
    assert omar["score"] == 0.0
    assert lena["value"] is None
    assert lena["status"] == "no_data"
    team = rows["Q3/grow/rep-win-rate"]
    assert team["value"] == pytest.approx(3 / 5)  # its own metric, over every record
    assert team["score"] == 0.5
    objective = next(o for o in report["objectives"] if o["key"] == "Q3/grow")
    team_krs = [r for r in rows.values() if r["parent"] is None]
    # personal key results count through their team key result, not on their own
    assert objective["score"] == pytest.approx(
        round(sum(r["score"] for r in team_krs) / len(team_krs), 2)
    )


def test_sync_writes_contributions_and_zeroes_a_rep_who_left(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """Contribution records per owner; one who no longer contributes is zeroed, not removed."""
    engine = _engine(tmp_path, crm)
    engine.run("sync", AS_OF)
    written = crm.okr["contribution"]
    assert set(written) == {
        f"Q3/grow/{kr}/{owner}"
        for kr in ("won", "win-rate")
        for owner in (
            "jane@acme.example",
            "omar@acme.example",
            "kai@acme.example",
            "lena@acme.example",
            "unassigned",
        )
    }
    jane = written["Q3/grow/won/jane@acme.example"]
    assert (jane["key_result"], jane["owner"], jane["current_value"]) == (
        "Q3/grow/won",
        "jane@acme.example",
        400.0,
    )
    assert written["Q3/grow/won/unassigned"]["owner"] is None
    personal = crm.okr["key_result"]["Q3/grow/rep-won/jane@acme.example"]
    assert personal["parent_key_result"] == "Q3/grow/rep-won"
    assert personal["owner"] == "jane@acme.example"

    crm.remove("deals", "d4")  # kai's only deal goes: he no longer contributes
    crm.put("deals", {"Id": "d0", "owner": "u2"})  # jane's first win moves to omar
    second = engine.run("sync", AS_OF).as_json()
    assert "kai@acme.example" not in _rows(_by_key(second)["Q3/grow/won"])
    kai = crm.okr["contribution"]["Q3/grow/won/kai@acme.example"]
    assert (kai["current_value"], kai["share"], kai["rank"]) == (0.0, 0.0, None)
    assert crm.okr["contribution"]["Q3/grow/win-rate/kai@acme.example"]["current_value"] is None
    assert crm.okr["contribution"]["Q3/grow/won/omar@acme.example"]["current_value"] == 100.0
    third = engine.run("sync", AS_OF).as_json()
    assert third["writes"]["crm"]["upserted"] == 0  # zeroed once, then unchanged


def test_per_owner_values_are_reused_while_nothing_changed(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """A second run on the same data reads the stored per-owner values, with the same results."""
    engine = _engine(tmp_path, crm)
    first = engine.run("plan", AS_OF).as_json()
    second = engine.run("plan", AS_OF).as_json()
    assert _by_key(second)["Q3/grow/won"]["breakdown"] == _by_key(first)["Q3/grow/won"]["breakdown"]
    assert _by_key(second)["Q3/grow/rep-won"]["value"] == 400.0
    with Session(engine.db) as session:
        runs = {r.run_id for r in session.exec(select(ContributionRow))}
    assert runs == {first["run_id"], second["run_id"]}


def test_an_owner_the_crm_no_longer_knows_keeps_their_id(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """Records of an owner id without an e-mail form a row of that id, not the unassigned one."""
    crm.put("deals", {"Id": "d9", "owner": "u9", "amount": 5.0, "won": True, "closed": True,
                      "close_day": date(2026, 7, 9)})  # fmt: skip
    report = _engine(tmp_path, crm).run("plan", AS_OF).as_json()
    rows = _rows(_by_key(report)["Q3/grow/won"])
    assert rows["u9"]["value"] == 5.0
    assert rows[None]["value"] == 70.0


def test_members_from_the_crm_join_the_roster(tmp_path: Path, crm: InMemoryConnector) -> None:
    """A team read from the CRM too: its members get personal key results; overrides are checked."""
    crm.teams["EMEA Sales"] = ["Kai@acme.example", "jane@acme.example"]
    mapping = MAPPING.replace(
        "    members: [jane@acme.example, omar@acme.example, lena@acme.example]",
        "    members: [omar@acme.example]\n    from_crm: EMEA Sales",
    )
    report = _engine(tmp_path, crm, mapping).run("plan", AS_OF).as_json()
    keys = [r["key"] for r in report["key_results"] if r["parent"] == "Q3/grow/rep-won"]
    assert keys == [
        "Q3/grow/rep-won/omar@acme.example",
        "Q3/grow/rep-won/kai@acme.example",
        "Q3/grow/rep-won/jane@acme.example",
    ]
    crm.teams["EMEA Sales"] = ["kai@acme.example"]  # jane left the team: her override is wrong
    (tmp_path / "again").mkdir()
    with pytest.raises(MappingError) as caught:
        _engine(tmp_path / "again", crm, mapping).run("plan", AS_OF)
    (problem,) = caught.value.problems
    assert problem.path == "objectives[0].key_results[2].targets['jane@acme.example']"
    assert "`jane@acme.example` is not a member of team `EMEA`" in problem.message


def test_a_connector_without_owners_is_a_located_error(tmp_path: Path) -> None:
    """A breakdown over an object whose records have no owner fails at plan, at `breakdown`."""
    crm = InMemoryConnector("crm", objects={"deals": DEALS})
    with pytest.raises(MappingError) as caught:
        _engine(tmp_path, crm).run("plan", AS_OF)
    paths = {(p.line, p.path) for p in caught.value.problems}
    assert (16, "objectives[0].key_results[0].breakdown") in paths
    assert (30, "objectives[0].key_results[2].for_each") in paths
    assert all("has no owner field" in p.message for p in caught.value.problems)


def _problems(tmp_path: Path, mapping: str) -> list[str]:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "q3.yaml").write_text(mapping)
    with pytest.raises(MappingError) as caught:
        load_mappings(folder, sources={"crm": "memory"}, catalogs={})
    return [f"{p.line}:{p.col}: {p.path}: {p.message}" for p in caught.value.problems]


Edit = Callable[[str], str]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda m: m.replace("for_each: {team: EMEA}\n", "for_each: {team: APAC}\n", 1),
            (
                "30:26: objectives[0].key_results[2].for_each.team: unknown team `APAC`; "
                "expected a team of the `teams:` roster (`EMEA`)"
            ),
        ),
        (
            lambda m: m.replace("{jane@acme.example: 500}", "{bob@acme.example: 500}"),
            (
                "29:19: objectives[0].key_results[2].targets['bob@acme.example']: "
                "`bob@acme.example` is not a member of team `EMEA`; expected one of "
                "`jane@acme.example`, `omar@acme.example`, `lena@acme.example`"
            ),
        ),
        (
            lambda m: m.replace(
                "        for_each: {team: EMEA}\n",
                "        for_each: {team: EMEA}\n        owner: {user: jane@acme.example}\n",
                1,
            ),
            (
                "31:16: objectives[0].key_results[2].owner: expected no `owner` on a template "
                "(`for_each`): the team key result is the team's and each personal key result "
                "its member's"
            ),
        ),
        (
            lambda m: m.replace(
                "target: 40%\n        for_each: {team: EMEA}",
                "target: 40%\n        for_each: {team: EMEA, rollup: sum}",
            ),
            (
                "37:40: objectives[0].key_results[3].for_each.rollup: expected `rollup: mean` for "
                "this metric: only counts and sums add up over people (a ratio, an average or an "
                "NPS of a team is not the sum of its members')"
            ),
        ),
        (
            lambda m: m.replace(
                "        breakdown: owner\n", "        targets: {a@b.example: 3}\n", 1
            ),
            (
                "16:18: objectives[0].key_results[0].targets: expected `targets` only with "
                "`for_each` (personal key results) or `breakdown: owner` (contributions): personal "
                "targets are for people"
            ),
        ),
        (
            lambda m: m.replace("breakdown: owner", "breakdown: team", 1),
            "16:20: objectives[0].key_results[0].breakdown: expected 'owner', got 'team'",
        ),
        (
            lambda m: m.replace("    members: [jane", "    memberz: [jane"),
            (
                "5:5: teams.EMEA.memberz: unknown key `memberz` (did you mean `members`?); "
                "expected one of `members`, `from_crm`"
            ),
        ),
    ],
    ids=[
        "unknown team",
        "override outside the team",
        "template with an owner",
        "sum of a ratio",
        "targets without people",
        "unknown breakdown",
        "misspelt roster",
    ],
)
def test_template_and_breakdown_problems_are_located(
    tmp_path: Path, edit: Edit, expected: str
) -> None:
    """Each mistake in the new keys is reported at its file:line:col with what was expected."""
    assert expected in _problems(tmp_path, edit(MAPPING))


def _app(tmp_path: Path, crm: InMemoryConnector) -> Any:
    from okrsync.app import App, load_config, load_mappings_for  # noqa: PLC0415
    from okrsync.plugins import PluginRegistry  # noqa: PLC0415

    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "q3.yaml").write_text(MAPPING.replace("source: crm", "source: salesforce"))
    config = tmp_path / "okrsync.yaml"
    config.write_text(f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {maps}\n")
    registry = PluginRegistry.from_entry_points()
    settings = load_config(config, registry=registry, env={}, log=False)
    crm.name = "salesforce"
    return App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(settings.store_url.get_secret_value()),
        {"salesforce": crm},
        lambda: datetime(2026, 8, 15, 8, tzinfo=UTC),
    )


def test_status_and_the_page_show_contributions_and_personal_key_results(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """`okrsync status` and the status page read the run's contributions and personal KRs back."""
    from rich.console import Console  # noqa: PLC0415

    from okrsync.report import build_report, render_page  # noqa: PLC0415
    from okrsync.status import print_status, read_status  # noqa: PLC0415

    app = _app(tmp_path, crm)
    app.engine().run("sync", AS_OF)
    status = read_status(app.settings, db=app.db)
    rows = {r["key"]: r for r in status["key_results"]}
    won = {p["owner"]: p for p in rows["Q3/grow/won"]["breakdown"]}
    assert won["jane@acme.example"]["value"] == 400.0
    assert won[None]["share"] == pytest.approx(70 / 470)
    assert "breakdown" not in rows["Q3/grow/rep-won"]  # a template's values are not contributions
    assert rows["Q3/grow/rep-won/jane@acme.example"]["score"] == 0.8
    console = Console(width=100, record=True)
    print_status(status, console)
    text = console.export_text()
    assert "Q3/grow/won by owner" in text
    assert "jane@acme.example" in text
    assert "unassigned" in text
    page = render_page(build_report(app.settings, app.db, app.mappings))
    table = page[page.index('data-key="Q3/grow/won"') :]
    table = table[table.index('class="breakdown"') : table.index("</table>")]
    assert "jane@acme.example" in table
    assert "85.1%" in table  # jane's share of 470
    assert 'data-parent="Q3/grow/rep-won"' in page
    assert page.index('data-key="Q3/grow/rep-won"') < page.index(
        'data-key="Q3/grow/rep-won/jane@acme.example"'
    )


def test_plan_prints_a_table_per_broken_down_key_result(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """The plan's table is followed by each breakdown: owner, value, share, rank, target."""
    from rich.console import Console  # noqa: PLC0415

    from okrsync.render import print_report  # noqa: PLC0415

    report = _engine(tmp_path, crm).run("plan", AS_OF).as_json()
    console = Console(width=100, record=True)
    print_report(report, {}, console)
    text = console.export_text()
    section = text[text.index("Q3/grow/won by owner") :]
    lines = [line.split() for line in section.splitlines()[:8]]
    assert ["jane@acme.example", "400", "85.1%", "1"] in lines
    assert ["unassigned", "70", "14.9%"] in lines


def test_the_store_keeps_the_per_owner_values_of_recent_runs_and_the_last_sync(
    tmp_path: Path, crm: InMemoryConnector
) -> None:
    """Per-owner rows of old runs are dropped, but not those of the latest sync status shows."""
    from okrsync.contribution import KEEP_RUNS  # noqa: PLC0415

    engine = _engine(tmp_path, crm)
    synced = engine.run("sync", AS_OF).run_id
    plans = [engine.run("plan", AS_OF).run_id for _ in range(KEEP_RUNS + 2)]
    with Session(engine.db) as session:
        runs = {r.run_id for r in session.exec(select(ContributionRow))}
    assert runs == {synced, *plans[-KEEP_RUNS:]}
