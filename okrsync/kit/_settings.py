"""The settings every connector shares, under one set of names and types.

A connector's settings model subclasses :class:`ConnectorSettings` and adds
what is its own (credentials, host, page size). The shared knobs mean the same
in every connector, so a configuration, an environment variable or a drill
sets them one way whatever the CRM:

========================== ======= =================================================
``timeout_seconds``        float   Seconds to wait for one answer (connecting: at most 10).
``batch_size``             int     Records per batch write (each CRM has its own maximum).
``max_retries``            int     Retries of a call that failed in a retriable way.
``retry_backoff_seconds``  float   The first back-off; it doubles with each retry, jittered.
``retry_max_wait_seconds`` float   The longest wait before one retry, the CRM's
                                   ``Retry-After`` included.
``quota_reserve_percent``  float   Share of the CRM's daily API quota never spent.
``lookback_seconds``       float   Overlap of incremental pulls, for changes seen late.
``deletion_check_seconds`` float   Least time between two listings of deletions (a day).
``concurrent_pulls``       int     Objects pulled at once (1: one at a time).
``concurrent_writes``      int     Write batches sent at once (1: one at a time).
========================== ======= =================================================

Settings renamed since an earlier release are still read for one release: a
connector lists them in :attr:`ConnectorSettings.renamed` (declared as
optional fields, so a bad value is still reported where it was written), and
:meth:`ConnectorSettings.deprecations` says which were used and what to write instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CONNECT_TIMEOUT_SECONDS", "ConnectorSettings", "Deprecation"]

CONNECT_TIMEOUT_SECONDS = 10.0
"""Longest wait for a connection (a CRM that does not answer at all fails fast)."""


@dataclass(frozen=True, slots=True)
class Deprecation:
    """An old setting name that was used, and what to write instead."""

    old: str
    advice: str


class ConnectorSettings(BaseModel):
    """Settings every connector has, with the same names, types and meaning.

    Subclasses may give a shared setting another default or a tighter bound
    (``batch_size`` up to what the CRM takes) by declaring it again with the same type.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    renamed: ClassVar[Mapping[str, str]] = {}
    """Old setting name → the shared name that replaced it (read for one more release)."""
    retired: ClassVar[Mapping[str, str]] = {}
    """Old setting name → why it is no longer needed (accepted and ignored for one more release)."""

    timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the CRM's answer to one request."
    )
    batch_size: int = Field(100, ge=1, description="Records per batch write.")
    max_retries: int = Field(
        5,
        ge=0,
        le=20,
        description="Retries of a call that failed in a way that may pass (5xx, throttling, "
        "timeouts, dropped connections); other failures are never retried.",
    )
    retry_backoff_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description="The first back-off before a retry; it doubles with each retry and is "
        "jittered (half of it fixed, half random).",
    )
    retry_max_wait_seconds: float = Field(
        30.0,
        gt=0,
        le=600,
        description="The longest wait before one retry, whether the back-off or the CRM's "
        "Retry-After asks for more. A spent daily quota is never waited out.",
    )
    quota_reserve_percent: float = Field(
        10.0,
        ge=0,
        le=90,
        description="Share of the CRM's daily API quota okrsync never spends: a run stops "
        "(its progress saved) before a call would leave less.",
    )
    lookback_seconds: float = Field(
        300.0,
        ge=0,
        le=86_400,
        description="Overlap of incremental pulls: each pull re-reads the changes made this "
        "long before the previous pull started, for changes committed or indexed late (records "
        "already reported are not reported again). Must exceed that delay plus the clock skew.",
    )
    deletion_check_seconds: float = Field(
        86_400.0,
        ge=0,
        le=86_400,
        description="Least seconds between two listings of an object's deletions (0: every "
        "pull). Daily by default: the listings (Salesforce's hard deletes, HubSpot's archived "
        "records) then cost one call per object a day, so the other cycles of the day cost one "
        "query per object; a record deleted meanwhile still counts until the next listing "
        "(Salesforce soft deletes do not wait: they come with every pull).",
    )
    concurrent_pulls: int = Field(
        4,
        ge=1,
        le=8,
        description="Objects pulled at once (their round trips overlap; 1: one at a time).",
    )
    concurrent_writes: int = Field(
        4,
        ge=1,
        le=8,
        description="Write batches sent at once: of different objects when nothing new is "
        "pointed at, and of one object's records (1: one at a time).",
    )

    @model_validator(mode="after")
    def _read_renamed(self) -> Self:
        """Carry a value given under an old name over to its new name."""
        for old, new in self.renamed.items():
            value = self.__dict__.get(old)
            if value is None:
                continue
            if new in self.model_fields_set:
                msg = f"expected only `{new}`: `{old}` is its old name, set one of them"
                raise ValueError(msg)
            self.__dict__[new] = value
        return self

    def deprecations(self) -> list[Deprecation]:
        """The old setting names this instance was given, with what to write instead."""
        found: list[Deprecation] = []
        for old in sorted(self.model_fields_set):
            if old in self.renamed:
                new = self.renamed[old]
                advice = (
                    f"`{old}` is deprecated and will stop working in the next release; "
                    f"it was read as `{new}`: rename it `{new}`"
                )
                found.append(Deprecation(old, advice))
            elif old in self.retired:
                advice = (
                    f"`{old}` is no longer used ({self.retired[old]}) and will stop "
                    "being accepted in the next release: remove it"
                )
                found.append(Deprecation(old, advice))
        return found

    @property
    def timeouts(self) -> tuple[float, float]:
        """Seconds to connect and to read one answer."""
        return min(CONNECT_TIMEOUT_SECONDS, self.timeout_seconds), self.timeout_seconds
