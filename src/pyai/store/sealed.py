"""Secrets kept at rest (tool auth values, secret binding settings), sealed with Fernet.

The key is derived from the server secret with HKDF rather than stored beside the data: the
server secret already lives outside the database (environment or ``data_dir/secret.key``), so a
copied database or backup reveals no secret, and there is still only one secret to keep. The
HKDF ``info`` separates this key from every other use of the server secret (key signatures,
signed URLs, webhook secrets). Fernet authenticates what it decrypts, so a tampered value fails
loudly instead of reaching a customer's endpoint.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"pyai secrets at rest v1"


class SecretBox:
    """Seal and open short secrets with a key derived from the server secret."""

    def __init__(self, server_secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(server_secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()


def secret_box(services) -> SecretBox:  # noqa: ANN001
    """The process's box (deriving the key once)."""
    return services.singleton("secret_box", lambda: SecretBox(services.settings.secret))
