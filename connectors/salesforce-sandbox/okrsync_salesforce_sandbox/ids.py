"""Salesforce record ids: 15-character base-62 bodies with a 3-character case checksum.

An id is the object's key prefix (``006`` for Opportunity), two characters of
"instance", a reserved ``0`` and a 9-digit base-62 counter; the 18-character
form appends the checksum that encodes which of the 15 characters are upper
case, so that ids compare safely in case-insensitive systems.
"""

from __future__ import annotations

import functools
import re
import threading

__all__ = ["IdGenerator", "checksum", "is_id", "make_id", "normalize_id"]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
_INSTANCE = "8d0"
_COUNTER_DIGITS = 9


_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def checksum(id15: str) -> str:
    """The 3-character suffix of the 15-character id ``id15``."""
    upper = _UPPER
    return "".join(
        _SUFFIX[sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char in upper)]
        for start in (0, 5, 10)
    )


def _base62(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
        if number == 0:
            return "".join(reversed(digits))


@functools.lru_cache(maxsize=65536)
def make_id(prefix: str, number: int) -> str:
    """The 18-character id number ``number`` of the object with key prefix ``prefix``."""
    id15 = prefix + _INSTANCE + _base62(number).rjust(_COUNTER_DIGITS, "0")
    return id15 + checksum(id15)


def is_id(text: str) -> bool:
    """Whether ``text`` looks like a 15- or 18-character Salesforce id."""
    return bool(_ID.match(text))


def normalize_id(text: str) -> str:
    """The 18-character form of a 15- or 18-character id (``ValueError`` if not an id)."""
    if not is_id(text):
        raise ValueError(f"not a Salesforce id: {text!r}")
    return text[:15] + checksum(text[:15])


class IdGenerator:
    """Hands out new ids per key prefix, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        """The next unused id of ``prefix``."""
        with self._lock:
            number = self._next.get(prefix, 1)
            self._next[prefix] = number + 1
        return make_id(prefix, number)

    def advance(self, prefix: str, used: int) -> None:
        """Note that numbers up to ``used`` of ``prefix`` are taken (by loaded data)."""
        with self._lock:
            self._next[prefix] = max(self._next.get(prefix, 1), used + 1)
