"""The connector toolkit: what every connector builds on.

- :class:`ConnectorSettings`: the shared settings, one set of names and types.
- :class:`RetryPolicy`: one retry policy (retriable errors only, ``Retry-After``, jitter, bounds).
- :func:`reserve_reached` and :class:`QuotaMeter`: one rule for the daily quota's reserve.
- :class:`Redactor`: one way to keep secrets out of logs and errors (:data:`MASK`).
- :class:`CursorWindow`: the overlap of incremental pulls and its seen-set.
- :class:`ServerClock`: the CRM's clock from its answers' ``Date``, for where windows start.
- :class:`ConnectorPluginBase`: a plugin with ``connect`` typed and checked.

The toolkit is CRM-agnostic: it imports no CRM SDK.
"""

from __future__ import annotations

from okrsync._parallel import run_each
from okrsync.kit._clock import ServerClock
from okrsync.kit._plugin import DEPRECATED_EVENT, ConnectorPluginBase
from okrsync.kit._quota import QUOTA_STOPPED_EVENT, QuotaMeter, reserve_reached
from okrsync.kit._redact import MASK, MIN_SECRET_LENGTH, Redactor
from okrsync.kit._retry import DEADLINE_SECONDS, GAVE_UP_EVENT, RETRY_EVENT, RetryPolicy
from okrsync.kit._settings import CONNECT_TIMEOUT_SECONDS, ConnectorSettings, Deprecation
from okrsync.kit._window import (
    DELETION_SLACK,
    SEEN_LIMIT,
    TRUNCATED_EVENT,
    CursorWindow,
    parse_stamp,
)

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DEADLINE_SECONDS",
    "DELETION_SLACK",
    "DEPRECATED_EVENT",
    "GAVE_UP_EVENT",
    "MASK",
    "MIN_SECRET_LENGTH",
    "QUOTA_STOPPED_EVENT",
    "RETRY_EVENT",
    "SEEN_LIMIT",
    "TRUNCATED_EVENT",
    "ConnectorPluginBase",
    "ConnectorSettings",
    "CursorWindow",
    "Deprecation",
    "QuotaMeter",
    "Redactor",
    "RetryPolicy",
    "ServerClock",
    "parse_stamp",
    "reserve_reached",
    "run_each",
]
