"""okrsync connector for HubSpot.

The entry point ``okrsync.connectors: hubspot`` is :data:`plugin`.
"""

from __future__ import annotations

from okrsync_hubspot._plugin import HubSpotPlugin, HubSpotSettings

__all__ = ["HubSpotPlugin", "HubSpotSettings", "plugin"]

plugin = HubSpotPlugin()
"""The plugin object the core discovers."""
