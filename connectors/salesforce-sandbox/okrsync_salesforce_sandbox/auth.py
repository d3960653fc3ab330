"""Sessions, the OAuth 2.0 token endpoint, and the org's daily API request quota.

- :class:`Sessions` knows the access tokens (a static session id made at start,
  plus those the token endpoint issues) and which user each acts as.
- :meth:`Sessions.token` answers ``POST /services/oauth2/token`` for the client
  credentials flow (``client_id``/``client_secret`` in the form or HTTP Basic)
  and the JWT bearer flow, checked as Salesforce documents it ("OAuth 2.0 JWT
  Bearer Flow for Server-to-Server Integration"): an RS256 signature that the
  connected app's certificate verifies, ``iss`` its consumer key, ``aud``
  exactly ``https://login.salesforce.com``, ``https://test.salesforce.com`` or
  the org's My Domain URL (here the instance URL), ``sub`` the username of an
  active user pre-authorised for the app, and an ``exp`` not passed.
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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from okrsync_salesforce_sandbox.connected_app import ConnectedApp

__all__ = ["AUDIENCES", "JWT_BEARER", "Quota", "Sessions", "TokenAnswer"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = frozenset({"https://login.salesforce.com", "https://test.salesforce.com"})
"""The audiences Salesforce accepts besides the org's own My Domain URL."""


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """The token endpoint's status and JSON body."""

    status: int
    body: dict[str, Any]


def _oauth_error(error: str, description: str, status: int = 400) -> TokenAnswer:
    return TokenAnswer(status, {"error": error, "error_description": description})


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _seconds(value: object) -> float | None:
    """An ``exp`` claim in seconds since the epoch: a number, or digits in a string.

    simple-salesforce sends ``"1767225600"``, which Salesforce accepts.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip().isdigit():
        return float(value)
    return None


def _claims_refused(claims: dict[str, Any], instance_url: str) -> TokenAnswer | None:
    """Salesforce's refusal of an assertion's audience or expiry, if any."""
    if claims.get("aud") not in {*AUDIENCES, instance_url}:
        return _oauth_error("invalid_grant", "audience is invalid")
    expires = _seconds(claims.get("exp"))
    if expires is None:
        return _oauth_error("invalid_grant", "invalid assertion")
    if expires < time.time():
        return _oauth_error("invalid_grant", "expired authorization code")
    return None


class Sessions:
    """Access tokens of the org and the users they act as.

    Args:
        org_id: The org's id (tokens start with its 15 characters, like Salesforce's).
        consumer_key: The connected app's consumer key.
        consumer_secret: Its secret.
        user_by_username: The id of the active user with a username, or ``None``.
        run_as: The user the client credentials flow acts as.
        app: The connected app's certificate, which JWT assertions must verify against.
    """

    def __init__(
        self,
        org_id: str,
        consumer_key: str,
        consumer_secret: str,
        user_by_username: Callable[[str], str | None],
        run_as: str,
        *,
        app: ConnectedApp | None = None,
    ) -> None:
        self.org_id = org_id
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self._user_by_username = user_by_username
        self.run_as = run_as
        self.app = app
        self.preauthorized: set[str] | None = None
        """Ids of the users the app is pre-authorised for (``None``: every active user, as
        when the admin pre-approved a profile all of them have)."""
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
        """The JWT bearer flow: each check answers with Salesforce's error for it."""
        parts = assertion.split(".")
        if len(parts) != 3:  # noqa: PLR2004  (header, claims, signature)
            return _oauth_error("invalid_grant", "invalid assertion")
        try:
            header = json.loads(_b64decode(parts[0]))
            claims = json.loads(_b64decode(parts[1]))
            signature = _b64decode(parts[2])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return _oauth_error("invalid_grant", "invalid assertion")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return _oauth_error("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.consumer_key:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if header.get("alg") != "RS256" or not self._signed(parts, signature):
            # A key other than the one whose certificate the app holds: as in an org.
            return _oauth_error("invalid_grant", "invalid assertion")
        refusal = _claims_refused(claims, instance_url)
        if refusal is not None:
            return refusal
        user = self._user_by_username(str(claims.get("sub", "")))
        if user is None:
            return _oauth_error("invalid_grant", "invalid assertion")
        if self.preauthorized is not None and user not in self.preauthorized:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._granted(user, instance_url)

    def _signed(self, parts: list[str], signature: bytes) -> bool:
        """Whether the connected app's certificate verifies the RS256 signature."""
        if self.app is None:
            return False
        try:
            self.app.public_key().verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, UnicodeEncodeError):
            return False
        return True

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
