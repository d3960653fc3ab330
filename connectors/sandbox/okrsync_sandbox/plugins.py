"""Sandbox plugins: emulators of a CRM, found through the entry-point group ``okrsync.sandboxes``.

A connector's emulator is its own distribution (``okrsync-<crm>-sandbox``), so
the production install carries none of them; the development environment,
the demo and the tests install them.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from okrsync.errors import ConfigurationError
from okrsync.plugins import hook_problem

if TYPE_CHECKING:
    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.server import RunningSandbox, SandboxOptions

__all__ = ["SANDBOX_ENTRY_POINT_GROUP", "SandboxPlugin", "installed_sandboxes"]

SANDBOX_ENTRY_POINT_GROUP = "okrsync.sandboxes"


@runtime_checkable
class SandboxPlugin(Protocol):
    """An emulator of one CRM's API, named like the connector it stands in for."""

    @property
    def name(self) -> str:
        """Connector type it emulates (``salesforce``)."""
        ...

    def start_sandbox(self, options: SandboxOptions, accounting: Accounting) -> RunningSandbox:
        """Start the emulator with seeded or loaded data; it serves until stopped."""
        ...


def installed_sandboxes(group: str = SANDBOX_ENTRY_POINT_GROUP) -> list[SandboxPlugin]:
    """Every sandbox plugin installed under ``group``, by name."""
    found: list[SandboxPlugin] = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            plugin = ep.load()
        except Exception as exc:
            raise ConfigurationError(
                f"sandbox plugin `{ep.name}` ({ep.value}) failed to load: {exc}"
            ) from exc
        if not isinstance(plugin, SandboxPlugin):
            raise ConfigurationError(
                f"entry point `{ep.name}` ({ep.value}) is not an okrsync sandbox plugin"
            )
        problem = hook_problem(plugin, "start_sandbox", None, None)
        if problem:
            raise ConfigurationError(
                f"sandbox plugin `{ep.name}` ({ep.value}) cannot start: {problem}; expected "
                "start_sandbox(options, accounting)"
            )
        found.append(plugin)
    return found
