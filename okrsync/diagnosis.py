"""What ``okrsync doctor`` reports: checks, and the optional connector capability behind them.

A check is one question about a set-up (does the login work, is okrsync's
object there, can this user edit that field) with its answer: passed, a
warning, failed (with the fix a person applies) or skipped (with why). The
core asks the state store, the configuration and the mappings itself; what
only the CRM can answer (who the credentials act as, the API version, the
daily quota, okrsync's objects and this user's access to them) a connector
answers through :class:`Diagnosable`, an optional capability: a connector
without it still gets the core's checks (mapped fields, metrics, owners).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from okrsync.errors import ConnectorError, QuotaReserveReached
from okrsync.kit import reserve_reached

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from okrsync.connector import LogicalObject

__all__ = [
    "QUOTA",
    "Check",
    "CheckStatus",
    "Diagnosable",
    "DiagnosisRequest",
    "Identifiable",
    "Step",
    "quota_check",
    "run_steps",
    "skipped_after",
]


class CheckStatus(StrEnum):
    """The answer to one check."""

    PASS = "pass"  # noqa: S105  (a status, not a password)
    """All is well."""
    WARN = "warn"
    """Works, but a person should know (nothing fails because of it)."""
    FAIL = "fail"
    """Broken: a sync would fail or be wrong until the fix is applied."""
    SKIP = "skip"
    """Not checked, because something it needs failed (or does not apply)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check of a set-up and its answer."""

    name: str
    """Stable id for machines: ``auth``, ``api_version``, ``quota``, ``objects`` …"""
    title: str
    """What is checked, for people: ``login``, ``daily API quota`` …"""
    status: CheckStatus
    detail: str = ""
    """What was found (who the login acts as, what is missing …)."""
    fix: str = ""
    """What a person does about a failure or a warning."""
    problems: tuple[str, ...] = ()
    """One line per problem, located (``file:line:col: …``) where it can be."""
    blocking: bool = False
    """A failure here leaves the CRM unusable: the checks after it that need the CRM are skipped."""
    facts: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready facts for machines (user, org id, requests left …); never secrets."""

    @property
    def failed(self) -> bool:
        """Whether this check failed."""
        return self.status is CheckStatus.FAIL

    def as_json(self) -> dict[str, Any]:
        """The check as one JSON object."""
        return {
            "check": self.name,
            "title": self.title,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
            "problems": list(self.problems),
            "facts": dict(self.facts),
        }


def skipped_after(failed: Check, remaining: Sequence[tuple[str, str]]) -> list[Check]:
    """``remaining`` checks (``(name, title)``) skipped because ``failed`` failed."""
    reason = f"not checked: {failed.title} failed"
    return [Check(name, title, CheckStatus.SKIP, reason) for name, title in remaining]


Step = tuple[str, str, "Callable[[], Check]"]
"""One check a connector runs: its name, its title and the function answering it."""
QUOTA = "quota"
"""The name of the daily quota's check."""


def run_steps(
    steps: Sequence[Step],
    *,
    failed: Callable[[str, str, ConnectorError], Check],
    quota_fix: str,
) -> list[Check]:
    """Each step's check in order; after a blocking failure, the rest are skipped.

    A step that raises gets ``failed(name, title, error)``. A spent daily quota
    (:class:`~okrsync.errors.QuotaReserveReached`) refuses every call, so
    whatever step meets it, the answer is a failed ``quota`` check (with
    ``quota_fix``), and every check not yet answered is skipped.
    """
    checks: list[Check] = []
    for index, (name, title, step) in enumerate(steps):
        try:
            check = step()
        except QuotaReserveReached as exc:
            spent = Check(
                QUOTA, "daily API quota", CheckStatus.FAIL, str(exc), fix=quota_fix, blocking=True
            )
            if name != QUOTA:
                note = "not checked: the daily API quota is spent"
                checks.append(Check(name, title, CheckStatus.SKIP, note))
            earlier = [i for i, c in enumerate(checks) if c.name == QUOTA]
            if earlier:  # the quota passed, then ran out: its answer is now this
                checks[earlier[0]] = spent
            else:
                checks.append(spent)
            checks += skipped_after(spent, [(n, t) for n, t, _ in steps[index + 1 :] if n != QUOTA])
            return checks
        except ConnectorError as exc:
            check = failed(name, title, exc)
        checks.append(check)
        if check.failed and check.blocking:
            checks += skipped_after(check, [(n, t) for n, t, _ in steps[index + 1 :]])
            break
    return checks


def quota_check(
    remaining: int | None,
    limit: int | None,
    percent: float,
    *,
    unit: str,
    no_limit: str,
    no_limit_fix: str,
    fix: str,
) -> Check:
    """The daily-quota check of a connector: what is left against the reserve okrsync keeps.

    ``unit`` names what the CRM counts (``calls``, ``requests``); ``no_limit`` and
    ``no_limit_fix`` say what a CRM that reports no limit means; ``fix`` is the fix
    when the reserve is reached (okrsync would stop at its first call).
    """
    reserve = round((limit or 0) * percent / 100)
    facts: dict[str, Any] = {"remaining": remaining, "limit": limit, "reserve": reserve}
    if remaining is None or limit is None:
        return Check(
            "quota", "daily API quota", CheckStatus.WARN, no_limit, fix=no_limit_fix, facts=facts
        )
    detail = f"{remaining:,} of {limit:,} {unit} left today; reserve {percent:g} % ({reserve:,})"
    if reserve_reached(remaining, limit, percent):
        return Check(
            "quota",
            "daily API quota",
            CheckStatus.FAIL,
            f"{detail}: okrsync would stop at its first call",
            fix=fix,
            blocking=True,
            facts=facts,
        )
    return Check("quota", "daily API quota", CheckStatus.PASS, detail, facts=facts)


@dataclass(frozen=True, slots=True)
class DiagnosisRequest:
    """What the mappings need of one connector instance's CRM."""

    objects: tuple[LogicalObject, ...] = ()
    """okrsync's objects written there (empty: the connector only reads)."""
    reads: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """CRM objects the mappings read there, and the fields read of each."""


@runtime_checkable
class Diagnosable(Protocol):
    """An optional connector capability: answer ``okrsync doctor``'s questions about the CRM.

    ``diagnose`` checks, in order and as the connector's own user: the login
    (and who it acts as), whatever else every call depends on (API version,
    daily quota), then okrsync's ``request.objects`` (provisioned, and writable
    by this user) and the access ``request.reads`` needs (HubSpot: the token's
    scopes). It never writes to the CRM and never raises for what it finds: a
    refusal is a failed check with its fix. A check that leaves the CRM
    unusable is ``blocking``, and the checks after it are skipped.
    """

    def diagnose(self, request: DiagnosisRequest) -> list[Check]:
        """The connector's checks, in order."""
        ...


@runtime_checkable
class Identifiable(Protocol):
    """A smaller optional capability: say which service and user the connector reaches.

    For a connector with no checks of its own (:class:`Diagnosable`), the
    core makes ``whoami`` its login check: the answer passes, an error fails
    and skips the checks that need the service.
    """

    def whoami(self) -> str:
        """Which service, server and user the connector reaches, in a few words.

        Raises:
            ConnectorError: The service cannot be reached or refuses the credentials.
        """
        ...
