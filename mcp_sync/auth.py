"""Authentication for HTTP transports, as ``requests.auth.AuthBase`` objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import requests
from requests.auth import AuthBase

__all__ = ["BearerAuth", "as_auth", "secret_values"]


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

    def secret_values(self) -> tuple[str, ...]:
        """What must never be shown in a log or an error: the token."""
        return (self._token,)


# Shorter values are too likely to be ordinary words to be hidden everywhere.
_MIN_SECRET = 8


def secret_values(auth: Optional[AuthBase], headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credentials a transport sends, to hide from logs and errors: those of ``auth``
    (if it can tell them, with a ``secret_values()`` method) and the values of the
    headers the user set."""
    found = list(headers.values())
    tell = getattr(auth, "secret_values", None)
    if callable(tell):
        try:
            found.extend(tell())
        except Exception:  # an auth object of the user's: never let it break a message
            pass
    return tuple(v for v in found if isinstance(v, str) and len(v) >= _MIN_SECRET)


def as_auth(auth: object) -> Optional[AuthBase]:
    """Turn the ``auth=`` argument into an ``AuthBase``: a string is a bearer token."""
    if auth is None or isinstance(auth, AuthBase):
        return auth
    if isinstance(auth, str):
        return BearerAuth(auth)
    raise TypeError(
        f"auth must be a token string or a requests AuthBase, not {type(auth).__name__}"
    )
