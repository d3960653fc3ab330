"""The CRM's daily API quota: what a connector has spent, what the CRM says is left, the reserve.

One rule for every connector (:func:`reserve_reached`): a call goes only if,
after it, at least the reserve is left. The reserve is ``quota_reserve_percent``
of the daily limit the CRM last reported, so okrsync never spends the share of
the org's quota that other integrations and people need.
"""

from __future__ import annotations

import threading

from okrsync.connector import Usage
from okrsync.errors import QuotaReserveReached

__all__ = ["QUOTA_STOPPED_EVENT", "QuotaMeter", "reserve_reached"]

QUOTA_STOPPED_EVENT = "connector.quota.stopped"
"""Logged when a call is not made (or refused) because of the daily quota."""


def reserve_reached(remaining: int | None, limit: int | None, reserve_percent: float) -> bool:
    """Whether one more call would leave less than the reserve.

    The rule is ``remaining − 1 < limit × reserve_percent / 100``: the call about
    to be made spends one request, and what is left after it must not fall
    under the reserve. Nothing reported yet (``None``, or a limit of 0) never stops a call.
    """
    if remaining is None or not limit:
        return False
    return remaining - 1 < limit * reserve_percent / 100


class QuotaMeter:
    """Calls sent (every attempt, retries included) and the daily quota as the CRM last reported.

    Thread-safe: the connector's pulls may run in parallel.

    Args:
        crm: How errors name the CRM (``salesforce``).
        reserve_percent: The share of the daily limit never spent.
    """

    def __init__(self, crm: str, reserve_percent: float) -> None:
        self.crm = crm
        self.reserve_percent = reserve_percent
        self._lock = threading.Lock()
        self._calls = 0
        self._remaining: int | None = None
        self._limit: int | None = None

    @property
    def calls(self) -> int:
        """Requests sent so far."""
        return self._calls

    @property
    def remaining(self) -> int | None:
        """Daily requests left, as last reported (``None``: not reported yet)."""
        return self._remaining

    @property
    def limit(self) -> int | None:
        """The daily limit, as last reported."""
        return self._limit

    def called(self) -> None:
        """Count one request sent."""
        with self._lock:
            self._calls += 1

    def report(self, *, remaining: int | None = None, limit: int | None = None) -> None:
        """What the CRM said about its quota (a value not said keeps the last one)."""
        with self._lock:
            if remaining is not None:
                self._remaining = max(0, remaining)
            if limit is not None:
                self._limit = limit

    def check(self, what: str, *, object_name: str = "") -> None:
        """Raise :class:`QuotaReserveReached` when the call ``what`` would cross the reserve."""
        remaining, limit = self._remaining, self._limit
        if not reserve_reached(remaining, limit, self.reserve_percent):
            return
        raise QuotaReserveReached(
            f"{what}: stopped with {remaining} of {limit} daily API requests left "
            f"(reserve {self.reserve_percent:g} %); the run stops with its progress saved "
            "and resumes when the quota allows",
            crm=self.crm,
            object_name=object_name,
            code="QUOTA_RESERVE",
        )

    def usage(self) -> Usage:
        """Calls made and the quota as last reported."""
        return Usage(self._calls, self._remaining, self._limit)
