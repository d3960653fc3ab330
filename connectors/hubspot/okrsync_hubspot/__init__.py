"""okrsync connector for HubSpot.

The entry point ``okrsync.connectors: hubspot`` is :data:`plugin`.
"""

from __future__ import annotations

from okrsync_hubspot._plugin import HubSpotPlugin, HubSpotSettings

__all__ = ["HubSpotConnector", "HubSpotPlugin", "HubSpotSettings", "plugin"]


def __getattr__(name: str) -> object:
    """The connector class, imported only when asked for (it loads the CRM client)."""
    if name == "HubSpotConnector":
        from okrsync_hubspot.connector import HubSpotConnector  # noqa: PLC0415

        return HubSpotConnector
    raise AttributeError(name)


plugin = HubSpotPlugin()
"""The plugin object the core discovers."""
