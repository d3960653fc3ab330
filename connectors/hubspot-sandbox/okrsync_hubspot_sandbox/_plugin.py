"""The HubSpot sandbox plugin: how okrsync's sandbox runner starts this emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from okrsync_hubspot_sandbox.running import RunningHubSpotSandbox
    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.plugins import SandboxPlugin
    from okrsync_sandbox.server import SandboxOptions


class HubSpotSandboxPlugin:
    """Starts the HubSpot emulator for `okrsync sandbox`, the demo and the tests."""

    name = "hubspot"

    def start_sandbox(
        self, options: SandboxOptions, accounting: Accounting
    ) -> RunningHubSpotSandbox:
        """Start the HubSpot emulator with seeded or loaded data; it serves until stopped."""
        from okrsync_hubspot_sandbox.running import start_sandbox  # noqa: PLC0415  (the emulator loads only when asked)

        return start_sandbox(options, accounting)


plugin = HubSpotSandboxPlugin()

if TYPE_CHECKING:  # mypy checks that the plugin is what the sandbox runner expects
    _checked: SandboxPlugin = plugin
