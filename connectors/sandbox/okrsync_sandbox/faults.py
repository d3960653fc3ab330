"""Seeded fault injection: latency, 5xx, throttling, daily limit, expiry, partial batches, drops.

A spec reads ``latency=50ms,5xx=0.2,429=0.1,expired=0.05,partial=0.1,drop=0.02,seed=7``
(or the same keys as JSON). Each CRM gets its own injector; the n-th request it
sees draws from a random generator seeded with (seed, CRM, n), so a drill with
a sequential client is reproducible request for request.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Fault", "FaultInjector", "FaultKind", "FaultSpec"]


class FaultKind(StrEnum):
    """What can go wrong with one request."""

    DROP = "drop"
    """The connection is closed without an answer."""
    EXPIRED = "expired"
    """The session or token is reported expired."""
    THROTTLE = "429"
    """Rate limited for a moment, in the CRM's own words: HubSpot's ten-second window
    (429 with ``Retry-After``), Salesforce's concurrent-request limit (403
    ``REQUEST_LIMIT_EXCEEDED`` "ConcurrentRequests (Concurrent API Requests) Limit exceeded.")."""
    DAILY = "daily"
    """The daily API limit runs out now: the CRM's quota is used up, so this request and every
    later one is refused as the CRM refuses them (HubSpot 429 ``DAILY``, Salesforce 403
    ``REQUEST_LIMIT_EXCEEDED`` "TotalRequests Limit exceeded."), with limit headers that
    agree, until the quota is reset."""
    ERROR_5XX = "5xx"
    """A server error."""
    PARTIAL = "partial"
    """A batch write in which some records fail (batch requests only)."""


_ORDER = (
    FaultKind.DROP,
    FaultKind.EXPIRED,
    FaultKind.THROTTLE,
    FaultKind.ERROR_5XX,
    FaultKind.DAILY,
)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """How often each fault happens, plus added latency, and the seed."""

    latency_ms: float = 0.0
    rates: dict[FaultKind, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency must be 0 or more")
        for kind, rate in self.rates.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"rate of {kind} must be between 0 and 1, got {rate}")
        if sum(r for k, r in self.rates.items() if k is not FaultKind.PARTIAL) > 1:
            raise ValueError("the rates of drop, expired, 429, 5xx and daily add up to more than 1")

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Read ``key=value`` pairs separated by commas (empty text: no faults)."""
        values: dict[str, Any] = {}
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"expected key=value, got {item!r}")
            values[key.strip()] = value.strip()
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaultSpec:
        """Read a mapping with keys ``latency`` (``50ms``, ``0.05s`` or ms), the kinds, ``seed``."""
        latency = 0.0
        rates: dict[FaultKind, float] = {}
        seed = 0
        kinds = {k.value: k for k in FaultKind}
        for key, value in values.items():
            if key in {"latency", "latency_ms"}:
                latency = _milliseconds(value)
            elif key == "seed":
                seed = int(value)
            elif key in kinds:
                rates[kinds[key]] = float(value)
            else:
                known = ", ".join(["latency", *kinds, "seed"])
                raise ValueError(f"unknown fault {key!r}; expected one of {known}")
        return cls(latency, rates, seed)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data (the keys ``from_dict`` reads)."""
        out: dict[str, Any] = {"latency_ms": self.latency_ms, "seed": self.seed}
        out.update({k.value: v for k, v in self.rates.items()})
        return out


def _milliseconds(value: Any) -> float:
    text = str(value).strip().lower()
    if text.endswith("ms"):
        return float(text[:-2])
    if text.endswith("s"):
        return float(text[:-1]) * 1000
    return float(text)


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault drawn for one request, with the generator for its further choices."""

    kind: FaultKind
    rng: random.Random

    def failing(self, count: int) -> set[int]:
        """For a partial batch: indices of the items that fail (at least one, not all)."""
        if count <= 1:
            return set()
        how_many = self.rng.randint(1, max(1, count // 3))
        return set(self.rng.sample(range(count), how_many))


class FaultInjector:
    """Draws faults for the requests of one CRM."""

    def __init__(self, spec: FaultSpec, stream: str) -> None:
        self._lock = threading.Lock()
        self._spec = spec
        self._stream = stream
        self._count = 0

    @property
    def spec(self) -> FaultSpec:
        """The spec in force."""
        return self._spec

    def set_spec(self, spec: FaultSpec) -> None:
        """Replace the spec and restart the sequence (a drill starts over)."""
        with self._lock:
            self._spec = spec
            self._count = 0

    @property
    def latency_seconds(self) -> float:
        """Latency added to every request."""
        return self._spec.latency_ms / 1000

    def draw(self, *, batch: bool = False) -> Fault | None:
        """The fault for the next request, if any (``partial`` only for batch writes)."""
        with self._lock:
            n = self._count
            self._count += 1
            spec = self._spec
        if not spec.rates:
            return None
        rng = random.Random(f"{spec.seed}:{self._stream}:{n}")  # noqa: S311  (drills, not crypto)
        roll = rng.random()
        edge = 0.0
        for kind in _ORDER:
            edge += spec.rates.get(kind, 0.0)
            if roll < edge:
                return Fault(kind, rng)
        if batch and rng.random() < spec.rates.get(FaultKind.PARTIAL, 0.0):
            return Fault(FaultKind.PARTIAL, rng)
        return None
