"""The sql plugin: its facts, its settings and its catalog, built on :mod:`okrsync.kit`."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel as _Model
from pydantic import ConfigDict, Field, SecretStr, field_validator

from okrsync.kit import ConnectorPluginBase, ConnectorSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from okrsync.connector import SchemaCache
    from okrsync_sql.connector import SqlConnector

__all__ = ["SqlObject", "SqlPlugin", "SqlSettings"]

_URL_EXAMPLE = (
    "a SQLAlchemy database URL like `postgresql+psycopg://okrsync:…@db.example.com/sales`"
)


class SqlObject(_Model):
    """How one object of the mappings is read from a table or view.

    A setting left out takes the connector's default; ``stamp_column: null``
    says the object has no modification stamp (it is read whole each pull).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    table: str | None = Field(
        None, min_length=1, description="The table or view (default: the object's name)."
    )
    schema_: str | None = Field(
        None, alias="schema", min_length=1, description="Its schema (default: the connector's)."
    )
    id_column: str | None = Field(
        None,
        min_length=1,
        description="The column identifying a row (default: the primary key, else a column `id`).",
    )
    stamp_column: str | None = Field(
        None,
        min_length=1,
        description="The modification stamp for incremental pulls (default: the connector's "
        "`stamp_column`); `null`: none, the object is read whole each pull.",
    )
    deleted_column: str | None = Field(
        None,
        min_length=1,
        description="Soft-delete column: a row is deleted when it is true or holds a date "
        "(default: the connector's `deleted_column`).",
    )
    hard_deletes: bool = Field(
        default=True,
        description="Rows may be deleted for good: their ids are reconciled every "
        "`deletion_check_seconds` (false: an append-only table, or soft deletes only).",
    )

    def explicit(self, name: str) -> bool:
        """Whether the setting ``name`` was given for this object."""
        return name in self.model_fields_set


class SqlSettings(ConnectorSettings):
    """Settings of one sql connector instance: a read-only source over a SQLAlchemy database.

    The shared knobs come from :class:`okrsync.kit.ConnectorSettings`:
    ``timeout_seconds`` bounds connecting and each query (PostgreSQL's
    ``statement_timeout``), ``max_retries`` and the back-off apply to dropped
    connections and other passing failures, ``lookback_seconds`` must exceed the
    longest write transaction of the database (a row is stamped when its
    transaction starts and seen when it commits), ``deletion_check_seconds`` is
    the cadence of the id reconciliation. ``batch_size``, ``concurrent_pulls``,
    ``concurrent_writes`` and ``quota_reserve_percent`` do not apply (tables are
    read one at a time, nothing is written; a database has no daily quota). The
    ``url`` comes from the environment or a file, never from the YAML
    configuration: it holds the password.
    """

    model_config = ConfigDict(populate_by_name=True)

    url: SecretStr | None = Field(
        None, description=f"The database: {_URL_EXAMPLE} (a secret: environment or file only)."
    )
    schema_: str | None = Field(
        None,
        alias="schema",
        min_length=1,
        description="The schema whose tables and views are the objects (default: the "
        "database's default schema, `public` on PostgreSQL).",
    )
    objects: dict[str, SqlObject] = Field(
        default_factory=dict,
        description="Per object: its table, id, stamp and soft-delete columns. Every table "
        "and view of the schema is an object by its name without an entry here.",
    )
    stamp_column: str | None = Field(
        "updated_at",
        min_length=1,
        description="The modification stamp of tables that have it (`null`: none has one). "
        "Objects without one are read whole each pull.",
    )
    deleted_column: str | None = Field(
        None,
        min_length=1,
        description="The soft-delete column of tables that have it (true, or a date: deleted).",
    )
    page_size: int = Field(1000, ge=1, le=100_000, description="Rows per query page.")
    timezone: str = Field(
        "UTC",
        description="The time zone of timestamps stored without one (with a zone they are exact).",
    )
    pool_size: int = Field(2, ge=1, le=50, description="Connections kept open to the database.")
    pool_recycle_seconds: float = Field(
        1800.0, gt=0, le=86_400, description="Connections older than this are opened anew."
    )

    @field_validator("url")
    @classmethod
    def _parses(cls, value: SecretStr | None) -> SecretStr | None:
        """A URL SQLAlchemy can read (its text is never repeated: it holds the password)."""
        if value is None:
            return value
        from sqlalchemy.engine import make_url  # noqa: PLC0415  (only to validate)
        from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

        try:
            make_url(value.get_secret_value())
        except (ArgumentError, ValueError):
            msg = f"expected {_URL_EXAMPLE}"
            raise ValueError(msg) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            msg = f"expected a time zone name like `UTC` or `Europe/Berlin`, got {value!r}"
            raise ValueError(msg) from None
        return value

    def object(self, name: str) -> SqlObject:
        """The settings of object ``name`` (all defaults when it has no entry)."""
        return self.objects.get(name) or SqlObject()


class SqlPlugin(ConnectorPluginBase["SqlSettings", "SqlConnector"]):
    """Facts about the sql connector, for the core: a read-only source."""

    name = "sql"
    title = "SQL database"
    settings_model = SqlSettings
    catalog_package = "okrsync_sql"
    writes = False

    def build(
        self,
        instance: str,
        settings: SqlSettings,
        *,
        clock: Callable[[], datetime] | None,
        schema_cache: SchemaCache | None,
    ) -> SqlConnector:
        """The connector (its engine connects on first use)."""
        from okrsync_sql.connector import SqlConnector  # noqa: PLC0415  (loads SQLAlchemy)

        del schema_cache  # describes are catalog queries, kept for the life of the connector
        return SqlConnector(instance, settings, clock=clock)
