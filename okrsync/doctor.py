"""``okrsync doctor``: is this set-up ready to sync? A checklist, each failure with its fix.

The core checks what it owns: the configuration loads, the mappings load (each
problem located as ``validate`` gives it), the state store is reachable and its
schema version is one this okrsync reads. Then, per configured connector and
at once for all of them: the connector's own checks (:class:`~okrsync.diagnosis.Diagnosable`:
login and who it acts as, API version, daily quota and reserve, okrsync's
objects and this user's access), and the core's checks through the plain
connector protocol: every field the mappings read exists and is readable (the
plan's field check, blamed where the mappings name the field), every named
metric has its data (:mod:`okrsync.coverage`, with an example override), and
every owner e-mail resolves to a user of the CRM.

Doctor changes nothing: it writes nothing to the CRMs (describes are read
afresh, not kept) and nothing to the state store (it is read, not migrated).
It retries a failing call once, not ``max_retries`` times, so a CRM that
cannot be reached is reported in seconds.
Exit 0 when no check failed (warnings allowed), 2 when one did: a failing
check is bad set-up (:class:`~okrsync.outcome.ExitCode.BAD_INPUT`), which a
person fixes before anything syncs.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okrsync._parallel import run_each
from okrsync.alignment import with_ancestors
from okrsync.app import connect, load_config, load_mappings_for, plugin_catalogs
from okrsync.coverage import explain, uncomputable_metrics
from okrsync.crm_objects import OKR_OBJECTS
from okrsync.diagnosis import (
    Check,
    CheckStatus,
    Diagnosable,
    DiagnosisRequest,
    Identifiable,
    skipped_after,
)
from okrsync.errors import ConfigurationError, ConnectorError, OkrsyncError
from okrsync.kit import Redactor
from okrsync.outcome import ExitCode
from okrsync.plan import build_plan, check_fields
from okrsync.state.db import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from okrsync.catalog import Catalog
    from okrsync.config import Settings
    from okrsync.connector import Connector
    from okrsync.model import MappingSet, Origin
    from okrsync.plan import PullPlan
    from okrsync.plugins import PluginRegistry

__all__ = [
    "Diagnosis",
    "Section",
    "check_store",
    "diagnose_app",
    "examine",
    "owner_emails",
    "render",
    "run_doctor",
    "summary",
]

CORE = "okrsync"
"""The name of the section of the core's own checks."""
WIDTH = 80
_MARKS = {
    CheckStatus.PASS: "ok",
    CheckStatus.WARN: "warn",
    CheckStatus.FAIL: "FAIL",
    CheckStatus.SKIP: "skip",
}
_LATER = (("fields", "mapped fields"), ("metrics", "named metrics"), ("owners", "owners"))
"""The core's checks of each connector, after the connector's own."""
_STORE_TIMEOUT_SECONDS = 10
RETRIES = 1
"""Retries of a failing call doctor allows each connector (a sync allows ``max_retries``)."""


@dataclass
class Section:
    """The checks of the core (``okrsync``) or of one connector instance."""

    name: str
    title: str
    checks: list[Check] = field(default_factory=list)
    connector_type: str | None = None


@dataclass
class Diagnosis:
    """Every section's checks, and what they add up to."""

    sections: list[Section]

    def checks(self) -> Iterable[tuple[Section, Check]]:
        """Each check with its section, in order."""
        for section in self.sections:
            for check in section.checks:
                yield section, check

    def counts(self) -> dict[str, int]:
        """How many checks ended in each status."""
        counts = {status.value: 0 for status in CheckStatus}
        for _, check in self.checks():
            counts[check.status.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        """Whether no check failed."""
        return not any(check.failed for _, check in self.checks())

    @property
    def exit_code(self) -> ExitCode:
        """0 when no check failed, 2 (bad set-up) when one did."""
        return ExitCode.SYNCED if self.ok else ExitCode.BAD_INPUT

    def as_json(self) -> dict[str, Any]:
        """One JSON object: ``ok``, ``exit_code``, ``summary`` and every check."""
        return {
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "summary": self.counts(),
            "checks": [
                {"scope": section.name, "connector_type": section.connector_type, **check.as_json()}
                for section, check in self.checks()
            ],
        }


# -- the composition root -------------------------------------------------------------------


def run_doctor(
    config: Path | None,
    mappings: Path | None = None,
    *,
    registry: PluginRegistry,
    env: Mapping[str, str] | None = None,
) -> Diagnosis:
    """Check the configuration, mappings, state store and every configured connector."""
    core = Section(CORE, "okrsync")
    try:
        settings = load_config(config, mappings, registry=registry, env=env)
    except ConfigurationError as error:
        core.checks.append(_config_failed(error))
        return Diagnosis([core])
    loaded, mapping_check = _load_mappings(settings, registry)
    connectors: dict[str, Connector] = {}
    broken: dict[str, Check] = {}
    redact = Redactor(settings.secret_values())
    quick = _retrying_less(settings)
    for name in sorted(settings.connectors):
        try:
            connectors.update(connect(quick, registry, {name}))
        except (OkrsyncError, TypeError, ValueError) as exc:
            broken[name] = Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                f"the connector could not be set up: {redact(str(exc))}",
                fix="fix its settings under `connectors:` (or OKRSYNC_CONNECTORS__…)",
                blocking=True,
            )
    try:
        return diagnose_app(
            settings, registry, loaded, connectors, broken=broken, mapping_check=mapping_check
        )
    finally:
        for connector in connectors.values():
            connector.close()


def _retrying_less(settings: Settings) -> Settings:
    """``settings`` with each connector retrying a failing call at most :data:`RETRIES` times.

    A sync rides out a CRM's bad minute with ``max_retries`` backed-off
    retries; doctor answers in seconds, and one retry still passes a blip.
    """
    connectors = {}
    for name, instance in settings.connectors.items():
        own = instance.settings
        if int(getattr(own, "max_retries", 0)) > RETRIES:
            own = own.model_copy(update={"max_retries": RETRIES})
        connectors[name] = instance.model_copy(update={"settings": own})
    return settings.model_copy(update={"connectors": connectors})


def diagnose_app(
    settings: Settings,
    registry: PluginRegistry,
    loaded: MappingSet | None,
    connectors: Mapping[str, Connector],
    *,
    broken: Mapping[str, Check] | None = None,
    mapping_check: Check | None = None,
) -> Diagnosis:
    """Every check of a set-up already loaded and connected (as ``okrsync demo`` has it).

    ``mapping_check`` is how loading the mappings went (default: they loaded as
    ``loaded``); the secrets of ``settings`` are masked in every check's text.
    """
    core = Section(CORE, "okrsync")
    core.checks.append(_config_loaded(settings))
    if mapping_check is None and loaded is not None:
        mapping_check = _mappings_loaded(settings, loaded)
    if mapping_check is not None:
        core.checks.append(mapping_check)
    core.checks.append(check_store(settings))
    sections = examine(settings, registry, loaded, connectors, broken=broken)
    return _redacted(Diagnosis([core, *sections]), Redactor(settings.secret_values()))


def examine(
    settings: Settings,
    registry: PluginRegistry,
    loaded: MappingSet | None,
    connectors: Mapping[str, Connector],
    *,
    broken: Mapping[str, Check] | None = None,
) -> list[Section]:
    """One section per configured connector instance, checked at once (one thread each).

    ``loaded`` is ``None`` when the mappings do not load (the checks that read
    them are skipped); ``broken`` holds a failed check for each instance whose
    connector could not be built.
    """
    broken = broken or {}
    catalogs = _catalogs(settings, registry) if loaded is not None else {}
    plan = build_plan(loaded) if loaded is not None else None
    sections: dict[str, Section] = {}
    jobs: list[Callable[[], None]] = []
    for name in sorted(settings.connectors):
        kind = settings.connectors[name].type
        plugin = registry.get(kind) if kind in registry else None
        title = f"{name} ({plugin.title})" if plugin is not None else name
        section = sections[name] = Section(name, title, connector_type=kind)
        if name in broken:
            section.checks.append(broken[name])
            section.checks += skipped_after(broken[name], _LATER)
            continue
        writes = bool(getattr(plugin, "writes", True))
        job = _ConnectorJob(
            name,
            kind,
            connectors[name],
            section,
            loaded,
            plan,
            catalogs.get(name),
            DiagnosisRequest(
                objects=OKR_OBJECTS if writes else (),
                reads=_reads(plan, name) if plan is not None else {},
            ),
        )
        jobs.append(job.run)
    run_each(jobs, name="okrsync-doctor")
    return [sections[name] for name in sorted(sections)]


def _catalogs(settings: Settings, registry: PluginRegistry) -> dict[str, Catalog]:
    from okrsync.mapping.loader import catalogs_for  # noqa: PLC0415  (only with loaded mappings)

    return catalogs_for(
        settings.mappings,
        sources=settings.sources(registry),
        catalogs=plugin_catalogs(settings, registry),
    )


def _reads(plan: PullPlan, name: str) -> dict[str, frozenset[str]]:
    return {p.obj: frozenset(p.fields) for p in plan.for_connector(name)}


def _redacted(diagnosis: Diagnosis, redact: Redactor) -> Diagnosis:
    """Every text of every check with the configuration's secrets masked."""
    for section in diagnosis.sections:
        section.checks = [
            Check(
                c.name,
                c.title,
                c.status,
                redact(c.detail),
                redact(c.fix),
                tuple(redact(p) for p in c.problems),
                blocking=c.blocking,
                facts=redact.value(dict(c.facts)),
            )
            for c in section.checks
        ]
    return diagnosis


# -- the core's own checks --------------------------------------------------------------------


def _config_failed(error: ConfigurationError) -> Check:
    problems = tuple(str(p) for p in error.problems) or (str(error),)
    return Check(
        "config",
        "configuration",
        CheckStatus.FAIL,
        f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing else was checked",
        fix="fix each problem where it points (the file, or the environment variable it names)",
        problems=problems,
        blocking=True,
    )


def _config_loaded(settings: Settings) -> Check:
    names = ", ".join(sorted(settings.connectors))
    if not names:
        return Check(
            "config",
            "configuration",
            CheckStatus.FAIL,
            "loads, but configures no connector: there is no CRM to sync with",
            fix="add a connector under `connectors:` (see docs/salesforce-setup.md "
            "and docs/hubspot-setup.md)",
        )
    return Check(
        "config",
        "configuration",
        CheckStatus.PASS,
        f"loads: workspace {settings.workspace}, connectors {names}",
        facts={"workspace": settings.workspace, "connectors": sorted(settings.connectors)},
    )


def _load_mappings(settings: Settings, registry: PluginRegistry) -> tuple[MappingSet | None, Check]:
    try:
        loaded = load_mappings_for(settings, registry)
    except ConfigurationError as error:
        problems = tuple(str(p) for p in error.problems) or (str(error),)
        return None, Check(
            "mappings",
            "mappings",
            CheckStatus.FAIL,
            f"{settings.mappings}: {len(problems)} problem{'s' if len(problems) != 1 else ''} "
            "(the checks of mapped fields, metrics and owners are skipped)",
            fix="fix each problem where it points; `okrsync validate` lists the same",
            problems=problems,
        )
    return loaded, _mappings_loaded(settings, loaded)


def _mappings_loaded(settings: Settings, loaded: MappingSet) -> Check:
    krs = sum(1 for _ in loaded.key_results())
    detail = (
        f"{settings.mappings}: {_count(len(loaded.files), 'file')}, "
        f"{_count(len(loaded.objectives), 'objective')}, {_count(krs, 'key result')}"
    )
    if not krs:
        return Check(
            "mappings",
            "mappings",
            CheckStatus.WARN,
            f"{detail}: a sync computes nothing",
            fix=f"add mapping files to {settings.mappings} (or point `mappings` at them)",
        )
    facts = {"files": len(loaded.files), "objectives": len(loaded.objectives), "key_results": krs}
    return Check("mappings", "mappings", CheckStatus.PASS, detail, facts=facts)


def check_store(settings: Settings) -> Check:
    """Whether the state store is reachable, and whether this okrsync reads its schema version.

    Reads only: a SQLite file that does not exist yet is not created (its folder
    must exist and be writable), and an older schema is not migrated.
    """
    from sqlalchemy import create_engine, inspect, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415

    masked = settings.store_url_masked
    fix = (
        "check `store_url` (OKRSYNC_STORE_URL): the database server is up and reachable from "
        "here, the database exists and the credentials are right"
    )
    try:
        url = make_url(settings.store_url.get_secret_value())
    except ArgumentError:
        return _store_failed(f"{masked} is not a database URL", fix)
    if url.get_backend_name() == "sqlite":
        found = _sqlite_file(url.database)
        if found is not None:
            return found
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = _STORE_TIMEOUT_SECONDS
    try:
        engine = create_engine(url, connect_args=connect_args)
    except (ArgumentError, ImportError) as exc:
        return _store_failed(f"{masked}: {exc}", fix)
    try:
        with engine.connect() as conn:
            version = 0
            if "okrsync_schema_version" in inspect(conn).get_table_names():
                found_version = conn.execute(
                    text("SELECT max(version) FROM okrsync_schema_version")
                ).scalar()
                version = int(found_version or 0)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return _store_failed(f"cannot reach {masked}: {reason}", fix)
    finally:
        engine.dispose()
    return _schema_version(masked, version)


def _sqlite_file(database: str | None) -> Check | None:
    """The answer for a SQLite file that is missing or not writable (``None``: go and read it)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).absolute()
    if path.exists():
        if not os.access(path, os.W_OK):
            return _store_failed(
                f"{path} is not writable by this user",
                "give the user okrsync runs as write access to it (and to its folder)",
            )
        return None
    if not path.parent.is_dir():
        return _store_failed(
            f"{path} cannot be created: the folder {path.parent} does not exist",
            "create the folder, or point `store_url` (OKRSYNC_STORE_URL) at an existing one; "
            "a relative SQLite path is from the working directory",
        )
    if not os.access(path.parent, os.W_OK):
        return _store_failed(
            f"{path} cannot be created: the folder {path.parent} is not writable",
            "give the user okrsync runs as write access to the folder, or choose another",
        )
    return Check(
        "store",
        "state store",
        CheckStatus.PASS,
        f"{path} does not exist yet: the first run creates it (schema version {SCHEMA_VERSION})",
        facts={"schema_version": None, "supported": SCHEMA_VERSION},
    )


def _schema_version(masked: str, version: int) -> Check:
    facts = {"schema_version": version, "supported": SCHEMA_VERSION}
    if version > SCHEMA_VERSION:
        return _store_failed(
            f"{masked}: schema version {version}, newer than this okrsync reads "
            f"({SCHEMA_VERSION}): a newer okrsync has used this store",
            "upgrade okrsync to the version that wrote it (or later); an older one would "
            "misread it",
            facts=facts,
        )
    if version < SCHEMA_VERSION:
        note = "empty" if version == 0 else f"schema version {version}"
        return Check(
            "store",
            "state store",
            CheckStatus.PASS,
            f"{masked}: {note}; the next run migrates it to version {SCHEMA_VERSION}",
            facts=facts,
        )
    return Check(
        "store", "state store", CheckStatus.PASS, f"{masked}: schema version {version}", facts=facts
    )


def _store_failed(detail: str, fix: str, facts: Mapping[str, Any] | None = None) -> Check:
    return Check("store", "state store", CheckStatus.FAIL, detail, fix=fix, facts=dict(facts or {}))


# -- each connector -------------------------------------------------------------------------


@dataclass
class _ConnectorJob:
    """One connector instance's checks (run in its own thread)."""

    name: str
    kind: str
    connector: Connector
    section: Section
    loaded: MappingSet | None
    plan: PullPlan | None
    catalog: Catalog | None
    request: DiagnosisRequest

    def run(self) -> None:
        """The connector's own checks, then the core's (unless one of them blocks)."""
        own = self._own()
        self.section.checks += own
        blocker = next((c for c in own if c.failed and c.blocking), None)
        if self.loaded is None or self.plan is None:
            self.section.checks += [
                Check(name, title, CheckStatus.SKIP, "not checked: the mappings do not load")
                for name, title in _LATER
            ]
        elif blocker is not None:
            self.section.checks += skipped_after(blocker, _LATER)
        else:
            self.section.checks += [
                self._fields(self.plan),
                self._metrics(self.loaded),
                self._owners(self.loaded),
            ]

    def _own(self) -> list[Check]:
        if not isinstance(self.connector, Diagnosable) and isinstance(self.connector, Identifiable):
            return [self._whoami(self.connector)]
        if not isinstance(self.connector, Diagnosable):
            return [
                Check(
                    "diagnose",
                    "connector checks",
                    CheckStatus.SKIP,
                    f"the {self.kind} connector has no checks of its own (login, quota, "
                    "access) and does not say whom it reaches; the checks below reach it",
                )
            ]
        try:
            return list(self.connector.diagnose(self.request))
        except OkrsyncError as exc:  # a connector should answer with checks; never lose one
            return [
                Check(
                    "diagnose",
                    "connector checks",
                    CheckStatus.FAIL,
                    str(exc),
                    fix="see the error; the checks below were skipped",
                    blocking=True,
                )
            ]

    def _whoami(self, connector: Identifiable) -> Check:
        """The login check of a connector that only says whom it reaches."""
        try:
            who = connector.whoami()
        except OkrsyncError as exc:
            return Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                str(exc),
                fix=f"check the settings of `{self.name}` under `connectors:` (its URL and "
                "credentials) and that the service is up and reachable from here",
                blocking=True,
            )
        return Check("auth", "login", CheckStatus.PASS, who, facts={"whoami": who})

    def _fields(self, plan: PullPlan) -> Check:
        from okrsync.plan import PullPlan  # noqa: PLC0415

        mine = PullPlan({k: v for k, v in plan.objects.items() if k[0] == self.name})
        if not mine.objects:
            return Check("fields", "mapped fields", CheckStatus.PASS, "no key result reads from it")
        failed: dict[str, str] = {}
        types, problems = check_fields(mine, {self.name: self.connector}, failed)
        if self.name in failed:
            return Check(
                "fields",
                "mapped fields",
                CheckStatus.FAIL,
                f"could not describe the objects the mappings read: {failed[self.name]}",
                fix="see the error above",
            )
        if problems:
            return Check(
                "fields",
                "mapped fields",
                CheckStatus.FAIL,
                f"{len(problems)} field{'s' if len(problems) != 1 else ''} the mappings read "
                "cannot be read",
                fix="correct the name where the mappings write it, or give the connector's "
                "user read access (a field it may not read looks missing to it)",
                problems=tuple(str(p) for p in problems),
            )
        fields = sum(len(found) for found in types.values())
        return Check(
            "fields",
            "mapped fields",
            CheckStatus.PASS,
            f"{_count(fields, 'field')} of {_count(len(types), 'object')} "
            + ("exists and is readable" if fields == 1 else "exist and are readable"),
            facts={"objects": len(types), "fields": fields},
        )

    def _metrics(self, loaded: MappingSet) -> Check:
        if self.catalog is None:
            return Check("metrics", "named metrics", CheckStatus.PASS, "no named metrics")
        items = uncomputable_metrics({self.name: self.catalog}, {self.name: self.connector})
        total = len(list(self.catalog.names()))
        if not items:
            return Check(
                "metrics",
                "named metrics",
                CheckStatus.PASS,
                f"the data of all {total} named metrics is there",
            )
        used = {
            d.name
            for kr in loaded.key_results()
            if kr.source == self.name
            for d in kr.metric.definitions
        } | {kr.metric.name for kr in loaded.key_results() if kr.source == self.name}
        in_use = [i.metric for i in items if i.metric in used]
        example = [line.removeprefix("  ") for line in explain(items) if line.startswith("    ")]
        status = CheckStatus.FAIL if in_use else CheckStatus.WARN
        detail = f"the data of {len(items)} of {total} named metrics is missing" + (
            f"; key results use {', '.join(in_use)}" if in_use else " (no key result uses them)"
        )
        return Check(
            "metrics",
            "named metrics",
            status,
            detail,
            fix="map each to what the CRM has, in metrics.yaml of the mappings folder; "
            "for example:\n" + "\n".join(example),
            problems=tuple(f"{i.metric}: {i.reasons()}" for i in items),
            facts={"uncomputable": [i.metric for i in items], "used": in_use},
        )

    def _owners(self, loaded: MappingSet) -> Check:
        if not self.request.objects:
            return Check(
                "owners",
                "owners",
                CheckStatus.SKIP,
                f"does not apply: okrsync writes nothing to {self.name}",
            )
        wanted = owner_emails(loaded, self.name)
        if not wanted:
            return Check(
                "owners",
                "owners",
                CheckStatus.PASS,
                "no objective or key result written here is owned by a person",
            )
        problems: list[str] = []
        unknown: list[str] = []
        try:
            for email, origins in sorted(wanted.items()):
                if self.connector.resolve_owner(email) is not None:
                    continue
                unknown.append(email)
                problems += [
                    str(
                        origin.problem(
                            f"no active user of {self.name} has the e-mail {email}",
                            ("owner", "user"),
                        )
                    )
                    for origin in origins
                ]
        except ConnectorError as exc:
            return Check(
                "owners",
                "owners",
                CheckStatus.FAIL,
                f"could not look up the owners: {exc}",
                fix="see the error",
            )
        if unknown:
            return Check(
                "owners",
                "owners",
                CheckStatus.FAIL,
                f"{len(unknown)} of {len(wanted)} owner e-mails match no user",
                fix="correct the e-mail where the mapping writes it, or add (or activate) the "
                "user in the CRM; until then records they own are written without an owner",
                problems=tuple(problems),
                facts={"unknown": unknown},
            )
        return Check(
            "owners",
            "owners",
            CheckStatus.PASS,
            "the owner e-mail matches a user"
            if len(wanted) == 1
            else f"all {len(wanted)} owner e-mails match a user",
            facts={"emails": len(wanted)},
        )


def owner_emails(loaded: MappingSet, connector: str) -> dict[str, list[Origin]]:
    """The e-mails of people owning objectives or key results written to ``connector``.

    Each with where the mappings name it; an objective is written where any key
    result below it (its own, or one of an aligned child's) is written.
    """
    found: dict[str, list[Origin]] = {}

    def add(owner: Any, origin: Origin | None) -> None:
        if owner is None or owner.kind.value != "user" or origin is None:
            return
        if origin.doc.get((*origin.path, "owner")) is None:
            return  # inherited from its objective, which is named there
        found.setdefault(owner.name.strip().lower(), []).append(origin)

    destinations: dict[str, set[str]] = {}
    for objective in loaded.objectives:
        for kr in objective.key_results:
            destinations.setdefault(objective.full_key, set()).update(kr.destinations)
            if connector in kr.destinations:
                add(kr.owner, kr.origin)
    written = with_ancestors(loaded.objectives, destinations)
    for objective in loaded.objectives:
        if connector in written.get(objective.full_key, set()):
            add(objective.owner, objective.origin)
    return found


# -- output -----------------------------------------------------------------------------------


def render(diagnosis: Diagnosis, *, width: int = WIDTH) -> list[str]:
    """The checklist as lines of at most ``width`` columns (located problems are kept whole)."""
    lines: list[str] = []
    label = max((len(c.title) for _, c in diagnosis.checks()), default=0)
    for section in diagnosis.sections:
        lines.append(section.title)
        for check in section.checks:
            head = f"  {_MARKS[check.status]:<5} {check.title:<{label}}  "
            indent = " " * len(head)
            text = check.detail or ""
            lines += _wrap(text, width, head, indent)
            pad = " " * 8
            for problem in check.problems:
                lines += _wrap(problem, width, pad, pad + "  ")
            if check.fix and check.status in {CheckStatus.FAIL, CheckStatus.WARN}:
                first, *more = check.fix.splitlines()
                lines += _wrap(first, width, f"{pad}fix: ", pad + "     ")
                lines += [f"{pad}     {line}" for line in more]
    lines += _wrap(summary(diagnosis), width, "", "  ")
    return lines


def _count(number: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """``text`` wrapped at spaces only: a path, a URL or ``file:line:col:`` is never cut."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def summary(diagnosis: Diagnosis) -> str:
    """One line: how the checks ended."""
    counts = diagnosis.counts()
    total = sum(counts.values())
    failed = [f"{s.name}: {c.title}" for s, c in diagnosis.checks() if c.failed]
    parts = []
    if counts["warn"]:
        parts.append(f"{counts['warn']} warning{'s' if counts['warn'] != 1 else ''}")
    if counts["skip"]:
        parts.append(f"{counts['skip']} skipped")
    extra = f" ({', '.join(parts)})" if parts else ""
    if not failed:
        return f"Ready: {counts['pass']} of {total} checks passed{extra}."
    return f"Not ready: {len(failed)} of {total} checks failed{extra}: " + "; ".join(failed) + "."
