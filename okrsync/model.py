"""The OKR domain model: cycles, objectives, key results, owners (pure, no I/O).

Built by the mapping loader from validated files; everything downstream (plan,
compute, scoring, write-back) works on these objects only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from okrsync.scoring import CycleDates

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from datetime import date

    from okrsync._yaml import LocatedDocument, YamlPath
    from okrsync.catalog import ResolvedMetric
    from okrsync.errors import Problem
    from okrsync.metric import Unit

__all__ = [
    "Cycle",
    "KeyResult",
    "KeyResultKind",
    "MappingSet",
    "Objective",
    "Origin",
    "Owner",
    "OwnerKind",
    "PersonalTemplate",
    "Rollup",
    "Team",
]


class KeyResultKind(StrEnum):
    """How a key result is measured."""

    METRIC = "metric"
    """A value moving from start to target, in either direction."""
    MILESTONE = "milestone"
    """Done (value ≥ target, default 1) or not."""


class OwnerKind(StrEnum):
    """Who owns an objective or key result."""

    TEAM = "team"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Owner:
    """A team (by name) or a user (by e-mail)."""

    kind: OwnerKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class Rollup(StrEnum):
    """How a team key result rolls up from its members' personal key results."""

    SUM = "sum"
    """The sum of their values, scored against the team target."""
    MEAN = "mean"
    """The mean of their scores (the team key result keeps its own value)."""


@dataclass(frozen=True, slots=True)
class Team:
    """A team of people, for personal key results: a roster and, maybe, the CRM's list."""

    name: str
    members: tuple[str, ...] = ()
    """E-mail addresses (lower case) from the mappings' ``teams:`` roster."""
    crm_name: str | None = None
    """The name the CRM lists the team under (role, public group, team), if it is read."""
    origin: Origin | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PersonalTemplate:
    """A key result that is a template: one personal key result per member of a team."""

    team: Team
    rollup: Rollup
    target: float
    """Everyone's personal target, unless ``targets`` names theirs."""
    start: float = 0.0
    """Everyone's start."""
    team_target: float | None = None
    """The team key result's target as written (``None``: derived, see the docs)."""

    def team_range(
        self, start: float, targets: Mapping[str, float], members: Sequence[str]
    ) -> tuple[float, float]:
        """The team key result's start and target for these members.

        A sum starts at the sum of their starts and aims at ``team_target``, else at
        the sum of their targets; a mean keeps the personal start and target (or
        ``team_target``).
        """
        if self.rollup is Rollup.MEAN or not members:
            return start, self.target if self.team_target is None else self.team_target
        team_start = start * len(members)
        if self.team_target is not None:
            return team_start, self.team_target
        total = sum(targets.get(m, self.target) for m in members)
        return team_start, total


@dataclass(frozen=True, slots=True)
class Origin:
    """Where something was defined, so later stages can point at it."""

    doc: LocatedDocument = field(compare=False, repr=False)
    path: YamlPath

    def problem(self, message: str, sub: YamlPath = ()) -> Problem:
        """A located problem at this definition (or below it, at ``sub``)."""
        return self.doc.problem((*self.path, *sub), message)

    def __str__(self) -> str:
        mark = self.doc.mark(self.path)
        return f"{self.doc.file}:{mark.line}:{mark.col}"


@dataclass(frozen=True, slots=True)
class Cycle:
    """A named date range (both ends inclusive), usually a quarter."""

    name: str
    start: date
    end: date

    @property
    def dates(self) -> CycleDates:
        """The dates, as the scoring functions take them."""
        return CycleDates(self.start, self.end)

    @property
    def days(self) -> int:
        """Number of days in the cycle."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies within the cycle."""
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class KeyResult:
    """A measurable result of an objective."""

    key: str
    objective_key: str
    cycle: Cycle
    title: str
    kind: KeyResultKind
    source: str
    metric: ResolvedMetric
    start: float
    target: float
    unit: Unit
    weight: float = 1.0
    description: str | None = None
    owner: Owner | None = None
    publish_to: tuple[str, ...] = ()
    origin: Origin | None = field(default=None, compare=False)
    accumulates: bool = False
    """Whether the metric accumulates (0 at the cycle's start, only grows) or is a level:
    the key result's ``accumulates:``, else its named metric's, else inferred."""
    source_read_only: bool = False
    """The source only serves data (a read-only connector): the key result is written to
    its ``publish_to`` connectors only."""
    breakdown: bool = False
    """Whether the metric is also computed per record owner (``breakdown: owner``)."""
    template: PersonalTemplate | None = None
    """For a template (``for_each``): the team and how it rolls up from its members."""
    targets: tuple[tuple[str, float], ...] = ()
    """Personal targets by e-mail (lower case), overriding the template's ``target``."""
    parent: str | None = None
    """For a personal key result: the full key of the team key result it rolls up into."""
    member: str | None = None
    """For a personal key result: the member's e-mail (lower case)."""
    team: Team | None = None
    """The people it is computed for: the template's team, or the owning team of a
    breakdown when the ``teams:`` roster has it (members without records show as such)."""

    @property
    def full_key(self) -> str:
        """External id in the CRM: ``<cycle>/<objective>/<kr>``."""
        return f"{self.cycle.name}/{self.objective_key}/{self.key}"

    @property
    def by_owner(self) -> bool:
        """Whether the metric is computed per owner (a breakdown, or a template's members)."""
        return self.breakdown or self.template is not None

    def personal_target(self, email: str) -> float | None:
        """The personal target of ``email``: theirs from ``targets``, else the template's."""
        wanted = email.lower()
        found = next((t for e, t in self.targets if e == wanted), None)
        if found is not None:
            return found
        return self.template.target if self.template is not None else None

    @property
    def lower_is_better(self) -> bool:
        """Whether progress means the value going down (start > target)."""
        return self.start > self.target

    @property
    def is_milestone(self) -> bool:
        """Whether this is a milestone (done or not)."""
        return self.kind is KeyResultKind.MILESTONE

    @property
    def destinations(self) -> tuple[str, ...]:
        """Connectors this key result is written to: its source (unless read-only), publish_to."""
        own = () if self.source_read_only else (self.source,)
        return (*own, *(d for d in self.publish_to if d != self.source))


@dataclass(frozen=True, slots=True)
class Objective:
    """A qualitative goal for one cycle, measured by its key results."""

    key: str
    cycle: Cycle
    title: str
    key_results: tuple[KeyResult, ...]
    description: str | None = None
    owner: Owner | None = None
    aligns_to: str | None = None
    """Full key (``<cycle>/<objective>``) of the parent objective."""
    origin: Origin | None = field(default=None, compare=False)

    @property
    def full_key(self) -> str:
        """External id in the CRM: ``<cycle>/<objective>``."""
        return f"{self.cycle.name}/{self.key}"


@dataclass(frozen=True, slots=True)
class MappingSet:
    """Every cycle and objective loaded from a mappings folder."""

    cycles: tuple[Cycle, ...] = ()
    objectives: tuple[Objective, ...] = ()
    files: tuple[str, ...] = ()
    teams: tuple[Team, ...] = ()

    def key_results(self) -> Iterator[KeyResult]:
        """All key results, in file order."""
        for objective in self.objectives:
            yield from objective.key_results

    def objective(self, full_key: str) -> Objective:
        """The objective with external id ``full_key``."""
        for objective in self.objectives:
            if objective.full_key == full_key:
                return objective
        raise KeyError(full_key)

    def sources(self) -> set[str]:
        """Connector instances any key result reads from or writes to."""
        found: set[str] = set()
        for kr in self.key_results():
            found.update((kr.source, *kr.destinations))
        return found
