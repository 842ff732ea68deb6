"""Grants without a person: client credentials, workload identity, enterprise-managed.

Each is an :class:`~mcp_sync.oauth.base.OAuthBase`, so discovery, ``resource``,
DPoP, token storage and the 401 handling are the same as for
:class:`~mcp_sync.oauth.OAuth`. None of them registers a client or opens a browser.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Union

from ..errors import AuthorizationError
from .base import REFRESH, UNAUTHORIZED, AuthContext, OAuthBase, Step
from .discovery import Challenge, require_secure_url
from .models import ClientRegistration, TokenSet

__all__ = [
    "JWT_BEARER_GRANT",
    "TOKEN_EXCHANGE_GRANT",
    "ClientCredentials",
    "EnterpriseAuth",
    "MachineGrant",
    "WorkloadIdentity",
]

log = logging.getLogger("mcp_sync.oauth")

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"

#: A string, or a callable that returns a fresh one each time it is needed.
TokenSource = Union[str, Callable[[], str]]


def _resolve(source: TokenSource, what: str) -> str:
    value = source() if callable(source) else source
    if not isinstance(value, str) or not value:
        raise AuthorizationError(f"the {what} source gave no token")
    return value


class MachineGrant(OAuthBase):
    """Base of the grants without a person and without refresh tokens: when the
    token expires, the grant simply runs again."""

    def _run(self, kind: Step, challenge: Optional[Challenge]) -> None:
        if kind is REFRESH:
            kind = UNAUTHORIZED
            with self._lock:
                self._token = None
        super()._run(kind, challenge)

    def _refresh_if_expired(self) -> None:
        token = self._token
        if token is not None and token.expired() and not token.refresh_token:
            try:
                self._authorize(REFRESH, None, self._header_value(token))
            except AuthorizationError as exc:
                # The request goes out with the old token; its 401 runs the grant again.
                log.warning("renewing the access token failed: %s", exc)
        else:
            super()._refresh_if_expired()


class ClientCredentials(MachineGrant):
    """The OAuth client credentials grant (MCP extension ``oauth-client-credentials``).

    For a service acting as itself, with credentials registered beforehand: a
    ``client_secret`` (sent with HTTP Basic or in the form, as the authorization
    server allows), or a ``private_key`` (a :class:`~mcp_sync.oauth.SigningKey`)
    for ``private_key_jwt``, whose assertion's audience is the server's issuer.
    """

    grant_types = ("client_credentials",)

    def __init__(
        self,
        client_id: str,
        client_secret: Optional[str] = None,
        *,
        private_key: Optional[Any] = None,
        **options: Any,
    ):
        if (client_secret is None) == (private_key is None):
            raise ValueError("ClientCredentials needs exactly one of client_secret and private_key")
        super().__init__(
            client_id=client_id, client_secret=client_secret, private_key=private_key, **options
        )

    def _grant(self, context: AuthContext, scope: Optional[str]) -> TokenSet:
        client = self._preregistered(context)
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        return self._token_request(context, form, client)


class WorkloadIdentity(MachineGrant):
    """Workload identity federation: the JWT-bearer grant (RFC 7523) with a platform token.

    ``assertion`` is the workload's JWT (a Kubernetes service account token, a
    SPIFFE JWT-SVID, a cloud identity token), or a callable that reads a fresh one.
    It is passed through as is. A refused assertion raises
    :class:`~mcp_sync.TokenRequestError`; no other grant is tried.
    """

    grant_types = (JWT_BEARER_GRANT,)

    def __init__(self, assertion: TokenSource, *, client_id: Optional[str] = None, **options: Any):
        super().__init__(client_id=client_id, **options)
        self._assertion = assertion

    def _grant(self, context: AuthContext, scope: Optional[str]) -> TokenSet:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": _resolve(self._assertion, "assertion")}
        if scope:
            form["scope"] = scope
        # Without client_id the assertion alone identifies the workload.
        return self._token_request(context, form, self._preregistered(context))


class EnterpriseAuth(MachineGrant):
    """Enterprise-managed authorization (MCP extension, ID-JAG).

    The person signed in to their company's identity provider (IdP) already; with
    that ``id_token`` the client asks the IdP's ``idp_token_endpoint`` for an
    identity assertion grant (RFC 8693 token exchange), then trades it at the MCP
    server's authorization server for an access token (RFC 7523 JWT-bearer grant),
    with ``client_id``/``client_secret`` registered there. No browser is opened.
    """

    grant_types = (JWT_BEARER_GRANT,)

    def __init__(
        self,
        *,
        id_token: TokenSource,
        idp_token_endpoint: str,
        idp_client_id: str,
        idp_client_secret: Optional[str] = None,
        client_id: str,
        client_secret: Optional[str] = None,
        **options: Any,
    ):
        require_secure_url(idp_token_endpoint, "IdP token endpoint")
        super().__init__(client_id=client_id, client_secret=client_secret, **options)
        self._id_token = id_token
        self._idp_token_endpoint = idp_token_endpoint
        self._idp_client = ClientRegistration(
            client_id=idp_client_id,
            client_secret=idp_client_secret,
            token_endpoint_auth_method="client_secret_post" if idp_client_secret else "none",
        )

    def _grant(self, context: AuthContext, scope: Optional[str]) -> TokenSet:
        exchange = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "requested_token_type": ID_JAG_TYPE,
            "subject_token": _resolve(self._id_token, "ID token"),
            "subject_token_type": ID_TOKEN_TYPE,
            "audience": context.issuer,
            "resource": context.resource or context.server_url,
        }
        if scope:
            exchange["scope"] = scope
        id_jag = self._token_request(
            context, exchange, self._idp_client, url=self._idp_token_endpoint, exchange=True
        )
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": id_jag.access_token}
        return self._token_request(context, form, self._preregistered(context))
