"""The sql connector's settings: the URL is a secret from the environment or a file, masked wherever it could show."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from structlog.testing import capture_logs

from okrsync.config import load_settings
from okrsync.connector import Cursor
from okrsync.errors import ConfigurationError, FatalConnectorError, RetriableConnectorError
from okrsync.kit import MASK
from okrsync.plugins import PluginRegistry
from okrsync_sql import SqlSettings, plugin
from okrsync_sql._errors import classify, url_redactor

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "s3cret/Pa55@word"  # noqa: S105  (a test value)
QUOTED = "s3cret%2FPa55%40word"
URL = f"postgresql+psycopg://okrsync:{QUOTED}@127.0.0.1:9/sales?sslpassword=key-Pa55"
VARIABLE = "OKRSYNC_CONNECTORS__WAREHOUSE__URL"


@pytest.fixture(autouse=True)
def _no_okrsync_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OKRSYNC_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def registry() -> PluginRegistry:
    return PluginRegistry.from_entry_points()


def config(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "okrsync.yaml"
    path.write_text(f"connectors:\n  warehouse:\n    type: sql\n{body}")
    return path


def test_the_url_comes_from_the_environment_or_a_file(tmp_path, registry) -> None:
    """`OKRSYNC_CONNECTORS__<NAME>__URL` or its `_FILE` sets the URL; secret values are known for masking."""
    settings = load_settings(config(tmp_path), env={VARIABLE: URL}, registry=registry)
    warehouse = settings.connectors["warehouse"].settings
    assert isinstance(warehouse, SqlSettings)
    assert warehouse.url is not None
    assert warehouse.url.get_secret_value() == URL
    assert {URL, QUOTED, PASSWORD} <= set(settings.secret_values())
    secret = tmp_path / "url"
    secret.write_text(URL + "\n")
    from_file = load_settings(
        config(tmp_path), env={f"{VARIABLE}_FILE": str(secret)}, registry=registry
    )
    assert from_file.connectors["warehouse"].settings == warehouse


def test_a_url_in_the_configuration_file_is_refused_without_showing_it(tmp_path, registry) -> None:
    """A URL written in the YAML is an error at its place that says which variable to use, and never repeats it."""
    path = config(tmp_path, f"    url: {URL}\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path, env={}, registry=registry)
    text = str(caught.value)
    assert text == (
        f"{path}:4:5: connectors.warehouse.url: expected no secret in the configuration file; "
        f"set `{VARIABLE}` or `{VARIABLE}_FILE` instead"
    )


def test_a_url_sqlalchemy_cannot_read_is_named_by_its_variable_not_shown(
    tmp_path, registry
) -> None:
    """A malformed URL is refused naming the variable it came from, with an example, and without its text."""
    bad = "postgres ql://okrsync:hunter22@db"
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config(tmp_path), env={VARIABLE: bad}, registry=registry)
    text = str(caught.value)
    assert text.startswith(f"environment variable {VARIABLE}: connectors.warehouse.url: ")
    assert "expected a SQLAlchemy database URL like `postgresql+psycopg://" in text
    assert "hunter22" not in text
    assert "postgres ql" not in text


def test_settings_are_checked() -> None:
    """A time zone that does not exist and a page of no rows are refused."""
    with pytest.raises(ValueError, match="expected a time zone name like `UTC`"):
        SqlSettings(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="page_size"):
        SqlSettings(page_size=0)
    with pytest.raises(ValueError, match="Extra inputs"):
        SqlSettings.model_validate({"objects": {"t": {"stamp": "x"}}})


def test_a_missing_url_says_which_variable_to_set_when_first_used() -> None:
    """Without a URL the connector is made (a run's other connectors go on); its first call names the variable."""
    connector = plugin.connect("warehouse", SqlSettings())
    with pytest.raises(FatalConnectorError) as caught:
        connector.describe("deals")
    assert f"set {VARIABLE} (or {VARIABLE}_FILE)" in str(caught.value)
    assert caught.value.code == "NO_URL"
    connector.close()


def test_a_missing_driver_is_named_with_what_to_install() -> None:
    """A URL for a driver that is not installed says so, without the password."""
    settings = SqlSettings(url=SecretStr(f"mysql+notadriver://okrsync:{QUOTED}@db/sales"))
    connector = plugin.connect("warehouse", settings)
    with pytest.raises(FatalConnectorError) as caught:
        connector.pull("deals", [], (), Cursor())
    text = str(caught.value)
    assert "cannot load the database driver of `mysql+notadriver`" in text
    assert caught.value.code == "NO_DRIVER"
    assert PASSWORD not in text
    assert QUOTED not in text


def test_the_url_is_masked_in_every_spelling_a_message_may_use() -> None:
    """The URL, as given and as SQLAlchemy renders it, its password quoted or not, and secret parameters are masked."""
    rendered = sa.make_url(URL).render_as_string(hide_password=False)
    text = (
        f"could not connect to {URL} (that is {rendered}); password {PASSWORD} or {QUOTED}, "
        "ssl key-Pa55"
    )
    error = sa.exc.OperationalError("SELECT 1", {}, Exception(text))
    classified = classify(error, what="read deals", redact=url_redactor(URL))
    assert isinstance(classified, RetriableConnectorError)
    shown = str(classified)
    for secret in (PASSWORD, QUOTED, "key-Pa55", "s3cret"):
        assert secret not in shown
    assert shown.count(MASK) >= 5


def test_an_unreachable_database_is_retried_and_its_url_never_logged(connect) -> None:
    """A refused connection is retried as the settings say; neither the error nor a log line holds the password."""
    with capture_logs() as logs:
        connector = connect(URL, max_retries=2, timeout_seconds=2)
        with pytest.raises(RetriableConnectorError) as caught:
            connector.describe("deals")
    retries = [e for e in logs if e["event"] == "connector.retry"]
    assert len(retries) == 2
    assert caught.value.crm == "sql"
    assert "the database cannot be reached" in str(caught.value)
    everything = str(caught.value) + repr(logs)
    for secret in (PASSWORD, QUOTED, "key-Pa55"):
        assert secret not in everything
