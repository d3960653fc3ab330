"""Starting the Salesforce sandbox: data, certificate, server; and the running handle.

:func:`start_sandbox` builds the org (seeded from the neutral dataset or loaded
from ``<data_dir>/salesforce``), makes a throw-away CA and server certificate,
and serves the API over TLS on a thread. The returned
:class:`RunningSalesforceSandbox` is the core's ``RunningSandbox``, plus admin
methods for drills (hard deletes, expiring a session, resetting the quota).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from okrsync_salesforce_sandbox.app import SalesforceApp
from okrsync_salesforce_sandbox.auth import Quota, Sessions
from okrsync_salesforce_sandbox.bulk import BulkJobs, BulkOptions
from okrsync_salesforce_sandbox.connected_app import ConnectedApp
from okrsync_salesforce_sandbox.engine import QueryEngine
from okrsync_salesforce_sandbox.org import API_USERNAME, Org
from okrsync_salesforce_sandbox.schema import standard_schema, tooling_schema
from okrsync_salesforce_sandbox.seed import load_folder, seed_from_dataset
from okrsync_salesforce_sandbox.storage import SandboxStore
from okrsync_salesforce_sandbox.tls import TlsFiles, make_certificates
from okrsync_salesforce_sandbox.tooling import Tooling
from okrsync_sandbox.clock import SandboxClock
from okrsync_sandbox.dataset import Dataset
from okrsync_sandbox.faults import FaultInjector
from okrsync_sandbox.server import serve

if TYPE_CHECKING:
    from datetime import date, datetime

    from okrsync_sandbox.accounting import Accounting
    from okrsync_sandbox.server import SandboxOptions, Served

__all__ = [
    "API_VERSION",
    "DEFAULT_DAILY_API_REQUESTS",
    "RunningSalesforceSandbox",
    "start_sandbox",
]

API_VERSION = "59.0"
DEFAULT_DAILY_API_REQUESTS = 100_000
DEFAULT_CONSUMER_KEY = "okrsync-sandbox-consumer-key"


@dataclass(slots=True)
class RunningSalesforceSandbox:
    """A serving Salesforce sandbox (the core's ``RunningSandbox``)."""

    faults: FaultInjector
    org: Org
    app: SalesforceApp
    served: Served
    tls: TlsFiles
    session_id: str
    loaded: dict[str, int]
    """Rows loaded at start per object."""
    load_seconds: float
    _workdir: tempfile.TemporaryDirectory[str]
    clock: SandboxClock
    dataset: Dataset | None = None
    name: str = "salesforce"
    stopped: bool = field(default=False)

    @property
    def instance_url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return self.served.url

    @property
    def ca_file(self) -> Path:
        """The CA certificate to verify the server with."""
        return self.tls.ca_file

    def info(self) -> dict[str, Any]:
        """What a client needs to connect."""
        return {
            "instance_url": self.instance_url,
            "ca_cert": str(self.ca_file),
            "session_id": self.session_id,
            "token_url": f"{self.instance_url}/services/oauth2/token",
            "api_version": API_VERSION,
            "username": API_USERNAME,
            "consumer_key": self.app.sessions.consumer_key,
            "consumer_secret": self.app.sessions.consumer_secret,
            "private_key_file": str(self.connected_app.key_file),
            "certificate_file": str(self.connected_app.certificate_file),
        }

    @property
    def connected_app(self) -> ConnectedApp:
        """The connected app's key pair (JWT bearer assertions are verified against it)."""
        app = self.app.sessions.app
        assert app is not None  # noqa: S101  (start_sandbox always gives one)
        return app

    def connector_settings(self, auth: Literal["session", "jwt"] = "session") -> dict[str, Any]:
        """Non-secret connector settings pointing at this sandbox.

        ``jwt`` logs in with the JWT bearer flow at the sandbox's token endpoint (its
        My Domain URL) as the integration user, signing with the app's key.
        """
        settings: dict[str, Any] = {
            "type": "salesforce",
            "auth": auth,
            "instance_url": self.instance_url,
            "ca_file": str(self.ca_file),
            "api_version": API_VERSION,
        }
        if auth == "jwt":
            settings |= {
                "login_url": self.instance_url,
                "consumer_key": self.app.sessions.consumer_key,
                "username": API_USERNAME,
            }
        return settings

    def connector_secrets(self, auth: Literal["session", "jwt"] = "session") -> dict[str, str]:
        """The session id (or the JWT signing key), for the environment."""
        if auth == "jwt":
            return {"private_key": self.connected_app.key_file.read_text(encoding="ascii")}
        return {"session_id": self.session_id}

    def stop(self) -> None:
        """Stop serving and remove the store and certificates (idempotent)."""
        if self.stopped:
            return
        self.stopped = True
        self.served.stop()
        self.org.store.close()
        self._workdir.cleanup()

    # -- admin (drills; not reachable over HTTP) --------------------------------------------

    def hard_delete(self, sobject: str, record_id: str) -> bool:
        """Remove a record for good, as an emptied recycle bin does."""
        return self.org.hard_delete(sobject, record_id)

    def expire_session(self, token: str | None = None) -> bool:
        """Make a session id invalid (default: the static one)."""
        return self.app.sessions.expire(token or self.session_id)

    def new_session(self) -> str:
        """A new session id acting as the integration user."""
        return self.app.sessions.issue(self.org.api_user_id)

    def advance(self, as_of: datetime) -> dict[str, int]:
        """Move the org to ``as_of``: the clock, and the seeded data as it was then.

        Records keep their ids; those that changed get the new values and stamps,
        new ones appear; okrsync's own objects are left as they are.
        """
        self.clock.move_to(as_of)
        if self.dataset is None:
            return {}
        store = self.org.store
        store.replace_rows = True
        try:
            return seed_from_dataset(self.org, self.dataset, self.clock())
        finally:
            store.replace_rows = False

    def restrict_field(self, path: str, *, read: bool, edit: bool = False) -> None:
        """Field-level security: the user's profile grants only this on ``Object.Field``.

        Describe then hides the field (no ``read``) or makes it read-only, SOQL
        refuses a hidden one and writes setting it fail; a permission set
        assigned to the user that grants more (``okrsync provision``'s) lifts it.
        """
        self.org.access.restrict_field(path, read=read, edit=edit)

    def restrict_object(
        self, name: str, *, read: bool, create: bool = False, edit: bool = False
    ) -> None:
        """Object permissions: the integration user's profile grants only these on ``name``."""
        self.org.access.restrict_object(name, read=read, create=create, edit=edit)

    def lift_restrictions(self) -> None:
        """The profile grants everything again."""
        self.org.access.lift()

    def reset_quota(self, daily_api_requests: int | None = None) -> None:
        """Start a new day of API requests (optionally with another limit)."""
        self.app.quota.reset(daily_api_requests)


def start_sandbox(options: SandboxOptions, accounting: Accounting) -> RunningSalesforceSandbox:
    """Start the Salesforce sandbox with seeded or loaded data; it serves until stopped.

    Data comes from ``options.data_dir / "salesforce"`` when a data folder is
    given, else from this CRM's history of ``Dataset(options.seed, options.size)`` as of
    ``options.as_of`` (default now). ``options.extra`` may set
    ``daily_api_requests`` (default 100 000), ``consumer_key``,
    ``consumer_secret``, ``max_query_cursors`` (default 10), ``org`` (``okrsync``, the
    default, or ``plain``: an org without okrsync's churn fields and NPS object) and the
    Bulk API 2.0 settings of :class:`~okrsync_salesforce_sandbox.bulk.BulkOptions`
    (``bulk_job_seconds``, ``bulk_rows_per_second``, ``bulk_daily_jobs``,
    ``bulk_fail_rate``, ``bulk_unsupported_objects``).
    """
    clock = SandboxClock(options.as_of)
    workdir = tempfile.TemporaryDirectory(prefix="okrsync-salesforce-")
    try:
        tls = make_certificates(Path(workdir.name), options.host)
        store = SandboxStore(Path(workdir.name) / "org.sqlite")
        org = Org(
            store, standard_schema(str(options.extra.get("org", "okrsync"))), clock, accounting
        )
        org.create_tables()
        started = time.monotonic()
        dataset = None
        if options.data_dir is not None:
            loaded = load_folder(org, options.data_dir / "salesforce")
        else:
            dataset = Dataset(options.seed, options.size, history="salesforce")
            loaded = seed_from_dataset(org, dataset, clock())
        load_seconds = time.monotonic() - started
        org.ensure_basics()
        tooling = Tooling(org, tooling_schema())
        extra = options.extra
        sessions = Sessions(
            org.org_id,
            str(extra.get("consumer_key", DEFAULT_CONSUMER_KEY)),
            str(extra.get("consumer_secret") or secrets.token_hex(16)),
            org.user_by_username,
            org.api_user_id,
            app=ConnectedApp(Path(workdir.name)),
        )
        session_id = sessions.issue(org.api_user_id)
        max_cursors = int(extra.get("max_query_cursors", 10))

        def today() -> date:
            return clock().date()

        engine = QueryEngine(store, org.schema, today, max_cursors=max_cursors)
        app = SalesforceApp(
            org=org,
            engine=engine,
            tooling=tooling,
            tooling_engine=QueryEngine(
                store, tooling.schema, today, api_path="tooling/", max_cursors=max_cursors
            ),
            sessions=sessions,
            quota=Quota(int(extra.get("daily_api_requests", DEFAULT_DAILY_API_REQUESTS))),
            faults=FaultInjector(options.faults, "salesforce"),
            accounting=accounting,
            clock=clock,
            bulk=BulkJobs(engine, clock, BulkOptions.from_extra(extra, options.seed)),
        )
        served = serve(app, options.host, options.port, tls.server_context())
    except BaseException:
        workdir.cleanup()
        raise
    app.instance_url = served.url
    return RunningSalesforceSandbox(
        app.faults, org, app, served, tls, session_id, loaded, load_seconds, workdir, clock, dataset
    )
