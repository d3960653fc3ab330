"""okrsync's Salesforce DX project, generated from the one definition of its objects.

:func:`project` returns every file of a source-format project (``sfdx-project.json``
and ``force-app/main/default/…``): the four custom objects and their fields
(from :mod:`okrsync.crm_objects` named as :mod:`okrsync_salesforce._okr` names
them), and what the Tooling API cannot create — the Lightning app *OKRs* with
a tab per object, list views, compact and page layouts, a report type *Key
results with check-ins* with three reports, the dashboard *OKR overview*, and
two permission sets: *OKR Viewer* (read everything, for every rep) and
``okrsync`` (the integration user's, the same grants ``okrsync provision``
makes). The package ships the generated project in :data:`PROJECT_DIR`, so an
installed connector can name a path that exists; a test fails when the
committed files drift from :func:`project`.

Every UI component names logical fields, turned into API names here, so a
field renamed in ``crm_objects.py`` cannot leave a layout pointing nowhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from okrsync.crm_objects import CHECK_IN, CONTRIBUTION, KEY_RESULT, OBJECTIVE, OKR_OBJECTS
from okrsync_salesforce._okr import (
    LONG_TEXT_LENGTH,
    NUMBER_PRECISION,
    NUMBER_SCALE,
    PERCENT_PRECISION,
    PERCENT_SCALE,
    TEXT_LENGTH,
    child_relationship,
    field_name,
    object_name,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from okrsync.connector import LogicalField, LogicalObject

__all__ = [
    "API_VERSION",
    "APP",
    "DEPLOY_COMMAND",
    "INTEGRATION_PERMISSION_SET",
    "PROJECT_DIR",
    "SOURCE_DIR",
    "VIEWER_PERMISSION_SET",
    "deploy_command",
    "project",
    "write_project",
]

API_VERSION = "63.0"
"""The Metadata API version of the project (``sourceApiVersion``)."""
NAMESPACE = "http://soap.sforce.com/2006/04/metadata"
PROJECT_DIR = Path(__file__).resolve().parent / "sfdx"
"""The generated project, shipped inside the package."""
SOURCE_DIR = "force-app"
APP = "OKRs"
VIEWER_PERMISSION_SET = "OKR_Viewer"
INTEGRATION_PERMISSION_SET = "okrsync"
"""Named as the permission set ``okrsync provision`` creates, so a deploy completes it."""
REPORT_TYPE = "Key_Results_with_Check_ins"
REPORT_FOLDER = "OKR_Reports"
DASHBOARD_FOLDER = "OKR_Dashboards"
DEPLOY_COMMAND = "sf project deploy start --source-dir {path}"

_DEFAULT = f"{SOURCE_DIR}/main/default"
_MOTIFS = {
    "objective": "Custom57: Building Block",
    "key_result": "Custom18: Form",
    "check_in": "Custom13: Box",
    "contribution": "Custom15: Star",
}
_WRITTEN = "Written by okrsync; edits here are overwritten at the next sync."
_REP_OWNED = "Edited by reps in Salesforce; okrsync reads it and never writes it."

Tree = list[tuple[str, Any]]
"""An element's children in schema order: ``(tag, text | bool | int | Tree)``."""


def deploy_command(path: Path | None = None) -> str:
    """The command an admin runs to deploy the project (the installed path by default)."""
    return DEPLOY_COMMAND.format(path=path or PROJECT_DIR / SOURCE_DIR)


# -- XML -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _lines(children: Tree, depth: int) -> list[str]:
    pad = "    " * depth
    out: list[str] = []
    for tag, value in children:
        if isinstance(value, list):
            if value:
                out.append(f"{pad}<{tag}>")
                out.extend(_lines(value, depth + 1))
                out.append(f"{pad}</{tag}>")
            else:
                out.append(f"{pad}<{tag} />")
        else:
            out.append(f"{pad}<{tag}>{_text(value)}</{tag}>")
    return out


def _xml(root: str, children: Tree) -> str:
    body = "\n".join(_lines(children, 1))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NAMESPACE}">\n{body}\n</{root}>\n'
    )


# -- names ---------------------------------------------------------------------------


def _field(obj: LogicalObject, name: str) -> LogicalField:
    for item in obj.fields:
        if item.name == name:
            return item
    raise KeyError(f"{obj.name} has no field {name!r}")  # a typo in this module


def api(obj: LogicalObject, name: str) -> str:
    """The API name of a logical field, ``name`` (the record name) or ``owner`` included."""
    if name == "name":
        return "Name"
    return field_name(_field(obj, name))


def _column(obj: LogicalObject, name: str) -> str:
    """A list-view or related-list column: ``NAME`` for the record name."""
    return "NAME" if name == "name" else api(obj, name)


# -- objects and fields --------------------------------------------------------------


def _object(obj: LogicalObject) -> str:
    return _xml(
        "CustomObject",
        [
            ("compactLayoutAssignment", _compact_name(obj)),
            ("deploymentStatus", "Deployed"),
            ("description", f"{obj.plural}, written by okrsync; do not edit okrsync's fields."),
            ("enableActivities", False),
            ("enableBulkApi", True),
            ("enableFeeds", False),
            ("enableHistory", False),
            ("enableReports", True),
            ("enableSearch", True),
            ("enableSharing", True),
            ("enableStreamingApi", True),
            ("label", obj.label),
            ("nameField", [("label", f"{obj.label} Name"), ("type", "Text")]),
            ("pluralLabel", obj.plural),
            ("searchLayouts", []),
            ("sharingModel", "ReadWrite"),
            ("visibility", "Public"),
        ],
    )


def _field_tree(obj: LogicalObject, item: LogicalField) -> Tree:
    name = field_name(item)
    label = item.label[:40]
    head: Tree = [("fullName", name)]
    about = _REP_OWNED if item.rep_owned else _WRITTEN
    if item.type == "key":
        return [
            *head,
            ("caseSensitive", False),
            ("description", "okrsync's key of the record; upserts match on it."),
            ("externalId", True),
            ("label", "OKR key"),
            ("length", TEXT_LENGTH),
            ("required", False),
            ("type", "Text"),
            ("unique", True),
        ]
    common: Tree = [("description", about), ("externalId", False), ("label", label)]
    if item.type == "lookup":
        children, children_label = child_relationship(obj, item)
        return [
            *head,
            ("deleteConstraint", "SetNull"),
            *common,
            ("referenceTo", object_name(str(item.lookup))),
            ("relationshipLabel", children_label),
            ("relationshipName", children),
            ("required", False),
            ("type", "Lookup"),
        ]
    if item.type == "picklist":
        values: Tree = [
            ("value", [("fullName", v), ("default", False), ("label", v)]) for v in item.picklist
        ]
        return [
            *head,
            *common,
            ("required", False),
            ("type", "Picklist"),
            (
                "valueSet",
                [
                    ("restricted", True),
                    ("valueSetDefinition", [("sorted", False), *values]),
                ],
            ),
        ]
    if item.type == "text":
        return [*head, *common, ("length", TEXT_LENGTH), ("required", False), ("type", "Text")]
    if item.type == "long_text":
        return [
            *head,
            *common,
            ("length", LONG_TEXT_LENGTH),
            ("type", "LongTextArea"),
            ("visibleLines", 3),
        ]
    if item.type in {"number", "percent"}:
        precision, scale = (
            (NUMBER_PRECISION, NUMBER_SCALE)
            if item.type == "number"
            else (PERCENT_PRECISION, PERCENT_SCALE)
        )
        return [
            *head,
            *common,
            ("precision", precision),
            ("required", False),
            ("scale", scale),
            ("type", "Number" if item.type == "number" else "Percent"),
        ]
    kind = {"date": "Date", "datetime": "DateTime"}[item.type]
    return [*head, *common, ("required", False), ("type", kind)]


def _custom_fields(obj: LogicalObject) -> list[LogicalField]:
    return [f for f in obj.fields if f.type != "owner"]


# -- list views, compact layouts, layouts ---------------------------------------------


@dataclass(frozen=True, slots=True)
class _ListView:
    obj: LogicalObject
    name: str
    label: str
    scope: str
    columns: tuple[str, ...]
    filters: tuple[tuple[str, str, str], ...] = ()
    """(logical field, operation, value)."""


_KR_COLUMNS = ("name", "objective", "score", "status", "progress", "forecast_score", "owner_name")
_CONTRIBUTION_COLUMNS = (
    "name",
    "key_result",
    "current_value",
    "share",
    "rank",
    "target_value",
    "progress",
)
_OBJECTIVE_COLUMNS = ("name", "cycle", "score", "forecast_score", "status", "owner_name")
LIST_VIEWS = (
    _ListView(KEY_RESULT, "My_Key_Results", "My key results", "Mine", _KR_COLUMNS),
    _ListView(KEY_RESULT, "My_Teams_Key_Results", "My team's key results", "Team", _KR_COLUMNS),
    _ListView(
        KEY_RESULT,
        "At_Risk_or_Off_Track",
        "At risk or off track",
        "Everything",
        _KR_COLUMNS,
        (("status", "equals", "at_risk,off_track"),),
    ),
    _ListView(
        OBJECTIVE,
        "This_Cycle",
        "This cycle",
        "Everything",
        _OBJECTIVE_COLUMNS,
        (("cycle_start", "lessOrEqual", "TODAY"), ("cycle_end", "greaterOrEqual", "TODAY")),
    ),
    _ListView(OBJECTIVE, "All_Objectives", "All objectives", "Everything", _OBJECTIVE_COLUMNS),
    _ListView(
        CHECK_IN,
        "All_Check_ins",
        "All check-ins",
        "Everything",
        ("name", "key_result", "check_in_date", "score", "status", "confidence"),
    ),
    _ListView(CONTRIBUTION, "My_Contributions", "My contributions", "Mine", _CONTRIBUTION_COLUMNS),
    _ListView(
        CONTRIBUTION, "All_Contributions", "All contributions", "Everything", _CONTRIBUTION_COLUMNS
    ),
)


def _list_view(view: _ListView) -> str:
    tree: Tree = [("fullName", view.name)]
    tree += [("columns", _column(view.obj, c)) for c in view.columns]
    tree.append(("filterScope", view.scope))
    tree += [
        ("filters", [("field", api(view.obj, f)), ("operation", op), ("value", value)])
        for f, op, value in view.filters
    ]
    tree.append(("label", view.label))
    return _xml("ListView", tree)


COMPACT: dict[str, tuple[str, ...]] = {
    "objective": ("name", "score", "status", "forecast_score", "owner"),
    "key_result": ("name", "score", "status", "progress", "forecast_score", "owner"),
    "check_in": ("name", "check_in_date", "score", "status", "progress", "forecast_score"),
    "contribution": ("name", "current_value", "share", "rank", "progress", "owner"),
}


def _compact_name(obj: LogicalObject) -> str:
    return f"{object_name(obj.name).removesuffix('__c')}_Compact"


def _compact(obj: LogicalObject) -> str:
    name = _compact_name(obj)
    fields = [("fields", api(obj, f)) for f in COMPACT[obj.name]]
    return _xml("CompactLayout", [("fullName", name), *fields, ("label", f"{obj.label} compact")])


@dataclass(frozen=True, slots=True)
class _Section:
    label: str
    columns: tuple[tuple[str, ...], ...]


SECTIONS: dict[str, tuple[_Section, ...]] = {
    "objective": (
        _Section(
            "Objective",
            (("name", "title", "description"), ("parent_objective", "aligns_to", "cycle")),
        ),
        _Section("Score", (("score", "forecast_score", "status"), ("cycle_start", "cycle_end"))),
        _Section("Ownership", (("owner",), ("owner_name",))),
        _Section("Sync", (("key",), ("last_synced_at",))),
    ),
    "key_result": (
        _Section(
            "Key result",
            (
                ("name", "title", "objective", "parent_key_result"),
                ("kind", "source", "metric", "unit", "weight"),
            ),
        ),
        _Section(
            "Progress",
            (
                ("start_value", "current_value", "target_value", "progress"),
                ("score", "expected", "forecast_score", "status"),
            ),
        ),
        _Section("Your check-in", (("confidence",), ("comment",))),
        _Section("Ownership", (("owner",), ("owner_name",))),
        _Section("Sync", (("key", "sync_error"), ("last_synced_at",))),
    ),
    "check_in": (
        _Section(
            "Check-in",
            (("name", "key_result", "check_in_date"), ("current_value", "progress", "score")),
        ),
        _Section("Outlook", (("forecast_score", "status"), ("confidence", "comment"))),
        _Section("Sync", (("key",), ())),
    ),
    "contribution": (
        _Section(
            "Contribution",
            (("name", "title", "key_result"), ("owner", "owner_email")),
        ),
        _Section(
            "Value",
            (("current_value", "unit", "share", "rank"), ("target_value", "progress")),
        ),
        _Section("Sync", (("key",), ("last_synced_at",))),
    ),
}

RELATED: dict[str, tuple[tuple[LogicalObject, str, tuple[str, ...]], ...]] = {
    "objective": (
        (KEY_RESULT, "objective", ("name", "score", "status", "progress", "forecast_score")),
        (OBJECTIVE, "parent_objective", ("name", "cycle", "score", "status", "owner_name")),
    ),
    "key_result": (
        (CHECK_IN, "key_result", ("name", "check_in_date", "score", "status", "confidence")),
        (CONTRIBUTION, "key_result", ("name", "current_value", "share", "rank", "progress")),
        (KEY_RESULT, "parent_key_result", ("name", "score", "status", "progress", "owner_name")),
    ),
    "check_in": (),
    "contribution": (),
}


def _behavior(obj: LogicalObject, name: str) -> str:
    if name == "name":
        return "Required"
    if name == "owner":
        return "Edit"
    return "Edit" if _field(obj, name).rep_owned else "Readonly"


def _layout(obj: LogicalObject) -> str:
    tree: Tree = []
    for section in SECTIONS[obj.name]:
        columns: Tree = [
            (
                "layoutColumns",
                [
                    ("layoutItems", [("behavior", _behavior(obj, n)), ("field", api(obj, n))])
                    for n in column
                ],
            )
            for column in section.columns
        ]
        style = "OneColumn" if len(section.columns) == 1 else "TwoColumnsTopToBottom"
        tree.append(
            (
                "layoutSections",
                [
                    ("customLabel", True),
                    ("detailHeading", True),
                    ("editHeading", True),
                    ("label", section.label),
                    *columns,
                    ("style", style),
                ],
            )
        )
    for child, lookup, fields in RELATED[obj.name]:
        tree.append(
            (
                "relatedLists",
                [
                    *[("fields", _column(child, f)) for f in fields],
                    ("relatedList", f"{object_name(child.name)}.{api(child, lookup)}"),
                ],
            )
        )
    tree += [
        ("showEmailCheckbox", False),
        ("showHighlightsPanel", False),
        ("showInteractionLogPanel", False),
        ("showRunAssignmentRulesCheckbox", False),
        ("showSubmitAndAttachButton", False),
    ]
    return _xml("Layout", tree)


def _layout_path(obj: LogicalObject) -> str:
    return f"{_DEFAULT}/layouts/{object_name(obj.name)}-{obj.label} Layout.layout-meta.xml"


# -- app and tabs ----------------------------------------------------------------------


def _tab(obj: LogicalObject) -> str:
    return _xml(
        "CustomTab",
        [
            ("customObject", True),
            ("description", f"{obj.plural}: okrsync's OKRs as reps see them."),
            ("motif", _MOTIFS[obj.name]),
        ],
    )


def _app() -> str:
    tabs = [object_name(o.name) for o in OKR_OBJECTS]
    return _xml(
        "CustomApplication",
        [
            ("brand", [("headerColor", "#1B5E20"), ("shouldOverrideOrgTheme", False)]),
            ("description", "The team's objectives and key results, kept current by okrsync."),
            ("formFactors", "Small"),
            ("formFactors", "Large"),
            ("isNavAutoTempTabsDisabled", False),
            ("isNavPersonalizationDisabled", False),
            ("label", APP),
            ("navType", "Standard"),
            *[("tabs", t) for t in (*tabs, "standard-report", "standard-Dashboard")],
            ("uiType", "Lightning"),
        ],
    )


# -- report type, reports, dashboard ----------------------------------------------------

_CHECK_INS, _ = child_relationship(CHECK_IN, _field(CHECK_IN, "key_result"))
KR_TABLE = object_name(KEY_RESULT.name)
CHECK_IN_TABLE = f"{KR_TABLE}.{_CHECK_INS}__r"
_VIA_OBJECTIVE = ("title", "cycle", "score", "status", "owner_name")


def _report_type() -> str:
    kr_columns: Tree = [
        (
            "columns",
            [
                ("checkedByDefault", n in {"name", "score", "status"}),
                ("field", api(KEY_RESULT, n)),
                ("table", KR_TABLE),
            ],
        )
        for n in ("name", *(f.name for f in _custom_fields(KEY_RESULT)))
    ]
    kr_columns += [
        (
            "columns",
            [
                ("checkedByDefault", False),
                ("field", f"{api(KEY_RESULT, 'objective')}.{api(OBJECTIVE, n)}"),
                ("table", KR_TABLE),
            ],
        )
        for n in _VIA_OBJECTIVE
    ]
    check_in_columns: Tree = [
        (
            "columns",
            [
                ("checkedByDefault", n in {"check_in_date", "score"}),
                ("field", api(CHECK_IN, n)),
                ("table", CHECK_IN_TABLE),
            ],
        )
        for n in ("name", *(f.name for f in _custom_fields(CHECK_IN) if f.name != "key_result"))
    ]
    return _xml(
        "ReportType",
        [
            ("baseObject", KR_TABLE),
            ("category", "other"),
            ("deployed", True),
            ("description", "Each key result with its weekly check-ins (or none yet)."),
            ("join", [("outerJoin", True), ("relationship", f"{_CHECK_INS}__r")]),
            ("label", "Key results with check-ins"),
            ("sections", [*kr_columns, ("masterLabel", "Key results")]),
            ("sections", [*check_in_columns, ("masterLabel", "Check-ins")]),
        ],
    )


def report_field(table: str, obj: LogicalObject, name: str, via: str | None = None) -> str:
    """A report column of the report type: ``table$Field`` (``via``: through a lookup)."""
    field = api(obj, name)
    return f"{table}${api(KEY_RESULT, via)}.{field}" if via else f"{table}${field}"


@dataclass(frozen=True, slots=True)
class _Report:
    name: str
    label: str
    description: str
    format: str
    columns: tuple[tuple[str, str], ...]
    """(field, aggregate or ``""``)."""
    groupings: tuple[tuple[str, str], ...] = ()
    """(field, date granularity or ``""``)."""
    chart: tuple[str, str] | None = None
    """(chart type, summary column) of the report's chart."""


_KR_NAME = report_field(KR_TABLE, KEY_RESULT, "name")
_CHECK_IN_DATE = report_field(CHECK_IN_TABLE, CHECK_IN, "check_in_date")
_CHECK_IN_PROGRESS = report_field(CHECK_IN_TABLE, CHECK_IN, "progress")
_KR_STATUS = report_field(KR_TABLE, KEY_RESULT, "status")
_TEAM = report_field(KR_TABLE, OBJECTIVE, "owner_name", via="objective")
_OBJECTIVE_TITLE = report_field(KR_TABLE, OBJECTIVE, "title", via="objective")
_OBJECTIVE_SCORE = report_field(KR_TABLE, OBJECTIVE, "score", via="objective")

REPORTS = (
    _Report(
        "KR_Burn_up_by_Week",
        "KR burn-up by week",
        "Progress of each key result at its weekly check-ins.",
        "Matrix",
        ((_CHECK_IN_PROGRESS, "Average"),),
        ((_KR_NAME, ""), (_CHECK_IN_DATE, "Week")),
        ("LineGrouped", _CHECK_IN_PROGRESS),
    ),
    _Report(
        "Key_Results_by_Status",
        "Key results by status",
        "How many key results are done, on track, at risk or off track.",
        "Summary",
        ((_KR_NAME, ""), (report_field(KR_TABLE, KEY_RESULT, "score"), "Average")),
        ((_KR_STATUS, ""),),
        ("Donut", "RowCount"),
    ),
    _Report(
        "Objective_Scores_by_Team",
        "Objective scores by team",
        "Each team's objectives and their score (the same on every key result row).",
        "Summary",
        ((_KR_NAME, ""), (_OBJECTIVE_SCORE, "Maximum")),
        ((_TEAM, ""), (_OBJECTIVE_TITLE, "")),
        ("HorizontalBarGrouped", _OBJECTIVE_SCORE),
    ),
)

_AGGREGATES = {"Average": "Average", "Maximum": "Maximum", "Sum": "Sum"}
_DASHBOARD_CHARTS = {"HorizontalBarGrouped": "BarGrouped"}
"""A report's chart type under its dashboard name, where the two differ."""


def _report(report: _Report) -> str:
    tree: Tree = []
    if report.chart is not None:
        kind, column = report.chart
        summary_aggregate = next((a for c, a in report.columns if c == column), "")
        tree.append(
            (
                "chart",
                [
                    ("backgroundColor1", "#FFFFFF"),
                    ("backgroundColor2", "#FFFFFF"),
                    ("backgroundFadeDir", "Diagonal"),
                    (
                        "chartSummaries",
                        [
                            *([("aggregate", summary_aggregate)] if summary_aggregate else []),
                            ("axisBinding", "y"),
                            ("column", column),
                        ],
                    ),
                    ("chartType", kind),
                    ("enableHoverLabels", True),
                    ("expandOthers", True),
                    ("groupingColumn", report.groupings[-1][0]),
                    ("legendPosition", "Right"),
                    ("location", "CHART_BOTTOM"),
                    ("showAxisLabels", True),
                    ("showPercentage", False),
                    ("showTotal", False),
                    ("showValues", False),
                    ("size", "Medium"),
                    ("summaryAxisRange", "Auto"),
                    ("textColor", "#000000"),
                    ("textSize", 12),
                    ("titleColor", "#000000"),
                    ("titleSize", 18),
                ],
            )
        )
    grouped = {g for g, _ in report.groupings}
    for column, aggregate in report.columns:
        if column in grouped:
            continue
        item: Tree = [("aggregateTypes", _AGGREGATES[aggregate])] if aggregate else []
        tree.append(("columns", [*item, ("field", column)]))
    tree += [("description", report.description), ("format", report.format)]
    down = report.groupings if report.format == "Summary" else report.groupings[:1]
    across = report.groupings[1:] if report.format == "Matrix" else ()
    for tag, groups in (("groupingsAcross", across), ("groupingsDown", down)):
        for field, granularity in groups:
            tree.append(
                (
                    tag,
                    [
                        ("dateGranularity", granularity or "Day"),
                        ("field", field),
                        ("sortOrder", "Asc"),
                    ],
                )
            )
    tree += [
        ("name", report.label),
        ("params", [("name", "co"), ("value", "1")]),
        ("reportType", f"{REPORT_TYPE}__c"),
        ("scope", "organization"),
        ("showDetails", report.format != "Matrix"),
        ("showGrandTotal", True),
        ("showSubTotals", True),
        (
            "timeFrameFilter",
            [("dateColumn", _CHECK_IN_DATE), ("interval", "INTERVAL_CUSTOM")],
        ),
    ]
    return _xml("Report", tree)


def _folder(kind: str, label: str) -> str:
    return _xml(
        kind, [("accessType", "Public"), ("name", label), ("publicFolderAccess", "ReadOnly")]
    )


def _dashboard() -> str:
    def component(report: _Report, header: str) -> Tree:
        kind, column = report.chart or ("Donut", "RowCount")
        aggregate = next((a for c, a in report.columns if c == column), "")
        return [
            ("autoselectColumnsFromReport", True),
            (
                "chartSummary",
                [
                    *([("aggregate", aggregate)] if aggregate else []),
                    ("axisBinding", "y"),
                    ("column", column),
                ],
            ),
            ("componentType", _DASHBOARD_CHARTS.get(kind, kind)),
            ("displayUnits", "Auto"),
            ("enableHover", True),
            ("header", header),
            ("legendPosition", "Bottom"),
            ("report", f"{REPORT_FOLDER}/{report.name}"),
            ("showPercentage", False),
            ("showValues", False),
            ("sortBy", "RowLabelAscending"),
            ("useReportChart", True),
        ]

    burn_up, by_status, by_team = REPORTS
    return _xml(
        "Dashboard",
        [
            ("backgroundEndColor", "#FFFFFF"),
            ("backgroundFadeDirection", "Diagonal"),
            ("backgroundStartColor", "#FFFFFF"),
            ("dashboardType", "LoggedInUser"),
            ("description", "Where the OKRs stand: status, burn-up, objective scores by team."),
            ("isGridLayout", False),
            (
                "leftSection",
                [
                    ("columnSize", "Medium"),
                    ("components", component(by_status, "Key results by status")),
                ],
            ),
            (
                "middleSection",
                [("columnSize", "Medium"), ("components", component(burn_up, "Burn-up by week"))],
            ),
            (
                "rightSection",
                [
                    ("columnSize", "Medium"),
                    ("components", component(by_team, "Objective scores by team")),
                ],
            ),
            ("textColor", "#000000"),
            ("title", "OKR overview"),
            ("titleColor", "#000000"),
            ("titleSize", 12),
        ],
    )


# -- permission sets -------------------------------------------------------------------


def _permission_set(label: str, description: str, *, edit: bool) -> str:
    tree: Tree = [("applicationVisibilities", [("application", APP), ("visible", True)])]
    tree.append(("description", description))
    for obj in OKR_OBJECTS:
        sobject = object_name(obj.name)
        for item in sorted(_custom_fields(obj), key=field_name):
            tree.append(
                (
                    "fieldPermissions",
                    [
                        ("editable", edit and not item.rep_owned),
                        ("field", f"{sobject}.{field_name(item)}"),
                        ("readable", True),
                    ],
                )
            )
    tree += [("hasActivationRequired", False), ("label", label)]
    for obj in OKR_OBJECTS:
        tree.append(
            (
                "objectPermissions",
                [
                    ("allowCreate", edit),
                    ("allowDelete", False),
                    ("allowEdit", edit),
                    ("allowRead", True),
                    ("modifyAllRecords", False),
                    ("object", object_name(obj.name)),
                    ("viewAllRecords", True),
                ],
            )
        )
    tree += [
        ("tabSettings", [("tab", object_name(o.name)), ("visibility", "Visible")])
        for o in OKR_OBJECTS
    ]
    return _xml("PermissionSet", tree)


# -- the project -----------------------------------------------------------------------


def _sfdx_project() -> str:
    data = {
        "packageDirectories": [{"path": SOURCE_DIR, "default": True}],
        "name": "okrsync",
        "namespace": "",
        "sourceApiVersion": API_VERSION,
    }
    return json.dumps(data, indent=2) + "\n"


def project() -> dict[str, str]:
    """Every file of the project: path (relative, ``/``-separated) → content."""
    files: dict[str, str] = {"sfdx-project.json": _sfdx_project()}
    for obj in OKR_OBJECTS:
        sobject = object_name(obj.name)
        base = f"{_DEFAULT}/objects/{sobject}"
        files[f"{base}/{sobject}.object-meta.xml"] = _object(obj)
        for item in _custom_fields(obj):
            name = field_name(item)
            files[f"{base}/fields/{name}.field-meta.xml"] = _xml(
                "CustomField", _field_tree(obj, item)
            )
        files[f"{base}/compactLayouts/{_compact_name(obj)}.compactLayout-meta.xml"] = _compact(obj)
        files[_layout_path(obj)] = _layout(obj)
        files[f"{_DEFAULT}/tabs/{sobject}.tab-meta.xml"] = _tab(obj)
    for view in LIST_VIEWS:
        sobject = object_name(view.obj.name)
        path = f"{_DEFAULT}/objects/{sobject}/listViews/{view.name}.listView-meta.xml"
        files[path] = _list_view(view)
    files[f"{_DEFAULT}/applications/{APP}.app-meta.xml"] = _app()
    files[f"{_DEFAULT}/reportTypes/{REPORT_TYPE}.reportType-meta.xml"] = _report_type()
    reports = f"{_DEFAULT}/reports"
    files[f"{reports}/{REPORT_FOLDER}.reportFolder-meta.xml"] = _folder(
        "ReportFolder", "OKR reports"
    )
    for report in REPORTS:
        files[f"{reports}/{REPORT_FOLDER}/{report.name}.report-meta.xml"] = _report(report)
    dashboards = f"{_DEFAULT}/dashboards"
    files[f"{dashboards}/{DASHBOARD_FOLDER}.dashboardFolder-meta.xml"] = _folder(
        "DashboardFolder", "OKR dashboards"
    )
    files[f"{dashboards}/{DASHBOARD_FOLDER}/OKR_Overview.dashboard-meta.xml"] = _dashboard()
    permissions = f"{_DEFAULT}/permissionsets"
    files[f"{permissions}/{VIEWER_PERMISSION_SET}.permissionset-meta.xml"] = _permission_set(
        "OKR Viewer",
        "Read every OKR: assign to every rep (OKRs are transparent: everyone sees all).",
        edit=False,
    )
    files[f"{permissions}/{INTEGRATION_PERMISSION_SET}.permissionset-meta.xml"] = _permission_set(
        "okrsync",
        "What the okrsync integration user may do (okrsync provision grants the same).",
        edit=True,
    )
    return dict(sorted(files.items()))


def write_project(out: Path, files: Iterable[tuple[str, str]] | None = None) -> list[Path]:
    """Write the project under ``out``; return the files written.

    Files of an earlier generation that the project no longer has are removed
    (only under ``force-app``), so ``out`` ends holding exactly the project.
    """
    wanted = dict(files if files is not None else project().items())
    written: list[Path] = []
    for relative, content in wanted.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="\n")
        written.append(path)
    source = out / SOURCE_DIR
    if source.is_dir():
        for path in sorted(source.rglob("*"), reverse=True):
            relative = path.relative_to(out).as_posix()
            if path.is_file() and relative not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return written


def objects_in(files: Sequence[str]) -> list[str]:
    """The object folders of a list of project paths (for messages)."""
    return sorted({p.split("/objects/")[1].split("/")[0] for p in files if "/objects/" in p})
