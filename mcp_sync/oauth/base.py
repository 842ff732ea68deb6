"""The machinery every OAuth grant shares, as a ``requests.auth.AuthBase``.

It attaches the access token to requests for the MCP server (and only for it),
and answers the server's challenges: a 401 starts discovery and a grant, a 403
``insufficient_scope`` asks for more scope, a DPoP ``use_dpop_nonce`` resends with
the server's nonce. Then it resends the request, once per challenge. One thread
runs an authorization at a time; the others wait for it and use its token.

Subclasses supply the grant (:meth:`OAuthBase._grant`).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import quote, urljoin, urlsplit

import requests
from requests.auth import AuthBase

from ..errors import (
    AuthorizationError,
    InsufficientScopeError,
    MetadataDiscoveryError,
    RegistrationError,
    TokenRequestError,
)
from .discovery import (
    AuthorizationServerMetadata,
    Challenge,
    ProtectedResourceMetadata,
    authorization_server_metadata_urls,
    canonical_url,
    find_challenge,
    legacy_endpoints,
    protected_resource_metadata_urls,
    require_secure_url,
    resource_covers,
    same_origin,
)
from .models import ClientRegistration, TokenSet
from .storage import MemoryStorage, TokenStorage

if TYPE_CHECKING:
    from .jwt import DPoPKey, SigningKey

__all__ = ["AuthContext", "OAuthBase", "merge_scopes"]

log = logging.getLogger("mcp_sync.oauth")

# Metadata and token answers larger than this are refused (bytes).
MAX_DOCUMENT = 1 << 20
# The MCP revision sent on the 2025-03-26 metadata request at the server's origin.
LEGACY_AUTH_VERSION = "2025-03-26"
FORM = "application/x-www-form-urlencoded"


def merge_scopes(*scopes: Optional[str]) -> Optional[str]:
    """The union of space-separated scope strings, in first-seen order; None if empty."""
    seen: list[str] = []
    for scope in scopes:
        for item in (scope or "").split():
            if item not in seen:
                seen.append(item)
    return " ".join(seen) or None


@dataclass(frozen=True)
class AuthContext:
    """What discovery found for one MCP server.

    ``resource`` is the RFC 8707 value to send (None for a 2025-03-26 server without
    protected resource metadata); ``metadata`` is the chosen authorization server's.
    """

    server_url: str
    resource: Optional[str]
    metadata: AuthorizationServerMetadata
    resource_metadata: Optional[ProtectedResourceMetadata] = None
    resource_metadata_url: Optional[str] = None
    #: No metadata was found: the 2025-03-26 default endpoints are in use.
    default_endpoints: bool = False

    @property
    def issuer(self) -> str:
        return self.metadata.issuer


class _Flight:
    """One authorization in progress, which other threads wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: Optional[BaseException] = None


class OAuthBase(AuthBase):
    """Shared OAuth machinery; use :class:`~mcp_sync.oauth.OAuth`,
    :class:`~mcp_sync.oauth.ClientCredentials` or another grant class."""

    #: The grant types this flow asks the authorization server for.
    grant_types: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        server_url: Optional[str] = None,
        scopes: Union[str, list[str], None] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        private_key: Optional[SigningKey] = None,
        token_endpoint_auth_method: Optional[str] = None,
        issuer: Optional[str] = None,
        storage: Optional[TokenStorage] = None,
        dpop: Union[bool, DPoPKey] = False,
        timeout: float = 30.0,
        verify: Union[bool, str] = True,
        max_step_ups: int = 2,
    ):
        if isinstance(scopes, list):
            scopes = " ".join(scopes)
        if max_step_ups < 0:
            raise ValueError("max_step_ups must be 0 or more")
        if client_secret is not None and client_id is None:
            raise ValueError("client_secret needs client_id")
        self._fixed_scope: Optional[str] = scopes or None
        self._client_id = client_id
        self._client_secret = client_secret
        self._private_key = private_key
        self._auth_method = token_endpoint_auth_method
        self._pinned_issuer = issuer
        self._storage: TokenStorage = storage if storage is not None else MemoryStorage()
        self._dpop_option = dpop
        self._timeout = timeout
        self._verify = verify
        self._max_step_ups = max_step_ups
        # Guards every field below; held only for reads and writes, never across I/O.
        # Touched by every thread that sends through this auth (callers, listeners).
        self._lock = threading.Lock()
        self._server_url: Optional[str] = canonical_url(server_url) if server_url else None
        self._context: Optional[AuthContext] = None
        self._token: Optional[TokenSet] = None
        self._loaded = False  # stored tokens for the server were looked up
        self._scope: Optional[str] = None  # the scope of the last authorization request
        self._flight: Optional[_Flight] = None
        self._dpop_key: Optional[DPoPKey] = None
        self._resource_nonce: Optional[str] = None  # DPoP nonce of the MCP server
        self._as_nonce: Optional[str] = None  # DPoP nonce of the authorization server
        self._http: Optional[requests.Session] = None

    # -- requests.auth.AuthBase -------------------------------------------------------

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = r.url or ""
        server = self._bind(url)
        if not same_origin(url, server):
            return r  # tokens go only to the server they were issued for
        self._load_stored()
        token = self._token
        if token is not None and token.expired() and token.refresh_token:
            try:
                self._authorize("refresh", None, self._header_value(token))
            except AuthorizationError as exc:
                log.warning("refreshing the access token failed: %s", exc)
        self._apply(r)
        r.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return r

    def __repr__(self) -> str:
        with self._lock:
            server, token = self._server_url, self._token
            issuer = self._context.issuer if self._context else None
        return (
            f"{type(self).__name__}(server={server!r}, issuer={issuer!r}, "
            f"token={'present' if token else 'none'})"
        )

    # -- public -----------------------------------------------------------------------

    @property
    def token(self) -> Optional[TokenSet]:
        """The current token set, if any (its ``repr`` hides the secrets)."""
        return self._token

    def authorize(self, server_url: Optional[str] = None) -> TokenSet:
        """Make sure there is a token for the MCP server before the first request needs one.

        A stored token is used (and refreshed if it expired); otherwise discovery and
        the grant run as a 401 would. Returns the token set.
        """
        self._bind(server_url or self._server_url or "")
        if self._server_url is None:
            raise ValueError("authorize() needs the MCP server URL")
        self._load_stored()
        token = self._token
        if token is not None and token.expired():
            self._authorize("refresh", None, self._header_value(token))
        self._authorize("unauthorized", None, None)
        token = self._token
        assert token is not None
        return token

    def logout(self) -> None:
        """Forget the tokens for this server, in memory and in storage."""
        with self._lock:
            context, self._token = self._context, None
        if context is not None:
            self._storage.delete(self._token_key(context))
        # A token loaded from storage has no context yet: find it through the pointer.
        stored = self._stored_token_key()
        if stored is not None:
            self._storage.delete(stored)
        if self._server_url is not None:
            self._storage.delete(self._server_key())

    # -- binding and storage ---------------------------------------------------------

    def _bind(self, url: str) -> str:
        with self._lock:
            if self._server_url is None and url:
                parts = urlsplit(url)
                self._server_url = canonical_url(f"{parts.scheme}://{parts.netloc}{parts.path}")
            return self._server_url or ""

    def _token_key(self, context: AuthContext) -> str:
        return f"tokens|{context.issuer}|{context.resource or context.server_url}"

    def _server_key(self) -> str:
        return f"server|{self._server_url}"

    def _stored_token_key(self) -> Optional[str]:
        """The storage key of the server's saved tokens, from the server's pointer record."""
        if self._server_url is None:
            return None
        pointer = self._storage.load(self._server_key())
        if not pointer or not isinstance(pointer.get("issuer"), str):
            return None
        return f"tokens|{pointer['issuer']}|{pointer.get('resource') or self._server_url}"

    def _load_stored(self) -> None:
        if self._loaded:
            return
        key = self._stored_token_key()
        token = TokenSet.from_dict(self._storage.load(key)) if key is not None else None
        with self._lock:
            self._loaded = True
            if self._token is None and token is not None:
                if token.bound and not self._dpop_option:
                    return
                self._token = token

    def _save(self, context: AuthContext, token: TokenSet) -> None:
        self._storage.save(self._token_key(context), token.to_dict())
        self._storage.save(
            self._server_key(), {"issuer": context.issuer, "resource": context.resource}
        )

    # -- applying tokens ---------------------------------------------------------------

    def _header_value(self, token: Optional[TokenSet]) -> Optional[str]:
        if token is None:
            return None
        return f"{'DPoP' if token.bound else 'Bearer'} {token.access_token}"

    def _apply(self, r: requests.PreparedRequest) -> None:
        token = self._token
        if token is None:
            r.headers.pop("Authorization", None)
            return
        value = self._header_value(token)
        assert value is not None
        r.headers["Authorization"] = value
        if token.bound:
            r.headers["DPoP"] = self._dpop().proof(
                r.method or "GET",
                r.url or "",
                access_token=token.access_token,
                nonce=self._resource_nonce,
            )

    def _dpop_allowed(self, advertised: Optional[list[str]]) -> bool:
        from .jwt import dpop_algs_supported

        return dpop_algs_supported(self._dpop().alg, advertised)

    def _dpop(self) -> DPoPKey:
        with self._lock:
            key = self._dpop_key
        if key is not None:
            return key
        from .jwt import DPoPKey

        option = self._dpop_option
        made = option if isinstance(option, DPoPKey) else DPoPKey()
        with self._lock:
            if self._dpop_key is None:
                self._dpop_key = made
            return self._dpop_key

    # -- challenges ------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> Optional[tuple[str, Optional[Challenge]]]:
        if not same_origin(response.url or response.request.url or "", self._server_url or ""):
            return None
        nonce = response.headers.get("DPoP-Nonce")
        if nonce and self._dpop_option:
            with self._lock:
                self._resource_nonce = nonce
        status = response.status_code
        if status not in (401, 403):
            return None
        values = [response.headers.get("WWW-Authenticate", "")]
        schemes = ("DPoP", "Bearer") if self._dpop_option else ("Bearer", "DPoP")
        challenge = find_challenge(values, schemes)
        if status == 401:
            if (
                challenge is not None
                and challenge.scheme.lower() == "dpop"
                and challenge.error == "use_dpop_nonce"
                and nonce
            ):
                return "nonce", challenge
            return "unauthorized", challenge
        if challenge is not None and challenge.error == "insufficient_scope":
            return "step_up", challenge
        return None

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.is_redirect:
            target = urljoin(response.url, response.headers.get("Location", ""))
            if not same_origin(target, self._server_url or ""):
                # requests copies this request to follow the redirect; the token and its
                # proof stay behind (requests itself strips only Authorization).
                response.request.headers.pop("Authorization", None)
                response.request.headers.pop("DPoP", None)
            return response
        nonce_retried = False
        reauthorized = False
        step_ups = 0
        while True:
            found = self._classify(response)
            if found is None:
                return response
            kind, challenge = found
            if kind == "nonce":
                if nonce_retried:
                    return response
                nonce_retried = True
            elif kind == "unauthorized":
                if reauthorized:
                    _discard(response)
                    raise AuthorizationError(
                        "the MCP server refused the new access token", status=401
                    )
                reauthorized = True
            else:
                if step_ups >= self._max_step_ups:
                    _discard(response)
                    raise InsufficientScopeError(
                        f"the MCP server still asks for more scope after {step_ups} step-up(s)",
                        scopes=challenge.scope if challenge else None,
                    )
                step_ups += 1
            sent = response.request.headers.get("Authorization")
            _discard(response)
            if kind != "nonce":
                self._authorize(kind, challenge, sent)
            prepared = response.request.copy()
            self._apply(prepared)
            adapter = response.connection
            again: requests.Response = adapter.send(prepared, **kwargs)
            again.history.append(response)
            again.request = prepared
            response = again

    def _authorize(self, kind: str, challenge: Optional[Challenge], sent: Optional[str]) -> None:
        """Run one authorization step (``refresh``, ``unauthorized`` or ``step_up``),
        or wait for the one another thread is running."""
        with self._lock:
            current = self._header_value(self._token)
            if kind in ("unauthorized", "refresh") and current is not None and current != sent:
                return  # another thread has got a new token since this request went out
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise AuthorizationError(
                    f"authorization failed in another thread: {flight.error}"
                ) from flight.error
            return
        try:
            self._run(kind, challenge)
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flight = None
            flight.done.set()

    def _run(self, kind: str, challenge: Optional[Challenge]) -> None:
        token = self._token
        # A refresh fits an expired token, or a 401 that names no other problem.
        fits = challenge is None or challenge.error in (None, "invalid_token")
        refreshed = (
            kind in ("refresh", "unauthorized")
            and token is not None
            and fits
            and self._try_refresh(token, challenge)
        )
        if refreshed:
            return
        if kind == "refresh":
            return
        context = self._discover(challenge)
        if kind == "step_up":
            # The union of what was asked before and what is needed now; a challenge
            # that names no scope means every scope the resource lists.
            prm = context.resource_metadata
            needed = challenge.scope if challenge is not None else None
            if not needed and prm is not None and prm.scopes_supported:
                needed = " ".join(prm.scopes_supported)
            scope = merge_scopes(self._scope, self._fixed_scope, needed)
        else:
            scope = self._select_scope(context, challenge)
        token = self._grant(context, scope)
        with self._lock:
            self._scope = scope
        self._set_token(context, token)

    def _try_refresh(self, token: TokenSet, challenge: Optional[Challenge]) -> bool:
        """Use the refresh token, if any; False when there is none or it was refused."""
        if not token.refresh_token:
            return False
        context = self._context or self._discover(challenge)
        try:
            self._set_token(context, self._refresh(context, token))
            return True
        except TokenRequestError as exc:
            log.info("the refresh token was refused (%s); authorizing anew", exc.error)
            if exc.error == "invalid_client":
                self._forget_client(context)
        with self._lock:
            self._token = None
        self._storage.delete(self._token_key(context))
        return False

    def _forget_client(self, context: AuthContext) -> None:
        """The authorization server no longer knows the client: drop what registration
        made, so the next authorization registers again. Given credentials are kept."""

    def _set_token(self, context: AuthContext, token: TokenSet) -> None:
        with self._lock:
            self._context = context
            self._token = token
        self._save(context, token)

    def _select_scope(self, context: AuthContext, challenge: Optional[Challenge]) -> Optional[str]:
        """The MCP scope selection strategy: the challenge's scope, else every scope the
        resource lists, else none; a fixed ``scopes=`` replaces it."""
        if self._fixed_scope is not None:
            return merge_scopes(self._fixed_scope, challenge.scope if challenge else None)
        if challenge is not None and challenge.scope:
            return challenge.scope
        prm = context.resource_metadata
        if prm is not None and prm.scopes_supported:
            return merge_scopes(*prm.scopes_supported)
        return None

    # -- discovery ----------------------------------------------------------------------

    def _discover(self, challenge: Optional[Challenge]) -> AuthContext:
        server = self._server_url
        if not server:
            raise MetadataDiscoveryError("the auth is not bound to an MCP server yet")
        urls = protected_resource_metadata_urls(server)
        hinted = challenge.resource_metadata if challenge is not None else None
        if hinted:
            urls = [hinted]
        prm: Optional[ProtectedResourceMetadata] = None
        prm_url = None
        for url in urls:
            require_secure_url(url, "protected resource metadata URL")
            document = self._get_json(url)
            if document is not None:
                prm = ProtectedResourceMetadata.from_dict(document, url=url)
                prm_url = url
                break
        if prm is None:
            return self._discover_legacy(server)
        if prm.resource is not None and not resource_covers(prm.resource, server):
            raise MetadataDiscoveryError(
                f"the protected resource metadata is for {prm.resource!r}, "
                f"not for the MCP server {server!r}, so no token is requested for it"
            )
        errors: list[AuthorizationError] = []
        for issuer in prm.authorization_servers:
            try:
                require_secure_url(issuer, "authorization server issuer")
                metadata = self._authorization_server_metadata(issuer)
            except AuthorizationError as exc:
                errors.append(exc)
                continue
            if metadata is None:
                errors.append(MetadataDiscoveryError(f"no metadata found for {issuer}"))
                continue
            self._check_pinned_issuer(metadata.issuer)
            return AuthContext(
                server_url=server,
                resource=prm.resource or server,
                metadata=metadata,
                resource_metadata=prm,
                resource_metadata_url=prm_url,
            )
        if len(errors) == 1:
            raise errors[0]
        raise MetadataDiscoveryError(
            "no usable authorization server metadata: " + "; ".join(map(str, errors))
        )

    def _check_pinned_issuer(self, issuer: str) -> None:
        if self._pinned_issuer is not None and issuer != self._pinned_issuer:
            raise RegistrationError(
                f"the server's authorization server is {issuer!r}, but the client credentials "
                f"given are for {self._pinned_issuer!r}"
            )

    def _authorization_server_metadata(self, issuer: str) -> Optional[AuthorizationServerMetadata]:
        for url in authorization_server_metadata_urls(issuer):
            document = self._get_json(url)
            if document is not None:
                return AuthorizationServerMetadata.from_dict(document, expected_issuer=issuer)
        return None

    def _discover_legacy(self, server: str) -> AuthContext:
        """2025-03-26: the server's origin is the authorization server; its metadata is
        at the origin's well-known URI, else the default endpoints apply."""
        defaults = legacy_endpoints(server)
        url = defaults["issuer"] + "/.well-known/oauth-authorization-server"
        document = self._get_json(url, headers={"MCP-Protocol-Version": LEGACY_AUTH_VERSION})
        metadata = AuthorizationServerMetadata.from_dict(
            document if document is not None else dict(defaults),
            expected_issuer=None,
            legacy=True,
        )
        self._check_pinned_issuer(metadata.issuer)
        return AuthContext(
            server_url=server,
            resource=None,
            metadata=metadata,
            default_endpoints=document is None,
        )

    # -- HTTP to the authorization server ----------------------------------------------

    def _session(self) -> requests.Session:
        with self._lock:
            if self._http is None:
                self._http = requests.Session()
                self._http.verify = self._verify
            return self._http

    def _exchange(
        self,
        method: str,
        url: str,
        failure: type[AuthorizationError],
        **options: Any,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to an authorization endpoint, without following redirects:
        its status, headers and (bounded) body. A failed connection raises ``failure``."""
        try:
            response = self._session().request(
                method,
                url,
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
                **options,
            )
        except requests.RequestException as exc:
            raise failure(f"{method} {_no_query(url)} failed: {type(exc).__name__}") from exc
        with response:
            return response.status_code, dict(response.headers), read_limited(response)

    def _get_json(self, url: str, headers: Optional[dict[str, str]] = None) -> Optional[Any]:
        """GET a metadata document: its JSON, or None when it is not there (any 4xx/5xx)."""
        status, _, body = self._exchange(
            "GET",
            url,
            MetadataDiscoveryError,
            headers={"Accept": "application/json", **(headers or {})},
        )
        if status != 200:
            return None
        try:
            return json.loads(body)
        except ValueError:
            log.info("%s did not answer with JSON", _no_query(url))
            return None

    def _post_form(
        self, url: str, data: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        status, response_headers, body = self._exchange(
            "POST",
            url,
            TokenRequestError,
            data=data,
            headers={"Accept": "application/json", "Content-Type": FORM, **headers},
        )
        return status, response_headers, json_or_none(body)

    # -- the token endpoint --------------------------------------------------------------

    def _client_authentication(
        self,
        context: AuthContext,
        client: ClientRegistration,
        data: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        method = client.token_endpoint_auth_method
        if method == "client_secret_basic" and client.client_secret is not None:
            pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
            # RFC 6749 3.2.1 lets a client name itself in the form too, and some servers
            # (the official MCP Python SDK's) refuse a Basic request without it.
            data["client_id"] = client.client_id
        elif method == "client_secret_post" and client.client_secret is not None:
            data["client_id"] = client.client_id
            data["client_secret"] = client.client_secret
        elif method == "private_key_jwt" and self._private_key is not None:
            from .jwt import CLIENT_ASSERTION_TYPE, client_assertion

            data["client_id"] = client.client_id
            data["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            data["client_assertion"] = client_assertion(
                self._private_key,
                client_id=client.client_id,
                audience=self._assertion_audience(context),
            )
        else:
            data["client_id"] = client.client_id

    def _assertion_audience(self, context: AuthContext) -> str:
        return context.issuer

    def _token_request(
        self,
        context: AuthContext,
        form: dict[str, str],
        client: Optional[ClientRegistration],
        *,
        previous: Optional[TokenSet] = None,
        url: Optional[str] = None,
        exchange: bool = False,
    ) -> TokenSet:
        """POST a grant to the token endpoint (with client authentication, ``resource``
        and a DPoP proof as configured) and check the answer.

        With ``url``, the request goes to another token endpoint (an identity
        provider's) with the form as given: no ``resource`` or DPoP proof is added.
        With ``exchange``, the answer is an RFC 8693 issued token, of any type.
        """
        endpoint = url or context.metadata.token_endpoint
        data = dict(form)
        headers: dict[str, str] = {}
        if client is not None:
            self._client_authentication(context, client, data, headers)
        if context.resource is not None and url is None:
            data["resource"] = context.resource
        use_dpop = (
            bool(self._dpop_option)
            and url is None
            and self._dpop_allowed(context.metadata.dpop_signing_alg_values_supported)
        )
        for attempt in (1, 2):
            if use_dpop:
                headers["DPoP"] = self._dpop().proof("POST", endpoint, nonce=self._as_nonce)
            status, answer_headers, payload = self._post_form(endpoint, data, headers)
            error = payload.get("error") if isinstance(payload, dict) else None
            nonce = _header(answer_headers, "DPoP-Nonce")
            if use_dpop and nonce:
                with self._lock:
                    self._as_nonce = nonce
            if status == 400 and error == "use_dpop_nonce" and nonce and attempt == 1:
                continue
            if status == 200 and exchange:
                return TokenSet.issued(payload)
            if status == 200:
                return TokenSet.from_response(payload, previous=previous, dpop=use_dpop)
            description = payload.get("error_description") if isinstance(payload, dict) else None
            raise TokenRequestError(
                "the token endpoint refused the request",
                error=error if isinstance(error, str) else None,
                description=description if isinstance(description, str) else None,
                status=status,
            )
        raise TokenRequestError("the token endpoint kept asking for a new DPoP nonce")

    def _refresh(self, context: AuthContext, token: TokenSet) -> TokenSet:
        assert token.refresh_token is not None
        client = self._client_for_refresh(context)
        return self._token_request(
            context,
            {"grant_type": "refresh_token", "refresh_token": token.refresh_token},
            client,
            previous=token,
        )

    def _client_for_refresh(self, context: AuthContext) -> Optional[ClientRegistration]:
        return self._preregistered(context)

    def _preregistered(self, context: AuthContext) -> Optional[ClientRegistration]:
        """The client credentials the user gave, with the auth method they allow."""
        if self._client_id is None:
            return None
        method = self._auth_method or self._pick_auth_method(context, self._client_secret)
        return ClientRegistration(
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=method,
            issuer=context.issuer,
        )

    def _pick_auth_method(self, context: AuthContext, secret: Optional[str]) -> str:
        supported = context.metadata.token_endpoint_auth_methods_supported
        if self._private_key is not None:
            return "private_key_jwt"
        if secret is None:
            return "none"
        # RFC 8414: without the list, client_secret_basic is the default.
        for method in ("client_secret_basic", "client_secret_post"):
            if supported is None or method in supported:
                return method
        return "client_secret_basic"

    # -- the grant ---------------------------------------------------------------------

    def _grant(self, context: AuthContext, scope: Optional[str]) -> TokenSet:
        raise NotImplementedError


def _header(headers: dict[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _no_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def read_limited(response: requests.Response) -> bytes:
    """The body of a streamed answer, refused beyond :data:`MAX_DOCUMENT` bytes."""
    body = response.raw.read(MAX_DOCUMENT + 1, decode_content=True)
    if len(body) > MAX_DOCUMENT:
        raise AuthorizationError(
            f"{_no_query(response.url)} answered with more than {MAX_DOCUMENT} bytes"
        )
    return body


def json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _discard(response: requests.Response) -> None:
    """Drop a challenge's body (a little of it at most) and free the connection."""
    try:
        response.raw.read(8192, decode_content=False)
    except Exception:
        pass
    response.close()


def parse_registration(data: Any, *, issuer: str, redirect_uris: list[str]) -> ClientRegistration:
    """Check a dynamic client registration answer (RFC 7591 section 3.2.1)."""
    if not isinstance(data, dict) or not isinstance(data.get("client_id"), str):
        raise RegistrationError("the registration endpoint's answer has no client_id")
    secret = data.get("client_secret")
    method = data.get("token_endpoint_auth_method")
    if not isinstance(method, str):
        method = "client_secret_basic" if isinstance(secret, str) else "none"
    expires = data.get("client_secret_expires_at")
    return ClientRegistration(
        client_id=data["client_id"],
        client_secret=secret if isinstance(secret, str) else None,
        token_endpoint_auth_method=method,
        redirect_uris=list(redirect_uris),
        issuer=issuer,
        secret_expires_at=float(expires) if isinstance(expires, (int, float)) else None,
    )
