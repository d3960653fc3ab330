"""One retry policy for every connector: retriable errors only, bounded, jittered, polite.

- Only :class:`~okrsync.errors.RetriableConnectorError` is retried: a connector
  first sorts each failure into okrsync's kinds (fatal, retriable, quota), so
  a refused request is never sent again and a spent quota is never slept on.
- The wait before retry *n* is the CRM's ``Retry-After`` when it gave one,
  else an exponential back-off with "equal jitter": half of
  ``min(max_wait, backoff · 2^(n−1))`` plus a random share of the other half
  (so clients spread out, yet never hammer a throttled CRM with no wait at all).
  No wait is longer than ``max_wait`` (``retry_max_wait_seconds``).
- At most ``max_retries`` retries, and none that would start after
  ``deadline_seconds`` from the first attempt.
- Each retry is logged as ``connector.retry`` with what was being done, the
  attempt, the error's code and its text (redacted), and the wait; a call the
  daily quota stops as ``connector.quota.stopped``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from okrsync.errors import QuotaReserveReached, RetriableConnectorError
from okrsync.kit._quota import QUOTA_STOPPED_EVENT

if TYPE_CHECKING:
    from collections.abc import Callable

    from okrsync.kit._settings import ConnectorSettings

__all__ = ["DEADLINE_SECONDS", "GAVE_UP_EVENT", "RETRY_EVENT", "RetryPolicy"]

T = TypeVar("T")

DEADLINE_SECONDS = 300.0
"""No retry of one call starts later than this after its first attempt."""
RETRY_EVENT = "connector.retry"
"""The log event of each retry."""
GAVE_UP_EVENT = "connector.retry.gave_up"
"""The log event when a call still fails after its last retry."""

_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before sending a failed call again.

    Args:
        max_retries: Retries after the first attempt (0: none).
        backoff_seconds: The first back-off's upper bound; it doubles with each retry.
        max_wait_seconds: The longest wait before one retry, ``Retry-After`` included.
        deadline_seconds: No retry starts later than this after the first attempt.
        sleep: How to wait (tests pass a recorder).
        uniform: A random number in ``[a, b]`` (the jitter).
    """

    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 30.0
    deadline_seconds: float = DEADLINE_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    uniform: Callable[[float, float], float] = field(default=_RANDOM.uniform, compare=False)

    @classmethod
    def of(cls, settings: ConnectorSettings, **overrides: Any) -> RetryPolicy:
        """The policy a connector's settings describe."""
        values: dict[str, Any] = {
            "max_retries": settings.max_retries,
            "backoff_seconds": settings.retry_backoff_seconds,
            "max_wait_seconds": settings.retry_max_wait_seconds,
        }
        return cls(**(values | overrides))

    def backoff(self, retry: int) -> float:
        """The jittered back-off before retry number ``retry`` (1 for the first)."""
        ceiling = min(self.max_wait_seconds, self.backoff_seconds * 2.0 ** max(0, retry - 1))
        return ceiling / 2 + self.uniform(0.0, ceiling / 2)

    def wait(self, retry: int, error: BaseException | None = None) -> float:
        """The wait before retry ``retry`` after ``error``: Retry-After (capped), else back-off."""
        retry_after = error.retry_after if isinstance(error, RetriableConnectorError) else None
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_wait_seconds)
        return self.backoff(retry)

    def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        log: Any,
        redact: Callable[[str], str],
        object_name: str = "",
    ) -> T:
        """``fn()``, sent again after each :class:`RetriableConnectorError` as the policy allows.

        Args:
            fn: One attempt; it must be safe to repeat.
            what: What the call does, for the log (``query Opportunity``).
            log: A structlog logger bound to the connector.
            redact: Masks secrets in the error text before it is logged.
            object_name: The object concerned, for the log.

        Raises:
            RetriableConnectorError: Still failing after the last retry (the last error).
            QuotaReserveReached: At once (logged): the reserve or the daily limit is reached.
            Exception: Any other error of ``fn``, at once.
        """

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            error = outcome.exception() if outcome is not None else None
            return self.wait(state.attempt_number, error)

        def before_sleep(state: RetryCallState) -> None:
            outcome = state.outcome
            error = outcome.exception() if outcome is not None else None
            log.warning(
                RETRY_EVENT,
                what=what,
                object=object_name,
                attempt=state.attempt_number,
                attempts=self.max_retries + 1,
                code=getattr(error, "code", ""),
                error=redact(str(error)) if error is not None else "",
                sleep_seconds=round(state.upcoming_sleep, 3),
            )

        attempts = stop_after_attempt(self.max_retries + 1)
        retrying = Retrying(
            retry=retry_if_exception_type(RetriableConnectorError),
            stop=attempts | stop_before_delay(self.deadline_seconds),
            wait=wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except QuotaReserveReached as exc:
            log.warning(QUOTA_STOPPED_EVENT, what=what, object=object_name, code=exc.code)
            raise
        except RetriableConnectorError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            if attempts > 1:
                log.warning(
                    GAVE_UP_EVENT,
                    what=what,
                    object=object_name,
                    attempts=attempts,
                    code=exc.code,
                    error=redact(str(exc)),
                )
            raise
