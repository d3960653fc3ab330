"""The daemon in-process: cycles feed /metrics and /readyz; mapping edits reload or are rejected."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from okrsync.app import App, load_config, load_mappings_for
from okrsync.connector import FieldInfo
from okrsync.daemon import Daemon
from okrsync.errors import RetriableConnectorError
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path

MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: salesforce, metric: {count: Opportunity}, target: 10}
"""


@pytest.fixture
def daemon(tmp_path: Path):
    """A daemon over an in-memory CRM, serving HTTP on a free port."""
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "q3.yaml").write_text(MAPPING)
    (tmp_path / "okrsync.yaml").write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nmappings: {tmp_path / 'maps'}\nhttp: {{port: 0}}\n"
        "schedules: {sync: {interval: 1h}, check_in: {cron: '0 7 * * MON'}}\n"
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(tmp_path / "okrsync.yaml", registry=registry, env={}, log=False)
    crm = InMemoryConnector(
        "salesforce", objects={"Opportunity": {"Amount": FieldInfo("Amount", "currency")}}
    )
    for i in range(4):
        crm.put("Opportunity", {"Amount": 10.0 * i})
    app = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(settings.store_url.get_secret_value()),
        {"salesforce": crm},
    )
    d = Daemon(app, reload_seconds=3600, sync_at_start=False)
    d.start()
    yield d, crm, tmp_path
    d.shutdown()


def get(d: Daemon, path: str) -> tuple[int, str]:
    assert d.http is not None
    try:
        with urllib.request.urlopen(d.http.url + path, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_cycle_shows_in_metrics_and_readiness(daemon) -> None:
    """After a cycle, /metrics counts it with its KRs by status and /readyz is ready."""
    d, crm, _ = daemon
    d.cycle("sync")
    assert get(d, "/healthz") == (200, '{"status":"ok"}')
    status, body = get(d, "/readyz")
    assert status == 200
    assert json.loads(body)["ready"] is True
    _, metrics = get(d, "/metrics")
    assert 'okrsync_cycles_total{kind="sync",outcome="succeeded"}' in metrics
    assert 'okrsync_records_written_total{connector="salesforce"} 2.0' in metrics
    assert crm.okr["key_result"]["Q3/grow/deals"]["current_value"] == 4.0


def test_readiness_follows_cycles_that_synced_nothing(daemon) -> None:
    """Three real cycles that reach no CRM make /readyz 503; a partly synced cycle makes it ready again."""
    d, crm, _ = daemon
    d.cycle("sync")
    status, body = get(d, "/readyz")
    assert (status, json.loads(body)["cycles_synced_nothing"]) == (200, 0)
    crm.fail_next = [RetriableConnectorError("connection refused", crm="salesforce")] * 1000
    for n in (1, 2):
        d.cycle("sync")
        status, body = get(d, "/readyz")
        assert status == 200, body
        assert json.loads(body)["cycles_synced_nothing"] == n
        assert json.loads(body)["last_outcome"] == "partial"  # a partial that synced nothing
    d.cycle("check_in")  # every job counts
    status, body = get(d, "/readyz")
    assert status == 503
    assert json.loads(body)["reason"] == "3 cycles in a row synced nothing"
    assert json.loads(body)["last_synced_at"] is not None
    _, metrics = get(d, "/metrics")
    assert "okrsync_cycles_synced_nothing 3.0" in metrics
    crm.fail_next = []
    crm.put("Opportunity", {"Amount": 99.0})  # both records change...
    crm.fail_keys["Q3/grow"] = "VALIDATION_ERROR"  # ...and the objective is refused: partly synced
    d.cycle("sync")
    status, body = get(d, "/readyz")
    assert status == 200, body
    assert json.loads(body)["last_outcome"] == "partial"
    assert json.loads(body)["cycles_synced_nothing"] == 0


def test_readiness_threshold_is_configurable(daemon) -> None:
    """`readiness.unready_after_cycles` sets how many cycles that synced nothing make /readyz 503."""
    d, crm, _ = daemon
    d.app.settings = d.app.settings.model_copy(
        update={
            "readiness": d.app.settings.readiness.model_copy(update={"unready_after_cycles": 1})
        }
    )
    crm.fail_next = [RetriableConnectorError("connection refused", crm="salesforce")] * 1000
    d.cycle("sync")
    assert get(d, "/readyz")[0] == 503


def test_mapping_edits_are_hot_reloaded_and_broken_ones_rejected(daemon) -> None:
    """A good edit takes effect; a broken edit is logged with its location and the last good stays."""
    d, crm, tmp = daemon
    path = tmp / "maps" / "q3.yaml"
    path.write_text(MAPPING.replace("target: 10", "target: 20"))
    assert d.reload_if_changed()
    assert next(d.app.mappings.key_results()).target == 20
    with capture_logs() as logs:
        path.write_text(MAPPING.replace("target: 10", "target: twenty"))
        assert not d.reload_if_changed()
    failed = [e for e in logs if e["event"] == "mappings.reload.failed"]
    assert failed
    assert any("q3.yaml:7:" in p and "got 'twenty'" in p for p in failed[0]["problems"])
    assert next(d.app.mappings.key_results()).target == 20
    d.cycle("sync")
    assert crm.okr["key_result"]["Q3/grow/deals"]["target_value"] == 20
    _, metrics = get(d, "/metrics")
    assert "okrsync_mappings_reload_failures_total 1.0" in metrics


def test_one_cycle_at_a_time(daemon) -> None:
    """A tick arriving while a cycle runs is skipped, not run in parallel."""
    d, _, _ = daemon
    assert d.lock.local.acquire(blocking=False)
    try:
        d.cycle("sync")
    finally:
        d.lock.local.release()
    _, metrics = get(d, "/metrics")
    assert "okrsync_cycles_skipped_locked_total 1.0" in metrics
    assert 'okrsync_key_results{status="on_track"}' not in metrics  # the cycle never ran
