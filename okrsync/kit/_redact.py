"""One redactor: every secret okrsync knows of, and any bearer credential, masked one way."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from pydantic import SecretBytes, SecretStr

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor"]

MASK = "**********"
"""What a secret is replaced with, wherever it appears (logs, errors, masked URLs)."""
MIN_SECRET_LENGTH = 4
"""Shorter values are not masked: masking every ``"ab"`` would garble the text."""

_BEARER = re.compile(r"(?i)\b(bearer)\s+(?=[A-Za-z]*[0-9._~+/=!-])[A-Za-z0-9._~+/=!-]{8,}")
"""A credential from an ``Authorization`` header (``Bearer pat-na1-…``); it holds a digit or a
symbol, so words after "bearer" in a sentence are left alone."""
_PEM_FENCE = "-----"


class Redactor:
    """Masks known secret values, and any ``Bearer`` credential, in text and data.

    Secrets are learnt at construction and with :meth:`add` (a connector adds
    each token it is issued). A multi-line secret (a PEM key) is masked whole
    and line by line, so a fragment of it is caught too. Thread-safe.

    Args:
        secrets: Values to mask (``None`` and values under 4 characters are ignored).
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values masked, longest first."""
        return self._secrets

    def add(self, secret: str | None) -> None:
        """Mask ``secret`` from now on (and each line of it, for a PEM key)."""
        if not isinstance(secret, str) or not secret:
            return
        parts = [secret, *(line.strip() for line in secret.splitlines())]
        fresh = {
            part for part in parts if len(part) >= MIN_SECRET_LENGTH and _PEM_FENCE not in part
        }
        with self._lock:
            found = set(self._secrets) | fresh
            # Longest first, so a secret containing another is masked whole.
            self._secrets = tuple(sorted(found, key=lambda s: (-len(s), s)))

    def text(self, text: str) -> str:
        """``text`` with every secret and bearer credential replaced by :data:`MASK`."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)

    __call__ = text

    def value(self, value: Any) -> Any:
        """``value`` with secrets masked inside strings, mappings and sequences.

        ``SecretStr`` and ``SecretBytes`` become :data:`MASK`; other values are
        returned as they are.
        """
        if isinstance(value, (SecretStr, SecretBytes)):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(v) for v in value]
        return value
