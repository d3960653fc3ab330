"""SIGKILL `okrsync sync` at random points: the next sync finishes the job, nothing lost, nothing twice."""

from __future__ import annotations

import json
import random
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, func, select

from okrsync.plan import build_plan
from okrsync.state.models import EvaluationRow, OutboxRow, RunRow

from .conftest import (
    AS_OF,
    MAPPINGS,
    expected_keys,
    okrsync_command,
    process_env,
    provision,
    read_back_all,
    run_okrsync,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Engine

    from .conftest import Sandbox

SEED = 20260817
"""Seed of the kill points."""
ENV = {
    "OKRSYNC_LOG__FORMAT": "json",
    "OKRSYNC_LOG__LEVEL": "debug",  # one log line per write batch: kill points inside write-back
    "OKRSYNC_CONNECTORS__SALESFORCE__BATCH_SIZE": "1",  # many small batches: partial write-backs
    "OKRSYNC_CONNECTORS__HUBSPOT__BATCH_SIZE": "1",
}
SYNC = ("sync", "--json", "--mappings", str(MAPPINGS), "--as-of", AS_OF.isoformat())
PLANNED = (
    "startup",
    "pull",
    "pull",
    "compute",
    "compute",
    "write:hubspot",
    "write:salesforce",
    "write:salesforce",
    "write:salesforce",
)
"""What each kill aims at (shuffled); where it landed is read from the state store afterwards."""
MIN_KILLS = 8


@dataclass(frozen=True)
class KillPoint:
    """Where to kill: ``delay`` seconds after the ``nth`` log event named ``event`` (or the start)."""

    aim: str
    event: str | None
    nth: int
    delay: float


@dataclass
class Kill:
    """What one killed (or, if the point never came, completed) run left behind."""

    point: KillPoint
    returncode: int
    landed: str
    pending: int
    """Writes pending in the outbox after the kill (all runs)."""


def kill_points(rng: random.Random, objects: int) -> list[KillPoint]:
    """Seeded kill points over start-up, pull, compute and write-back (HubSpot writes come first)."""
    aims = list(PLANNED)
    rng.shuffle(aims)
    first_sf = aims.index("write:salesforce")
    hubspot = aims.index("write:hubspot")
    if hubspot > first_sf:  # once Salesforce is being written, HubSpot's writes are confirmed
        aims[first_sf], aims[hubspot] = aims[hubspot], aims[first_sf]
    points = []
    for aim in aims:
        if aim == "startup":
            points.append(KillPoint(aim, None, 0, rng.uniform(0.2, 0.8)))
        elif aim == "pull":
            points.append(
                KillPoint(
                    aim, "sync.pull.completed", rng.randint(1, objects - 1), rng.uniform(0, 0.05)
                )
            )
        elif aim == "compute":
            points.append(KillPoint(aim, "sync.pull.completed", objects, rng.uniform(0, 0.008)))
        elif aim == "write:hubspot":
            points.append(
                KillPoint(aim, "hubspot.write.batch", rng.randint(2, 12), rng.uniform(0, 0.005))
            )
        else:
            points.append(
                KillPoint(aim, "salesforce.write.batch", rng.randint(1, 14), rng.uniform(0, 0.005))
            )
    return points


def _event(line: str) -> str | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("event") if isinstance(data, dict) else None


def _run_ids(db: Engine) -> set[str]:
    with Session(db) as session:
        return set(session.exec(select(RunRow.id)).all())


def _pending(db: Engine) -> int:
    with Session(db) as session:
        return int(
            session.exec(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.state == "pending")
            ).one()
        )


def _landed(db: Engine, before: set[str], events: list[str | None], objects: int) -> str:
    """The phase a killed run was in: from its run row, its evaluations, its outbox rows, its log."""
    new = _run_ids(db) - before
    if not new:
        return "startup"
    (run_id,) = new
    with Session(db) as session:
        staged = session.exec(select(OutboxRow.id).where(OutboxRow.run_id == run_id)).first()
        evaluated = session.exec(
            select(EvaluationRow.kr_key).where(EvaluationRow.run_id == run_id)
        ).first()
    if staged is not None:
        return "write-back"
    if evaluated is not None or events.count("sync.pull.completed") == objects:
        return "compute"
    return "pull"


def kill_run(config: str, point: KillPoint, db: Engine, objects: int) -> Kill:
    """Start `okrsync sync`, SIGKILL it at ``point``, and see where it was."""
    before = _run_ids(db)
    process = subprocess.Popen(  # noqa: S603  (our own script, fixed arguments)
        okrsync_command(*SYNC, "--config", config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(**ENV),
    )
    events: list[str | None] = []
    try:
        assert process.stderr is not None
        if point.event is not None:
            seen = 0
            for line in iter(process.stderr.readline, ""):
                events.append(_event(line))
                seen += events[-1] == point.event
                if seen == point.nth:
                    break
        time.sleep(point.delay)
    finally:
        process.kill()  # SIGKILL (nothing happens if it has already exited)
        _, rest = process.communicate(timeout=60)
    events.extend(_event(line) for line in rest.splitlines())
    landed = "completed" if process.returncode == 0 else _landed(db, before, events, objects)
    return Kill(point, process.returncode, landed, _pending(db))


def _without_stamp(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {f: v for f, v in r.items() if f != "last_synced_at"} for k, r in records.items()}


def test_sigkill_anywhere_then_one_sync_matches_a_crash_free_run(
    start_sandbox: Callable[[str], Sandbox],
) -> None:
    """After SIGKILLs of `okrsync sync` in start-up, pull, compute and write-back, one more sync leaves the CRMs exactly as a crash-free run does: no record missing, none twice."""
    crash, reference = start_sandbox("crash"), start_sandbox("reference")
    crash_config, reference_config = crash.write_config("cli"), reference.write_config("cli")
    crash_app, reference_app = crash.app(crash_config), reference.app(reference_config)
    provision(crash_app)
    provision(reference_app)

    crash_free = run_okrsync(*SYNC, "--config", str(reference_config), **ENV)
    assert crash_free.returncode == 0, crash_free.stderr[-3000:]
    want = json.loads(crash_free.stdout)
    assert want["outcome"] == "succeeded"

    objects = len(build_plan(crash_app.mappings).objects)
    kills = [
        kill_run(str(crash_config), point, crash_app.db, objects)
        for point in kill_points(random.Random(SEED), objects)  # noqa: S311  (not crypto)
    ]
    killed = [k for k in kills if k.returncode == -9]
    landed = {
        phase: sum(k.landed == phase for k in killed)
        for phase in ("startup", "pull", "compute", "write-back")
    }
    summary = [(k.point.aim, k.landed, k.returncode, k.pending) for k in kills]
    print(f"kills: {len(killed)} {landed}; (aim, landed, returncode, pending): {summary}")  # noqa: T201
    assert len(killed) >= MIN_KILLS, summary
    assert landed["pull"] >= 1, summary
    assert landed["compute"] >= 1, summary
    assert landed["write-back"] >= 2, summary
    assert any(k.landed == "write-back" and k.pending > 0 for k in killed), summary

    final = run_okrsync(*SYNC, "--config", str(crash_config), **ENV)
    assert final.returncode == 0, final.stderr[-3000:]
    got = json.loads(final.stdout)
    assert got["outcome"] == "succeeded"
    assert _pending(crash_app.db) == 0
    print(f"final sync writes: {got['writes']}")  # noqa: T201
    assert got["key_results"] == want["key_results"]  # same data, same day: same numbers
    assert got["objectives"] == want["objectives"]

    keys = expected_keys(crash_app)
    after_crashes, crash_free_crm = read_back_all(crash_app), read_back_all(reference_app)
    for (connector, obj), records in after_crashes.items():
        wanted = [] if obj == "check_in" else keys[connector, obj]
        assert sorted(records) == sorted(wanted), (connector, obj)
        assert _without_stamp(records) == _without_stamp(crash_free_crm[connector, obj])

    in_crm, in_reference = crash.okr_keys(), reference.okr_keys()
    for where, counted in in_crm.items():
        twice = {key: n for key, n in counted.items() if n > 1}
        assert not twice, (where, twice)
        assert counted == in_reference[where], where
        wanted = [] if where[1] == "check_in" else keys[where]
        assert sorted(counted) == sorted(wanted), where
