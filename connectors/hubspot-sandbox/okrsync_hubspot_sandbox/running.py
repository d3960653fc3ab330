"""Starting and stopping the HubSpot sandbox: store, data, app and server thread."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.app import HubSpotSandboxApp
from okrsync_hubspot_sandbox.exports import ExportOptions
from okrsync_hubspot_sandbox.seed import load_folder, seed_from_dataset
from okrsync_hubspot_sandbox.settings import PortalSettings
from okrsync_sandbox.clock import SandboxClock
from okrsync_sandbox.dataset import Dataset
from okrsync_sandbox.faults import FaultInjector
from okrsync_sandbox.server import serve
from okrsync_sandbox.store import And, Cmp, Store

if TYPE_CHECKING:
    from datetime import datetime

    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.server import SandboxOptions, Served

from okrsync_hubspot_sandbox.associations import TABLE as ASSOCIATIONS

__all__ = ["RunningHubSpotSandbox", "start_sandbox"]


@dataclass(slots=True)
class RunningHubSpotSandbox:
    """A HubSpot portal served on loopback (implements ``RunningSandbox``)."""

    app: HubSpotSandboxApp
    served: Served
    store: Store
    faults: FaultInjector
    loaded: dict[str, int] = field(default_factory=dict)
    """Rows loaded per object type at start."""
    load_seconds: float = 0.0
    clock: SandboxClock | None = None
    dataset: Dataset | None = None
    name: str = "hubspot"

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080``."""
        return self.served.url

    @property
    def access_token(self) -> str:
        """The private app's token the sandbox accepts."""
        return self.app.settings.access_token

    def info(self) -> dict[str, Any]:
        """Host, access token and portal id."""
        return {
            "host": self.url,
            "access_token": self.access_token,
            "portal_id": self.app.settings.portal_id,
        }

    def connector_settings(self) -> dict[str, Any]:
        """Connector settings pointing at this sandbox."""
        return {"type": "hubspot", "host": self.url}

    def connector_secrets(self) -> dict[str, str]:
        """The access token, by setting name."""
        return {"access_token": self.access_token}

    def advance(self, as_of: datetime) -> dict[str, int]:
        """Move the portal to ``as_of``: the clock, and the seeded data as it was then.

        Objects keep their ids; changed ones get new values and stamps, new ones
        appear; okrsync's own objects and their associations are left as they are.
        """
        if self.clock is not None:
            self.clock.move_to(as_of)
        if self.dataset is None:
            return {}
        # the seeded associations (between standard objects) are written again
        standard = And((Cmp("from_type", "like", "0-%"), Cmp("to_type", "like", "0-%")))
        self.store.delete_where(ASSOCIATIONS, standard)
        self.store.replace_rows = True
        try:
            return seed_from_dataset(self.app, self.dataset, as_of)
        finally:
            self.store.replace_rows = False

    # -- admin (drills and doctor's tests; not reachable over HTTP) ----------------------

    def revoke_scopes(self, *scopes: str) -> None:
        """Take scopes from the private app (calls needing one get 403 ``MISSING_SCOPES``)."""
        self.app.revoked.update(scopes)

    def restore_scopes(self) -> None:
        """Give back every scope :meth:`revoke_scopes` took."""
        self.app.revoked.clear()

    def spend_daily_quota(self) -> None:
        """Use up today's API calls (as other apps of the portal would)."""
        self.app.limits.spend_day()

    def reset_daily_quota(self) -> None:
        """Start a new day of API calls."""
        self.app.limits.reset_day()

    def stop(self) -> None:
        """Stop serving and remove the store."""
        self.served.stop()
        self.app.close()
        self.store.close()


def start_sandbox(options: SandboxOptions, accounting: Accounting) -> RunningHubSpotSandbox:
    """Start a HubSpot sandbox: load ``options.data_dir / "hubspot"`` or seed the dataset.

    Portal settings come from ``options.extra`` (see :class:`PortalSettings`); the
    data is this CRM's history of the dataset of ``options.seed`` and ``options.size`` as of
    ``options.as_of`` (default: now), which is also where the sandbox clock starts.
    """
    settings = PortalSettings.from_extra(options.extra, options.seed)
    faults = FaultInjector(options.faults, "hubspot")
    clock = SandboxClock(options.as_of)
    store = Store()
    app = HubSpotSandboxApp(
        store,
        settings,
        faults=faults,
        accounting=accounting,
        clock=clock,
        exports=ExportOptions.from_extra(options.extra),
    )
    try:
        began = time.perf_counter()
        dataset = None
        if options.data_dir is not None:
            loaded = load_folder(app, options.data_dir / "hubspot")
        else:
            dataset = Dataset(options.seed, options.size, history="hubspot")
            loaded = seed_from_dataset(app, dataset, clock())
        took = time.perf_counter() - began
        served = serve(app, options.host, options.port)
    except BaseException:
        app.close()
        store.close()
        raise
    return RunningHubSpotSandbox(app, served, store, faults, loaded, took, clock, dataset)
