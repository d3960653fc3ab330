"""okrsync connector for SQL databases: a read-only source over any SQLAlchemy database.

The entry point ``okrsync.connectors: sql`` is :data:`plugin`. Key results
read from it are written to a CRM with ``publish_to``; see ``docs/sql-connector.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync_sql._plugin import SqlObject, SqlPlugin, SqlSettings

if TYPE_CHECKING:
    from okrsync.plugins import ConnectablePlugin, ConnectorPlugin

__all__ = ["SqlConnector", "SqlObject", "SqlPlugin", "SqlSettings", "plugin"]


def __getattr__(name: str) -> object:
    """The connector class, imported only when asked for."""
    if name == "SqlConnector":
        from okrsync_sql.connector import SqlConnector  # noqa: PLC0415

        return SqlConnector
    raise AttributeError(name)


plugin = SqlPlugin()
"""The plugin object the core discovers."""

if TYPE_CHECKING:  # mypy checks that the plugin is what the core expects
    _described: ConnectorPlugin = plugin
    _connectable: ConnectablePlugin = plugin
