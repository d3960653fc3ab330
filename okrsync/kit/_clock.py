"""The CRM's clock, as the ``Date`` header of its answers shows it.

A cursor is a moment on the CRM's clock (the modification stamps are the
CRM's), so where the next pull starts must be measured on that clock too, not
on the machine's: a machine whose clock runs an hour ahead would otherwise
start the next window an hour late and never see the changes in between.

Every answer carries ``Date`` (RFC 9110: when the answer was made, in whole
seconds). An answer received at local time ``R`` with ``Date: D`` was made no
later than ``R``, and the CRM's clock read at least ``D`` then, so
``D − R`` is a lower bound of how far the CRM's clock is ahead of ours: a
moment converted with it is never later than the CRM's true time (by at most
the second ``Date`` truncates plus the answer's travel time), which is the
safe side for the start of a window.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ServerClock"]


class ServerClock:
    """The CRM's clock: the local clock moved by what the last answer's ``Date`` said.

    Args:
        local: The connector's clock (aware UTC).
    """

    def __init__(self, local: Callable[[], datetime]) -> None:
        self.local = local
        self._offset: timedelta | None = None
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta | None:
        """How far the CRM's clock is ahead of the local one, at least (``None``: no answer yet)."""
        return self._offset

    def observe(self, header: str | None, *, received: datetime | None = None) -> None:
        """Take the ``Date`` header of an answer received at ``received`` (default: now).

        A missing or unreadable header changes nothing.
        """
        if not header:
            return
        try:
            moment = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        arrived = received if received is not None else self.local()
        with self._lock:
            self._offset = moment - arrived

    def at(self, local: datetime) -> datetime:
        """A local moment on the CRM's clock (unchanged while no answer was seen)."""
        offset = self._offset
        return local if offset is None else local + offset

    def now(self) -> datetime:
        """Now, on the CRM's clock as far as it is known."""
        return self.at(self.local())
