"""OAuth 2.1 for MCP servers over HTTP, as ``requests.auth.AuthBase`` objects.

Pass one as ``Client(url, auth=...)``:

- :class:`OAuth`: a person signs in (browser and loopback redirect, or a handler);
- :class:`ClientCredentials`: a service with a client secret or a private key;
- :class:`WorkloadIdentity`: a workload with a platform-issued JWT;
- :class:`EnterpriseAuth`: a person already signed in to a company identity provider.

Tokens are kept in a :class:`TokenStorage`: :class:`MemoryStorage` (the default),
:class:`FileStorage` or :class:`KeyringStorage`.
"""

from typing import TYPE_CHECKING, Any

from .authorization_code import OAuth, RedirectHandler
from .base import OAuthBase
from .grants import ClientCredentials, EnterpriseAuth, MachineGrant, WorkloadIdentity
from .jwt import DPoPKey, SigningKey
from .models import ClientRegistration, TokenSet
from .storage import FileStorage, KeyringStorage, MemoryStorage, TokenStorage

if TYPE_CHECKING:
    from .loopback import LoopbackRedirect


def __getattr__(name: str) -> Any:
    # The loopback receiver needs http.server and webbrowser: loaded on first use.
    if name == "LoopbackRedirect":
        from .loopback import LoopbackRedirect

        return LoopbackRedirect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ClientCredentials",
    "ClientRegistration",
    "DPoPKey",
    "EnterpriseAuth",
    "FileStorage",
    "KeyringStorage",
    "LoopbackRedirect",
    "MachineGrant",
    "MemoryStorage",
    "OAuth",
    "OAuthBase",
    "RedirectHandler",
    "SigningKey",
    "TokenSet",
    "TokenStorage",
    "WorkloadIdentity",
]
