"""The doctor's core without CRMs: connectors with and without their own checks, the state store, the checklist."""

from __future__ import annotations

import socket
import sqlite3
from textwrap import dedent
from typing import TYPE_CHECKING

from okrsync.app import load_config, load_mappings_for
from okrsync.connector import FieldInfo
from okrsync.diagnosis import (
    Check,
    CheckStatus,
    Diagnosable,
    DiagnosisRequest,
    Identifiable,
    run_steps,
)
from okrsync.doctor import check_store, diagnose_app, render, run_doctor
from okrsync.errors import FatalConnectorError, QuotaReserveReached
from okrsync.kit import ConnectorSettings
from okrsync.plugins import PluginRegistry, StaticPlugin
from okrsync.state.db import SCHEMA_VERSION, open_store
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.config import Settings
    from okrsync.doctor import Diagnosis

CATALOG = b"""\
version: 1
connector: memory
metrics:
  deal_count:
    unit: count
    accumulates: false
    metric: {count: deals}
"""
MEMORY = StaticPlugin("memory", "Memory CRM", ConnectorSettings, "memory.yaml", CATALOG)
DEALS = {"deals": {"amount": FieldInfo("amount", "currency")}}
MAPPING = dedent("""\
    version: 1
    cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
    objectives:
      - key: grow
        title: Grow
        owner: {user: ada@acme.example}
        key_results:
          - {key: deals, title: Deals, source: a, metric: deal_count, target: 10}
          - {key: amount, title: Amount, source: a, metric: {sum: deals.amount}, target: 10}
""")


class _Diagnosed(InMemoryConnector):
    """An in-memory CRM whose own checks are given."""

    def __init__(self, answer: list[Check] | Exception) -> None:
        super().__init__("a", objects=DEALS)
        self.answer = answer
        self.requests: list[DiagnosisRequest] = []

    def diagnose(self, request: DiagnosisRequest) -> list[Check]:
        """The given checks (or the given error)."""
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def diagnose(tmp_path: Path, connector: InMemoryConnector, mapping: str = MAPPING) -> Diagnosis:
    """The doctor's checks of one in-memory connector instance ``a`` with ``mapping``."""
    (tmp_path / "maps").mkdir(exist_ok=True)
    (tmp_path / "maps" / "q3.yaml").write_text(mapping, encoding="utf-8")
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {tmp_path / 'maps'}\n"
        "connectors:\n  a: {type: memory}\n",
        encoding="utf-8",
    )
    registry = PluginRegistry([MEMORY])
    settings = load_config(config, registry=registry, env={}, log=False)
    loaded = load_mappings_for(settings, registry)
    return diagnose_app(settings, registry, loaded, {"a": connector})


def store_settings(folder: Path, url: str) -> Settings:
    """Settings naming only a state store."""
    config = folder / "store.yaml"
    config.write_text("workspace: doctor\n", encoding="utf-8")
    registry = PluginRegistry([MEMORY])
    return load_config(config, registry=registry, env={"OKRSYNC_STORE_URL": url}, log=False)


def section(diagnosis: Diagnosis, name: str) -> dict[str, Check]:
    """One section's checks by name."""
    return {c.name: c for s, c in diagnosis.checks() if s.name == name}


def test_a_connector_without_checks_of_its_own_still_gets_the_cores(tmp_path: Path) -> None:
    """Without `diagnose`, the core's checks (fields, metrics, owners) reach the CRM through the plain protocol."""
    plain = InMemoryConnector("a", objects=DEALS)
    assert not isinstance(plain, Diagnosable)
    diagnosis = diagnose(tmp_path, plain)
    checks = section(diagnosis, "a")
    assert {n: c.status for n, c in checks.items()} == {
        "diagnose": CheckStatus.SKIP,
        "fields": CheckStatus.PASS,
        "metrics": CheckStatus.PASS,
        "owners": CheckStatus.PASS,
    }
    assert "has no checks of its own" in checks["diagnose"].detail
    assert checks["fields"].detail == "1 field of 1 object exists and is readable"
    assert diagnosis.ok
    broken = diagnose(tmp_path, plain, MAPPING.replace("deals.amount", "deals.amont"))
    fields = section(broken, "a")["fields"]
    assert fields.status is CheckStatus.FAIL
    assert fields.problems == (
        (
            f"{tmp_path / 'maps' / 'q3.yaml'}:9:63: objectives[0].key_results[1].metric.sum: a has "
            "no field `deals.amont`"
        ),
    )
    assert not broken.ok
    assert int(broken.exit_code) == 2


def test_a_blocking_failure_of_the_connector_skips_the_checks_that_need_the_crm(
    tmp_path: Path,
) -> None:
    """A failed login skips the core's checks of that CRM; a connector that raises fails its own checks."""
    login = Check("auth", "login", CheckStatus.FAIL, "refused", fix="renew", blocking=True)
    connector = _Diagnosed([login])
    checks = section(diagnose(tmp_path, connector), "a")
    assert [(n, c.status) for n, c in checks.items()] == [
        ("auth", CheckStatus.FAIL),
        ("fields", CheckStatus.SKIP),
        ("metrics", CheckStatus.SKIP),
        ("owners", CheckStatus.SKIP),
    ]
    assert checks["owners"].detail == "not checked: login failed"
    assert connector.calls == 0  # nothing asked of the CRM after the login failed
    [request] = connector.requests
    assert [o.name for o in request.objects] == [
        "objective",
        "key_result",
        "check_in",
        "contribution",
    ]
    assert request.reads == {"deals": frozenset({"amount"})}
    raising = _Diagnosed(FatalConnectorError("the CRM said no", crm="memory"))
    checks = section(diagnose(tmp_path, raising), "a")
    assert checks["diagnose"].status is CheckStatus.FAIL
    assert "the CRM said no" in checks["diagnose"].detail
    assert checks["fields"].status is CheckStatus.SKIP
    passing = _Diagnosed([Check("auth", "login", CheckStatus.PASS, "as ada")])
    assert diagnose(tmp_path, passing).ok


def test_the_store_check_reads_the_schema_version_without_migrating(tmp_path: Path) -> None:
    """An older store passes and is left as it is; a file that is no database fails."""
    path = tmp_path / "old.db"
    open_store(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM okrsync_schema_version WHERE version = ?", (SCHEMA_VERSION,))
    settings = store_settings(tmp_path, f"sqlite:///{path}")
    check = check_store(settings)
    assert check.status is CheckStatus.PASS
    assert check.detail.endswith(
        f"schema version {SCHEMA_VERSION - 1}; the next run migrates it to version {SCHEMA_VERSION}"
    )
    with sqlite3.connect(path) as db:
        versions = [v for (v,) in db.execute("SELECT version FROM okrsync_schema_version")]
    assert max(versions) == SCHEMA_VERSION - 1
    junk = tmp_path / "junk.db"
    junk.write_text("not a database", encoding="utf-8")
    settings = store_settings(tmp_path, f"sqlite:///{junk}")
    check = check_store(settings)
    assert check.status is CheckStatus.FAIL
    assert "file is not a database" in check.detail


def test_an_unreachable_postgresql_store_fails_with_the_password_masked(tmp_path: Path) -> None:
    """A PostgreSQL URL nothing answers at fails, naming the URL without its password."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://okrsync:s3cret-Pw@127.0.0.1:{port}/okrsync"
    check = check_store(store_settings(tmp_path, url))
    assert check.status is CheckStatus.FAIL
    assert check.detail.startswith(
        f"cannot reach postgresql+psycopg://okrsync:**********@127.0.0.1:{port}/okrsync: "
    )
    assert "s3cret-Pw" not in check.detail
    assert "OKRSYNC_STORE_URL" in check.fix


def test_the_checklist_shows_each_failure_with_its_fix(tmp_path: Path) -> None:
    """A failed check prints its problems and its fix under it; the last line says how many failed."""
    login = Check(
        "auth", "login", CheckStatus.FAIL, "refused", fix="renew the token", blocking=True
    )
    lines = render(diagnose(tmp_path, _Diagnosed([login])))
    at = lines.index("a (Memory CRM)")
    assert lines[at + 1].split() == ["FAIL", "login", "refused"]
    assert lines[at + 2].strip() == "fix: renew the token"
    assert lines[at + 3].split()[:3] == ["skip", "mapped", "fields"]
    assert lines[-1] == "Not ready: 1 of 7 checks failed (3 skipped): a: login."
    assert all(len(line) <= 80 or "/" in line for line in lines)


def test_a_configuration_without_connectors_is_not_ready(tmp_path: Path) -> None:
    """A configuration that loads but names no CRM fails, pointing at the setup guides."""
    config = tmp_path / "okrsync.yaml"
    config.write_text(f"store_url: sqlite:///{tmp_path / 'state.db'}\n", encoding="utf-8")
    diagnosis = run_doctor(config, tmp_path, registry=PluginRegistry([MEMORY]), env={})
    checks = section(diagnosis, "okrsync")
    assert checks["config"].status is CheckStatus.FAIL
    assert checks["config"].detail.endswith("there is no CRM to sync with")
    assert "docs/salesforce-setup.md" in checks["config"].fix
    assert int(diagnosis.exit_code) == 2


def test_run_steps_skips_after_a_blocking_failure_and_answers_a_spent_quota_once() -> None:
    """A quota spent mid-way replaces the quota's earlier answer; a failing step blocks those after it."""

    def ok(name: str) -> Check:
        return Check(name, name, CheckStatus.PASS, "fine")

    def spent() -> Check:
        raise QuotaReserveReached("the day's requests are spent", crm="memory")

    def refused() -> Check:
        raise FatalConnectorError("refused", crm="memory")

    def failed(name: str, title: str, exc: Exception) -> Check:
        return Check(name, title, CheckStatus.FAIL, str(exc), fix="renew", blocking=True)

    checks = run_steps(
        [
            ("auth", "login", lambda: ok("auth")),
            ("quota", "daily API quota", lambda: ok("quota")),
            ("objects", "okrsync objects", spent),
            ("scopes", "token scopes", lambda: ok("scopes")),
        ],
        failed=failed,
        quota_fix="wait",
    )
    assert [(c.name, c.status) for c in checks] == [
        ("auth", CheckStatus.PASS),
        ("quota", CheckStatus.FAIL),
        ("objects", CheckStatus.SKIP),
        ("scopes", CheckStatus.SKIP),
    ]
    assert checks[1].fix == "wait"
    checks = run_steps(
        [("auth", "login", refused), ("quota", "daily API quota", lambda: ok("quota"))],
        failed=failed,
        quota_fix="wait",
    )
    assert [(c.name, c.status, c.detail) for c in checks] == [
        ("auth", CheckStatus.FAIL, "refused (crm=memory)"),
        ("quota", CheckStatus.SKIP, "not checked: login failed"),
    ]


class _Identified(InMemoryConnector):
    """An in-memory source that only says whom it reaches (as the sql connector does)."""

    def __init__(self, answer: str | Exception) -> None:
        super().__init__("a", objects=DEALS)
        self.answer = answer

    def whoami(self) -> str:
        """The given answer (or the given error)."""
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_connector_saying_whom_it_reaches_gets_a_login_check(tmp_path: Path) -> None:
    """`whoami` answers the login check; when it fails, the checks that need the service are skipped."""
    reached = _Identified("postgresql 16.4 at db:5432/product as okrsync")
    assert isinstance(reached, Identifiable)
    assert not isinstance(reached, Diagnosable)
    checks = section(diagnose(tmp_path, reached), "a")
    assert checks["auth"].status is CheckStatus.PASS
    assert checks["auth"].detail == "postgresql 16.4 at db:5432/product as okrsync"
    assert checks["fields"].status is CheckStatus.PASS
    refused = _Identified(FatalConnectorError("password authentication failed", crm="sql"))
    checks = section(diagnose(tmp_path, refused), "a")
    assert [(n, c.status) for n, c in checks.items()] == [
        ("auth", CheckStatus.FAIL),
        ("fields", CheckStatus.SKIP),
        ("metrics", CheckStatus.SKIP),
        ("owners", CheckStatus.SKIP),
    ]
    assert "password authentication failed" in checks["auth"].detail
    assert "its URL and credentials" in checks["auth"].fix
