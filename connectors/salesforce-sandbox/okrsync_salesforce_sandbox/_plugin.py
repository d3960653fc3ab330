"""The Salesforce sandbox plugin: how okrsync's sandbox runner starts this emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from okrsync_salesforce_sandbox.running import RunningSalesforceSandbox
    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.plugins import SandboxPlugin
    from okrsync_sandbox.server import SandboxOptions


class SalesforceSandboxPlugin:
    """Starts the Salesforce emulator for `okrsync sandbox`, the demo and the tests."""

    name = "salesforce"

    def start_sandbox(
        self, options: SandboxOptions, accounting: Accounting
    ) -> RunningSalesforceSandbox:
        """Start the Salesforce emulator with seeded or loaded data; it serves until stopped."""
        from okrsync_salesforce_sandbox.running import start_sandbox  # noqa: PLC0415  (the emulator loads only when asked)

        return start_sandbox(options, accounting)


plugin = SalesforceSandboxPlugin()

if TYPE_CHECKING:  # mypy checks that the plugin is what the sandbox runner expects
    _checked: SandboxPlugin = plugin
