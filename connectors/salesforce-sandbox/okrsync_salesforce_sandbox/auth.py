"""Sessions, the OAuth 2.0 token endpoint, and the org's daily API request quota.

- :class:`Sessions` knows the access tokens (a static session id made at start,
  plus those the token endpoint issues) and which user each acts as.
- :meth:`Sessions.token` answers ``POST /services/oauth2/token`` for the client
  credentials flow (``client_id``/``client_secret`` in the form or HTTP Basic)
  and the JWT bearer flow (the assertion is decoded, not verified: it must be
  a JWT whose ``iss`` is the consumer key, ``sub`` an active user's username,
  with an ``aud`` and an unexpired ``exp``).
- :class:`Quota` counts API requests against the daily limit and renders the
  ``Sforce-Limit-Info`` header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["JWT_BEARER", "Quota", "Sessions", "TokenAnswer"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """The token endpoint's status and JSON body."""

    status: int
    body: dict[str, Any]


def _oauth_error(error: str, description: str, status: int = 400) -> TokenAnswer:
    return TokenAnswer(status, {"error": error, "error_description": description})


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Sessions:
    """Access tokens of the org and the users they act as.

    Args:
        org_id: The org's id (tokens start with its 15 characters, like Salesforce's).
        consumer_key: The connected app's consumer key.
        consumer_secret: Its secret.
        user_by_username: The id of the active user with a username, or ``None``.
        run_as: The user the client credentials flow acts as.
    """

    def __init__(
        self,
        org_id: str,
        consumer_key: str,
        consumer_secret: str,
        user_by_username: Callable[[str], str | None],
        run_as: str,
    ) -> None:
        self.org_id = org_id
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self._user_by_username = user_by_username
        self.run_as = run_as
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}

    def issue(self, user_id: str) -> str:
        """A new access token acting as ``user_id``."""
        token = f"{self.org_id[:15]}!AQ{secrets.token_urlsafe(64)}"
        with self._lock:
            self._tokens[token] = user_id
        return token

    def user_of(self, token: str) -> str | None:
        """The user a token acts as (``None``: unknown or expired)."""
        with self._lock:
            return self._tokens.get(token)

    def expire(self, token: str) -> bool:
        """Make a token invalid (an expired session); return whether it was valid."""
        with self._lock:
            return self._tokens.pop(token, None) is not None

    def token(self, form: Mapping[str, str], authorization: str, instance_url: str) -> TokenAnswer:
        """Answer ``POST /services/oauth2/token``."""
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
            scheme, _, encoded = authorization.partition(" ")
            if scheme.lower() == "basic":
                try:
                    client_id, _, client_secret = (
                        _b64decode(encoded.strip()).decode().partition(":")
                    )
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    return _oauth_error("invalid_client", "invalid client credentials")
            if not (
                hmac.compare_digest(client_id, self.consumer_key)
                and hmac.compare_digest(client_secret, self.consumer_secret)
            ):
                return _oauth_error("invalid_client", "invalid client credentials")
            return self._granted(self.run_as, instance_url)
        if grant == JWT_BEARER:
            return self._jwt(form.get("assertion", ""), instance_url)
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    def _jwt(self, assertion: str, instance_url: str) -> TokenAnswer:
        parts = assertion.split(".")
        if len(parts) != 3:  # noqa: PLR2004  (header, claims, signature)
            return _oauth_error("invalid_grant", "invalid assertion")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return _oauth_error("invalid_grant", "invalid assertion")
        if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
            return _oauth_error("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.consumer_key:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if not isinstance(claims.get("aud"), str) or not claims["aud"].startswith("https://"):
            return _oauth_error("invalid_grant", "audience is invalid")
        try:
            expires = float(claims.get("exp", 0))
        except (TypeError, ValueError):
            return _oauth_error("invalid_grant", "invalid assertion")
        if expires < time.time():
            return _oauth_error("invalid_grant", "expired authorization code")
        user = self._user_by_username(str(claims.get("sub", "")))
        if user is None:
            return _oauth_error("invalid_grant", "invalid assertion")
        return self._granted(user, instance_url)

    def _granted(self, user_id: str, instance_url: str) -> TokenAnswer:
        token = self.issue(user_id)
        issued_at = str(int(time.time() * 1000))
        identity = f"{instance_url}/id/{self.org_id}/{user_id}"
        digest = hmac.new(
            self.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return TokenAnswer(
            200,
            {
                "access_token": token,
                "instance_url": instance_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": base64.b64encode(digest).decode(),
                "scope": "api",
            },
        )


class Quota:
    """The org's daily API request limit.

    Args:
        limit: Requests allowed (Salesforce's ``DailyApiRequests``).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Requests counted so far."""
        with self._lock:
            return self._used

    def take(self) -> bool:
        """Count one request; ``False`` (not counted) when the quota is spent."""
        with self._lock:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    def spend(self) -> None:
        """Use up what is left of the day's requests (another integration spent them)."""
        with self._lock:
            self._used = max(self._used, self.limit)

    def reset(self, limit: int | None = None) -> None:
        """Start a new day (optionally with another limit)."""
        with self._lock:
            self._used = 0
            if limit is not None:
                self.limit = limit

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value, e.g. ``api-usage=18/15000``."""
        with self._lock:
            return f"api-usage={self._used}/{self.limit}"
