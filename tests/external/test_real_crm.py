"""Smoke test against a real Salesforce org or HubSpot portal: provision, sync, read back.

Skipped unless ``OKRSYNC_EXTERNAL_TESTS=1`` and the CRM's connector settings are in
the environment (``OKRSYNC_CONNECTORS__SALESFORCE__…``,
``OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN``), exactly as okrsync reads them.
See docs/external-tests.md. The records it writes are keyed ``okrsync-smoke…``: each
run updates the same ones (delete them by hand when done).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.app import connect, load_config, load_mappings_for
from okrsync.config import env_var_name
from okrsync.crm_objects import KEY_RESULT, OBJECTIVE, OKR_OBJECTS
from okrsync.engine import SyncEngine
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.external_service

CYCLE = "okrsync-smoke"
OBJECTIVE_KEY = "okrsync-smoke"


def _quarter(today: date) -> tuple[date, date]:
    """The calendar quarter holding ``today``."""
    start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    following = date(start.year + start.month // 10, (start.month + 2) % 12 + 1, 1)
    return start, date.fromordinal(following.toordinal() - 1)


def _settings_given(crm: str) -> bool:
    prefix = env_var_name(("connectors", crm, ""))
    return any(name.startswith(prefix) for name in os.environ)


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_provision_sync_and_read_back_against_the_real_crm(crm: str, tmp_path: Path) -> None:
    """Provisioning is idempotent, a sync succeeds, and the CRM holds what the sync computed."""
    if not _settings_given(crm):
        pytest.skip(f"no {crm} settings: set {env_var_name(('connectors', crm, '…'))} variables")
    today = datetime.now(UTC).date()
    start, end = _quarter(today)
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "smoke.yaml").write_text(
        f"""version: 1
cycle: {{name: {CYCLE}, start: {start}, end: {end}}}
objectives:
  - key: {OBJECTIVE_KEY}
    title: okrsync smoke test (safe to delete)
    key_results:
      - key: open-deals
        title: okrsync smoke test, open deals (safe to delete)
        source: {crm}
        metric: pipeline_count
        target: 1000000
""",
        encoding="utf-8",
    )
    (tmp_path / "okrsync.yaml").write_text(
        f"store_url: sqlite:///{tmp_path / 'state.db'}\nconnectors:\n  {crm}: {{type: {crm}}}\n",
        encoding="utf-8",
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(tmp_path / "okrsync.yaml", tmp_path / "mappings", registry=registry)
    mappings = load_mappings_for(settings, registry)
    db = open_store(settings.store_url.get_secret_value())
    connectors = connect(settings, registry, {crm}, db=db)
    connector = connectors[crm]
    try:
        connector.provision(OKR_OBJECTS)
        assert connector.provision(OKR_OBJECTS, dry_run=True) == []  # nothing left to do
        engine = SyncEngine(
            workspace=settings.workspace, mappings=mappings, connectors=connectors, db=db
        )
        report = engine.run("sync", today)
        assert report.outcome == "succeeded", report
        [result] = report.key_results
        assert result.value.error is None
        kr_key = result.kr.full_key
        written = connector.read_back(KEY_RESULT, [kr_key])[kr_key]
        assert written["current_value"] == pytest.approx(result.value.value)
        assert written["score"] == pytest.approx(result.score.score)
        objective = f"{CYCLE}/{OBJECTIVE_KEY}"
        assert objective in connector.read_back(OBJECTIVE, [objective])
        again = engine.run("sync", today)
        assert again.outcome == "succeeded"
        assert again.writes.as_dict()[crm]["upserted"] == 0  # nothing changed, nothing written
    finally:
        for made in connectors.values():
            made.close()
        db.dispose()
