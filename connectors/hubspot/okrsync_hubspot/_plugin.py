"""The HubSpot plugin: its facts, its settings, its catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from okrsync.plugins import packaged_catalog

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from okrsync.connector import SchemaCache
    from okrsync_hubspot.connector import HubSpotConnector


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
        4.0,
        gt=0,
        le=10,
        description="At most this many searches in any second (search has a lower rate limit).",
    )
    lookback_seconds: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="Overlap of incremental pulls: search lags writes, so each pull re-reads the "
        "changes made this long before the previous pull started (records already seen are not "
        "yielded again). Must exceed the search lag plus the clock skew.",
    )
    max_retries: int = Field(
        5,
        ge=0,
        le=20,
        description="Retries of a call after 429, 5xx, timeouts, dropped connections.",
    )
    backoff_factor: float = Field(
        0.5, ge=0, le=60, description="Exponential backoff between retries: factor × 2^(n-1) s."
    )
    backoff_jitter: float = Field(
        0.5, ge=0, le=60, description="Random seconds (0 to this) added to each backoff."
    )
    retry_after_max_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Longest Retry-After waited for (HubSpot's ten-second window asks for at "
        "most 10 s); the daily limit's 429 is never waited out.",
    )
    quota_reserve_percent: float = Field(
        10.0,
        ge=0,
        le=90,
        description="Stop a run before the portal's daily API quota falls below this.",
    )
    deletion_check_seconds: float = Field(
        3600.0,
        ge=0,
        le=86_400,
        description="Least seconds between two scans for archived records (each scan lists "
        "every archived record of the object); 0: every pull.",
    )


class HubSpotPlugin:
    """Facts about the HubSpot connector, for the core."""

    name = "hubspot"
    title = "HubSpot"
    settings_model: type[BaseModel] = HubSpotSettings

    def catalog(self) -> tuple[str, bytes]:
        """Display name and content of the built-in metric catalog."""
        return packaged_catalog(__package__ or "okrsync_hubspot")

    def where_reps_look(self, base_url: str) -> str:
        """Okrsync's custom objects in the CRM menu, and saved views by owner."""
        return (
            "CRM → [bold]OKR Key Results[/bold] (also OKR Objectives, OKR Check-ins), "
            "objects okr_key_result, okr_objective, okr_check_in; save a view filtered by owner, "
            f"e.g.\n  {base_url.rstrip('/')}/crm/v3/objects/okr_key_result"
        )

    def connect(
        self,
        instance: str,
        settings: BaseModel,
        *,
        clock: Callable[[], datetime] | None = None,
        schema_cache: SchemaCache | None = None,
    ) -> HubSpotConnector:
        """A connector for the instance ``instance`` with its validated ``settings``.

        Raises:
            TypeError: when ``settings`` are not :class:`HubSpotSettings`.
        """
        from okrsync_hubspot.connector import HubSpotConnector  # noqa: PLC0415  (the HubSpot client loads only when connecting)

        if not isinstance(settings, HubSpotSettings):
            raise TypeError(f"expected HubSpotSettings, got {type(settings).__name__}")
        return HubSpotConnector(instance, settings, clock=clock, schema_cache=schema_cache)
