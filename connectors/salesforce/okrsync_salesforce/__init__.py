"""okrsync connector for Salesforce.

The entry point ``okrsync.connectors: salesforce`` is :data:`plugin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync_salesforce._plugin import SalesforcePlugin, SalesforceSettings

if TYPE_CHECKING:
    from okrsync.plugins import ConnectablePlugin, ConnectorPlugin

__all__ = ["SalesforceConnector", "SalesforcePlugin", "SalesforceSettings", "plugin"]


def __getattr__(name: str) -> object:
    """The connector class, imported only when asked for (it loads the CRM client)."""
    if name == "SalesforceConnector":
        from okrsync_salesforce.connector import SalesforceConnector  # noqa: PLC0415

        return SalesforceConnector
    raise AttributeError(name)


plugin = SalesforcePlugin()
"""The plugin object the core discovers."""

if TYPE_CHECKING:  # mypy checks that the plugin is what the core expects
    _described: ConnectorPlugin = plugin
    _connectable: ConnectablePlugin = plugin
