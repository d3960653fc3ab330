"""Drill fixtures: sandbox CRMs with their own seed and size, apps with fast retries.

The short form of every drill runs in the normal suite; ``OKRSYNC_DRILLS_LONG=1``
selects the long form (more cycles, more kills, more fuzz examples).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from okrsync.app import App, connect, load_config, load_mappings_for
from okrsync.config import env_var_name
from okrsync.state.db import open_store
from okrsync_sandbox.plugins import installed_sandboxes
from okrsync_sandbox.runner import start_sandboxes
from okrsync_sandbox.server import SandboxOptions
from tests.e2e.conftest import MAPPINGS, Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from okrsync.plugins import PluginRegistry


LONG = os.environ.get("OKRSYNC_DRILLS_LONG") == "1"
"""The long form of the drills."""
AS_OF = date(2026, 8, 17)
MOMENT = datetime(2026, 8, 17, 12, tzinfo=UTC)
SIZE = 400
"""Rows per CRM: small, so a cycle takes well under a second."""
FAST = {"max_retries": "8", "retry_max_wait_seconds": "0.05"}
"""Retry settings that keep a drill fast: every connector shares their names (okrsync.kit).
No wait is longer than 50 ms, the back-off's and the CRM's Retry-After alike."""
FAST_RETRIES = {
    env_var_name(("connectors", crm.name, knob)): value
    for crm in installed_sandboxes()
    for knob, value in FAST.items()
}
""":data:`FAST` for each CRM a sandbox stands in for, as environment variables (a variable
for another installed connector would configure an instance the drills do not run)."""


def make_app(
    sandbox: Sandbox,
    config: Path,
    mappings: Path = MAPPINGS,
    env: dict[str, str] | None = None,
) -> App:
    """An in-process App on ``config`` wired as the demo wires it, with ``env`` applied."""
    settings = load_config(config, mappings, registry=sandbox.registry, env=env or {}, log=False)
    loaded = load_mappings_for(settings, sandbox.registry)
    db = open_store(settings.store_url.get_secret_value())
    app = App(
        settings,
        sandbox.registry,
        loaded,
        db,
        connect(settings, sandbox.registry, set(settings.connectors), sandbox.clock, db),
        sandbox.clock,
    )
    sandbox.apps.append(app)
    return app


@pytest.fixture
def sandboxes(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry
) -> Iterator[Callable[..., Sandbox]]:
    """Start sandbox CRMs (seed, size and options as given); all stopped at teardown."""
    started: list[Sandbox] = []

    def start(name: str, *, seed: int = 11, size: int = SIZE, **options: object) -> Sandbox:
        opts = SandboxOptions(seed=seed, size=size, as_of=MOMENT, **options)  # type: ignore[arg-type]
        group = start_sandboxes(opts)
        sandbox = Sandbox(group, tmp_path_factory.mktemp(name), registry)
        started.append(sandbox)
        return sandbox

    try:
        yield start
    finally:
        for sandbox in started:
            sandbox.stop()
