"""Logging in: a static session, the OAuth 2.0 client credentials flow, or the JWT bearer flow.

The token request goes to ``{login_url}/services/oauth2/token`` (default
``https://{domain}.salesforce.com``) through the connector's own HTTP session,
so it shares its timeouts and pinned CA. Nothing secret (the client secret,
the private key, the assertion, the access token) is ever logged or put in an
exception's text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
import requests
import structlog

from okrsync.errors import FatalConnectorError, RetriableConnectorError
from okrsync_salesforce._errors import CRM

if TYPE_CHECKING:
    from okrsync.kit import Redactor
    from okrsync_salesforce._plugin import SalesforceSettings

__all__ = ["JWT_BEARER", "JWT_LIFETIME_SECONDS", "Authenticator", "Token"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180
"""Salesforce accepts assertions that expire within 3 minutes."""
_TOKEN_PATH = "/services/oauth2/token"  # noqa: S105  (a URL path, not a password)
_SERVER_ERROR = 500
_OK = 200

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Token:
    """What a login yields: where the org lives, the access token, and who we are (if told)."""

    instance_url: str
    access_token: str
    user_id: str | None = None


class Authenticator:
    """Obtains access tokens for one connector instance.

    Args:
        settings: The instance's settings.
        session: The HTTP session (timeouts, CA) the token request goes through.
        redact: Learns every token issued, so no later text shows it.
        timeout: Seconds for the token request.
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        session: requests.Session,
        redact: Redactor,
        timeout: tuple[float, float],
    ) -> None:
        self.settings = settings
        self.session = session
        self.redact = redact
        self.timeout = timeout
        self.log = log.bind(crm=CRM, auth=settings.auth)

    @property
    def can_login_again(self) -> bool:
        """Whether a new token can be obtained (not with a static session id)."""
        return self.settings.auth != "session"

    @property
    def login_url(self) -> str:
        """The OAuth server's base URL."""
        url = self.settings.login_url or f"https://{self.settings.domain}.salesforce.com"
        return url.rstrip("/")

    def login(self) -> Token:
        """A token for the configured flow (``FatalConnectorError`` when refused)."""
        settings = self.settings
        if settings.auth == "session":
            if settings.session_id is None or settings.instance_url is None:
                raise self._fatal("auth `session` needs `session_id` and `instance_url`")
            secret = settings.session_id.get_secret_value()
            self.redact.add(secret)
            return Token(settings.instance_url.rstrip("/"), secret)
        if settings.auth == "client_credentials":
            if settings.consumer_key is None or settings.consumer_secret is None:
                raise self._fatal(
                    "auth `client_credentials` needs `consumer_key` and `consumer_secret`"
                )
            secret = settings.consumer_secret.get_secret_value()
            self.redact.add(secret)
            form = {
                "grant_type": "client_credentials",
                "client_id": settings.consumer_key,
                "client_secret": secret,
            }
        else:
            if settings.consumer_key is None or settings.username is None:
                raise self._fatal("auth `jwt` needs `consumer_key` and `username`")
            if settings.private_key is None:
                raise self._fatal(
                    "auth `jwt` needs `private_key` (a PEM key, from the environment)"
                )
            form = {"grant_type": JWT_BEARER, "assertion": self._assertion()}
        return self._request_token(form)

    def _assertion(self) -> str:
        """The signed JWT: issuer the consumer key, subject the user, audience the login URL."""
        settings = self.settings
        assert settings.private_key is not None  # noqa: S101  (checked by the caller)
        key = settings.private_key.get_secret_value()
        self.redact.add(key)
        claims = {
            "iss": settings.consumer_key,
            "sub": settings.username,
            "aud": self.login_url,
            # The token endpoint checks expiry against the real world's time, not the
            # connector's (injectable) clock.
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        try:
            assertion = jwt.encode(claims, key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise self._fatal(
                f"the private key cannot sign the JWT assertion ({type(exc).__name__})"
            ) from None
        self.redact.add(assertion)
        return assertion

    def _request_token(self, form: dict[str, str]) -> Token:
        url = self.login_url + _TOKEN_PATH
        grant = form["grant_type"]
        try:
            response = self.session.post(
                url, data=form, timeout=self.timeout, headers={"Accept": "application/json"}
            )
        except requests.RequestException as exc:
            self.log.warning("salesforce.auth.unreachable", url=url, error=type(exc).__name__)
            raise RetriableConnectorError(
                self.redact(f"login at {url} failed: {type(exc).__name__}"), crm=CRM
            ) from None
        body = _json(response)
        if response.status_code >= _SERVER_ERROR:
            raise RetriableConnectorError(
                f"login at {url} failed: HTTP {response.status_code}", crm=CRM
            )
        access = body.get("access_token")
        if response.status_code != _OK or not isinstance(access, str) or not access:
            error = str(body.get("error") or f"HTTP {response.status_code}")
            detail = str(body.get("error_description") or "")
            self.log.error(
                "salesforce.auth.refused", url=url, grant_type=grant, error=self.redact(error)
            )
            raise self._fatal(
                self.redact(
                    f"login at {url} refused: {error}" + (f" ({detail})" if detail else "")
                ),
                code=error,
            )
        self.redact.add(access)
        instance = self.settings.instance_url or str(body.get("instance_url") or "")
        if not instance.startswith("https://"):
            raise self._fatal(f"login at {url} returned no https instance URL")
        identity = str(body.get("id") or "")
        user_id = identity.rstrip("/").rsplit("/", 1)[-1] if "/id/" in identity else None
        self.log.info("salesforce.auth.login", url=url, grant_type=grant, instance_url=instance)
        return Token(instance.rstrip("/"), access, user_id)

    def _fatal(self, message: str, code: str = "") -> FatalConnectorError:
        return FatalConnectorError(self.redact(message), crm=CRM, code=code)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
