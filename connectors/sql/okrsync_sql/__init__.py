"""okrsync connector for SQL databases: a read-only source over any SQLAlchemy database.

The entry point ``okrsync.connectors: sql`` is :data:`plugin`. Key results
read from it are written to a CRM with ``publish_to``; see ``docs/sql-connector.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync_sql._plugin import SqlObject, SqlPlugin, SqlSettings

if TYPE_CHECKING:
    from okrsync.plugins import ConnectablePlugin, ConnectorPlugin

__all__ = ["READ_ONLY", "SqlConnector", "SqlObject", "SqlPlugin", "SqlSettings", "plugin"]


def __getattr__(name: str) -> object:
    """The connector and its message, imported only when asked for (they load SQLAlchemy)."""
    if name in {"SqlConnector", "READ_ONLY"}:
        from okrsync_sql import connector  # noqa: PLC0415

        return getattr(connector, name)
    raise AttributeError(name)


plugin = SqlPlugin()
"""The plugin object the core discovers (SQLAlchemy, which it needs, is the core's too)."""

if TYPE_CHECKING:  # mypy checks that the plugin and its connector are what the core expects
    _plugin: ConnectorPlugin = plugin
    _connects: ConnectablePlugin = plugin
