"""Loading a folder of JSON Lines files into an emulator: one located line per problem.

Each emulator reads its own files (``DIR/<crm>/<object>.jsonl``) and notes every
problem it finds as ``file:line: what was wrong`` instead of stopping at the
first; when any was found, nothing is served and :class:`DataFolderError`
lists them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okrsync.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

__all__ = ["MAX_PROBLEMS", "DataFolderError", "Problems", "json_lines"]

MAX_PROBLEMS = 200
"""Most problems listed; a file with a broken export would otherwise print every line."""


class DataFolderError(ConfigurationError, ValueError):
    """The data folder has records the CRM would not accept."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = tuple(lines)
        super().__init__("\n".join(self.lines))


@dataclass
class Problems:
    """The problems found while loading a data folder, each ``file:line: what``."""

    lines: list[str] = field(default_factory=list)
    more: int = 0

    def add(self, where: Path | str, line: int | None, what: str) -> None:
        """Note a problem in ``where`` (at ``line``, when it concerns one line)."""
        if len(self.lines) >= MAX_PROBLEMS:
            self.more += 1
            return
        self.lines.append(f"{where}:{line}: {what}" if line else f"{where}: {what}")

    def raise_any(self) -> None:
        """Raise every problem noted, if there are any.

        Raises:
            DataFolderError: With one line per problem.
        """
        if self.lines:
            extra = [f"… and {self.more} more problems"] if self.more else []
            raise DataFolderError([*self.lines, *extra])


def json_lines(path: Path, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSON Lines file with their line numbers; bad lines are noted."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.add(path, number, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(item, dict):
                problems.add(path, number, "expected a JSON object (one record per line)")
                continue
            yield number, item
