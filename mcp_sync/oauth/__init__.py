"""OAuth 2.1 for MCP servers over HTTP, as ``requests.auth.AuthBase`` objects.

Pass one as ``Client(url, auth=...)``:

- :class:`OAuth`: a person signs in (browser and loopback redirect, or a handler);
- :class:`ClientCredentials`: a service with a client secret or a private key;
- :class:`WorkloadIdentity`: a workload with a platform-issued JWT;
- :class:`EnterpriseAuth`: a person already signed in to a company identity provider.

Tokens are kept in a :class:`TokenStorage`: :class:`MemoryStorage` (the default),
:class:`FileStorage` or :class:`KeyringStorage`.
"""

from .authorization_code import OAuth, RedirectHandler
from .base import OAuthBase
from .grants import ClientCredentials, EnterpriseAuth, MachineGrant, WorkloadIdentity
from .jwt import DPoPKey, SigningKey
from .loopback import LoopbackRedirect
from .models import ClientRegistration, TokenSet
from .storage import FileStorage, KeyringStorage, MemoryStorage, TokenStorage

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
