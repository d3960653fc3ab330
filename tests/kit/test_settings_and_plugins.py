"""Shared connector settings, old names read for one release, and plugins checked as they load."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from okrsync.config import load_settings
from okrsync.errors import ConfigurationError
from okrsync.kit import DEPRECATED_EVENT, ConnectorSettings
from okrsync.plugins import PluginRegistry, StaticPlugin
from okrsync_hubspot import HubSpotSettings
from okrsync_hubspot import plugin as hubspot
from okrsync_salesforce import plugin as salesforce

if TYPE_CHECKING:
    from pathlib import Path

SHARED = set(ConnectorSettings.model_fields)


@pytest.mark.parametrize("plugin", [salesforce, hubspot], ids=["salesforce", "hubspot"])
def test_every_connector_shares_the_settings_names_and_types(plugin: Any) -> None:
    """The shared knobs exist in each connector's model with the base's type (float seconds)."""
    fields = plugin.settings_model.model_fields
    assert set(fields) >= SHARED
    for name in SHARED:
        assert fields[name].annotation == ConnectorSettings.model_fields[name].annotation, name
    assert ConnectorSettings.model_fields["lookback_seconds"].annotation is float
    assert ConnectorSettings.model_fields["deletion_check_seconds"].annotation is float


def test_old_hubspot_names_are_read_with_a_deprecation_naming_the_new_one() -> None:
    """`backoff_factor` and `retry_after_max_seconds` still set the new knobs; `backoff_jitter` is ignored."""
    settings = HubSpotSettings(
        access_token="pat-na1-x",  # type: ignore[arg-type]  # noqa: S106  (a made-up token)
        backoff_factor=0.2,
        retry_after_max_seconds=7,
        backoff_jitter=0.5,
    )
    assert (settings.retry_backoff_seconds, settings.retry_max_wait_seconds) == (0.2, 7.0)
    advice = {d.old: d.advice for d in settings.deprecations()}
    assert set(advice) == {"backoff_factor", "backoff_jitter", "retry_after_max_seconds"}
    assert "rename it `retry_backoff_seconds`" in advice["backoff_factor"]
    assert "remove it" in advice["backoff_jitter"]
    with capture_logs() as logs:
        hubspot.connect("hs-emea", settings).close()
    notices = [e for e in logs if e["event"] == DEPRECATED_EVENT]
    assert {e["setting"] for e in notices} == {
        "connectors.hs-emea.backoff_factor",
        "connectors.hs-emea.backoff_jitter",
        "connectors.hs-emea.retry_after_max_seconds",
    }
    assert "OKRSYNC_CONNECTORS__HS_EMEA__BACKOFF_FACTOR" in {e["variable"] for e in notices}
    assert HubSpotSettings().deprecations() == []


def test_an_old_and_a_new_name_together_is_an_error(
    tmp_path: Path, registry: PluginRegistry
) -> None:
    """Setting a knob under both names is a located configuration error naming both."""
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        "connectors:\n  hubspot:\n    backoff_factor: 0.2\n    retry_backoff_seconds: 0.3\n"
    )
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, env={}, registry=registry)
    assert str(caught.value) == (
        f"{config}:3:5: connectors.hubspot: expected only `retry_backoff_seconds`: "
        "`backoff_factor` is its old name, set one of them"
    )


def test_a_bad_value_under_an_old_name_is_located_at_it(
    tmp_path: Path, registry: PluginRegistry
) -> None:
    """A wrong value for a deprecated setting is reported where it was written."""
    config = tmp_path / "okrsync.yaml"
    config.write_text("connectors:\n  hubspot:\n    backoff_factor: fast\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, env={}, registry=registry)
    assert ":3:21: connectors.hubspot.backoff_factor: expected a number" in str(caught.value)


@pytest.mark.parametrize("plugin", [salesforce, hubspot], ids=["salesforce", "hubspot"])
def test_connect_refuses_another_connectors_settings(plugin: Any) -> None:
    """Both connectors raise TypeError for settings of another model, naming the one expected."""

    class Other(BaseModel):
        host: str = "x"

    with pytest.raises(TypeError, match=f"expects {plugin.settings_model.__name__}, got Other"):
        plugin.connect("x", Other())


class _BadConnect:
    name = "bad"
    title = "Bad"
    settings_model = ConnectorSettings

    def catalog(self) -> tuple[str, bytes]:
        return "bad/catalog.yaml", b"version: 1\nmetrics: {}\n"

    def connect(self, instance: str) -> None:
        """Takes too little."""


def test_the_registry_refuses_a_plugin_whose_connect_does_not_fit() -> None:
    """A connect() that cannot take (instance, settings, *, clock, schema_cache) is refused at load."""
    with pytest.raises(
        ConfigurationError, match=r"connector plugin `bad` cannot connect: its `connect"
    ):
        PluginRegistry([_BadConnect()])


def test_a_plugin_without_connect_describes_but_cannot_connect() -> None:
    """A plugin of plain facts is registered; asking it to connect is a clear configuration error."""
    static = StaticPlugin("facts", "Facts", ConnectorSettings, "facts.yaml", b"")
    registry = PluginRegistry([static, salesforce, hubspot])
    assert registry.connectable("salesforce") is salesforce
    with pytest.raises(ConfigurationError, match="connector type `facts` cannot connect to a CRM"):
        registry.connectable("facts")
