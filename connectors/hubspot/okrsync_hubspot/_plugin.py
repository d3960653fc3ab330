"""The HubSpot plugin: its facts, its settings, its catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from okrsync.plugins import packaged_catalog

if TYPE_CHECKING:
    from okrsync.sandbox.accounting import Accounting
    from okrsync.sandbox.server import SandboxOptions
    from okrsync_hubspot.sandbox.running import RunningHubSpotSandbox


class HubSpotSettings(BaseModel):
    """Settings of one HubSpot connector instance.

    The private-app ``access_token`` comes from the environment or a file, never
    from the YAML configuration.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: SecretStr | None = Field(None, description="Private-app access token.")
    host: str = Field("https://api.hubapi.com", description="API base URL (the sandbox's here).")
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    batch_size: int = Field(100, ge=1, le=100, description="Inputs per batch upsert.")
    search_requests_per_second: float = Field(
        4.0, gt=0, le=10, description="Pacing of search calls (they have a lower rate limit)."
    )


class HubSpotPlugin:
    """Facts about the HubSpot connector, for the core."""

    name = "hubspot"
    title = "HubSpot"
    settings_model: type[BaseModel] = HubSpotSettings

    def catalog(self) -> tuple[str, bytes]:
        """Display name and content of the built-in metric catalog."""
        return packaged_catalog(__package__ or "okrsync_hubspot")

    def start_sandbox(
        self, options: SandboxOptions, accounting: Accounting
    ) -> RunningHubSpotSandbox:
        """Start the HubSpot emulator (seeded or loaded); it serves until stopped."""
        from okrsync_hubspot.sandbox.running import start_sandbox  # noqa: PLC0415  (werkzeug and the store load only when asked)

        return start_sandbox(options, accounting)
