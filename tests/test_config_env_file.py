"""The env file a configuration names is read by python-dotenv, with located problems."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from okrsync.config import load_settings
from okrsync.errors import ConfigurationError

if TYPE_CHECKING:
    from pathlib import Path

    from okrsync.plugins import PluginRegistry


def test_dotenv_syntax_is_read_as_written(tmp_path: Path, registry: PluginRegistry) -> None:
    """Quotes with escapes, trailing comments and multi-line values work; `$` is not expanded."""
    (tmp_path / "okrsync.env").write_text(
        'OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN="pat-na1-$HOME\\"x"  # the token\n'
        "OKRSYNC_CONNECTORS__SALESFORCE__PRIVATE_KEY='-----BEGIN KEY-----\n"
        "AAAA\n"
        "-----END KEY-----'\n"
        "OKRSYNC_CONNECTORS__SALESFORCE__AUTH=jwt\n"
        "OKRSYNC_CONNECTORS__SALESFORCE__USERNAME=u@acme.example\n"
        "OKRSYNC_CONNECTORS__SALESFORCE__CONSUMER_KEY=ck\n"
    )
    config = tmp_path / "okrsync.yaml"
    config.write_text("env_file: okrsync.env\n")
    settings = load_settings(config, env={}, registry=registry)
    hubspot = settings.connectors["hubspot"].settings
    salesforce = settings.connectors["salesforce"].settings
    assert hubspot.access_token.get_secret_value() == 'pat-na1-$HOME"x'  # type: ignore[attr-defined]
    assert salesforce.private_key.get_secret_value() == (  # type: ignore[attr-defined]
        "-----BEGIN KEY-----\nAAAA\n-----END KEY-----"
    )


def test_every_malformed_line_is_reported_at_its_line(
    tmp_path: Path, registry: PluginRegistry
) -> None:
    """Lines that are not NAME=value are all reported, each at its line."""
    (tmp_path / "bad.env").write_text(
        "OKRSYNC_LOG__LEVEL=info\n=orphan-value\n\n# fine\nOKRSYNC_LOG__FORMAT\nnot a line\n"
    )
    config = tmp_path / "okrsync.yaml"
    config.write_text("env_file: bad.env\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, env={}, registry=registry)
    bad = tmp_path / "bad.env"
    assert str(caught.value).splitlines() == [
        f"{bad}:2:1: expected NAME=value, got '=orphan-value'",
        f"{bad}:5:1: expected NAME=value, got 'OKRSYNC_LOG__FORMAT'",
        f"{bad}:6:1: expected NAME=value, got 'not a line'",
    ]
