"""The authorization code grant with PKCE: a person signs in, in a browser or otherwise."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..engine import is_background, waiting_for_person
from ..errors import (
    AuthorizationDenied,
    AuthorizationRequired,
    InsecureEndpointError,
    InvalidAuthorizationResponse,
    RegistrationError,
    TokenRequestError,
)
from .base import AuthContext, OAuthBase, json_or_none, parse_registration
from .discovery import is_loopback_url, require_secure_url
from .models import ClientRegistration, TokenSet
from .pkce import code_challenge, new_code_verifier, new_state

__all__ = ["OAuth", "RedirectHandler"]

log = logging.getLogger("mcp_sync.oauth")

#: Takes the authorization URL, returns the URL the authorization server redirected
#: back to (with ``code`` and ``state``, or ``error``).
RedirectHandler = Callable[[str], str]


class OAuth(OAuthBase):
    """OAuth 2.1 for an MCP server, acting for a person: pass it as ``Client(url, auth=...)``.

    On the server's first 401 it discovers the authorization server, registers
    (pre-registered ``client_id``, else a Client ID Metadata Document at
    ``client_metadata_url``, else dynamic registration), sends the person to sign in,
    and exchanges the code (PKCE S256, ``state``, RFC 9207 ``iss`` and RFC 8707
    ``resource`` checked and sent). It refreshes tokens and steps up scope on 403.

    By default the person signs in in a browser, and the answer comes back to a
    listener on 127.0.0.1 (:class:`~mcp_sync.oauth.loopback.LoopbackRedirect`). Without a
    browser, pass ``redirect_handler``: a callable that takes the authorization URL
    and returns the URL redirected back to, with ``redirect_uri`` registered for it.
    Tokens live in ``storage`` (in memory unless given a
    :class:`~mcp_sync.oauth.FileStorage` or :class:`~mcp_sync.oauth.KeyringStorage`).
    """

    grant_types = ("authorization_code", "refresh_token")

    def __init__(
        self,
        *,
        redirect_handler: Optional[RedirectHandler] = None,
        redirect_uri: Optional[str] = None,
        client_name: str = "mcp_sync",
        client_metadata_url: Optional[str] = None,
        application_type: str = "native",
        open_browser: bool = True,
        login_timeout: float = 300.0,
        **options: Any,
    ):
        super().__init__(**options)
        if application_type not in ("native", "web"):
            raise ValueError("application_type must be 'native' or 'web'")
        if client_metadata_url is not None:
            parts = urlsplit(client_metadata_url)
            if parts.scheme != "https" or parts.path in ("", "/"):
                raise ValueError("client_metadata_url must be an https URL with a path")
        if redirect_uri is not None:
            _check_redirect_uri(redirect_uri)
        elif redirect_handler is not None and not hasattr(redirect_handler, "redirect_uri"):
            raise ValueError("a redirect_handler needs the redirect_uri it is sent back to")
        self._client_name = client_name
        self._client_metadata_url = client_metadata_url
        self._application_type = application_type
        self._handler = redirect_handler
        self._redirect_uri = redirect_uri
        self._open_browser = open_browser
        self._login_timeout = login_timeout
        self._loopback: Optional[Any] = None  # the LoopbackRedirect made here, closed by close()

    def close(self) -> None:
        """Stop listening for redirects and release connections. The object stays usable."""
        loopback, self._loopback = self._loopback, None
        if loopback is not None:
            if self._handler is loopback:
                self._handler = None
            loopback.close()
        super().close()

    # -- redirect --------------------------------------------------------------------

    def _receiver(self) -> tuple[RedirectHandler, str]:
        handler = self._handler
        if handler is None:
            from .loopback import LoopbackRedirect

            options = {"open_browser": self._open_browser, "timeout": self._login_timeout}
            if self._redirect_uri is None:
                loopback = LoopbackRedirect(**options)  # type: ignore[arg-type]
            elif is_loopback_url(self._redirect_uri) and self._redirect_uri.startswith("http:"):
                loopback = LoopbackRedirect.for_uri(self._redirect_uri, **options)
            else:
                raise AuthorizationRequired(
                    "the user has to sign in: send them to start_authorization() (a "
                    "redirect_uri that is not on loopback needs a redirect_handler to "
                    "sign in here)"
                )
            self._handler = handler = self._loopback = loopback
        # The loopback's port may change between sign-ins, so its URI is read each time.
        redirect_uri = self._redirect_uri or getattr(handler, "redirect_uri", None)
        if not isinstance(redirect_uri, str):
            raise ValueError("a redirect_handler needs the redirect_uri it receives on")
        return handler, redirect_uri

    # -- registration -----------------------------------------------------------------

    def _client_key(self, issuer: str) -> str:
        return f"client|{issuer}"

    def _client_for_refresh(self, context: AuthContext) -> Optional[ClientRegistration]:
        return self._preregistered(context) or self._stored_client(context)

    def _forget_client(self, context: AuthContext) -> None:
        try:
            self._storage.delete(self._client_key(context.issuer))
        except Exception as exc:
            log.warning("forgetting the client registration failed: %s", type(exc).__name__)

    def _stored_client(self, context: AuthContext) -> Optional[ClientRegistration]:
        if self._client_metadata_url and context.metadata.client_id_metadata_document_supported:
            return ClientRegistration(
                client_id=self._client_metadata_url,
                token_endpoint_auth_method=(
                    "private_key_jwt" if self._private_key is not None else "none"
                ),
                issuer=context.issuer,
            )
        try:
            record = self._storage.load(self._client_key(context.issuer))
        except Exception as exc:  # a broken storage costs a registration, not the request
            log.warning("reading the client registration failed: %s", type(exc).__name__)
            record = None
        stored = ClientRegistration.from_dict(record)
        if stored is None or stored.issuer != context.issuer or stored.secret_expired():
            return None
        return stored

    def _client(self, context: AuthContext, redirect_uri: str) -> ClientRegistration:
        """The client to use at this authorization server, in the MCP priority order."""
        client = self._preregistered(context) or self._stored_client(context)
        if client is not None and (
            client.client_id == self._client_id
            or client.client_id == self._client_metadata_url
            or redirect_uri in client.redirect_uris
        ):
            return client
        return self._register(context, redirect_uri)

    def _register(self, context: AuthContext, redirect_uri: str) -> ClientRegistration:
        endpoint = context.metadata.registration_endpoint
        if endpoint is None:
            raise RegistrationError(
                "the authorization server supports no dynamic registration and no client "
                "ID metadata documents; pass client_id= (and client_secret=) to OAuth"
            )
        supported = context.metadata.token_endpoint_auth_methods_supported
        method = "none"
        if supported is not None and "none" not in supported:
            method = next(
                (m for m in ("client_secret_basic", "client_secret_post") if m in supported),
                supported[0] if supported else "none",
            )
        body = {
            "client_name": self._client_name,
            "redirect_uris": [redirect_uri],
            "grant_types": list(self.grant_types),
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
            "application_type": self._application_type,
        }
        status, _, answer = self._exchange(
            "POST",
            endpoint,
            RegistrationError,
            json=body,
            headers={"Accept": "application/json"},
        )
        payload = json_or_none(answer)
        if status not in (200, 201):
            error = payload.get("error") if isinstance(payload, dict) else None
            description = payload.get("error_description") if isinstance(payload, dict) else None
            raise RegistrationError(
                "the authorization server refused the registration",
                error=error if isinstance(error, str) else None,
                description=description if isinstance(description, str) else None,
                status=status,
            )
        client = parse_registration(payload, issuer=context.issuer, redirect_uris=[redirect_uri])
        try:
            self._storage.save(self._client_key(context.issuer), client.to_dict())
        except Exception as exc:  # the registration works; the next run registers again
            log.warning("storing the client registration failed: %s", type(exc).__name__)
        log.info("registered with %s", context.issuer)
        return client

    # -- the grant ----------------------------------------------------------------------

    def _grant(self, context: AuthContext, scope: Optional[str]) -> TokenSet:
        if is_background():
            raise AuthorizationRequired(
                "a sign-in is needed, and a background stream does not ask for one; "
                "the next request of the caller will"
            )
        handler, redirect_uri = self._receiver()
        url, pending = self._begin(context, scope, redirect_uri)
        with waiting_for_person():
            callback = handler(url)
        return self._finish(context, pending, callback)

    def _begin(
        self, context: AuthContext, scope: Optional[str], redirect_uri: str
    ) -> tuple[str, _Pending]:
        """Check the server allows the flow, pick the client, and build the sign-in URL."""
        metadata = context.metadata
        if metadata.authorization_endpoint is None:
            raise InsecureEndpointError(
                "the authorization server metadata has no authorization_endpoint"
            )
        # Without any metadata (the 2025-03-26 default endpoints) PKCE is assumed, and sent.
        methods = metadata.code_challenge_methods_supported or []
        if "S256" not in methods and not context.default_endpoints:
            raise InsecureEndpointError(
                "the authorization server does not advertise PKCE with S256 "
                "(code_challenge_methods_supported), so mcp_sync does not use it"
            )
        scope = self._with_offline_access(context, scope)
        client = self._client(context, redirect_uri)
        pending = _Pending(
            state=new_state(),
            verifier=new_code_verifier(),
            redirect_uri=redirect_uri,
            issuer=context.issuer,
            scope=scope,
            client=client,
        )
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": code_challenge(pending.verifier),
            "code_challenge_method": "S256",
            "state": pending.state,
        }
        if scope:
            params["scope"] = scope
            if "offline_access" in scope.split():
                # OpenID Connect providers issue refresh tokens for offline_access only
                # after an explicit consent.
                params["prompt"] = "consent"
        if context.resource is not None:
            params["resource"] = context.resource
        return _add_query(metadata.authorization_endpoint, params), pending

    def _finish(self, context: AuthContext, pending: _Pending, callback: str) -> TokenSet:
        """Check the redirect back and exchange its code for tokens."""
        code = self._check_callback(context, callback, pending.state)
        try:
            return self._token_request(
                context,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": pending.redirect_uri,
                    "code_verifier": pending.verifier,
                },
                pending.client,
            )
        except TokenRequestError as exc:
            if exc.error == "invalid_client":
                self._forget_client(context)
            raise

    # -- sign-in in two steps, for web applications ------------------------------------

    def start_authorization(self, server_url: Optional[str] = None) -> str:
        """Begin a sign-in whose redirect comes back to your own web page; returns the
        URL to send the person to.

        Needs ``redirect_uri`` (your callback page). What the second step needs is kept
        in ``storage`` under the request's ``state``, so another process sharing the
        storage may finish it with :meth:`finish_authorization`.
        """
        if self._redirect_uri is None:
            raise ValueError("start_authorization() needs OAuth(redirect_uri=...)")
        self._bind(server_url or self._server_url or "", explicit=True)
        if self._server_url is None:
            raise ValueError("start_authorization() needs the MCP server URL")
        context = self._discover(None)
        url, pending = self._begin(context, self._select_scope(context, None), self._redirect_uri)
        self._storage.save(f"pending|{pending.state}", {**pending.to_dict(), "at": time.time()})
        return url

    def finish_authorization(self, callback_url: str) -> TokenSet:
        """Complete a sign-in begun by :meth:`start_authorization`, given the full URL
        the authorization server redirected to. Returns the new token set."""
        query = dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))
        state = query.get("state") or ""
        record = self._storage.load(f"pending|{state}") if state else None
        pending = _Pending.from_dict(record)
        if pending is None:
            raise InvalidAuthorizationResponse(
                "no sign-in was started with this state, or it was finished already"
            )
        self._storage.delete(f"pending|{state}")
        started = record.get("at") if record else None
        if isinstance(started, (int, float)) and time.time() - started > self._login_timeout:
            raise InvalidAuthorizationResponse(
                "this sign-in was started too long ago; start a new one"
            )
        context = self._discover(None)
        if context.issuer != pending.issuer:
            raise InvalidAuthorizationResponse(
                "the server's authorization server changed during the sign-in"
            )
        token = self._finish(context, pending, callback_url)
        with self._lock:
            self._scope = pending.scope
        self._set_token(context, token)
        return token

    def _with_offline_access(self, context: AuthContext, scope: Optional[str]) -> Optional[str]:
        """Ask for ``offline_access`` when the authorization server lists it, so that it
        may issue a refresh token (MCP 2026-07-28); never assume one comes."""
        supported = context.metadata.scopes_supported or []
        if "offline_access" in supported and scope and "offline_access" not in scope.split():
            return f"{scope} offline_access"
        return scope

    def _check_callback(self, context: AuthContext, callback: str, state: str) -> str:
        """The code from the redirect, once ``state`` and ``iss`` are checked (RFC 9207)."""
        if not isinstance(callback, str):
            raise InvalidAuthorizationResponse("the redirect handler did not return a URL")
        parts = urlsplit(callback)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if not query and parts.fragment:
            query = dict(parse_qsl(parts.fragment, keep_blank_values=True))
        if query.get("state") != state:
            raise InvalidAuthorizationResponse(
                "the authorization response's state does not match the request; it was dropped"
            )
        iss = query.get("iss")
        advertised = context.metadata.authorization_response_iss_parameter_supported
        if iss is not None and iss != context.issuer:
            raise InvalidAuthorizationResponse(
                "the authorization response came from another issuer than the one asked "
                f"(iss {iss!r}, expected {context.issuer!r}); the code was not used"
            )
        if iss is None and advertised:
            raise InvalidAuthorizationResponse(
                "the authorization server promises an iss parameter, but the response has "
                "none; the code was not used"
            )
        if "error" in query:
            raise AuthorizationDenied(
                "the authorization was refused",
                error=query.get("error"),
                description=query.get("error_description"),
            )
        code = query.get("code")
        if not code:
            raise InvalidAuthorizationResponse("the authorization response has no code")
        return code


@dataclass
class _Pending:
    """A sign-in between the authorization request and the redirect back."""

    state: str
    verifier: str = field(repr=False)
    redirect_uri: str
    issuer: str
    scope: Optional[str]
    client: ClientRegistration

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "verifier": self.verifier,
            "redirect_uri": self.redirect_uri,
            "issuer": self.issuer,
            "scope": self.scope,
            "client": self.client.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Optional[_Pending]:
        if not isinstance(data, dict):
            return None
        client = ClientRegistration.from_dict(data.get("client"))
        fields = [data.get(k) for k in ("state", "verifier", "redirect_uri", "issuer")]
        if client is None or not all(isinstance(f, str) for f in fields):
            return None
        scope = data.get("scope")
        return cls(
            state=data["state"],
            verifier=data["verifier"],
            redirect_uri=data["redirect_uri"],
            issuer=data["issuer"],
            scope=scope if isinstance(scope, str) else None,
            client=client,
        )


def _check_redirect_uri(uri: str) -> None:
    # MCP: every redirect URI is a localhost URL or an HTTPS URL.
    parts = urlsplit(uri)
    if parts.fragment:
        raise ValueError("redirect_uri must not have a fragment")
    if parts.scheme == "https" and parts.hostname:
        return
    try:
        require_secure_url(uri, "redirect URI")
    except Exception as exc:
        raise ValueError("redirect_uri must be an https URL, or http on localhost") from exc


def _add_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
