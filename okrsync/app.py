"""The composition root: settings, mappings, connectors and the state store, built once.

Every command builds an :class:`App` from the configuration; nothing is found
through globals. Connectors are created only for the instances the mappings
use (or all configured ones, for provisioning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync.catalog import Catalog, load_plugin_catalog
from okrsync.config import Settings, load_settings
from okrsync.errors import ConfigurationError
from okrsync.mapping.loader import load_mappings
from okrsync.plugins import PluginRegistry, writes_okr_objects

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from pathlib import Path

    from sqlalchemy.engine import Engine

    from okrsync.connector import Connector
    from okrsync.engine import SyncEngine
    from okrsync.model import MappingSet

__all__ = ["App", "build_app", "load_config", "load_mappings_for", "plugin_catalogs"]


def load_config(
    config: Path | None,
    mappings: Path | None = None,
    *,
    registry: PluginRegistry,
    env: Mapping[str, str] | None = None,
    log: bool = True,
) -> Settings:
    """Settings from the file, the environment and the command line; logging set up."""
    overrides: dict[str, Any] = {}
    if mappings is not None:
        overrides["mappings"] = mappings
    settings = load_settings(config, env=env, overrides=overrides, registry=registry)
    if log:
        from okrsync.logging import configure_logging  # noqa: PLC0415  (see build_app)

        configure_logging(settings.log.level, settings.log.format, redact=settings.secret_values())
    return settings


def plugin_catalogs(settings: Settings, registry: PluginRegistry) -> dict[str, Catalog]:
    """The built-in catalog of each connector type the configuration uses."""
    kinds = sorted(set(settings.sources(registry).values()))
    return {kind: load_plugin_catalog(registry.get(kind)) for kind in kinds}


def load_mappings_for(settings: Settings, registry: PluginRegistry) -> MappingSet:
    """The validated mappings, with each connector instance's catalog."""
    sources = settings.sources(registry)
    return load_mappings(
        settings.mappings,
        sources=sources,
        catalogs=plugin_catalogs(settings, registry),
        read_only={n for n, kind in sources.items() if not writes_okr_objects(registry.get(kind))},
    )


def connect(
    settings: Settings,
    registry: PluginRegistry,
    names: set[str],
    clock: Callable[[], datetime] | None = None,
    db: Engine | None = None,
) -> dict[str, Connector]:
    """Connectors for the instances ``names``, from their configured settings.

    With the state store ``db``, each connector keeps its describes there
    (:class:`~okrsync.state.schema_cache.StoreSchemaCache`).
    """
    from okrsync.state.schema_cache import StoreSchemaCache  # noqa: PLC0415  (see build_app)

    connectors: dict[str, Connector] = {}
    for name in sorted(names):
        instance = settings.connectors.get(name)
        if instance is None:
            raise ConfigurationError(
                f"connector `{name}` is used by the mappings but not configured; add it under "
                "`connectors:` in the configuration (or OKRSYNC_CONNECTORS__…)"
            )
        plugin = registry.connectable(instance.type)
        cache = StoreSchemaCache(db, settings.workspace, name) if db is not None else None
        connectors[name] = plugin.connect(name, instance.settings, clock=clock, schema_cache=cache)
    return connectors


@dataclass
class App:
    """Everything a command needs, built from the configuration."""

    settings: Settings
    registry: PluginRegistry
    mappings: MappingSet
    db: Engine
    connectors: dict[str, Connector] = field(default_factory=dict)
    clock: Callable[[], datetime] | None = None

    def engine(self, stop: threading.Event | None = None) -> SyncEngine:
        """A sync engine over this app's parts."""
        from okrsync.engine import SyncEngine  # noqa: PLC0415  (see build_app)

        return SyncEngine(
            workspace=self.settings.workspace,
            mappings=self.mappings,
            connectors=self.connectors,
            db=self.db,
            clock=self.clock,
            stop=stop,
        )

    def close(self) -> None:
        """Release connectors and the store."""
        for connector in self.connectors.values():
            connector.close()
        self.db.dispose()


def build_app(
    config: Path | None,
    mappings: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    with_connectors: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> App:
    """Load and check everything; connect to the CRMs the mappings use.

    The store and the engine (SQLAlchemy, SQLModel) are imported here and in
    :meth:`App.engine`, not with this module: ``okrsync validate`` and
    ``okrsync --help`` never load them.
    """
    from okrsync.state.db import open_store  # noqa: PLC0415  (as said above)

    registry = PluginRegistry.from_entry_points()
    settings = load_config(config, mappings, registry=registry, env=env)
    loaded = load_mappings_for(settings, registry)
    db = open_store(settings.store_url.get_secret_value())
    connectors = connect(settings, registry, loaded.sources(), clock, db) if with_connectors else {}
    return App(settings, registry, loaded, db, connectors, clock)
