"""PKCE (RFC 7636) and ``state`` values: pure functions, no I/O."""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["code_challenge", "new_code_verifier", "new_state"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_code_verifier() -> str:
    """A fresh verifier: 64 characters from the unreserved set (RFC 7636 section 4.1)."""
    return _b64url(secrets.token_bytes(48))


def code_challenge(verifier: str) -> str:
    """The ``S256`` challenge of ``verifier``: base64url(SHA-256(verifier)), unpadded."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    """An unguessable ``state`` value that binds the authorization response to its request."""
    return _b64url(secrets.token_bytes(24))
