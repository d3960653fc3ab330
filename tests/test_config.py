"""Settings: sources, precedence, secrets and located problems (:mod:`okrsync.config`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from okrsync.config import DEFAULT_STORE_URL, Settings, env_var_name, load_settings, mask_url
from okrsync.errors import ConfigurationError, Problem
from okrsync.plugins import PluginRegistry

if TYPE_CHECKING:
    from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "okrsync.yaml"
ENV_EXAMPLE = ROOT / "config" / "okrsync.env.example"
# Dummy secrets, to check that they are never shown.
TOKEN = "pat-na1-0f8e7d6c-secret-token"  # noqa: S105
PASSWORD = "s3cr3t-pa55word"  # noqa: S105


def _settings_model(connector_type: str) -> type[BaseModel]:
    """The settings model of an installed connector type."""
    return PluginRegistry.from_entry_points().get(connector_type).settings_model


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, so `config/okrsync.yaml` is the test's."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(workdir: Path, text: str) -> Path:
    path = workdir / "config" / "okrsync.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(registry: PluginRegistry, **kwargs: Any) -> Settings:
    kwargs.setdefault("env", {})
    return load_settings(registry=registry, **kwargs)


def problems(registry: PluginRegistry, **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        load(registry, **kwargs)
    return [str(p) for p in info.value.problems]


# --- sources ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("workdir")
def test_defaults_without_a_file(registry):
    """With no configuration file and no variables, every setting has its default."""
    settings = load(registry)
    assert settings.workspace == "default"
    assert settings.store_url.get_secret_value() == DEFAULT_STORE_URL
    assert settings.mappings == Path("mappings")
    assert (settings.log.level, settings.log.format) == ("info", "auto")
    assert settings.schedules.sync.interval == 15 * 60
    assert settings.schedules.sync.cron is None
    assert settings.schedules.check_in.cron == "0 7 * * MON"
    assert settings.schedules.check_in.timezone == "UTC"
    assert settings.schedules.check_in.misfire_grace_seconds == 300
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 8080)  # noqa: S104
    assert settings.connectors == {}


def test_example_file_loads(registry):
    """The shipped `config/okrsync.yaml` loads without a problem."""
    settings = load(registry, config_file=EXAMPLE)
    assert settings.workspace == "acme-sales"
    assert settings.schedules.sync.interval == 900
    assert settings.schedules.check_in.cron == "0 7 * * MON"
    assert settings.schedules.check_in.timezone == "Europe/Berlin"
    assert {name: inst.type for name, inst in settings.connectors.items()} == {
        "salesforce": "salesforce",
        "hubspot": "hubspot",
    }
    assert settings.secret_values() == []


def _example_variables() -> list[tuple[str, str]]:
    pattern = re.compile(r"^#?\s*(OKRSYNC_[A-Z0-9_]+)=(.*)$")
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return [(m[1], m[2]) for m in map(pattern.match, lines) if m]


@pytest.mark.parametrize(("name", "value"), _example_variables())
def test_env_example_names_real_settings(tmp_path, registry, name, value):
    """Every variable in `config/okrsync.env.example` is accepted with the example file."""
    if name.endswith("_FILE") and not name.endswith("CA_FILE"):
        secret = tmp_path / "secret"
        secret.write_text("postgresql+psycopg://okrsync:dummy@db.example.com/okrsync\n")
        value = str(secret)
    load(registry, config_file=EXAMPLE, env={name: value})


def test_default_file_is_read_when_present(workdir, registry):
    """`config/okrsync.yaml` in the working directory is read when no file is named."""
    write_config(workdir, "workspace: from-default-file\n")
    assert load(registry).workspace == "from-default-file"


def test_okrsync_config_names_the_file(workdir, registry):
    """`OKRSYNC_CONFIG` names the file when no file is passed."""
    (workdir / "other.yaml").write_text("workspace: from-env-file\n")
    write_config(workdir, "workspace: from-default-file\n")
    assert load(registry, env={"OKRSYNC_CONFIG": "other.yaml"}).workspace == "from-env-file"


def test_precedence_override_env_file_default(workdir, registry):
    """Command line beats environment beats file beats default, for one field."""
    env = {"OKRSYNC_LOG__LEVEL": "error"}
    cli = {"log.level": "debug"}
    assert load(registry).log.level == "info"
    write_config(workdir, "log:\n  level: warning\n")
    assert load(registry).log.level == "warning"
    assert load(registry, env=env).log.level == "error"
    assert load(registry, env=env, overrides=cli).log.level == "debug"
    assert load(registry, env=env, overrides={"log": {"level": "debug"}}).log.level == "debug"
    assert load(registry, env=env, overrides={"log.level": None}).log.level == "error"


def test_env_merges_into_file_values(workdir, registry):
    """A variable changes one key; the file's other keys stay."""
    write_config(workdir, "log:\n  level: warning\n  format: console\n")
    settings = load(registry, env={"OKRSYNC_LOG__FORMAT": "JSON"})
    assert (settings.log.level, settings.log.format) == ("warning", "json")


def test_env_cron_replaces_file_interval(workdir, registry):
    """Setting `cron` in a higher source replaces the file's `interval`, not conflicting."""
    write_config(workdir, "schedules:\n  sync:\n    interval: 1h\n    timezone: Europe/Berlin\n")
    sync = load(registry, env={"OKRSYNC_SCHEDULES__SYNC__CRON": "*/5 * * * *"}).schedules.sync
    assert (sync.cron, sync.interval, sync.timezone) == ("*/5 * * * *", None, "Europe/Berlin")


@pytest.mark.usefixtures("workdir")
@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400)]
)
def test_interval_in_seconds(registry, text, seconds):
    """Intervals are written with a unit and held in seconds."""
    env = {"OKRSYNC_SCHEDULES__SYNC__INTERVAL": text}
    assert load(registry, env=env).schedules.sync.interval == seconds


@pytest.mark.usefixtures("workdir")
def test_env_nested_connector_secret(registry):
    """`OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN` sets that instance's token."""
    settings = load(registry, env={"OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN": TOKEN})
    token = settings.connectors["hubspot"].settings.access_token  # type: ignore[attr-defined]
    assert token.get_secret_value() == TOKEN


def test_env_file_indirection(workdir, registry):
    """`…_FILE` names a file whose content, without the trailing newline, is the value."""
    (workdir / "token").write_text(TOKEN + "\n")
    (workdir / "store").write_text(
        f"postgresql+psycopg://okrsync:{PASSWORD}@db.example.com/okrsync\n"
    )
    env = {
        "OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN_FILE": str(workdir / "token"),
        "OKRSYNC_STORE_URL_FILE": "store",
    }
    settings = load(registry, env=env)
    token = settings.connectors["hubspot"].settings.access_token  # type: ignore[attr-defined]
    assert token.get_secret_value() == TOKEN
    assert (
        settings.store_url_masked
        == "postgresql+psycopg://okrsync:**********@db.example.com/okrsync"
    )


def test_ca_file_is_a_field_not_an_indirection(workdir, registry):
    """`…__CA_FILE` sets `ca_file` itself; the file it names is not read."""
    write_config(workdir, "connectors:\n  salesforce:\n    instance_url: https://x.example.com\n"
                 "    auth: session\n")  # fmt: skip
    env = {"OKRSYNC_CONNECTORS__SALESFORCE__CA_FILE": "/nonexistent/corp-ca.pem"}
    settings = load(registry, env=env)
    ca_file = settings.connectors["salesforce"].settings.ca_file  # type: ignore[attr-defined]
    assert ca_file == Path("/nonexistent/corp-ca.pem")


def test_env_connector_name_with_dash(workdir, registry):
    """A `-` in an instance name is written `_` in a variable name."""
    write_config(workdir, "connectors:\n  hs-eu:\n    type: hubspot\n")
    settings = load(registry, env={"OKRSYNC_CONNECTORS__HS_EU__ACCESS_TOKEN": TOKEN})
    assert list(settings.connectors) == ["hs-eu"]
    assert settings.secret_values() == [TOKEN]
    assert env_var_name(("connectors", "hs-eu", "access_token")) == (
        "OKRSYNC_CONNECTORS__HS_EU__ACCESS_TOKEN"
    )


def test_reserved_variables_are_ignored(workdir, registry):
    """`OKRSYNC_CONFIG`, `OKRSYNC_TEST_…` and `OKRSYNC_EXTERNAL_…` are not settings."""
    write_config(workdir, "workspace: acme\n")
    env = {
        "OKRSYNC_CONFIG": "config/okrsync.yaml",
        "OKRSYNC_TEST_SEED": "1",
        "OKRSYNC_EXTERNAL_TESTS": "1",
        "PATH": "/usr/bin",
    }
    assert load(registry, env=env).workspace == "acme"


# --- connectors ------------------------------------------------------------------------------


def test_sources_configured_instances(workdir, registry):
    """`sources()` lists the configured instances with their types."""
    write_config(workdir, "connectors:\n  hs-eu:\n    type: hubspot\n  hubspot: {}\n")
    assert load(registry).sources(registry) == {"hs-eu": "hubspot", "hubspot": "hubspot"}


@pytest.mark.usefixtures("workdir")
def test_sources_default_one_per_plugin(registry):
    """With no instance configured, `sources()` gives one per installed plugin."""
    sources = load(registry).sources(registry)
    assert {"hubspot", "salesforce"} <= set(sources)  # whatever else is installed too
    assert sources == {name: name for name in registry}


def test_unknown_connector_type_lists_installed(workdir, registry):
    """An unknown `type` is located and the installed types are listed."""
    write_config(workdir, "connectors:\n  crm:\n    type: hubsopt\n  eu: {}\n")
    installed = ", ".join(f"`{name}`" for name in registry)  # `hubspot`, `salesforce`, …
    assert "`hubspot`, `salesforce`" in installed
    assert problems(registry) == [
        (
            "config/okrsync.yaml:3:11: connectors.crm.type: unknown connector type 'hubsopt' "
            f"(did you mean `hubspot`?); expected one of {installed}"
        ),
        (
            "config/okrsync.yaml:4:3: connectors.eu: unknown connector type 'eu'; expected one of "
            f"{installed} (set `type` when the instance is not named after its type)"
        ),
    ]


# --- located problems ------------------------------------------------------------------------

YAML_CASES = {
    "bad_level": (
        "log:\n  level: verbose\n",
        (
            "config/okrsync.yaml:2:10: log.level: expected 'debug', 'info', 'warning' or 'error', "
            "got 'verbose'"
        ),
    ),
    "bad_cron": (
        "schedules:\n  check_in:\n    cron: '61 * * * *'\n",
        (
            "config/okrsync.yaml:3:11: schedules.check_in.cron: expected a crontab of 5 fields "
            "(minute hour day month weekday) like `0 7 * * MON`, got '61 * * * *': error validating "
            "expression '61': the last value (61) is higher than the maximum value (59)"
        ),
    ),
    "unknown_key": (
        "log:\n  levle: debug\n",
        (
            "config/okrsync.yaml:2:3: log.levle: unknown key `levle` (did you mean `level`?); "
            "expected one of `level`, `format`"
        ),
    ),
    "connector_setting": (
        "connectors:\n  salesforce:\n    auth: oauth\n",
        (
            "config/okrsync.yaml:3:11: connectors.salesforce.auth: expected 'jwt', "
            "'client_credentials' or 'session', got 'oauth'"
        ),
    ),
    "connector_unknown_key": (
        "connectors:\n  hubspot:\n    acess_token_x: 1\n",
        (
            "config/okrsync.yaml:3:5: connectors.hubspot.acess_token_x: unknown key `acess_token_x` "
            "(did you mean `access_token`?); expected one of "
            + ", ".join(f"`{name}`" for name in _settings_model("hubspot").model_fields)
        ),
    ),
    "both_cron_and_interval": (
        "schedules:\n  sync:\n    cron: '0 * * * *'\n    interval: 1h\n",
        (
            "config/okrsync.yaml:3:5: schedules.sync: expected exactly one of `cron` or `interval`, "
            "got both"
        ),
    ),
    "bad_interval": (
        "schedules:\n  sync:\n    interval: 15 minutes\n",
        (
            "config/okrsync.yaml:3:15: schedules.sync.interval: expected a duration above zero like "
            "`30s`, `15m`, `1h` or `1d`, got '15 minutes'"
        ),
    ),
    "bad_timezone": (
        "schedules:\n  sync:\n    interval: 1h\n    timezone: Europe/Berlim\n",
        (
            "config/okrsync.yaml:4:15: schedules.sync.timezone: expected a time zone name like `UTC` "
            "or `Europe/Berlin`, got 'Europe/Berlim'"
        ),
    ),
    "bad_workspace": (
        "workspace: Acme Sales\n",
        (
            "config/okrsync.yaml:1:12: workspace: expected a lowercase name of letters, digits, `-` "
            "and `_` like `acme-sales`, got 'Acme Sales'"
        ),
    ),
    "bad_store_scheme": (
        "store_url: mysql://okrsync@db.example.com/okrsync\n",
        (
            "config/okrsync.yaml:1:12: store_url: expected a database URL like "
            "`sqlite:///okrsync-state.db` or `postgresql+psycopg://user@host/db`, "
            "got 'mysql://okrsync@db.example.com/okrsync'"
        ),
    ),
    "port_out_of_range": (
        "http:\n  port: 70000\n",
        (
            "config/okrsync.yaml:2:9: http.port: input should be less than or equal to 65535, "
            "got 70000"
        ),
    ),
    "bad_instance_name": (
        "connectors:\n  Sales Force: {}\n",
        (
            "config/okrsync.yaml:2:3: connectors['Sales Force']: expected a connector name of "
            "lowercase letters, digits, `-` and `_`, starting with a letter, got 'Sales Force'"
        ),
    ),
}


@pytest.mark.parametrize("case", YAML_CASES)
def test_yaml_problem_is_located(workdir, registry, case):
    """A bad value in the file is reported as `file:line:col: path: message`."""
    text, expected = YAML_CASES[case]
    write_config(workdir, text)
    assert problems(registry) == [expected]


def test_secret_in_yaml_is_rejected(workdir, registry):
    """A secret in the file is an error at its key, naming the variables to use instead."""
    write_config(workdir, f"connectors:\n  hubspot:\n    host: https://h.example.com\n"
                 f"    access_token: {TOKEN}\n")  # fmt: skip
    assert problems(registry) == [
        (
            "config/okrsync.yaml:4:5: connectors.hubspot.access_token: expected no secret in the "
            "configuration file; set `OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN` or "
            "`OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN_FILE` instead"
        ),
    ]


def test_store_password_in_yaml_is_rejected(workdir, registry):
    """A store URL with a password in the file is an error; without one it is fine."""
    write_config(workdir, f"store_url: postgresql+psycopg://okrsync:{PASSWORD}@db.example.com/x\n")
    assert problems(registry) == [
        (
            "config/okrsync.yaml:1:1: store_url: expected no password in the configuration file; "
            "set the whole URL in `OKRSYNC_STORE_URL` or `OKRSYNC_STORE_URL_FILE` instead"
        ),
    ]
    write_config(workdir, "store_url: postgresql+psycopg://okrsync@db.example.com/x\n")
    assert load(registry).store_url_masked == "postgresql+psycopg://okrsync@db.example.com/x"


@pytest.mark.usefixtures("workdir")
def test_bad_env_value_names_the_variable(registry):
    """A bad value from the environment names its variable."""
    assert problems(registry, env={"OKRSYNC_LOG__LEVEL": "verbose"}) == [
        (
            "environment variable OKRSYNC_LOG__LEVEL: log.level: expected 'debug', 'info', "
            "'warning' or 'error', got 'verbose'"
        ),
    ]
    assert problems(registry, env={"OKRSYNC_LOG__LEVEL": "verbose"})[0] == str(
        Problem("environment variable OKRSYNC_LOG__LEVEL", 0, 0, "log.level",
                "expected 'debug', 'info', 'warning' or 'error', got 'verbose'")
    )  # fmt: skip


def test_env_value_over_file_is_blamed_on_the_variable(workdir, registry):
    """When a variable overrides the file, a bad value is the variable's fault."""
    write_config(workdir, "http:\n  port: 8080\n")
    assert problems(registry, env={"OKRSYNC_HTTP__PORT": "http"}) == [
        "environment variable OKRSYNC_HTTP__PORT: http.port: expected an integer, got 'http'",
    ]


@pytest.mark.usefixtures("workdir")
def test_unknown_env_variable_is_rejected(registry):
    """A misspelt `OKRSYNC_` variable is an error suggesting the right name."""
    env = {"OKRSYNC_LOG__LEVLE": "debug", "OKRSYNC_CONNECTORS__HUBSPOT__ACESS_TOKEN": TOKEN}
    assert problems(registry, env=env) == [
        (
            "environment variable OKRSYNC_CONNECTORS__HUBSPOT__ACESS_TOKEN: "
            "connectors.hubspot.acess_token: no such setting; did you mean "
            "`OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN`?"
        ),
        (
            "environment variable OKRSYNC_LOG__LEVLE: log.levle: no such setting; "
            "did you mean `OKRSYNC_LOG__LEVEL`?"
        ),
    ]


@pytest.mark.usefixtures("workdir")
def test_unreadable_env_file_names_the_variable(registry):
    """A `_FILE` variable naming a missing file is an error naming the variable."""
    env = {"OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN_FILE": "/run/secrets/absent"}
    assert problems(registry, env=env) == [
        (
            "environment variable OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN_FILE: "
            "connectors.hubspot.access_token: cannot read the file '/run/secrets/absent': "
            "No such file or directory"
        ),
    ]


def test_value_and_file_variable_conflict(workdir, registry):
    """Setting a value both directly and through `_FILE` is an error."""
    (workdir / "level").write_text("debug\n")
    env = {"OKRSYNC_LOG__LEVEL": "info", "OKRSYNC_LOG__LEVEL_FILE": "level"}
    assert problems(registry, env=env) == [
        (
            "environment variable OKRSYNC_LOG__LEVEL_FILE: log.level: conflicts with "
            "environment variable OKRSYNC_LOG__LEVEL; set only one"
        ),
    ]


@pytest.mark.usefixtures("workdir")
def test_override_problem_names_the_command_line(registry):
    """A bad override is said to come from the command line."""
    assert problems(registry, overrides={"http.port": 70000}) == [
        "command line: http.port: input should be less than or equal to 65535, got 70000",
    ]


@pytest.mark.usefixtures("workdir")
def test_missing_explicit_config_file(registry):
    """A named file that does not exist is an error saying who named it."""
    assert problems(registry, config_file=Path("nope.yaml")) == [
        "nope.yaml: no such configuration file (named on the command line)",
    ]
    assert problems(registry, env={"OKRSYNC_CONFIG": "config/missing.yaml"}) == [
        (
            "config/missing.yaml: no such configuration file "
            "(named by the environment variable OKRSYNC_CONFIG)"
        ),
    ]


def test_several_problems_reported_together(workdir, registry):
    """Problems from the file, the environment and the command line come in one error."""
    write_config(workdir, "log:\n  level: verbose\nhttp:\n  prt: 1\n")
    found = problems(
        registry, env={"OKRSYNC_WORKSPAC": "acme"}, overrides={"schedules.sync.interval": "soon"}
    )
    assert found == [
        (
            "command line: schedules.sync.interval: expected a duration above zero like `30s`, "
            "`15m`, `1h` or `1d`, got 'soon'"
        ),
        (
            "config/okrsync.yaml:2:10: log.level: expected 'debug', 'info', 'warning' or 'error', "
            "got 'verbose'"
        ),
        (
            "config/okrsync.yaml:4:3: http.prt: unknown key `prt` (did you mean `port`?); "
            "expected one of `host`, `port`, `page`, `auth`"
        ),
        (
            "environment variable OKRSYNC_WORKSPAC: workspac: no such setting; "
            "did you mean `OKRSYNC_WORKSPACE`?"
        ),
    ]


@pytest.mark.usefixtures("workdir")
def test_connector_missing_keys_from_env_instance(registry):
    """An instance made only by variables is blamed on them when incomplete."""
    env = {"OKRSYNC_CONNECTORS__SALESFORCE__CONSUMER_KEY": "3MVG9-example"}
    [problem] = problems(registry, env=env)
    assert problem.startswith(
        "environment variable OKRSYNC_CONNECTORS__SALESFORCE__CONSUMER_KEY: "
        "connectors.salesforce: auth `jwt` needs `username`"
    )


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_never_shown(workdir, registry):
    """Secret values appear in no error message and no repr."""
    write_config(workdir, f"connectors:\n  hubspot:\n    access_token: {TOKEN}\n")
    env = {"OKRSYNC_STORE_URL": f"mysql://okrsync:{PASSWORD}@db.example.com/x"}
    with pytest.raises(ConfigurationError) as info:
        load(registry, env=env)
    text = f"{info.value}\n{info.value!r}"
    assert TOKEN not in text
    assert PASSWORD not in text
    assert "got 'mysql://okrsync:**********@db.example.com/x'" in text

    write_config(workdir, "{}\n")
    env = {
        "OKRSYNC_STORE_URL": f"postgresql+psycopg://okrsync:{PASSWORD}@db.example.com/x",
        "OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN": TOKEN,
    }
    settings = load(registry, env=env)
    shown = f"{settings!r}\n{settings}\n{settings.store_url_masked}"
    assert TOKEN not in shown
    assert PASSWORD not in shown


@pytest.mark.usefixtures("workdir")
def test_secret_with_wrong_type_is_masked(registry):
    """A secret of the wrong type is described as `'**********'`, not shown."""
    assert problems(registry, overrides={"connectors.hubspot.access_token": 12345678}) == [
        "command line: connectors.hubspot.access_token: expected a text, got '**********'",
    ]


@pytest.mark.usefixtures("workdir")
def test_secret_values_for_redaction(registry):
    """`secret_values()` lists the store password and every connector secret."""
    env = {
        "OKRSYNC_STORE_URL": f"postgresql+psycopg://okrsync:{PASSWORD}@db.example.com/x",
        "OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN": TOKEN,
    }
    assert load(registry, env=env).secret_values() == [PASSWORD, TOKEN]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("sqlite:///okrsync-state.db", "sqlite:///okrsync-state.db"),
        ("postgresql+psycopg://u:pw@h:5432/db", "postgresql+psycopg://u:**********@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_mask_url(url, masked):
    """`mask_url` hides the password and nothing else."""
    assert mask_url(url) == masked


@pytest.mark.usefixtures("workdir")
def test_settings_are_frozen(registry):
    """Settings cannot be changed after loading."""
    settings = load(registry)
    with pytest.raises(ValueError, match="frozen"):
        settings.workspace = "other"  # type: ignore[misc]
    assert isinstance(settings.store_url, SecretStr)


def test_env_file_supplies_environment_below_the_real_one(tmp_path, registry) -> None:
    """An env_file named in the configuration acts as environment; real variables win."""
    (tmp_path / "okrsync.env").write_text(
        "# sandbox credentials\n"
        "OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN='pat-from-file'\n"
        "export OKRSYNC_LOG__LEVEL=debug\n"
        "OTHER_TOOL_SETTING=ignored\n"
    )
    config = tmp_path / "okrsync.yaml"
    config.write_text(
        "env_file: okrsync.env\nconnectors:\n  hubspot: {host: 'http://127.0.0.1:1'}\n"
    )
    settings = load_settings(config, env={"OKRSYNC_LOG__LEVEL": "warning"}, registry=registry)
    token = settings.connectors["hubspot"].settings.access_token  # type: ignore[attr-defined]
    assert token.get_secret_value() == "pat-from-file"
    assert settings.log.level == "warning"


def test_env_file_problems_are_located(tmp_path, registry) -> None:
    """A missing env file or a malformed line is reported where it is."""
    config = tmp_path / "okrsync.yaml"
    config.write_text("log: {level: info}\nenv_file: nope.env\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, env={}, registry=registry)
    assert str(caught.value).startswith(
        f"{config}:2:11: env_file: cannot read the env file 'nope.env'"
    )
    (tmp_path / "bad.env").write_text("OKRSYNC_LOG__LEVEL=info\njust words\n")
    config.write_text("env_file: bad.env\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config, env={}, registry=registry)
    assert str(caught.value) == f"{tmp_path / 'bad.env'}:2:1: expected NAME=value, got 'just words'"
