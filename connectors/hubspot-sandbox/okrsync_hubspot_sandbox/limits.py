"""HubSpot's rate limits: a ten-second rolling window, a daily quota, and a search limit.

Every response carries ``X-HubSpot-RateLimit-*`` headers; when a limit runs
out the request is refused with HubSpot's 429 body (``policyName``
``TEN_SECONDLY_ROLLING``, ``DAILY`` or ``SECONDLY`` for search) and a
``Retry-After`` in whole seconds. Refused requests do not count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from okrsync_hubspot_sandbox.errors import correlation_id

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Policy", "RateLimits", "Refusal", "rate_limit_body"]

TEN_SECONDS = 10.0


class Policy:
    """HubSpot's policy names."""

    TEN_SECONDLY_ROLLING = "TEN_SECONDLY_ROLLING"
    DAILY = "DAILY"
    SECONDLY = "SECONDLY"


_MESSAGES = {
    Policy.TEN_SECONDLY_ROLLING: "You have reached your ten_secondly_rolling limit.",
    Policy.DAILY: "You have reached your daily limit.",
    Policy.SECONDLY: "You have reached your secondly limit.",
}


def rate_limit_body(policy: str) -> dict[str, Any]:
    """HubSpot's 429 body for ``policy``."""
    return {
        "status": "error",
        "message": _MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused by a limit, and when to try again."""

    policy: str
    retry_after: int

    def body(self) -> dict[str, Any]:
        """The 429 body."""
        return rate_limit_body(self.policy)


class RateLimits:
    """The limits of one portal (thread-safe); times are real, not the sandbox clock."""

    def __init__(
        self,
        *,
        ten_second_limit: int = 190,
        daily_limit: int = 500_000,
        search_per_second: int = 5,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ten_second_limit = ten_second_limit
        self.daily_limit = daily_limit
        self.search_per_second = search_per_second
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._searches: deque[float] = deque()
        self._day = wall().date()
        self._today = 0

    def _expire(self, now: float) -> None:
        while self._window and self._window[0] <= now - TEN_SECONDS:
            self._window.popleft()
        while self._searches and self._searches[0] <= now - 1.0:
            self._searches.popleft()
        today = self._wall().date()
        if today != self._day:
            self._day = today
            self._today = 0

    def acquire(self, *, search: bool = False) -> Refusal | None:
        """Count one request, or refuse it (``None``: go ahead)."""
        with self._lock:
            now = self._monotonic()
            self._expire(now)
            if self._today >= self.daily_limit:
                wall = self._wall()
                midnight = datetime.combine(
                    wall.date() + timedelta(days=1), datetime.min.time(), UTC
                )
                return Refusal(Policy.DAILY, max(1, math.ceil((midnight - wall).total_seconds())))
            if len(self._window) >= self.ten_second_limit:
                wait = self._window[0] + TEN_SECONDS - now
                return Refusal(Policy.TEN_SECONDLY_ROLLING, max(1, math.ceil(wait)))
            if search and len(self._searches) >= self.search_per_second:
                wait = self._searches[0] + 1.0 - now
                return Refusal(Policy.SECONDLY, max(1, math.ceil(wait)))
            self._window.append(now)
            if search:
                self._searches.append(now)
            self._today += 1
            return None

    def wall(self) -> datetime:
        """The wall clock the daily limit resets by (UTC)."""
        return self._wall()

    def used_today(self) -> int:
        """Requests counted against today's limit."""
        with self._lock:
            self._expire(self._monotonic())
            return min(self._today, self.daily_limit)

    def spend_day(self) -> Refusal:
        """Use up the day's requests (another app spent them); the daily refusal."""
        with self._lock:
            self._today = max(self._today, self.daily_limit)
        refusal = self.acquire()
        assert refusal is not None  # noqa: S101  (the day's requests were just used up)
        return refusal

    def reset_day(self) -> None:
        """Forget today's requests (a new day)."""
        with self._lock:
            self._today = 0

    def ten_second_refusal(self) -> Refusal:
        """The refusal an injected ``429`` fault renders (the ten-second window)."""
        with self._lock:
            now = self._monotonic()
            self._expire(now)
            wait = self._window[0] + TEN_SECONDS - now if self._window else 1.0
        return Refusal(Policy.TEN_SECONDLY_ROLLING, max(1, math.ceil(wait)))

    def headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers as of now."""
        with self._lock:
            self._expire(self._monotonic())
            return {
                "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self._today)),
                "X-HubSpot-RateLimit-Max": str(self.ten_second_limit),
                "X-HubSpot-RateLimit-Remaining": str(
                    max(0, self.ten_second_limit - len(self._window))
                ),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(TEN_SECONDS * 1000)),
            }
