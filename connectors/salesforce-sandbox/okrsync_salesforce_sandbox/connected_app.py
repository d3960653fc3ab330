"""The connected app's signing certificate: what JWT bearer assertions are verified against.

Salesforce verifies a JWT bearer assertion with the X.509 certificate uploaded
to the connected app ("Use digital signatures"). The sandbox makes its own
RSA key and self-signed certificate on first use (key generation costs a
moment, and most sandboxes never see a JWT), writes both as PEM files, and
hands the private key to whoever configures the connector.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = ["ConnectedApp"]

_VALID = timedelta(days=365)


class ConnectedApp:
    """The connected app's key pair and certificate, made lazily in ``directory``.

    Args:
        directory: Where ``connected-app.key`` and ``connected-app.crt`` are written.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._public: RSAPublicKey | None = None

    @property
    def key_file(self) -> Path:
        """The private key (PEM, PKCS#8, unencrypted): the connector's ``private_key``."""
        self._ensure()
        return self.directory / "connected-app.key"

    @property
    def certificate_file(self) -> Path:
        """The certificate registered with the connected app (PEM)."""
        self._ensure()
        return self.directory / "connected-app.crt"

    def public_key(self) -> RSAPublicKey:
        """The key of the registered certificate, which assertions must be signed for."""
        self._ensure()
        assert self._public is not None  # noqa: S101  (set by _ensure)
        return self._public

    def _ensure(self) -> None:
        with self._lock:
            if self._public is not None:
                return
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "okrsync sandbox app")])
            now = datetime.now(UTC)
            certificate = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + _VALID)
                .sign(key, hashes.SHA256())
            )
            key_file = self.directory / "connected-app.key"
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_file.chmod(0o600)
            (self.directory / "connected-app.crt").write_bytes(
                certificate.public_bytes(serialization.Encoding.PEM)
            )
            public = certificate.public_key()
            assert isinstance(public, rsa.RSAPublicKey)  # noqa: S101  (made just above)
            self._public = public
