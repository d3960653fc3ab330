"""Counts of what the sandbox CRMs served: calls, records written, faults injected."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["Accounting"]


class Accounting:
    """Thread-safe counters, per CRM, per endpoint and per object; resettable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str, str]] = Counter()
        self._written: Counter[tuple[str, str]] = Counter()
        self._faults: Counter[tuple[str, str]] = Counter()

    def call(self, crm: str, endpoint: str, obj: str | None = None) -> None:
        """Count one API call."""
        with self._lock:
            self._calls[crm, endpoint, obj or ""] += 1

    def written(self, crm: str, obj: str, count: int) -> None:
        """Count records created or updated."""
        if count:
            with self._lock:
                self._written[crm, obj] += count

    def fault(self, crm: str, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._faults[crm, kind] += 1

    def calls(self, crm: str) -> int:
        """API calls served for ``crm`` so far."""
        with self._lock:
            return sum(n for (c, _, _), n in self._calls.items() if c == crm)

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self._calls.clear()
            self._written.clear()
            self._faults.clear()

    def snapshot(self) -> dict[str, Any]:
        """Everything counted, as JSON-ready data keyed by CRM."""
        with self._lock:
            out: dict[str, Any] = {}
            for (crm, endpoint, obj), n in sorted(self._calls.items()):
                entry = _entry(out, crm)
                entry["calls"] += n
                entry["by_endpoint"][endpoint] = entry["by_endpoint"].get(endpoint, 0) + n
                if obj:
                    entry["by_object"][obj] = entry["by_object"].get(obj, 0) + n
            for (crm, obj), n in sorted(self._written.items()):
                entry = _entry(out, crm)
                entry["records_written"][obj] = n
            for (crm, kind), n in sorted(self._faults.items()):
                entry = _entry(out, crm)
                entry["faults"][kind] = n
            return out


def _entry(out: dict[str, Any], crm: str) -> dict[str, Any]:
    entry: dict[str, Any] = out.setdefault(
        crm,
        {"calls": 0, "by_endpoint": {}, "by_object": {}, "records_written": {}, "faults": {}},
    )
    return entry
