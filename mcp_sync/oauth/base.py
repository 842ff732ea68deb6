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
import copy as copy_module
import enum
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import quote, urljoin, urlsplit

import requests
from requests.auth import AuthBase

from ..engine import is_background, raise_if_cancelled, waiting_for_person
from ..errors import (
    AuthorizationError,
    AuthorizationRequired,
    ClientStateError,
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
    is_loopback_url,
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
# A 401 or 403 body read this far is drained, so its connection can be used again.
CHALLENGE_BODY = 65536


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


class Step(enum.Enum):
    """What a challenge asks of the auth."""

    REFRESH = "refresh"  # the token expired: refresh it
    UNAUTHORIZED = "unauthorized"  # 401: refresh, or authorize anew
    STEP_UP = "step_up"  # 403 insufficient_scope: authorize with more scope
    NONCE = "nonce"  # 401 use_dpop_nonce: resend with the server's nonce


REFRESH, UNAUTHORIZED, STEP_UP, NONCE = Step.REFRESH, Step.UNAUTHORIZED, Step.STEP_UP, Step.NONCE


def copy_error(error: AuthorizationError) -> AuthorizationError:
    """The same error again, for a thread that waited on the one that failed."""
    try:
        copy = copy_module.copy(error)
    except Exception:
        return AuthorizationError(str(error), status=error.status)
    copy.__traceback__ = None
    return copy


# How many times a caller's thread tries to authorize when background streams lead.
_LEAD_TRIES = 3


class _Flight:
    """One authorization in progress, which other threads wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: Optional[BaseException] = None
        self.owner = threading.get_ident()  # the leading thread
        # A background stream leads without asking anyone to sign in; a caller that
        # waited for it signs in itself.
        self.background = is_background()


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
        authorization_server: Optional[str] = None,
        storage: Optional[TokenStorage] = None,
        account: Optional[str] = None,
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
        if token_endpoint_auth_method == "private_key_jwt" and private_key is None:
            raise ValueError("token_endpoint_auth_method='private_key_jwt' needs private_key")
        if dpop or private_key is not None:
            from .jwt import _require

            _require()  # fail now, not after the person has signed in
        self._fixed_scope: Optional[str] = scopes or None
        self._client_id = client_id
        self._client_secret = client_secret
        self._private_key = private_key
        self._auth_method = token_endpoint_auth_method
        self._pinned_issuer = authorization_server
        self._storage: TokenStorage = storage if storage is not None else MemoryStorage()
        # Tokens in a shared storage belong to one client identity (and one account).
        self._namespace = "|".join([type(self).__name__, client_id or "", account or ""])
        self._dpop_option = dpop
        self._timeout = timeout
        self._verify = verify
        self._max_step_ups = max_step_ups
        # Guards every field below; held only for reads and writes, never across I/O.
        # Touched by every thread that sends through this auth (callers, listeners).
        # _token, _resource_nonce and _as_nonce are also read without it: a reference
        # read is atomic, and a stale value only costs one challenge and a resend.
        self._lock = threading.Lock()
        self._server_url: Optional[str] = canonical_url(server_url) if server_url else None
        self._context: Optional[AuthContext] = None
        self._token: Optional[TokenSet] = None
        self._loaded = False  # stored tokens for the server were looked up
        self._scope: Optional[str] = None  # the scope of the last authorization request
        self._denied: set[str] = set()  # scopes asked for in a step-up and not granted
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
        self._refresh_if_expired()
        self._apply(r)
        r.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return r

    def _refresh_if_expired(self) -> None:
        token = self._token
        if token is not None and token.expired() and token.refresh_token:
            try:
                self._authorize(REFRESH, None, self._header_value(token))
            except AuthorizationError as exc:
                # The request goes out with the old token; its 401 tries once more.
                log.warning("refreshing the access token failed: %s", exc)

    def close(self) -> None:
        """Release the connections to the authorization server. The object stays usable."""
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def __enter__(self) -> OAuthBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
        self._bind(server_url or self._server_url or "", explicit=True)
        if self._server_url is None:
            raise ValueError("authorize() needs the MCP server URL")
        self._load_stored()
        self._refresh_if_expired()
        token = self._token
        stale = self._header_value(token) if token is not None and token.expired() else None
        self._authorize(UNAUTHORIZED, None, stale)
        token = self._token
        assert token is not None
        return token

    @property
    def issuer(self) -> Optional[str]:
        """The authorization server (its issuer) the tokens come from, once known."""
        with self._lock:
            context = self._context
        if context is not None:
            return context.issuer
        try:
            pointer = self._storage.load(self._server_key()) if self._server_url else None
        except Exception:
            return None
        issuer = pointer.get("issuer") if pointer else None
        return issuer if isinstance(issuer, str) else None

    def logout(self) -> bool:
        """Forget the tokens for this server, in memory and in storage. Returns whether
        there were any."""
        with self._lock:
            context, token, self._token = self._context, self._token, None
            self._scope, self._denied = None, set()
        had = token is not None
        if context is not None:
            self._storage.delete(self._token_key(context))
        # A token loaded from storage has no context yet: find it through the pointer.
        stored = self._stored_token_key()
        if stored is not None:
            had = had or self._storage.load(stored) is not None
            self._storage.delete(stored)
        if self._server_url is not None:
            self._storage.delete(self._server_key())
        return had

    # -- binding and storage ---------------------------------------------------------

    def _bind(self, url: str, *, explicit: bool = False) -> str:
        """Tie the auth to the MCP server of its first request (or of ``url``).

        An explicit URL on another origin than the bound one is an error; a request
        to another origin simply gets no token.
        """
        with self._lock:
            if self._server_url is None and url:
                parts = urlsplit(url)
                self._server_url = canonical_url(f"{parts.scheme}://{parts.netloc}{parts.path}")
            elif explicit and url and not same_origin(url, self._server_url or ""):
                raise ValueError(f"this auth is for {self._server_url}; use another one for {url}")
            return self._server_url or ""

    def _token_key(self, context: AuthContext) -> str:
        resource = context.resource or context.server_url
        return f"tokens|{self._namespace}|{context.issuer}|{resource}"

    def _server_key(self) -> str:
        return f"server|{self._namespace}|{self._server_url}"

    def _stored_token_key(self) -> Optional[str]:
        """The storage key of the server's saved tokens, from the server's pointer record."""
        if self._server_url is None:
            return None
        pointer = self._storage.load(self._server_key())
        if not pointer or not isinstance(pointer.get("issuer"), str):
            return None
        resource = pointer.get("resource") or self._server_url
        return f"tokens|{self._namespace}|{pointer['issuer']}|{resource}"

    def _load_stored(self) -> None:
        if self._loaded:
            return
        try:
            key = self._stored_token_key()
            token = TokenSet.from_dict(self._storage.load(key)) if key is not None else None
        except Exception as exc:  # a broken storage costs a sign-in, not the request
            log.warning("reading stored tokens failed: %s", type(exc).__name__)
            token = None
        with self._lock:
            self._loaded = True
            if self._token is None and token is not None:
                if token.bound and not self._dpop_option:
                    return
                self._token = token

    def _save(self, context: AuthContext, token: TokenSet) -> None:
        try:
            self._storage.save(self._token_key(context), token.to_dict())
            self._storage.save(
                self._server_key(), {"issuer": context.issuer, "resource": context.resource}
            )
        except Exception as exc:  # the token works; only the next run will sign in again
            log.warning("storing the tokens failed: %s", type(exc).__name__)

    # -- applying tokens ---------------------------------------------------------------

    def secret_values(self) -> tuple[str, ...]:
        """What must never be shown in a log or an error: the tokens held now."""
        token = self._token
        if token is None:
            return ()
        return tuple(t for t in (token.access_token, token.refresh_token) if t)

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
        made = option if isinstance(option, DPoPKey) else self._stored_dpop_key()
        with self._lock:
            if self._dpop_key is None:
                self._dpop_key = made
            return self._dpop_key

    def _stored_dpop_key(self) -> DPoPKey:
        """The DPoP key kept with the tokens (bound tokens are useless without it), or a
        new one, stored for the next run."""
        from .jwt import DPoPKey, SigningKey

        key_name = f"dpop|{self._namespace}"
        try:
            record = self._storage.load(key_name)
            if record and isinstance(record.get("pem"), str):
                return DPoPKey(SigningKey.from_pem(record["pem"], alg=record.get("alg")))
        except Exception as exc:
            log.warning("the stored DPoP key is not usable: %s", type(exc).__name__)
        made = DPoPKey()
        try:
            self._storage.save(key_name, {"pem": made.key.private_pem(), "alg": made.alg})
        except Exception as exc:
            log.warning("storing the DPoP key failed: %s", type(exc).__name__)
        return made

    # -- challenges ------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> Optional[tuple[Step, Optional[Challenge]]]:
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
                return NONCE, challenge
            return UNAUTHORIZED, challenge
        if challenge is not None and challenge.error == "insufficient_scope":
            return STEP_UP, challenge
        return None

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        # requests follows a redirect with a copy of the request it first sent, so the
        # headers to carry are set on that one.
        original = response.request
        nonce_retried = False
        reauthorized = False
        step_ups = 0
        while True:
            found = self._classify(response)
            if found is None:
                if response.is_redirect:
                    self._before_redirect(original, response)
                return response
            kind, challenge = found
            if kind is NONCE:
                if nonce_retried:
                    return response
                nonce_retried = True
            elif kind is UNAUTHORIZED:
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
            if kind is not NONCE:
                self._authorize(kind, challenge, sent)
            prepared = response.request.copy()
            self._apply(prepared)
            adapter = response.connection
            again: requests.Response = adapter.send(prepared, **kwargs)
            again.history.append(response)
            again.request = prepared
            response = again

    def _before_redirect(
        self, original: requests.PreparedRequest, response: requests.Response
    ) -> None:
        target = urljoin(response.url, response.headers.get("Location", ""))
        # A DPoP proof names the URL it was made for, so none is carried anywhere.
        original.headers.pop("DPoP", None)
        token = self._token
        if same_origin(target, self._server_url or ""):
            value = self._header_value(token)
            if value is not None and token is not None:
                original.headers["Authorization"] = value
                if token.bound:
                    original.headers["DPoP"] = self._dpop().proof(
                        _method_after_redirect(original.method or "GET", response.status_code),
                        target,
                        access_token=token.access_token,
                        nonce=self._resource_nonce,
                    )
        else:
            # requests strips Authorization only when the host changes.
            original.headers.pop("Authorization", None)

    def _authorize(self, kind: Step, challenge: Optional[Challenge], sent: Optional[str]) -> None:
        """Run one authorization step, or wait for the one another thread is running."""
        # A background stream that led could not sign in: a caller then leads itself
        # (a few times at most, should background streams keep leading first).
        for attempt in range(_LEAD_TRIES):
            if self._authorize_once(kind, challenge, sent, attempt + 1 < _LEAD_TRIES):
                return

    def _authorize_once(
        self, kind: Step, challenge: Optional[Challenge], sent: Optional[str], may_lead: bool
    ) -> bool:
        """One try of :meth:`_authorize`; False when this thread should lead a new one."""
        with self._lock:
            current = self._header_value(self._token)
            if current is not None and current != sent and kind is not NONCE:
                return True  # another thread has got a new token since this request went out
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
            elif flight.owner == threading.get_ident():
                raise ClientStateError(
                    "a sign-in is in progress on this thread: a redirect handler or a "
                    "storage must not send requests through the auth it serves"
                )
        if not leader:
            return self._follow(flight, may_lead)
        try:
            self._run(kind, challenge)
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flight = None
            flight.done.set()
        return True

    def _follow(self, flight: _Flight, may_lead: bool) -> bool:
        """Wait for another thread's authorization; a person may take a while, so the
        wait does not count against this request's timeout, but a cancel ends it.

        False when a background stream led and stopped short of a sign-in that this
        thread, a caller's, may ask for.
        """
        with waiting_for_person():
            while not flight.done.wait(0.2):
                raise_if_cancelled()
        error = flight.error
        if error is None:
            return True
        if (
            may_lead
            and isinstance(error, AuthorizationRequired)
            and flight.background
            and not is_background()
        ):
            return False
        if isinstance(error, AuthorizationError):
            copy = copy_error(error)
            raise copy from error
        raise AuthorizationError(
            f"authorization failed in another thread: {type(error).__name__}"
        ) from error

    def _run(self, kind: Step, challenge: Optional[Challenge]) -> None:
        token = self._token
        # A refresh fits an expired token, or a 401 that names no other problem.
        fits = challenge is None or challenge.error in (None, "invalid_token")
        refreshed = (
            kind in (REFRESH, UNAUTHORIZED)
            and token is not None
            and fits
            and self._try_refresh(token, challenge)
        )
        if refreshed or kind is REFRESH:
            return
        context = self._discover(challenge)
        needed: Optional[str] = None
        if kind is STEP_UP:
            # The union of what was asked and granted before and what is needed now; a
            # challenge that names no scope means every scope the resource lists.
            prm = context.resource_metadata
            needed = challenge.scope if challenge is not None else None
            if not needed and prm is not None and prm.scopes_supported:
                needed = " ".join(prm.scopes_supported)
            refused = set((needed or "").split()) & self._denied
            if refused:
                raise InsufficientScopeError(
                    "the authorization server did not grant the scope the MCP server "
                    f"asks for ({' '.join(sorted(refused))}) when it was last asked",
                    scopes=needed,
                )
            scope = merge_scopes(
                self._scope, token.scope if token else None, self._fixed_scope, needed
            )
        else:
            scope = self._select_scope(context, challenge)
            with self._lock:
                self._denied = set()  # a new sign-in may be granted what was refused
        token = self._grant(context, scope)
        if token.scope is None:
            token.scope = scope  # RFC 6749 5.1: no scope in the answer means the one asked
        with self._lock:
            self._scope = scope
        self._set_token(context, token)
        # Scope asked for and not granted is not asked for again: the next 403 for it
        # fails at once instead of sending the person to sign in once more.
        missing = set((needed or "").split()) - set((token.scope or "").split())
        if missing:
            with self._lock:
                self._denied |= missing

    def _try_refresh(self, token: TokenSet, challenge: Optional[Challenge]) -> bool:
        """Use the refresh token, if any. False when there is none or the authorization
        server refused it (``invalid_grant``); other failures are raised."""
        if not token.refresh_token:
            return False
        context = self._context or self._discover(challenge)
        try:
            self._set_token(context, self._refresh(context, token))
            return True
        except TokenRequestError as exc:
            if exc.status is None or exc.status >= 500 or exc.status == 429:
                raise  # unreachable or busy: that says nothing about the refresh token
            if exc.error in ("invalid_client", "unauthorized_client"):
                self._forget_client(context)
            log.info("the refresh token was refused (%s); authorizing anew", exc.error)
        with self._lock:
            self._token = None
        try:
            self._storage.delete(self._token_key(context))
        except Exception as exc:
            log.warning("deleting stored tokens failed: %s", type(exc).__name__)
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
            require_secure_url(url, "protected resource metadata URL", self._loopback_ok())
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
                require_secure_url(issuer, "authorization server issuer", self._loopback_ok())
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

    def _loopback_ok(self) -> bool:
        """Plain HTTP to loopback is for local development: only a server on loopback
        itself may point there (a remote one must not reach local services)."""
        return is_loopback_url(self._server_url or "")

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
                return AuthorizationServerMetadata.from_dict(
                    document, expected_issuer=issuer, loopback_http=self._loopback_ok()
                )
        return None

    def _discover_legacy(self, server: str) -> AuthContext:
        """2025-03-26: the server's origin is the authorization server; its metadata is
        at the origin's well-known URI, else the default endpoints apply."""
        defaults = legacy_endpoints(server)
        url = defaults["issuer"] + "/.well-known/oauth-authorization-server"
        document = self._get_json(url, headers={"MCP-Protocol-Version": LEGACY_AUTH_VERSION})
        if isinstance(document, dict) and not isinstance(document.get("issuer"), str):
            # The URL it was found at is the only name such a server has.
            document = {**document, "issuer": defaults["issuer"]}
        metadata = AuthorizationServerMetadata.from_dict(
            document if document is not None else dict(defaults),
            expected_issuer=None,
            legacy=True,
            loopback_http=self._loopback_ok(),
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
        if status >= 500:
            raise MetadataDiscoveryError(
                f"{_no_query(url)} failed on the server's side", status=status
            )
        if status != 200:
            return None  # not there: the next well-known location, or a fallback
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


def _method_after_redirect(method: str, status: int) -> str:
    # What requests does: 303 turns anything but HEAD into GET, 301 and 302 turn POST into GET.
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method


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
    """Drop a challenge's body and free its connection: back to the pool when the body
    was small enough to read to its end, closed otherwise."""
    try:
        rest = response.raw.read(CHALLENGE_BODY, decode_content=False)
        if len(rest) < CHALLENGE_BODY:
            response.raw.release_conn()
            return
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
