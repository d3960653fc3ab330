"""The Salesforce sandbox: an emulator of Salesforce's REST API for simple-salesforce.

It serves over TLS (a certificate made at start), answers the SOQL subset of
:mod:`~okrsync_salesforce_sandbox.soql`, pages like Salesforce, upserts
through sObject Collections, provisions custom objects and fields through the
Tooling API, counts the daily API quota and injects faults. Start it with
:func:`start_sandbox`.
"""

from __future__ import annotations

from okrsync_salesforce_sandbox._plugin import plugin
from okrsync_salesforce_sandbox.running import (
    API_VERSION,
    RunningSalesforceSandbox,
    start_sandbox,
)
from okrsync_salesforce_sandbox.seed import load_folder, seed_from_dataset

__all__ = [
    "API_VERSION",
    "RunningSalesforceSandbox",
    "load_folder",
    "plugin",
    "seed_from_dataset",
    "start_sandbox",
]
