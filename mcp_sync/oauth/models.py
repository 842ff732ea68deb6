"""What an OAuth client keeps: its tokens and its registration, as plain dataclasses."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import TokenRequestError

__all__ = ["ClientRegistration", "TokenSet"]

# A token this close to its expiry is refreshed before use (seconds).
EXPIRY_LEEWAY = 30.0


@dataclass
class TokenSet:
    """An access token and what came with it. ``repr`` hides the token values.

    ``expires_at`` is a wall-clock time (``time.time()``), ``None`` when the server
    gave no lifetime; ``bound`` is True for a DPoP-bound token (``token_type`` DPoP).
    """

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_at: Optional[float] = None
    refresh_token: Optional[str] = field(default=None, repr=False)
    scope: Optional[str] = None
    bound: bool = False

    issued_at: Optional[float] = None

    def expired(self, leeway: float = EXPIRY_LEEWAY) -> bool:
        """Whether the token is expired, or will be within ``leeway`` seconds (at most a
        quarter of its lifetime, so a short-lived token is still used)."""
        if self.expires_at is None:
            return False
        if self.issued_at is not None:
            leeway = min(leeway, max(0.0, self.expires_at - self.issued_at) / 4)
        return time.time() >= self.expires_at - leeway

    @classmethod
    def from_response(
        cls, data: Any, *, previous: Optional[TokenSet] = None, dpop: bool = False
    ) -> TokenSet:
        """Check a token endpoint's JSON answer (RFC 6749 section 5.1)."""
        if not isinstance(data, dict):
            raise TokenRequestError("the token endpoint did not answer with a JSON object")
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise TokenRequestError("the token endpoint's answer has no access_token")
        if any(c in access_token for c in "\r\n\x00"):
            raise TokenRequestError("the token endpoint's access_token holds control characters")
        token_type = data.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() not in ("bearer", "dpop"):
            raise TokenRequestError("the token endpoint gave an unsupported token_type")
        bound = token_type.lower() == "dpop"
        if bound and not dpop:
            raise TokenRequestError("the token endpoint gave a DPoP token to a client without DPoP")
        expires_in = data.get("expires_in")
        expires_at = None
        now = time.time()
        if isinstance(expires_in, str):  # some servers send the number as a string
            try:
                expires_in = float(expires_in)
            except ValueError:
                expires_in = None
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            expires_at = now + max(0.0, float(expires_in))
        refresh_token = data.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            # A refresh answer without a new refresh token keeps the old one (RFC 6749 6).
            refresh_token = previous.refresh_token if previous is not None else None
        scope = data.get("scope")
        if not isinstance(scope, str):
            scope = previous.scope if previous is not None else None
        return cls(
            access_token=access_token,
            token_type="DPoP" if bound else "Bearer",
            expires_at=expires_at,
            refresh_token=refresh_token,
            scope=scope,
            bound=bound,
            issued_at=now,
        )

    @classmethod
    def issued(cls, data: Any) -> TokenSet:
        """An RFC 8693 token exchange answer: the issued token, whatever its type."""
        if not isinstance(data, dict):
            raise TokenRequestError("the token exchange did not answer with a JSON object")
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenRequestError("the token exchange's answer has no access_token")
        issued_type = data.get("issued_token_type")
        return cls(access_token=token, token_type=str(issued_type or data.get("token_type")))

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "bound": self.bound,
            "issued_at": self.issued_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Optional[TokenSet]:
        """A stored token, or None if the record is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            return None
        expires_at = data.get("expires_at")
        issued_at = data.get("issued_at")
        refresh_token = data.get("refresh_token")
        scope = data.get("scope")
        return cls(
            access_token=data["access_token"],
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=float(expires_at) if isinstance(expires_at, (int, float)) else None,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            scope=scope if isinstance(scope, str) else None,
            bound=data.get("bound") is True,
            issued_at=float(issued_at) if isinstance(issued_at, (int, float)) else None,
        )


@dataclass
class ClientRegistration:
    """The client's identity at one authorization server. ``repr`` hides the secret.

    ``token_endpoint_auth_method`` is ``none``, ``client_secret_basic``,
    ``client_secret_post`` or ``private_key_jwt``.
    """

    client_id: str
    client_secret: Optional[str] = field(default=None, repr=False)
    token_endpoint_auth_method: str = "none"
    redirect_uris: list[str] = field(default_factory=list)
    issuer: Optional[str] = None
    secret_expires_at: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "redirect_uris": list(self.redirect_uris),
            "issuer": self.issuer,
            "secret_expires_at": self.secret_expires_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Optional[ClientRegistration]:
        if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
            return None
        secret = data.get("client_secret")
        uris = data.get("redirect_uris")
        expires = data.get("secret_expires_at")
        return cls(
            client_id=data["client_id"],
            client_secret=secret if isinstance(secret, str) else None,
            token_endpoint_auth_method=str(data.get("token_endpoint_auth_method") or "none"),
            redirect_uris=[u for u in uris if isinstance(u, str)] if isinstance(uris, list) else [],
            issuer=data.get("issuer") if isinstance(data.get("issuer"), str) else None,
            secret_expires_at=float(expires) if isinstance(expires, (int, float)) else None,
        )

    def secret_expired(self) -> bool:
        # RFC 7591: 0 means the secret does not expire.
        return bool(self.secret_expires_at) and time.time() >= (self.secret_expires_at or 0)
