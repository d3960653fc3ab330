"""``okrsync doctor``'s questions, answered by the org as the connector's own user.

In order, each needing the one before: the login (and who it acts as:
``/services/oauth2/userinfo``), the API version (``GET /services/data/`` lists
those the org serves), the daily API quota against the reserve (``limits``),
then okrsync's objects: each provisioned, each field there and editable by
this user. Salesforce's describe answers as the calling user: a field its
field-level security hides is missing from it, one it may only read has
``createable`` and ``updateable`` false. Nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okrsync.diagnosis import Check, CheckStatus, quota_check, run_steps
from okrsync.errors import ConnectorError, RetriableConnectorError
from okrsync_salesforce._okr import field_metadata, field_name, object_name
from okrsync_salesforce._provision import PERMISSION_SET

if TYPE_CHECKING:
    from collections.abc import Sequence

    from okrsync.connector import LogicalObject
    from okrsync.diagnosis import DiagnosisRequest, Step
    from okrsync_salesforce._http import Transport
    from okrsync_salesforce._plugin import SalesforceSettings
    from okrsync_salesforce._schema import Schemas

__all__ = ["Doctor"]

_PROVISION = (
    f"run `okrsync provision`: it creates what is missing and grants this user read and edit "
    f"through the `{PERMISSION_SET}` permission set (assigned to it)"
)


def _variable(instance: str, setting: str) -> str:
    return f"OKRSYNC_CONNECTORS__{instance.upper().replace('-', '_')}__{setting.upper()}"


class Doctor:
    """The Salesforce connector's checks for ``okrsync doctor``.

    Args:
        transport: How calls reach the org.
        schemas: Describe results (forgotten first: the org as it is now).
        settings: The instance's settings.
        instance: The connector instance's name.
    """

    def __init__(
        self, transport: Transport, schemas: Schemas, settings: SalesforceSettings, instance: str
    ) -> None:
        self.transport = transport
        self.schemas = schemas
        self.settings = settings
        self.instance = instance
        self.user = "the connector's user"

    def run(self, request: DiagnosisRequest) -> list[Check]:
        """Login, API version, quota and okrsync's objects; after a blocking failure, skips."""
        steps: list[Step] = [
            ("auth", "login", self.login),
            ("api_version", "API version", self.api_version),
            ("quota", "daily API quota", self.quota),
        ]
        if request.objects:
            steps.append(("objects", "okrsync objects", lambda: self.objects(request.objects)))
        return run_steps(steps, failed=_failed, quota_fix=_QUOTA_FIX)

    # -- the checks -------------------------------------------------------------------

    def login(self) -> Check:
        """Who the credentials act as (``userinfo``)."""
        try:
            info = self.transport.raw(
                "read who the connector acts as", "GET", "/services/oauth2/userinfo"
            )
        except RetriableConnectorError as exc:
            return Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                f"Salesforce cannot be reached: {exc}",
                fix="check `instance_url` and `domain` (or `login_url`) and the network from "
                "here to Salesforce; with a private CA, `ca_file`",
                blocking=True,
            )
        except ConnectorError as exc:
            return Check(
                "auth", "login", CheckStatus.FAIL, str(exc), fix=self._login_fix(), blocking=True
            )
        info = info if isinstance(info, dict) else {}
        self.user = str(info.get("preferred_username") or info.get("email") or self.user)
        facts = {
            "username": info.get("preferred_username"),
            "user_id": info.get("user_id"),
            "org_id": info.get("organization_id"),
            "instance_url": self.transport.instance_url,
            "auth": self.settings.auth,
        }
        detail = (
            f"as {self.user} (user {facts['user_id']}, org {facts['org_id']}) at "
            f"{facts['instance_url']}, {self.settings.auth} flow"
        )
        if info.get("active") is False:
            return Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                f"{detail}: the user is inactive",
                fix="activate the integration user (Setup → Users)",
                blocking=True,
                facts=facts,
            )
        return Check("auth", "login", CheckStatus.PASS, detail, facts=facts)

    def _login_fix(self) -> str:
        auth = self.settings.auth
        if auth == "session":
            return (
                f"give a fresh session id ({_variable(self.instance, 'session_id')}; a session "
                "ends after the org's session timeout), or use `auth: jwt`, which logs in anew "
                "by itself (docs/salesforce-setup.md)"
            )
        if auth == "client_credentials":
            return (
                "check `consumer_key` and the consumer secret "
                f"({_variable(self.instance, 'consumer_secret')}), and that the app's client "
                "credentials flow runs as an active user"
            )
        return (
            "check `consumer_key`, `username` and `domain` (or `login_url`), that the app holds "
            f"the certificate of the private key ({_variable(self.instance, 'private_key')}), "
            "and that the user is pre-authorised for the app (docs/salesforce-setup.md, step 3)"
        )

    def api_version(self) -> Check:
        """Whether the org serves the configured ``api_version``."""
        answer = self.transport.raw("list the API versions", "GET", "/services/data/")
        served = sorted(
            {str(v.get("version")) for v in answer or [] if isinstance(v, dict)},
            key=_version_key,
        )
        wanted = self.settings.api_version
        facts = {"api_version": wanted, "served": served}
        span = f"{served[0]} to {served[-1]}" if served else "none"
        if wanted in served:
            return Check(
                "api_version",
                "API version",
                CheckStatus.PASS,
                f"{wanted} (the org serves {span})",
                facts=facts,
            )
        newest = served[-1] if served else "the newest it lists"
        why = (
            "newer than the org serves"
            if served and _version_key(wanted) > _version_key(served[-1])
            else "retired or unknown"
        )
        return Check(
            "api_version",
            "API version",
            CheckStatus.FAIL,
            f"{wanted} is {why}; the org serves {span}",
            fix=f"set `api_version` ({_variable(self.instance, 'api_version')}) to one the org "
            f"serves, e.g. {newest}",
            blocking=True,
            facts=facts,
        )

    def quota(self) -> Check:
        """Daily API requests left (``limits``) against the reserve okrsync keeps."""
        answer = self.transport.rest("read the org's limits", "limits/")
        daily = (answer or {}).get("DailyApiRequests") or {}
        limit, remaining = _integer(daily.get("Max")), _integer(daily.get("Remaining"))
        self.transport.meter.report(remaining=remaining, limit=limit)
        return quota_check(
            remaining,
            limit,
            self.settings.quota_reserve_percent,
            unit="requests",
            no_limit="the org reports no DailyApiRequests limit",
            no_limit_fix=(
                "nothing to do unless runs stop at the quota; okrsync then reads it from "
                "each answer's Sforce-Limit-Info"
            ),
            fix=(
                _QUOTA_FIX + ", or lower `quota_reserve_percent` if the org's other "
                "integrations can spare it"
            ),
        )

    def objects(self, objects: Sequence[LogicalObject]) -> Check:
        """Each object of okrsync exists; this user may write it and the fields okrsync fills."""
        names = [object_name(o.name) for o in objects]
        self.schemas.forget(*names)
        problems: list[str] = []
        missing_objects: list[str] = []
        fields = 0
        for obj, sobject in zip(objects, names, strict=True):
            try:
                raw = self.schemas.raw(sobject)
            except LookupError:
                missing_objects.append(sobject)
                continue
            for verb, action in (("createable", "create"), ("updateable", "edit")):
                if raw.get(verb) is False:
                    problems.append(f"{sobject}: {self.user} may not {action} its records")
            found, wrong = self._fields(obj, sobject)
            fields += found
            problems += wrong
        facts: dict[str, Any] = {"objects": names, "missing_objects": missing_objects}
        if missing_objects:
            problems = [f"{name}: not provisioned" for name in missing_objects] + problems
        if problems:
            fix = _PROVISION
            if len(problems) > len(missing_objects):  # fields or objects this user may not edit
                fix += (
                    "; or, in Setup, give the user edit access (Object Manager → the field → "
                    "Set Field-Level Security, or a permission set of theirs)"
                )
            return Check(
                "objects",
                "okrsync objects",
                CheckStatus.FAIL,
                f"{len(problems)} problem{'s' if len(problems) != 1 else ''} with okrsync's "
                f"objects for {self.user}",
                fix=fix,
                problems=tuple(problems),
                facts=facts,
            )
        return Check(
            "objects",
            "okrsync objects",
            CheckStatus.PASS,
            f"{', '.join(names)}: {fields} fields, those okrsync writes editable by {self.user}",
            facts=facts,
        )

    def _fields(self, obj: LogicalObject, sobject: str) -> tuple[int, list[str]]:
        """The number of okrsync's custom fields of ``sobject``, and what is wrong with them."""
        info = self.schemas.info(sobject)
        count, problems = 0, []
        for item in obj.fields:
            if field_metadata(obj, item) is None:
                continue  # a standard field (the owner)
            count += 1
            path = f"{sobject}.{field_name(item)}"
            found = info.field(field_name(item))
            if found is None:
                problems.append(f"{path}: missing, or hidden from {self.user}")
            elif not found.writable and not item.rep_owned:
                problems.append(
                    f"{path}: {self.user} may read it but not edit it (field-level security)"
                )
        return count, problems


_QUOTA_FIX = (
    "wait: Salesforce frees requests over a rolling 24 hours (Setup → Company Information "
    "shows the requests of the last 24 hours); or raise the org's allocation"
)


def _failed(name: str, title: str, exc: ConnectorError) -> Check:
    if isinstance(exc, RetriableConnectorError):
        fix = "Salesforce did not answer in time or failed; try again, and check its status"
    else:
        fix = "see the error; the checks after this one were skipped"
    return Check(name, title, CheckStatus.FAIL, str(exc), fix=fix, blocking=True)


def _integer(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)
