"""Every rep's part: per-owner breakdowns, contributions and personal key results.

After the team values are computed (:mod:`okrsync.compute`), the key results
computed per owner (``breakdown: owner``, templates with ``for_each``) get
their per-owner values (:mod:`okrsync.breakdown`, one grouped query per
object; reused while the team value's basis holds), keyed by the owner's
e-mail address (the connector names the owners its records hold).

- A **template** becomes one personal key result per member of its team (the
  ``teams:`` roster, plus the members the source CRM lists under the team's
  name): key ``<kr key>/<e-mail>``, owned by the member, valued with the
  member's records, aimed at their target. The team key result rolls up from
  them: ``sum`` replaces its value with the sum of theirs (scored against the
  team target), ``mean`` replaces its score with the mean of theirs
  (:func:`okrsync.score.score_all`).
- A **breakdown** becomes one contribution per owner: value, share of the
  team value (counts and sums only), rank, and progress toward a personal
  target when the key result has one. Records without an owner make the
  ``unassigned`` row. A rep who no longer contributes keeps their contribution
  record in the CRM, zeroed (value 0 for a count or a sum, none otherwise; no
  rank), so nothing they saw disappears without a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from okrsync.breakdown import OwnerValues, empty_value, evaluate_by_owner
from okrsync.compute import MetricValue
from okrsync.connector import RecordOwners
from okrsync.crm_objects import CONTRIBUTION, UNASSIGNED
from okrsync.errors import ConnectorError, MappingError
from okrsync.metric import Aggregate
from okrsync.model import Owner, OwnerKind, Rollup
from okrsync.scoring import progress
from okrsync.state.models import ContributionRow, RunRow, WrittenRow

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import date, datetime

    from sqlalchemy.engine import Engine

    from okrsync.compute import Computed
    from okrsync.connector import Connector
    from okrsync.diff import Wanted
    from okrsync.errors import Problem
    from okrsync.model import KeyResult, Team
    from okrsync.score import KeyResultResult
    from okrsync.state.replica import Replica

__all__ = [
    "Breakdown",
    "ByOwner",
    "Contribution",
    "by_owner",
    "contribution_records",
    "members_of",
    "record_contributions",
]

log = structlog.get_logger("okrsync.engine")  # one logger for the events of a cycle


@dataclass(frozen=True, slots=True)
class Contribution:
    """One owner's part of a key result."""

    owner: str | None
    """E-mail address in lower case; ``None`` for the records without an owner."""
    value: float | None
    share: float | None = None
    """Of the sum over every owner (the team value), for counts and sums."""
    rank: int | None = None
    """1 for the best value (the lowest where lower is better); ties share a rank."""
    target: float | None = None
    """The owner's personal target, when the key result has one for them."""
    progress: float | None = None
    """Toward the personal target, as a key result's progress."""

    @property
    def label(self) -> str:
        """The owner as people read it: the e-mail, or ``unassigned``."""
        return self.owner or UNASSIGNED

    def as_json(self) -> dict[str, Any]:
        """An entry of ``key_results[].breakdown`` in the JSON report."""
        return {
            "owner": self.owner,
            "value": self.value,
            "share": self.share,
            "progress": self.progress,
            "rank": self.rank,
            "target": self.target,
        }


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A key result's contributions, best first (the unassigned row last), or its error."""

    contributions: tuple[Contribution, ...] = ()
    error: str | None = None


@dataclass
class ByOwner:
    """What the per-owner step adds to a run."""

    key_results: list[KeyResult]
    """Every key result of the run: templates' team key results with their members'
    start and target, each followed by its personal key results."""
    values: dict[str, MetricValue]
    """By full key, personal key results' included (a ``sum`` template: its members')."""
    owners: dict[str, OwnerValues] = field(default_factory=dict)
    """Per-owner values by e-mail (``None``: no owner), of every key result computed per owner."""
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The members of each key result's team (by full key)."""

    def evaluation_bases(self, bases: Mapping[str, str]) -> dict[str, str]:
        """The bases to store evaluations with: none for a value that is not its metric's.

        A template rolling up by ``sum`` has its members' sum as its value, which
        another key result of the same metric (same basis) must not reuse.
        """
        summed = {
            kr.full_key
            for kr in self.key_results
            if kr.template is not None and kr.template.rollup is Rollup.SUM
        }
        return {key: basis for key, basis in bases.items() if key not in summed}

    def breakdowns(self, results: Sequence[KeyResultResult]) -> dict[str, Breakdown]:
        """The contributions of each key result with ``breakdown: owner``, by full key."""
        out: dict[str, Breakdown] = {}
        for result in results:
            kr = result.kr
            if not kr.breakdown:
                continue
            found = self.owners.get(kr.full_key)
            if result.value.error or found is None or found.error:
                error = result.value.error or (found.error if found else None)
                out[kr.full_key] = Breakdown((), error or "not computed per owner")
                continue
            out[kr.full_key] = Breakdown(
                contributions(kr, found, self.members.get(kr.full_key, ()))
            )
        return out


def members_of(
    key_results: Sequence[KeyResult], connectors: Mapping[str, Connector]
) -> dict[str, tuple[str, ...]]:
    """The members of each key result's team (:attr:`~okrsync.model.KeyResult.team`), by full key.

    The roster's e-mail addresses, then those the source CRM lists under the
    team's name (when the team says ``from_crm``), each once, in lower case.

    Raises:
        MappingError: a personal target names someone not in the team, or a team
            has no members at all.
    """
    asked: dict[tuple[str, str], list[str] | None] = {}
    out: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    for kr in key_results:
        team = kr.team
        if team is None:
            continue
        found = list(team.members)
        listed: list[str] | None = None
        if team.crm_name is not None:
            key = (kr.source, team.crm_name)
            if key not in asked:
                asked[key] = _crm_members(connectors.get(kr.source), team)
            listed = asked[key]
            found += [m.lower() for m in listed or ()]
        members = tuple(dict.fromkeys(found))
        out[kr.full_key] = members
        if kr.template is not None:
            problems.extend(_member_problems(kr, team, members, listed))
    if problems:
        raise MappingError(problems)
    return out


def _crm_members(connector: Connector | None, team: Team) -> list[str] | None:
    """The members the CRM lists under the team's name (``None``: none, or not asked)."""
    if connector is None or team.crm_name is None:
        return None
    if not isinstance(connector, RecordOwners):
        return None
    try:
        return connector.team_members(team.crm_name)
    except ConnectorError as exc:  # the roster still counts; the pull reports the CRM
        log.warning("sync.team.unavailable", team=team.name, error=str(exc))
        return None


def _member_problems(
    kr: KeyResult, team: Team, members: tuple[str, ...], listed: list[str] | None
) -> Iterable[Problem]:
    if kr.origin is None:
        return
    if not members:
        where = f"the CRM of `{kr.source}` lists no members under `{team.crm_name}`"
        if team.crm_name is not None and listed is None:
            where = f"`{kr.source}` has no team, role or public group `{team.crm_name}`"
        yield kr.origin.problem(
            f"team `{team.name}` has no members: its roster lists none and {where}",
            ("for_each", "team"),
        )
    raw = kr.origin.doc.get((*kr.origin.path, "targets"))
    for written in raw if isinstance(raw, dict) else ():
        if str(written).lower() not in members:
            yield kr.origin.doc.problem(
                (*kr.origin.path, "targets", written),
                f"`{written}` is not a member of team `{team.name}` (its roster and "
                f"`{kr.source}`'s `{team.crm_name}`); expected a member's e-mail address",
                key=True,
            )


def personal_key_results(kr: KeyResult, members: Sequence[str]) -> list[KeyResult]:
    """The personal key results of a template, one per member, in the members' order."""
    template = kr.template
    if template is None:
        return []
    return [
        replace(
            kr,
            key=f"{kr.key}/{email}",
            title=f"{kr.title}: {email}",
            owner=Owner(OwnerKind.USER, email),
            start=template.start,
            target=_or(kr.personal_target(email), template.target),
            breakdown=False,
            template=None,
            targets=(),
            parent=kr.full_key,
            member=email,
        )
        for email in members
    ]


def by_owner(
    engine: Engine,
    replica: Replica,
    connectors: Mapping[str, Connector],
    key_results: Sequence[KeyResult],
    *,
    computed: Computed,
    day: date,
    owner_fields: Mapping[tuple[str, str], str],
    failed: Collection[str] = (),
) -> ByOwner:
    """Per-owner values, personal key results and team roll-ups of a run.

    Per-owner values are reused while the key result's basis holds (nothing
    it reads changed), else evaluated with one grouped query per object.

    Raises:
        MappingError: a team has no members, or a personal target names someone
            outside the team (see :func:`members_of`).
    """
    krs = list(key_results)
    values = dict(computed.values)
    wanted = [kr for kr in krs if kr.by_owner and kr.source not in failed]
    if not wanted:
        return ByOwner(krs, values)
    members = members_of(wanted, connectors)
    owners = _reused(engine, wanted, computed.bases)
    fresh = [kr for kr in wanted if kr.full_key not in owners]
    if fresh:
        raw = evaluate_by_owner(engine, replica, fresh, day, owner_fields)
        owners.update(_by_email(raw, fresh, connectors))
    log.info("sync.evaluated_by_owner", computed=len(fresh), reused=len(wanted) - len(fresh))
    out = ByOwner([], values, owners, members)
    for kr in krs:
        team = members.get(kr.full_key)
        if team is None or kr.template is None:
            out.key_results.append(kr)
            continue
        start, target = kr.template.team_range(kr.template.start, dict(kr.targets), team)
        lead = replace(kr, start=start, target=target) if team and start != target else kr
        out.key_results.append(lead)
        found = owners.get(kr.full_key)
        personal = personal_key_results(kr, team)
        for person in personal:
            out.key_results.append(person)
            if found is None or found.error or values[kr.full_key].error:
                error = values[kr.full_key].error or (found.error if found else None)
                values[person.full_key] = MetricValue(None, error or "not computed per owner")
            else:
                values[person.full_key] = MetricValue(found.values.get(person.member, found.empty))
        if kr.template.rollup is Rollup.SUM and not values[kr.full_key].error and personal:
            parts = [values[p.full_key].value for p in personal]
            known = [v for v in parts if v is not None]
            values[kr.full_key] = MetricValue(sum(known) if known else None)
    return out


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _by_email(
    raw: Mapping[str, OwnerValues], krs: Sequence[KeyResult], connectors: Mapping[str, Connector]
) -> dict[str, OwnerValues]:
    """Per-owner values keyed by e-mail, as each key result's connector names its owners."""
    names: dict[str, set[str]] = {}
    for kr in krs:
        found = raw.get(kr.full_key)
        if found is not None:
            names.setdefault(kr.source, set()).update(o for o in found.values if o is not None)
    emails: dict[str, dict[str, str]] = {}
    for source, values in names.items():
        connector = connectors.get(source)
        known: dict[str, str] = {}
        try:
            if connector is not None and isinstance(connector, RecordOwners):
                known = connector.owner_emails(values)
        except ConnectorError as exc:
            log.warning("sync.owners.unavailable", connector=source, error=str(exc))
            known = {}
        emails[source] = {k.lower(): v.lower() for k, v in known.items()}
    out: dict[str, OwnerValues] = {}
    for kr in krs:
        found = raw.get(kr.full_key)
        if found is None:
            continue
        by_email: dict[str | None, float | None] = {}
        for owner, value in found.values.items():
            name = None if owner is None else emails.get(kr.source, {}).get(owner, owner)
            if name in by_email:  # two CRM owners with one address: the first counts
                log.warning("sync.owners.same_email", owner=name, key_result=kr.full_key)
                continue
            by_email[name] = value
        out[kr.full_key] = OwnerValues(by_email, found.empty, found.error)
    return out


def _reused(
    engine: Engine, krs: Sequence[KeyResult], bases: Mapping[str, str]
) -> dict[str, OwnerValues]:
    """Per-owner values stored by an earlier run on the same basis (nothing they read changed).

    Key results of one metric share a basis, and so their per-owner values.
    """
    wanted = sorted({bases[kr.full_key] for kr in krs if kr.full_key in bases})
    latest: dict[str, tuple[str, str]] = {}
    found: dict[tuple[str, str], dict[str | None, float | None]] = {}
    table = ContributionRow.__table__  # type: ignore[attr-defined]
    columns = (table.c.id, table.c.basis, table.c.run_id, table.c.kr_key, table.c.owner)
    newest: dict[str, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            statement = sa.select(*columns, table.c.value).where(
                table.c.basis.in_(wanted[start : start + 500]), table.c.no_records.is_(False)
            )
            for row_id, basis, run_id, kr_key, owner, value in conn.execute(statement):
                if row_id > newest.get(basis, -1):  # the latest run's rows
                    newest[basis] = row_id
                    latest[basis] = (run_id, kr_key)
                found.setdefault((run_id, kr_key), {})[owner] = value
    out: dict[str, OwnerValues] = {}
    for kr in krs:
        same = bases.get(kr.full_key)
        if same is not None and same in latest:
            out[kr.full_key] = OwnerValues(dict(found[latest[same]]), empty_value(kr.metric.expr))
    return out


def additive(kr: KeyResult) -> bool:
    """Whether the key result's values add up over owners (a count or a sum)."""
    expr = kr.metric.expr
    return isinstance(expr, Aggregate) and expr.function in {"count", "sum"}


def contributions(
    kr: KeyResult, found: OwnerValues, members: Sequence[str] = ()
) -> tuple[Contribution, ...]:
    """Each owner's contribution to ``kr``: those with records, then members without any.

    Shares only where values add up (counts and sums); ranks among people (the
    unassigned row has none); progress toward the personal target when there is one.
    """
    values = dict(found.values)
    for member in members:
        values.setdefault(member, found.empty)
    total = sum(v for v in values.values() if v is not None)
    share_of = additive(kr) and bool(total)
    ranked = sorted(
        {v for o, v in values.items() if o is not None and v is not None},
        reverse=not kr.lower_is_better,
    )
    ordered = sorted(
        values.items(),
        key=lambda item: (item[0] is None, item[1] is None, _place(item[1], ranked), item[0] or ""),
    )
    out: list[Contribution] = []
    for owner, value in ordered:
        target = kr.personal_target(owner) if owner is not None and _personal(kr) else None
        rank = None if owner is None or value is None else _rank(value, values, kr)
        out.append(
            Contribution(
                owner=owner,
                value=value,
                share=value / total if share_of and value is not None else None,
                rank=rank,
                target=target,
                progress=_progress(kr, value, target),
            )
        )
    return tuple(out)


def _personal(kr: KeyResult) -> bool:
    return kr.template is not None or bool(kr.targets)


def _place(value: float | None, ranked: list[float]) -> int:
    return ranked.index(value) if value is not None and value in ranked else len(ranked)


def _rank(value: float, values: Mapping[str | None, float | None], kr: KeyResult) -> int:
    """Competition ranking (1, 2, 2, 4) among owners, best first."""
    better = [
        v
        for o, v in values.items()
        if o is not None and v is not None and (v < value if kr.lower_is_better else v > value)
    ]
    return len(better) + 1


def _progress(kr: KeyResult, value: float | None, target: float | None) -> float | None:
    if value is None or target is None:
        return None
    start = kr.template.start if kr.template is not None else kr.start
    if target == start and not kr.is_milestone:
        return None
    return progress(value, start, target, milestone=kr.is_milestone)


# -- the records for the CRM ----------------------------------------------------------------------


def contribution_records(
    results: Sequence[KeyResultResult],
    breakdowns: Mapping[str, Breakdown],
    connectors: Collection[str],
    now: datetime,
    written: Mapping[str, Collection[str]] | None = None,
) -> Wanted:
    """The contribution records of each broken-down key result, for its destinations.

    ``written`` holds, per connector, the contribution keys written before: a
    rep who no longer contributes keeps their record, zeroed. A key result whose
    breakdown failed leaves its contributions as they are.
    """
    before: dict[tuple[str, str], set[str]] = {}  # (connector, kr key) → owners written
    for connector, keys in (written or {}).items():
        for key in keys:
            kr_key, _, owner = key.rpartition("/")
            before.setdefault((connector, kr_key), set()).add(owner)
    out: Wanted = {}
    for result in results:
        kr = result.kr
        found = breakdowns.get(kr.full_key)
        if found is None or found.error:
            continue
        records = [_record(kr, c, now) for c in found.contributions]
        owners = {c.label for c in found.contributions}
        for connector in kr.destinations:
            if connector not in connectors:
                continue
            gone = sorted(before.get((connector, kr.full_key), set()) - owners)
            zeroed = [_record(kr, _left(kr, owner), now) for owner in gone]
            out.setdefault((connector, CONTRIBUTION.name), []).extend([*records, *zeroed])
    return out


def _left(kr: KeyResult, owner: str) -> Contribution:
    """The zeroed contribution of an owner who no longer contributes."""
    empty = empty_value(kr.metric.expr)
    return Contribution(
        owner=None if owner == UNASSIGNED else owner,
        value=empty,
        share=0.0 if empty is not None and additive(kr) else None,
    )


def _record(kr: KeyResult, part: Contribution, now: datetime) -> dict[str, Any]:
    return {
        "key": f"{kr.full_key}/{part.label}",
        "title": f"{part.label}: {kr.title}",
        "key_result": kr.full_key,
        "owner": part.owner,
        "owner_email": part.owner,
        "unit": kr.unit.value,
        "current_value": part.value,
        "share": part.share,
        "rank": None if part.rank is None else float(part.rank),
        "target_value": part.target,
        "progress": part.progress,
        "last_synced_at": now,
    }


def written_contributions(engine: Engine, connectors: Collection[str]) -> dict[str, set[str]]:
    """Keys of the contribution records confirmed written, per connector."""
    out: dict[str, set[str]] = {}
    with Session(engine) as session:
        rows = session.exec(
            select(WrittenRow.connector, WrittenRow.key).where(
                WrittenRow.object == CONTRIBUTION.name, col(WrittenRow.connector).in_(connectors)
            )
        )
        for connector, key in rows:
            out.setdefault(str(connector), set()).add(str(key))
    return out


# -- the state store ------------------------------------------------------------------------------


KEEP_RUNS = 10
"""Runs whose per-owner values the store keeps (every run stores them all again)."""


def record_contributions(
    engine: Engine,
    run_id: str,
    owners: Mapping[str, OwnerValues],
    breakdowns: Mapping[str, Breakdown],
    bases: Mapping[str, str],
) -> None:
    """Store a run's per-owner values: contributions where broken down, else the owners' values.

    ``okrsync status`` and the status page read them; a later run reuses them
    while the key result's basis (``bases``, by full key) holds. Those of all
    but the latest :data:`KEEP_RUNS` runs are dropped (each run stores every
    per-owner value again, reused or not, so nothing needed is lost), but those of
    the latest sync, which ``okrsync status`` shows.
    """
    if not owners:
        return
    table = ContributionRow.__table__  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = []
    for kr_key, found in owners.items():
        if found.error:
            continue
        parts = breakdowns.get(kr_key)
        shown = parts is not None and parts.error is None
        contributions = (
            parts.contributions
            if parts is not None and shown
            else tuple(Contribution(o, v) for o, v in found.values.items())
        )
        rows += [
            {
                "run_id": run_id,
                "kr_key": kr_key,
                "owner": part.owner,
                "value": part.value,
                "share": part.share,
                "rank": part.rank,
                "target": part.target,
                "progress": part.progress,
                "basis": bases.get(kr_key),
                "no_records": part.owner not in found.values,
                "contribution": shown,
            }
            for part in contributions
        ]
    with engine.begin() as conn:  # many rows: one executemany, not an object each
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(table), rows[start : start + 5000])
    with Session(engine) as session:
        newest = sa.func.max(ContributionRow.id)
        kept = set(
            session.exec(
                select(ContributionRow.run_id)
                .group_by(col(ContributionRow.run_id))
                .order_by(newest.desc())
                .limit(KEEP_RUNS)
            ).all()
        )
        if len(kept) == KEEP_RUNS:
            synced = session.exec(  # what `okrsync status` shows, however many plans ran since
                select(ContributionRow.run_id)
                .join(RunRow, col(RunRow.id) == col(ContributionRow.run_id))
                .where(col(RunRow.kind) != "plan")
                .order_by(col(ContributionRow.id).desc())
                .limit(1)
            ).first()
            session.execute(
                sa.delete(ContributionRow).where(
                    col(ContributionRow.run_id).not_in([*kept, synced or ""])
                )
            )
            session.commit()
