"""The toolkit's retry policy, quota-reserve rule and redactor."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from okrsync.errors import FatalConnectorError, QuotaReserveReached, RetriableConnectorError
from okrsync.kit import (
    GAVE_UP_EVENT,
    MASK,
    QUOTA_STOPPED_EVENT,
    RETRY_EVENT,
    ConnectorSettings,
    QuotaMeter,
    Redactor,
    RetryPolicy,
    reserve_reached,
)
from okrsync.logging import get_logger


def policy(**overrides: object) -> tuple[RetryPolicy, list[float]]:
    """A policy that records its waits instead of sleeping, with the jitter at its top."""
    waits: list[float] = []
    values: dict[str, object] = {"sleep": waits.append, "uniform": lambda _a, b: b}
    values.update(overrides)
    return RetryPolicy(**values), waits  # type: ignore[arg-type]


class Flaky:
    """Fails with the given errors, then returns ``"done"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        """One attempt."""
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def _call(retry: RetryPolicy, fn: Flaky) -> str:
    return retry.call(
        fn, what="query Deal", log=get_logger("test"), redact=Redactor(["s3cret-token"])
    )


def test_retriable_errors_are_retried_with_doubling_jittered_backoff() -> None:
    """Each retry waits half the doubled back-off plus up to the other half, capped by the longest wait."""
    retry, waits = policy(max_retries=5, backoff_seconds=1.0, max_wait_seconds=6.0)
    fn = Flaky(*(RetriableConnectorError("busy", code="HTTP_503") for _ in range(5)))
    assert _call(retry, fn) == "done"
    assert fn.calls == 6
    assert waits == [1.0, 2.0, 4.0, 6.0, 6.0]
    low, _ = policy(uniform=lambda a, _b: a)
    assert [low.backoff(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


def test_retry_after_is_honoured_and_capped() -> None:
    """The CRM's Retry-After replaces the back-off, never beyond the longest wait."""
    retry, waits = policy(max_wait_seconds=10.0)
    fn = Flaky(
        RetriableConnectorError("slow down", retry_after=3.0),
        RetriableConnectorError("slow down", retry_after=86_400.0),
    )
    assert _call(retry, fn) == "done"
    assert waits == [3.0, 10.0]


def test_only_the_retriable_kind_is_retried() -> None:
    """A fatal error or a reached quota fails at once, without a wait."""
    retry, waits = policy()
    fatal = Flaky(FatalConnectorError("refused"))
    with pytest.raises(FatalConnectorError):
        _call(retry, fatal)
    quota = Flaky(QuotaReserveReached("spent", crm="acme", code="DAILY"))
    with capture_logs() as logs, pytest.raises(QuotaReserveReached):
        _call(retry, quota)
    assert (fatal.calls, quota.calls, waits) == (1, 1, [])
    assert [e["event"] for e in logs] == [QUOTA_STOPPED_EVENT]


def test_attempts_are_bounded_and_each_retry_is_logged_redacted() -> None:
    """After max_retries the last error is raised; every retry is a `connector.retry` event without the secret."""
    retry, waits = policy(max_retries=2)
    fn = Flaky(*(RetriableConnectorError("token s3cret-token refused", code="X") for _ in range(5)))
    with capture_logs() as logs, pytest.raises(RetriableConnectorError):
        _call(retry, fn)
    assert fn.calls == 3
    assert len(waits) == 2
    events = [e for e in logs if e["event"] == RETRY_EVENT]
    assert [e["attempt"] for e in events] == [1, 2]
    assert all(e["code"] == "X" and e["what"] == "query Deal" for e in events)
    assert all("s3cret-token" not in str(e) and MASK in e["error"] for e in logs)
    assert logs[-1]["event"] == GAVE_UP_EVENT


def test_total_time_is_bounded() -> None:
    """No retry starts once the deadline would be passed, however many retries are left."""
    retry = RetryPolicy(
        max_retries=1000, backoff_seconds=0.02, max_wait_seconds=0.02, deadline_seconds=0.1
    )
    fn = Flaky(*(RetriableConnectorError("busy") for _ in range(1000)))
    began = time.monotonic()
    with pytest.raises(RetriableConnectorError):
        _call(retry, fn)
    assert time.monotonic() - began < 0.5
    assert 2 <= fn.calls < 20


def test_the_policy_comes_from_the_shared_settings() -> None:
    """max_retries, retry_backoff_seconds and retry_max_wait_seconds make the policy."""
    settings = ConnectorSettings(max_retries=3, retry_backoff_seconds=0.5, retry_max_wait_seconds=4)
    retry = RetryPolicy.of(settings)
    assert (retry.max_retries, retry.backoff_seconds, retry.max_wait_seconds) == (3, 0.5, 4.0)


@pytest.mark.parametrize(
    ("remaining", "limit", "percent", "stops"),
    [
        (None, 100, 10, False),  # nothing reported yet
        (5, 0, 10, False),  # no limit reported
        (12, 100, 10, False),  # 11 left after the call: above the reserve
        (11, 100, 10, False),  # 10 left after the call: the reserve itself is kept
        (10, 100, 10, True),  # 9 would be left
        (3, 25, 10, True),  # 2 would be left, under 2.5
        (1, 100, 0, False),  # no reserve: the last request may go
        (0, 100, 0, True),  # nothing left at all
    ],
)
def test_the_reserve_rule(remaining: int | None, limit: int, percent: float, stops: bool) -> None:
    """A call goes only if at least the reserve is left after it: remaining − 1 < limit × percent / 100 stops."""
    assert reserve_reached(remaining, limit, percent) is stops


def test_the_meter_raises_at_the_reserve_naming_what_was_left() -> None:
    """The meter counts calls, keeps the last reported quota and stops a call at the reserve."""
    meter = QuotaMeter("acme", 10)
    meter.check("read deals")  # nothing known: the call goes
    meter.called()
    meter.report(remaining=11, limit=100)
    meter.check("read deals")
    meter.report(remaining=10)
    with pytest.raises(QuotaReserveReached, match="10 of 100 daily API requests left") as caught:
        meter.check("read deals", object_name="deals")
    assert (caught.value.crm, caught.value.object_name, caught.value.code) == (
        "acme",
        "deals",
        "QUOTA_RESERVE",
    )
    assert meter.usage().calls == 1
    assert meter.usage().remaining == 10


def test_the_redactor_masks_secrets_their_lines_and_bearer_tokens() -> None:
    """Known secrets (a PEM key line by line too) and `Bearer` credentials are masked; prose is not."""
    pem = "-----BEGIN KEY-----\nAAAAline-one\nBBBBline-two\n-----END KEY-----"
    redact = Redactor(["pat-na1-0123", None, "ab"])
    redact.add(pem)
    text = "token pat-na1-0123, key BBBBline-two, header Bearer 00D!x.y-z9, the bearer authentication, ab"
    assert redact(text) == (
        f"token {MASK}, key {MASK}, header Bearer {MASK}, the bearer authentication, ab"
    )
    assert redact.value({"a": [SecretStr("x"), "pat-na1-0123"], "n": 3}) == {
        "a": [MASK, MASK],
        "n": 3,
    }
