"""Repository-wide pytest hooks."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# property tests judge behaviour, not speed: on a loaded CI machine no example may fail
# for taking long (each test still sets its own number of examples)
settings.register_profile("okrsync", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("okrsync")

# the connector contract suite is a library module: let pytest explain its failed asserts
pytest.register_assert_rewrite("okrsync.testing.contract")

# `postgres_url`: one throwaway PostgreSQL server for the session, for the core's tests and
# any connector's (okrsync.testing.postgres)
pytest_plugins = ["okrsync.testing.postgres"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests that need a real CRM unless OKRSYNC_EXTERNAL_TESTS=1 is set."""
    del config
    if os.environ.get("OKRSYNC_EXTERNAL_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs a real CRM: set OKRSYNC_EXTERNAL_TESTS=1")
    for item in items:
        if "external_service" in item.keywords:
            item.add_marker(skip)
