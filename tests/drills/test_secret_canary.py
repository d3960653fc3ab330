"""Secret canary: no credential shows in logs, reports, status, metrics, the status page, error texts or the store."""

from __future__ import annotations

import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from okrsync.daemon import Daemon
from tests.e2e.conftest import AS_OF, MAPPINGS, provision, run_okrsync

from .conftest import FAST_RETRIES, make_app

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e.conftest import Sandbox

pytestmark = pytest.mark.drill

CANARIES = {
    "OKRSYNC_CONNECTORS__SALESFORCE__CONSUMER_SECRET": "canary-sf-consumer-secret-7f3a9c",
    "OKRSYNC_CONNECTORS__SALESFORCE__PRIVATE_KEY": "canary-sf-private-key-41be02",
    "OKRSYNC_HTTP__AUTH__PASSWORD": "canary-page-password-2c7d11",
    "OKRSYNC_HTTP__AUTH__TOKEN": "canary-page-token-88e4b0",
}
WRONG_TOKEN = "pat-canary-wrong-token-9d8e7f6a"  # noqa: S105  (a canary, not a secret)


def _dump(store: Path) -> str:
    """Every row of every table of the SQLite file, as text."""
    out = []
    with sqlite3.connect(store) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            out.extend(repr(row) for row in db.execute(f'SELECT * FROM "{table}"'))  # noqa: S608
    db.close()
    return "\n".join(out)


def _served_page(url: str) -> dict[str, str]:
    """The status page the daemon serves (with the bearer token), and its refusal without it."""
    token = CANARIES["OKRSYNC_HTTP__AUTH__TOKEN"]
    page = urllib.request.Request(url + "/", headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(page, timeout=10) as response:  # noqa: S310
        served = response.read().decode()
    with pytest.raises(urllib.error.HTTPError) as refused:  # no credentials: 401
        urllib.request.urlopen(url + "/?cycle=" + token, timeout=10)  # noqa: S310
    assert refused.value.code == 401
    denied = refused.value.read().decode() + str(refused.value.headers)
    return {"daemon / (status page)": served, "daemon / without credentials": denied}


def _written_page(config: Path, env: dict[str, str]) -> dict[str, str]:
    """The page ``okrsync report --html`` writes (and its output), and the Markdown digest."""
    page_file = config.parent / "status.html"
    common = ("report", "--config", str(config), "--mappings", str(MAPPINGS))
    written = run_okrsync(*common, "--html", str(page_file), **env)
    assert written.returncode == 0, written.stderr[-2000:]
    digest = run_okrsync(*common, "--format", "markdown", **env)
    assert digest.returncode == 0, digest.stderr[-2000:]
    page = page_file.read_text(encoding="utf-8")
    assert 'class="problem"' in page  # the failed run's errors are on the page
    return {
        "okrsync report --html (file and output)": page + written.stdout + written.stderr,
        "okrsync report --format markdown": digest.stdout + digest.stderr,
    }


def test_no_secret_anywhere(sandboxes: Callable[..., Sandbox]) -> None:
    """A full cycle, a CLI sync with debug JSON logs, status, /metrics, the status page (served and written), a failing cycle and the state store hold no secret value."""
    sandbox = sandboxes("canary")
    config = sandbox.write_config("canary", extra="http: {port: 0, auth: {username: ops}}\n")
    secrets = {
        v for box in sandbox.group.sandboxes.values() for v in box.connector_secrets().values()
    }
    secrets |= {*CANARIES.values(), WRONG_TOKEN}
    places: dict[str, str] = {}
    app = make_app(sandbox, config, env={**CANARIES, **FAST_RETRIES})
    provision(app)
    with capture_logs() as logs:
        report = app.engine().run("check_in", AS_OF)
    assert report.outcome == "succeeded", report.error
    places["captured structlog events"] = repr(logs)
    places["cycle report"] = repr(report.as_json())

    cli_env = {**CANARIES, "OKRSYNC_LOG__LEVEL": "debug", "OKRSYNC_LOG__FORMAT": "json"}
    sync = run_okrsync(
        "sync",
        "--json",
        "--config",
        str(config),
        "--mappings",
        str(MAPPINGS),
        "--as-of",
        AS_OF.isoformat(),
        **cli_env,
    )
    assert sync.returncode == 0, sync.stderr[-2000:]
    places["okrsync sync --json stdout"] = sync.stdout
    places["okrsync sync debug log (stderr)"] = sync.stderr
    status = run_okrsync("status", "--json", "--config", str(config), **cli_env)
    assert status.returncode == 0, status.stderr[-2000:]
    places["okrsync status --json"] = status.stdout + status.stderr

    daemon = Daemon(app, reload_seconds=3600, sync_at_start=False)
    daemon.start()
    try:
        daemon.cycle("sync")
        assert daemon.http is not None
        with urllib.request.urlopen(daemon.http.url + "/metrics", timeout=10) as response:  # noqa: S310
            places["daemon /metrics"] = response.read().decode()
        places |= _served_page(daemon.http.url)
    finally:
        daemon.shutdown()

    failing = run_okrsync(
        "sync",
        "--json",
        "--config",
        str(config),
        "--mappings",
        str(MAPPINGS),
        "--as-of",
        AS_OF.isoformat(),
        OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN=WRONG_TOKEN,
        OKRSYNC_CONNECTORS__SALESFORCE__SESSION_ID=WRONG_TOKEN + "-sf",
        **cli_env,
    )
    assert failing.returncode != 0 or '"succeeded"' not in failing.stdout, failing.stdout[-500:]
    places["failing sync (wrong tokens) output"] = failing.stdout + failing.stderr
    places |= _written_page(config, cli_env)  # the page also shows the failed run's error
    store = app.settings.store_url.get_secret_value().removeprefix("sqlite:///")
    places["state store (every table)"] = _dump(Path(store))

    leaks = {
        (where, secret[:6] + "…")
        for where, text in places.items()
        for secret in secrets
        if secret and secret in text
    }
    print(f"canary: {len(secrets)} secrets checked in {len(places)} places: {sorted(places)}")  # noqa: T201
    assert not leaks, sorted(leaks)
