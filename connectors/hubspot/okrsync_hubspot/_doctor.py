"""``okrsync doctor``'s questions, answered by the portal for the private app's token.

In order: the login (``GET /account-info/v3/details``: which portal the token
belongs to; ``POST /oauth/v2/private-apps/get/access-token-info``: which app
and user, and the token's scopes), the daily API quota against the reserve
(``GET /account-info/v3/api-usage/daily/private-apps``), the scopes the
mappings and okrsync's objects need, and okrsync's custom objects as
``okrsync provision`` would leave them (its dry run: read only). A private
app's access is its scopes: HubSpot has no field-level security for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from okrsync.diagnosis import Check, CheckStatus, quota_check, run_steps
from okrsync.errors import ConnectorError, FatalConnectorError, RetriableConnectorError
from okrsync_hubspot._errors import SCOPES_HELP

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from okrsync.connector import Change, LogicalObject
    from okrsync.diagnosis import DiagnosisRequest, Step
    from okrsync_hubspot._http import Transport
    from okrsync_hubspot._plugin import HubSpotSettings

__all__ = ["Doctor", "needed_scopes"]

_SCHEMA_SCOPES = frozenset({"contacts", "companies", "deals"})
"""Standard objects whose properties (what ``plan`` checks fields against) need a schemas scope."""
_OBJECT_SCOPES = frozenset(
    {
        "contacts",
        "companies",
        "deals",
        "tickets",
        "products",
        "line_items",
        "quotes",
        "feedback_submissions",
    }
)
"""Standard objects read with ``crm.objects.<name>.read``. For other standard objects
(engagements such as tasks and calls) nothing is claimed: a refusal shows as
``MISSING_SCOPES`` where they are read."""
PROVISION_SCOPE = "crm.schemas.custom.write"
"""Needed by ``okrsync provision`` only."""


def needed_scopes(
    request: DiagnosisRequest, standard: Collection[str] = _OBJECT_SCOPES
) -> dict[str, str]:
    """The scopes a sync needs for ``request``, each with why (as docs/hubspot-setup.md says).

    ``standard`` names HubSpot's standard objects (any other object is custom).
    """
    need: dict[str, str] = {}
    for obj in sorted(request.reads):
        kind = obj.lower()
        if kind in _OBJECT_SCOPES:
            need[f"crm.objects.{kind}.read"] = f"the mappings read {kind}"
            if kind in _SCHEMA_SCOPES:
                need[f"crm.schemas.{kind}.read"] = f"the fields read of {kind} are checked"
        elif kind in standard:
            continue
        else:
            need["crm.objects.custom.read"] = f"the mappings read {obj}"
            need["crm.schemas.custom.read"] = f"the fields read of {obj} are checked"
    if request.objects:
        need["crm.schemas.custom.read"] = "okrsync finds its objects and their properties"
        need["crm.objects.custom.read"] = "okrsync reads back its records and reps' fields"
        need["crm.objects.custom.write"] = "okrsync writes objectives, key results, check-ins"
        need["crm.objects.owners.read"] = "records get their owner, found by e-mail"
    return need


class Doctor:
    """The HubSpot connector's checks for ``okrsync doctor``.

    Args:
        transport: How calls reach the portal.
        settings: The instance's settings.
        instance: The connector instance's name.
        token: The private app's access token (its info is asked by the token itself).
        provision_dry_run: What ``okrsync provision`` would change (reads only).
        standard: HubSpot's standard objects (any other object read is custom).
    """

    def __init__(
        self,
        transport: Transport,
        settings: HubSpotSettings,
        instance: str,
        token: str,
        provision_dry_run: Callable[[Sequence[LogicalObject]], list[Change]],
        *,
        standard: Collection[str] = _OBJECT_SCOPES,
    ) -> None:
        self.transport = transport
        self.settings = settings
        self.instance = instance
        self.token = token
        self.provision_dry_run = provision_dry_run
        self.standard = standard
        self.scopes: list[str] | None = None
        self.scopes_error = ""

    def run(self, request: DiagnosisRequest) -> list[Check]:
        """Login, quota, scopes and okrsync's objects; after a blocking failure, skips."""
        steps: list[Step] = [
            ("auth", "login", self.login),
            ("quota", "daily API quota", self.quota),
            ("scopes", "token scopes", lambda: self.scopes_check(request)),
        ]
        if request.objects:
            steps.append(("objects", "okrsync objects", lambda: self.objects(request.objects)))
        return run_steps(steps, failed=_failed, quota_fix=_QUOTA_FIX)

    def _variable(self, setting: str) -> str:
        return f"OKRSYNC_CONNECTORS__{self.instance.upper().replace('-', '_')}__{setting.upper()}"

    # -- the checks -------------------------------------------------------------------

    def login(self) -> Check:
        """The portal the token belongs to, and the app and user it was made by."""
        try:
            details = self.transport.request(
                "read the account's details", "GET", "/account-info/v3/details"
            ).body
        except RetriableConnectorError as exc:
            return Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                f"HubSpot cannot be reached: {exc}",
                fix="check `host` and the network from here to HubSpot",
                blocking=True,
            )
        except FatalConnectorError as exc:
            return Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                str(exc),
                fix="create a new access token for the private app (Settings → Integrations → "
                f"Private Apps → the app → Auth) and set {self._variable('access_token')} "
                f"(or {self._variable('access_token')}_FILE)",
                blocking=True,
            )
        details = details if isinstance(details, dict) else {}
        info = self._token_info()
        facts: dict[str, Any] = {
            "portal_id": details.get("portalId"),
            "account_type": details.get("accountType"),
            "ui_domain": details.get("uiDomain"),
            "time_zone": details.get("timeZone"),
            "app_id": info.get("appId"),
            "user_id": info.get("userId"),
        }
        detail = f"portal {facts['portal_id']} ({facts['ui_domain']}, {facts['account_type']})"
        if info:
            detail += f", private app {facts['app_id']} of user {facts['user_id']}"
        hub = info.get("hubId")
        if hub is not None and details.get("portalId") is not None and hub != details["portalId"]:
            return Check(
                "auth",
                "login",
                CheckStatus.FAIL,
                f"{detail}: the token belongs to portal {hub}",
                fix="use the token of a private app of the portal to sync",
                blocking=True,
                facts=facts,
            )
        return Check("auth", "login", CheckStatus.PASS, detail, facts=facts)

    def _token_info(self) -> dict[str, Any]:
        """The private app token's app, user and scopes (empty when HubSpot will not say)."""
        try:
            reply = self.transport.request(
                "read the access token's scopes",
                "POST",
                "/oauth/v2/private-apps/get/access-token-info",
                body={"tokenKey": self.token},
            )
        except FatalConnectorError as exc:
            self.scopes_error = str(exc)
            return {}
        body = reply.body if isinstance(reply.body, dict) else {}
        scopes = body.get("scopes")
        if isinstance(scopes, list):
            self.scopes = sorted(str(s) for s in scopes)
        return body

    def quota(self) -> Check:
        """Calls left today (the private apps' daily usage) against the reserve okrsync keeps."""
        limit = remaining = None
        try:
            reply = self.transport.request(
                "read the daily API usage", "GET", "/account-info/v3/api-usage/daily/private-apps"
            )
        except FatalConnectorError:  # not a private app: what the answers' headers said
            usage = self.transport.meter.usage()
            limit, remaining = usage.limit, usage.remaining
        else:
            body = reply.body if isinstance(reply.body, dict) else {}
            daily: dict[str, Any] = next(iter(body.get("results") or []), {})
            limit = _integer(daily.get("usageLimit"))
            used = _integer(daily.get("currentUsage"))
            remaining = None if limit is None or used is None else max(0, limit - used)
        return quota_check(
            remaining,
            limit,
            self.settings.quota_reserve_percent,
            unit="calls",
            no_limit="HubSpot reported no daily limit",
            no_limit_fix="nothing to do unless runs stop at the quota",
            fix=_QUOTA_FIX,
        )

    def scopes_check(self, request: DiagnosisRequest) -> Check:
        """The scopes the mappings and okrsync's objects need, against the token's."""
        need = needed_scopes(request, self.standard)
        if self.scopes is None:
            return Check(
                "scopes",
                "token scopes",
                CheckStatus.WARN,
                "HubSpot did not tell the token's scopes"
                + (f" ({self.scopes_error})" if self.scopes_error else "")
                + "; the checks below use them",
                fix="use a private app's access token (docs/hubspot-setup.md)",
                facts={"needed": sorted(need)},
            )
        granted = set(self.scopes)
        missing = {scope: why for scope, why in need.items() if scope not in granted}
        facts = {"granted": self.scopes, "needed": sorted(need), "missing": sorted(missing)}
        if missing:
            listed = ", ".join(f"`{s}`" for s in sorted(missing))
            return Check(
                "scopes",
                "token scopes",
                CheckStatus.FAIL,
                f"the private app lacks {len(missing)} of the {len(need)} scopes a sync needs",
                fix=SCOPES_HELP.format(what=listed),
                problems=tuple(f"{scope}: {why}" for scope, why in sorted(missing.items())),
                facts=facts,
            )
        note = ""
        if request.objects and PROVISION_SCOPE not in granted:
            note = f"; without `{PROVISION_SCOPE}`, `okrsync provision` cannot upgrade the objects"
        return Check(
            "scopes",
            "token scopes",
            CheckStatus.PASS,
            f"all {len(need)} scopes a sync needs are granted{note}",
            facts=facts,
        )

    def objects(self, objects: Sequence[LogicalObject]) -> Check:
        """The custom objects, properties and associations, as `okrsync provision` leaves them."""
        changes = self.provision_dry_run(objects)
        names = ", ".join(f"okr_{o.name}" for o in objects)
        if changes:
            return Check(
                "objects",
                "okrsync objects",
                CheckStatus.FAIL,
                f"not provisioned as okrsync needs: `okrsync provision` would make "
                f"{len(changes)} change{'s' if len(changes) != 1 else ''}",
                fix="run `okrsync provision` (with the scope `crm.schemas.custom.write`)",
                problems=tuple(str(c) for c in changes),
                facts={"changes": [str(c) for c in changes]},
            )
        return Check(
            "objects",
            "okrsync objects",
            CheckStatus.PASS,
            f"{names}: provisioned, with every property and association",
        )


_QUOTA_FIX = (
    "wait until the daily limit resets at midnight in the portal's time zone, or raise it "
    "(HubSpot's API limit increase); the private apps of a portal share it"
)


def _failed(name: str, title: str, exc: ConnectorError) -> Check:
    return Check(
        name,
        title,
        CheckStatus.FAIL,
        str(exc),
        fix="see the error; the checks after this one were skipped",
        blocking=True,
    )


def _integer(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
