"""okrsync connector for SQL databases: a read-only source over any SQLAlchemy database.

The entry point ``okrsync.connectors: sql`` is :data:`plugin`. Key results
read from it are written to a CRM with ``publish_to``; see ``docs/sql-connector.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync_sql._plugin import SqlObject, SqlPlugin, SqlSettings
from okrsync_sql.connector import READ_ONLY, SqlConnector

if TYPE_CHECKING:
    from okrsync.plugins import ConnectablePlugin, ConnectorPlugin

__all__ = ["READ_ONLY", "SqlConnector", "SqlObject", "SqlPlugin", "SqlSettings", "plugin"]

plugin = SqlPlugin()
"""The plugin object the core discovers (SQLAlchemy, which it needs, is the core's too)."""

if TYPE_CHECKING:  # mypy checks that the plugin and its connector are what the core expects
    _plugin: ConnectorPlugin = plugin
    _connects: ConnectablePlugin = plugin
