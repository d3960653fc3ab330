"""Filling the org: from a folder of JSON Lines files, or from the neutral dataset.

:func:`load_folder` reads ``<SObject>.jsonl`` files (one record per line, field
API names, ``Id`` optional, parents referenced by ``Id``). :func:`seed_from_dataset`
maps :class:`okrsync_sandbox.dataset.Dataset` to Users, Accounts,
Opportunities, Leads, Tasks and Events, Cases and ``NPS_Response__c``; a
neutral id ``acc-000042`` becomes the Salesforce id number 42 of the object's
key prefix, so references need no lookup table. The first response to a lead
is a completed Task on it (``WhoId``), numbered from ``RESPONSE_TASKS`` on; a
new customer's onboarding survey is an ``NPS_Response__c`` numbered from
``ONBOARDING_SURVEYS`` on. Both bulk-insert through
:meth:`okrsync_sandbox.store.Store.insert_many`, with the system fields set
(``SystemModstamp`` = the record's last change).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from okrsync_salesforce_sandbox.errors import SalesforceError
from okrsync_salesforce_sandbox.ids import make_id
from okrsync_salesforce_sandbox.org import DELETION_LOG
from okrsync_salesforce_sandbox.rules import derive
from okrsync_salesforce_sandbox.values import read_value
from okrsync_sandbox.datafolder import Problems, json_lines
from okrsync_sandbox.store import FieldType, to_storage

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from okrsync_salesforce_sandbox.org import Org
    from okrsync_salesforce_sandbox.schema import SObjectType
    from okrsync_sandbox.dataset import Dataset

__all__ = ["ONBOARDING_SURVEYS", "RESPONSE_TASKS", "load_folder", "seed_from_dataset"]

_log = logging.getLogger("okrsync_sandbox.salesforce")

RESPONSE_TASKS = 100_000_000
"""Id number of the Task of lead ``n``'s first response: this plus ``n`` (activities stay below)."""
ONBOARDING_SURVEYS = 100_000_000
"""Id number of account ``n``'s onboarding ``NPS_Response__c``: this plus ``n``."""

_STAGES = {"Proposal": "Proposal/Price Quote", "Negotiation": "Negotiation/Review"}
_FORECAST = {
    "Closed Won": "Closed",
    "Closed Lost": "Omitted",
    "Negotiation/Review": "Commit",
    "Proposal/Price Quote": "Best Case",
}


# -- a folder of JSON Lines -------------------------------------------------------------


def load_folder(org: Org, folder: Path) -> dict[str, int]:
    """Load ``<SObject>.jsonl`` files from ``folder``; return rows loaded per object.

    A missing folder leaves the org empty (a data folder may hold only other CRMs).

    Raises:
        DataFolderError: Every file naming an unknown object and every line that
            is not a record the org would accept (``file:line: what``).
    """
    loaded: dict[str, int] = {}
    if not folder.is_dir():
        _log.warning("no Salesforce data in %s: the org starts empty", folder)
        return loaded
    problems = Problems()
    files = {path.stem.lower(): path for path in folder.glob("*.jsonl")}
    for stem, file in sorted(files.items()):
        if org.schema.get(stem) is None:
            problems.add(file, None, f"the org has no object {file.stem}")
    for obj in org.schema:  # parents before children: the schema lists them so
        found = files.get(obj.name.lower())
        if found is None:
            continue
        rows = list(_file_rows(org, obj, found, problems))
        if problems.lines:
            continue  # nothing will be served: check the other files, load nothing more
        live = [r for r in rows if not r.get("IsDeleted")]
        deleted = [r for r in rows if r.get("IsDeleted")]
        org.store.insert_many(obj.name, live)
        if deleted:
            org.store.insert_many(
                obj.name,
                ({**r, "_deleted": 1, "_deleted_at": r["SystemModstamp"]} for r in deleted),
            )
            org.store.insert_many(
                DELETION_LOG,
                (
                    {"Id": r["Id"], "SObject": obj.name, "DeletedDate": r["SystemModstamp"]}
                    for r in deleted
                ),
            )
        loaded[obj.name] = len(rows)
    problems.raise_any()
    return loaded


def _file_rows(
    org: Org, obj: SObjectType, path: Path, problems: Problems
) -> Iterator[dict[str, Any]]:
    now = org.clock()
    seen: set[str] = set()
    for number, raw in json_lines(path, problems):
        try:
            row = _folder_row(org, obj, raw, now)
        except SalesforceError as exc:
            problems.add(path, number, f"{exc.code}: {exc.message}")
            continue
        except (ValueError, TypeError) as exc:
            problems.add(path, number, f"invalid value: {exc}")
            continue
        if row["Id"] in seen:
            problems.add(path, number, f"duplicate Id {row['Id']}")
            continue
        seen.add(row["Id"])
        yield row


def _defaults(org: Org, obj: SObjectType, values: dict[str, Any]) -> None:
    for item in obj.fields.values():
        if item.name not in values and item.default is not None:
            values[item.name] = org.api_user_id if item.default == "$user" else item.default


def _folder_row(org: Org, obj: SObjectType, raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "attributes":
            continue
        item = obj.field(key)
        if item is None:
            raise SalesforceError(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
            )
        values[item.name] = read_value(item, value)
    stamp = (
        values.get("SystemModstamp")
        or values.get("LastModifiedDate")
        or values.get("CreatedDate")
        or now
    )
    computed = dict(values)
    derive(obj.name, computed, None, stamp, org.account_of)
    for name, value in computed.items():
        values.setdefault(name, value)
    _defaults(org, obj, values)
    values.setdefault("CreatedDate", stamp)
    values.setdefault("LastModifiedDate", stamp)
    values.setdefault("SystemModstamp", stamp)
    values.setdefault("CreatedById", org.api_user_id)
    values.setdefault("LastModifiedById", values["CreatedById"])
    if "Id" not in values or values["Id"] is None:
        values["Id"] = org.new_id(obj.name)
    for item in obj.fields.values():
        if item.auto_number is not None and values.get(item.name) is None:
            values[item.name] = org.next_number(obj, item)
    missing = [
        i.name
        for i in obj.fields.values()
        if not i.nillable and values.get(i.name) is None and i.auto_number is None
    ]
    if missing:
        raise SalesforceError(
            400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]"
        )
    return values


# -- the neutral dataset -----------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    """A UTC instant in the store's text form (what ``to_storage`` makes), quickly."""
    if moment.microsecond == 0 and moment.utcoffset() == timedelta(0):
        return moment.isoformat(timespec="seconds")[:19] + ".000Z"
    return str(to_storage(moment, FieldType.DATETIME))


def _number(neutral_id: str) -> int:
    return int(neutral_id.rpartition("-")[2])


class _Mapper:
    """Neutral records → Salesforce rows."""

    def __init__(self, org: Org, dataset: Dataset, as_of: datetime) -> None:
        self.org = org
        self.dataset = dataset
        self.as_of = as_of
        self.today = as_of.date()
        self.prefix = {obj.name: obj.key_prefix for obj in org.schema}
        self.highest: dict[str, int] = {}
        self.account_owner: dict[str, str] = {}
        self.customer_since: dict[str, date | None] = {}

    def sf_id(self, sobject: str, neutral_id: str | None) -> str | None:
        if neutral_id is None:
            return None
        number = _number(neutral_id)
        if number > self.highest.get(sobject, 0):
            self.highest[sobject] = number
        return make_id(self.prefix[sobject], number)

    def system(self, created: datetime, modified: datetime, by: str | None) -> dict[str, Any]:
        user = by or self.org.api_user_id
        changed = _stamp(modified)
        return {
            "IsDeleted": False,
            "CreatedDate": _stamp(created),
            "CreatedById": user,
            "LastModifiedDate": changed,
            "LastModifiedById": user,
            "SystemModstamp": changed,
        }

    def roles(self) -> Iterator[dict[str, Any]]:
        """A role per team of the sales organisation, named as the team."""
        go_live = datetime.combine(self.dataset.start, time(), UTC)
        for team in self.dataset.teams():
            yield {
                "Id": self.sf_id("UserRole", team.id),
                "Name": team.name,
                "DeveloperName": "".join(c if c.isalnum() else "_" for c in team.name),
                **self.system(go_live, go_live, None),
            }

    def users(self) -> Iterator[dict[str, Any]]:
        teams = {t.id: t.name for t in self.dataset.teams()}
        go_live = datetime.combine(self.dataset.start, time(), UTC)
        for user in self.dataset.users():
            yield {
                "Id": self.sf_id("User", user.id),
                "Username": user.email,
                "Email": user.email,
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "Name": f"{user.first_name} {user.last_name}",
                "IsActive": user.active,
                "Title": user.title,
                "Department": teams.get(user.team_id),
                "ManagerId": self.sf_id("User", user.manager_id),
                "UserRoleId": self.sf_id("UserRole", user.team_id),
                **self.system(go_live, go_live, None),
            }

    def accounts(self) -> Iterator[dict[str, Any]]:
        for acc in self.dataset.accounts(self.as_of):
            owner = self.sf_id("User", acc.owner_id)
            account_id = self.sf_id("Account", acc.id)
            assert account_id is not None  # noqa: S101  (the dataset gives every account an id)
            assert owner is not None  # noqa: S101  (and an owner)
            self.account_owner[account_id] = owner
            self.customer_since[account_id] = acc.customer_since
            if acc.churned_on is not None and acc.churned_on <= self.today:
                kind = "Former Customer"
            elif acc.customer_since is not None and acc.customer_since <= self.today:
                kind = "Customer"
            else:
                kind = "Prospect"
            yield {
                "Id": account_id,
                "OwnerId": owner,
                "Name": acc.name,
                "Type": kind,
                "Industry": acc.industry,
                "BillingCountry": acc.country,
                "AnnualRevenue": acc.annual_revenue,
                "NumberOfEmployees": acc.employees,
                "Customer_Since__c": acc.customer_since,
                "Churned_On__c": acc.churned_on,
                **self.system(acc.created, acc.last_modified, owner),
            }

    def opportunities(self) -> Iterator[dict[str, Any]]:
        for deal in self.dataset.deals(self.as_of):
            owner = self.sf_id("User", deal.owner_id)
            account = self.sf_id("Account", deal.account_id)
            stage = _STAGES.get(deal.stage, deal.stage)
            since = self.customer_since.get(account or "")
            existing = since is not None and since < deal.created.date()
            yield {
                "Id": self.sf_id("Opportunity", deal.id),
                "OwnerId": owner,
                "Name": deal.name,
                "AccountId": account,
                "Amount": deal.amount,
                "StageName": stage,
                "Probability": round(deal.probability * 100, 0),
                "CloseDate": deal.close_date,
                "IsClosed": deal.is_closed,
                "IsWon": deal.is_won,
                "LeadSource": deal.lead_source,
                "Type": "Existing Business" if existing else "New Business",
                "ForecastCategoryName": _FORECAST.get(stage, "Pipeline"),
                **self.system(deal.created, deal.last_modified, owner),
            }

    def leads(self) -> Iterator[dict[str, Any]]:
        for lead in self.dataset.leads(self.as_of):
            owner = self.sf_id("User", lead.owner_id)
            yield {
                "Id": self.sf_id("Lead", lead.id),
                "OwnerId": owner,
                "FirstName": lead.first_name,
                "LastName": lead.last_name,
                "Name": f"{lead.first_name} {lead.last_name}",
                "Email": lead.email,
                "Company": lead.company,
                "Status": lead.status,
                "LeadSource": lead.source,
                "IsConverted": lead.is_converted,
                "ConvertedDate": lead.converted_on,
                "ConvertedAccountId": self.sf_id("Account", lead.converted_account_id),
                "ConvertedOpportunityId": self.sf_id("Opportunity", lead.converted_deal_id),
                **self.system(lead.created, lead.last_modified, owner),
            }

    def activities(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for act in self.dataset.activities(self.as_of):
            kind = act.kind
            sobject = "Task" if kind == "task" else "Event"
            owner = self.sf_id("User", act.owner_id)
            account = self.sf_id("Account", act.account_id)
            what = self.sf_id("Opportunity", act.deal_id) if act.deal_id else account
            row: dict[str, Any] = {
                "Id": self.sf_id(sobject, act.id),
                "OwnerId": owner,
                "Subject": act.subject,
                "Type": act.type,
                "WhatId": what,
                "AccountId": account,
                "ActivityDate": act.activity_date,
                **self.system(act.created, act.last_modified, owner),
            }
            if kind == "task":
                row.update(
                    Status=act.status, Priority=act.priority, IsClosed=act.status == "Completed"
                )
            else:
                start = datetime.combine(act.activity_date, time(10), UTC)
                row.update(
                    StartDateTime=start,
                    EndDateTime=start + timedelta(hours=1),
                    DurationInMinutes=60,
                )
            yield sobject, row

    def lead_responses(self) -> Iterator[dict[str, Any]]:
        """The first call or e-mail to each lead: a completed Task on the lead."""
        for response in self.dataset.lead_responses(self.as_of):
            owner = self.sf_id("User", response.owner_id)
            number = RESPONSE_TASKS + _number(response.id)
            self.highest["Task"] = max(self.highest.get("Task", 0), number)
            yield {
                "Id": make_id(self.prefix["Task"], number),
                "OwnerId": owner,
                "Subject": response.subject,
                "Type": response.channel,
                "WhoId": self.sf_id("Lead", response.lead_id),
                "ActivityDate": response.at.date(),
                "Status": "Completed",
                "Priority": "Normal",
                "IsClosed": True,
                **self.system(response.at, response.at, owner),
            }

    def cases(self) -> Iterator[dict[str, Any]]:
        for case in self.dataset.cases(self.as_of):
            account = self.sf_id("Account", case.account_id)
            owner = self.account_owner.get(account or "", self.org.api_user_id)
            number = _number(case.id)
            yield {
                "Id": self.sf_id("Case", case.id),
                "OwnerId": owner,
                "CaseNumber": f"{number:08d}",
                "Subject": case.subject,
                "Origin": case.origin,
                "Status": case.status,
                "Priority": case.priority,
                "AccountId": account,
                "IsClosed": case.status == "Closed",
                "ClosedDate": _stamp(case.closed) if case.closed else None,
                "First_Response_Hours__c": case.first_response_hours,
                **self.system(case.created, case.last_modified, owner),
            }

    def onboarding_surveys(self) -> Iterator[dict[str, Any]]:
        """New customers' onboarding NPS responses."""
        for response in self.dataset.onboarding_surveys(self.as_of):
            account = self.sf_id("Account", response.account_id)
            owner = self.account_owner.get(account or "", self.org.api_user_id)
            number = ONBOARDING_SURVEYS + _number(response.id)
            self.highest["NPS_Response__c"] = max(self.highest.get("NPS_Response__c", 0), number)
            yield {
                "Id": make_id(self.prefix["NPS_Response__c"], number),
                "OwnerId": owner,
                "Name": f"ONB-{_number(response.id):06d}",
                "Account__c": account,
                "Score__c": float(response.score),
                "Response_Date__c": response.submitted.date(),
                "Comment__c": response.comment,
                "Survey_Type__c": response.survey_type,
                **self.system(response.submitted, response.last_modified, owner),
            }

    def nps(self) -> Iterator[dict[str, Any]]:
        for response in self.dataset.nps_responses(self.as_of):
            account = self.sf_id("Account", response.account_id)
            owner = self.account_owner.get(account or "", self.org.api_user_id)
            yield {
                "Id": self.sf_id("NPS_Response__c", response.id),
                "OwnerId": owner,
                "Name": f"NPS-{_number(response.id):06d}",
                "Account__c": account,
                "Score__c": float(response.score),
                "Response_Date__c": response.submitted.date(),
                "Comment__c": response.comment,
                "Survey_Type__c": response.survey_type,
                **self.system(response.submitted, response.last_modified, owner),
            }


def _split_insert(
    org: Org, rows: Iterator[tuple[str, dict[str, Any]]], chunk: int = 5000
) -> dict[str, int]:
    """Insert rows of several objects from one stream, in chunks."""
    counts: dict[str, int] = {}
    pending: dict[str, list[dict[str, Any]]] = {}
    for sobject, row in rows:
        batch = pending.setdefault(sobject, [])
        batch.append(row)
        if len(batch) >= chunk:
            counts[sobject] = counts.get(sobject, 0) + org.store.insert_many(sobject, batch)
            batch.clear()
    for sobject, batch in pending.items():
        counts[sobject] = counts.get(sobject, 0) + org.store.insert_many(sobject, batch)
    return counts


def _fitting(org: Org, sobject: str, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows without the fields the org's object lacks (a plain org has no churn dates)."""
    obj = org.sobject(sobject)
    for row in rows:
        yield {k: v for k, v in row.items() if obj.field(k) is not None}


def seed_from_dataset(org: Org, dataset: Dataset, as_of: datetime) -> dict[str, int]:
    """Insert the dataset as it was at ``as_of``; return rows inserted per object."""
    moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    mapper = _Mapper(org, dataset, moment)
    store = org.store
    every = (
        "UserRole",
        "User",
        "Account",
        "Opportunity",
        "Lead",
        "Task",
        "Event",
        "Case",
        "NPS_Response__c",
    )
    tables = [t for t in every if org.schema.get(t) is not None]  # a plain org has less
    with ExitStack() as stack:
        for table in tables:
            stack.enter_context(store.bulk_load(table))
        counts = {
            "UserRole": store.insert_many("UserRole", mapper.roles()),
            "User": store.insert_many("User", mapper.users()),
            "Account": store.insert_many("Account", _fitting(org, "Account", mapper.accounts())),
            "Opportunity": store.insert_many("Opportunity", mapper.opportunities()),
            "Lead": store.insert_many("Lead", mapper.leads()),
            **_split_insert(org, mapper.activities()),
            "Case": store.insert_many("Case", mapper.cases()),
        }
        counts["Task"] = counts.get("Task", 0) + store.insert_many("Task", mapper.lead_responses())
        if "NPS_Response__c" in tables:
            counts["NPS_Response__c"] = store.insert_many("NPS_Response__c", mapper.nps())
            counts["NPS_Response__c"] += store.insert_many(
                "NPS_Response__c", mapper.onboarding_surveys()
            )
    for sobject, number in mapper.highest.items():
        org.ids.advance(mapper.prefix[sobject], number)
    return counts
