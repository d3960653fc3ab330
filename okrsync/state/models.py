"""Tables of the state store: runs, cursors, evaluations, what was written, the outbox, check-ins.

No secret is ever stored here: connector settings stay in the configuration.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "CheckInRow",
    "ContributionRow",
    "CursorRow",
    "EvaluationRow",
    "OutboxRow",
    "RunRow",
    "SchemaCacheRow",
    "SchemaVersionRow",
    "SkippedRow",
    "WrittenRow",
]


class SchemaVersionRow(SQLModel, table=True):
    """Migrations applied to this store."""

    __tablename__ = "okrsync_schema_version"

    version: int = Field(primary_key=True)
    applied_at: datetime


class RunRow(SQLModel, table=True):
    """One plan, sync or check-in run, and what it did."""

    __tablename__ = "okrsync_run"

    id: str = Field(primary_key=True, max_length=32)
    workspace: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=16)
    """``plan``, ``sync`` or ``check_in``."""
    as_of: date
    started_at: datetime = Field(index=True)
    finished_at: datetime | None = None
    outcome: str = Field(default="running", max_length=32)
    """``running``, ``succeeded``, ``partial`` (some KRs or records failed), ``failed``,
    ``stopped_quota`` (stopped before the CRM's reserve), ``abandoned`` (shut down)."""
    pulled: int = 0
    skipped: int = 0
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    api_calls: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON))
    quota: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    """Per connector: ``{"remaining": n, "limit": n}`` as the CRM last reported (schema v2)."""
    error: str | None = Field(default=None, sa_column=Column(Text))


class CursorRow(SQLModel, table=True):
    """Where the last pull of an object stopped, and what it pulled (fields and filters)."""

    __tablename__ = "okrsync_cursor"

    connector: str = Field(primary_key=True, max_length=64)
    object: str = Field(primary_key=True, max_length=128)
    signature: str = Field(max_length=64)
    """Digest of the fields and filters pulled; a change means a fresh full pull."""
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    updated_at: datetime
    changed_run: str | None = Field(default=None, max_length=32)
    """The run that last changed the object's replica rows (schema v3); set before
    the rows change, so a run that dies half-way still counts as a change."""
    pulled: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """The fields and filter the replica was pulled with (schema v5): a mapping edit
    then pulls only what it adds (:func:`okrsync.plan.added_since`)."""


class EvaluationRow(SQLModel, table=True):
    """A key result's value and score as computed by one run."""

    __tablename__ = "okrsync_evaluation"

    run_id: str = Field(primary_key=True, max_length=32)
    kr_key: str = Field(primary_key=True, max_length=255)
    as_of: date
    value: float | None = None
    progress: float | None = None
    score: float | None = None
    expected: float | None = None
    forecast_score: float | None = None
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text))
    basis: str | None = Field(default=None, index=True, max_length=64)
    """Digest of what the value depends on: the metric, the cycle, the as-of date
    and the replica's changes (schema v3). A run with the same basis reuses the value."""


class ContributionRow(SQLModel, table=True):
    """One owner's part of a key result computed per owner, as one run computed it (schema v4)."""

    __tablename__ = "okrsync_contribution"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=32)
    kr_key: str = Field(max_length=255)
    owner: str | None = Field(default=None, max_length=255)
    """E-mail address in lower case; ``None`` for the records without an owner."""
    value: float | None = None
    share: float | None = None
    rank: int | None = None
    target: float | None = None
    progress: float | None = None
    basis: str | None = Field(default=None, index=True, max_length=64)
    """The basis of the key result's value (see :class:`EvaluationRow`): a later run with
    the same basis reuses the per-owner values."""
    no_records: bool = False
    """A member of the key result's team without records (shown, not reused)."""
    contribution: bool = True
    """A contribution of a key result broken down by owner (shown by ``status`` and the
    page); ``False``: an owner's value of a template, kept for reuse only."""


class WrittenRow(SQLModel, table=True):
    """What okrsync last wrote to one CRM record, to send only changes."""

    __tablename__ = "okrsync_written"

    connector: str = Field(primary_key=True, max_length=64)
    object: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=255)
    digest: str = Field(max_length=64)
    crm_id: str | None = Field(default=None, max_length=64)
    written_at: datetime
    run_id: str = Field(max_length=32)


class OutboxRow(SQLModel, table=True):
    """A write decided but not yet confirmed by the CRM; completed after a crash."""

    __tablename__ = "okrsync_outbox"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=32)
    connector: str = Field(max_length=64)
    object: str = Field(max_length=32)
    key: str = Field(max_length=255)
    digest: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    state: str = Field(default="pending", index=True, max_length=16)
    """``pending``, ``done`` or ``failed``."""
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    updated_at: datetime


class CheckInRow(SQLModel, table=True):
    """A weekly snapshot of a key result: the check-in history."""

    __tablename__ = "okrsync_check_in"

    kr_key: str = Field(primary_key=True, max_length=255)
    on: date = Field(primary_key=True)
    value: float | None = None
    progress: float | None = None
    score: float | None = None
    forecast_score: float | None = None
    status: str = Field(max_length=16)
    confidence: float | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text))
    recorded_at: datetime


class SchemaCacheRow(SQLModel, table=True):
    """What a connector learnt about the CRM's schema (describes), kept across processes (v3)."""

    __tablename__ = "okrsync_schema_cache"

    workspace: str = Field(primary_key=True, max_length=64)
    connector: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=255)
    value: Any = Field(default=None, sa_column=Column(JSON))
    stored_at: datetime


class SkippedRow(SQLModel, table=True):
    """A CRM record a run could not use, and why (so no gap is silent)."""

    __tablename__ = "okrsync_skipped"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=32)
    connector: str = Field(max_length=64)
    object: str = Field(max_length=128)
    record_id: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text))
