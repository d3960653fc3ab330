"""The Salesforce plugin: its facts, its settings, its catalog, built on :mod:`okrsync.kit`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator

from okrsync.kit import ConnectorPluginBase, ConnectorSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from okrsync.connector import SchemaCache
    from okrsync_salesforce.connector import SalesforceConnector


class SalesforceSettings(ConnectorSettings):
    """Settings of one Salesforce connector instance.

    The shared knobs (timeouts, retries, quota reserve, lookback, deletion
    checks) come from :class:`okrsync.kit.ConnectorSettings`. Secrets
    (``consumer_secret``, ``private_key``, ``session_id``) come from the
    environment or from files, never from the YAML configuration.
    """

    instance_url: str | None = Field(
        None, description="https://<my-domain>.my.salesforce.com; found by login when empty."
    )
    domain: str = Field(
        "login", description="Login domain: `login`, `test`, or the My Domain like `acme.my`."
    )
    api_version: str = Field("59.0", pattern=r"^\d{2}\.\d$")
    auth: Literal["jwt", "client_credentials", "session"] = "jwt"
    username: str | None = Field(None, description="Integration user (JWT bearer flow).")
    consumer_key: str | None = Field(None, description="Connected app consumer key.")
    consumer_secret: SecretStr | None = None
    private_key: SecretStr | None = Field(None, description="PEM key for the JWT bearer flow.")
    session_id: SecretStr | None = Field(None, description="Static session id (auth: session).")
    ca_file: Path | None = Field(None, description="CA bundle to verify the server with.")
    batch_size: int = Field(
        200, ge=1, le=200, description="Records per composite upsert (Salesforce takes 200)."
    )
    login_url: str | None = Field(
        None,
        pattern=r"^https://[^\s/]+(?::\d+)?/?$",
        description="OAuth server (default `https://{domain}.salesforce.com`).",
    )
    page_size: int = Field(
        2000, ge=200, le=2000, description="Rows per query page (Sforce-Query-Options)."
    )
    bulk_threshold_rows: int = Field(
        20_000,
        ge=0,
        description="Rows (the first REST page's totalSize) from which a first pull goes "
        "through a Bulk API 2.0 query job instead of REST pages (0: never). A job costs about "
        "7 calls whatever its size (create, polls, result sets of 100 000 rows, delete) and "
        "waits seconds to minutes for Salesforce; REST costs one call per 2 000 rows.",
    )

    @model_validator(mode="after")
    def _auth_complete(self) -> SalesforceSettings:
        needed = {
            "jwt": ("username", "consumer_key"),
            "client_credentials": ("consumer_key",),
            "session": ("instance_url",),
        }[self.auth]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            names = ", ".join(f"`{m}`" for m in missing)
            msg = f"auth `{self.auth}` needs {names}"
            raise ValueError(msg)
        return self


class SalesforcePlugin(ConnectorPluginBase["SalesforceSettings", "SalesforceConnector"]):
    """Facts about the Salesforce connector, for the core."""

    name = "salesforce"
    title = "Salesforce"
    settings_model = SalesforceSettings
    catalog_package = "okrsync_salesforce"

    def metadata_path(self) -> Path:
        """The Salesforce DX project shipped in this package (source format)."""
        from okrsync_salesforce._sfdx import PROJECT_DIR  # noqa: PLC0415  (only metadata commands need it)

        return PROJECT_DIR

    def deploy_command(self, path: Path | None = None) -> str:
        """``sf project deploy start --source-dir <force-app of the project>``."""
        from okrsync_salesforce._sfdx import SOURCE_DIR, deploy_command  # noqa: PLC0415

        return deploy_command(path / SOURCE_DIR if path is not None else None)

    def where_reps_look(self, base_url: str) -> str:
        """The OKRs app and its list views, and how a real org gets them."""
        list_view = "lightning/o/OKR_Key_Result__c/list?filterName=My_Key_Results"
        from okrsync.crm_objects import OKR_OBJECTS  # noqa: PLC0415  (lazy, as the CLI)

        tabs = ", ".join(o.plural for o in OKR_OBJECTS)
        return (
            f"App Launcher → [bold]OKRs[/bold] (tabs {tabs}; list views My key results, "
            "At risk or off track, This cycle, My contributions), e.g.\n"
            f"  {base_url.rstrip('/')}/{list_view}\n"
            "a real org gets the app from:\n"
            f"  {self.deploy_command()}"
        )

    def export_metadata(self, out: Path) -> list[Path]:
        """Generate the Salesforce DX project under ``out``; the files written."""
        from okrsync_salesforce._sfdx import write_project  # noqa: PLC0415

        return write_project(out)

    def build(
        self,
        instance: str,
        settings: SalesforceSettings,
        *,
        clock: Callable[[], datetime] | None,
        schema_cache: SchemaCache | None,
    ) -> SalesforceConnector:
        """The connector (simple-salesforce is imported only now)."""
        from okrsync_salesforce.connector import SalesforceConnector  # noqa: PLC0415  (imports the SDK only when connecting)

        return SalesforceConnector(instance, settings, clock=clock, schema_cache=schema_cache)
