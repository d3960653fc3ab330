"""Kill drill: SIGKILL sync and check-in runs at seeded points; one more run matches a crash-free run.

Both sides start with last week's check-in, so a forecast that counted a check-in
recorded by a killed run of the same day would diverge from the crash-free one.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import MAPPINGS, okrsync_command, process_env, provision, read_back_all

from .conftest import AS_OF, FAST_RETRIES, LONG, make_app

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.e2e.conftest import Sandbox

pytestmark = pytest.mark.drill

RUNS = 30 if LONG else 5
SEED = 4242
ENV = {
    "OKRSYNC_LOG__FORMAT": "json",
    "OKRSYNC_LOG__LEVEL": "debug",
    "OKRSYNC_CONNECTORS__SALESFORCE__BATCH_SIZE": "1",
    "OKRSYNC_CONNECTORS__HUBSPOT__BATCH_SIZE": "1",
    **FAST_RETRIES,
}
LAST_WEEK = AS_OF - timedelta(weeks=1)
PHASES = {
    "pull": "sync.pull.completed",
    "compute": "sync.pull.completed",
    "write-back": "salesforce.write.batch",
    "check-in": "hubspot.write.batch",
    "check-in committed": "sync.check_in.recorded",
}
"""What each kill aims at, and the log event it waits for."""
COMMANDS = {"sync": "sync", "check_in": "check-in"}


def _command(config: Path, kind: str, day: str = AS_OF.isoformat()) -> list[str]:
    """``okrsync sync`` or ``okrsync check-in`` on ``config`` as of ``day``."""
    return okrsync_command(
        COMMANDS[kind], "--config", str(config), "--mappings", str(MAPPINGS), "--as-of", day
    )


def _event(line: str) -> str | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("event") if isinstance(data, dict) else None


def _landed(events: list[str | None]) -> str:
    """The phase the run was in when it died, from the last events it logged."""
    seen = [e for e in events if e]
    if "sync.check_in.recorded" in seen:
        return "check-in committed"
    if any(e.endswith(".write.batch") for e in seen):
        return "write-back"
    if any(e.startswith("sync.pull.completed") for e in seen):
        pulls = seen.count("sync.pull.completed")
        return "compute" if pulls >= 9 else "pull"
    return "startup"


def _kill(config: Path, kind: str, event: str, nth: int, delay: float) -> tuple[int, str]:
    process = subprocess.Popen(  # noqa: S603  (our interpreter, fixed arguments)
        _command(config, kind),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(**ENV),
    )
    events: list[str | None] = []
    try:
        assert process.stderr is not None
        seen = 0
        for line in iter(process.stderr.readline, ""):
            events.append(_event(line))
            seen += events[-1] == event
            if seen >= nth:
                break
        time.sleep(delay)
    finally:
        process.kill()
        _, rest = process.communicate(timeout=60)
    events.extend(_event(line) for line in rest.splitlines())
    return process.returncode, "completed" if process.returncode == 0 else _landed(events)


def _strip(state: dict[Any, dict[str, dict[str, Any]]]) -> dict[Any, Any]:
    return {
        where: {k: {f: v for f, v in r.items() if f != "last_synced_at"} for k, r in recs.items()}
        for where, recs in state.items()
    }


def _run(config: Path, kind: str, day: str = AS_OF.isoformat()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our own script, fixed arguments)
        _command(config, kind, day),
        capture_output=True,
        text=True,
        env=process_env(**ENV),
        timeout=120,
        check=False,
    )


def test_sigkill_in_pull_compute_write_and_check_in_then_one_run_matches(
    sandboxes: Callable[..., Sandbox],
) -> None:
    """After seeded SIGKILLs of sync and check-in runs in pull, compute, write-back and after the check-in's commit, one check-in run leaves the CRMs as a crash-free check-in run does."""
    crash, reference = sandboxes("crash"), sandboxes("reference")
    crash_config, reference_config = crash.write_config("kill"), reference.write_config("kill")
    crash_app = make_app(crash, crash_config)
    reference_app = make_app(reference, reference_config)
    provision(crash_app)
    provision(reference_app)
    for config in (crash_config, reference_config):  # the same history on both sides
        done = _run(config, "check_in", LAST_WEEK.isoformat())
        assert done.returncode == 0, done.stderr[-3000:]
    rng = random.Random(SEED)  # noqa: S311  (not crypto)
    aims = [list(PHASES)[i % len(PHASES)] for i in range(RUNS)]
    rng.shuffle(aims)
    kills: list[tuple[str, str, str, int]] = []
    for aim in aims:
        kind = "check_in" if aim.startswith("check-in") or rng.random() < 0.5 else "sync"
        nth = {
            "pull": rng.randint(1, 8),
            "compute": 9,
            "write-back": rng.randint(1, 12),
            "check-in": rng.randint(1, 3),
            "check-in committed": 1,
        }[aim]
        delay = rng.uniform(0, 0.01) if aim != "pull" else rng.uniform(0, 0.05)
        code, landed = _kill(crash_config, kind, PHASES[aim], nth, delay)
        kills.append((aim, kind, landed, code))
    final = _run(crash_config, "check_in")
    assert final.returncode == 0, final.stderr[-3000:]
    want = _run(reference_config, "check_in")
    assert want.returncode == 0, want.stderr[-3000:]
    landed = Counter((k[1], k[2]) for k in kills)
    print(f"kills: {len(kills)} by (kind, landed): {dict(landed)}; runs {kills}")  # noqa: T201
    assert sum(k[3] == -9 for k in kills) >= RUNS // 2
    assert ("check_in", "check-in committed") in landed, kills
    got, wanted = _strip(read_back_all(crash_app)), _strip(read_back_all(reference_app))
    for app, side in ((crash_app, got), (reference_app, wanted)):  # last week's, untouched
        last_week = _strip(read_back_all(app, LAST_WEEK))
        side.update(
            {(n, "check_in last week"): r for (n, o), r in last_week.items() if o == "check_in"}
        )
    diverging = [
        (where, key)
        for where in wanted
        for key in set(got[where]) | set(wanted[where])
        if got[where].get(key) != wanted[where].get(key)
    ]
    assert not diverging, [(w, k, got[w].get(k), wanted[w].get(k)) for w, k in diverging[:5]]
