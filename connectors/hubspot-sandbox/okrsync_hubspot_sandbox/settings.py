"""Portal settings of the HubSpot sandbox, read from ``SandboxOptions.extra``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["PortalSettings"]


@dataclass(frozen=True, slots=True)
class PortalSettings:
    """What makes this portal this portal: ids, credentials, limits, missing scopes."""

    portal_id: int = 24_681_357
    access_token: str = ""
    ten_second_limit: int = 190
    daily_limit: int = 500_000
    search_per_second: int = 5
    search_lag_seconds: float = 0.0
    batch_limit: int = 100
    missing_scopes: tuple[str, ...] = ()
    user_id: int = 13_579_246
    """The HubSpot user who created the private app (its token's ``userId``)."""
    app_id: int = 3_141_592
    """The private app's id."""

    @classmethod
    def from_extra(cls, extra: dict[str, Any], seed: int) -> PortalSettings:
        """Settings from ``extra`` (keys as the fields' names); the token derives from ``seed``."""
        token = str(extra.get("access_token") or _token(seed))
        default = cls()
        return cls(
            portal_id=int(extra.get("portal_id", default.portal_id)),
            access_token=token,
            ten_second_limit=int(extra.get("ten_second_limit", default.ten_second_limit)),
            daily_limit=int(extra.get("daily_limit", default.daily_limit)),
            search_per_second=int(extra.get("search_per_second", default.search_per_second)),
            search_lag_seconds=float(extra.get("search_lag_seconds", default.search_lag_seconds)),
            batch_limit=int(extra.get("batch_limit", default.batch_limit)),
            missing_scopes=tuple(str(s) for s in extra.get("missing_scopes") or ()),
        )


def _token(seed: int) -> str:
    digest = hashlib.sha256(f"okrsync-hubspot-sandbox:{seed}".encode()).hexdigest()
    return f"pat-na1-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
