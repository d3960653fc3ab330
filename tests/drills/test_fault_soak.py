"""Fault soak: many cycles against faulty sandbox CRMs end exactly where a fault-free run ends."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from okrsync.errors import OkrsyncError
from okrsync_sandbox.faults import FaultSpec
from tests.e2e.conftest import provision, read_back_all

from .conftest import AS_OF, FAST_RETRIES, LONG, MOMENT, make_app

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e.conftest import Sandbox

pytestmark = pytest.mark.drill

CYCLES = 60 if LONG else 6
FAULTS = {"5xx": 0.2, "429": 0.1, "expired": 0.03, "partial": 0.2, "drop": 0.03}
"""Per-request fault rates (``partial`` applies to batch writes only)."""


def _strip(state: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> dict[Any, Any]:
    """CRM state without the sync stamp and the CRM ids."""
    return {
        where: {
            key: {f: v for f, v in record.items() if f not in {"last_synced_at", "id", "Id"}}
            for key, record in records.items()
        }
        for where, records in state.items()
    }


def _divergences(got: dict[Any, Any], want: dict[Any, Any]) -> list[str]:
    """Records (or fields) that differ between two stripped states."""
    return [
        f"{where} {key}: {got.get(where, {}).get(key)} != {want.get(where, {}).get(key)}"
        for where in sorted(set(got) | set(want))
        for key in sorted(set(got.get(where, {})) | set(want.get(where, {})))
        if got.get(where, {}).get(key) != want.get(where, {}).get(key)
    ]


def test_fault_soak_converges_to_the_fault_free_state(
    sandboxes: Callable[..., Sandbox],
) -> None:
    """Cycles under seeded 5xx, throttling, expiry, partial batches and drops, then one clean cycle, leave the CRMs record for record as a fault-free run does."""
    faulty, clean = sandboxes("faulty"), sandboxes("clean")
    apps = {
        "faulty": make_app(faulty, faulty.write_config("soak"), env=FAST_RETRIES),
        "clean": make_app(clean, clean.write_config("soak"), env=FAST_RETRIES),
    }
    provision(apps["faulty"])
    provision(apps["clean"])
    for box in faulty.group.sandboxes.values():
        box.faults.set_spec(FaultSpec.from_dict({**FAULTS, "seed": 2026}))  # type: ignore[attr-defined]
    calls_before = {
        name: sum(e["calls"] for e in box.group.accounting.snapshot().values())
        for name, box in (("faulty", faulty), ("clean", clean))
    }
    outcomes: Counter[str] = Counter()
    day = AS_OF
    for cycle in range(CYCLES):
        day = AS_OF + timedelta(days=cycle)
        if cycle:
            moment = MOMENT + timedelta(days=cycle)
            faulty.group.advance(moment)
            clean.group.advance(moment)
        try:
            outcomes[apps["faulty"].engine().run("sync", day).outcome] += 1
        except OkrsyncError as exc:  # a documented error ends the cycle; the next one resumes
            outcomes[f"raised {type(exc).__name__}"] += 1
        assert apps["clean"].engine().run("sync", day).outcome == "succeeded"
    injected = {crm: entry["faults"] for crm, entry in faulty.group.accounting.snapshot().items()}
    for box in faulty.group.sandboxes.values():
        box.faults.set_spec(FaultSpec())  # type: ignore[attr-defined]
    final = apps["faulty"].engine().run("sync", day)
    assert final.outcome == "succeeded", final.error
    assert apps["clean"].engine().run("sync", day).outcome == "succeeded"
    calls = {
        name: sum(e["calls"] for e in box.group.accounting.snapshot().values()) - calls_before[name]
        for name, box in (("faulty", faulty), ("clean", clean))
    }
    divergences = _divergences(
        _strip(read_back_all(apps["faulty"], day)), _strip(read_back_all(apps["clean"], day))
    )
    print(  # noqa: T201  (the drill's figures)
        f"soak: {CYCLES} faulty cycles + 1 clean; outcomes {dict(outcomes)}; "
        f"faults {injected}; calls {calls}; retries {calls['faulty'] - calls['clean']}; "
        f"divergences {len(divergences)}"
    )
    assert sum(sum(kinds.values()) for kinds in injected.values()) > 0
    assert not divergences, divergences[:20]
