"""okrsync's own objects in the CRM, defined once and named by each connector.

Four objects, each keyed by an external id okrsync controls so that every
write is an idempotent upsert: objectives (``<cycle>/<objective>``), key
results (``<cycle>/<objective>/<kr>``; a personal key result made from a
template ``<cycle>/<objective>/<kr>/<e-mail>``), check-ins
(``<kr key>/<YYYY-MM-DD>``) and contributions, one rep's part of a key result
broken down by owner (``<kr key>/<e-mail>``, or ``<kr key>/unassigned`` for
records without an owner), owned by that rep.
Fields marked rep-owned (confidence, comment) are edited by reps in the CRM;
okrsync reads them into the check-in history and never overwrites them.

Alignment is written twice on an objective: ``aligns_to`` holds the parent's
key as text (readable anywhere, even where the parent is not written), and
``parent_objective`` links the record to its parent (a lookup in Salesforce,
an association in HubSpot) so reps can navigate up and down the tree. A
personal key result links to the team key result it rolls up into
(``parent_key_result``).
"""

from __future__ import annotations

from okrsync.connector import LogicalField, LogicalObject

__all__ = [
    "CHECK_IN",
    "CONTRIBUTION",
    "KEY_RESULT",
    "OBJECTIVE",
    "OKR_OBJECTS",
    "STATUSES",
    "UNASSIGNED",
]

STATUSES = ("done", "on_track", "at_risk", "off_track", "no_data", "not_started", "error")
"""Picklist values of the status fields (``error``: the metric could not be computed)."""

OBJECTIVE = LogicalObject(
    "objective",
    "OKR Objective",
    "OKR Objectives",
    (
        LogicalField("key", "key", "Key"),
        LogicalField("title", "text", "Title"),
        LogicalField("description", "long_text", "Description"),
        LogicalField("cycle", "text", "Cycle"),
        LogicalField("cycle_start", "date", "Cycle start"),
        LogicalField("cycle_end", "date", "Cycle end"),
        LogicalField("owner", "owner", "Owner"),
        LogicalField("owner_name", "text", "Owner (team or person)"),
        LogicalField("aligns_to", "text", "Aligns to"),
        LogicalField("parent_objective", "lookup", "Parent objective", lookup="objective"),
        LogicalField("score", "number", "Score"),
        LogicalField("forecast_score", "number", "Forecast score"),
        LogicalField("status", "picklist", "Status", STATUSES),
        LogicalField("last_synced_at", "datetime", "Last synced at"),
    ),
)

KEY_RESULT = LogicalObject(
    "key_result",
    "OKR Key Result",
    "OKR Key Results",
    (
        LogicalField("key", "key", "Key"),
        LogicalField("title", "text", "Title"),
        LogicalField("objective", "lookup", "Objective", lookup="objective"),
        LogicalField("parent_key_result", "lookup", "Parent key result", lookup="key_result"),
        LogicalField("kind", "picklist", "Kind", ("metric", "milestone")),
        LogicalField("source", "text", "Source"),
        LogicalField("metric", "text", "Metric"),
        LogicalField("unit", "text", "Unit"),
        LogicalField("start_value", "number", "Start"),
        LogicalField("target_value", "number", "Target"),
        LogicalField("current_value", "number", "Current value"),
        LogicalField("progress", "percent", "Progress"),
        LogicalField("score", "number", "Score"),
        LogicalField("expected", "percent", "Expected progress"),
        LogicalField("forecast_score", "number", "Forecast score"),
        LogicalField("status", "picklist", "Status", STATUSES),
        LogicalField("weight", "number", "Weight"),
        LogicalField("owner", "owner", "Owner"),
        LogicalField("owner_name", "text", "Owner (team or person)"),
        LogicalField("last_synced_at", "datetime", "Last synced at"),
        LogicalField("sync_error", "long_text", "Sync error"),
        LogicalField("confidence", "number", "Confidence (0-10)", rep_owned=True),
        LogicalField("comment", "long_text", "Comment", rep_owned=True),
    ),
)

CHECK_IN = LogicalObject(
    "check_in",
    "OKR Check-in",
    "OKR Check-ins",
    (
        LogicalField("key", "key", "Key"),
        LogicalField("key_result", "lookup", "Key result", lookup="key_result"),
        LogicalField("check_in_date", "date", "Check-in date"),
        LogicalField("current_value", "number", "Value"),
        LogicalField("progress", "percent", "Progress"),
        LogicalField("score", "number", "Score"),
        LogicalField("forecast_score", "number", "Forecast score"),
        LogicalField("status", "picklist", "Status", STATUSES),
        LogicalField("confidence", "number", "Confidence (0-10)"),
        LogicalField("comment", "long_text", "Comment"),
    ),
)

UNASSIGNED = "unassigned"
"""The last part of the key of the contribution of records without an owner."""

CONTRIBUTION = LogicalObject(
    "contribution",
    "OKR Contribution",
    "OKR Contributions",
    (
        LogicalField("key", "key", "Key"),
        LogicalField("title", "text", "Title"),
        LogicalField("key_result", "lookup", "Key result", lookup="key_result"),
        LogicalField("owner", "owner", "Owner"),
        LogicalField("owner_email", "text", "Owner e-mail"),
        LogicalField("unit", "text", "Unit"),
        LogicalField("current_value", "number", "Value"),
        LogicalField("share", "percent", "Share of the team value"),
        LogicalField("rank", "number", "Rank"),
        LogicalField("target_value", "number", "Personal target"),
        LogicalField("progress", "percent", "Progress"),
        LogicalField("last_synced_at", "datetime", "Last synced at"),
    ),
)

OKR_OBJECTS = (OBJECTIVE, KEY_RESULT, CHECK_IN, CONTRIBUTION)
"""In dependency order (lookups point backwards)."""
