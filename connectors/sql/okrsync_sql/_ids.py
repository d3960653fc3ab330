"""The ids of an object the connector knows, kept compactly in the cursor for the id reconciliation.

A row deleted for good leaves no trace a query can find, so hard deletes are
found by comparing ids: every ``deletion_check_seconds`` the connector lists
the ids the object has now (keyset pages by the id's index) and reports those
it knew that are gone. What it knows is kept in the cursor's seen-set, in
entries starting with ``#`` beside the kit's window entries:

- whole-number ids as runs (``#i:1..4500,4502..9000``): a serial key with few
  deletions takes a few bytes whatever the size of the table;
- other ids one by one (``#t:<id>``).

Known are the ids listed at the last reconciliation (or read by the first
pull) and every id reported changed since. Past :data:`LIMIT` characters the
set is dropped (``#i!``, ``#t!``): the next reconciliation then reads the
object whole again instead (``Page.reset``), which finds the deletions too,
at the cost of a full read.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["LIMIT", "PREFIX", "KnownIds"]

PREFIX = "#"
"""Cursor entries of the sql connector start with this (the kit's never do)."""
LIMIT = 100_000
"""Most characters the known ids take in a cursor."""
_INTS, _TEXTS = f"{PREFIX}i", f"{PREFIX}t"
_CHUNK = 4_000


def _run(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}..{end}"


class KnownIds:
    """A set of ids: whole numbers as sorted runs, other ids as text; bounded by :data:`LIMIT`.

    Args:
        integer: Whether ids are whole numbers (compared in ascending order).
    """

    def __init__(self, *, integer: bool) -> None:
        self.integer = integer
        self.overflow = False
        """The set outgrew :data:`LIMIT` and is not kept: the next reconciliation re-reads."""
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._texts: set[str] = set()
        self._text_size = 0

    def __len__(self) -> int:
        runs = zip(self._starts, self._ends, strict=True)
        return sum(end - start + 1 for start, end in runs) + len(self._texts)

    @property
    def size(self) -> int:
        """An upper bound of the characters :meth:`encode` writes."""
        if not self.integer:
            return self._text_size
        widest = max(
            (len(str(abs(n))) + 1 for n in (*self._starts[:1], *self._ends[-1:])), default=1
        )
        return len(self._starts) * (2 * widest + 2)

    def _check_size(self) -> None:
        if self.size > LIMIT:
            self.overflow = True
            self._starts, self._ends, self._texts, self._text_size = [], [], set(), 0

    def add(self, ident: str) -> None:
        """Remember ``ident`` (nothing once overflowed)."""
        if self.overflow:
            return
        if self.integer:
            runs = len(self._starts)
            self._add(int(ident))
            if len(self._starts) == runs:
                return  # a run grew or held it already: the size did not
        elif ident not in self._texts:
            self._texts.add(ident)
            self._text_size += len(_TEXTS) + 2 + len(ident)
        self._check_size()

    def _add(self, n: int) -> None:
        starts, ends = self._starts, self._ends
        i = bisect.bisect_right(starts, n) - 1
        if i >= 0 and n <= ends[i]:
            return
        left = i >= 0 and ends[i] == n - 1
        right = i + 1 < len(starts) and starts[i + 1] == n + 1
        if left and right:
            ends[i] = ends[i + 1]
            del starts[i + 1], ends[i + 1]
        elif left:
            ends[i] = n
        elif right:
            starts[i + 1] = n
        else:
            starts.insert(i + 1, n)
            ends.insert(i + 1, n)

    def discard(self, ident: str) -> None:
        """Forget ``ident``."""
        if self.overflow:
            return
        if not self.integer:
            if ident in self._texts:
                self._texts.discard(ident)
                self._text_size -= len(_TEXTS) + 2 + len(ident)
            return
        n = int(ident)
        starts, ends = self._starts, self._ends
        i = bisect.bisect_right(starts, n) - 1
        if i < 0 or n > ends[i]:
            return
        start, end = starts[i], ends[i]
        if start == end:
            del starts[i], ends[i]
        elif n == start:
            starts[i] = n + 1
        elif n == end:
            ends[i] = n - 1
        else:
            ends[i] = n - 1
            starts.insert(i + 1, n + 1)
            ends.insert(i + 1, end)
        self._check_size()

    def gone(self, present: Iterable[str]) -> Iterator[str]:
        """The known ids that ``present`` lacks (whole numbers: ``present`` ascending)."""
        if not self.integer:
            found = {ident for ident in present if ident in self._texts}
            yield from sorted(self._texts - found)
            return
        ids = (int(p) for p in present)
        current = next(ids, None)
        for low, high in zip(self._starts, self._ends, strict=True):
            n = low
            while n <= high:
                while current is not None and current < n:
                    current = next(ids, None)
                if current is None or current > high:
                    yield from map(str, range(n, high + 1))
                    break
                yield from map(str, range(n, current))
                n = current + 1
        for _ in ids:  # read the rest: the caller may learn from every id listed
            pass

    def encode(self) -> tuple[str, ...]:
        """The cursor entries holding this set."""
        if self.overflow:
            return (f"{_INTS if self.integer else _TEXTS}!",)
        if not self.integer:
            return tuple(f"{_TEXTS}:{t}" for t in sorted(self._texts))
        entries: list[str] = []
        chunk: list[str] = []
        for start, end in zip(self._starts, self._ends, strict=True):
            chunk.append(_run(start, end))
            if sum(map(len, chunk)) + len(chunk) > _CHUNK:
                entries.append(f"{_INTS}:" + ",".join(chunk))
                chunk = []
        if chunk:
            entries.append(f"{_INTS}:" + ",".join(chunk))
        return tuple(entries)

    @classmethod
    def decode(cls, entries: Iterable[str], *, integer: bool) -> KnownIds | None:
        """The set the entries hold (``None`` when they hold none of this kind of id).

        Entries that cannot be read give an overflowed set: the next
        reconciliation re-reads the object rather than trust them.
        """
        known = cls(integer=integer)
        mark = _INTS if integer else _TEXTS
        held = False
        for entry in entries:
            if entry == f"{mark}!":
                known.overflow = held = True
            elif entry.startswith(f"{mark}:"):
                held = True
                body = entry[len(mark) + 1 :]
                if not integer:
                    known.add(body)
                    continue
                try:
                    known._extend(body)
                except ValueError:
                    known.overflow = True
        return known if held else None

    def _extend(self, body: str) -> None:
        """Append the runs of one entry (ascending, after those held)."""
        for run in filter(None, body.split(",")):
            low, dots, high = run.partition("..")
            start = int(low)
            end = int(high) if dots else start
            if end < start or (self._ends and start <= self._ends[-1]):
                raise ValueError(run)
            if self._ends and start == self._ends[-1] + 1:
                self._ends[-1] = end
            else:
                self._starts.append(start)
                self._ends.append(end)
