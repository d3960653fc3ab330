"""The contract suite's drivers over a sandbox CRM: what every sandbox-based driver shares.

A connector whose test service is its sandbox emulator builds its driver on
:class:`SandboxDriver`: calls served and faults injected come from the
sandbox's accounting.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from okrsync.testing.driver import Driver

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from okrsync_sandbox.accounting import Accounting

__all__ = ["SandboxDriver", "write_jsonl"]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` as JSON Lines (the sandboxes' ``--data`` format), making the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


class SandboxDriver(Driver):
    """A driver whose service is a sandbox CRM, counted by the sandbox's accounting."""

    def accounting(self) -> Accounting:
        """The running sandbox's accounting."""
        raise NotImplementedError(self._missing("accounting"))

    def _stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = (
            self.accounting()
            .snapshot()
            .get(self.name, {"calls": 0, "by_endpoint": {}, "faults": {}})
        )
        return stats

    def served(self, endpoint: str | None = None) -> int:
        """Calls the sandbox served (to one endpoint), from its accounting."""
        stats = self._stats()
        return int(stats["calls"] if endpoint is None else stats["by_endpoint"].get(endpoint, 0))

    def injected(self, kind: str) -> int:
        """Faults of a kind the sandbox injected, from its accounting."""
        return int(self._stats()["faults"].get(kind, 0))
