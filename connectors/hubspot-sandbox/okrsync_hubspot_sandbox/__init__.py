"""The HubSpot sandbox: an emulator of HubSpot's CRM API that hubspot-api-client works against.

Start one with :func:`start_sandbox` (or ``okrsync sandbox``); it serves CRM
objects v3 (list, get, write, batch, search), custom object schemas and
properties, associations v4, owners, HubSpot's rate limits and error bodies,
seeded from the neutral dataset or loaded from JSON Lines files.
"""

from __future__ import annotations

from okrsync_hubspot_sandbox._plugin import plugin
from okrsync_hubspot_sandbox.app import HubSpotSandboxApp
from okrsync_hubspot_sandbox.running import RunningHubSpotSandbox, start_sandbox
from okrsync_hubspot_sandbox.seed import load_folder, seed_from_dataset
from okrsync_hubspot_sandbox.settings import PortalSettings

__all__ = [
    "HubSpotSandboxApp",
    "PortalSettings",
    "RunningHubSpotSandbox",
    "load_folder",
    "plugin",
    "seed_from_dataset",
    "start_sandbox",
]
