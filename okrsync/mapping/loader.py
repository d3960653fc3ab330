"""Load a mappings folder into a :class:`~okrsync.model.MappingSet`, or fail with every problem.

Each file is checked on its own first (shape, types, unknown keys); then what
spans files: cycles, named metrics, unique keys, alignment, sources, metric
names, start and target. Problems of all files are collected and raised
together, sorted by file and position.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from okrsync._validation import validate_located
from okrsync._yaml import LocatedDocument, load_yaml_file
from okrsync.catalog import Catalog, MetricDefinition, MetricResolutionError
from okrsync.errors import MappingError, Problem
from okrsync.mapping.schema import (
    CycleSpec,
    KeyResultSpec,
    MappingFile,
    NamedMetricSpec,
    ObjectiveSpec,
    OwnerSpec,
    TeamSpec,
)
from okrsync.metric import Aggregate, MetricRef, Percentage, Unit, describe_value
from okrsync.model import (
    Cycle,
    KeyResult,
    KeyResultKind,
    MappingSet,
    Objective,
    Origin,
    Owner,
    OwnerKind,
    PersonalTemplate,
    Rollup,
    Team,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from pathlib import Path

    from okrsync._yaml import YamlPath
    from okrsync.catalog import ResolvedMetric

__all__ = ["catalogs_for", "display_name", "load_mappings", "mapping_files"]

NPS_RANGE = 100.0
MAPPINGS_SETTING = (
    "set the folder with `mappings:` in the configuration file, OKRSYNC_MAPPINGS or "
    "--mappings (a relative path is from the working directory)"
)


class _ObjectiveHead(ObjectiveSpec):
    """An objective whose key results are checked one by one."""

    key_results: list[Any]


class _MetricOnly(BaseModel):
    """Just the metric of a key result."""

    model_config = ConfigDict(extra="ignore")
    metric: MetricRef


@dataclass
class _File:
    doc: LocatedDocument
    cycle: Cycle | None = None
    cycle_ref: str | None = None

    def cycle_or_stand_in(self) -> tuple[Cycle, bool]:
        """The file's cycle; when it is invalid or unknown, a stand-in (``True``).

        The objectives of a file whose cycle has a problem are still checked
        against the stand-in, so that problem does not hide theirs.
        """
        if self.cycle is not None:
            return self.cycle, False
        raw = self.cycle_ref or self.doc.get(("cycle", "name"))
        name = str(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else "?"
        return Cycle(name, date.min, date.max), True


@dataclass
class _Loader:
    sources: Mapping[str, str]
    catalogs: Mapping[str, Catalog]
    read_only: frozenset[str] = frozenset()
    """Connector instances that only serve data: they cannot hold key results."""
    problems: list[Problem] = field(default_factory=list)
    files: list[_File] = field(default_factory=list)
    cycles: dict[str, tuple[Cycle, Origin]] = field(default_factory=dict)
    instance_catalogs: dict[str, Catalog] = field(default_factory=dict)
    objectives: list[tuple[Objective, Origin]] = field(default_factory=list)
    stand_ins: set[str] = field(default_factory=set)
    """Objectives (full keys) checked against a stand-in cycle: not aligned."""
    teams: dict[str, Team] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    # -- per file ------------------------------------------------------------

    def read(self, path: Path) -> None:
        doc, problems = load_yaml_file(path, display_name(path))
        self.problems.extend(problems)
        if problems:
            return
        if doc.data is None:
            self.add(doc.problem((), "expected a mapping with `version: 1`, got an empty file"))
            return
        if not isinstance(doc.data, dict):
            self.add(
                doc.problem(
                    (), f"expected a mapping with `version: 1`, got {describe_value(doc.data)}"
                )
            )
            return
        _, problems = validate_located(MappingFile, doc)
        self.problems.extend(problems)
        self.files.append(self.read_cycle(doc))

    def read_cycle(self, doc: LocatedDocument) -> _File:
        raw = doc.get(("cycle",))
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)  # `cycle: 2026` names the cycle "2026"
        if isinstance(raw, str):
            return _File(doc, cycle_ref=raw)
        if not isinstance(raw, dict):
            if doc.get(("objectives",)):
                self.add(
                    doc.problem(
                        (), "missing required key `cycle` (the objectives of a file belong to one)"
                    )
                )
            return _File(doc)
        spec, problems = validate_located(CycleSpec, doc, ("cycle",))
        if problems or spec is None:
            return _File(doc)
        if spec.end < spec.start:
            self.add(
                doc.problem(
                    ("cycle", "end"),
                    f"expected an end on or after the start {spec.start}, got {spec.end}",
                )
            )
            return _File(doc)
        cycle = Cycle(spec.name, spec.start, spec.end)
        origin = Origin(doc, ("cycle",))
        known = self.cycles.get(cycle.name)
        if known is None:
            self.cycles[cycle.name] = (cycle, origin)
        elif known[0] != cycle:
            self.add(
                origin.problem(
                    f"cycle `{cycle.name}` is already defined as {known[0].start}..{known[0].end} "
                    f"at {known[1]}; expected the same dates or just the name "
                    f"`cycle: {cycle.name}`"
                )
            )
        return _File(doc, cycle=cycle)

    # -- across files --------------------------------------------------------

    def link_cycles(self) -> None:
        for item in self.files:
            if item.cycle_ref is None:
                continue
            known = self.cycles.get(item.cycle_ref)
            if known is None:
                names = ", ".join(f"`{n}`" for n in sorted(self.cycles)) or "none defined"
                self.add(
                    item.doc.problem(
                        ("cycle",),
                        f"unknown cycle `{item.cycle_ref}`; expected a cycle defined in a "
                        f"mapping file ({names}) or a definition `{{name, start, end}}`",
                    )
                )
            else:
                item.cycle = known[0]

    def admin_metrics(self) -> dict[str, dict[str, MetricDefinition]]:
        """Named metrics of the mapping files, by the source key they were written under."""
        types = set(self.sources.values())
        by_key: dict[str, dict[str, MetricDefinition]] = {}
        for item in self.files:
            metrics = item.doc.get(("metrics",))
            for source, entries in metrics.items() if isinstance(metrics, dict) else ():
                if source not in self.sources and source not in types:
                    self.add(self.unknown_source(item.doc, ("metrics", source), source, key=True))
                    continue
                for name in entries if isinstance(entries, dict) else ():
                    path: YamlPath = ("metrics", source, name)
                    spec, problems = validate_located(NamedMetricSpec, item.doc, path)
                    if problems or spec is None:
                        continue
                    defined = by_key.setdefault(source, {})
                    if name in defined:
                        self.add(
                            item.doc.problem(
                                path,
                                f"metric `{name}` for `{source}` is already defined at "
                                f"{defined[name].origin}",
                                key=True,
                            )
                        )
                        continue
                    defined[name] = MetricDefinition(name, spec, Origin(item.doc, path))
        return by_key

    def build_catalogs(self) -> None:
        by_key = self.admin_metrics()
        for instance, kind in sorted(self.sources.items()):
            base = self.catalogs.get(kind, Catalog(instance, {}))
            catalog = (
                Catalog(instance, {n: base.definition(n) for n in base.names()})
                .with_overrides(by_key.get(kind, {}))
                .with_overrides(by_key.get(instance, {}) if instance != kind else {})
            )
            self.instance_catalogs[instance] = catalog
            self.problems.extend(catalog.check_all())

    def read_teams(self) -> None:
        """The ``teams:`` rosters of every file (each team defined once)."""
        for item in self.files:
            teams = item.doc.get(("teams",))
            for name in teams if isinstance(teams, dict) else ():
                path: YamlPath = ("teams", name)
                spec, problems = validate_located(TeamSpec, item.doc, path)
                if problems or spec is None or not isinstance(name, str):
                    continue
                origin = Origin(item.doc, path)
                known = self.teams.get(name)
                if known is not None:
                    self.add(
                        item.doc.problem(
                            path,
                            f"team `{name}` is already defined at {known.origin}; "
                            "expected each team once (its members in one list)",
                            key=True,
                        )
                    )
                    continue
                if not spec.members and spec.from_crm is False:
                    self.add(
                        origin.problem(
                            "expected `members` (e-mail addresses) or `from_crm: true` "
                            "(the members the CRM lists under this name), got neither"
                        )
                    )
                    continue
                crm = spec.from_crm
                crm_name = name if crm is True else (crm if isinstance(crm, str) else None)
                members = tuple(dict.fromkeys(m.lower() for m in spec.members))
                self.teams[name] = Team(name, members, crm_name, origin)

    def unknown_source(
        self, doc: LocatedDocument, path: YamlPath, name: str, *, key: bool = False
    ) -> Problem:
        known = ", ".join(f"`{s}`" for s in sorted(self.sources)) or "none configured"
        return doc.problem(
            path,
            f"unknown source `{name}`; expected one of {known} "
            "(the connectors of the configuration)",
            key=key,
        )

    def build_objectives(self) -> None:
        seen: dict[str, Origin] = {}
        for item in self.files:
            raw = item.doc.get(("objectives",))
            if not isinstance(raw, list):
                continue
            cycle, stand_in = item.cycle_or_stand_in()
            for index in range(len(raw)):
                path: YamlPath = ("objectives", index)
                head, problems = validate_located(_ObjectiveHead, item.doc, path)
                if problems or head is None:
                    continue
                origin = Origin(item.doc, path)
                full_key = f"{cycle.name}/{head.key}"
                if full_key in seen:
                    self.add(
                        item.doc.problem(
                            (*path, "key"),
                            f"duplicate objective key `{head.key}` in cycle `{cycle.name}` "
                            f"(first at {seen[full_key]})",
                        )
                    )
                    continue
                seen[full_key] = Origin(item.doc, (*path, "key"))
                key_results = self.build_key_results(item.doc, path, head, cycle)
                objective = Objective(
                    key=head.key,
                    cycle=cycle,
                    title=head.title,
                    key_results=tuple(key_results),
                    description=head.description,
                    owner=_owner(head.owner),
                    aligns_to=head.aligns_to,
                    origin=origin,
                )
                self.objectives.append((objective, origin))
                if stand_in:
                    self.stand_ins.add(objective.full_key)

    def build_key_results(
        self, doc: LocatedDocument, path: YamlPath, head: _ObjectiveHead, cycle: Cycle
    ) -> list[KeyResult]:
        out: list[KeyResult] = []
        keys: dict[str, Origin] = {}
        for index in range(len(head.key_results)):
            kr_path: YamlPath = (*path, "key_results", index)
            spec, problems = validate_located(KeyResultSpec, doc, kr_path)
            if problems or spec is None:
                self.check_metric_only(doc, kr_path)
                continue
            origin = Origin(doc, kr_path)
            if spec.key in keys:
                self.add(
                    doc.problem(
                        (*kr_path, "key"),
                        f"duplicate key result key `{spec.key}` in objective `{head.key}` "
                        f"(first at {keys[spec.key]})",
                    )
                )
                continue
            keys[spec.key] = Origin(doc, (*kr_path, "key"))
            kr = self.build_key_result(spec, origin, head, cycle)
            if kr is not None:
                out.append(kr)
        return out

    def check_metric_only(self, doc: LocatedDocument, kr_path: YamlPath) -> None:
        """Check source and metric of a key result that has other problems, to report theirs too."""
        source = doc.get((*kr_path, "source"))
        catalog = self.instance_catalogs.get(source) if isinstance(source, str) else None
        if isinstance(source, str) and catalog is None:
            self.add(self.unknown_source(doc, (*kr_path, "source"), source))
        metric, problems = validate_located(_MetricOnly, doc, kr_path)
        if catalog is None or problems or metric is None:
            return
        try:
            catalog.resolve(metric.metric, Origin(doc, (*kr_path, "metric")))
        except MetricResolutionError as exc:
            self.add(exc.problem)

    def build_key_result(
        self, spec: KeyResultSpec, origin: Origin, head: _ObjectiveHead, cycle: Cycle
    ) -> KeyResult | None:
        ok = True
        for index, destination in enumerate(spec.publish_to):
            if destination not in self.sources:
                self.add(
                    self.unknown_source(
                        origin.doc, (*origin.path, "publish_to", index), destination
                    )
                )
                ok = False
            elif destination in self.read_only:
                message = f"`{destination}` is a read-only source: it cannot hold key results"
                self.add(origin.doc.problem((*origin.path, "publish_to", index), message))
                ok = False
        catalog = self.instance_catalogs.get(spec.source)
        if catalog is None:
            self.add(self.unknown_source(origin.doc, (*origin.path, "source"), spec.source))
            return None
        if spec.source in self.read_only and not spec.publish_to:
            self.add(origin.doc.problem((*origin.path, "source"), self.read_only_source(spec)))
            ok = False
        try:
            metric = catalog.resolve(spec.metric, Origin(origin.doc, (*origin.path, "metric")))
        except MetricResolutionError as exc:
            self.add(exc.problem)
            return None
        kind = KeyResultKind(spec.kind)
        unit = spec.unit or metric.unit
        start, target = self.start_target(spec, origin, kind, unit, metric)
        personal = self.personal(spec, origin, metric, unit, start)
        if start is None or target is None or not ok or personal is None:
            return None
        template, targets = personal
        if template is not None and template.team.members:
            start, target = template.team_range(start, dict(targets), template.team.members)
        owner = _owner(spec.owner) or _owner(head.owner)
        team = template.team if template is not None else None
        if team is None and spec.breakdown and owner is not None and owner.kind is OwnerKind.TEAM:
            team = self.teams.get(owner.name)
        return KeyResult(
            key=spec.key,
            objective_key=head.key,
            cycle=cycle,
            title=spec.title,
            kind=kind,
            source=spec.source,
            metric=metric,
            start=start,
            target=target,
            unit=unit,
            weight=spec.weight,
            description=spec.description,
            owner=owner,
            publish_to=tuple(spec.publish_to),
            origin=origin,
            accumulates=metric.accumulates if spec.accumulates is None else spec.accumulates,
            source_read_only=spec.source in self.read_only,
            breakdown=spec.breakdown == "owner",
            template=template,
            targets=targets,
            team=team,
        )

    def read_only_source(self, spec: KeyResultSpec) -> str:
        """Why a key result read from a read-only source and published nowhere is refused."""
        writable = [f"`{s}`" for s in sorted(self.sources) if s not in self.read_only]
        where = (
            f"one of {', '.join(writable)}" if writable else "a CRM connector (none is configured)"
        )
        return (
            f"`{spec.source}` is a read-only source: it cannot hold this key result; "
            f"publish it to a CRM with `publish_to` ({where})"
        )

    def personal(
        self,
        spec: KeyResultSpec,
        origin: Origin,
        metric: ResolvedMetric,
        unit: Unit,
        start: float | None,
    ) -> tuple[PersonalTemplate | None, tuple[tuple[str, float], ...]] | None:
        """The template and personal targets of a key result (``None`` after a problem)."""
        before = len(self.problems)
        if spec.targets and spec.for_each is None and spec.breakdown is None:
            self.add(
                origin.problem(
                    "expected `targets` only with `for_each` (personal key results) or "
                    "`breakdown: owner` (contributions): personal targets are for people",
                    ("targets",),
                )
            )
        team, rollup = self.template_team(spec, origin, metric)
        what = f"metric `{metric.name}`" if metric.name else "this metric"
        targets = self.personal_targets(spec, origin, team, unit, start, what)
        team_target = spec.for_each.team_target if spec.for_each is not None else None
        if team_target is not None:
            problem = _target_problem(team_target, unit, what, start)
            if problem is not None:
                self.add(origin.problem(problem, ("for_each", "team_target")))
        if len(self.problems) > before or targets is None:
            return None
        if team is None or rollup is None or spec.target is None:
            return None, targets
        personal_start = 0.0 if start is None else start
        return PersonalTemplate(team, rollup, spec.target, personal_start, team_target), targets

    def template_team(
        self, spec: KeyResultSpec, origin: Origin, metric: ResolvedMetric
    ) -> tuple[Team | None, Rollup | None]:
        """The team and roll-up of a template (``None`` for none); problems are added."""
        each = spec.for_each
        if each is None:
            return None, None
        if spec.owner is not None:
            self.add(
                origin.problem(
                    "expected no `owner` on a template (`for_each`): the team key result "
                    "is the team's and each personal key result its member's",
                    ("owner",),
                )
            )
        team = self.teams.get(each.team)
        if team is None:
            names = ", ".join(f"`{n}`" for n in sorted(self.teams)) or "none defined"
            self.add(
                origin.problem(
                    f"unknown team `{each.team}`; expected a team of the `teams:` roster ({names})",
                    ("for_each", "team"),
                )
            )
        additive = _additive(metric)
        rollup = Rollup.SUM if additive else Rollup.MEAN
        if each.rollup is not None:
            rollup = Rollup(each.rollup)
            if rollup is Rollup.SUM and not additive:
                self.add(
                    origin.problem(
                        "expected `rollup: mean` for this metric: only counts and sums add up "
                        "over people (a ratio, an average or an NPS of a team is not the sum "
                        "of its members')",
                        ("for_each", "rollup"),
                    )
                )
        return team, rollup

    def personal_targets(  # noqa: PLR0917  (one key result's parts, checked together)
        self,
        spec: KeyResultSpec,
        origin: Origin,
        team: Team | None,
        unit: Unit,
        start: float | None,
        what: str,
    ) -> tuple[tuple[str, float], ...] | None:
        """``targets`` by lower-case e-mail (``None`` after a problem)."""
        ok = True
        targets: list[tuple[str, float]] = []
        raw = origin.doc.get((*origin.path, "targets"))
        written_keys = [str(k) for k in raw] if isinstance(raw, dict) else []
        for written, value in spec.targets.items():
            email = written.lower()
            key = next((k for k in written_keys if k.lower() == email), written)
            problem = _target_problem(value, unit, what, start)
            if problem is not None:
                self.add(origin.problem(problem, ("targets", key)))
                ok = False
            elif team is not None and team.crm_name is None and email not in team.members:
                members = ", ".join(f"`{m}`" for m in team.members)
                self.add(
                    origin.doc.problem(
                        (*origin.path, "targets", key),
                        f"`{written}` is not a member of team `{team.name}`; expected one of "
                        f"{members}",
                        key=True,
                    )
                )
                ok = False
            else:
                targets.append((email, value))
        return tuple(targets) if ok else None

    def start_target(
        self,
        spec: KeyResultSpec,
        origin: Origin,
        kind: KeyResultKind,
        unit: Unit,
        metric: ResolvedMetric,
    ) -> tuple[float | None, float | None]:
        milestone = kind is KeyResultKind.MILESTONE
        start = 0.0 if spec.start is None else spec.start
        target = spec.target
        if target is None:
            if not milestone:
                self.add(
                    origin.problem(
                        "missing required key `target` (a metric key result needs a target)"
                    )
                )
                return None, None
            target = 1.0
        ok = True
        what = f"metric `{metric.name}`" if metric.name else "this metric"
        for name, value in (("start", spec.start), ("target", spec.target)):
            if value is None:
                continue
            message = _unit_problem(value, unit, what)
            if message:
                self.add(origin.problem(message, (name,)))
                ok = False
        if ok and start == target:
            at = "target" if spec.target is not None else "start"
            self.add(
                origin.problem(
                    "expected a target different from the start "
                    f"({describe_value(spec.start if spec.start is not None else start)}), "
                    f"got {describe_value(spec.target if spec.target is not None else target)}",
                    (at,),
                )
            )
            ok = False
        if ok and milestone and start > target:
            self.add(
                origin.problem(
                    f"expected a milestone target above its start ({describe_value(start)}), "
                    f"got {describe_value(target)}",
                    ("target",),
                )
            )
            ok = False
        return (start, target) if ok else (None, None)

    def link_alignment(self) -> None:
        by_key = {objective.full_key: objective for objective, _ in self.objectives}
        linked: list[tuple[Objective, Origin]] = []
        for objective, origin in self.objectives:
            ref = objective.aligns_to
            if ref is None or objective.full_key in self.stand_ins:
                linked.append((objective, origin))
                continue
            full = ref if "/" in ref else f"{objective.cycle.name}/{ref}"
            if full not in by_key:
                same_cycle = sorted(
                    o.key
                    for o in by_key.values()
                    if o.cycle == objective.cycle and o is not objective
                )
                names = ", ".join(f"`{k}`" for k in same_cycle) or "none"
                self.add(
                    origin.problem(
                        f"unknown objective `{ref}`; expected the key of an objective in cycle "
                        f"`{objective.cycle.name}` ({names}) or `<cycle>/<objective>`",
                        ("aligns_to",),
                    )
                )
                continue
            chain = [objective.full_key]
            cursor: str | None = full
            while cursor is not None and cursor not in chain:
                chain.append(cursor)
                cursor = _aligned_full_key(by_key[cursor]) if cursor in by_key else None
            if cursor is not None:
                self.add(
                    origin.problem(
                        "objectives align to each other in a loop: " + " → ".join([*chain, cursor]),
                        ("aligns_to",),
                    )
                )
                continue
            linked.append((replace(objective, aligns_to=full), origin))
        self.objectives = linked


def _target_problem(value: float, unit: Unit, what: str, start: float | None) -> str | None:
    """What is wrong with a personal or team target, if anything."""
    problem = _unit_problem(value, unit, what)
    if problem is None and start is not None and value == start:
        return (
            f"expected a target different from the start ({describe_value(start)}), "
            f"got {describe_value(value)}"
        )
    return problem


def _additive(metric: ResolvedMetric) -> bool:
    """Whether the values of a metric over groups of records add up to its value (count, sum)."""
    expr = metric.expr
    return isinstance(expr, Aggregate) and expr.function in {"count", "sum"}


def _aligned_full_key(objective: Objective) -> str | None:
    ref = objective.aligns_to
    if ref is None:
        return None
    return ref if "/" in ref else f"{objective.cycle.name}/{ref}"


def _owner(spec: OwnerSpec | None) -> Owner | None:
    if spec is None:
        return None
    if spec.user is not None:
        return Owner(OwnerKind.USER, spec.user)
    return Owner(OwnerKind.TEAM, spec.team or "")


def _unit_problem(value: float, unit: Unit, what: str) -> str | None:
    shown = describe_value(value)
    if unit is Unit.PERCENT:
        if isinstance(value, Percentage):
            if not 0 <= value <= 1:
                return f"expected a percentage between 0% and 100% for {what}, got {shown}"
            return None
        if not 0 <= value <= 1:
            return (
                f"expected a percentage like `35%` or a fraction between 0 and 1 "
                f"({what} is a ratio), got {shown}"
            )
        return None
    if isinstance(value, Percentage):
        return f"expected a number ({what} is in {unit.value}, not a ratio), got {shown}"
    if unit is Unit.NPS and not -NPS_RANGE <= value <= NPS_RANGE:
        return f"expected an NPS between -100 and 100 for {what}, got {shown}"
    if unit is Unit.COUNT and value < 0:
        return f"expected a count of 0 or more for {what}, got {shown}"
    if unit in {Unit.HOURS, Unit.DAYS} and value < 0:
        return f"expected a duration of 0 {unit.value} or more for {what}, got {shown}"
    return None


def display_name(path: Path) -> str:
    """A file name as users see it: relative to the working directory when below it."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def mapping_files(folder: Path) -> list[Path]:
    """The mapping files of a folder (``*.yaml``/``*.yml``, recursively; hidden ones skipped)."""
    found = [
        p
        for pattern in ("*.yaml", "*.yml")
        for p in folder.rglob(pattern)
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    return sorted(found)


def load_mappings(
    folder: Path,
    *,
    sources: Mapping[str, str],
    catalogs: Mapping[str, Catalog],
    read_only: Collection[str] = (),
) -> MappingSet:
    """Load and check every mapping file in ``folder``.

    Args:
        folder: The mappings folder.
        sources: Connector instance name → connector type.
        catalogs: Built-in catalog per connector type.
        read_only: Instances that only serve data (a key result they serve must be
            published to another with ``publish_to``).

    Raises:
        MappingError: With every problem found, each located.
    """
    shown = display_name(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        message = f"expected a folder of mapping files at {folder.absolute()}, which {what}"
        raise MappingError([Problem(shown, 0, 0, "", f"{message}; {MAPPINGS_SETTING}")])
    paths = mapping_files(folder)
    if not paths:
        message = f"expected mapping files (*.yaml) in {folder.absolute()}, found none"
        raise MappingError([Problem(shown, 0, 0, "", f"{message}; {MAPPINGS_SETTING}")])
    loader = _Loader(sources=sources, catalogs=catalogs, read_only=frozenset(read_only))
    for path in paths:
        loader.read(path)
    loader.link_cycles()
    loader.build_catalogs()
    loader.read_teams()
    loader.build_objectives()
    loader.link_alignment()
    if loader.problems:
        raise MappingError(loader.problems)
    used = {o.cycle for o, _ in loader.objectives}
    cycles = sorted({c for c, _ in loader.cycles.values()} | used, key=lambda c: (c.start, c.name))
    return MappingSet(
        cycles=tuple(cycles),
        objectives=tuple(o for o, _ in loader.objectives),
        files=tuple(display_name(p) for p in paths),
        teams=tuple(loader.teams[name] for name in sorted(loader.teams)),
    )


def catalogs_for(
    folder: Path, *, sources: Mapping[str, str], catalogs: Mapping[str, Catalog]
) -> dict[str, Catalog]:
    """The named metrics of each connector instance, with the admin's definitions applied.

    Raises:
        MappingError: When the mapping files have problems.
    """
    loader = _Loader(sources=sources, catalogs=catalogs)
    for path in mapping_files(folder) if folder.is_dir() else []:
        loader.read(path)
    loader.build_catalogs()
    if loader.problems:
        raise MappingError(loader.problems)
    return loader.instance_catalogs
