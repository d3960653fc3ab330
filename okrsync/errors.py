"""The error hierarchy: one root, split by what the caller must do.

- :class:`ConfigurationError` and its kinds: a person fixes a file or a variable.
- :class:`FatalConnectorError`: stop this connector's run and report it.
- :class:`RetriableConnectorError`: back off and retry (the only kind retried).
- :class:`SkippableRecordError`: record the failed record and carry on.
- :class:`QuotaReserveReached`: stop the run cleanly; it resumes next time.

An exception's docstring is its default message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "ConfigurationError",
    "ConnectorError",
    "FatalConnectorError",
    "MappingError",
    "OkrsyncError",
    "Problem",
    "QuotaReserveReached",
    "RetriableConnectorError",
    "SkippableRecordError",
]


class OkrsyncError(Exception):
    """okrsync failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One located problem in a user's file (or environment variable).

    Renders as ``file:line:col: yaml.path: message``; the path is left out when
    the problem concerns the whole document, the position when it is unknown.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigurationError(OkrsyncError):
    """The configuration is invalid."""

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            super().__init__(problems)
            return
        self.problems = tuple(sorted(set(problems)))
        super().__init__("\n".join(str(p) for p in self.problems) or None)


class MappingError(ConfigurationError):
    """The mapping files are invalid."""


class ConnectorError(OkrsyncError):
    """A connector call failed.

    Carries which CRM, which object and which record, so a report can name them.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        crm: str = "",
        object_name: str = "",
        record: str = "",
        code: str = "",
    ) -> None:
        self.crm = crm
        self.object_name = object_name
        self.record = record
        self.code = code
        text = message or (type(self).__doc__ or "").strip()
        context = ", ".join(
            f"{k}={v}"
            for k, v in (("crm", crm), ("object", object_name), ("record", record), ("code", code))
            if v
        )
        super().__init__(f"{text} ({context})" if context else text)


class FatalConnectorError(ConnectorError):
    """The CRM refused the request; retrying will not help."""


class RetriableConnectorError(ConnectorError):
    """The CRM is temporarily unavailable or limiting us; retry later.

    ``retry_after`` is how long the CRM asked to wait (its ``Retry-After``), in
    seconds, when it said so.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        crm: str = "",
        object_name: str = "",
        record: str = "",
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, crm=crm, object_name=object_name, record=record, code=code)


class QuotaReserveReached(ConnectorError):  # noqa: N818  (a state reached, not a failure)
    """The CRM's remaining API quota reached the reserve; the run stops with its progress saved."""


class SkippableRecordError(ConnectorError):
    """One record could not be processed; it is reported and skipped."""
