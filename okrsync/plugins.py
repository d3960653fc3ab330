"""Connector plugins, found through the entry-point group ``okrsync.connectors``.

A plugin is what a connector package exports as its entry point: plain facts
(name, title, settings model, metric catalog) and, for a connector that talks
to a CRM, ``connect`` (see :class:`okrsync.kit.ConnectorPluginBase`). The core
never imports a CRM SDK; it only asks plugins. The registry checks each plugin
when it loads: the facts are there, and a ``connect`` takes what the core passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from okrsync.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from datetime import datetime
    from pathlib import Path

    from pydantic import BaseModel

    from okrsync.connector import Connector, SchemaCache

__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectablePlugin",
    "ConnectorPlugin",
    "MetadataExporter",
    "PluginRegistry",
    "RepGuide",
    "StaticPlugin",
    "hook_problem",
    "packaged_catalog",
    "writes_okr_objects",
]

ENTRY_POINT_GROUP = "okrsync.connectors"


@runtime_checkable
class ConnectablePlugin(Protocol):
    """A plugin that can connect to its CRM (checked by :meth:`PluginRegistry.connectable`)."""

    def connect(
        self,
        instance: str,
        settings: BaseModel,
        *,
        clock: Callable[[], datetime] | None = None,
        schema_cache: SchemaCache | None = None,
    ) -> Connector:
        """A connector for the instance ``instance`` with its validated ``settings``.

        ``schema_cache`` keeps describes across processes (none: describe anew).
        """
        ...


@runtime_checkable
class ConnectorPlugin(Protocol):
    """What a connector package provides to the core."""

    @property
    def name(self) -> str:
        """Connector type, e.g. ``salesforce``; the default instance name too."""
        ...

    @property
    def title(self) -> str:
        """Human name of the CRM, e.g. ``Salesforce``."""
        ...

    @property
    def settings_model(self) -> type[BaseModel]:
        """Pydantic model of a connector instance's settings (secrets as ``SecretStr``)."""
        ...

    def catalog(self) -> tuple[str, bytes]:
        """Display name and YAML content of the connector's built-in metric catalog."""
        ...


@runtime_checkable
class MetadataExporter(Protocol):
    """An optional plugin capability: CRM metadata an admin deploys with the CRM's own tools.

    What the CRM's API cannot create (Salesforce: the app, tabs, layouts, list
    views, reports, dashboard and permission sets) ships as files in the
    connector package; ``okrsync provision`` names the deploy command and
    ``okrsync export-metadata`` writes a copy elsewhere.
    """

    def metadata_path(self) -> Path:
        """The shipped metadata (a folder that exists in the installed package)."""
        ...

    def deploy_command(self, path: Path | None = None) -> str:
        """The one command an admin runs to deploy it (from ``path``: the shipped copy)."""
        ...

    def export_metadata(self, out: Path) -> list[Path]:
        """Generate the metadata under ``out``; return the files written."""
        ...


@runtime_checkable
class RepGuide(Protocol):
    """An optional plugin capability: where a rep finds okrsync's records in this CRM."""

    def where_reps_look(self, base_url: str) -> str:
        """One or two sentences for a rep, with a link under the CRM's ``base_url``."""
        ...


def hook_problem(plugin: object, hook: str, *args: Any, **kwargs: Any) -> str | None:
    """Why ``plugin.<hook>(*args, **kwargs)`` cannot be called as written (``None``: it can).

    Checks that the hook exists, is callable, and that its signature accepts the
    arguments (positional and keyword as given) with no other required one.
    """
    method = getattr(plugin, hook, None)
    if method is None:
        return f"it has no `{hook}`"
    if not callable(method):
        return f"its `{hook}` is not callable"
    import inspect  # noqa: PLC0415  (only a registry being built needs it: the CLI starts fast)

    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return None
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        return f"its `{hook}{signature}` cannot be called as the core calls it: {exc}"
    return None


def writes_okr_objects(plugin: object) -> bool:
    """Whether a plugin's connectors hold okrsync's objects (its ``writes``; ``True`` when unsaid).

    A read-only source (``writes = False``, see :class:`okrsync.kit.ConnectorPluginBase`)
    is only read from: key results it serves are written to the CRMs of their ``publish_to``.
    """
    return getattr(plugin, "writes", True) is not False


def _connect_problem(plugin: object) -> str | None:
    return hook_problem(plugin, "connect", "instance", None, clock=None, schema_cache=None)


def packaged_catalog(package: str, name: str = "catalog.yaml") -> tuple[str, bytes]:
    """Display name and content of a catalog file shipped inside ``package``."""
    from importlib.resources import files  # noqa: PLC0415  (as inspect above)

    return f"{package}/{name}", files(package).joinpath(name).read_bytes()


@dataclass(frozen=True, slots=True)
class StaticPlugin:
    """A plugin made of plain values: for tests and for connectors without a package."""

    name: str
    title: str
    settings_model: type[BaseModel]
    catalog_name: str
    catalog_yaml: bytes

    def catalog(self) -> tuple[str, bytes]:
        """Display name and YAML content of the catalog."""
        return self.catalog_name, self.catalog_yaml


class PluginRegistry:
    """The connector plugins available to this process, by connector type."""

    def __init__(self, plugins: Iterable[ConnectorPlugin]) -> None:
        self._plugins: dict[str, ConnectorPlugin] = {}
        for plugin in plugins:
            if plugin.name in self._plugins:
                raise ConfigurationError(f"two connector plugins are named `{plugin.name}`")
            if hasattr(plugin, "connect"):
                problem = _connect_problem(plugin)
                if problem:
                    raise ConfigurationError(
                        f"connector plugin `{plugin.name}` cannot connect: {problem}; expected "
                        "connect(instance, settings, *, clock=None, schema_cache=None)"
                    )
            self._plugins[plugin.name] = plugin

    @classmethod
    def from_entry_points(cls, group: str = ENTRY_POINT_GROUP) -> PluginRegistry:
        """Load every plugin installed under the entry-point ``group``."""
        from importlib.metadata import entry_points  # noqa: PLC0415  (as inspect above)

        found: list[ConnectorPlugin] = []
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            try:
                plugin = ep.load()
            except Exception as exc:
                raise ConfigurationError(
                    f"connector plugin `{ep.name}` ({ep.value}) failed to load: {exc}"
                ) from exc
            if not isinstance(plugin, ConnectorPlugin):
                raise ConfigurationError(
                    f"entry point `{ep.name}` ({ep.value}) is not an okrsync connector plugin"
                )
            found.append(plugin)
        return cls(found)

    def __contains__(self, name: object) -> bool:
        return name in self._plugins

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._plugins))

    def __len__(self) -> int:
        return len(self._plugins)

    def get(self, name: str) -> ConnectorPlugin:
        """The plugin of connector type ``name``."""
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(f"`{n}`" for n in self) or "none installed"
            raise ConfigurationError(
                f"unknown connector type `{name}`; expected one of {known}"
            ) from None

    def connectable(self, name: str) -> ConnectablePlugin:
        """The plugin of connector type ``name``, which can connect to its CRM.

        Raises:
            ConfigurationError: No such type, or its plugin only describes (no ``connect``).
        """
        plugin = self.get(name)
        if not isinstance(plugin, ConnectablePlugin) or _connect_problem(plugin):
            raise ConfigurationError(f"connector type `{name}` cannot connect to a CRM")
        return plugin

    def as_mapping(self) -> Mapping[str, ConnectorPlugin]:
        """Plugins by connector type."""
        return dict(self._plugins)
