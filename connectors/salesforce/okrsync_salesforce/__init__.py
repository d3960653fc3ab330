"""okrsync connector for Salesforce.

The entry point ``okrsync.connectors: salesforce`` is :data:`plugin`.
"""

from __future__ import annotations

from okrsync_salesforce._plugin import SalesforcePlugin, SalesforceSettings

__all__ = ["SalesforcePlugin", "SalesforceSettings", "plugin"]

plugin = SalesforcePlugin()
"""The plugin object the core discovers."""
