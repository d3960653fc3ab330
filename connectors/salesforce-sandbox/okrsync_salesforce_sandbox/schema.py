"""The objects of the emulated org: fields with Salesforce's describe facts, and the registry.

A :class:`SField` wraps the store's :class:`~okrsync_sandbox.store.Column` with
what describe says beyond it (createable/updateable, defaults, precision,
polymorphic targets, child relationship names); an :class:`SObjectType` is an
object with its key prefix and labels; :class:`Schema` holds them by name (any
letter case) and by key prefix. :func:`standard_schema` builds the standard
objects the sandbox starts with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync_sandbox.store import Column, FieldType, TableSchema

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "SHORT_TEXT",
    "STRINGISH",
    "SField",
    "SObjectType",
    "Schema",
    "custom_system_fields",
    "standard_schema",
    "tooling_schema",
]

STRINGISH = frozenset(
    {
        FieldType.STRING,
        FieldType.TEXTAREA,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
        FieldType.PICKLIST,
    }
)
"""Types whose values are text compared case-insensitively by SOQL."""

SHORT_TEXT = 255
"""Longest text area that SOQL can still filter and sort on."""

_NOT_GROUPABLE = frozenset(
    {
        FieldType.DOUBLE,
        FieldType.CURRENCY,
        FieldType.PERCENT,
        FieldType.DATETIME,
        FieldType.TEXTAREA,
    }
)


@dataclass(frozen=True, slots=True)
class SField:
    """One field of an object, with its describe facts."""

    column: Column
    createable: bool = True
    updateable: bool = True
    calculated: bool = False
    auto_number: str | None = None
    """Display format of an auto-number field, e.g. ``NPS-{000000}``."""
    name_field: bool = False
    default: Any = None
    """Value set on create when the client gives none."""
    precision: int = 0
    scale: int = 0
    targets: tuple[str, ...] = ()
    """Objects a reference points to (several for a polymorphic reference)."""
    polymorphic_relationship: str | None = None
    """Relationship name of a polymorphic reference (``What``); not joinable in SOQL."""
    child_relationship: str | None = None
    """Name of the relationship seen from the parent (``Opportunities``)."""
    restricted: bool = False
    """A restricted picklist: other values are rejected."""
    case_sensitive: bool = False
    help_text: str | None = None
    description: str | None = None

    @property
    def name(self) -> str:
        """The API name."""
        return self.column.name

    @property
    def type(self) -> FieldType:
        """The describe type."""
        return self.column.type

    @property
    def nillable(self) -> bool:
        """Whether the field may be empty."""
        return self.column.nullable

    @property
    def required(self) -> bool:
        """Whether a create must give a value (not nillable, createable, no default)."""
        return (
            not self.column.nullable
            and self.createable
            and self.default is None
            and self.column.type is not FieldType.BOOLEAN
        )

    @property
    def relationship_name(self) -> str | None:
        """The relationship name of a reference (joinable or polymorphic)."""
        return self.column.relationship_name or self.polymorphic_relationship

    @property
    def reference_to(self) -> tuple[str, ...]:
        """Describe's ``referenceTo``."""
        if self.targets:
            return self.targets
        return (self.column.reference_to,) if self.column.reference_to else ()

    @property
    def permissionable(self) -> bool:
        """Whether field-level security applies (not to required or read-only fields)."""
        return self.updateable and (self.nillable or self.type is FieldType.BOOLEAN)

    @property
    def long_text(self) -> bool:
        """A long text area: not filterable or sortable in SOQL."""
        return self.column.type is FieldType.TEXTAREA and self.column.length > SHORT_TEXT

    @property
    def groupable(self) -> bool:
        """Whether SOQL may group by it."""
        return self.column.type not in _NOT_GROUPABLE

    @property
    def stringish(self) -> bool:
        """Whether values are text compared case-insensitively."""
        return self.column.type in STRINGISH


@dataclass(slots=True)
class SObjectType:
    """An object of the org."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, SField] = field(default_factory=dict)
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    tooling_id: str | None = None
    """Id of the ``CustomObject`` tooling row of a custom object."""

    @classmethod
    def of(
        cls,
        name: str,
        label: str,
        plural: str,
        prefix: str,
        fields: Iterable[SField],
        **kwargs: Any,
    ) -> SObjectType:
        """An object from a list of fields."""
        return cls(name, label, plural, prefix, {f.name.lower(): f for f in fields}, **kwargs)

    def field(self, name: str) -> SField | None:
        """The field called ``name`` in any letter case."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> SField | None:
        """The reference field whose relationship is called ``name`` (any case)."""
        low = name.lower()
        for item in self.fields.values():
            rel = item.relationship_name
            if rel is not None and rel.lower() == low:
                return item
        return None

    def table_schema(self) -> TableSchema:
        """The store's schema of this object."""
        return TableSchema.of(
            self.name,
            (f.column for f in self.fields.values()),
            label=self.label,
            custom=self.custom,
        )

    @property
    def name_field(self) -> SField | None:
        """The field that names a record (``Name``, ``Subject``, ``CaseNumber``)."""
        for item in self.fields.values():
            if item.name_field:
                return item
        return None


class Schema:
    """The objects of the org by name (any letter case) and key prefix."""

    def __init__(self, objects: Iterable[SObjectType] = ()) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, SObjectType] = {}
        for obj in objects:
            self.add(obj)

    def add(self, obj: SObjectType) -> None:
        """Register an object."""
        with self._lock:
            self._objects[obj.name.lower()] = obj

    def get(self, name: str) -> SObjectType | None:
        """The object called ``name`` in any letter case."""
        return self._objects.get(name.lower())

    def by_prefix(self, prefix: str) -> SObjectType | None:
        """The object whose ids start with ``prefix``."""
        for obj in self._objects.values():
            if obj.key_prefix == prefix:
                return obj
        return None

    def __iter__(self) -> Iterator[SObjectType]:
        with self._lock:
            return iter(list(self._objects.values()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._objects

    def children(self, name: str) -> list[tuple[SObjectType, SField]]:
        """References to ``name`` from every object: ``(child object, reference field)``."""
        low = name.lower()
        return [
            (obj, item)
            for obj in self
            for item in obj.fields.values()
            if any(t.lower() == low for t in item.reference_to)
        ]

    def replace_field(self, obj: SObjectType, item: SField) -> None:
        """Add or replace a field of ``obj``."""
        with self._lock:
            obj.fields[item.name.lower()] = item


# -- field builders -------------------------------------------------------------


def _f(
    name: str,
    kind: FieldType,
    label: str = "",
    *,
    required: bool = False,
    length: int = 0,
    writable: bool = True,
    custom: bool | None = None,
    **kwargs: Any,
) -> SField:
    column = Column(
        name,
        kind,
        label or _label(name),
        nullable=not required,
        unique=kwargs.pop("unique", False),
        external_id=kwargs.pop("external_id", False),
        reference_to=kwargs.pop("reference_to", None),
        relationship_name=kwargs.pop("relationship_name", None),
        picklist=tuple(kwargs.pop("picklist", ())),
        custom=name.endswith("__c") if custom is None else custom,
        writable=writable,
        length=length or _default_length(kind),
    )
    if not writable:
        kwargs.setdefault("createable", False)
        kwargs.setdefault("updateable", False)
    return SField(column, **kwargs)


def _default_length(kind: FieldType) -> int:
    return {
        FieldType.ID: 18,
        FieldType.REFERENCE: 18,
        FieldType.STRING: 255,
        FieldType.TEXTAREA: 255,
        FieldType.EMAIL: 80,
        FieldType.PHONE: 40,
        FieldType.URL: 255,
        FieldType.PICKLIST: 255,
    }.get(kind, 0)


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") or name
    words: list[str] = []
    for part in base.split("_"):
        word = ""
        for i, char in enumerate(part):
            if i and char.isupper() and not part[i - 1].isupper():
                words.append(word)
                word = ""
            word += char
        if word:
            words.append(word)
    text = " ".join(w for w in words if w)
    return f"{text} ID" if name.endswith("Id") and name != "Id" else text


def text(name: str, label: str = "", length: int = 255, **kwargs: Any) -> SField:
    """A text field."""
    return _f(name, FieldType.STRING, label, length=length, **kwargs)


def textarea(name: str, label: str = "", length: int = 32000, **kwargs: Any) -> SField:
    """A long text field."""
    return _f(name, FieldType.TEXTAREA, label, length=length, **kwargs)


def email(name: str, label: str = "", **kwargs: Any) -> SField:
    """An email field."""
    return _f(name, FieldType.EMAIL, label, **kwargs)


def picklist(name: str, values: Iterable[str], label: str = "", **kwargs: Any) -> SField:
    """A picklist field."""
    return _f(name, FieldType.PICKLIST, label, picklist=tuple(values), **kwargs)


def boolean(name: str, label: str = "", **kwargs: Any) -> SField:
    """A checkbox (never null; default false)."""
    kwargs.setdefault("default", False)
    return _f(name, FieldType.BOOLEAN, label, required=True, **kwargs)


def number(
    name: str, label: str = "", precision: int = 18, scale: int = 2, **kwargs: Any
) -> SField:
    """A number field (``double``)."""
    return _f(name, FieldType.DOUBLE, label, precision=precision, scale=scale, **kwargs)


def integer(name: str, label: str = "", **kwargs: Any) -> SField:
    """An integer field."""
    return _f(name, FieldType.INT, label, precision=9, **kwargs)


def currency(name: str, label: str = "", **kwargs: Any) -> SField:
    """A currency field."""
    return _f(name, FieldType.CURRENCY, label, precision=18, scale=2, **kwargs)


def percent(
    name: str, label: str = "", precision: int = 3, scale: int = 0, **kwargs: Any
) -> SField:
    """A percent field."""
    return _f(name, FieldType.PERCENT, label, precision=precision, scale=scale, **kwargs)


def date_field(name: str, label: str = "", **kwargs: Any) -> SField:
    """A date field."""
    return _f(name, FieldType.DATE, label, **kwargs)


def datetime_field(name: str, label: str = "", **kwargs: Any) -> SField:
    """A date/time field."""
    return _f(name, FieldType.DATETIME, label, **kwargs)


def lookup(
    name: str, to: str, relationship: str, label: str = "", child: str | None = None, **kwargs: Any
) -> SField:
    """A reference to one object, joinable as ``relationship.Field`` in SOQL."""
    return _f(
        name,
        FieldType.REFERENCE,
        label,
        reference_to=to,
        relationship_name=relationship,
        child_relationship=child,
        **kwargs,
    )


def polymorphic(name: str, targets: tuple[str, ...], relationship: str, label: str = "") -> SField:
    """A reference to one of several objects (``WhatId``)."""
    return _f(
        name,
        FieldType.REFERENCE,
        label,
        targets=targets,
        polymorphic_relationship=relationship,
    )


def _system(*, owner: bool, owner_child: str | None = None, queues: bool = False) -> list[SField]:
    """The system fields; ``queues``: records may be owned by a queue (a ``Group``) too.

    A queue-owned record's ``Owner`` is then no user: ``Owner.Email`` reads empty
    (Salesforce's ``Owner`` is the polymorphic *Name*; a queue rarely has an e-mail).
    """
    fields = [
        _f("Id", FieldType.ID, "Record ID", required=True, writable=False),
        boolean("IsDeleted", "Deleted", createable=False, updateable=False),
        datetime_field("CreatedDate", required=True, writable=False),
        lookup("CreatedById", "User", "CreatedBy", required=True, writable=False),
        datetime_field("LastModifiedDate", required=True, writable=False),
        lookup("LastModifiedById", "User", "LastModifiedBy", required=True, writable=False),
        datetime_field("SystemModstamp", "System Modstamp", required=True, writable=False),
    ]
    if owner:
        fields.insert(
            1,
            lookup(
                "OwnerId",
                "User",
                "Owner",
                "Owner ID",
                child=owner_child,
                required=True,
                default="$user",
                **({"targets": ("Group", "User")} if queues else {}),
            ),
        )
    return fields


def custom_system_fields() -> list[SField]:
    """The system fields every custom object has (with ``OwnerId``)."""
    return _system(owner=True, queues=True)


# -- standard objects -----------------------------------------------------------

OPPORTUNITY_STAGES: dict[str, tuple[int, str, bool, bool]] = {
    "Prospecting": (10, "Pipeline", False, False),
    "Qualification": (10, "Pipeline", False, False),
    "Needs Analysis": (20, "Pipeline", False, False),
    "Value Proposition": (50, "Pipeline", False, False),
    "Id. Decision Makers": (60, "Pipeline", False, False),
    "Perception Analysis": (70, "Pipeline", False, False),
    "Proposal/Price Quote": (75, "Best Case", False, False),
    "Negotiation/Review": (90, "Commit", False, False),
    "Closed Won": (100, "Closed", True, True),
    "Closed Lost": (0, "Omitted", True, False),
}
"""Stage → (probability, forecast category, IsClosed, IsWon), as a new org ships them."""

LEAD_SOURCES = (
    "Web",
    "Referral",
    "Partner",
    "Event",
    "Advertisement",
    "Outbound",
    "Newsletter",
    "Phone Inquiry",
    "Other",
)
INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
ACTIVITY_TYPES = (
    "Call",
    "Email",
    "Meeting",
    "Demo",
    "Customer Interview",
    "Sales Training",
    "Other",
)
TASK_CLOSED_STATUSES = frozenset({"Completed"})
CASE_CLOSED_STATUSES = frozenset({"Closed"})


def _user() -> SObjectType:
    return SObjectType.of(
        "User",
        "User",
        "Users",
        "005",
        (
            [
                *_system(owner=False),
                text("Username", length=80, required=True, unique=True, name_field=False),
                email("Email", required=True),
                text("FirstName", length=40),
                text("LastName", length=80, required=True),
                text(
                    "Name",
                    "Full Name",
                    length=121,
                    writable=False,
                    calculated=True,
                    name_field=True,
                ),
                boolean("IsActive", "Active", default=True),
                text("Title", length=80),
                text("Department", length=80),
                lookup("ManagerId", "User", "Manager", child="ManagedUsers"),
                lookup("UserRoleId", "UserRole", "UserRole", "Role ID", child="Users"),
            ]
        ),
    )


def _user_role() -> SObjectType:
    return SObjectType.of(
        "UserRole",
        "Role",
        "Roles",
        "00E",
        (
            [
                *_system(owner=False),
                text("Name", length=80, required=True, name_field=True),
                text("DeveloperName", "Developer Name", length=80),
                lookup("ParentRoleId", "UserRole", "ParentRole", "Parent Role ID"),
            ]
        ),
    )


def _groups() -> list[SObjectType]:
    """Public groups and their members (a member is a user here; Salesforce also nests groups)."""
    return [
        SObjectType.of(
            "Group",
            "Group",
            "Groups",
            "00G",
            (
                [
                    *_system(owner=False),
                    text("Name", length=40, required=True, name_field=True),
                    text("DeveloperName", "Developer Name", length=80),
                    picklist(
                        "Type",
                        ("Regular", "Role", "RoleAndSubordinates", "Queue", "Organization"),
                        default="Regular",
                    ),
                ]
            ),
        ),
        SObjectType.of(
            "GroupMember",
            "Group Member",
            "Group Members",
            "011",
            (
                [
                    *_system(owner=False),
                    lookup(
                        "GroupId", "Group", "Group", "Group ID", child="GroupMembers", required=True
                    ),
                    lookup("UserOrGroupId", "User", "UserOrGroup", "User/Group ID", required=True),
                ]
            ),
        ),
    ]


def _account() -> SObjectType:
    return SObjectType.of(
        "Account",
        "Account",
        "Accounts",
        "001",
        (
            [
                *_system(owner=True, owner_child="Accounts"),
                text("Name", "Account Name", length=255, required=True, name_field=True),
                picklist(
                    "Type",
                    ("Prospect", "Customer", "Former Customer", "Partner", "Other"),
                    "Account Type",
                ),
                picklist("Industry", INDUSTRIES),
                text("BillingCountry", length=80),
                currency("AnnualRevenue"),
                integer("NumberOfEmployees", "Employees"),
                date_field("Customer_Since__c", "Customer Since"),
                date_field("Churned_On__c", "Churned On"),
            ]
        ),
    )


def _opportunity() -> SObjectType:
    return SObjectType.of(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        "006",
        (
            [
                *_system(owner=True, owner_child="Opportunities"),
                text("Name", length=120, required=True, name_field=True),
                lookup("AccountId", "Account", "Account", child="Opportunities"),
                currency("Amount"),
                picklist("StageName", OPPORTUNITY_STAGES, "Stage", required=True),
                percent("Probability", "Probability (%)"),
                date_field("CloseDate", required=True),
                boolean("IsClosed", "Closed", createable=False, updateable=False),
                boolean("IsWon", "Won", createable=False, updateable=False),
                picklist("LeadSource", LEAD_SOURCES),
                picklist(
                    "Type",
                    ("New Business", "Existing Business", "Renewal"),
                    "Opportunity Type",
                ),
                picklist(
                    "ForecastCategoryName",
                    ("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
                    "Forecast Category",
                ),
            ]
        ),
    )


def _lead() -> SObjectType:
    return SObjectType.of(
        "Lead",
        "Lead",
        "Leads",
        "00Q",
        (
            [
                *_system(owner=True, owner_child="Leads", queues=True),
                text("FirstName", length=40),
                text("LastName", length=80, required=True),
                text(
                    "Name",
                    "Full Name",
                    length=121,
                    writable=False,
                    calculated=True,
                    name_field=True,
                ),
                email("Email"),
                text("Company", length=255, required=True),
                picklist(
                    "Status",
                    (
                        "New",
                        "Working",
                        "Nurturing",
                        "Qualified",
                        "Unqualified",
                        "Converted",
                    ),
                    "Lead Status",
                    required=True,
                    default="New",
                ),
                picklist("LeadSource", LEAD_SOURCES),
                boolean("IsConverted", "Converted", createable=False, updateable=False),
                date_field("ConvertedDate", writable=False),
                lookup("ConvertedAccountId", "Account", "ConvertedAccount", writable=False),
                lookup(
                    "ConvertedOpportunityId", "Opportunity", "ConvertedOpportunity", writable=False
                ),
            ]
        ),
    )


def _task() -> SObjectType:
    return SObjectType.of(
        "Task",
        "Task",
        "Tasks",
        "00T",
        (
            [
                *_system(owner=True, owner_child="Tasks"),
                text("Subject", length=255, name_field=True),
                picklist(
                    "Type",
                    ACTIVITY_TYPES,
                ),
                picklist(
                    "Status",
                    (
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    ),
                    required=True,
                    default="Not Started",
                ),
                picklist("Priority", ("High", "Normal", "Low"), required=True, default="Normal"),
                polymorphic("WhatId", ("Account", "Opportunity", "Case"), "What", "Related To ID"),
                polymorphic("WhoId", ("Lead",), "Who", "Name ID"),
                lookup("AccountId", "Account", "Account", child="Tasks", writable=False),
                date_field("ActivityDate", "Due Date Only"),
                boolean("IsClosed", "Closed", createable=False, updateable=False),
                boolean("IsArchived", "Archived", createable=False, updateable=False),
            ]
        ),
    )


def _event() -> SObjectType:
    return SObjectType.of(
        "Event",
        "Event",
        "Events",
        "00U",
        (
            [
                *_system(owner=True, owner_child="Events"),
                text("Subject", length=255, name_field=True),
                picklist(
                    "Type",
                    ACTIVITY_TYPES,
                ),
                polymorphic("WhatId", ("Account", "Opportunity", "Case"), "What", "Related To ID"),
                lookup("AccountId", "Account", "Account", child="Events", writable=False),
                date_field("ActivityDate", "Due Date Only"),
                datetime_field("StartDateTime", "Start"),
                datetime_field("EndDateTime", "End"),
                integer("DurationInMinutes", "Duration"),
                boolean("IsArchived", "Archived", createable=False, updateable=False),
            ]
        ),
    )


def _case() -> SObjectType:
    return SObjectType.of(
        "Case",
        "Case",
        "Cases",
        "500",
        (
            [
                *_system(owner=True, owner_child="Cases", queues=True),
                text(
                    "CaseNumber",
                    "Case Number",
                    length=30,
                    writable=False,
                    auto_number="{00000000}",
                    name_field=True,
                ),
                text("Subject", length=255),
                picklist("Origin", ("Phone", "Email", "Web", "Chat"), "Case Origin"),
                picklist(
                    "Status",
                    ("New", "Working", "Escalated", "Closed"),
                    required=True,
                    default="New",
                ),
                picklist("Priority", ("High", "Medium", "Low"), required=True, default="Medium"),
                lookup("AccountId", "Account", "Account", child="Cases"),
                boolean("IsClosed", "Closed", createable=False, updateable=False),
                datetime_field("ClosedDate", "Closed Date", writable=False),
                number("First_Response_Hours__c", "First Response (hours)", precision=8, scale=2),
            ]
        ),
    )


def _nps() -> SObjectType:
    return SObjectType.of(
        "NPS_Response__c",
        "NPS Response",
        "NPS Responses",
        "a00",
        [
            *_system(owner=True, queues=True),
            text(
                "Name",
                "NPS Response Name",
                length=80,
                writable=False,
                auto_number="NPS-{000000}",
                name_field=True,
                custom=False,
            ),
            lookup("Account__c", "Account", "Account__r", "Account", child="NPS_Responses__r"),
            number("Score__c", "Score", precision=2, scale=0),
            date_field("Response_Date__c", "Response Date"),
            textarea("Comment__c", "Comment"),
            picklist("Survey_Type__c", ("NPS", "CSAT", "CES"), "Survey Type"),
        ],
        custom=True,
        tooling_id="01I8d0000000001AAA",
    )


def _organization() -> SObjectType:
    return SObjectType.of(
        "Organization",
        "Organization",
        "Organizations",
        "00D",
        (
            [
                *_system(owner=False),
                text("Name", length=80, writable=False, name_field=True),
                text("OrganizationType", "Edition", length=40, writable=False),
                text("InstanceName", length=5, writable=False),
                boolean("IsSandbox", createable=False, updateable=False),
                text("DefaultLocaleSidKey", "Locale", length=40, writable=False),
            ]
        ),
        createable=False,
        updateable=False,
        deletable=False,
    )


def _permission_objects() -> list[SObjectType]:
    return [
        SObjectType.of(
            "PermissionSet",
            "Permission Set",
            "Permission Sets",
            "0PS",
            (
                [
                    *_system(owner=False),
                    text("Name", length=80, required=True, unique=True),
                    text("Label", length=80, required=True, name_field=True),
                    textarea("Description", length=255),
                    boolean(
                        "IsOwnedByProfile",
                        "Is Owned By Profile",
                        createable=False,
                        updateable=False,
                    ),
                ]
            ),
        ),
        SObjectType.of(
            "ObjectPermissions",
            "Object Permissions",
            "Object Permissions",
            "110",
            (
                [
                    *_system(owner=False),
                    lookup(
                        "ParentId",
                        "PermissionSet",
                        "Parent",
                        child="ObjectPerms",
                        required=True,
                        updateable=False,
                    ),
                    text(
                        "SobjectType",
                        "Sobject Type Name",
                        length=40,
                        required=True,
                        updateable=False,
                    ),
                    boolean("PermissionsCreate", "Create"),
                    boolean("PermissionsRead", "Read"),
                    boolean("PermissionsEdit", "Edit"),
                    boolean("PermissionsDelete", "Delete"),
                    boolean("PermissionsViewAllRecords", "View All"),
                    boolean("PermissionsModifyAllRecords", "Modify All"),
                ]
            ),
        ),
        SObjectType.of(
            "FieldPermissions",
            "Field Permissions",
            "Field Permissions",
            "01k",
            (
                [
                    *_system(owner=False),
                    lookup(
                        "ParentId",
                        "PermissionSet",
                        "Parent",
                        child="FieldPerms",
                        required=True,
                        updateable=False,
                    ),
                    text(
                        "SobjectType",
                        "Sobject Type Name",
                        length=40,
                        required=True,
                        updateable=False,
                    ),
                    text("Field", "Field Name", length=81, required=True, updateable=False),
                    boolean("PermissionsRead", "Read Access"),
                    boolean("PermissionsEdit", "Edit Access"),
                ]
            ),
        ),
        SObjectType.of(
            "PermissionSetAssignment",
            "Permission Set Assignment",
            "Permission Set Assignments",
            "0Pa",
            (
                [
                    *_system(owner=False),
                    lookup(
                        "AssigneeId",
                        "User",
                        "Assignee",
                        child="PermissionSetAssignments",
                        required=True,
                        updateable=False,
                    ),
                    lookup(
                        "PermissionSetId",
                        "PermissionSet",
                        "PermissionSet",
                        child="Assignments",
                        required=True,
                        updateable=False,
                    ),
                ]
            ),
        ),
    ]


ORG_PROFILES = ("okrsync", "plain")
"""``okrsync``: the org okrsync's example mappings expect (churn dates on Account, an
NPS object); ``plain``: a Salesforce org as it comes, without them."""
PLAIN_ORG_LACKS = ("Account.Customer_Since__c", "Account.Churned_On__c", "NPS_Response__c")
"""What a ``plain`` org does not have."""


def standard_schema(profile: str = "okrsync") -> Schema:
    """The objects a new sandbox org has (``plain``: without okrsync's custom fields)."""
    if profile not in ORG_PROFILES:
        msg = f"unknown org profile {profile!r}; expected one of {', '.join(ORG_PROFILES)}"
        raise ValueError(msg)
    objects = [
        _organization(),
        _user_role(),
        _user(),
        *_groups(),
        _account(),
        _opportunity(),
        _lead(),
        _task(),
        _event(),
        _case(),
        _nps(),
        *_permission_objects(),
    ]
    if profile == "plain":
        lacking = {name.lower() for name in PLAIN_ORG_LACKS}
        objects = [o for o in objects if o.name.lower() not in lacking]
        for obj in objects:
            for key in [k for k in obj.fields if f"{obj.name}.{k}".lower() in lacking]:
                del obj.fields[key]
    return Schema(objects)


def tooling_schema() -> Schema:
    """The Tooling API's objects the sandbox answers queries on."""
    return Schema(
        [
            SObjectType.of(
                "CustomObject",
                "Custom Object",
                "Custom Objects",
                "01I",
                (
                    [
                        *_system(owner=False),
                        text(
                            "DeveloperName",
                            "Object Name",
                            length=40,
                            required=True,
                            name_field=True,
                        ),
                        text("NamespacePrefix", length=15),
                        text("ManageableState", length=40),
                        text("ExternalName", length=255),
                    ]
                ),
            ),
            SObjectType.of(
                "CustomField",
                "Custom Field",
                "Custom Fields",
                "00N",
                (
                    [
                        *_system(owner=False),
                        text(
                            "DeveloperName", "Field Name", length=40, required=True, name_field=True
                        ),
                        text("TableEnumOrId", "Table Enum or ID", length=40, required=True),
                        text("NamespacePrefix", length=15),
                        text("ManageableState", length=40),
                        textarea("Description", length=1000),
                        textarea("InlineHelpText", length=510),
                    ]
                ),
            ),
        ]
    )
