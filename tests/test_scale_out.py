"""Several daemons on one PostgreSQL store: one cycle at a time per workspace, takeover on death."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from okrsync.app import App, load_config, load_mappings_for
from okrsync.connector import FieldInfo
from okrsync.daemon import Daemon
from okrsync.plugins import PluginRegistry
from okrsync.state.db import open_store
from okrsync.testing import InMemoryConnector

from .letter_case import EXPECTED, letter_case_counts

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_url: str):
    """A fresh database on the test server, for one test."""
    name = f"okrsync_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    key_results:
      - {key: deals, title: Deals, source: salesforce, metric: {count: Opportunity}, target: 10}
"""


class SlowConnector(InMemoryConnector):
    """Pulls take a while, so two replicas' ticks overlap."""

    def pull(self, *args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: D102
        time.sleep(0.5)
        return super().pull(*args, **kwargs)


def daemon(tmp_path: Path, url: str, crm: InMemoryConnector, name: str) -> Daemon:
    folder = tmp_path / name
    (folder / "maps").mkdir(parents=True)
    (folder / "maps" / "q3.yaml").write_text(MAPPING)
    (folder / "okrsync.yaml").write_text(
        f"workspace: acme\nstore_url: {url}\nmappings: {folder / 'maps'}\nhttp: {{port: 0}}\n"
    )
    registry = PluginRegistry.from_entry_points()
    settings = load_config(folder / "okrsync.yaml", registry=registry, env={}, log=False)
    app = App(
        settings,
        registry,
        load_mappings_for(settings, registry),
        open_store(url),
        {"salesforce": crm},
    )
    return Daemon(app, reload_seconds=3600, sync_at_start=False)


def counter(d: Daemon, name: str) -> float:
    return sum(
        sample.value
        for metric in d.metrics.registry.collect()
        for sample in metric.samples
        if sample.name == name
    )


def test_one_cycle_at_a_time_across_replicas(tmp_path: Path, pg: str) -> None:
    """Two replicas ticking together: one runs the cycle, the other skips (advisory lock)."""
    crm = SlowConnector(
        "salesforce", objects={"Opportunity": {"Amount": FieldInfo("Amount", "currency")}}
    )
    crm.put("Opportunity", {"Amount": 1.0})
    first, second = daemon(tmp_path, pg, crm, "a"), daemon(tmp_path, pg, crm, "b")
    threads = [threading.Thread(target=d.cycle) for d in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = counter(first, "okrsync_cycles_total") + counter(second, "okrsync_cycles_total")
    skipped = counter(first, "okrsync_cycles_skipped_locked_total") + counter(
        second, "okrsync_cycles_skipped_locked_total"
    )
    assert (ran, skipped) == (1, 1)
    assert crm.okr["key_result"]["Q3/grow/deals"]["current_value"] == 1.0
    first.app.db.dispose()
    second.app.db.dispose()


def test_a_dead_replicas_lock_is_taken_over(tmp_path: Path, pg: str) -> None:
    """When the replica holding the workspace dies, the next tick of another one runs."""
    crm = InMemoryConnector(
        "salesforce", objects={"Opportunity": {"Amount": FieldInfo("Amount", "currency")}}
    )
    crm.put("Opportunity", {"Amount": 1.0})
    survivor = daemon(tmp_path, pg, crm, "c")
    key = survivor.lock.key
    other = sa.create_engine(pg, poolclass=sa.pool.NullPool)
    dying = other.connect()  # a replica that took the lock, then died
    dying.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
    survivor.cycle()
    assert counter(survivor, "okrsync_cycles_skipped_locked_total") == 1
    pid = dying.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with other.connect() as admin:  # its session ends: the lock goes
        admin.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    dying.invalidate()
    dying.close()
    other.dispose()
    survivor.cycle()
    assert counter(survivor, "okrsync_cycles_total") == 1
    assert "Q3/grow/deals" in crm.okr["key_result"]
    survivor.app.db.dispose()


def test_store_migrates_on_postgresql(pg: str) -> None:
    """The state store's schema is created and reopened on PostgreSQL."""
    engine = open_store(pg)
    again = open_store(pg)
    with again.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT max(version) FROM okrsync_schema_version")).scalar() >= 2
        )
    engine.dispose()
    again.dispose()


def test_text_ignores_letter_case_beyond_ascii_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    """``MÜLLER GMBH`` selects ``Müller GmbH`` on PostgreSQL, even under the ``C`` locale.

    There PostgreSQL's own lower() changes ASCII letters only.
    """
    name = f"okrsync_c_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        )
    engine = open_store(postgres_url.rsplit("/", 1)[0] + "/" + name)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT lower('MÜLLER')")).scalar() == "mÜller"
        assert letter_case_counts(engine, tmp_path, date(2026, 8, 15)) == EXPECTED
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
