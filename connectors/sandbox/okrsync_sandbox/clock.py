"""The sandbox's clock: real time, or a chosen moment advancing in real time; movable."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

__all__ = ["SandboxClock"]


class SandboxClock:
    """Now, as the sandbox sees it. ``move_to`` jumps (the demo advances week by week)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._origin: datetime | None = None
        self._started = 0.0
        if start is not None:
            self.move_to(start)

    def __call__(self) -> datetime:  # noqa: D102  (the class docstring says it)
        with self._lock:
            if self._origin is None:
                return datetime.now(UTC)
            return self._origin + timedelta(seconds=time.monotonic() - self._started)

    def move_to(self, moment: datetime) -> None:
        """From now on the clock reads ``moment`` (then advances in real time)."""
        with self._lock:
            self._origin = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            self._started = time.monotonic()
