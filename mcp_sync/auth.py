"""Authentication for HTTP transports, as ``requests.auth.AuthBase`` objects."""

from __future__ import annotations

from typing import Optional

import requests
from requests.auth import AuthBase

__all__ = ["BearerAuth", "as_auth"]


class BearerAuth(AuthBase):
    """Sends ``Authorization: Bearer <token>`` on every request. The token never appears in ``repr``."""

    def __init__(self, token: str):
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise ValueError("a bearer token must be a non-empty string without line breaks")
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


def as_auth(auth: object) -> Optional[AuthBase]:
    """Turn the ``auth=`` argument into an ``AuthBase``: a string is a bearer token."""
    if auth is None or isinstance(auth, AuthBase):
        return auth
    if isinstance(auth, str):
        return BearerAuth(auth)
    raise TypeError(
        f"auth must be a token string or a requests AuthBase, not {type(auth).__name__}"
    )
