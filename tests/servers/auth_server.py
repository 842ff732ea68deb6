"""MCP test server that requires OAuth, built on the official ``mcp`` SDK (2.3.0).

Run it from the server virtualenv (see ``tests/support/server_env.py``)::

    python auth_server.py --host 127.0.0.1 --port 8765 [--json-response] [--stateless]
        [--token-ttl 3600] [--refresh-token-ttl N] [--code-ttl 300]
        [--required-scope mcp:read ...] [--valid-scope mcp:read ...] [--default-scope ...]
        [--require-resource] [--iss-in-redirect] [--no-refresh-tokens]

``--port 0`` picks a free port. Once the socket accepts connections it prints
``URL <mcp endpoint>`` and then ``READY <port>`` on stdout (the port actually bound).
Clients must use exactly that URL: the issuer, the resource and the metadata URLs are
fixed at start-up from ``--host`` (``localhost`` and ``127.0.0.1`` are different
resources). A wildcard ``--host`` (``0.0.0.0``, ``::``) advertises the loopback address,
since the SDK refuses http:// issuers other than localhost, 127.0.0.1 and [::1].
There is no ``--stdio``: OAuth only exists over HTTP.

Streamable HTTP at ``/mcp``, every request there needs ``Authorization: Bearer``.
The SDK's own OAuth machinery serves everything else; this file only adds an
in-memory ``OAuthAuthorizationServerProvider``. Its issuer is ``http://HOST:PORT``
(no trailing slash), its resource ``http://HOST:PORT/mcp``:

    GET  /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata (resource = the /mcp URL)
    GET  /.well-known/oauth-authorization-server     RFC 8414 metadata
    POST /register                                   RFC 7591 dynamic client registration
    GET  /authorize                                  auto-approves: 302 straight to redirect_uri
                                                     with code and state (and iss with
                                                     --iss-in-redirect); no login page;
                                                     POST (form) works the same
    POST /token                                      authorization_code (PKCE S256 checked
                                                     by the SDK) and refresh_token grants
    POST /revoke                                     RFC 7009

A request to ``/mcp`` without a valid token gets 401 with
``WWW-Authenticate: Bearer error="invalid_token", error_description="Authentication required",
resource_metadata="http://HOST:PORT/.well-known/oauth-protected-resource/mcp"``; a token
without every ``--required-scope`` gets 403 ``error="insufficient_scope"``.

Tokens are opaque random strings kept in memory (they die with the process). Access
tokens live ``--token-ttl`` seconds; a refresh rotates both tokens and revokes the old
pair (so a client that keeps using the old access token gets 401). A refresh token is
issued only to clients whose registration lists the ``refresh_token`` grant (the DCR
default does) and not at all with ``--no-refresh-tokens``. Every token is bound to the
``/mcp`` resource and the SDK is told to check that (``validate_token_resource``).

The server speaks both eras, like ``everything_server.py``: the legacy initialize
handshake with sessions (2025-03-26 .. 2025-11-25) and the stateless 2026-07-28 revision;
the SDK picks per request. A legacy session belongs to the principal that opened it
(client_id and subject): a refreshed token of the same client keeps it.

tools
    echo(text: str) -> str
    add(a: int, b: int) -> int
    whoami()                            JSON {"client_id", "scopes", "subject", "resource",
                                        "expires_at"} of the caller's access token
    invalidate_token()                  revokes the caller's access token (the refresh token
                                        stays valid), so the next request gets 401; returns "ok"
    auth_stats()                        JSON counters: clients, authorizations,
                                        token_exchanges, refreshes, active_access_tokens,
                                        active_refresh_tokens, revocations
"""

import argparse
import json
import logging
import secrets
import socket
import sys
import threading
import time
import warnings
from typing import Any, Optional

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl

warnings.filterwarnings("ignore", category=DeprecationWarning)
try:
    from mcp.shared.exceptions import MCPDeprecationWarning

    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)
except ImportError:  # pragma: no cover - older SDKs
    pass

DEFAULT_VALID_SCOPES = ["mcp:read", "mcp:write"]
SUBJECT = "test-user"


def _same_resource(a: str, b: str) -> bool:
    """RFC 8707 resource comparison, tolerant of case in scheme/host and a trailing slash."""
    try:
        return str(AnyHttpUrl(a)).rstrip("/") == str(AnyHttpUrl(b)).rstrip("/")
    except Exception:
        return False


class InMemoryOAuthProvider:
    """An ``OAuthAuthorizationServerProvider`` that approves every authorization at once."""

    def __init__(
        self,
        *,
        issuer: str,
        resource: str,
        token_ttl: int,
        refresh_token_ttl: Optional[int],
        code_ttl: int,
        fallback_scopes: list[str],
        require_resource: bool,
        iss_in_redirect: bool,
        issue_refresh_tokens: bool,
    ) -> None:
        self.issuer = issuer
        self.resource = resource
        self.token_ttl = token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.code_ttl = code_ttl
        self.fallback_scopes = fallback_scopes
        self.require_resource = require_resource
        self.iss_in_redirect = iss_in_redirect
        self.issue_refresh_tokens = issue_refresh_tokens
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # access token <-> refresh token of one grant, so either revokes the other.
        self.pair_of_access: dict[str, str] = {}
        self.pair_of_refresh: dict[str, str] = {}
        self.stats = {
            "authorizations": 0,
            "token_exchanges": 0,
            "refreshes": 0,
            "revocations": 0,
        }

    # ---------------------------------------------------------------- clients

    async def get_client(self, client_id: str) -> Optional[OAuthClientInformationFull]:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[client_info.client_id] = client_info

    # ------------------------------------------------------------ authorization

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        if params.resource is None:
            if self.require_resource:
                raise AuthorizeError("invalid_target", "the resource parameter is required")
        elif not _same_resource(params.resource, self.resource):
            raise AuthorizeError("invalid_target", f"unknown resource {params.resource!r}")
        if params.scopes is not None:
            scopes = list(params.scopes)
        elif client.scope:
            scopes = client.scope.split()
        else:
            scopes = list(self.fallback_scopes)
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=scopes,
            expires_at=time.time() + self.code_ttl,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=self.resource,
            subject=SUBJECT,
        )
        self.stats["authorizations"] += 1
        return construct_redirect_uri(
            str(params.redirect_uri),
            code=code,
            state=params.state,
            iss=self.issuer if self.iss_in_redirect else None,
        )

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> Optional[AuthorizationCode]:
        code = self.codes.get(authorization_code)
        if code is None or code.client_id != client.client_id:
            return None
        return code

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code already used")
        self.stats["token_exchanges"] += 1
        return self._issue(client, authorization_code.scopes, authorization_code.subject)

    # ------------------------------------------------------------------ refresh

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> Optional[RefreshToken]:
        token = self.refresh_tokens.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            return None
        return token

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if refresh_token.token not in self.refresh_tokens:
            raise TokenError("invalid_grant", "refresh token already used")
        self._drop_refresh(refresh_token.token)
        self.stats["refreshes"] += 1
        return self._issue(client, scopes, refresh_token.subject)

    # ------------------------------------------------------------ access tokens

    async def load_access_token(self, token: str) -> Optional[AccessToken]:
        access = self.access_tokens.get(token)
        if access is None:
            return None
        if access.expires_at is not None and access.expires_at < time.time():
            self.access_tokens.pop(token, None)
            self.pair_of_access.pop(token, None)
            return None
        return access

    async def revoke_token(self, token: Any) -> None:
        self.stats["revocations"] += 1
        if isinstance(token, AccessToken):
            self._drop_access(token.token)
        else:
            self._drop_refresh(token.token)

    # ----------------------------------------------------------------- private

    def _issue(
        self, client: OAuthClientInformationFull, scopes: list[str], subject: Optional[str]
    ) -> OAuthToken:
        now = int(time.time())
        access = "at_" + secrets.token_urlsafe(32)
        self.access_tokens[access] = AccessToken(
            token=access,
            client_id=client.client_id,
            scopes=list(scopes),
            expires_at=now + self.token_ttl,
            resource=self.resource,
            subject=subject,
        )
        refresh = None
        if self.issue_refresh_tokens and "refresh_token" in client.grant_types:
            refresh = "rt_" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = RefreshToken(
                token=refresh,
                client_id=client.client_id,
                scopes=list(scopes),
                expires_at=now + self.refresh_token_ttl if self.refresh_token_ttl else None,
                resource=self.resource,
                subject=subject,
            )
            self.pair_of_access[access] = refresh
            self.pair_of_refresh[refresh] = access
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.token_ttl,
            scope=" ".join(scopes) if scopes else None,
            refresh_token=refresh,
        )

    def _drop_access(self, access: str) -> None:
        self.access_tokens.pop(access, None)
        refresh = self.pair_of_access.pop(access, None)
        if refresh is not None:
            self.refresh_tokens.pop(refresh, None)
            self.pair_of_refresh.pop(refresh, None)

    def _drop_refresh(self, refresh: str) -> None:
        self.refresh_tokens.pop(refresh, None)
        access = self.pair_of_refresh.pop(refresh, None)
        if access is not None:
            self.access_tokens.pop(access, None)
            self.pair_of_access.pop(access, None)

    def invalidate_access(self, access: str) -> None:
        """Forget an access token but keep its refresh token usable."""
        self.access_tokens.pop(access, None)
        refresh = self.pair_of_access.pop(access, None)
        if refresh is not None:
            self.pair_of_refresh.pop(refresh, None)

    def snapshot(self) -> dict[str, int]:
        now = time.time()
        return {
            "clients": len(self.clients),
            **self.stats,
            "active_access_tokens": sum(
                1 for t in self.access_tokens.values() if not t.expires_at or t.expires_at >= now
            ),
            "active_refresh_tokens": len(self.refresh_tokens),
        }


# ------------------------------------------------------------------------ server


def _caller_token(ctx: Context) -> AccessToken:
    token = get_access_token()
    if token is None:  # the contextvar did not reach this task; use the request's user
        request = getattr(ctx.request_context, "request", None)
        user = getattr(request, "user", None) if request is not None else None
        token = getattr(user, "access_token", None)
    if token is None:
        raise ToolError("no access token on this request")
    return token


def build_server(provider: InMemoryOAuthProvider, auth: AuthSettings) -> MCPServer:
    server = MCPServer(
        name="auth-server",
        version="1.0.0",
        instructions="OAuth-protected test server for MCP client integration tests.",
        log_level="WARNING",
        auth_server_provider=provider,
        auth=auth,
    )

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Describe the caller's access token (client_id, scopes, ...).")
    def whoami(ctx: Context) -> str:
        token = _caller_token(ctx)
        return json.dumps(
            {
                "client_id": token.client_id,
                "scopes": token.scopes,
                "subject": token.subject,
                "resource": token.resource,
                "expires_at": token.expires_at,
            },
            sort_keys=True,
        )

    @server.tool(
        description="Revoke the caller's access token (not its refresh token): the next "
        "request gets 401."
    )
    def invalidate_token(ctx: Context) -> str:
        provider.invalidate_access(_caller_token(ctx).token)
        return "ok"

    @server.tool(description="Counters of the in-memory authorization server, as JSON.")
    def auth_stats() -> str:
        return json.dumps(provider.snapshot(), sort_keys=True)

    return server


# ------------------------------------------------------------------------------ main


def _advertise_iss_parameter() -> None:
    """Make the SDK's AS metadata say ``authorization_response_iss_parameter_supported``.

    The SDK never sets that field; ``create_auth_routes`` looks ``build_metadata`` up in
    its module at app-build time, so wrapping it there is enough.
    """
    import mcp.server.auth.routes as routes

    original = routes.build_metadata

    def build_metadata(*args: Any, **kwargs: Any) -> Any:
        metadata = original(*args, **kwargs)
        metadata.authorization_response_iss_parameter_supported = True
        return metadata

    routes.build_metadata = build_metadata


# A wildcard bind address is no URL host (and the SDK refuses http:// issuers other
# than localhost, 127.0.0.1 and [::1]): advertise the loopback address instead.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def _url_host(host: str) -> str:
    host = _WILDCARDS.get(host, host)
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so ``--port 0`` can learn its port first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        # server_process.py retries when stderr says "address already in use".
        sys.stderr.write(f"cannot bind {host}:{port}: [Errno {exc.errno}] {exc.strerror}\n")
        sys.exit(1)
    sock.set_inheritable(True)
    return sock


def _announce_when_listening(host: str, port: int, url: str, uv_server: "uvicorn.Server") -> None:
    """Print URL and READY once uvicorn listens on the socket and accepts connections."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not uv_server.should_exit:
        if uv_server.started:
            try:
                with socket.create_connection((_url_host(host).strip("[]"), port), timeout=0.5):
                    print(f"URL {url}", flush=True)
                    print(f"READY {port}", flush=True)
                    return
            except OSError:
                pass
        time.sleep(0.02)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--json-response", action="store_true", help="answer POSTs with JSON, not SSE"
    )
    parser.add_argument("--stateless", action="store_true", help="no Mcp-Session-Id sessions")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.add_argument(
        "--token-ttl", type=int, default=3600, help="access token lifetime, seconds (expires_in)"
    )
    parser.add_argument(
        "--refresh-token-ttl",
        type=int,
        default=None,
        help="refresh token lifetime, seconds (default: no expiry)",
    )
    parser.add_argument(
        "--code-ttl", type=int, default=300, help="authorization code lifetime, seconds"
    )
    parser.add_argument(
        "--required-scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="scope every /mcp request's token must carry (repeatable); also the protected "
        "resource metadata's scopes_supported",
    )
    parser.add_argument(
        "--valid-scope",
        action="append",
        default=None,
        metavar="SCOPE",
        help="scope a client may register for (repeatable; default mcp:read mcp:write, plus "
        "every --required-scope); the AS metadata's scopes_supported",
    )
    parser.add_argument(
        "--default-scope",
        action="append",
        default=None,
        metavar="SCOPE",
        help="scope given to a client that registers without `scope` (repeatable; default: "
        "all valid scopes)",
    )
    parser.add_argument(
        "--require-resource",
        action="store_true",
        help="/authorize without an RFC 8707 resource parameter fails with invalid_target "
        "(a wrong resource always does)",
    )
    parser.add_argument(
        "--iss-in-redirect",
        action="store_true",
        help="add iss=<issuer> (RFC 9207) to the authorization redirect and advertise "
        "authorization_response_iss_parameter_supported in the AS metadata",
    )
    parser.add_argument("--no-refresh-tokens", action="store_true", help="issue access tokens only")
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)

    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    base_url = f"http://{_url_host(args.host)}:{port}"
    mcp_url = f"{base_url}/mcp"

    valid_scopes = (
        list(args.valid_scope) if args.valid_scope is not None else list(DEFAULT_VALID_SCOPES)
    )
    for scope in args.required_scope:
        if scope not in valid_scopes:
            valid_scopes.append(scope)
    default_scopes = list(args.default_scope) if args.default_scope is not None else valid_scopes

    provider = InMemoryOAuthProvider(
        issuer=base_url,
        resource=mcp_url,
        token_ttl=args.token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        code_ttl=args.code_ttl,
        fallback_scopes=list(args.required_scope),
        require_resource=args.require_resource,
        iss_in_redirect=args.iss_in_redirect,
        issue_refresh_tokens=not args.no_refresh_tokens,
    )
    auth = AuthSettings(
        # Issuer without a trailing slash; the SDK refuses http:// issuers other than
        # localhost, 127.0.0.1 and [::1].
        issuer_url=base_url,
        resource_server_url=mcp_url,
        validate_token_resource=True,
        required_scopes=list(args.required_scope) or None,
        client_registration_options=ClientRegistrationOptions(
            enabled=True, valid_scopes=valid_scopes, default_scopes=default_scopes
        ),
        revocation_options=RevocationOptions(enabled=True),
    )
    if args.iss_in_redirect:
        _advertise_iss_parameter()
    server = build_server(provider, auth)

    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=args.json_response,
        stateless_http=args.stateless,
        host=args.host,
    )
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        lifespan="on",
        # Open SSE streams would otherwise hold up a SIGTERM shutdown.
        timeout_graceful_shutdown=1,
    )
    uv_server = uvicorn.Server(config)
    threading.Thread(
        target=_announce_when_listening,
        args=(args.host, port, mcp_url, uv_server),
        daemon=True,
    ).start()
    uv_server.run(sockets=[sock])
    if not uv_server.started:
        sys.exit(1)


if __name__ == "__main__":
    main()
