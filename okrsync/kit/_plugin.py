"""The base of a connector plugin: plain facts as class attributes, ``connect`` typed and checked.

A connector package exports one instance of a subclass as its entry point::

    class AcmePlugin(ConnectorPluginBase["AcmeSettings", "AcmeConnector"]):
        name = "acme"
        title = "Acme CRM"
        settings_model = AcmeSettings
        catalog_package = "okrsync_acme"

        def build(self, instance, settings, *, clock, schema_cache):
            from okrsync_acme.connector import AcmeConnector  # the SDK loads only here
            return AcmeConnector(instance, settings, clock=clock, schema_cache=schema_cache)

    plugin = AcmePlugin()
    _: ConnectablePlugin = plugin  # mypy checks the plugin, and the connector, conform

The type arguments make mypy check that the connector class implements
:class:`okrsync.connector.Connector`; :class:`okrsync.plugins.PluginRegistry`
checks at load time that ``connect`` takes what the core passes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from okrsync.connector import Connector
from okrsync.kit._settings import ConnectorSettings
from okrsync.plugins import packaged_catalog

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from pydantic import BaseModel

    from okrsync.connector import SchemaCache

__all__ = ["DEPRECATED_EVENT", "ConnectorPluginBase"]

DEPRECATED_EVENT = "connector.settings.deprecated"
"""Logged when a connector instance is configured with an old setting name."""

S = TypeVar("S", bound=ConnectorSettings)
C = TypeVar("C", bound=Connector)


class ConnectorPluginBase(ABC, Generic[S, C]):
    """What a connector package gives the core: facts, settings, catalog and ``connect``.

    Subclasses set :attr:`name`, :attr:`title`, :attr:`settings_model` and
    :attr:`catalog_package` (and :attr:`writes` for a read-only source), and
    implement :meth:`build`.
    """

    name: ClassVar[str]
    """Connector type, e.g. ``salesforce``; the default instance name too."""
    title: ClassVar[str]
    """Human name of the CRM, e.g. ``Salesforce``."""
    settings_model: type[S]
    """The pydantic model of an instance's settings (a :class:`ConnectorSettings`)."""
    catalog_package: ClassVar[str]
    """The package whose ``catalog.yaml`` is the built-in metric catalog."""
    writes: ClassVar[bool] = True
    """Whether its connectors hold okrsync's objects. A read-only source (a SQL
    warehouse) says ``False``: its key results are published to a CRM with
    ``publish_to``, and ``okrsync provision`` passes it by."""

    def catalog(self) -> tuple[str, bytes]:
        """Display name and content of the built-in metric catalog."""
        return packaged_catalog(self.catalog_package)

    def connect(
        self,
        instance: str,
        settings: BaseModel,
        *,
        clock: Callable[[], datetime] | None = None,
        schema_cache: SchemaCache | None = None,
    ) -> C:
        """A connector for the instance ``instance`` with its validated ``settings``.

        Old setting names the instance still uses are logged
        (``connector.settings.deprecated``) with the name to use instead.

        Raises:
            TypeError: ``settings`` are not this plugin's :attr:`settings_model`
                (the configuration validates each instance with it; another
                model is a programming error, not something to convert).
        """
        if not isinstance(settings, self.settings_model):
            raise TypeError(
                f"the {self.title} connector expects {self.settings_model.__name__}, "
                f"got {type(settings).__name__}"
            )
        import structlog  # noqa: PLC0415  (only connecting logs: `okrsync validate` starts fast)

        from okrsync.config import env_var_name  # noqa: PLC0415  (config imports the kit's redactor)

        log = structlog.get_logger("okrsync.kit").bind(connector=instance, crm=self.name)
        for notice in settings.deprecations():
            log.warning(
                DEPRECATED_EVENT,
                setting=f"connectors.{instance}.{notice.old}",
                variable=env_var_name(("connectors", instance, notice.old)),
                advice=notice.advice,
            )
        return self.build(instance, settings, clock=clock, schema_cache=schema_cache)

    @abstractmethod
    def build(
        self,
        instance: str,
        settings: S,
        *,
        clock: Callable[[], datetime] | None,
        schema_cache: SchemaCache | None,
    ) -> C:
        """The connector (the CRM's client library is imported here, not at plugin load)."""
