"""Describes kept in the state store: fresh for a day, per workspace and connector, never failing a cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from structlog.testing import capture_logs

from okrsync.connector import FieldInfo, ObjectInfo
from okrsync.mapping.loader import load_mappings
from okrsync.plan import build_plan, check_fields
from okrsync.state.db import open_store
from okrsync.state.schema_cache import StoreSchemaCache
from okrsync.testing import InMemoryConnector

if TYPE_CHECKING:
    from pathlib import Path


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 9, 1, 8, tzinfo=UTC)

    def __call__(self) -> datetime:
        """The time now."""
        return self.now


def test_values_round_trip_until_they_are_a_day_old(tmp_path: Path) -> None:
    """A value reads back as stored; after the age limit it reads as missing."""
    clock = Clock()
    cache = StoreSchemaCache(open_store(f"sqlite:///{tmp_path / 's.db'}"), "w", "sf", clock=clock)
    value: dict[str, Any] = {
        "name": "Opportunity",
        "fields": [{"name": "Amount", "type": "currency"}],
    }
    cache.put("describe/opportunity", value)
    assert cache.get("describe/opportunity") == value
    assert cache.get("describe/account") is None
    clock.now += timedelta(hours=23, minutes=59)
    assert cache.get("describe/opportunity") == value
    clock.now += timedelta(minutes=2)
    assert cache.get("describe/opportunity") is None
    cache.put(
        "describe/opportunity", {"name": "Opportunity", "fields": []}
    )  # replaced, fresh again
    assert cache.get("describe/opportunity") == {"name": "Opportunity", "fields": []}


def test_entries_belong_to_one_workspace_and_connector(tmp_path: Path) -> None:
    """Two connectors (or workspaces) sharing a store never read each other's describes."""
    db = open_store(f"sqlite:///{tmp_path / 's.db'}")
    StoreSchemaCache(db, "w", "sf-emea").put("describe/account", ["emea"])
    StoreSchemaCache(db, "w", "sf-us").put("describe/account", ["us"])
    assert StoreSchemaCache(db, "w", "sf-emea").get("describe/account") == ["emea"]
    assert StoreSchemaCache(db, "w", "sf-us").get("describe/account") == ["us"]
    assert StoreSchemaCache(db, "other", "sf-us").get("describe/account") is None


def test_forget_drops_by_prefix_taking_it_literally(tmp_path: Path) -> None:
    """``forget(prefix)`` drops keys starting with it (``%`` and ``_`` are not patterns)."""
    cache = StoreSchemaCache(open_store(f"sqlite:///{tmp_path / 's.db'}"), "w", "hs")
    for key in ("properties/deals", "properties/0-3", "properties%x", "schemas"):
        cache.put(key, [key])
    cache.forget("properties%")
    assert cache.get("properties%x") is None
    assert cache.get("properties/deals") == ["properties/deals"]
    cache.forget("properties/")
    assert (cache.get("properties/deals"), cache.get("properties/0-3")) == (None, None)
    assert cache.get("schemas") == ["schemas"]
    cache.forget()
    assert cache.get("schemas") is None


def test_a_store_failure_reads_as_a_miss_and_is_logged(tmp_path: Path) -> None:
    """The cache never fails a cycle: without its table, reads miss and writes are dropped."""
    db = sa.create_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")
    cache = StoreSchemaCache(db, "w", "sf")
    with capture_logs() as logs:
        cache.put("describe/account", {"name": "Account"})
        assert cache.get("describe/account") is None
        cache.forget()
    assert [e["action"] for e in logs if e["event"] == "schema_cache.failed"] == [
        "write",
        "read",
        "forget",
    ]


class StaleCRM(InMemoryConnector):
    """A CRM whose kept describe of ``deals`` predates the field ``region``."""

    def describe(self, object_name: str, *, refresh: bool = False) -> ObjectInfo:
        """Without ``refresh``, the kept (stale) describe."""
        info = super().describe(object_name, refresh=refresh)
        if refresh:
            self.refreshed = True
            return info
        return ObjectInfo(
            info.name, info.label, {k: v for k, v in info.fields.items() if k != "region"}
        )


MAPPING = """\
version: 1
cycle: {name: Q3, start: 2026-07-01, end: 2026-09-30}
objectives:
  - key: grow
    title: Grow
    owner: {user: jane@acme.example}
    key_results:
      - key: emea
        title: EMEA deals
        source: crm
        metric: {count: deals, where: {region: EMEA}, window: {close_day: cycle_to_date}}
        target: 10
"""


def test_a_field_missing_from_a_kept_describe_is_described_again(tmp_path: Path) -> None:
    """A field just added in the CRM is found at once, not a day later."""
    (tmp_path / "q3.yaml").write_text(MAPPING)
    mappings = load_mappings(tmp_path, sources={"crm": "memory"}, catalogs={})
    crm = StaleCRM(
        "crm",
        objects={
            "deals": {
                "region": FieldInfo("region", "picklist"),
                "close_day": FieldInfo("close_day", "date"),
            }
        },
    )
    crm.refreshed = False
    types, problems = check_fields(build_plan(mappings), {"crm": crm})
    assert problems == []
    assert crm.refreshed
    assert set(types["crm", "deals"]) == {"region", "close_day"}
