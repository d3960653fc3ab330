"""Filling the portal: from the neutral dataset, or from a folder of JSON Lines files.

Dataset mapping: users → owners, accounts → companies, deals → deals (with a
company association), leads → contacts (lifecycle stage and stage dates, a
company association once converted), activities → tasks (``task``) and
meetings (``event``), survey responses → feedback submissions; a lead's first
response is a completed task associated with the contact, whose calculated
``hs_first_outreach_date`` it sets; a company's calculated ``total_revenue``
sums its won deals; new customers' onboarding surveys are NPS feedback
submissions too. Object ids are
numbers derived from the neutral ids (``acc-000042`` → company ``1000042``), so
the same seed gives the same ids. Rows go to the store in bulk.

Folder layout: ``<objectType>.jsonl`` with ``{"id", "properties", "archived"?,
"associations"? {"<toType>": [ids]}}`` per line (values as on the wire, converted
by property type) and ``owners.jsonl`` in the owners API's shape.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.associations import TABLE as ASSOCIATIONS
from okrsync_hubspot_sandbox.owners import Owner
from okrsync_hubspot_sandbox.schema import ARCHIVED_AT, DEAL_STAGES
from okrsync_hubspot_sandbox.values import InvalidValue, from_wire, parse_moment
from okrsync_sandbox.datafolder import Problems, json_lines

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync_hubspot_sandbox.app import HubSpotSandboxApp
    from okrsync_hubspot_sandbox.schema import AssociationType, ObjectType
    from okrsync_sandbox.dataset import (
        Account,
        Activity,
        Dataset,
        Deal,
        Lead,
        LeadResponse,
        NpsResponse,
    )

__all__ = ["ID_BASE", "load_folder", "object_id", "seed_from_dataset"]

ID_BASE = {
    "companies": 1_000_000,
    "deals": 2_000_000,
    "contacts": 3_000_000,
    "tasks": 4_000_000,
    "meetings": 5_000_000,
    "feedback_submissions": 6_000_000,
    "onboarding_surveys": 7_000_000,
    "outreach_tasks": 8_000_000,
    "owners": 40_000_000,
    "users": 9_000_000,
    "teams": 700,
}
"""Id of the n-th neutral entity of a kind: base + n."""

STAGES = {
    "Prospecting": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Needs Analysis": "presentationscheduled",
    "Proposal": "decisionmakerboughtin",
    "Negotiation": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
LEAD_STATUS = {
    "New": "NEW",
    "Working": "IN_PROGRESS",
    "Qualified": "CONNECTED",
    "Unqualified": "UNQUALIFIED",
    "Converted": "OPEN_DEAL",
}
TASK_TYPES = {"Call": "CALL", "Email": "EMAIL"}
TASK_STATUS = {"Not Started": "NOT_STARTED", "In Progress": "IN_PROGRESS", "Completed": "COMPLETED"}
PRIORITY = {"High": "HIGH", "Normal": "MEDIUM", "Low": "LOW"}
_STAGE_ORDER = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)
_OPPORTUNITY = _STAGE_ORDER.index("opportunity")
_LEGAL = {
    "gmbh",
    "ag",
    "ltd",
    "inc",
    "sa",
    "bv",
    "b.v.",
    "llc",
    "plc",
    "sarl",
    "spa",
    "ab",
    "oy",
    "as",
}


def object_id(kind: str, neutral_id: str | None) -> int | None:
    """The HubSpot id of a neutral entity (``acc-000042`` → ``1000042`` for companies)."""
    if not neutral_id:
        return None
    return ID_BASE[kind] + int(neutral_id.rsplit("-", 1)[1])


def _owner(neutral_id: str | None) -> str | None:
    number = object_id("owners", neutral_id)
    return str(number) if number is not None else None


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), UTC) if day else None


def _domain(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9.]+", ascii_name)
    if len(words) > 1 and words[-1].strip(".") in {w.strip(".") for w in _LEGAL}:
        words = words[:-1]
    slug = "-".join(w.strip(".") for w in words if w.strip("."))
    return f"{slug or 'company'}.example"


# -- the dataset ---------------------------------------------------------------


class _Router:
    """Rows for several tables, written in chunks through ``Store.insert_many``."""

    def __init__(self, app: HubSpotSandboxApp, chunk: int = 5000) -> None:
        self.app = app
        self.chunk = chunk
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.counts: dict[str, int] = {}
        self.specs: dict[tuple[str, str], AssociationType] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        rows = self.pending.setdefault(table, [])
        rows.append(row)
        if len(rows) >= self.chunk:
            self.flush(table)

    def link(self, source: str, target: str, from_id: int | None, to_id: int | None) -> None:
        if from_id is None or to_id is None:
            return
        kind = self.specs.get((source, target))
        if kind is None:
            portal = self.app.portal
            kind = portal.default_association(
                portal.resolve(source).object_type_id, portal.resolve(target).object_type_id
            )
            assert kind is not None  # noqa: S101  (the standard pairs are defined)
            self.specs[source, target] = kind
        self.add(ASSOCIATIONS, self.app.associations.row(kind, from_id, to_id))
        self.counts["associations"] = self.counts.get("associations", 0) + 1

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.pending):
            rows = self.pending.pop(name, [])
            if rows:
                self.app.store.insert_many(name, rows)
                if name != ASSOCIATIONS:
                    self.counts[name] = self.counts.get(name, 0) + len(rows)


def _company(a: Account, today: date) -> dict[str, Any]:
    customer = a.customer_since is not None and a.customer_since <= today
    return {
        "hs_object_id": object_id("companies", a.id),
        "name": a.name,
        "domain": _domain(a.name),
        "industry": a.industry,
        "country": a.country,
        "hubspot_owner_id": _owner(a.owner_id),
        "lifecyclestage": "customer" if customer else "lead",
        "annualrevenue": a.annual_revenue,
        "numberofemployees": float(a.employees),
        "customer_since": a.customer_since if customer else None,
        "churned_on": a.churned_on if a.churned_on and a.churned_on <= today else None,
        "createdate": a.created,
        "hs_lastmodifieddate": a.last_modified,
    }


def _deal(d: Deal, customer_since: date | None) -> dict[str, Any]:
    existing = customer_since is not None and customer_since < d.created.date()
    return {
        "hs_object_id": object_id("deals", d.id),
        "dealname": d.name,
        "amount": d.amount,
        "dealstage": STAGES.get(d.stage, d.stage),
        "pipeline": "default",
        "closedate": _midnight(d.close_date),
        "hs_is_closed": d.is_closed,
        "hs_is_closed_won": d.is_won,
        "hs_deal_stage_probability": d.probability,
        "dealtype": "existingbusiness" if existing else "newbusiness",
        "hubspot_owner_id": _owner(d.owner_id),
        "createdate": d.created,
        "hs_lastmodifieddate": d.last_modified,
    }


def _contact(lead: Lead, customer_day: date | None) -> dict[str, Any]:
    stage = lead.lifecycle_stage
    rank = _STAGE_ORDER.index(stage) if stage in _STAGE_ORDER else 0
    converted = _midnight(lead.converted_on) if lead.is_converted else None
    return {
        "hs_object_id": object_id("contacts", lead.id),
        "firstname": lead.first_name,
        "lastname": lead.last_name,
        "email": lead.email,
        "company": lead.company,
        "hubspot_owner_id": _owner(lead.owner_id),
        "lifecyclestage": stage,
        "hs_lead_status": LEAD_STATUS.get(lead.status),
        "createdate": lead.created,
        "lastmodifieddate": lead.last_modified,
        "hs_lastmodifieddate": lead.last_modified,
        "hs_lifecyclestage_subscriber_date": lead.created if stage == "subscriber" else None,
        "hs_lifecyclestage_lead_date": lead.created if rank >= 1 else None,
        "hs_lifecyclestage_salesqualifiedlead_date": lead.qualified_on,
        "hs_lifecyclestage_opportunity_date": converted if rank >= _OPPORTUNITY else None,
        "hs_lifecyclestage_customer_date": (
            (_midnight(customer_day) or converted) if stage == "customer" else None
        ),
    }


def _meeting(act: Activity) -> dict[str, Any]:
    when = _midnight(act.activity_date)
    start = when + timedelta(hours=10) if when else None
    return {
        "hs_object_id": object_id("meetings", act.id),
        "hs_meeting_title": act.subject,
        "hs_meeting_outcome": "COMPLETED" if act.status == "Completed" else "SCHEDULED",
        "hs_meeting_start_time": start,
        "hs_meeting_end_time": start + timedelta(hours=1) if start else None,
        "hs_timestamp": start,
        "hubspot_owner_id": _owner(act.owner_id),
        "hs_createdate": act.created,
        "hs_lastmodifieddate": act.last_modified,
    }


def _task(act: Activity) -> dict[str, Any]:
    return {
        "hs_object_id": object_id("tasks", act.id),
        "hs_task_subject": act.subject,
        "hs_task_body": f"Type: {act.type}",
        "hs_task_type": TASK_TYPES.get(act.type, "TODO"),
        "hs_task_status": TASK_STATUS.get(act.status, "NOT_STARTED"),
        "hs_task_priority": PRIORITY.get(act.priority, "NONE"),
        "hs_timestamp": _midnight(act.activity_date),
        "hubspot_owner_id": _owner(act.owner_id),
        "hs_createdate": act.created,
        "hs_lastmodifieddate": act.last_modified,
    }


def _outreach(response: LeadResponse) -> dict[str, Any]:
    """The task of a lead's first response (a call or an e-mail, done)."""
    return {
        "hs_object_id": object_id("outreach_tasks", response.id),
        "hs_task_subject": response.subject,
        "hs_task_body": f"Type: {response.channel}",
        "hs_task_type": TASK_TYPES.get(response.channel, "TODO"),
        "hs_task_status": "COMPLETED",
        "hs_task_priority": "MEDIUM",
        "hs_timestamp": response.at,
        "hubspot_owner_id": _owner(response.owner_id),
        "hs_createdate": response.at,
        "hs_lastmodifieddate": response.at,
    }


def _won_revenue(dataset: Dataset, as_of: datetime) -> dict[str, tuple[float, datetime]]:
    """Per account, the amount of its deals won by ``as_of`` and when it last grew."""
    won: dict[str, tuple[float, datetime]] = {}
    for deal in dataset.deals(as_of):
        if deal.is_won and deal.amount:
            total, last = won.get(deal.account_id, (0.0, deal.last_modified))
            won[deal.account_id] = (total + deal.amount, max(last, deal.last_modified))
    return won


def _with_revenue(company: dict[str, Any], won: tuple[float, datetime] | None) -> dict[str, Any]:
    """A company with its ``total_revenue`` (a change of the company, as HubSpot stamps it)."""
    if won is not None:
        company["total_revenue"] = won[0]
        company["hs_lastmodifieddate"] = max(company["hs_lastmodifieddate"], won[1])
    return company


def _reached(contact: dict[str, Any], response: LeadResponse) -> None:
    """Set a contact's first outreach (a change of the contact, as HubSpot stamps it)."""
    contact["hs_first_outreach_date"] = response.at
    for stamp in ("lastmodifieddate", "hs_lastmodifieddate"):
        contact[stamp] = max(contact[stamp], response.at)


def _feedback(r: NpsResponse) -> dict[str, Any]:
    return {
        "hs_object_id": object_id("feedback_submissions", r.id),
        "hs_survey_type": r.survey_type,
        "hs_response_value": float(r.score),
        "hs_submission_timestamp": r.submitted,
        "hs_survey_name": f"{r.survey_type} survey",
        "hs_content": r.comment,
        "createdate": r.submitted,
        "hs_lastmodifieddate": r.last_modified,
    }


def _onboarding_feedback(r: NpsResponse) -> dict[str, Any]:
    """A new customer's onboarding survey response."""
    return {
        **_feedback(r),
        "hs_object_id": object_id("onboarding_surveys", r.id),
        "hs_survey_name": "Onboarding NPS survey",
    }


def _owners(dataset: Dataset) -> Iterator[Owner]:
    teams = {t.id: t.name for t in dataset.teams()}
    start = datetime.combine(dataset.start, time(), UTC)
    for u in dataset.users():
        yield Owner(
            id=object_id("owners", u.id) or 0,
            email=u.email,
            first_name=u.first_name,
            last_name=u.last_name,
            user_id=object_id("users", u.id) or 0,
            created_at=start,
            updated_at=start,
            team_id=str(object_id("teams", u.team_id)),
            team_name=teams.get(u.team_id),
            archived=not u.active,
        )


def seed_from_dataset(app: HubSpotSandboxApp, dataset: Dataset, as_of: datetime) -> dict[str, int]:
    """Fill the portal with the dataset as of ``as_of``; return the rows per object type."""
    router = _Router(app)
    router.counts["owners"] = app.owners.add(_owners(dataset))
    today = as_of.date()
    customer_since: dict[str, date] = {}
    won = _won_revenue(dataset, as_of)
    for account in dataset.accounts(as_of):
        if account.customer_since is not None and account.customer_since <= today:
            customer_since[account.id] = account.customer_since
        router.add("companies", _with_revenue(_company(account, today), won.get(account.id)))
    router.flush()
    for deal in dataset.deals(as_of):
        router.add("deals", _deal(deal, customer_since.get(deal.account_id)))
        router.link(
            "deals",
            "companies",
            object_id("deals", deal.id),
            object_id("companies", deal.account_id),
        )
    outreach = dataset.lead_responses(as_of)  # in lead order, one for some leads
    first = next(outreach, None)
    for lead in dataset.leads(as_of):
        contact = _contact(lead, customer_since.get(lead.converted_account_id or ""))
        if first is not None and first.lead_id == lead.id:
            _reached(contact, first)
            router.add("tasks", _outreach(first))
            router.link(
                "tasks",
                "contacts",
                object_id("outreach_tasks", first.id),
                object_id("contacts", lead.id),
            )
            first = next(outreach, None)
        router.add("contacts", contact)
        if lead.is_converted:
            router.link(
                "contacts",
                "companies",
                object_id("contacts", lead.id),
                object_id("companies", lead.converted_account_id),
            )
    for act in dataset.activities(as_of):
        table = "meetings" if act.kind == "event" else "tasks"
        row = _meeting(act) if act.kind == "event" else _task(act)
        router.add(table, row)
        router.link(table, "companies", row["hs_object_id"], object_id("companies", act.account_id))
        router.link(table, "deals", row["hs_object_id"], object_id("deals", act.deal_id))
    for response in dataset.nps_responses(as_of):
        router.add("feedback_submissions", _feedback(response))
    for response in dataset.onboarding_surveys(as_of):
        router.add("feedback_submissions", _onboarding_feedback(response))
    router.flush()
    return router.counts


# -- a folder ------------------------------------------------------------------


def _folder_rows(
    kind: ObjectType,
    path: Path,
    now: datetime,
    links: list[tuple[str, int, str, str]],
    problems: Problems,
) -> Iterator[dict[str, Any]]:
    """The rows of one object type's file; a line HubSpot would refuse is noted, not loaded."""
    for number, item in json_lines(path, problems):
        row, wrong = _folder_row(kind, item, now)
        for what in wrong:
            problems.add(path, number, what)
        if row is None:
            continue
        for target, ids in (item.get("associations") or {}).items():
            others = ids if isinstance(ids, list) else [ids]
            links.extend(
                (str(target), row["hs_object_id"], str(other), f"{path}:{number}")
                for other in others
            )
        yield row


def _folder_row(
    kind: ObjectType, item: dict[str, Any], now: datetime
) -> tuple[dict[str, Any] | None, list[str]]:
    """One line as a stored row with HubSpot's system properties, or what is wrong with it."""
    wrong: list[str] = []
    raw_id = str(item.get("id", "")).strip()
    if not raw_id.isdigit():
        wrong.append(f"id must be a number, got {item.get('id')!r}")
    props = item.get("properties") or {}
    if not isinstance(props, dict):
        wrong.append("properties must be an object")
        props = {}
    row = _properties(kind, props, wrong)
    missing = [p for p in kind.required_properties if row.get(p) is None]
    wrong.extend(f'Property "{p}" is required' for p in missing)
    if wrong:
        return None, wrong
    row["hs_object_id"] = int(raw_id)
    try:
        created = row.get(kind.created_property) or _moment(item.get("createdAt")) or now
        modified = row.get("hs_lastmodifieddate") or _moment(item.get("updatedAt")) or created
        archived = (_moment(item.get("archivedAt")) or now) if item.get("archived") else None
    except ValueError as exc:
        return None, [f"invalid createdAt, updatedAt or archivedAt: {exc}"]
    row[kind.created_property] = created
    row["hs_lastmodifieddate"] = modified
    _derived(kind, row, created, modified)
    if archived is not None:
        row.update({"_deleted": True, "_deleted_at": archived, ARCHIVED_AT: archived})
    return row, []


def _properties(kind: ObjectType, props: dict[str, Any], wrong: list[str]) -> dict[str, Any]:
    """The values of ``props`` as stored; what HubSpot would refuse is added to ``wrong``."""
    row: dict[str, Any] = {}
    for name, value in props.items():
        prop = kind.property(name)
        if prop is None:
            wrong.append(f'Property "{name}" does not exist on {kind.name}')
            continue
        try:
            typed = from_wire(value, prop.type, name)
        except InvalidValue as exc:
            wrong.append(exc.message)
            continue
        if typed is not None and prop.options:
            option = prop.option(str(typed))
            if option is None:
                allowed = ", ".join(o.value for o in prop.options)
                wrong.append(f"{name}: {value} was not one of the allowed options: [{allowed}]")
                continue
            typed = option
        row[name] = typed
    return row


def _derived(kind: ObjectType, row: dict[str, Any], created: datetime, modified: datetime) -> None:
    """What HubSpot sets itself on every record, where the file left it out."""
    # contacts keep a second stamp
    if kind.property("lastmodifieddate") is not None and row.get("lastmodifieddate") is None:
        row["lastmodifieddate"] = modified
    if kind.name == "deals":
        if not row.get("pipeline"):
            row["pipeline"] = "default"
        stage = row.get("dealstage")
        if stage:
            row.setdefault("hs_is_closed", stage in {"closedwon", "closedlost"})
            row.setdefault("hs_is_closed_won", stage == "closedwon")
            row.setdefault("hs_deal_stage_probability", DEAL_STAGES.get(stage))
    stage = row.get("lifecyclestage")
    column = f"hs_lifecyclestage_{stage}_date"
    if stage and kind.property(column) is not None and row.get(column) is None:
        row[column] = created


def _moment(value: Any) -> datetime | None:
    return parse_moment(value) if value not in {None, ""} else None


def _folder_owners(path: Path, now: datetime, problems: Problems) -> Iterator[Owner]:
    for number, item in json_lines(path, problems):
        teams = item.get("teams") or []
        try:
            team = next((t for t in teams if t.get("primary")), teams[0] if teams else None)
            yield Owner(
                id=int(item["id"]),
                email=str(item.get("email") or ""),
                first_name=str(item.get("firstName") or ""),
                last_name=str(item.get("lastName") or ""),
                user_id=int(item.get("userId") or item["id"]),
                created_at=_moment(item.get("createdAt")) or now,
                updated_at=_moment(item.get("updatedAt")) or now,
                team_id=str(team["id"]) if team else None,
                team_name=str(team.get("name") or "") if team else None,
                archived=bool(item.get("archived")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.add(path, number, f"invalid owner: {type(exc).__name__}: {exc}")


def load_folder(app: HubSpotSandboxApp, path: Path) -> dict[str, int]:
    """Load ``path/<objectType>.jsonl`` and ``path/owners.jsonl`` (or under ``path/hubspot``).

    Records get the system properties HubSpot always sets (``hs_object_id``,
    the create date, ``hs_lastmodifieddate``, contacts' ``lastmodifieddate``,
    deals' pipeline and closed flags, the lifecycle stage's date) where the file
    leaves them out. Returns the rows loaded per file stem.

    Raises:
        DataFolderError: Every unknown object type or property, value HubSpot
            would refuse, malformed line or impossible association, each as
            ``file:line: what``.
    """
    folder = path / "hubspot" if (path / "hubspot").is_dir() else path
    now = app.clock()
    counts: dict[str, int] = {}
    problems = Problems()
    links: dict[str, list[tuple[str, int, str, str]]] = {}
    for file in sorted(folder.glob("*.jsonl")):
        stem = file.stem
        if stem == "owners":
            counts[stem] = app.owners.add(_folder_owners(file, now, problems))
            continue
        kind = app.portal.find(stem)
        if kind is None:
            known = ", ".join(k.name for k in app.portal.types())
            problems.add(file, None, f"unknown object type {stem!r}; expected one of {known}")
            continue
        found = links.setdefault(kind.name, [])
        counts[stem] = app.store.insert_many(
            kind.table, _folder_rows(kind, file, now, found, problems)
        )
    for source_name, items in links.items():
        source = app.portal.resolve(source_name)
        pairs = []
        for target_name, from_id, to_id, where in items:
            target = app.portal.find(target_name)
            spec = (
                app.portal.default_association(source.object_type_id, target.object_type_id)
                if target
                else None
            )
            if spec is None or not to_id.isdigit():
                problems.add(where, None, f"cannot associate with {target_name} {to_id}")
                continue
            pairs.append((spec, from_id, int(to_id)))
        if pairs:
            counts[f"{source_name}:associations"] = app.associations.insert_pairs(pairs)
    problems.raise_any()
    return counts
