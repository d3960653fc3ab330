"""The portal's object types and their properties: standard objects, custom schemas, associations.

Each object type is a store table keyed by ``hs_object_id`` (an integer, so the
store's row id is the object id and list paging is keyed on it). Properties
carry HubSpot's metadata (type, field type, options, ``hasUniqueValue``); the
store columns are derived from them. Association types (id, category, label)
are defined per ordered pair of object types, in both directions.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import HubSpotError, validation_error
from okrsync_hubspot_sandbox.values import PropertyType, iso_millis, store_type
from okrsync_sandbox.store import Column, FieldType, TableSchema

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from okrsync_sandbox.store import Store

__all__ = [
    "ARCHIVED_AT",
    "AssociationType",
    "ObjectType",
    "Option",
    "Portal",
    "PropertyDef",
    "standard_object_types",
]

ARCHIVED_AT = "_archived_at"
"""Internal column: when the object was archived (not a property)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of an enumeration property."""

    value: str
    label: str

    def to_json(self, order: int) -> dict[str, Any]:
        """As HubSpot lists it."""
        return {"label": self.label, "value": self.value, "displayOrder": order, "hidden": False}


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """A property of an object type."""

    name: str
    type: PropertyType
    label: str = ""
    field_type: str = ""
    group_name: str = ""
    options: tuple[Option, ...] = ()
    unique: bool = False
    read_only: bool = False
    """Clients cannot set it (HubSpot ignores such values)."""
    calculated: bool = False
    hubspot_defined: bool = True
    description: str = ""
    created_at: datetime | None = None

    def column(self) -> Column:
        """The store column holding the values."""
        kind = FieldType.INT if self.name == "hs_object_id" else store_type(self.type)
        return Column(
            self.name,
            kind,
            label=self.label or self.name,
            unique=self.unique,
            picklist=tuple(o.value for o in self.options),
            custom=not self.hubspot_defined,
            writable=not self.read_only,
        )

    def option(self, value: str) -> str | None:
        """The option value matching ``value`` (any letter case); ``None`` if there is none."""
        low = value.lower()
        for opt in self.options:
            if opt.value.lower() == low:
                return opt.value
        return None

    def to_json(self) -> dict[str, Any]:
        """The property as the properties and schemas APIs return it."""
        stamp = iso_millis(self.created_at) if self.created_at else None
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type.value,
            "fieldType": self.field_type or _FIELD_TYPES[self.type],
            "description": self.description,
            "groupName": self.group_name,
            "options": [o.to_json(i) for i, o in enumerate(self.options)],
            "displayOrder": -1,
            "calculated": self.calculated,
            "externalOptions": False,
            "hasUniqueValue": self.unique,
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": not self.read_only,
            "dataSensitivity": "non_sensitive",
            "archived": False,
        }
        if stamp:
            out["createdAt"] = stamp
            out["updatedAt"] = stamp
        return out


_FIELD_TYPES = {
    PropertyType.STRING: "text",
    PropertyType.NUMBER: "number",
    PropertyType.DATE: "date",
    PropertyType.DATETIME: "date",
    PropertyType.ENUMERATION: "select",
    PropertyType.BOOL: "booleancheckbox",
}


@dataclass(slots=True)
class ObjectType:
    """An object type of the portal: standard (``0-1`` contacts…) or custom (``2-…``)."""

    name: str
    object_type_id: str
    singular: str
    plural: str
    properties: dict[str, PropertyDef]
    default_properties: tuple[str, ...]
    searchable: tuple[str, ...] = ()
    created_property: str = "createdate"
    read_only: bool = False
    """Writes through the API are refused (feedback submissions)."""
    custom: bool = False
    scope: str = ""
    """The object part of its scopes, e.g. ``contacts`` in ``crm.objects.contacts.read``."""
    aliases: tuple[str, ...] = ()
    fully_qualified_name: str = ""
    primary_display_property: str | None = None
    required_properties: tuple[str, ...] = ()
    secondary_display_properties: tuple[str, ...] = ()
    description: str = ""
    created_at: datetime | None = None

    @property
    def table(self) -> str:
        """The store table of the objects."""
        return self.name

    def property(self, name: str) -> PropertyDef | None:
        """The property called ``name``, if any."""
        return self.properties.get(name)

    def table_schema(self) -> TableSchema:
        """The store table: one column per property plus the archive stamp."""
        columns = [p.column() for p in self.properties.values()]
        columns.append(Column(ARCHIVED_AT, FieldType.DATETIME, writable=False))
        return TableSchema.of(
            self.name, columns, label=self.plural, custom=self.custom, key="hs_object_id"
        )

    def unique_properties(self) -> list[PropertyDef]:
        """Properties with ``hasUniqueValue``."""
        return [p for p in self.properties.values() if p.unique]


@dataclass(frozen=True, slots=True)
class AssociationType:
    """An association type from one object type to another (one direction)."""

    from_type: str
    """``objectTypeId`` of the source."""
    to_type: str
    type_id: int
    category: str
    label: str | None = None
    inverse_id: int = 0
    default: bool = False
    """The unlabeled type used by ``associate/default``."""

    def spec(self) -> dict[str, Any]:
        """As ``AssociationSpecWithLabel``."""
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


def _p(
    name: str,
    kind: PropertyType = PropertyType.STRING,
    label: str = "",
    group: str = "",
    options: Iterable[str] = (),
    *,
    read_only: bool = False,
    calculated: bool = False,
    custom: bool = False,
    unique: bool = False,
) -> PropertyDef:
    return PropertyDef(
        name,
        kind,
        label=label or name.replace("_", " ").capitalize(),
        group_name=group,
        options=tuple(Option(o, o.replace("_", " ").capitalize()) for o in options),
        read_only=read_only,
        calculated=calculated,
        hubspot_defined=not custom,
        unique=unique,
    )


S, N, D, DT, E, B = (
    PropertyType.STRING,
    PropertyType.NUMBER,
    PropertyType.DATE,
    PropertyType.DATETIME,
    PropertyType.ENUMERATION,
    PropertyType.BOOL,
)

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
LEAD_STATUSES = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
DEAL_STAGES: dict[str, float] = {
    "appointmentscheduled": 0.1,
    "qualifiedtobuy": 0.2,
    "presentationscheduled": 0.4,
    "decisionmakerboughtin": 0.6,
    "contractsent": 0.8,
    "closedwon": 1.0,
    "closedlost": 0.0,
}
"""The default pipeline's stages and their probabilities (as the neutral dataset's stages)."""
DEAL_TYPES: dict[str, str] = {
    "newbusiness": "New Business",
    "existingbusiness": "Existing Business",
}
"""The options of HubSpot's default deal property ``dealtype`` (a radio select), value → label."""


def _system(created: str, group: str) -> list[PropertyDef]:
    return [
        _p("hs_object_id", N, "Record ID", group, read_only=True),
        _p(created, DT, "Create date", group, read_only=True),
        _p("hs_lastmodifieddate", DT, "Last modified date", group, read_only=True),
    ]


def _type(  # noqa: PLR0917  (the table of standard types reads best positionally)
    name: str,
    type_id: str,
    singular: str,
    props: list[PropertyDef],
    defaults: tuple[str, ...],
    searchable: tuple[str, ...],
    **kwargs: Any,
) -> ObjectType:
    created = kwargs.pop("created_property", "createdate")
    group = f"{singular.lower().replace(' ', '')}information"
    every = _system(created, group) + [replace(p, group_name=p.group_name or group) for p in props]
    return ObjectType(
        name=name,
        object_type_id=type_id,
        singular=singular,
        plural=singular + "s" if not singular.endswith("y") else singular[:-1] + "ies",
        properties={p.name: p for p in every},
        default_properties=defaults,
        searchable=searchable,
        created_property=created,
        scope=kwargs.pop("scope", name),
        aliases=(
            type_id,
            name.rstrip("s") if name != "companies" else "company",
            *kwargs.pop("aliases", ()),
        ),
        fully_qualified_name=name,
        **kwargs,
    )


def standard_object_types() -> list[ObjectType]:
    """The standard object types the sandbox serves, with their properties."""
    owner = _p("hubspot_owner_id", E, "Owner")
    stage_dates = [
        _p(f"hs_lifecyclestage_{stage}_date", DT, f"Became a {stage} date", read_only=True)
        for stage in LIFECYCLE_STAGES[:6]
    ]
    contacts = _type(
        "contacts",
        "0-1",
        "Contact",
        [
            _p("firstname", S, "First Name"),
            _p("lastname", S, "Last Name"),
            _p("email", S, "Email"),
            _p("company", S, "Company Name"),
            _p("phone", S, "Phone Number"),
            _p("lifecyclestage", E, "Lifecycle Stage", options=LIFECYCLE_STAGES),
            _p("hs_lead_status", E, "Lead Status", options=LEAD_STATUSES),
            owner,
            _p("lastmodifieddate", DT, "Last Modified Date", read_only=True),
            *stage_dates,
            # the first call, e-mail or meeting a sales rep logged with the contact
            _p(
                "hs_first_outreach_date", DT, "First outreach date", read_only=True, calculated=True
            ),
        ],
        ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ("firstname", "lastname", "email", "company", "phone"),
    )
    companies = _type(
        "companies",
        "0-2",
        "Company",
        [
            _p("name", S, "Name"),
            _p("domain", S, "Company Domain Name"),
            _p("industry", S, "Industry"),
            _p("country", S, "Country/Region"),
            owner,
            _p("lifecyclestage", E, "Lifecycle Stage", options=LIFECYCLE_STAGES),
            _p("annualrevenue", N, "Annual Revenue"),
            _p("numberofemployees", N, "Number of Employees"),
            # HubSpot's rollup of the amounts of the company's closed won deals
            _p("total_revenue", N, "Total Revenue", read_only=True, calculated=True),
            _p("customer_since", D, "Customer since", custom=True),
            _p("churned_on", D, "Churned on", custom=True),
        ],
        ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ("name", "domain"),
    )
    deals = _type(
        "deals",
        "0-3",
        "Deal",
        [
            _p("dealname", S, "Deal Name"),
            _p("amount", N, "Amount"),
            _p("dealstage", E, "Deal Stage", options=DEAL_STAGES),
            _p("pipeline", E, "Pipeline", options=("default",)),
            _p("closedate", DT, "Close Date"),
            _p("hs_is_closed", B, "Is Deal Closed?", read_only=True, calculated=True),
            _p("hs_is_closed_won", B, "Is Closed Won", read_only=True, calculated=True),
            _p("hs_deal_stage_probability", N, "Deal probability", read_only=True, calculated=True),
            replace(
                _p("dealtype", E, "Deal Type"),
                field_type="radio",
                options=tuple(Option(value, label) for value, label in DEAL_TYPES.items()),
            ),
            owner,
        ],
        (
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline",
        ),
        ("dealname",),
    )
    feedback = _type(
        "feedback_submissions",
        "0-19",
        "Feedback Submission",
        [
            _p("hs_survey_type", E, "Survey type", options=("NPS", "CSAT", "CES", "CUSTOM")),
            _p("hs_response_value", N, "Response value"),
            _p("hs_submission_timestamp", DT, "Submission timestamp"),
            _p("hs_survey_name", S, "Survey name"),
            _p("hs_content", S, "Response"),
            _p("hs_contact_id", S, "Contact ID"),
        ],
        ("createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_survey_name", "hs_content"),
        read_only=True,
    )
    tasks = _type(
        "tasks",
        "0-27",
        "Task",
        [
            _p("hs_task_subject", S, "Task Title"),
            _p("hs_task_body", S, "Task notes"),
            _p("hs_task_type", E, "Task Type", options=("CALL", "EMAIL", "TODO", "LINKED_IN")),
            _p(
                "hs_task_status",
                E,
                "Task Status",
                options=("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ),
            _p("hs_task_priority", E, "Priority", options=("NONE", "LOW", "MEDIUM", "HIGH")),
            _p("hs_timestamp", DT, "Due date"),
            owner,
        ],
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_task_subject",),
        created_property="hs_createdate",
    )
    meetings = _type(
        "meetings",
        "0-47",
        "Meeting",
        [
            _p("hs_meeting_title", S, "Meeting name"),
            _p(
                "hs_meeting_outcome",
                E,
                "Outcome",
                options=("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
            ),
            _p("hs_meeting_start_time", DT, "Start time"),
            _p("hs_meeting_end_time", DT, "End time"),
            _p("hs_timestamp", DT, "Activity date"),
            owner,
        ],
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_meeting_title",),
        created_property="hs_createdate",
    )
    return [contacts, companies, deals, feedback, tasks, meetings]


_STANDARD_ASSOCIATIONS: tuple[tuple[str, str, int, int, str | None], ...] = (
    # from, to, type id, inverse type id, label (None: the unlabeled default)
    ("0-1", "0-2", 279, 280, None),
    ("0-1", "0-2", 1, 2, "Primary"),
    ("0-3", "0-1", 3, 4, None),
    ("0-3", "0-2", 341, 342, None),
    ("0-3", "0-2", 5, 6, "Primary"),
    ("0-27", "0-1", 204, 203, None),
    ("0-27", "0-2", 192, 191, None),
    ("0-27", "0-3", 216, 215, None),
    ("0-47", "0-1", 200, 199, None),
    ("0-47", "0-2", 188, 187, None),
    ("0-47", "0-3", 212, 211, None),
    ("0-19", "0-1", 1053, 1054, None),
)


_OPTION_REQUIRED = ("label", "value", "hidden")
"""What HubSpot's ``OptionInput`` requires of each enumeration option (``displayOrder`` may go)."""


def _check_options(name: str, options: Any) -> None:
    """Refuse options that lack a field HubSpot requires, or of the wrong type."""
    if not isinstance(options, list):
        raise validation_error(f"Property {name}: options must be a list.")
    for index, option in enumerate(options):
        if not isinstance(option, dict):
            raise validation_error(f"Property {name}: options[{index}] must be an object.")
        missing = [k for k in _OPTION_REQUIRED if option.get(k) is None]
        if missing:
            raise validation_error(
                f"Property {name}: options[{index}] is missing {', '.join(missing)}."
            )
        if not isinstance(option["hidden"], bool):
            raise validation_error(f"Property {name}: options[{index}].hidden must be a boolean.")
        order = option.get("displayOrder")
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
            raise validation_error(
                f"Property {name}: options[{index}].displayOrder must be an integer."
            )


def _check_references(body: dict[str, Any], names: list[str]) -> None:
    """Refuse a schema whose lists name properties it does not define."""
    if len(set(names)) != len(names):
        raise validation_error("Property names must be unique in a schema.")
    for key in ("requiredProperties", "searchableProperties", "secondaryDisplayProperties"):
        for ref in body.get(key) or []:
            if ref not in names:
                raise validation_error(
                    f"Property {ref} in {key} is not defined in the schema's properties."
                )
    primary = body.get("primaryDisplayProperty")
    if primary is not None and primary not in names:
        raise validation_error(
            f"primaryDisplayProperty {primary} is not defined in the schema's properties."
        )


class Portal:
    """The object types, properties and association types of one HubSpot portal."""

    def __init__(self, store: Store, portal_id: int, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.portal_id = portal_id
        self.clock = clock
        self._lock = threading.RLock()
        self._types: dict[str, ObjectType] = {}
        self._aliases: dict[str, str] = {}
        self._associations: dict[tuple[str, str], list[AssociationType]] = {}
        self._label_names: dict[tuple[str, str], set[str]] = {}
        self._next_custom = 1_234_567
        self._next_association = 1_001
        for kind in standard_object_types():
            self._install(kind)
        for from_type, to_type, type_id, inverse, label in _STANDARD_ASSOCIATIONS:
            self._define_association(
                from_type, to_type, type_id, inverse, category="HUBSPOT_DEFINED", label=label
            )

    # -- object types ----------------------------------------------------------

    def _install(self, kind: ObjectType) -> None:
        self.store.create_table(kind.table_schema())
        self._types[kind.name] = kind
        for alias in (kind.name, kind.object_type_id, kind.fully_qualified_name, *kind.aliases):
            if alias:
                self._aliases[alias.lower()] = kind.name

    def types(self, *, custom: bool | None = None) -> list[ObjectType]:
        """The object types (only custom ones, only standard ones, or all)."""
        with self._lock:
            return [t for t in self._types.values() if custom is None or t.custom is custom]

    def find(self, name: str) -> ObjectType | None:
        """The object type called ``name``: its name, ``objectTypeId`` or fully qualified name."""
        key = self._aliases.get(name.lower())
        return self._types.get(key) if key else None

    def resolve(self, name: str) -> ObjectType:
        """Like :meth:`find`, but answers HubSpot's 400 for an unknown type.

        Raises:
            HubSpotError: when there is no such object type.
        """
        kind = self.find(name)
        if kind is None:
            raise validation_error(f"Unable to infer object type from: {name}")
        return kind

    def create_schema(self, body: dict[str, Any]) -> ObjectType:
        """Create a custom object type from a schemas API request body.

        Raises:
            HubSpotError: 400 for an invalid definition, 409 when the name is taken.
        """
        name = str(body.get("name") or "")
        if not _NAME.match(name) or name.startswith("hs_"):
            raise validation_error(
                f"Invalid object type name '{name}': use lowercase letters, digits and "
                "underscores, starting with a letter."
            )
        labels = body.get("labels") or {}
        if not isinstance(labels, dict) or not labels.get("singular") or not labels.get("plural"):
            raise validation_error("labels.singular and labels.plural are required.")
        raw_props = body.get("properties") or []
        if not isinstance(raw_props, list):
            raise validation_error("properties must be a list.")
        now = self.clock()
        with self._lock:
            if self.find(name) is not None or any(t.name == name for t in self._types.values()):
                raise HubSpotError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"Object type with name {name} already exists in portal {self.portal_id}.",
                )
            props = [self.parse_property(p, now) for p in raw_props]
            _check_references(body, [p.name for p in props])
            primary = body.get("primaryDisplayProperty")
            number = self._next_custom
            self._next_custom += 1
            type_id = f"2-{number}"
            group = f"{name}_information"
            system = [replace(p, created_at=now) for p in _system("hs_createdate", group)]
            kind = ObjectType(
                name=name,
                object_type_id=type_id,
                singular=str(labels["singular"]),
                plural=str(labels["plural"]),
                properties={p.name: p for p in [*system, *props]},
                default_properties=("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
                searchable=tuple(body.get("searchableProperties") or ()),
                created_property="hs_createdate",
                custom=True,
                scope="custom",
                aliases=(f"p_{name}", str(number)),
                fully_qualified_name=f"p{self.portal_id}_{name}",
                primary_display_property=primary,
                required_properties=tuple(body.get("requiredProperties") or ()),
                secondary_display_properties=tuple(body.get("secondaryDisplayProperties") or ()),
                description=str(body.get("description") or ""),
                created_at=now,
            )
            targets = [self.resolve(str(t)) for t in body.get("associatedObjects") or []]
            self._install(kind)
            for target in targets:
                self._define_association(
                    kind.object_type_id,
                    target.object_type_id,
                    self._allocate_association(),
                    self._allocate_association(),
                    category="USER_DEFINED",
                    label=None,
                )
            return kind

    def update_schema(self, kind: ObjectType, body: Any) -> ObjectType:
        """``PATCH`` a custom object type: labels, display and searchable properties.

        Raises:
            HubSpotError: 400 when the change names properties the type lacks.
        """
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object.")
        if not kind.custom:
            raise validation_error(f"{kind.name} is not a custom object type.")
        allowed = {
            "labels",
            "primaryDisplayProperty",
            "secondaryDisplayProperties",
            "searchableProperties",
            "requiredProperties",
            "description",
            "restorable",
        }
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise validation_error(f"Unrecognized fields: {', '.join(unknown)}.")
        with self._lock:
            names = list(kind.properties)
            _check_references(
                {k: v for k, v in body.items() if k != "labels"} | {"properties": names}, names
            )
            labels = body.get("labels") or {}
            if not isinstance(labels, dict):
                raise validation_error("labels must be an object.")
            kind.singular = str(labels.get("singular") or kind.singular)
            kind.plural = str(labels.get("plural") or kind.plural)
            if "primaryDisplayProperty" in body:
                kind.primary_display_property = body["primaryDisplayProperty"]
            if "secondaryDisplayProperties" in body:
                kind.secondary_display_properties = tuple(body["secondaryDisplayProperties"] or ())
            if "searchableProperties" in body:
                kind.searchable = tuple(body["searchableProperties"] or ())
            if "requiredProperties" in body:
                kind.required_properties = tuple(body["requiredProperties"] or ())
            if "description" in body:
                kind.description = str(body["description"] or "")
            return kind

    def parse_property(self, raw: Any, now: datetime) -> PropertyDef:
        """A property definition from a request body (schemas or properties API).

        Raises:
            HubSpotError: 400 when the definition is invalid.
        """
        if not isinstance(raw, dict):
            raise validation_error("A property definition must be an object.")
        name = str(raw.get("name") or "")
        if not _NAME.match(name):
            raise validation_error(f"Invalid property name '{name}'.")
        try:
            kind = PropertyType(str(raw.get("type")))
        except ValueError:
            raise validation_error(
                f"Invalid type '{raw.get('type')}' for property {name}; expected one of "
                + ", ".join(t.value for t in PropertyType)
            ) from None
        options = raw.get("options") or []
        if kind is PropertyType.ENUMERATION and not options:
            raise validation_error(f"Enumeration property {name} needs options.")
        _check_options(name, options)
        unique = bool(raw.get("hasUniqueValue", False))
        if unique and kind not in {PropertyType.STRING, PropertyType.NUMBER}:
            raise validation_error(
                f"Property {name}: only string and number properties can have unique values."
            )
        return PropertyDef(
            name,
            kind,
            label=str(raw.get("label") or name),
            field_type=str(raw.get("fieldType") or _FIELD_TYPES[kind]),
            group_name=str(raw.get("groupName") or ""),
            options=tuple(
                Option(str(o.get("value")), str(o.get("label") or o.get("value")))
                for o in options
                if isinstance(o, dict)
            ),
            unique=unique,
            hubspot_defined=False,
            description=str(raw.get("description") or ""),
            created_at=now,
        )

    def add_property(self, kind: ObjectType, raw: Any) -> PropertyDef:
        """Add a property to an object type (properties API).

        Raises:
            HubSpotError: 400 when invalid, 409 when the name is taken.
        """
        with self._lock:
            prop = self.parse_property(raw, self.clock())
            if prop.name in kind.properties:
                raise HubSpotError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"A property named '{prop.name}' already exists.",
                )
            if not prop.group_name:
                raise validation_error(f"groupName is required for property {prop.name}.")
            self.store.add_columns(kind.table, [prop.column()])
            kind.properties[prop.name] = prop
            return prop

    def schema_json(self, kind: ObjectType) -> dict[str, Any]:
        """A custom object type as the schemas API returns it (``ObjectSchema``)."""
        stamp = iso_millis(kind.created_at) if kind.created_at else None
        return {
            "id": kind.object_type_id.split("-", 1)[1],
            "objectTypeId": kind.object_type_id,
            "fullyQualifiedName": kind.fully_qualified_name,
            "name": kind.name,
            "labels": {"singular": kind.singular, "plural": kind.plural},
            "description": kind.description,
            "primaryDisplayProperty": kind.primary_display_property,
            "requiredProperties": list(kind.required_properties),
            "searchableProperties": list(kind.searchable),
            "secondaryDisplayProperties": list(kind.secondary_display_properties),
            "properties": [p.to_json() for p in kind.properties.values()],
            "associations": [
                {
                    "id": str(a.type_id),
                    "fromObjectTypeId": a.from_type,
                    "toObjectTypeId": a.to_type,
                    "name": f"{kind.name}_to_{self._name_of(a.to_type)}",
                    "createdAt": stamp,
                    "updatedAt": stamp,
                }
                for a in self.association_types_from(kind.object_type_id)
            ],
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
        }

    def _name_of(self, type_id: str) -> str:
        kind = self.find(type_id)
        return kind.name if kind else type_id

    # -- association types -----------------------------------------------------

    def _allocate_association(self) -> int:
        number = self._next_association
        self._next_association += 1
        return number

    def _define_association(
        self,
        from_type: str,
        to_type: str,
        type_id: int,
        inverse: int,
        *,
        category: str,
        label: str | None,
        inverse_label: str | None = None,
    ) -> None:
        forward = AssociationType(
            from_type, to_type, type_id, category, label, inverse, default=label is None
        )
        backward = AssociationType(
            to_type,
            from_type,
            inverse,
            category,
            inverse_label or label,
            type_id,
            default=label is None,
        )
        self._associations.setdefault((from_type, to_type), []).append(forward)
        if from_type != to_type or type_id != inverse:
            self._associations.setdefault((to_type, from_type), []).append(backward)

    def create_label(self, from_type: str, to_type: str, body: Any) -> list[AssociationType]:
        """A labelled association type between two object types (paired with ``inverseLabel``).

        Between an object type and itself, a paired label gives two types: the
        label one way, the inverse label the other way.

        Raises:
            HubSpotError: 400 when ``name`` or ``label`` is missing or the name is taken.
        """
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object.")
        missing = [k for k in ("name", "label") if not body.get(k)]
        if missing:
            raise validation_error(f"Missing required fields: {', '.join(missing)}.")
        name, label = str(body["name"]), str(body["label"])
        inverse = body.get("inverseLabel")
        with self._lock:
            taken = self._label_names.setdefault((from_type, to_type), set())
            if name in taken:
                raise validation_error(f"An association label named {name} already exists.")
            taken.add(name)
            forward, backward = self._allocate_association(), self._allocate_association()
            self._define_association(
                from_type,
                to_type,
                forward,
                backward,
                category="USER_DEFINED",
                label=label,
                inverse_label=str(inverse) if inverse else label,
            )
            found = self.association_types(from_type, to_type)
            if from_type != to_type:
                found += self.association_types(to_type, from_type)
            return [a for a in found if a.type_id in {forward, backward}]

    def association_types(self, from_type: str, to_type: str) -> list[AssociationType]:
        """The association types from one ``objectTypeId`` to another."""
        with self._lock:
            return list(self._associations.get((from_type, to_type), ()))

    def association_types_from(self, from_type: str) -> list[AssociationType]:
        """Every association type whose source is ``from_type``."""
        with self._lock:
            return [
                a
                for (src, _), items in self._associations.items()
                if src == from_type
                for a in items
            ]

    def association_type(
        self, from_type: str, to_type: str, type_id: int
    ) -> AssociationType | None:
        """The association type ``type_id`` between the two object types, if defined."""
        for item in self.association_types(from_type, to_type):
            if item.type_id == type_id:
                return item
        return None

    def default_association(self, from_type: str, to_type: str) -> AssociationType | None:
        """The unlabeled association type between two object types, if any."""
        for item in self.association_types(from_type, to_type):
            if item.default:
                return item
        return None
