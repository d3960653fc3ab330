"""The status page served by the daemon, its optional auth, and ``okrsync report``."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from okrsync.app import load_config
from okrsync.cli import app as cli
from okrsync.config import HttpAuth
from okrsync.daemon import Daemon
from okrsync.errors import ConfigurationError
from okrsync.plugins import PluginRegistry
from okrsync.report.web import authorized

from .report_world import build_world

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "correct horse battery staple"  # noqa: S105  (a test credential)
TOKEN = "tok-5d1c8e0f9a7b"  # noqa: S105  (a test credential)


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET"):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def served(tmp_path: Path):
    """A daemon over the report world, serving on a free port (no auth)."""
    world = build_world(tmp_path, weeks=2)
    daemon = Daemon(world.app, reload_seconds=3600, sync_at_start=False)
    daemon.start()
    assert daemon.http is not None
    yield daemon.http.url, world
    daemon.shutdown()


def test_the_daemon_serves_the_page_at_the_root(served) -> None:
    """GET / answers the page of the current cycle, uncached, unframeable, with a strict policy."""
    url, world = served
    status, headers, body = get(url + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "We become true hunters" in body
    assert 'href="?cycle=2026-H2"' in body
    half = get(url + "/?cycle=2026-H2")
    assert half[0] == 200
    assert "We become true hunters" not in half[2]
    assert get(url + "/healthz")[0] == 200
    assert world.app.settings.http.auth.enabled is False


def test_unknown_cycles_and_writes_are_refused(served) -> None:
    """An unknown ?cycle= is a 404 that lists the cycles (escaped); POST is 405; HEAD has no body."""
    url, _ = served
    status, _, body = get(url + "/?cycle=%3Cscript%3Ex%3C/script%3E")
    assert status == 404
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    assert 'href="?cycle=2026-Q3"' in body
    status, headers, _ = get(url + "/", method="POST")
    assert (status, headers.get("Allow")) == (405, "GET, HEAD")
    status, _, body = get(url + "/", method="HEAD")
    assert (status, body) == (200, "")


@pytest.fixture
def guarded(tmp_path: Path):
    """A daemon whose page needs basic auth (user ops) or a bearer token, both from the environment."""
    world = build_world(tmp_path, weeks=1, extra="")
    registry = PluginRegistry.from_entry_points()
    env = {
        "OKRSYNC_HTTP__AUTH__USERNAME": "ops",
        "OKRSYNC_HTTP__AUTH__PASSWORD": PASSWORD,
        "OKRSYNC_HTTP__AUTH__TOKEN": TOKEN,
    }
    world.app.settings = load_config(world.config, registry=registry, env=env, log=False)
    daemon = Daemon(world.app, reload_seconds=3600, sync_at_start=False)
    daemon.start()
    assert daemon.http is not None
    yield daemon.http.url
    daemon.shutdown()


def test_auth_guards_the_page_but_not_health_or_metrics(guarded) -> None:
    """Without or with wrong credentials the page is a 401 challenge; basic or bearer open it."""
    url = guarded
    status, headers, body = get(url + "/")
    assert status == 401
    assert "We become true hunters" not in body
    challenge = headers["WWW-Authenticate"]
    assert 'Basic realm="okrsync status"' in challenge or "Bearer" in challenge
    assert get(url + "/", basic("ops", "wrong"))[0] == 401
    assert get(url + "/", basic("root", PASSWORD))[0] == 401
    assert get(url + "/", {"Authorization": "Bearer nope"})[0] == 401
    assert get(url + "/", {"Authorization": "Basic %%%"})[0] == 401
    ok = get(url + "/", basic("ops", PASSWORD))
    assert ok[0] == 200
    assert "We become true hunters" in ok[2]
    assert get(url + "/", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    for path in ("/healthz", "/readyz", "/metrics"):
        assert get(url + path)[0] == 200, path


def test_authorized_compares_each_scheme() -> None:
    """Basic needs both parts right, bearer the token; a scheme not configured never passes."""
    both = HttpAuth(username="ops", password=SecretStr(PASSWORD), token=SecretStr(TOKEN))
    assert authorized(both, basic("ops", PASSWORD)["Authorization"])
    assert authorized(both, f"bearer {TOKEN}")
    assert not authorized(both, None)
    assert not authorized(both, f"Bearer {TOKEN}x")
    assert not authorized(both, "Basic " + base64.b64encode(b"ops").decode())
    token_only = HttpAuth(token=SecretStr(TOKEN))
    assert not authorized(token_only, basic("ops", TOKEN)["Authorization"])
    assert authorized(HttpAuth(), None)


def test_auth_secrets_come_from_the_environment_only(tmp_path: Path) -> None:
    """A password in the YAML file is a located error; a user without a password is one too."""
    registry = PluginRegistry.from_entry_points()
    config = tmp_path / "okrsync.yaml"
    config.write_text("http:\n  auth:\n    username: ops\n    password: hunter2hunter2\n")
    with pytest.raises(ConfigurationError) as caught:
        load_config(config, registry=registry, env={}, log=False)
    text = str(caught.value)
    assert "okrsync.yaml:4:5" in text
    assert "OKRSYNC_HTTP__AUTH__PASSWORD" in text
    assert "hunter2hunter2" not in text
    config.write_text("http:\n  auth:\n    username: ops\n")
    with pytest.raises(ConfigurationError, match="expected `password` too"):
        load_config(config, registry=registry, env={}, log=False)
    settings = load_config(
        config, registry=registry, env={"OKRSYNC_HTTP__AUTH__PASSWORD": "s3cret-pw"}, log=False
    )
    assert "s3cret-pw" in settings.secret_values()


def test_the_page_can_be_turned_off(tmp_path: Path) -> None:
    """With http.page false, / is a 404 and the health endpoints still answer."""
    world = build_world(tmp_path, weeks=1, extra="page: {title: Acme}\n")
    registry = PluginRegistry.from_entry_points()
    world.app.settings = load_config(
        world.config, registry=registry, env={"OKRSYNC_HTTP__PAGE": "false"}, log=False
    )
    daemon = Daemon(world.app, reload_seconds=3600, sync_at_start=False)
    daemon.start()
    try:
        assert daemon.http is not None
        assert get(daemon.http.url + "/")[0] == 404
        assert get(daemon.http.url + "/healthz")[0] == 200
    finally:
        daemon.shutdown()


def test_report_command_writes_the_page_and_prints_the_digest(tmp_path: Path) -> None:
    """`okrsync report --html` writes one self-contained file; `--format markdown` prints the digest."""
    world = build_world(tmp_path, weeks=3, extra="page: {title: Acme sales OKRs, currency: EUR}\n")
    world.app.close()
    runner = CliRunner()
    target = tmp_path / "out" / "status.html"
    target.parent.mkdir()
    result = runner.invoke(cli, ["report", "--config", str(world.config), "--html", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<title>Acme sales OKRs · 2026-Q3</title>" in page
    assert "€" in page
    assert "?cycle=" not in page  # a file holds one cycle: no links to others
    assert not list(target.parent.glob(".*partial"))
    digest = runner.invoke(cli, ["report", "--config", str(world.config), "--format", "markdown"])
    assert digest.exit_code == 0, digest.output
    assert digest.stdout.startswith("# Acme sales OKRs · 2026-Q3: weekly check-in")
    printed = runner.invoke(cli, ["report", "-c", str(world.config), "--format", "html"])
    assert printed.stdout.startswith("<!doctype html>")
    assert "?cycle=" not in printed.stdout
    half = runner.invoke(cli, ["report", "-c", str(world.config), "--cycle", "2026-H2"])
    assert "# Acme sales OKRs · 2026-H2" in half.stdout
    missing = runner.invoke(cli, ["report", "-c", str(world.config), "--cycle", "2027-Q1"])
    assert missing.exit_code == 2
    assert "no cycle named '2027-Q1'; the mappings define 2026-H2, 2026-Q3" in missing.output
