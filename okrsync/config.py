"""Settings of the daemon: the configuration file, the environment, the command line.

Precedence, highest first: command-line overrides > environment variables
(``OKRSYNC_…``) > the configuration file (``config/okrsync.yaml``) > defaults.

Environment variables name a setting by its path, upper-cased, parts joined by
``__``: ``OKRSYNC_LOG__LEVEL``, ``OKRSYNC_SCHEDULES__SYNC__INTERVAL``,
``OKRSYNC_CONNECTORS__HUBSPOT__ACCESS_TOKEN`` (a ``-`` in a connector name is
written ``_``). Any setting may instead be read from a file named by the same
variable with ``_FILE`` appended (the Docker secrets convention), unless the
setting itself ends in ``_file`` (like ``ca_file``). Secrets (``SecretStr``
fields, the password of ``store_url``) come only from the environment, files or
the command line, never from the configuration file.

Every problem is collected and reported at once, each saying where its value
came from: ``config/okrsync.yaml:12:5``, ``environment variable OKRSYNC_…`` or
``command line``.
"""

from __future__ import annotations

import copy
import difflib
import io
import os
import re
import types
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, Union, get_args, get_origin
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv.parser import parse_stream
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    SerializeAsAny,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from okrsync._validation import allowed_keys, explain
from okrsync._yaml import LocatedDocument, YamlPath, format_path, load_yaml_file
from okrsync.errors import ConfigurationError, Problem
from okrsync.kit import MASK, Redactor
from okrsync.metric import describe_value

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from pydantic_core import ErrorDetails

    from okrsync.plugins import PluginRegistry

__all__ = [
    "COMMAND_LINE",
    "CONFIG_ENV",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_STORE_URL",
    "ENV_PREFIX",
    "SECRET_MASK",
    "ConnectorInstance",
    "HttpAuth",
    "HttpSettings",
    "LogSettings",
    "PageSettings",
    "ReadinessSettings",
    "Schedule",
    "Schedules",
    "Settings",
    "env_var_name",
    "load_settings",
    "mask_url",
]

ENV_PREFIX = "OKRSYNC_"
"""Prefix of every environment variable that sets a setting."""
ENV_DELIMITER = "__"
"""Separates the parts of a setting's path in a variable name."""
FILE_SUFFIX = "_file"
"""Appended to a variable's name to read the value from the file it names."""
CONFIG_ENV = "OKRSYNC_CONFIG"
"""Names the configuration file when no file is passed explicitly."""
RESERVED_PREFIXES = ("OKRSYNC_TEST_", "OKRSYNC_EXTERNAL_")
"""Variables okrsync's own tooling uses; they are not settings."""
DEFAULT_CONFIG_FILE = Path("config/okrsync.yaml")
"""Read when it exists and no other file is named."""
DEFAULT_STORE_URL = "sqlite:///okrsync-state.db"
"""The state database when none is configured: SQLite in the working directory."""
SECRET_MASK = MASK
"""How a secret value is shown (the one mask, :data:`okrsync.kit.MASK`)."""
COMMAND_LINE = "command line"
"""Where command-line overrides are said to come from."""

_ENV_LABEL = "environment variable "
_NOWHERE = "built-in defaults"
_CONNECTORS = "connectors"
_WORKSPACE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_INSTANCE = re.compile(r"[a-z][a-z0-9_-]*")
_DURATION = re.compile(r"\s*(\d+)\s*([smhd])\s*")
_UNIT_SECONDS = types.MappingProxyType({"s": 1, "m": 60, "h": 3600, "d": 86400})
_STORE_SCHEME = re.compile(r"(sqlite|postgresql)(\+[a-z0-9_]+)?")
_EXCLUSIVE = frozenset({"cron", "interval"})


def _fail(expected: str, value: Any, detail: str = "") -> NoReturn:
    got = f"got {describe_value(value)}"
    raise PydanticCustomError("okrsync_setting", f"expected {expected}, {got}{detail}")


def env_var_name(path: YamlPath) -> str:
    """The environment variable that sets the setting at ``path``.

    ``("connectors", "my-crm", "access_token")`` → ``OKRSYNC_CONNECTORS__MY_CRM__ACCESS_TOKEN``.
    """
    parts = (str(p).upper().replace("-", "_") for p in path)
    return ENV_PREFIX + ENV_DELIMITER.join(parts)


def mask_url(url: str) -> str:
    """``url`` with its password (if any) replaced by the mask."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return SECRET_MASK
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


# --- field types ---------------------------------------------------------------------------


def _workspace(value: Any) -> Any:
    if isinstance(value, str) and _WORKSPACE.fullmatch(value):
        return value
    _fail("a lowercase name of letters, digits, `-` and `_` like `acme-sales`", value)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _interval(value: Any) -> Any:
    match = _DURATION.fullmatch(value.lower()) if isinstance(value, str) else None
    if match and int(match[1]) > 0:
        return int(match[1]) * _UNIT_SECONDS[match[2]]
    _fail("a duration above zero like `30s`, `15m`, `1h` or `1d`", value)


def _cron(value: Any) -> Any:
    expected = "a crontab of 5 fields (minute hour day month weekday) like `0 7 * * MON`"
    if not isinstance(value, str):
        _fail(expected, value)
    # APScheduler 3.x is untyped; imported when a schedule is read, so the CLI starts fast
    from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        reason = str(exc)
        _fail(expected, value, f": {reason[:1].lower()}{reason[1:]}")
    return value


def _timezone(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value
    _fail("a time zone name like `UTC` or `Europe/Berlin`", value)


def _store_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    scheme, sep, _ = url.partition("://")
    if not sep or not _STORE_SCHEME.fullmatch(scheme):
        _fail(
            "a database URL like `sqlite:///okrsync-state.db` or "
            "`postgresql+psycopg://user@host/db`",
            mask_url(url),
        )
    return value


Workspace = Annotated[str, BeforeValidator(_workspace)]
LogLevel = Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower)]
LogFormat = Annotated[Literal["auto", "json", "console"], BeforeValidator(_lower)]
Interval = Annotated[int, BeforeValidator(_interval)]
Crontab = Annotated[str, BeforeValidator(_cron)]
TimeZoneName = Annotated[str, BeforeValidator(_timezone)]
StoreUrl = Annotated[SecretStr, AfterValidator(_store_url)]


# --- models --------------------------------------------------------------------------------


class LogSettings(BaseModel):
    """How the daemon logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: LogLevel = "info"
    format: LogFormat = Field(
        "auto", description="`json`, `console`, or `auto`: JSON unless the output is a terminal."
    )


class Schedule(BaseModel):
    """When a job runs: exactly one of ``cron`` or ``interval``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: Crontab | None = Field(None, description="A 5-field crontab, e.g. `0 7 * * MON`.")
    interval: Interval | None = Field(
        None, description="Seconds between runs; written `30s`, `15m`, `1h` or `1d`."
    )
    timezone: TimeZoneName = "UTC"
    misfire_grace_seconds: int = Field(300, ge=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        if self.cron is not None and self.interval is not None:
            msg = "expected exactly one of `cron` or `interval`, got both"
            raise ValueError(msg)
        if self.cron is None and self.interval is None:
            msg = "expected exactly one of `cron` or `interval`, got neither"
            raise ValueError(msg)
        return self


class Schedules(BaseModel):
    """When the daemon's jobs run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sync: Schedule = Field(default_factory=lambda: Schedule.model_validate({"interval": "15m"}))
    check_in: Schedule = Field(
        default_factory=lambda: Schedule.model_validate({"cron": "0 7 * * MON"})
    )


class HttpAuth(BaseModel):
    """Who may read the status page at ``/``; ``/healthz``, ``/readyz`` and ``/metrics`` stay open.

    Without any of these the page is open to whoever reaches the port. With a
    username and password it asks for HTTP basic auth; with a token it accepts
    ``Authorization: Bearer <token>``; with both, either. The password and the
    token are secrets: environment or files only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = Field(None, min_length=1, description="Basic-auth user name.")
    password: SecretStr | None = Field(
        None, description="Basic-auth password (`OKRSYNC_HTTP__AUTH__PASSWORD` or `…_FILE`)."
    )
    token: SecretStr | None = Field(
        None, description="Bearer token (`OKRSYNC_HTTP__AUTH__TOKEN` or `…_FILE`)."
    )

    @model_validator(mode="after")
    def _pairs(self) -> HttpAuth:
        if (self.username is None) != (self.password is None):
            given, missing = (
                ("username", "password") if self.password is None else ("password", "username")
            )
            msg = f"expected `{missing}` too: basic auth needs both, got only `{given}`"
            raise ValueError(msg)
        for name in ("password", "token"):
            secret = getattr(self, name)
            if secret is not None and not secret.get_secret_value():
                msg = f"expected a non-empty `{name}`"
                raise ValueError(msg)
        return self

    @property
    def enabled(self) -> bool:
        """Whether the page asks for credentials."""
        return self.password is not None or self.token is not None


class HttpSettings(BaseModel):
    """Where the health and metrics endpoints and the status page listen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("0.0.0.0", min_length=1)  # noqa: S104 - a container listens on all interfaces
    port: int = Field(8080, ge=0, le=65535)
    page: bool = Field(default=True, description="Serve the read-only status page at `/`.")
    auth: HttpAuth = Field(default_factory=HttpAuth)


class PageSettings(BaseModel):
    """How the status page and the reports present the OKRs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field("OKRs", min_length=1, max_length=120, description="The page's heading.")
    currency: str | None = Field(
        None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code (`EUR`, `USD`) shown with currency values.",
    )


class ReadinessSettings(BaseModel):
    """When ``/readyz`` says the daemon is not ready."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unready_after_cycles: int = Field(
        3,
        ge=1,
        le=1000,
        description="Consecutive cycles that synced nothing after which /readyz answers 503.",
    )


class ConnectorInstance(BaseModel):
    """One configured connector: its type and its settings, validated by that type's plugin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    settings: SerializeAsAny[BaseModel]
    """An instance of the plugin's ``settings_model``."""


class Settings(BaseModel):
    """All settings of the daemon. Build them with :func:`load_settings`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace: Workspace = Field("default", description="Name used in logs and locks.")
    store_url: StoreUrl = Field(
        default_factory=lambda: SecretStr(DEFAULT_STORE_URL),
        description="SQLAlchemy URL of the state database (SQLite or PostgreSQL).",
    )
    mappings: Path = Field(
        default_factory=lambda: Path("mappings"),
        description="Folder of the mapping files; relative to the working directory.",
    )
    log: LogSettings = Field(default_factory=LogSettings)
    schedules: Schedules = Field(default_factory=Schedules)
    http: HttpSettings = Field(default_factory=HttpSettings)
    readiness: ReadinessSettings = Field(default_factory=ReadinessSettings)
    page: PageSettings = Field(default_factory=PageSettings)
    connectors: dict[str, ConnectorInstance] = Field(default_factory=dict)

    @property
    def store_url_masked(self) -> str:
        """``store_url`` with its password hidden, for logs and messages."""
        return mask_url(self.store_url.get_secret_value())

    def sources(self, registry: PluginRegistry) -> dict[str, str]:
        """Connector instance names and their types.

        The configured instances; when none are configured, one instance per
        installed plugin, named after its type.
        """
        if self.connectors:
            return {name: inst.type for name, inst in sorted(self.connectors.items())}
        return {name: name for name in registry}

    def secret_values(self) -> list[str]:
        """Plain values of every secret (connector secrets, the store password), for redaction."""
        found: list[str] = []
        password = _url_password(self.store_url.get_secret_value())
        if password:
            found += [password, unquote(password)]
        for _, inst in sorted(self.connectors.items()):
            found += _secrets_in(inst.settings)
        found += _secrets_in(self.http.auth)
        return list(dict.fromkeys(v for v in found if v))


def _secrets_in(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
        password = _url_password(value.get_secret_value())  # a database URL's, alone too
        if password:
            yield from (password, unquote(password))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets_in(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secrets_in(item)


# --- the schema, as far as sources need it ----------------------------------------------------


def _unwrap(tp: Any) -> list[Any]:
    """The types a field annotation may hold (through ``Annotated``, unions, ``Optional``)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [arm for arg in get_args(tp) for arm in _unwrap(arg)]
    return [tp]


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()}


class _Schema:
    """Answers what a path means: which fields exist there, which hold secrets."""

    def __init__(self, registry: PluginRegistry, kinds: Mapping[str, str]) -> None:
        self.registry = registry
        self.kinds = kinds

    def model_at(self, path: YamlPath) -> type[BaseModel] | None:
        model: type[BaseModel] = Settings
        rest = path
        if path[:1] == (_CONNECTORS,):
            if len(path) < 2:  # noqa: PLR2004 - ("connectors", name) is an instance
                return None
            kind = self.kinds.get(str(path[1]), str(path[1]))
            if kind not in self.registry:
                return None
            model, rest = self.registry.get(kind).settings_model, path[2:]
        for part in rest:
            arms = [
                a
                for a in _unwrap(_fields(model).get(str(part)))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if not arms:
                return None
            model = arms[0]
        return model

    def fields_at(self, path: YamlPath) -> set[str] | None:
        model = self.model_at(path)
        if model is None:
            return None
        names = set(_fields(model))
        return names | {"type"} if len(path) == 2 and path[0] == _CONNECTORS else names  # noqa: PLR2004

    def is_secret(self, path: YamlPath) -> bool:
        model = self.model_at(path[:-1]) if path else None
        if model is None:
            return False
        return SecretStr in _unwrap(_fields(model).get(str(path[-1])))


# --- sources ---------------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def _leaves(data: Any, path: YamlPath = ()) -> Iterator[tuple[YamlPath, Any]]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif path:
        yield path, data


def _merge(low: Any, high: Any, path: YamlPath = ()) -> Any:
    """``high`` over ``low``; mappings merge key by key."""
    if not (isinstance(low, dict) and isinstance(high, dict)):
        return high
    out = dict(low)
    if len(path) == 2 and path[0] == "schedules" and _EXCLUSIVE & high.keys():  # noqa: PLR2004
        for key in _EXCLUSIVE:  # setting `cron` replaces a lower source's `interval`, and back
            out.pop(key, None)
    for key, value in high.items():
        out[key] = _merge(out[key], value, (*path, key)) if key in out else value
    return out


class _Layer:
    """Values from one source (environment or command line), each with its origin."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origins: dict[YamlPath, str] = {}

    def put(self, path: YamlPath, value: Any, origin: str) -> Problem | None:
        node = self.data
        for i, part in enumerate(path[:-1]):
            child = node.setdefault(str(part), {})
            if not isinstance(child, dict):
                other = self.origins.get(path[: i + 1], "another value")
                where = format_path(path[: i + 1])
                return Problem(
                    origin, 0, 0, format_path(path), f"conflicts with {other}, which sets `{where}`"
                )
            node = child
        last = str(path[-1])
        if last in node:
            other = self.origins.get(path) or next(
                (o for p, o in self.origins.items() if p[: len(path)] == path), "another value"
            )
            return Problem(origin, 0, 0, format_path(path), f"conflicts with {other}; set only one")
        node[last] = value
        self.origins[path] = origin
        return None

    def origin_of(self, path: YamlPath) -> str | None:
        """The origin of the value at ``path`` or of a plain value above it."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.origins:
                return self.origins[path[:n]]
        return None

    def origin_under(self, path: YamlPath) -> str | None:
        """The origin of some value inside ``path``."""
        return next((o for p, o in self.origins.items() if p[: len(path)] == path), None)


def _cli_layer(overrides: Mapping[str, Any]) -> tuple[_Layer, list[Problem]]:
    layer = _Layer()
    problems: list[Problem] = []

    def add(path: YamlPath, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict) and value:
            for key, item in value.items():
                add((*path, str(key)), item)
            return
        problem = layer.put(path, value, COMMAND_LINE)
        if problem:
            problems.append(problem)

    for key, value in overrides.items():
        path = tuple(key.split("."))
        if not all(path):
            problems.append(
                Problem(COMMAND_LINE, 0, 0, "", f"expected a setting like `log.level`, got {key!r}")
            )
            continue
        add(path, value)
    return layer, problems


def _env_entries(
    env: Mapping[str, str], instances: set[str]
) -> tuple[list[tuple[str, YamlPath, str]], list[Problem]]:
    """``(variable, path, value)`` of every ``OKRSYNC_`` variable that may be a setting."""
    by_env_name = {name.replace("-", "_"): name for name in sorted(instances)}
    entries: list[tuple[str, YamlPath, str]] = []
    problems: list[Problem] = []
    for var in sorted(env):
        upper = var.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_ENV:
            continue
        if upper.startswith(RESERVED_PREFIXES):
            continue
        parts = [p.lower() for p in var[len(ENV_PREFIX) :].split(ENV_DELIMITER)]
        if not all(parts):
            problems.append(
                Problem(
                    _ENV_LABEL + var,
                    0,
                    0,
                    "",
                    "expected a setting's path with parts joined by `__`, "
                    "like `OKRSYNC_LOG__LEVEL`, got an empty part",
                )
            )
            continue
        if parts[0] == _CONNECTORS and len(parts) > 1:
            parts[1] = by_env_name.get(parts[1], parts[1])
        entries.append((var, tuple(parts), env[var]))
    return entries, problems


def _instance_kinds(*layers: Any) -> dict[str, str]:
    """Connector type of each instance, from the sources lowest first."""
    kinds: dict[str, str] = {}
    for data in layers:
        connectors = data.get(_CONNECTORS) if isinstance(data, dict) else None
        if not isinstance(connectors, dict):
            continue
        for name, body in connectors.items():
            kinds.setdefault(str(name), str(name))
            if isinstance(body, dict) and isinstance(body.get("type"), str):
                kinds[str(name)] = body["type"]
    return kinds


def _read_secret_file(var: str, path: YamlPath, name: str) -> tuple[str | None, Problem | None]:
    try:
        return Path(name).read_text(encoding="utf-8").rstrip("\r\n"), None
    except UnicodeDecodeError:
        reason = "expected UTF-8 text"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    message = f"cannot read the file {name!r}: {reason}"
    return None, Problem(_ENV_LABEL + var, 0, 0, format_path(path), message)


# --- the loader ------------------------------------------------------------------------------


class _Loader:
    """One run of :func:`load_settings`: its sources and the problems found so far."""

    def __init__(
        self,
        registry: PluginRegistry,
        doc: LocatedDocument,
        *,
        has_file: bool,
        env: Mapping[str, str],
        overrides: Mapping[str, Any],
    ) -> None:
        self.registry = registry
        self.has_file = has_file
        self.problems: list[Problem] = []
        self.yaml: dict[str, Any] = doc.data if isinstance(doc.data, dict) else {}
        if doc.data is not None and not isinstance(doc.data, dict):
            what = describe_value(doc.data)
            self.problems.append(doc.problem((), f"expected a mapping of settings, got {what}"))

        self.cli, problems = _cli_layer(overrides)
        self.problems += problems
        instances = set(_instance_kinds(self.yaml, self.cli.data))
        entries, problems = _env_entries(env, instances)
        self.problems += problems
        env_kinds = {
            path[1]: value
            for _, path, value in entries
            if len(path) == 3 and path[0] == _CONNECTORS and path[2] == "type"  # noqa: PLR2004
        }
        kinds = _instance_kinds(self.yaml, {_CONNECTORS: env_kinds}, self.cli.data)
        for name in env_kinds:
            kinds.setdefault(str(name), str(name))
        self.schema = _Schema(registry, kinds)
        self.env = _Layer()
        for var, path, value in entries:
            self._put_env(var, path, value)

        merged = _merge(_merge(self.yaml, self.env.data), self.cli.data)
        self.merged: dict[str, Any] = copy.deepcopy(merged)
        self.doc = LocatedDocument(doc.file, self.merged, doc.values, doc.keys)

    def _put_env(self, var: str, path: YamlPath, value: str) -> None:
        last = str(path[-1])
        if last.endswith(FILE_SUFFIX) and last not in (self.schema.fields_at(path[:-1]) or ()):
            path = (*path[:-1], last.removesuffix(FILE_SUFFIX))
            content, problem = _read_secret_file(var, path, value)
            if problem:
                self.problems.append(problem)
                return
            value = content or ""
        problem = self.env.put(path, value, _ENV_LABEL + var)
        if problem:
            self.problems.append(problem)

    # -- locating problems --

    def origin(self, path: YamlPath) -> str | None:
        """Where the value at ``path`` came from; ``None`` for the configuration file."""
        for layer in (self.cli, self.env):
            found = layer.origin_of(path)
            if found:
                return found
        if self._in_yaml(path):
            return None
        return self.cli.origin_under(path) or self.env.origin_under(path)

    def _in_yaml(self, path: YamlPath) -> bool:
        if not self.has_file:
            return False
        if path in self.doc.values:
            return True
        in_file = LocatedDocument(self.doc.file, self.yaml)
        return any(
            path[:n] in self.doc.values and not isinstance(in_file.get(path[:n]), dict)
            for n in range(len(path) - 1, 0, -1)
        )

    def problem(self, path: YamlPath, message: str, *, key: bool = False) -> Problem:
        """A problem at ``path``, said to come from where its value came from."""
        origin = self.origin(path)
        if origin is None and self.has_file:
            return self.doc.problem(path, message, key=key)
        return Problem(origin or _NOWHERE, 0, 0, format_path(path), message)

    def explain(self, root: Any, error: ErrorDetails, prefix: YamlPath) -> Problem:
        """One pydantic error of validating ``root`` at ``prefix``, located at its source."""
        loc = tuple(error["loc"])
        rel = tuple(p for p in loc if p != "[key]" and not (isinstance(p, str) and p[:1] == "<"))
        path: YamlPath = (*prefix, *rel)
        if self.schema.is_secret(path):
            error = {**error, "input": SECRET_MASK}
        located = explain(root, error, self.doc, prefix)
        where = path[:-1] if error["type"] == "missing" else path
        origin = self.origin(where)
        if origin is None and self.has_file:
            return located
        message = located.message
        if origin and origin.startswith(_ENV_LABEL) and error["type"] == "extra_forbidden":
            message = self._unknown_variable(origin, allowed_keys(root, loc[:-1]), path)
        return Problem(origin or _NOWHERE, 0, 0, located.path, message)

    @staticmethod
    def _unknown_variable(origin: str, allowed: list[str], path: YamlPath) -> str:
        suffix = "_FILE" if origin.upper().endswith("_FILE") else ""
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1, cutoff=0.6)
        if close:
            return (
                f"no such setting; did you mean `{env_var_name((*path[:-1], close[0]))}{suffix}`?"
            )
        known = ", ".join(f"`{env_var_name((*path[:-1], k))}`" for k in allowed)
        return f"no such setting; expected one of {known}" if known else "no such setting"

    # -- checks --

    def reject_yaml_secrets(self) -> None:
        """Secrets in the configuration file are errors; their values are not used."""
        for path, value in list(_leaves(self.yaml)):
            if value is None or not self.schema.is_secret(path):
                continue
            var = env_var_name(path)
            if path == ("store_url",):
                if not isinstance(value, str) or _url_password(value) is None:
                    continue
                message = (
                    "expected no password in the configuration file; "
                    f"set the whole URL in `{var}` or `{var}_FILE` instead"
                )
            else:
                message = (
                    "expected no secret in the configuration file; "
                    f"set `{var}` or `{var}_FILE` instead"
                )
            self.problems.append(self.doc.problem(path, message, key=True))
            if self.origin(path) is None:
                parent = self.doc.get(path[:-1])
                if isinstance(parent, dict):
                    parent.pop(str(path[-1]), None)

    def connectors(self) -> dict[str, ConnectorInstance]:
        """Validate each connector instance with its plugin's settings model."""
        raw = self.merged.get(_CONNECTORS)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problems.append(
                self.problem(
                    (_CONNECTORS,),
                    "expected a mapping of connector names to their settings, "
                    f"got {describe_value(raw)}",
                )
            )
            return {}
        found: dict[str, ConnectorInstance] = {}
        for name, body in raw.items():
            instance = self._connector(str(name), {} if body is None else body)
            if instance is not None:
                found[str(name)] = instance
        return found

    def _connector(self, name: str, body: Any) -> ConnectorInstance | None:
        path: YamlPath = (_CONNECTORS, name)
        if not _INSTANCE.fullmatch(name):
            expected = "a connector name of lowercase letters, digits, `-` and `_`"
            message = f"expected {expected}, starting with a letter, got {name!r}"
            self.problems.append(self.problem(path, message, key=True))
            return None
        if not isinstance(body, dict):
            message = f"expected a mapping of connector settings, got {describe_value(body)}"
            self.problems.append(self.problem(path, message))
            return None
        kind = body.get("type", name)
        if not isinstance(kind, str) or kind not in self.registry:
            self.problems.append(self._unknown_type(path, kind, has_type="type" in body))
            return None
        model = self.registry.get(kind).settings_model
        try:
            settings = model.model_validate({k: v for k, v in body.items() if k != "type"})
        except ValidationError as exc:
            self.problems += [self.explain(model, e, path) for e in exc.errors()]
            return None
        return ConnectorInstance(type=kind, settings=settings)

    def _unknown_type(self, path: YamlPath, kind: Any, *, has_type: bool) -> Problem:
        known = list(self.registry)
        message = f"unknown connector type {describe_value(kind)}"
        close = difflib.get_close_matches(str(kind), known, n=1, cutoff=0.6)
        if close:
            message += f" (did you mean `{close[0]}`?)"
        installed = ", ".join(f"`{k}`" for k in known)
        message += f"; expected one of {installed}" if installed else "; none is installed"
        if not has_type:
            message += " (set `type` when the instance is not named after its type)"
        if has_type:
            return self.problem((*path, "type"), message)
        return self.problem(path, message, key=True)

    def settings(self, connectors: dict[str, ConnectorInstance]) -> Settings | None:
        """Validate everything but the connectors; the whole settings when all is well."""
        data = {k: v for k, v in self.merged.items() if k != _CONNECTORS}
        try:
            built = Settings.model_validate({**data, _CONNECTORS: connectors})
        except ValidationError as exc:
            self.problems += [self.explain(Settings, e, ()) for e in exc.errors()]
            return None
        return built

    def scrub(self) -> list[Problem]:
        """The problems, with any secret value that slipped into a message masked."""
        secrets: set[str] = set()
        for data in (self.yaml, self.env.data, self.cli.data):
            for path, value in _leaves(data):
                if isinstance(value, str) and self.schema.is_secret(path):
                    password = _url_password(value) if path == ("store_url",) else value
                    if path != ("store_url",) or password:
                        secrets.update({password or "", unquote(password or "")})
        redact = Redactor(secrets)
        return [Problem(p.file, p.line, p.col, p.path, redact(p.message)) for p in self.problems]


def _config_file(
    config_file: Path | None, env: Mapping[str, str]
) -> tuple[Path | None, str, Problem | None]:
    """The file to read, its display name, and a problem when a named file is missing."""
    if config_file is not None:
        path, named_by = config_file, "named on the command line"
    elif env.get(CONFIG_ENV):
        path, named_by = Path(env[CONFIG_ENV]), f"named by the environment variable {CONFIG_ENV}"
    elif DEFAULT_CONFIG_FILE.is_file():
        return DEFAULT_CONFIG_FILE, _display(DEFAULT_CONFIG_FILE), None
    else:
        return None, _NOWHERE, None
    display = _display(path)
    if not path.exists():
        return None, display, Problem(display, 0, 0, "", f"no such configuration file ({named_by})")
    return path, display, None


ENV_FILE_KEY = "env_file"
"""Top-level key naming a dotenv file whose OKRSYNC_ variables count as environment."""


def _env_file(
    doc: LocatedDocument, config_path: Path | None
) -> tuple[dict[str, str], list[Problem]]:
    """Variables of the dotenv file the configuration names (``env_file: okrsync.env``).

    The file is read by python-dotenv (``NAME=value`` lines, ``export``, ``#``
    comments, quotes with escapes, quoted values over several lines; no
    ``${VAR}`` expansion, so a secret holding ``$`` stays as written). Only
    ``OKRSYNC_`` variables are taken; the real environment wins over them. A
    relative path is relative to the configuration file. A line that is not
    ``NAME=value`` is a problem located at its line.
    """
    if not isinstance(doc.data, dict) or ENV_FILE_KEY not in doc.data:
        return {}, []
    raw = doc.data.pop(ENV_FILE_KEY)
    if not isinstance(raw, str) or not raw.strip():
        return {}, [
            doc.problem((ENV_FILE_KEY,), f"expected a file name, got {describe_value(raw)}")
        ]
    path = Path(raw)
    if not path.is_absolute() and config_path is not None:
        path = config_path.parent / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return {}, [doc.problem((ENV_FILE_KEY,), f"cannot read the env file {raw!r}: {reason}")]
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None and not binding.error:
            continue  # a blank line or a comment
        if binding.key is None or binding.value is None:
            got = binding.original.string.strip().splitlines()[0][:40]
            message = f"expected NAME=value, got {got!r}"
            problems.append(Problem(_display(path), binding.original.line, 1, "", message))
            continue
        if binding.key.upper().startswith(ENV_PREFIX):
            values[binding.key] = binding.value
    return values, problems


def load_settings(
    config_file: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    registry: PluginRegistry,
) -> Settings:
    """Read the settings from the configuration file, the environment and the overrides.

    Args:
        config_file: The configuration file; when ``None``, the file named by
            ``OKRSYNC_CONFIG``, else ``config/okrsync.yaml`` if it exists, else none.
        env: The environment (default ``os.environ``).
        overrides: Command-line settings by dotted path (``{"log.level": "debug"}``)
            or as nested mappings; ``None`` values are ignored.
        registry: The installed connector plugins, to validate connector settings.

    Returns:
        The validated settings.

    Raises:
        ConfigurationError: With every problem found, each located at its source.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    path, display, missing = _config_file(config_file, environ)
    if path is not None:
        doc, yaml_problems = load_yaml_file(path, display)
    else:
        doc, yaml_problems = LocatedDocument(file=display, data=None), []
    from_file, env_file_problems = _env_file(doc, path)
    yaml_problems += env_file_problems
    if from_file:
        environ = {**from_file, **environ}
    loader = _Loader(
        registry,
        doc,
        has_file=path is not None,
        env=environ,
        overrides=overrides or {},
    )
    loader.problems[:0] = [*([missing] if missing else []), *yaml_problems]
    loader.reject_yaml_secrets()
    connectors = loader.connectors()
    settings = loader.settings(connectors)
    if loader.problems or settings is None:
        raise ConfigurationError(loader.scrub())
    return settings
