"""The connector contract: the same tests for every connector, each against its own test service.

In the manner of the Singer SDK's standard tests. A connector package runs the
suite from its own tests with its own :class:`~okrsync.testing.driver.Driver`::

    from okrsync.testing.contract import ConnectorContract

    class TestContract(ConnectorContract):
        driver_class = MyDriver

The tests talk to the connector only through okrsync's ``Connector`` protocol
(see :mod:`okrsync.connector` and the reference behaviour in
:class:`okrsync.testing.InMemoryConnector`); what differs between sources lives
in the driver. A test needing a :class:`~okrsync.testing.driver.Capability` the
driver does not declare is skipped as not applicable, saying which; a test the
driver lists in ``gaps`` must fail (strict xfail) until the gap is closed.

This module imports pytest; for assertion details in failures, register it in
your ``conftest.py``: ``pytest.register_assert_rewrite("okrsync.testing.contract")``.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pytest

from okrsync.connector import Cursor, Predicate, UpsertStatus, now_stamp
from okrsync.crm_objects import KEY_RESULT, OKR_OBJECTS
from okrsync.diagnosis import CheckStatus, Diagnosable, DiagnosisRequest
from okrsync.errors import FatalConnectorError, QuotaReserveReached
from okrsync.state.db import open_store
from okrsync.state.schema_cache import StoreSchemaCache
from okrsync.testing.driver import (
    NEW_AMOUNT,
    RECORDS,
    SYNCED,
    Capability,
    Driver,
    drain,
    ids_of,
    key_results,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = ["ConnectorContract", "needs"]

_Test = TypeVar("_Test", bound="Callable[..., None]")

WRITES, DELETIONS, QUOTA = Capability.WRITES, Capability.DELETIONS, Capability.QUOTA
FAULTS, SESSIONS, SCHEMA_CACHE = Capability.FAULTS, Capability.SESSIONS, Capability.SCHEMA_CACHE
CLOCK = Capability.CLOCK


def needs(
    *capabilities: Capability, absent: tuple[Capability, ...] = ()
) -> Callable[[_Test], _Test]:
    """Mark a contract test as applicable only to drivers declaring ``capabilities``.

    ``absent``: only to drivers that do NOT declare these (a read-only source's tests).
    """

    def mark(test: _Test) -> _Test:
        test.__dict__["okrsync_needs"] = (frozenset(capabilities), frozenset(absent))
        return test

    return mark


def _pages(size: int, records: int = RECORDS) -> list[int]:
    """Sizes of the pages holding ``records`` records, ``size`` a page."""
    return [size] * (records // size) + ([records % size] if records % size else [])


class ConnectorContract:
    """The contract tests; subclass with ``driver_class`` set, in a ``Test…`` class."""

    driver_class: ClassVar[type[Driver]]

    @pytest.fixture
    def driver(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
        """The connector's driver (its service is started by the test, stopped afterwards)."""
        kind = self.driver_class
        wanted, absent = request.function.__dict__.get("okrsync_needs", (frozenset(), frozenset()))
        if missing := sorted(wanted - kind.capabilities):
            pytest.skip(f"not applicable: {kind.name} declares no {', '.join(missing)}")
        if present := sorted(absent & kind.capabilities):
            pytest.skip(
                f"not applicable: {kind.name} declares {', '.join(present)} (a test for those without)"
            )
        if (reason := kind.gaps.get(request.function.__name__)) is not None:
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
        made = kind(tmp_path)
        yield made
        made.close()

    # -- 1. full pull --------------------------------------------------------------------------

    def test_full_pull_returns_every_record_once_typed_over_several_pages(
        self, driver: Driver
    ) -> None:
        """A first pull returns every record exactly once, over several pages, with typed values."""
        driver.start()
        connector = driver.connect()
        pull = driver.pull(connector, Cursor())
        records, deleted, sizes = drain(pull)
        assert sizes == _pages(driver.page_size)
        assert deleted == []
        ids = ids_of(records)
        assert len(ids) == len(set(ids)) == RECORDS
        assert set(ids) == {driver.record_id(i) for i in range(RECORDS)}
        by_id = {r["Id"]: r for r in records}
        for i in (0, 1, 2, 59, 60, 199, 200, RECORDS - 1):
            assert by_id[driver.record_id(i)] == driver.expected(i)
        amount, close, flag, stage = driver.fields
        for record in records:
            assert type(record[amount]) is float
            assert isinstance(record[close], date)
            assert type(record[flag]) is bool
            assert isinstance(record[stage], str)
        assert pull.cursor.stamp == now_stamp(driver.seeded(RECORDS - 1))
        assert pull.skipped == []

    # -- 2. incremental pull -------------------------------------------------------------------

    def test_incremental_pull_returns_exactly_the_changes_and_the_deletions_once(
        self, driver: Driver
    ) -> None:
        """After inserts, updates, a soft and a hard delete the next pull returns exactly those; the one after, nothing."""
        driver.start()
        connector = driver.connect()
        cold = driver.pull(connector, Cursor())
        drain(cold)
        created = driver.insert(3)
        updated = [driver.record_id(5), driver.record_id(7)]
        driver.update(updated)
        removed: list[str] = []
        if driver.supports(DELETIONS):  # a source that cannot see deletions reports none
            removed = [driver.record_id(10), driver.record_id(11)]
            driver.soft_delete(removed[0])
            driver.hard_delete(removed[1])
        warm = driver.pull(connector, cold.cursor)
        records, deleted, _ = drain(warm)
        ids = ids_of(records)
        assert sorted(ids) == sorted([*created, *updated])
        assert len(ids) == len(set(ids))
        assert sorted(deleted) == sorted(removed)
        by_id = {r["Id"]: r for r in records}
        assert [by_id[i][driver.amount] for i in updated] == [NEW_AMOUNT, NEW_AMOUNT]
        assert warm.cursor.stamp is not None
        assert warm.cursor.stamp > (cold.cursor.stamp or "")
        quiet = driver.pull(connector, warm.cursor)
        assert drain(quiet)[:2] == ([], [])

    # -- 3. ten thousand changes ---------------------------------------------------------------

    def test_10000_then_10001_changed_records_are_each_pulled_once(self, driver: Driver) -> None:
        """Exactly 10 000 and then 10 001 changed records are all returned, each once (HubSpot: past the search cap)."""
        driver.start(records=5)
        connector = driver.connect()
        cold = driver.pull(connector, Cursor())
        assert len(drain(cold)[0]) == 5
        assert cold.cursor.stamp is not None
        first = driver.bulk_insert(10_000, cold.cursor.stamp)
        pull = driver.pull(connector, cold.cursor)
        ids = ids_of(drain(pull)[0])
        assert len(ids) == len(set(ids)) == 10_000
        assert set(ids) == set(first)
        assert pull.cursor.stamp is not None
        second = driver.bulk_insert(10_001, pull.cursor.stamp)
        again = driver.pull(connector, pull.cursor)
        records, deleted, _ = drain(again)
        ids = ids_of(records)
        assert len(ids) == len(set(ids)) == 10_001
        assert set(ids) == set(second)
        assert deleted == []

    # -- 4. writes in batches ------------------------------------------------------------------

    @needs(WRITES)
    def test_writes_of_one_batch_and_one_more_are_created_then_updated(
        self, driver: Driver
    ) -> None:
        """The batch limit of records is one write call and one more record two; all created, then all updated."""
        driver.start(records=1)
        connector = driver.connect()
        connector.provision(OKR_OBJECTS)
        limit = driver.batch_limit
        for count, batches in ((limit, 1), (limit + 1, 2)):
            records = key_results(count, f"w{count}")
            before = driver.served(driver.write_endpoint)
            first = connector.write(KEY_RESULT, records)
            assert driver.served(driver.write_endpoint) - before == batches
            assert [o.key for o in first] == [r["key"] for r in records]
            assert {o.status for o in first} == {UpsertStatus.CREATED}
            assert all(o.id for o in first)
            changed = key_results(count, f"w{count}", value=500.0)
            before = driver.served(driver.write_endpoint)
            again = connector.write(KEY_RESULT, changed)
            assert driver.served(driver.write_endpoint) - before == batches
            assert {o.status for o in again} == {UpsertStatus.UPDATED}
            assert [o.id for o in again] == [o.id for o in first]
            last = changed[-1]["key"]
            back = connector.read_back(KEY_RESULT, [last, "2026-Q3/none/kr-000"])
            assert list(back) == [last]
            assert back[last]["current_value"] == 500.0 + count - 1
            assert back[last]["progress"] == 0.25
            assert back[last]["status"] == "at_risk"
            assert back[last]["last_synced_at"] == SYNCED
            assert back[last]["comment"] is None  # rep-owned: never written

    # -- 5. partial failures -------------------------------------------------------------------

    @needs(WRITES, FAULTS)
    def test_partial_failures_map_to_their_records_and_repeat_with_the_seed(
        self, driver: Driver
    ) -> None:
        """In a partially failed batch exactly the failed records are FAILED with a code; the same seed fails the same ones."""
        driver.start(records=1)
        connector = driver.connect(max_retries=0)  # every injected failure reaches its outcome
        connector.provision(OKR_OBJECTS)
        connector.write(
            KEY_RESULT, key_results(1, "warm-up")
        )  # the schema is read before the faults
        records = key_results(30, "partial")
        keys = [r["key"] for r in records]
        driver.faults("partial=1,seed=5")
        first = connector.write(KEY_RESULT, records)
        driver.faults("")
        assert [o.key for o in first] == keys
        failed = [o.key for o in first if o.status is UpsertStatus.FAILED]
        assert 1 <= len(failed) < len(records)
        assert all(o.code for o in first if o.status is UpsertStatus.FAILED)
        assert all(o.id is None for o in first if o.status is UpsertStatus.FAILED)
        assert {o.status for o in first if o.key not in failed} == {UpsertStatus.CREATED}
        back = connector.read_back(KEY_RESULT, keys)
        assert sorted(back) == sorted(set(keys) - set(failed))
        assert all(
            back[r["key"]]["current_value"] == r["current_value"]
            for r in records
            if r["key"] in back
        )
        driver.faults("partial=1,seed=5")
        second = connector.write(KEY_RESULT, records)
        driver.faults("")
        assert [o.key for o in second if o.status is UpsertStatus.FAILED] == failed
        assert [o.code for o in second if o.status is UpsertStatus.FAILED] == [
            o.code for o in first if o.status is UpsertStatus.FAILED
        ]
        assert {o.status for o in second if o.key not in failed} == {UpsertStatus.UPDATED}

    # -- 6. session expiry ---------------------------------------------------------------------

    @needs(SESSIONS)
    def test_a_session_expiring_mid_pull_does_not_lose_records(self, driver: Driver) -> None:
        """A session expiring between two pages is renewed (or retried) and the pull still returns every record once."""
        driver.start()
        connector = driver.connect(renewable=True)
        pages = iter(driver.pull(connector, Cursor()))
        records = list(next(pages).records)
        assert len(records) == driver.page_size
        driver.expire(connector)
        for page in pages:
            records.extend(page.records)
        driver.faults("")
        ids = ids_of(records)
        assert len(ids) == len(set(ids)) == RECORDS
        assert driver.renewed(connector)

    # -- 7. throttling -------------------------------------------------------------------------

    @needs(WRITES, FAULTS)
    def test_a_storm_of_429s_is_retried_and_a_pull_and_a_write_complete(
        self, driver: Driver
    ) -> None:
        """Under a storm of 429s a pull and a write complete; every refused call was sent again."""
        driver.start()
        connector = driver.connect(max_retries=8)
        connector.provision(OKR_OBJECTS)
        drain(driver.pull(connector, Cursor()))  # warm-up: describes are cached from here on
        connector.write(KEY_RESULT, key_results(30, "warm-up"))
        began = connector.usage().calls
        drain(driver.pull(connector, Cursor()))
        connector.write(KEY_RESULT, key_results(30, "calm"))
        baseline = connector.usage().calls - began

        driver.throttle("429=0.4,latency=2ms,seed=3")
        began, served = connector.usage().calls, driver.served()
        records, _, _ = drain(driver.pull(connector, Cursor()))
        outcomes = connector.write(KEY_RESULT, key_results(30, "storm"))
        driver.faults("")
        calls = connector.usage().calls - began
        throttled = driver.injected("429")
        ids = ids_of(records)
        assert len(ids) == len(set(ids)) == RECORDS
        assert {o.status for o in outcomes} == {UpsertStatus.CREATED}
        assert throttled > 0
        assert calls == baseline + throttled  # each refused call once more, nothing else
        assert calls == driver.served() - served
        pages = len(_pages(driver.page_size))
        assert calls > pages + 1  # more calls than pages plus the write: retries happened

    # -- 8. the daily quota --------------------------------------------------------------------

    @needs(QUOTA)
    def test_the_quota_reserve_stops_a_pull_before_the_quota_is_gone(self, driver: Driver) -> None:
        """With a tiny daily quota the pull stops with QuotaReserveReached while quota is left; the cursor stays."""
        driver.start(quota=4)
        connector = driver.connect(reserve_percent=50)
        old = Cursor()
        pull = driver.pull(connector, old)
        seen: list[dict[str, Any]] = []
        with pytest.raises(QuotaReserveReached) as caught:
            seen.extend(record for page in pull for record in page.records)
        assert caught.value.crm == driver.name
        assert len(seen) < RECORDS
        assert pull.cursor == old
        assert driver.quota_left() > 0

    @needs(QUOTA)
    def test_a_spent_daily_quota_stops_the_run_at_once(self, driver: Driver) -> None:
        """When the CRM says the daily quota is spent the connector raises QuotaReserveReached at once, without backing off."""
        driver.start(quota=5)
        driver.spend_quota()
        connector = driver.connect(backoff_seconds=5)  # a back-off would show in the time taken
        began = time.monotonic()
        with pytest.raises(QuotaReserveReached) as caught:
            drain(driver.pull(connector, Cursor()))
        assert time.monotonic() - began < 1
        assert caught.value.crm == driver.name
        assert connector.usage().calls == 1
        assert driver.quota_left() == 0

    # -- 9. provisioning -----------------------------------------------------------------------

    @needs(WRITES)
    def test_provisioning_is_idempotent_and_a_dry_run_changes_nothing(self, driver: Driver) -> None:
        """A dry run lists what the real run then does, changing nothing; a second run makes no change."""
        driver.start(records=1)
        connector = driver.connect()
        planned = connector.provision(OKR_OBJECTS, dry_run=True)
        assert planned
        assert not driver.has_okr_objects()
        assert driver.served(driver.write_endpoint) == 0
        assert connector.provision(OKR_OBJECTS, dry_run=True) == planned
        assert not driver.has_okr_objects()
        made = connector.provision(OKR_OBJECTS)
        assert made == planned
        assert driver.has_okr_objects()
        assert connector.provision(OKR_OBJECTS) == []
        assert driver.connect().provision(OKR_OBJECTS, dry_run=True) == []

    # -- 10. describes kept across processes ---------------------------------------------------

    @needs(SCHEMA_CACHE)
    def test_a_new_connector_starts_from_the_kept_describes(
        self, driver: Driver, tmp_path: Path
    ) -> None:
        """With a store-backed schema cache, a connector in a new process pulls without describing.

        ``refresh`` asks the CRM again; provisioning drops what was kept, so the
        next connector sees the objects it created.
        """
        driver.start()
        db = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        first = driver.connect(schema_cache=StoreSchemaCache(db, "w", driver.name))
        cold = driver.pull(first, Cursor())
        drain(cold)
        described = driver.served(driver.describe_endpoint)
        assert described >= 1
        second = driver.connect(schema_cache=StoreSchemaCache(db, "w", driver.name))
        info = second.describe(driver.object_name)
        assert info.field(driver.amount) is not None
        records, _, _ = drain(driver.pull(second, cold.cursor))
        assert records == []
        # no describe in the new process
        assert driver.served(driver.describe_endpoint) == described
        other = driver.connect(schema_cache=StoreSchemaCache(db, "other-workspace", driver.name))
        other.describe(driver.object_name)
        assert driver.served(driver.describe_endpoint) == described + 1  # caches do not leak
        second.describe(driver.object_name, refresh=True)
        assert driver.served(driver.describe_endpoint) == described + 2
        if not driver.supports(WRITES):
            return
        key, stale = driver.stale_okr_schema  # kept before okrsync's objects existed
        StoreSchemaCache(db, "w", driver.name).put(key, stale)
        second.provision(OKR_OBJECTS)
        third = driver.connect(schema_cache=StoreSchemaCache(db, "w", driver.name))
        outcomes = third.write(KEY_RESULT, key_results(2, "kept"))
        assert {o.status for o in outcomes} == {UpsertStatus.CREATED}, outcomes

    # -- 12. cursors on the source's own clock --------------------------------------------------

    @needs(CLOCK)
    def test_a_filtered_first_pull_costs_its_pages_and_loses_no_later_change(
        self, driver: Driver
    ) -> None:
        """A filtered first pull makes no call beyond its pages; late commits and new matches come next, even on a skewed clock.

        The connector runs an hour ahead of the source: its cursor must come from
        the source's clock. A record stamped before the first pull began but
        visible only after it (a late commit), and one that starts matching the
        filter, both come with the next pull, once.
        """
        driver.start()
        connector = driver.connect(skew=timedelta(hours=1))
        connector.describe(driver.object_name)
        kept = (Predicate(driver.amount, "lte", 1000 + 10.5 * 2),)  # seeded records 0, 1, 2
        pull = connector.pull(driver.object_name, list(driver.fields), (kept,), Cursor())
        calls = connector.usage().calls
        began = driver.now()
        pages = list(pull)
        records = [record for page in pages for record in page.records]
        assert sorted(ids_of(records)) == sorted(driver.record_id(i) for i in range(3))
        if driver.pages_are_calls:
            assert connector.usage().calls - calls == len(pages)  # no newest-stamp probe
        late = driver.bulk_insert(1, now_stamp(began - timedelta(seconds=3)))  # stamped before
        driver.update([driver.record_id(5)])  # now matches the filter
        second = connector.pull(driver.object_name, list(driver.fields), (kept,), pull.cursor)
        records, deleted, _ = drain(second)
        assert sorted(ids_of(records)) == sorted([*late, driver.record_id(5)])
        assert deleted == []
        third = connector.pull(driver.object_name, list(driver.fields), (kept,), second.cursor)
        assert drain(third)[:2] == ([], [])

    # -- 11. a read-only source ----------------------------------------------------------------

    @needs(absent=(WRITES,))
    def test_a_read_only_connector_refuses_writes_clearly(self, driver: Driver) -> None:
        """A connector that does not write refuses a write with a fatal error naming it as read-only."""
        driver.start(records=1)
        connector = driver.connect()
        with pytest.raises(FatalConnectorError) as caught:
            connector.write(KEY_RESULT, key_results(1, "read-only"))
        assert caught.value.crm == driver.name
        assert "read-only" in str(caught.value)
        records, _, _ = drain(driver.pull(connector, Cursor()))
        assert ids_of(records) == [driver.record_id(0)]  # still pulls

    # -- 12. okrsync doctor --------------------------------------------------------------------

    def test_a_connector_answering_doctor_passes_a_ready_crm_and_writes_nothing(
        self, driver: Driver
    ) -> None:
        """A connector with checks of its own (``diagnose``) fails unprovisioned objects with a fix, then passes, never writing."""
        driver.start(records=1)
        connector = driver.connect()
        if not isinstance(connector, Diagnosable):
            pytest.skip(f"not applicable: {driver.name} has no checks of its own (diagnose)")
        writes = driver.supports(WRITES)
        request = DiagnosisRequest(
            OKR_OBJECTS if writes else (), {driver.object_name: frozenset(driver.fields)}
        )
        if writes:
            before = connector.diagnose(request)
            assert any(c.failed for c in before), "okrsync's objects are not provisioned yet"
            assert all(c.fix for c in before if c.failed)
            connector.provision(OKR_OBJECTS)
        written = driver.served(driver.write_endpoint) if writes else 0
        checks = connector.diagnose(request)
        names = [c.name for c in checks]
        assert "auth" in names
        assert len(names) == len(set(names))
        assert not [c for c in checks if c.status in {CheckStatus.FAIL, CheckStatus.SKIP}], checks
        assert all(c.title and c.detail for c in checks)
        if writes:
            assert driver.served(driver.write_endpoint) == written
