"""Shared fixtures: the installed connector plugins and their catalogs."""

from __future__ import annotations

import pytest

from okrsync.catalog import Catalog, load_plugin_catalog
from okrsync.plugins import PluginRegistry


@pytest.fixture(scope="session")
def registry() -> PluginRegistry:
    """The connector plugins installed in this environment."""
    return PluginRegistry.from_entry_points()


@pytest.fixture(scope="session")
def catalogs(registry: PluginRegistry) -> dict[str, Catalog]:
    """Built-in catalog of each installed connector type."""
    return {name: load_plugin_catalog(registry.get(name)) for name in registry}
