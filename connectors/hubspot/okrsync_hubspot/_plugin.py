"""The HubSpot plugin: its facts, its settings, its catalog, built on :mod:`okrsync.kit`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, SecretStr

from okrsync.kit import ConnectorPluginBase, ConnectorSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from okrsync.connector import SchemaCache
    from okrsync_hubspot.connector import HubSpotConnector


class HubSpotSettings(ConnectorSettings):
    """Settings of one HubSpot connector instance.

    The shared knobs (timeouts, retries, quota reserve, lookback, deletion
    checks) come from :class:`okrsync.kit.ConnectorSettings`. The private-app
    ``access_token`` comes from the environment or a file, never from the YAML
    configuration.
    """

    renamed: ClassVar[Mapping[str, str]] = {
        "backoff_factor": "retry_backoff_seconds",
        "retry_after_max_seconds": "retry_max_wait_seconds",
    }
    retired: ClassVar[Mapping[str, str]] = {
        "backoff_jitter": "every back-off is jittered by itself",
    }

    access_token: SecretStr | None = Field(None, description="Private-app access token.")
    host: str = Field("https://api.hubapi.com", description="API base URL (the sandbox's here).")
    batch_size: int = Field(
        100, ge=1, le=100, description="Inputs per batch upsert (HubSpot takes 100)."
    )
    search_requests_per_second: float = Field(
        4.0,
        gt=0,
        le=10,
        description="At most this many searches in any second (search has a lower rate limit).",
    )
    lookback_seconds: float = Field(
        30.0,
        ge=0,
        le=86_400,
        description="Overlap of incremental pulls: search lags writes, so each pull re-reads the "
        "changes made this long before the previous pull started (records already seen are not "
        "yielded again). Must exceed the search lag plus the clock skew.",
    )
    export_threshold_rows: int = Field(
        5_000,
        ge=0,
        description="Records (the first search page's total) from which a first pull reads the "
        "object through the CRM exports API instead of search pages (0: never). An export "
        "costs about 5 calls (start, status polls, the download) where search costs one per "
        "200 records, paced; it needs the `crm.export` scope and waits for HubSpot to build "
        "the file (one export at a time per portal).",
    )
    exports_per_day: int = Field(
        10,
        ge=0,
        le=30,
        description="Exports okrsync starts in any 24 hours, of the 30 HubSpot allows a portal "
        "(the portal's users share them); past it, first pulls read search pages.",
    )
    # Old names, read for one more release (see ConnectorSettings.renamed and .retired).
    backoff_factor: float | None = Field(
        None, ge=0, le=60, description="Deprecated: the old name of `retry_backoff_seconds`."
    )
    backoff_jitter: float | None = Field(
        None, ge=0, le=60, description="Deprecated and ignored: every back-off is jittered."
    )
    retry_after_max_seconds: float | None = Field(
        None, gt=0, le=600, description="Deprecated: the old name of `retry_max_wait_seconds`."
    )


class HubSpotPlugin(ConnectorPluginBase["HubSpotSettings", "HubSpotConnector"]):
    """Facts about the HubSpot connector, for the core."""

    name = "hubspot"
    title = "HubSpot"
    settings_model = HubSpotSettings
    catalog_package = "okrsync_hubspot"

    def where_reps_look(self, base_url: str) -> str:
        """Okrsync's custom objects in the CRM menu, and saved views by owner."""
        from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS  # noqa: PLC0415  (lazy, as the CLI)

        rest = [o for o in OKR_OBJECTS if o is not KEY_RESULT]
        others = ", ".join(o.plural for o in rest)
        names = ", ".join(f"okr_{o.name}" for o in (KEY_RESULT, *rest))
        return (
            f"CRM → [bold]{KEY_RESULT.plural}[/bold] (also {others}), "
            f"objects {names}; save a view filtered by owner (My contributions: "
            "okr_contribution owned by me), "
            f"e.g.\n  {base_url.rstrip('/')}/crm/v3/objects/okr_key_result"
        )

    def build(
        self,
        instance: str,
        settings: HubSpotSettings,
        *,
        clock: Callable[[], datetime] | None,
        schema_cache: SchemaCache | None,
    ) -> HubSpotConnector:
        """The connector (the HubSpot client is imported only now)."""
        from okrsync_hubspot.connector import HubSpotConnector  # noqa: PLC0415  (the HubSpot client loads only when connecting)

        return HubSpotConnector(instance, settings, clock=clock, schema_cache=schema_cache)
