"""okrsync connector for HubSpot.

The entry point ``okrsync.connectors: hubspot`` is :data:`plugin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from okrsync_hubspot._plugin import HubSpotPlugin, HubSpotSettings

if TYPE_CHECKING:
    from okrsync.plugins import ConnectablePlugin, ConnectorPlugin

__all__ = ["HubSpotConnector", "HubSpotPlugin", "HubSpotSettings", "plugin"]


def __getattr__(name: str) -> object:
    """The connector class, imported only when asked for (it loads the CRM client)."""
    if name == "HubSpotConnector":
        from okrsync_hubspot.connector import HubSpotConnector  # noqa: PLC0415

        return HubSpotConnector
    raise AttributeError(name)


plugin = HubSpotPlugin()
"""The plugin object the core discovers."""

if TYPE_CHECKING:  # mypy checks that the plugin is what the core expects
    _described: ConnectorPlugin = plugin
    _connectable: ConnectablePlugin = plugin
